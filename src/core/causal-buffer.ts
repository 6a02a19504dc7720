import { bytesToHex } from "@noble/hashes/utils.js";
import type { HistoryEntry, WireMessage } from "../wire/index.js";
import type { Refusal } from "./admission.js";
import type { TimerHeap } from "./heap.js";
import type { MessageId, SenderId } from "./ids.js";
import { type DependencyKey, idKey, seqKey } from "./keys.js";
import type { MessageCache } from "./message-cache.js";
import { mutated, type Params } from "./params.js";
import type { GapTracker } from "./repair/gaps.js";
import type { SenderState, SenderTable } from "./senders.js";
import type { StepBuilder } from "./step.js";

/** A received message waiting for its dependencies. */
export interface WaitingMessage {
  readonly message: WireMessage;
  readonly bytes: Uint8Array;
  readonly receivedAt: number;
  /** Dependency keys it waits for (a subset may be met already). */
  readonly deps: readonly DependencyKey[];
  /** Delivered at this time whatever it still waits for (see `CausalBuffer.deadline`). */
  readonly deliverAnywayAt: number;
  unmet: number;
}

/** The part of the gap tracker a dependency check needs: registering (or just asking about) what is missing. */
export type MissingRegistry = Pick<GapTracker, "has" | "markMissing" | "openSequenceGap">;

/** What a message that waits for nothing waits for (shared: never written). */
const NO_DEPENDENCIES: readonly DependencyKey[] = Object.freeze([]);

/** `deps` with `key` added once (a message's dependencies are a handful: a scan, where a Set cost an object each). */
function withKey(deps: DependencyKey[] | undefined, key: DependencyKey): DependencyKey[] {
  if (deps === undefined) return [key];
  if (!deps.includes(key)) deps.push(key);
  return deps;
}

/**
 * Received messages waiting for their causal dependencies (an id named in their history, or their sender's
 * previous sequence number), who waits for what, and delivery once everything is met or the wait is too long.
 */
export class CausalBuffer {
  private readonly waiting = new Map<MessageId, WaitingMessage>();
  /** Dependency key -> waiting messages that need it. */
  private readonly waiters = new Map<DependencyKey, Set<MessageId>>();
  /** Sequence keys of waiting messages, to tell "received, waiting" from "missing". */
  private readonly bySeq = new Map<DependencyKey, MessageId>();
  private readonly countBySender = new Map<SenderId, number>();

  constructor(
    private readonly params: Params,
    private readonly timers: TimerHeap,
    private readonly senders: SenderTable,
  ) {}

  get size(): number {
    return this.waiting.size;
  }

  /** Dependency keys somebody waits for. */
  get waitedFor(): number {
    return this.waiters.size;
  }

  has(id: MessageId): boolean {
    return this.waiting.has(id);
  }

  /** The bytes of a waiting message. */
  bytesOf(id: string): Uint8Array | undefined {
    return this.waiting.get(id as MessageId)?.bytes;
  }

  /** A waiting message with its bytes. */
  entryOf(id: MessageId): WaitingMessage | undefined {
    return this.waiting.get(id);
  }

  idAt(sender: string, seq: number): MessageId | undefined {
    return this.bySeq.get(seqKey(sender, seq));
  }

  hasSequence(sender: string, seq: number): boolean {
    return this.bySeq.has(seqKey(sender, seq));
  }

  /** Messages of `sender` (with sequence numbers) waiting here. */
  waitingFrom(sender: SenderId): number {
    return this.countBySender.get(sender) ?? 0;
  }

  /** Why a newcomer that must wait is refused (full buffers refuse rather than evict), or undefined. */
  refusal(sender: SenderId | undefined): Refusal | undefined {
    if (this.waiting.size >= this.params.maxPending) return { code: "pending-full", reason: "pending buffer is full" };
    if (sender !== undefined && this.waitingFrom(sender) >= this.params.maxPendingPerSender) {
      return { code: "sender-pending-full", reason: "this sender's share of the pending buffer is full" };
    }
    return undefined;
  }

