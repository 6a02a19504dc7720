/**
 * Records every node's server-sent events (`/v1/events`) for the whole run: deliveries, gaps, repairs and
 * receipts, each with the node's own timestamp. All nodes run on one machine, so their clocks agree and
 * times from different nodes can be subtracted.
 */
import type { ClusterNode } from "./cluster.js";

export interface RecordedEvent {
  readonly node: string;
  readonly type: "delivered" | "missing" | "repaired" | "acknowledged" | "lost";
  /** The node's clock when it happened (Unix ms). */
  readonly at: number;
  readonly messageId?: string;
  /** acknowledged: members known to hold the message, of `members`. */
  readonly count?: number;
  readonly members?: number;
  /** repaired: from the gap's detection to its repair. */
  readonly afterMs?: number;
}

const TYPES = "delivered,missing,repaired,acknowledged,lost";
/** More than a run makes: a bound, so that a runaway node cannot exhaust the harness's memory. */
const MAX_EVENTS = 2_000_000;

function parse(node: string, type: string, data: string): RecordedEvent | undefined {
  const d = JSON.parse(data) as Record<string, unknown>;
  const at = typeof d.at === "number" ? d.at : Date.now();
  switch (type) {
    case "delivered": {
      const message = d.message as { messageId?: string } | undefined;
      return { node, type, at, ...(message?.messageId === undefined ? {} : { messageId: message.messageId }) };
    }
    case "acknowledged":
      return {
        node,
        type,
        at,
        messageId: d.messageId as string,
        count: d.count as number,
        members: d.members as number,
      };
    case "repaired":
      return { node, type, at, messageId: d.messageId as string, afterMs: d.afterMs as number };
    case "missing":
    case "lost": {
      const ref = d.ref as { messageId?: string } | undefined;
      return { node, type, at, ...(ref?.messageId === undefined ? {} : { messageId: ref.messageId }) };
    }
    default:
      return undefined;
  }
}

export class EventRecorder {
  readonly events: RecordedEvent[] = [];
  private readonly abort = new AbortController();
  private readonly streams: Promise<void>[] = [];
  /** Streams that broke (the figures of that node may then be incomplete). */
  readonly broken: string[] = [];

  /** Opens one stream per node; resolves once every stream is open. */
  async start(nodes: readonly ClusterNode[], channelId: string): Promise<void> {
    const opened = nodes.map(async (node) => {
      const url = `${node.url}/v1/events?channel=${encodeURIComponent(channelId)}&types=${TYPES}`;
      const res = await fetch(url, { signal: this.abort.signal });
      if (!res.ok || res.body === null) throw new Error(`GET ${url}: ${res.status}`);
      this.streams.push(this.read(node.name, res.body));
    });
    await Promise.all(opened);
  }

  private async read(node: string, body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      const reader = body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          this.frame(node, buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (err) {
      if (!this.abort.signal.aborted) this.broken.push(`${node}: ${(err as Error).message}`);
      return;
    }
    if (!this.abort.signal.aborted) this.broken.push(`${node}: the event stream ended`);
  }

  private frame(node: string, text: string): void {
    let type = "";
    let data = "";
    for (const line of text.split("\n")) {
      if (line.startsWith("event: ")) type = line.slice(7);
      else if (line.startsWith("data: ")) data += line.slice(6);
    }
    if (type === "" || data === "" || this.events.length >= MAX_EVENTS) return;
    const event = parse(node, type, data);
    if (event !== undefined) this.events.push(event);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.streams);
  }
}
