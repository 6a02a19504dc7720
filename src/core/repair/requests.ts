// Which repair requests go out on the next message, and how they are packed into its byte budget.
import type { HistoryEntry, SequenceRange } from "../../wire/index.js";
import type { Params } from "../params.js";
import type { MissingEntry } from "./gaps.js";

/** Due requests, before packing: ids, and per sender its missing sequence numbers. */
export interface DueRequests {
  readonly ids: MissingEntry[];
  readonly bySender: Map<string, MissingEntry[]>;
}

/** What a message carries, and which missing entries that asks for. */
export interface PackedRequests {
  readonly ids: HistoryEntry[];
  readonly ranges: SequenceRange[];
  readonly asked: MissingEntry[];
}

function varintSize(n: number): number {
  let size = 1;
  for (let v = n; v >= 128; v = Math.floor(v / 128)) size++;
  return size;
}

const encoder = new TextEncoder();
function utf8Size(text: string): number {
  return encoder.encode(text).length;
}

/** Encoded bytes of one repeated field entry: tag, length, body. */
function fieldSize(tagBytes: number, body: number): number {
  return tagBytes + varintSize(body) + body;
}

/** Bytes one repair_request entry (field 13) adds to an encoding. */
export function historyEntrySize(e: HistoryEntry): number {
  const id = utf8Size(e.messageId);
  let body = 1 + varintSize(id) + id;
  if (e.retrievalHint !== undefined) body += fieldSize(1, e.retrievalHint.length);
  if (e.senderId !== undefined) body += fieldSize(1, utf8Size(e.senderId));
  return fieldSize(1, body);
}

/** Bytes one sequence_repair_request entry (field 34, a two-byte tag) adds to an encoding. */
export function sequenceRangeSize(r: SequenceRange): number {
  const sender = utf8Size(r.senderId);
  const body = 1 + varintSize(sender) + sender + 1 + varintSize(r.first) + 1 + varintSize(r.last);
  return fieldSize(2, body);
}

/**
 * The requests a message sent now may carry: those due, and, since a message that goes out anyway saves a
 * later control message, every request not yet asked (unless another member's request suppressed it, or
 * `early` is false: while the owner is asked first, the topic hears only of what is due).
 */
export function selectDue(missing: Iterable<MissingEntry>, now: number, p: Params, early = true): DueRequests {
  const ids: MissingEntry[] = [];
  const bySender = new Map<string, MissingEntry[]>();
  for (const entry of missing) {
    if (entry.requestAt > now && (!early || entry.attempts > 0 || entry.suppressed === true)) continue;
    if (entry.ref.messageId !== undefined) {
      if (ids.length < p.maxRepairIdsPerMessage) ids.push(entry);
    } else if (entry.ref.senderId !== undefined && entry.ref.sequence !== undefined) {
      let list = bySender.get(entry.ref.senderId);
      if (list === undefined) {
        if (bySender.size >= p.maxRepairRangesPerMessage) continue;
        list = [];
        bySender.set(entry.ref.senderId, list);
      }
      list.push(entry);
    }
  }
  return { ids, bySender };
}

/** Consecutive runs of one sender's missing sequence numbers, in order (sorts `entries`). */
export function sequenceRuns(entries: MissingEntry[]): MissingEntry[][] {
  entries.sort((a, b) => a.ref.sequence! - b.ref.sequence!);
  const runs: MissingEntry[][] = [];
  let run: MissingEntry[] = [entries[0]!];
  for (const e of entries.slice(1)) {
    if (e.ref.sequence === run[run.length - 1]!.ref.sequence! + 1) {
      run.push(e);
      continue;
    }
    runs.push(run);
    run = [e];
  }
  runs.push(run);
  return runs;
}

/** Packs due requests into `room` encoded bytes: ids first, then one range per run; what does not fit waits. */
export function packRequests(due: DueRequests, room: number, p: Params): PackedRequests {
  const asked: MissingEntry[] = [];
  const ids: HistoryEntry[] = [];
  let left = room;
  for (const entry of due.ids) {
    const request: HistoryEntry =
      entry.retrievalHint === undefined
        ? { messageId: entry.ref.messageId! }
        : { messageId: entry.ref.messageId!, retrievalHint: entry.retrievalHint };
    const size = historyEntrySize(request);
    if (size > left) continue;
    left -= size;
    ids.push(request);
    asked.push(entry);
  }
  const ranges: SequenceRange[] = [];
  for (const [senderId, entries] of due.bySender) {
    for (const run of sequenceRuns(entries)) {
      if (ranges.length >= p.maxRepairRangesPerMessage) continue;
      const range = { senderId, first: run[0]!.ref.sequence!, last: run[run.length - 1]!.ref.sequence! };
      const size = sequenceRangeSize(range);
      if (size > left) continue;
      left -= size;
      ranges.push(range);
      asked.push(...run);
    }
  }
  return { ids, ranges, asked };
}
