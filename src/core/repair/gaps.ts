import type { HistoryEntry, ReceivedUpTo, SequenceRange, WireMessage } from "../../wire/index.js";
import { BoundedMap } from "../bounded.js";
import type { CausalBuffer } from "../causal-buffer.js";
import type { TimerHeap } from "../heap.js";
import { type MessageId, markPrefixHex, type SenderId, senderPrefixHex } from "../ids.js";
import { type DependencyKey, idKey, seqKey } from "../keys.js";
import type { MemberDirectory } from "../members.js";
import type { MessageCache } from "../message-cache.js";
import { mutated, type Params } from "../params.js";
import type { SenderState, SenderTable } from "../senders.js";
import type { StepBuilder } from "../step.js";
import type { GapSource, MessageRef } from "../types.js";
import { packRequests, selectDue } from "./requests.js";

/** Requests a member must have sent for a message before it gives the message up (see `expire`). */
const MIN_ATTEMPTS_BEFORE_LOSS = 3;
/** ... unless this many dependency timeouts have passed since the gap was detected. */
const LOSS_DEADLINE_FACTOR = 5;

/**
 * The key prefixes (hex) of a summary's marks, worked out once per decoded message that many engines receive: a
 * simulator hands one decoded message to every member, and each read its marks (~5 % of a 1,000-member run's CPU).
 */
const sharedPrefixes = new WeakMap<readonly ReceivedUpTo[], readonly string[]>();

function prefixesOf(marks: readonly ReceivedUpTo[]): readonly string[] {
  let prefixes = sharedPrefixes.get(marks);
  if (prefixes === undefined) {
    prefixes = marks.map(markPrefixHex);
    sharedPrefixes.set(marks, prefixes);
  }
  return prefixes;
}

const NO_REQUESTS = Object.freeze({ ids: Object.freeze([]), ranges: Object.freeze([]) });

/** A message known to exist and not here. */
export interface MissingEntry {
  readonly key: DependencyKey;
  readonly ref: MessageRef;
  readonly detectedAt: number;
  /** When it is given up on (the "lost" timer). */
  giveUpAt: number;
  /** When a request for it is next due (the "request" timer). */
  requestAt: number;
  attempts: number;
  retrievalHint: Uint8Array | undefined;
  /** Someone else asked for it: our request waits, and does not ride on our other messages either. */
  suppressed?: boolean;
  /** A request for it fell due while the control budget was spent. */
  starved?: boolean;
  /** The app holds it back until then (the rest of a segment set may make it unneeded): not fetched before. */
  heldUntil?: number;
}

export interface MissingJson {
  key: string;
  ref: { messageId?: string; senderId?: string; sequence?: number };
  detectedAt: number;
  lostAt: number;
  requestAt: number;
  attempts: number;
}

/**
 * Gap detection and the missing set: what is missing, since when, when to ask for it and when to give it up.
 * Gaps open from a sender's sequence numbers, from causal histories, and from other members' marks.
 */
export class GapTracker {
  private readonly missing = new Map<DependencyKey, MissingEntry>();
  /** Marks naming senders not heard from yet, by key prefix (hex): a gap opens once the sender turns up. */
  private readonly strayMarks = new BoundedMap<string, { sequence: number; lamport: bigint }>(1024);
  /** Added to every new request's delay while gaps are fetched from the owner first. */
  private deferral = 0;

  constructor(
    private readonly params: Params,
    private readonly timers: TimerHeap,
    private readonly members: MemberDirectory,
    private readonly senders: SenderTable,
    private readonly buffer: CausalBuffer,
  ) {}

  get size(): number {
    return this.missing.size;
  }

  has(key: DependencyKey): boolean {
    return this.missing.has(key);
  }

  refs(): MessageRef[] {
    return [...this.missing.values()].map((m) => m.ref);
  }

  markMissing(
    key: DependencyKey,
    ref: MessageRef,
    now: number,
    source: GapSource,
    hint: Uint8Array | undefined,
    step: StepBuilder,
  ): boolean {
    if (this.missing.has(key)) return true;
    if (this.missing.size >= this.params.maxMissing) return false;
    const entry: MissingEntry = {
      key,
      ref,
      detectedAt: now,
      giveUpAt: now + this.params.dependencyTimeoutMs,
      requestAt:
        now +
        this.members.suppressionDelay(this.params.repairRequestDelayMs, { use: "request-delay", ref }) +
        this.deferral,
      attempts: 0,
      retrievalHint: hint,
    };
    this.missing.set(key, entry);
    this.timers.push({ at: entry.requestAt, kind: "request", key });
    this.timers.push({ at: entry.giveUpAt, kind: "lost", key });
    step.events.push({ type: "missing", ref, source });
    return true;
  }

