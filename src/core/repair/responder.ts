import { decodeMessage, type WireMessage } from "../../wire/index.js";
import { BoundedMap } from "../bounded.js";
import type { CausalBuffer } from "../causal-buffer.js";
import type { TimerHeap } from "../heap.js";
import type { MessageId, SenderId } from "../ids.js";
import { idKey, seqKey } from "../keys.js";
import type { MemberDirectory } from "../members.js";
import type { MessageCache } from "../message-cache.js";
import { mutated, type Params } from "../params.js";
import { RateWindow } from "../rate-window.js";
import type { StepBuilder } from "../step.js";
import type { Outgoing, RandomSource } from "../types.js";
import type { GapTracker } from "./gaps.js";

const MAX_RANGE_LOOKUPS_PER_MESSAGE = 1_024;

/** An outgoing content message whose decoded form is made from its bytes on first use. */
export function lazyOutgoing(bytes: Uint8Array, messageId: MessageId, purpose: "repair-response" | "resend"): Outgoing {
  let message: WireMessage | undefined;
  return {
    bytes,
    messageId,
    kind: "content",
    purpose,
    get message(): WireMessage {
      message ??= decodeMessage(bytes);
      return message;
    },
  };
}

/**
 * Answers other members' repair requests by rebroadcasting what we hold, after a suppression delay (at once for
 * the preferred responder), within the response budget, and not when a fresh copy is already on the wire.
 */
export class Responder {
  /** Answers scheduled: message id -> when. */
  private readonly scheduled = new Map<MessageId, number>();
  /** When each recent message was last seen on the wire (sent, rebroadcast or received). */
  private readonly onWire = new BoundedMap<MessageId, number>(1024);
  /** Repair requests heard for messages we hold, while a preferred responder is online: when, and which round. */
  private readonly requestsHeard = new BoundedMap<MessageId, { at: number; round: number }>(4096);
  private budget = new RateWindow();

  constructor(
    private readonly params: Params,
    private readonly self: SenderId,
    private readonly random: RandomSource,
    private readonly timers: TimerHeap,
    private readonly members: MemberDirectory,
    private readonly cache: MessageCache,
    private readonly buffer: CausalBuffer,
    private readonly gaps: GapTracker,
  ) {}

  get size(): number {
    return this.scheduled.size;
  }

  /** A copy of `id` went by on the wire at `now`. */
  sawOnWire(id: MessageId, now: number): void {
    this.onWire.delete(id);
    this.onWire.set(id, now);
  }

  /** Someone (re)broadcast `id`: a pending answer of ours is no longer needed. */
  cancel(id: MessageId): void {
    if (!mutated(this.params, "answer-cancel")) this.scheduled.delete(id);
  }

  /** `id` left the cache: its request rounds are not worth remembering. */
  forget(id: MessageId): void {
    this.requestsHeard.delete(id);
  }

  /** Requests in `message`: ours for the same messages wait, and what we hold gets an answer scheduled. */
  readRequests(message: WireMessage, now: number, step: StepBuilder): void {
    for (const entry of message.repairRequest) {
      const id = entry.messageId as MessageId;
      this.gaps.suppress(idKey(id), now);
      // Messages still waiting for their dependencies are complete and verified: they can be served too. Without
      // this, one gap of its own stops a responder from answering for everything sent after it.
      if (this.cache.has(id) || this.buffer.has(id)) this.schedule(id, now, step);
    }
    // Look-ups per message are capped: a range may span thousands of sequence numbers.
    let budget = MAX_RANGE_LOOKUPS_PER_MESSAGE;
    for (const range of message.sequenceRepairRequest) {
      for (let seq = range.first; seq <= range.last && budget-- > 0; seq++) {
        this.gaps.suppress(seqKey(range.senderId, seq), now);
        const id = this.cache.idAt(range.senderId, seq) ?? this.buffer.idAt(range.senderId, seq);
        if (id !== undefined) this.schedule(id, now, step);
      }
    }
  }

  private schedule(id: MessageId, now: number, step: StepBuilder): void {
    if (this.scheduled.has(id)) return;
    // A request crossing a fresh copy on the wire (asked by id and by sequence, or by two members) needs no second answer.
    const seenAt = this.onWire.get(id);
    const fresh = seenAt !== undefined && now - seenAt < this.params.repairRetryMs / 2;
    if (fresh && !mutated(this.params, "on-wire")) return;
    if (this.members.isPreferred(this.self) && !mutated(this.params, "preferred-at-once")) {
      this.respond(id, now, step);
      return;
    }
    let delay = this.members.suppressionDelay(this.params.repairResponseDelayMs, {
      use: "response-delay",
      messageId: id,
    });
    if (this.members.preferredOnline(now)) {
      // The preferred responder answers. Among many holders a few always miss its answer and cannot tell that
      // the asker got it: were every holder a backup, one of them would answer again nearly every time. So
      // each holder stands by with probability backupResponders / members, after a head start for the preferred.
      // A request heard again later is a retry (its request or answer was lost): the standby doubles each round.
      if (
        this.random({ use: "stand-by", messageId: id }) * Math.max(1, this.members.size) >=
        this.params.backupResponders * 2 ** this.requestRound(id, now)
      )
        return;
      delay += this.params.preferredResponderGraceMs;
    }
    this.scheduled.set(id, now + delay);
    this.timers.push({ at: now + delay, kind: "response", key: id });
  }

  /** How many times, spaced at least repairRetryMs / 2 apart, a message has been asked for before now (capped). */
  private requestRound(id: MessageId, now: number): number {
    const heard = this.requestsHeard.get(id);
    if (heard === undefined) {
      this.requestsHeard.set(id, { at: now, round: 0 });
      return 0;
    }
    if (now - heard.at >= this.params.repairRetryMs / 2) {
      heard.at = now;
      heard.round = Math.min(heard.round + 1, 16);
    }
    return heard.round;
  }

  /** The "response" timer of `id` fired at `at`. */
  fire(id: MessageId, at: number, now: number, step: StepBuilder): void {
    if (this.scheduled.get(id) === at) this.respond(id, now, step);
  }

  private respond(id: MessageId, now: number, step: StepBuilder): void {
    this.scheduled.delete(id);
    const waiting = this.buffer.entryOf(id);
    const bytes = this.cache.bytesOf(id) ?? waiting?.bytes;
    if (bytes === undefined) return;
    // An owner's larger share comes from its parameters (OWNER_PARAMS), not from being preferred.
    if (!this.budget.take(this.params.responseBudgetPer600s, now)) return;
    this.sawOnWire(id, now);
    // The cache keeps bytes, not decoded messages (memory): a caller that wants the message decodes it once.
    step.outgoing.push(
      waiting === undefined
        ? lazyOutgoing(bytes, id, "repair-response")
        : { bytes, message: waiting.message, messageId: id, kind: "content", purpose: "repair-response" },
    );
  }

  isLive(id: MessageId, at: number): boolean {
    return this.scheduled.get(id) === at;
  }

  budgetJson(): number[] {
    return this.budget.toJSON();
  }

  restoreBudget(sent: readonly number[]): void {
    this.budget = new RateWindow(sent);
  }
}
