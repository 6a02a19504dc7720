import {
  type AckSummary,
  ackFieldLength,
  encodedLength,
  encodeWithSignatureRoom,
  outputBuffer,
  type ReceivedUpTo,
  SIGNATURE_BYTES,
  type WireMessage,
} from "../../wire/index.js";
import { deriveSummaryKey, optimalHashCount } from "../ack-filter.js";
import type { MessageId, SenderId } from "../ids.js";
import type { MessageCache } from "../message-cache.js";
import { mutated, type Params } from "../params.js";
import type { SenderState, SenderTable } from "../senders.js";
import type { RandomSource } from "../types.js";
import { FilterChoiceMemo } from "./filter-choice.js";
import { MarkedSenders, MarkMaker } from "./marked.js";
import { RecentIds } from "./recent.js";

// Bytes of an ack summary besides its filter bytes and marks: field tag and length, nonce, hash count, filter tag and length.
const ACK_FIXED_BYTES = 3 + 9 + 2 + 3;
const MARK_BYTES = 16;
/** V8 keeps typed arrays of up to 64 bytes in its own heap (no backing store of their own). */
const ON_HEAP_FILTER_BYTES = 64;
export const SIGNATURE_FIELD_BYTES = 3 + SIGNATURE_BYTES;
/**
 * Summaries a sender's progress is announced in before it yields its mark slot to others: one summary can be
 * lost on its way to the sender it acknowledges; two independent copies rarely both are.
 */
const MARK_REPEATS = 2;
const nonceView = new DataView(new ArrayBuffer(8));
/** The two passes over the mark queue: progress never announced, then repeats. */
const QUEUE_PASSES = [false, true] as const;
const NO_PASSES: readonly boolean[] = [];

/** A message being built: every field but the acknowledgement summary and the signature. */
export type UnsignedBase = Omit<WireMessage, "ack" | "signature">;

/** An encoding with room for its signature (wire `writeSignature`), and the summary it carries. */
export interface Fitted {
  readonly buffer: Uint8Array;
  readonly ack: AckSummary | undefined;
}

/**
 * The acknowledgement summary our messages carry: received-up-to marks (an announcement queue, so that every
 * sender's progress is announced within a bounded number of summaries however many senders there are) and a
 * salted filter of recently received ids, with a fresh nonce each time.
 */
export class SummaryWriter {
  private readonly recentReceived: RecentIds;
  /** The key of the summary being built (reused: only its author knows it before it is sent). */
  private readonly key = new Int32Array(4);
  /**
   * Slots of `recentReceived` the summary being built puts in its filter, as many as `chooseFilterIds` says (reused:
   * emptying an array by `length = 0` drops its backing store, and refilling it allocated a new one every message).
   */
  private readonly filterSlots: Int32Array;
  /** The senders whose marks the summary being built carries (reused). */
  private readonly marked = new MarkedSenders();
  private readonly markMaker = new MarkMaker();
  /** What the last `chooseFilterIds` depended on. */
  private readonly choice = new FilterChoiceMemo();
  /** Most recently advanced senders, newest last (at most 2 × ackMaxMarks): fill for spare mark slots. */
  private markOrder: SenderId[] = [];
  /** Senders whose progress was not yet announced `MARK_REPEATS` times, oldest unannounced first. */
  private readonly markQueue = new Set<SenderId>();

  constructor(
    private readonly params: Params,
    private readonly salt: Uint8Array,
    private readonly random: RandomSource,
    private readonly senders: SenderTable,
    private readonly cache: MessageCache,
  ) {
    this.recentReceived = new RecentIds(params.ackRecentIds);
    // A filter holds at most ackMaxFilterBytes * 8 / ackFilterBitsPerId ids (64 by default).
    const mostIds = Math.floor((params.ackMaxFilterBytes * 8) / params.ackFilterBitsPerId);
    this.filterSlots = new Int32Array(Math.min(params.ackRecentIds, mostIds));
  }

  /** A content message was accepted: its id goes into the next filters. */
  noteReceived(id: MessageId, senderId: SenderId, sequence: number | undefined): void {
    this.recentReceived.push(id, senderId, sequence);
  }