  /** Registers missing sequence numbers of `state` up to and including `upTo`. */
  openSequenceGap(state: SenderState, upTo: number, now: number, source: GapSource, step: StepBuilder): void {
    const from = source === "ack-mark" ? Math.max(state.contiguous, state.dismissedClaimsUpTo) : state.contiguous;
    const last = Math.min(upTo, from + this.params.maxGapPerDetection);
    if (source !== "ack-mark") this.senders.raiseHighest(state, last);
    for (let seq = from + 1; seq <= last; seq++) {
      if (state.above.has(seq) || this.buffer.hasSequence(state.id, seq)) continue;
      // A full missing set refuses every later number too: stop, so that a mark costs no more than the set holds.
      if (!this.markMissing(seqKey(state.id, seq), { senderId: state.id, sequence: seq }, now, source, undefined, step))
        break;
    }
  }

  /** Sync messages are not logged, but their causal history can reveal what we miss. */
  openFromHistory(history: readonly HistoryEntry[], cache: MessageCache, now: number, step: StepBuilder): void {
    if (mutated(this.params, "sync-history-gaps")) return;
    for (const entry of history) {
      const id = entry.messageId as MessageId;
      if (!cache.isOpen(id) || this.buffer.has(id)) continue;
      this.markMissing(idKey(id), { messageId: id }, now, "causal-history", entry.retrievalHint, step);
    }
  }

  /**
   * Marks of other senders tell us how far they have got: anything beyond our own progress is missing. `shared`:
   * other engines read this same decoded message.
   */
  readMarks(message: WireMessage, ownPrefix: string, now: number, step: StepBuilder, shared = false): void {
    const marks = message.ack?.marks;
    if (marks === undefined || marks.length === 0 || mutated(this.params, "mark-gaps")) return;
    const prefixes = shared ? prefixesOf(marks) : undefined;
    const lamport = message.lamportTimestamp ?? 0n;
    for (let i = 0; i < marks.length; i++) {
      const mark = marks[i]!;
      const prefix = prefixes === undefined ? markPrefixHex(mark) : prefixes[i]!;
      if (prefix === ownPrefix) continue;
      const known = this.members.stateOrIdByPrefix(prefix);
      if (typeof known === "object") {
        this.gapFromState(known, mark.sequence, now, step);
        continue;
      }
      if (known !== undefined) {
        this.gapFromMark(known, mark.sequence, lamport, now, step, prefix);
        continue;
      }
      // Messages of a sender known only by key prefix cannot be asked for: keep the claim until it turns up.
      const stray = this.strayMarks.get(prefix);
      if (stray === undefined || stray.sequence < mark.sequence)
        this.strayMarks.set(prefix, { sequence: mark.sequence, lamport });
    }
  }

  /** `sender` was heard from: a claim kept for it while it was known only by key prefix opens its gap now. */
  resolveStrayMarks(sender: SenderId, now: number, step: StepBuilder): void {
    if (this.strayMarks.size === 0 || mutated(this.params, "stray-marks")) return;
    const prefix = senderPrefixHex(sender);
    const stray = this.strayMarks.get(prefix);
    if (stray === undefined) return;
    this.strayMarks.delete(prefix);
    this.gapFromMark(sender, stray.sequence, stray.lamport, now, step);
  }

  /** `prefix`: the mark's, by which the member directory keeps the state for the next mark. */
  private gapFromMark(
    sender: SenderId,
    sequence: number,
    lamport: bigint,
    now: number,
    step: StepBuilder,
    prefix?: string,
  ): void {
    // None of its content reached us, only a mark: that is the first contact.
    const state = this.senders.get(sender) ?? this.senders.firstContactFromMark(sender, sequence, lamport);
    if (state === undefined) return;
    if (prefix !== undefined) this.members.keepState(prefix, state);
    this.gapFromState(state, sequence, now, step);
  }

