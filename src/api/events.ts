import type { ServerResponse } from "node:http";
import type { MessageRef } from "../core/index.js";
import type { NodeEvent } from "../node/channel.js";
import { deliveredEntry } from "../node/message-view.js";
import { equivocationJson, logEntryJson, textOf } from "./messages.js";

/** A node event as the API shows it: JSON-safe (bigints as decimal strings, content as text). */
export interface ApiEvent {
  readonly type: NodeEvent["type"];
  readonly data: Record<string, unknown>;
}

export function refJson(ref: MessageRef): Record<string, unknown> {
  return {
    ...(ref.messageId === undefined ? {} : { messageId: ref.messageId }),
    ...(ref.senderId === undefined ? {} : { senderId: ref.senderId }),
    ...(ref.sequence === undefined ? {} : { seq: ref.sequence }),
  };
}

export function toApiEvent(event: NodeEvent): ApiEvent {
  const base = { channelId: event.channelId, at: event.at };
  switch (event.type) {
    case "delivered": {
      const position = event.position ?? null;
      return {
        type: event.type,
        data: { ...base, position, message: logEntryJson(deliveredEntry(event.message, position)) },
      };
    }
    case "ephemeral":
      return {
        type: event.type,
        data: { ...base, messageId: event.messageId, senderId: event.senderId, ...textOf(event.content) },
      };
    case "missing":
      return { type: event.type, data: { ...base, ref: refJson(event.ref), source: event.source } };
    case "repaired":
      return {
        type: event.type,
        data: {
          ...base,
          messageId: event.messageId,
          senderId: event.senderId,
          seq: event.sequence ?? null,
          afterMs: event.afterMs,
        },
      };
    case "lost":
      return { type: event.type, data: { ...base, ref: refJson(event.ref), dependents: event.dependents } };
    case "acknowledged":
      return {
        type: event.type,
        data: { ...base, messageId: event.messageId, by: event.by, count: event.count, members: event.members },
      };
    case "equivocation":
      return { type: event.type, data: { ...base, ...equivocationJson(event.equivocation) } };
    case "rejected":
      return {
        type: event.type,
        data: {
          ...base,
          reason: event.reason,
          ...(event.senderId === undefined ? {} : { senderId: event.senderId }),
          ...(event.messageId === undefined ? {} : { messageId: event.messageId }),
        },
      };
  }
}

export interface SseFilter {
  readonly channel?: string;
  readonly types?: ReadonlySet<string>;
  /** End the stream after this many events. */
  readonly limit?: number;
}

interface Client {
  readonly res: ServerResponse;
  readonly filter: SseFilter;
  sent: number;
  readonly close: () => void;
}

/**
 * Fans node events out to server-sent event streams. One listener on the node serves every client; a
 * client leaves the set when its connection closes, when its `limit` is reached, or when the hub closes.
 */
export class EventHub {
  private readonly clients = new Set<Client>();
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private nextId = 1;

  constructor(private readonly heartbeatMs: number) {}

  get size(): number {
    return this.clients.size;
  }

  /** Takes over a response: writes the stream's headers, then events until the client or the hub goes away. */
  attach(res: ServerResponse, filter: SseFilter, headers: Record<string, string> = {}): void {
    res.writeHead(200, {
      ...headers,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    // The comment makes clients see the stream open at once; `retry` sets EventSource's reconnect delay.
    res.write(": chorus events\nretry: 2000\n\n");
    let closed = false;
    const client: Client = {
      res,
      filter,
      sent: 0,
      close: () => {
        if (closed) return;
        closed = true;
        this.clients.delete(client);
        if (this.clients.size === 0) this.stopHeartbeat();
        if (!res.writableEnded) res.end();
      },
    };
    res.on("close", client.close);
    res.on("error", client.close);
    this.clients.add(client);
    this.startHeartbeat();
  }

  publish(event: NodeEvent): void {
    if (this.clients.size === 0) return;
    let frame: string | undefined;
    for (const client of this.clients) {
      const { filter } = client;
      if (filter.channel !== undefined && filter.channel !== event.channelId) continue;
      if (filter.types !== undefined && !filter.types.has(event.type)) continue;
      if (frame === undefined) {
        const api = toApiEvent(event);
        frame = `id: ${this.nextId++}\nevent: ${api.type}\ndata: ${JSON.stringify(api.data)}\n\n`;
      }
      client.res.write(frame);
      client.sent++;
      if (filter.limit !== undefined && client.sent >= filter.limit) client.close();
    }
  }

  /** Ends every stream (the server is closing: open streams would keep it from closing). */
  close(): void {
    for (const client of [...this.clients]) client.close();
    this.stopHeartbeat();
  }

  private startHeartbeat(): void {
    if (this.heartbeat !== undefined || this.heartbeatMs <= 0) return;
    this.heartbeat = setInterval(() => {
      for (const client of this.clients) client.res.write(": heartbeat\n\n");
    }, this.heartbeatMs);
    this.heartbeat.unref?.();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}
