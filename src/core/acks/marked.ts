import type { ReceivedUpTo } from "../../wire/index.js";
import { type SenderId, senderPrefixBytes } from "../ids.js";
import type { SenderState } from "../senders.js";

// A summary marks at most ackMaxMarks (16 by default, 64 at most) senders; an engine keeps one of these.
const BUCKET_BITS = 6;
const BUCKETS = 1 << BUCKET_BITS;

/**
 * The senders whose marks the summary being built carries, in the order they were added, indexed by id: a summary
 * is checked against it for every recently received id it considers. Reused from one summary to the next: a Map
 * per summary, grown from 4 to 16 entries, was a sixth of the bytes a send allocated. A small hash table on the
 * id's first characters (hex of a public key, so evenly spread), collisions chained and told apart by the id.
 */
export class MarkedSenders {
  private readonly states: SenderState[] = [];
  /** Per bucket, 1 + the index of its newest entry in `states`, 0 when empty. */
  private readonly heads = new Int32Array(BUCKETS);
  /** Per entry, 1 + the index of the next entry in its bucket, 0 at the end of the chain. */
  private next = new Int32Array(16);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The marked state at `i` (0 the first added), for `i` < size. */
  at(i: number): SenderState {
    return this.states[i]!;
  }

  /** Forgets every entry (only the buckets in use are cleared). */
  clear(): void {
    for (let i = 0; i < this.count; i++) this.heads[bucketOf(this.states[i]!.id)] = 0;
    this.count = 0;
  }

  /** Adds `state`, which must not be marked yet (`has`). */
  add(state: SenderState): void {
    const i = this.count++;
    if (i >= this.next.length) {
      const grown = new Int32Array(2 * this.next.length);
      grown.set(this.next);
      this.next = grown;
    }
    this.states[i] = state;
    const b = bucketOf(state.id);
    this.next[i] = this.heads[b]!;
    this.heads[b] = i + 1;
  }

  has(id: SenderId): boolean {
    return this.get(id) !== undefined;
  }

  get(id: SenderId): SenderState | undefined {
    for (let e = this.heads[bucketOf(id)]!; e !== 0; e = this.next[e - 1]!) {
      const state = this.states[e - 1]!;
      if (state.id === id) return state;
    }
    return undefined;
  }
}

const MARK_SLOTS = 32;

/**
 * The received-up-to marks our summaries carry, the last one made per sender kept (direct-mapped by id, 32 slots:
 * a summary's spare slots repeat the most recently active senders): a sender's progress that did not move since
 * the last summary is the same object, where a fresh one per mark per message was a tenth of what a send allocated.
 * Marks are read-only values.
 */
export class MarkMaker {
  private readonly ids: (SenderId | undefined)[] = new Array(MARK_SLOTS).fill(undefined);
  private readonly marks: (ReceivedUpTo | undefined)[] = new Array(MARK_SLOTS).fill(undefined);

  /** `state`'s mark: everything from the start of its current run up to its contiguous mark. */
  of(state: SenderState): ReceivedUpTo {
    const slot = bucketOf(state.id) & (MARK_SLOTS - 1);
    const kept = this.marks[slot];
    // A mark claims only what we hold: the run since the last message we gave up on.
    const first = state.runStart > 1 ? state.runStart : undefined;
    if (
      kept !== undefined &&
      this.ids[slot] === state.id &&
      kept.sequence === state.contiguous &&
      kept.first === first
    ) {
      return kept;
    }
    const senderPrefix = senderPrefixBytes(state.id);
    const mark =
      first === undefined
        ? { senderPrefix, sequence: state.contiguous }
        : { senderPrefix, sequence: state.contiguous, first };
    this.ids[slot] = state.id;
    this.marks[slot] = mark;
    return mark;
  }
}

/** Bucket of an id: its first characters mixed (any string works; ids that share them only chain longer). */
function bucketOf(id: string): number {
  if (id.length < 4) return id.length === 0 ? 0 : id.charCodeAt(0) & (BUCKETS - 1);
  const h = Math.imul(
    id.charCodeAt(0) ^ (id.charCodeAt(1) << 7) ^ (id.charCodeAt(2) << 14) ^ (id.charCodeAt(3) << 21),
    0x9e3779b1,
  );
  return h >>> (32 - BUCKET_BITS);
}