  private gapFromState(state: SenderState, sequence: number, now: number, step: StepBuilder): void {
    if (sequence > Math.max(state.contiguous, state.dismissedClaimsUpTo))
      this.openSequenceGap(state, sequence, now, "ack-mark", step);
  }

  /** While the owner path is up, requests on the topic wait `ms` longer: the owner is asked first. */
  deferRequests(ms: number): void {
    this.deferral = ms;
  }

  /** The owner lacks these: ask on the topic now (after the usual suppression delay). */
  askTopic(key: DependencyKey, now: number): void {
    const entry = this.missing.get(key);
    if (entry === undefined) return;
    const at =
      now + this.members.suppressionDelay(this.params.repairRequestDelayMs, { use: "request-delay", ref: entry.ref });
    if (at >= entry.requestAt) return;
    entry.requestAt = at;
    this.timers.push({ at, kind: "request", key });
  }

  /** Another member asked for what we miss: wait for the answer instead of asking too. */
  suppress(key: DependencyKey, now: number): void {
    const entry = this.missing.get(key);
    if (entry === undefined || mutated(this.params, "request-suppression")) return;
    const later = now + this.params.repairRetryMs;
    entry.suppressed = true;
    if (entry.requestAt < later) {
      entry.requestAt = later;
      this.timers.push({ at: later, kind: "request", key });
    }
  }

  /**
   * Asks for `key` no earlier than `until`, and lets no message carry the request before then. While the owner
   * is asked first, it is fetched from the owner at `until` and the topic hears of it only the grace later.
   */
  hold(key: DependencyKey, until: number): void {
    const entry = this.missing.get(key);
    if (entry === undefined) return;
    entry.suppressed = true;
    entry.heldUntil = until;
    const topicAt = until + this.deferral;
    if (entry.requestAt < topicAt) {
      entry.requestAt = topicAt;
      this.timers.push({ at: topicAt, kind: "request", key });
    }
  }

  /**
   * What to fetch from the owner at `now`: every missing message but those held back (`hold`), and when the
   * earliest hold ends (undefined when none is held), since nothing else tells the runtime to fetch then.
   */
  fetchable(now: number): { refs: MessageRef[]; heldUntil: number | undefined } {
    const refs: MessageRef[] = [];
    let heldUntil: number | undefined;
    for (const entry of this.missing.values()) {
      const until = entry.heldUntil;
      if (until === undefined || until <= now) refs.push(entry.ref);
      else if (heldUntil === undefined || until < heldUntil) heldUntil = until;
    }
    return { refs, heldUntil };
  }

  /** A message arrived: it is no longer missing. Returns its entry when it was (by id first, then by sequence). */
  arrived(id: string, sender: string, seq: number | undefined): MissingEntry | undefined {
    if (this.missing.size === 0) return undefined;
    const byId = idKey(id);
    const bySeq = seq === undefined ? undefined : seqKey(sender, seq);
    const entry = this.missing.get(byId) ?? (bySeq === undefined ? undefined : this.missing.get(bySeq));
    this.missing.delete(byId);
    if (bySeq !== undefined) this.missing.delete(bySeq);
    return entry;
  }

  /** Removes and returns the missing entry of `key`, if any (the application needs it no more). */
  take(key: DependencyKey): MissingEntry | undefined {
    const entry = this.missing.get(key);
    this.missing.delete(key);
    return entry;
  }

  /** A dependency was met (delivered, or given up on). */
  resolve(key: DependencyKey): void {
    this.missing.delete(key);
  }

  requestDue(key: DependencyKey, at: number): boolean {
    return this.missing.get(key)?.requestAt === at;
  }

  hasDue(now: number): boolean {
    for (const entry of this.missing.values()) if (entry.requestAt <= now) return true;
    return false;
  }

  /** The control budget is spent: requests due now could not go out. */
  markStarved(now: number): void {
    for (const entry of this.missing.values()) if (entry.requestAt <= now) entry.starved = true;
  }