  /** Another sender's contiguous mark moved: queue the news (kept in place if already waiting). */
  noteProgress(state: SenderState): void {
    if (state.contiguous >= state.runStart) this.markQueue.add(state.id);
    // Already the newest (a sender's messages often come in runs): moving it to the end changes nothing.
    if (this.markOrder[this.markOrder.length - 1] === state.id) return;
    const i = this.markOrder.indexOf(state.id);
    if (i >= 0) this.markOrder.splice(i, 1);
    this.markOrder.push(state.id);
    if (this.markOrder.length > this.params.ackMaxMarks * 2) this.markOrder.shift();
  }

  /**
   * The unsigned encoding of `base` (`plainLength` bytes, when measured already) with the largest summary that keeps
   * the message's overhead (all but its content, signature included) within `overheadBudgetBytes`, in a buffer with
   * room for the signature. Its marks count as announced.
   */
  encodeFitting(base: UnsignedBase, plainLength = encodedLength(base)): Fitted {
    if (base.kind === "ephemeral") return { buffer: encodeWithSignatureRoom(base, plainLength), ack: undefined };
    // Sizes are measured, not encoded: the summary field adds exactly its own length (wire encode.ts), so the one
    // encoding written is the one that is signed.
    const limit = this.params.overheadBudgetBytes;
    const contentBytes = base.content?.length ?? 0;
    let budget = limit - (plainLength + SIGNATURE_FIELD_BYTES - contentBytes);
    // `build` estimates field sizes (varint lengths, mark sequence numbers); shrink until the real encoding fits.
    for (let attempt = 0; attempt < 8; attempt++) {
      const ack = this.build(budget);
      if (ack === undefined) break;
      const length = plainLength + ackFieldLength(ack);
      const over = length + SIGNATURE_FIELD_BYTES - contentBytes;
      if (over <= limit) {
        this.noteAnnounced();
        return { buffer: encodeWithSignatureRoom(base, length, ack), ack };
      }
      budget -= over - limit;
    }
    return { buffer: encodeWithSignatureRoom(base, plainLength), ack: undefined };
  }

  /**
   * The acknowledgement summary that fits `budget` bytes. Marks go first, oldest unannounced progress first;
   * spare slots repeat the most recently active senders, for gap detection. `marked` holds the senders whose
   * marks it carries until the next summary is built.
   */
  private build(budget: number): AckSummary | undefined {
    const p = this.params;
    let room = budget - ACK_FIXED_BYTES;
    const marked = this.marked;
    marked.clear();
    if (room < 0) return undefined;
    const marks: ReceivedUpTo[] = [];
    // Half the filter's bytes stay free for ids no mark covers (newest messages, runs past a gap, SDS peers').
    const reserve = this.recentReceived.size > 0 ? Math.floor(p.ackMaxFilterBytes / 2) : 0;
    room -= reserve;
    // Progress never announced goes first, repeats after it: everyone's progress is announced once before anyone's twice.
    let stale: SenderId[] | undefined;
    for (const repeats of mutated(p, "mark-queue") ? NO_PASSES : QUEUE_PASSES) {
      for (const sender of this.markQueue) {
        if (marks.length >= p.ackMaxMarks || room < MARK_BYTES) break;
        const state = this.senders.get(sender);
        if (state === undefined || state.contiguous < state.runStart) {
          if (!repeats) {
            stale ??= [];
            stale.push(sender);
          }
        } else if ((state.announced === state.contiguous) === repeats && !marked.has(state.id)) {
          room -= this.addMark(state, marks);
        }
      }
    }
    if (stale !== undefined) for (const sender of stale) this.markQueue.delete(sender);
    const spare = mutated(p, "spare-slots") ? -1 : this.markOrder.length - 1;
    for (let i = spare; i >= 0 && marks.length < p.ackMaxMarks && room >= MARK_BYTES; i--) {
      const state = this.senders.get(this.markOrder[i]!);
      if (state === undefined || marked.has(state.id) || state.contiguous < state.runStart) continue;
      room -= this.addMark(state, marks);
    }
    room += reserve;
    const ids = this.chooseFilterIds(Math.min(p.ackMaxFilterBytes, room));
    if (marks.length === 0 && ids === 0) return undefined;
    const maxBytes = Math.min(p.ackMaxFilterBytes, room);
    const filterBytes = ids === 0 ? 0 : Math.min(maxBytes, Math.ceil((ids * p.ackFilterBitsPerId) / 8));
    const hashCount = optimalHashCount(filterBytes * 8, ids);
    const nonce = this.randomNonce();
    // Up to 64 bytes (32 ids, the most a summary beside a dozen marks holds), a Uint8Array of its own lives in V8's
    // heap: cheaper than a view, and the slab it would come from lasts longer. Longer ones are cut from that slab
    // (an off-heap Uint8Array of its own cost as much as the encoding's did).
    const filter = filterBytes <= ON_HEAP_FILTER_BYTES ? new Uint8Array(filterBytes) : outputBuffer(filterBytes);
    if (filterBytes > 0) {
      const key = deriveSummaryKey(this.salt, nonce, this.key);
      const slots = this.filterSlots;
      for (let i = 0; i < ids; i++) this.recentReceived.addTo(slots[i]!, key, filter, hashCount);
    }
    return { nonce, filter, hashCount, marks };
  }

