// Receiving side of segmentation: segments arrive in any order, one set per (sender, payload hash); a set
// is reassembled as soon as it holds as many segments, data and parity together, as it has data
// segments, and delivered only when Keccak-256 of the result matches the hash the segments carry. The
// clock comes in as an argument (`now`), like everywhere in the core.
//
// Bounds: sets and bytes per sender and in all; a full sender or store refuses newcomers rather than
// evict what others started. Incomplete sets untouched for `timeoutMs` are dropped by `expire`.
// Recently finished hashes are remembered per sender, so the rest of a set reassembled early (late data
// or parity) is ignored rather than opening a new set.
import { keccak_256 } from "@noble/hashes/sha3.js";
import { type Segment, tryDecodeSegment } from "../../wire/index.js";
import { leopard8Decode } from "./leopard8.js";

export interface ReassemblerLimits {
  /** Largest segment payload accepted, in bytes. */
  readonly maxSegmentBytes: number;
  /** Incomplete sets one sender may have open. */
  readonly maxSetsPerSender: number;
  /** Segment bytes one sender's incomplete sets may hold. */
  readonly maxBytesPerSender: number;
  /** Incomplete sets in all. */
  readonly maxSets: number;
  /** Segment bytes held in all. */
  readonly maxBytes: number;
  /** An incomplete set with no new segment for this long is dropped. */
  readonly timeoutMs: number;
  /** Finished (or failed) hashes remembered per sender. */
  readonly rememberPerSender: number;
}

export const DEFAULT_REASSEMBLER_LIMITS: ReassemblerLimits = {
  maxSegmentBytes: 150 * 1024,
  maxSetsPerSender: 4,
  maxBytesPerSender: 32 * 1024 * 1024,
  maxSets: 256,
  maxBytes: 128 * 1024 * 1024,
  timeoutMs: 10 * 60_000,
  rememberPerSender: 256,
};

export type RefusalCode = "count-mismatch" | "length-mismatch" | "sender-full" | "store-full" | "hash-mismatch";

export type SegmentOutcome =
  /** Not a segment message: the content is a whole payload. */
  | { readonly kind: "whole"; readonly payload: Uint8Array }
  | {
      readonly kind: "stored";
      readonly hash: Uint8Array;
      readonly segment: Segment;
      readonly held: number;
      readonly needed: number;
    }
  | {
      readonly kind: "reassembled";
      readonly hash: Uint8Array;
      readonly segment: Segment;
      readonly payload: Uint8Array;
      /** Parity segments that stood in for missing data segments. */
      readonly parityUsed: number;
    }
  | { readonly kind: "ignored"; readonly reason: "duplicate" | "already-finished"; readonly segment: Segment }
  | { readonly kind: "refused"; readonly code: RefusalCode; readonly reason: string; readonly segment: Segment };

export interface DroppedSet {
  readonly sender: string;
  readonly hash: Uint8Array;
  readonly held: number;
  readonly needed: number;
}

interface SegmentSet {
  readonly sender: string;
  readonly hash: Uint8Array;
  /** Unknown while only parity segments have come (they do not carry it). */
  dataCount: number | undefined;
  parityCount: number | undefined;
  /** Length of every parity shard and every data segment but the last, once one of them is seen. */
  shardLength: number | undefined;
  /** Data payloads by index; sized once the data count is known. */
  data: (Uint8Array | undefined)[];
  parity: (Uint8Array | undefined)[];
  held: number;
  bytes: number;
  updatedAt: number;
}

interface SenderUsage {
  sets: number;
  bytes: number;
  /** Recently finished hashes (hex), oldest first. */
  readonly finished: Map<string, true>;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

export class Reassembler {
  private readonly limits: ReassemblerLimits;
  /** Open sets by sender + hash, least recently updated first (so `expire` reads only what is due). */
  private readonly sets = new Map<string, SegmentSet>();
  private readonly senders = new Map<string, SenderUsage>();
  private bytes = 0;