  /**
   * The "lost" timer of `key` fired at `at`. Returns the entry, removed, when it is given up on now. Not asked
   * for often enough because the control budget ran out, a message its own sender has shown to exist (a later
   * sequence number) is given up only after MIN_ATTEMPTS_BEFORE_LOSS requests, or at LOSS_DEADLINE_FACTOR × the
   * timeout. Ids named in histories may be made up, and a missing set more than half full is under pressure:
   * no extension then, so that a flood cannot hold the missing set longer.
   */
  expire(key: DependencyKey, at: number, now: number, budgetReopensAt: number): MissingEntry | undefined {
    const entry = this.missing.get(key);
    if (entry === undefined || entry.giveUpAt !== at || mutated(this.params, "declare-loss")) return undefined;
    const cap = entry.detectedAt + LOSS_DEADLINE_FACTOR * this.params.dependencyTimeoutMs;
    if (
      entry.starved === true &&
      entry.attempts < MIN_ATTEMPTS_BEFORE_LOSS &&
      now < cap &&
      this.missing.size <= this.params.maxMissing / 2 &&
      this.proven(entry)
    ) {
      // Look again once the budget has room (or a retry later), not before.
      entry.giveUpAt = Math.min(cap, Math.max(now + this.params.repairRetryMs * 2, budgetReopensAt));
      this.timers.push({ at: entry.giveUpAt, kind: "lost", key });
      return undefined;
    }
    this.missing.delete(key);
    return entry;
  }

  /** A missing (sender, sequence) at or below what the sender itself has shown: it exists. */
  private proven(entry: MissingEntry): boolean {
    const { senderId, sequence } = entry.ref;
    if (senderId === undefined || sequence === undefined) return false;
    const state = this.senders.get(senderId);
    return state !== undefined && sequence <= state.highest;
  }

  /**
   * Collects the repair requests that are due and fit in `room` encoded bytes, marking them as asked.
   * Due requests that do not fit wait for the next message (their timer is re-armed, not counted as an attempt).
   */
  collect(
    now: number,
    room: number,
  ): { readonly ids: readonly HistoryEntry[]; readonly ranges: readonly SequenceRange[] } {
    // Nothing missing (most sends): no scan, no allocation.
    if (this.missing.size === 0) return NO_REQUESTS;
    const p = this.params;
    // While gaps are fetched from the owner first, a request rides on a message only once it is due.
    const due = selectDue(this.missing.values(), now, p, this.deferral === 0 && !mutated(p, "piggyback"));
    const { ids, ranges, asked } = packRequests(due, room, p);
    for (const entry of asked) {
      entry.attempts++;
      // Back off once, then retry at a steady pace: a message still missing at the dependency timeout is lost
      // for good, so four doubling waits (75 s) would leave a 120 s timeout room for five attempts only.
      entry.requestAt = now + p.repairRetryMs * (entry.attempts > 1 && !mutated(p, "retry-backoff") ? 2 : 1);
      this.timers.push({ at: entry.requestAt, kind: "request", key: entry.key });
    }
    const askedSet = new Set(asked);
    for (const entries of [due.ids, ...due.bySender.values()]) {
      for (const entry of entries) {
        if (askedSet.has(entry) || entry.requestAt > now) continue;
        entry.requestAt = now + p.repairRetryMs;
        this.timers.push({ at: entry.requestAt, kind: "request", key: entry.key });
      }
    }
    return { ids, ranges };
  }

  isLive(kind: "request" | "lost", key: DependencyKey, at: number): boolean {
    const entry = this.missing.get(key);
    return kind === "request" ? entry?.requestAt === at : entry?.giveUpAt === at;
  }

  toJSON(): MissingJson[] {
    return [...this.missing.values()].map((m) => ({
      key: m.key,
      ref: { ...m.ref },
      detectedAt: m.detectedAt,
      lostAt: m.giveUpAt,
      requestAt: m.requestAt,
      attempts: m.attempts,
    }));
  }

  restore(missing: readonly MissingJson[]): void {
    for (const m of missing) {
      const ref: MessageRef = {
        ...(m.ref.messageId === undefined ? {} : { messageId: m.ref.messageId as MessageId }),
        ...(m.ref.senderId === undefined ? {} : { senderId: m.ref.senderId as SenderId }),
        ...(m.ref.sequence === undefined ? {} : { sequence: m.ref.sequence }),
      };
      this.missing.set(m.key, {
        key: m.key,
        ref,
        detectedAt: m.detectedAt,
        giveUpAt: m.lostAt,
        requestAt: m.requestAt,
        attempts: m.attempts,
        retrievalHint: undefined,
      });
      this.timers.push({ at: m.requestAt, kind: "request", key: m.key });
      this.timers.push({ at: m.lostAt, kind: "lost", key: m.key });
    }
  }
}