  /**
   * Recently received ids no mark of this summary covers, newest first, as many as `maxBytes` of filter hold: their
   * slots in `recentReceived`, the first of the reused `filterSlots`. Returns how many.
   */
  private chooseFilterIds(maxBytes: number): number {
    const capacity = Math.floor((maxBytes * 8) / this.params.ackFilterBitsPerId);
    const slots = this.filterSlots;
    let count = 0;
    if (capacity <= 0) return 0;
    const skipMarked = this.marked.size > 0 && !mutated(this.params, "filter-skip-marked");
    const marked = skipMarked ? this.marked : undefined;
    const recent = this.recentReceived;
    // The same inputs as the last choice (messages sent in a row): the same slots, still in `filterSlots`.
    const kept = this.choice.recall(recent.version, capacity, marked);
    if (kept >= 0) return kept;
    // Runs on every message sent after a change, over up to ackRecentIds ids: no iterator, no allocation.
    for (let i = 0; i < recent.size; i++) {
      const slot = recent.slotOf(i);
      const seq = marked !== undefined ? recent.sequenceAt(slot) : undefined;
      if (seq !== undefined) {
        const state = marked!.get(recent.senderAt(slot)!);
        if (state !== undefined && state.contiguous >= seq && seq >= state.runStart) continue;
      }
      slots[count++] = slot;
      if (count >= capacity) break;
    }
    this.choice.remember(recent.version, capacity, marked, count);
    return count;
  }

  /** The marks of a sent summary: progress announced `MARK_REPEATS` times leaves the queue until it moves again. */
  private noteAnnounced(): void {
    const marked = this.marked;
    for (let i = 0; i < marked.size; i++) {
      const state = marked.at(i);
      const announcements = this.senders.recordAnnouncement(state);
      if (!this.markQueue.delete(state.id)) continue;
      // Not yet repeated enough: back of the queue, behind everyone else waiting.
      if (announcements < MARK_REPEATS) this.markQueue.add(state.id);
    }
  }

  private randomNonce(): bigint {
    // Two 32-bit halves read back as one u64: a single bigint, where shifting and or-ing made four.
    nonceView.setUint32(0, Math.floor(this.random({ use: "nonce" }) * 0x1_0000_0000));
    nonceView.setUint32(4, Math.floor(this.random({ use: "nonce" }) * 0x1_0000_0000));
    return nonceView.getBigUint64(0);
  }

  /** Adds `state`'s mark to a summary being built; returns the bytes it takes. */
  private addMark(state: SenderState, marks: ReceivedUpTo[]): number {
    marks.push(this.markMaker.of(state));
    this.marked.add(state);
    return MARK_BYTES;
  }

  /** Senders whose progress was never announced, counted up to `limit + 1`. */
  unannounced(limit: number): number {
    let count = 0;
    if (mutated(this.params, "unannounced-sync")) return 0;
    for (const sender of this.markQueue) {
      const state = this.senders.get(sender);
      if (state === undefined || state.announced === state.contiguous) continue;
      if (++count > limit) break;
    }
    return count;
  }

  toJSON(): { recentReceived: string[]; markOrder: string[]; markQueue: string[] } {
    return {
      recentReceived: this.recentReceived.toArray(),
      markOrder: [...this.markOrder],
      markQueue: [...this.markQueue],
    };
  }

  restore(s: { recentReceived: readonly string[]; markOrder: readonly string[]; markQueue?: readonly string[] }): void {
    // Sender and sequence come back from the message cache, as far as it holds them.
    for (const id of s.recentReceived) {
      const cached = this.cache.sequenceOf(id as MessageId);
      this.recentReceived.push(id as MessageId, cached?.senderId, cached?.sequence);
    }
    this.markOrder = s.markOrder.map((x) => x as SenderId);
    for (const id of s.markQueue ?? []) this.markQueue.add(id as SenderId);
  }
}
