// What a restarted app channel gives its reassembler back (ContentPipeline.restore): the other members'
// content messages it accepted within the reassembler's timeout, read from the store. Older ones belong to
// sets that would have been dropped by now anyway. Lamport timestamps follow the senders' clocks in
// milliseconds (the engine stamps max(last + 1, now)), so the window is a Lamport range; the scan is bounded.
import {
  type AcceptedContent,
  DEFAULT_REASSEMBLER_LIMITS,
  type ReassemblerLimits,
  type SenderId,
} from "../core/index.js";
import type { Store } from "../storage/store.js";
import { DecodeError, decodeMessage, type Segment, tryDecodeSegment, type WireMessage } from "../wire/index.js";
import type { ChannelRuntime } from "./channel.js";

/** At most this many stored messages are read back at open: a channel busier than that loses its oldest sets. */
export const MAX_RESTORE_SCAN = 20_000;
const PAGE = 1_000;
/** Senders' clocks run apart: the window starts this much earlier. */
const SKEW_MS = 60_000;

/** Our own segment set found in the store: what `OwnPayloads.restore` needs to track its receipts again. */
export interface OwnStoredSet {
  /** Keccak-256 of the payload, hex: the payload's id for the app. */
  readonly id: string;
  /** Its messages' ids, in sequence order (data, then parity). */
  readonly messageIds: readonly string[];
  readonly dataCount: number;
  /** When its first segment was stored (sent). */
  readonly sentAt: number;
}

type Visit = (m: StoredRow, message: WireMessage, segment: Segment) => void;
type StoredRow = ReturnType<Store["listByLamport"]>[number];

/** Stored content messages of the channel stamped from `sinceMs` on that carry a segment, oldest first (bounded). */
function scanSegments(store: Store, runtime: ChannelRuntime, sinceMs: number, maxSegmentBytes: number, visit: Visit) {
  const from = BigInt(Math.max(0, Math.floor(sinceMs - SKEW_MS)));
  // "~" sorts after every hex id: the first page starts at the first message stamped `from`.
  let after = from > 0n ? { lamport: from - 1n, messageId: "~" } : undefined;
  for (let scanned = 0; scanned < MAX_RESTORE_SCAN; ) {
    const page = store.listByLamport(runtime.channelId, { limit: PAGE, ...(after === undefined ? {} : { after }) });
    for (const m of page) {
      let message: WireMessage;
      try {
        message = decodeMessage(m.bytes);
      } catch (err) {
        if (err instanceof DecodeError) continue;
        throw err;
      }
      const segment = message.content === undefined ? undefined : tryDecodeSegment(message.content, maxSegmentBytes);
      if (segment !== undefined) visit(m, message, segment);
    }
    scanned += page.length;
    const last = page.at(-1);
    if (page.length < PAGE || last === undefined) break;
    after = { lamport: last.lamport, messageId: last.messageId };
  }
}

/**
 * Our own segment sets stored since `sinceMs`: the mapping from a payload to its messages lived in memory only,
 * and without it the receipts of a payload sent before a restart would reach the app no more.
 */
export function storedOwnSets(
  store: Store,
  runtime: ChannelRuntime,
  sinceMs: number,
  limits: Partial<ReassemblerLimits> = {},
): OwnStoredSet[] {
  const maxSegmentBytes = limits.maxSegmentBytes ?? DEFAULT_REASSEMBLER_LIMITS.maxSegmentBytes;
  const self: SenderId = runtime.engine.senderId;
  const sets = new Map<string, { seqs: Map<number, string>; dataCount: number | undefined; sentAt: number }>();
  scanSegments(store, runtime, sinceMs, maxSegmentBytes, (m, message, segment) => {
    if (m.senderId !== self || message.sequence === undefined) return;
    const id = Buffer.from(segment.hash).toString("hex");
    let set = sets.get(id);
    if (set === undefined) {
      set = { seqs: new Map(), dataCount: undefined, sentAt: m.receivedAt };
      sets.set(id, set);
    }
    set.seqs.set(message.sequence, message.messageId);
    if (segment.kind === "data") set.dataCount = segment.count;
    set.sentAt = Math.min(set.sentAt, m.receivedAt);
  });
  const out: OwnStoredSet[] = [];
  for (const [id, set] of sets) {
    if (set.dataCount === undefined) continue;
    const messageIds = [...set.seqs.entries()].sort((x, y) => x[0] - y[0]).map(([, mid]) => mid);
    out.push({ id, messageIds, dataCount: set.dataCount, sentAt: set.sentAt });
  }
  return out;
}

export function storedSegments(
  store: Store,
  runtime: ChannelRuntime,
  now: number,
  limits: Partial<ReassemblerLimits> = {},
): AcceptedContent[] {
  const timeoutMs = limits.timeoutMs ?? DEFAULT_REASSEMBLER_LIMITS.timeoutMs;
  const maxSegmentBytes = limits.maxSegmentBytes ?? DEFAULT_REASSEMBLER_LIMITS.maxSegmentBytes;
  const self: SenderId = runtime.engine.senderId;
  const out: AcceptedContent[] = [];
  scanSegments(store, runtime, now - timeoutMs, maxSegmentBytes, (m, message) => {
    if (m.senderId === self) return;
    out.push({
      sender: m.senderId,
      sequence: m.seq ?? undefined,
      content: message.content as Uint8Array,
      history: message.causalHistory.map((h) => h.messageId),
      at: m.receivedAt,
      ...(message.lamportTimestamp === undefined ? {} : { lamport: message.lamportTimestamp }),
    });
  });
  return out;
}