  constructor(limits: Partial<ReassemblerLimits> = {}) {
    this.limits = { ...DEFAULT_REASSEMBLER_LIMITS, ...limits };
    for (const [name, value] of Object.entries(this.limits)) {
      if (!Number.isSafeInteger(value) || value < 1)
        throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
  }

  get openSets(): number {
    return this.sets.size;
  }

  get heldBytes(): number {
    return this.bytes;
  }

  /** One content payload from `sender`: a whole payload, or a segment to store and maybe reassemble. */
  accept(sender: string, content: Uint8Array, now: number): SegmentOutcome {
    const segment = tryDecodeSegment(content, this.limits.maxSegmentBytes);
    if (segment === undefined) return { kind: "whole", payload: content };
    const key = `${sender}/${hex(segment.hash)}`;
    const usage = this.usage(sender);
    if (usage.finished.has(hex(segment.hash))) return { kind: "ignored", reason: "already-finished", segment };
    let set = this.sets.get(key);
    if (set === undefined) {
      const refusal = this.roomForSet(usage, segment);
      if (refusal !== undefined) return refusal;
      set = this.open(sender, segment, now);
      this.sets.set(key, set);
      usage.sets++;
    }
    const placed = this.place(set, usage, segment);
    if (placed !== "placed") {
      if (set.held === 0) this.close(key, set);
      return placed === "duplicate" ? { kind: "ignored", reason: "duplicate", segment } : placed;
    }
    this.sets.delete(key);
    set.updatedAt = now;
    this.sets.set(key, set);
    if (set.dataCount === undefined || set.held < set.dataCount) {
      return { kind: "stored", hash: set.hash, segment, held: set.held, needed: set.dataCount ?? 2 };
    }
    return this.finish(key, set, usage, segment);
  }

  /** The limits in force (defaults filled in). */
  get limit(): ReassemblerLimits {
    return this.limits;
  }

  /**
   * Remembers a set as finished without taking its segments: after a restart, a set the store holds enough of
   * was reassembled before, and its late segments must be ignored, not open it again.
   */
  markFinished(sender: string, hash: Uint8Array): void {
    this.remember(this.usage(sender), hash);
  }

  /** Drops incomplete sets untouched for `timeoutMs` at `now`, and says which. */
  expire(now: number): DroppedSet[] {
    const dropped: DroppedSet[] = [];
    for (const [key, set] of this.sets) {
      if (now - set.updatedAt < this.limits.timeoutMs) break;
      this.close(key, set);
      dropped.push({ sender: set.sender, hash: set.hash, held: set.held, needed: set.dataCount ?? 2 });
    }
    return dropped;
  }

  /** When the oldest incomplete set times out, if any is open. */
  nextExpiry(): number | undefined {
    for (const set of this.sets.values()) return set.updatedAt + this.limits.timeoutMs;
    return undefined;
  }

  private usage(sender: string): SenderUsage {
    let u = this.senders.get(sender);
    if (u === undefined) {
      u = { sets: 0, bytes: 0, finished: new Map() };
      this.senders.set(sender, u);
    }
    return u;
  }

  private roomForSet(usage: SenderUsage, segment: Segment): SegmentOutcome | undefined {
    if (usage.sets >= this.limits.maxSetsPerSender) {
      const reason = `sender has ${usage.sets} incomplete sets, limit ${this.limits.maxSetsPerSender}`;
      return { kind: "refused", code: "sender-full", reason, segment };
    }
    if (this.sets.size >= this.limits.maxSets) {
      return {
        kind: "refused",
        code: "store-full",
        reason: `${this.sets.size} incomplete sets, limit ${this.limits.maxSets}`,
        segment,
      };
    }
    return undefined;
  }

  private open(sender: string, segment: Segment, now: number): SegmentSet {
    return {
      sender,
      hash: segment.hash,
      dataCount: undefined,
      parityCount: undefined,
      shardLength: undefined,
      data: [],
      parity: [],
      held: 0,
      bytes: 0,
      updatedAt: now,
    };
  }

  private place(set: SegmentSet, usage: SenderUsage, segment: Segment): SegmentOutcome | "placed" | "duplicate" {
    const mismatch = shapeProblem(set, segment);
    if (mismatch !== undefined) return { kind: "refused", code: mismatch[0], reason: mismatch[1], segment };
    // What a valid segment says about the set's shape agrees with the set (checked above), so it is
    // recorded even if the segment is refused below for room.
    adoptShape(set, segment);
    const slots = segment.kind === "data" ? set.data : set.parity;
    if (slots[segment.index] !== undefined) return "duplicate";
    const size = segment.payload.length;
    if (usage.bytes + size > this.limits.maxBytesPerSender) {
      const reason = `sender holds ${usage.bytes} bytes, ${size} more exceeds ${this.limits.maxBytesPerSender}`;
      return { kind: "refused", code: "sender-full", reason, segment };
    }
    if (this.bytes + size > this.limits.maxBytes) {
      const reason = `${this.bytes} bytes held, ${size} more exceeds ${this.limits.maxBytes}`;
      return { kind: "refused", code: "store-full", reason, segment };
    }
    slots[segment.index] = segment.payload;
    set.held++;
    set.bytes += size;
    usage.bytes += size;
    this.bytes += size;
    return "placed";
  }

  private finish(key: string, set: SegmentSet, usage: SenderUsage, segment: Segment): SegmentOutcome {
    this.close(key, set);
    this.remember(usage, set.hash);
    const payload = reconstruct(set);
    if (payload === undefined) {
      const reason = `Keccak-256 of the reassembled payload is not ${hex(set.hash)}`;
      return { kind: "refused", code: "hash-mismatch", reason, segment };
    }
    const parityUsed = set.data.filter((d) => d === undefined).length;
    return { kind: "reassembled", hash: set.hash, segment, payload, parityUsed };
  }

  private close(key: string, set: SegmentSet): void {
    if (!this.sets.delete(key)) return;
    const usage = this.usage(set.sender);
    usage.sets--;
    usage.bytes -= set.bytes;
    this.bytes -= set.bytes;
  }

  private remember(usage: SenderUsage, hash: Uint8Array): void {
    usage.finished.set(hex(hash), true);
    if (usage.finished.size > this.limits.rememberPerSender) {
      for (const oldest of usage.finished.keys()) {
        usage.finished.delete(oldest);
        break;
      }
    }
  }
}

// Why a segment cannot join its set (counts or lengths that disagree with what the set has), if it cannot.
function shapeProblem(set: SegmentSet, segment: Segment): [RefusalCode, string] | undefined {
  const dataCount = segment.kind === "data" ? segment.count : set.dataCount;
  const named = segment.kind === "parity" ? segment.count : segment.parityCount || undefined;
  const parityCount = named ?? set.parityCount;
  if (named !== undefined && set.parityCount !== undefined && named !== set.parityCount) {
    return ["count-mismatch", `${segment.kind} segment says ${named} parity segments, the set ${set.parityCount}`];
  }
  if (segment.kind === "data" && set.dataCount !== undefined && segment.count !== set.dataCount) {
    return ["count-mismatch", `data segment says ${segment.count} data segments, the set ${set.dataCount}`];
  }
  if (
    dataCount !== undefined &&
    parityCount !== undefined &&
    (parityCount > dataCount || dataCount + parityCount > 256)
  ) {
    return ["count-mismatch", `${parityCount} parity segments for ${dataCount} data segments`];
  }
  const size = segment.payload.length;
  const last = segment.kind === "data" && segment.index === segment.count - 1;
  const shard = set.shardLength;
  if (shard !== undefined && (last ? size > shard : size !== shard)) {
    return ["length-mismatch", `${segment.kind} segment ${segment.index} is ${size} bytes, the set's shards ${shard}`];
  }
  const lastHeld = dataCount === undefined ? undefined : set.data[dataCount - 1];
  if (!last && lastHeld !== undefined && lastHeld.length > size) {
    return [
      "length-mismatch",
      `${segment.kind} segment ${segment.index} is ${size} bytes, shorter than the last data segment`,
    ];
  }
  return undefined;
}

// Records what an accepted segment tells about the set's shape.
function adoptShape(set: SegmentSet, segment: Segment): void {
  if (segment.kind === "data" && set.dataCount === undefined) {
    set.dataCount = segment.count;
    set.data = new Array(segment.count).fill(undefined);
  }
  const named = segment.kind === "parity" ? segment.count : segment.parityCount || undefined;
  if (named !== undefined && set.parityCount === undefined) {
    set.parityCount = named;
    set.parity = new Array(named).fill(undefined);
  }
  const last = segment.kind === "data" && segment.index === segment.count - 1;
  if (!last) set.shardLength ??= segment.payload.length;
}

/** The payload a complete-enough set encodes, or undefined when no candidate matches the hash. */
function reconstruct(set: SegmentSet): Uint8Array | undefined {
  const k = set.dataCount as number;
  const lastHeld = set.data[k - 1];
  if (set.data.every((d) => d !== undefined)) return checked(concat(set.data as Uint8Array[]), set.hash);
  const length = set.shardLength;
  if (length === undefined) return undefined;
  const padded = set.data.map((d) => {
    if (d === undefined || d.length === length) return d;
    const p = new Uint8Array(length);
    p.set(d);
    return p;
  });
  let shards: Uint8Array[];
  try {
    shards = leopard8Decode(padded, set.parity);
  } catch {
    return undefined;
  }
  const body = concat(shards.slice(0, k - 1));
  if (lastHeld !== undefined) return checked(concat([body, lastHeld]), set.hash);
  // The last chunk was rebuilt with its zero padding; its true length is the rebuilt shard less some of
  // its trailing zeros. Try each, longest first, continuing one running hash.
  const last = shards[k - 1] as Uint8Array;
  let end = last.length;
  while (end > 0 && last[end - 1] === 0) end--;
  const hasher = keccak_256.create().update(body).update(last.subarray(0, end));
  for (let cut = end; cut <= last.length; cut++) {
    if (equalBytes(hasher.clone().digest(), set.hash)) return concat([body, last.subarray(0, cut)]);
    hasher.update(ZERO);
  }
  return undefined;
}

const ZERO = new Uint8Array(1);

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

function checked(payload: Uint8Array, hash: Uint8Array): Uint8Array | undefined {
  return equalBytes(keccak_256(payload), hash) ? payload : undefined;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
