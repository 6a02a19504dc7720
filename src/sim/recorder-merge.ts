import type { SeriesParts } from "./series.js";
import { Histogram } from "./stats.js";

/**
 * A recorder's state (metrics.ts), as one shard of a run split across workers holds it: its own arrays, by
 * reference, or a structured clone of them sent from a worker thread.
 */
export interface RecorderParts {
  readonly sentAt: Float64Array;
  readonly sender: Int32Array;
  readonly deliveredAt: Float64Array;
  readonly arrivedAt: Float64Array;
  readonly detectedAt: Float64Array;
  readonly flags: Uint8Array;
  readonly joinedAt: Float64Array;
  readonly onlineMs: Float64Array;
  readonly sentBytes: Float64Array;
  readonly receivedBytes: Float64Array;
  readonly controlTimes: number[][];
  readonly tally: Record<"duplicates" | "spurious" | "acks" | "unnamedFalseAcks" | "repairBroadcasts", number>;
  readonly overhead: Histogram;
  readonly overheadContent: Histogram;
  readonly knowledge: Histogram;
  readonly firstAck: Float64Array;
  readonly publications: Record<string, number>;
  readonly publicationBytes: Record<string, number>;
  readonly rejected: Record<string, number>;
  readonly shownCount: Float64Array;
  readonly shownLocal: Float64Array;
  readonly shownAsAll: Float64Array;
  readonly ackedAt: Float64Array;
  readonly contentWire: Float64Array;
  readonly contentPayload: Float64Array;
  readonly sentCount: number;
  readonly series: SeriesParts;
}

/** The recorder's fields that `RecorderParts` holds by reference (all but `sentCount` and `series`). */
export const RECORDER_FIELDS = [
  "sentAt",
  "sender",
  "deliveredAt",
  "arrivedAt",
  "detectedAt",
  "flags",
  "joinedAt",
  "onlineMs",
  "sentBytes",
  "receivedBytes",
  "controlTimes",
  "tally",
  "overhead",
  "overheadContent",
  "knowledge",
  "firstAck",
  "publications",
  "publicationBytes",
  "rejected",
  "shownCount",
  "shownLocal",
  "shownAsAll",
  "ackedAt",
  "contentWire",
  "contentPayload",
] as const satisfies readonly (keyof RecorderParts)[];

/** A histogram that crossed a thread boundary comes back as a plain object: give it its methods again. */
export function reviveHistogram(h: Histogram): Histogram {
  return h instanceof Histogram ? h : Object.setPrototypeOf(h, Histogram.prototype);
}

/** NaN in `into` takes the value of `from`: a record one shard wrote (the shard of the node it is about). */
function fill(into: Float64Array, from: Float64Array): void {
  for (let i = 0; i < into.length; i++) if (Number.isNaN(into[i]!) && !Number.isNaN(from[i]!)) into[i] = from[i]!;
}

function add(into: Float64Array, from: Float64Array): void {
  for (let i = 0; i < into.length; i++) into[i]! += from[i]!;
}

function addKeys(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/**
 * Adds one shard's records into the run's (`into`, a recorder's own parts; the series merge themselves). Every pair, node and message is
 * written by one shard only (the shard of the member, or of the sender for what a sender learns), or by every
 * shard alike (the messages sent: replicated, taken from the `first` shard). Counters, byte counts and histogram
 * buckets are sums of integers, so the result is the same in any grouping of the same records.
 */
export function mergeRecorderParts(into: RecorderParts, from: RecorderParts, first: boolean): void {
  if (first) {
    into.sentAt.set(from.sentAt);
    into.sender.set(from.sender);
  }
  fill(into.deliveredAt, from.deliveredAt);
  fill(into.arrivedAt, from.arrivedAt);
  fill(into.detectedAt, from.detectedAt);
  for (let i = 0; i < into.flags.length; i++) into.flags[i]! |= from.flags[i]!;
  fill(into.joinedAt, from.joinedAt);
  add(into.onlineMs, from.onlineMs);
  add(into.sentBytes, from.sentBytes);
  add(into.receivedBytes, from.receivedBytes);
  for (let n = 0; n < into.controlTimes.length; n++) {
    if (from.controlTimes[n]!.length > 0) into.controlTimes[n]!.push(...from.controlTimes[n]!);
  }
  for (const k of Object.keys(into.tally) as (keyof RecorderParts["tally"])[]) into.tally[k] += from.tally[k];
  into.overhead.merge(reviveHistogram(from.overhead));
  into.overheadContent.merge(reviveHistogram(from.overheadContent));
  into.knowledge.merge(reviveHistogram(from.knowledge));
  fill(into.firstAck, from.firstAck);
  addKeys(into.publications, from.publications);
  addKeys(into.publicationBytes, from.publicationBytes);
  addKeys(into.rejected, from.rejected);
  fill(into.shownCount, from.shownCount);
  fill(into.shownLocal, from.shownLocal);
  fill(into.shownAsAll, from.shownAsAll);
  fill(into.ackedAt, from.ackedAt);
  add(into.contentWire, from.contentWire);
  add(into.contentPayload, from.contentPayload);
}