  /**
   * The dependencies `message` still waits for. With `open` (a message just received), ids named in its
   * history that nobody tracks yet are registered as missing, and a gap before its sequence number is opened;
   * without (a restore), only what is already waiting (`restoring`) or missing counts.
   */
  dependenciesOf(
    message: WireMessage,
    state: SenderState | undefined,
    cache: MessageCache,
    gaps: MissingRegistry,
    open: { readonly now: number; readonly step: StepBuilder } | undefined,
    restoring?: ReadonlySet<string>,
  ): readonly DependencyKey[] {
    const id = message.messageId as MessageId;
    // Most messages wait for nothing: no array is made for them (this runs for every message received).
    let deps: DependencyKey[] | undefined;
    const history = mutated(this.params, "causal-deps") ? [] : message.causalHistory;
    for (let i = 0; i < history.length; i++) {
      const entry = history[i]!;
      const depId = entry.messageId as MessageId;
      // An id is a hash over everything but the history, so a message can name itself: that is no dependency.
      if (depId === id || !cache.isOpen(depId)) continue;
      if (this.tracks(depId, entry, gaps, open, restoring)) deps = withKey(deps, idKey(depId));
    }
    const seq = message.sequence;
    const bySequence = state !== undefined && seq !== undefined && !mutated(this.params, "sequence-deps");
    if (bySequence && this.senders.waitsForPrevious(state, seq)) {
      deps = withKey(deps, seqKey(state.id, seq - 1));
      if (open !== undefined) gaps.openSequenceGap(state, seq - 1, open.now, "sequence", open.step);
    }
    return deps ?? NO_DEPENDENCIES;
  }

  /** Wait only for what is tracked: a dependency the full missing set cannot take would never be met. */
  private tracks(
    depId: MessageId,
    entry: HistoryEntry,
    gaps: MissingRegistry,
    open: { readonly now: number; readonly step: StepBuilder } | undefined,
    restoring: ReadonlySet<string> | undefined,
  ): boolean {
    const key = idKey(depId);
    if (open === undefined) return restoring?.has(depId) === true || gaps.has(key);
    if (this.waiting.has(depId)) return true;
    return gaps.markMissing(key, { messageId: depId }, open.now, "causal-history", entry.retrievalHint, open.step);
  }

  /**
   * A message waits at most this long. Dependencies are given up after dependencyTimeoutMs, but a wait can
   * outlast them: a chain of messages fetched one by one, a dependency beyond maxGapPerDetection, or
   * messages crafted to name each other. Twice the timeout leaves room for a chain and bounds the rest.
   */
  deadline(receivedAt: number): number {
    return receivedAt + 2 * this.params.dependencyTimeoutMs;
  }

  add(
    message: WireMessage,
    bytes: Uint8Array,
    receivedAt: number,
    deps: readonly DependencyKey[],
    deliverAnywayAt = this.deadline(receivedAt),
  ): void {
    const id = message.messageId as MessageId;
    const seq = message.sequence;
    this.waiting.set(id, { message, bytes, receivedAt, deps, deliverAnywayAt, unmet: deps.length });
    if (seq !== undefined) {
      const sender = message.senderId as SenderId;
      this.countBySender.set(sender, this.waitingFrom(sender) + 1);
      this.bySeq.set(seqKey(sender, seq), id);
    }
    for (const key of deps) {
      let set = this.waiters.get(key);
      if (set === undefined) {
        set = new Set();
        this.waiters.set(key, set);
      }
      set.add(id);
    }
    if (!mutated(this.params, "pending-deadline")) this.timers.push({ at: deliverAnywayAt, kind: "pending", key: id });
  }

  /** How many messages wait for `key`. */
  dependents(key: DependencyKey): number {
    return this.waiters.get(key)?.size ?? 0;
  }

  /** A dependency is met (delivered or given up): messages that waited for nothing else join `queue`. */
  release(key: DependencyKey, queue: [WireMessage, Uint8Array][]): void {
    const set = this.waiters.get(key);
    if (set === undefined) return;
    this.waiters.delete(key);
    for (const id of set) {
      const entry = this.waiting.get(id);
      if (entry === undefined) continue;
      entry.unmet--;
      if (entry.unmet > 0) continue;
      this.remove(id, entry);
      queue.push([entry.message, entry.bytes]);
    }
  }

  /** The "pending" timer of `id` fired at `at`: the message, if it still waits, stops waiting. */
  expire(id: MessageId, at: number): WaitingMessage | undefined {
    const entry = this.waiting.get(id);
    if (entry === undefined || entry.deliverAnywayAt !== at) return undefined;
    this.remove(id, entry);
    for (const key of entry.deps) {
      const set = this.waiters.get(key);
      if (set === undefined) continue;
      set.delete(id);
      if (set.size === 0) this.waiters.delete(key);
    }
    return entry;
  }

  isLive(id: MessageId, at: number): boolean {
    return this.waiting.get(id)?.deliverAnywayAt === at;
  }

  private remove(id: MessageId, entry: WaitingMessage): void {
    this.waiting.delete(id);
    const m = entry.message;
    if (m.sequence === undefined) return;
    const sender = m.senderId as SenderId;
    this.bySeq.delete(seqKey(sender, m.sequence));
    const left = this.waitingFrom(sender) - 1;
    if (left > 0) this.countBySender.set(sender, left);
    else this.countBySender.delete(sender);
  }

  toJSON(): { bytes: string; receivedAt: number }[] {
    return [...this.waiting.values()].map((p) => ({ bytes: bytesToHex(p.bytes), receivedAt: p.receivedAt }));
  }
}
