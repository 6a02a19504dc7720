import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { type DecodeLimits, decodeMessage, type WireMessage } from "../../wire/index.js";
import {
  filterHasBytes,
  filterHasKeyed,
  hexIdBytes,
  type SummaryKey,
  summaryFillRatio,
  summaryKey,
} from "../ack-filter.js";
import { BoundedMap } from "../bounded.js";
import type { TimerHeap } from "../heap.js";
import type { MessageId, SenderId } from "../ids.js";
import type { MemberDirectory } from "../members.js";
import { fromHex } from "../message-cache.js";
import { mutated, type Params } from "../params.js";
import { lazyOutgoing } from "../repair/responder.js";
import type { StepBuilder } from "../step.js";
import type { MessageStatus, OwnState } from "../types.js";

interface OwnEntry {
  readonly messageId: MessageId;
  /** The id's 16 bytes (`hexIdBytes`), which every filter check hashes; undefined for an id not in hex form. */
  readonly idBytes: Uint8Array | undefined;
  readonly sequence: number;
  readonly bytes: Uint8Array;
  readonly lamportTimestamp: bigint;
  readonly sentAt: number;
  resendAt: number;
  resends: number;
  /** A member that evidently is online showed it lacks this message: resend even though others have it. */
  lacking: boolean;
  /** When a send queue let it go (as a lamport-comparable time), if it held it: nobody could hear it before. */
  leftAt: bigint;
  /** Who confirmed it; `NOBODY` (shared, never written) until someone does. */
  ackedBy: ReadonlySet<SenderId>;
  /** First filter hit per member, by summary nonce; a second hit with another nonce confirms. `NO_HITS` until one. */
  possibly: ReadonlyMap<SenderId, bigint>;
}

// Most own messages are tracked for a while before anyone confirms them, and many are confirmed by marks alone:
// their entries start with these shared empty collections instead of a Set and a Map each.
const NOBODY: ReadonlySet<SenderId> = new Set();
const NO_HITS: ReadonlyMap<SenderId, bigint> = new Map();
/** Slots of `OwnReceipts.recent`: twice the default ackFilterCheckDepth. */
const RECENT_SLOTS = 64;

export interface OwnJson {
  bytes: string;
  sentAt: number;
  resendAt: number;
  resends: number;
  ackedBy: string[];
  possibly: [string, string][];
}

/**
 * Receipts for our own messages: who confirmed each (a mark, a causal-history reference, or two filter hits
 * under different nonces), and resends when nobody did or an online member evidently lacks one.
 */
export class OwnReceipts {
  private readonly own: BoundedMap<MessageId, OwnEntry>;
  /** Tracked entries by sequence: a summary is checked against the newest 32, one look-up each. */
  private readonly bySeq = new Map<number, OwnEntry>();
  /**
   * The entries `bySeq` holds, direct-mapped by sequence (slot `seq % RECENT_SLOTS`, the last tracked there): every
   * summary read checks our newest ackFilterCheckDepth messages, consecutive numbers found here by an array read.
   */
  private readonly recent: (OwnEntry | undefined)[] = new Array(RECENT_SLOTS).fill(undefined);
  /** Highest own sequence number each member has confirmed through a received-up-to mark. */
  private readonly confirmedUpTo = new Map<SenderId, number>();
  private readonly halfResend: bigint;
  /** `ownPrefix` as bytes: a mark names us when its prefix bytes are these (no hex made per mark read). */
  private readonly ownPrefixBytes: Uint8Array;

  constructor(
    private readonly params: Params,
    private readonly salt: Uint8Array,
    ownPrefix: string,
    private readonly timers: TimerHeap,
    private readonly members: MemberDirectory,
    /** N for "k of N" when the channel has a roster (its size minus us); members heard from otherwise. */
    private readonly roster: { denominator(): number | undefined },
  ) {
    this.halfResend = BigInt(Math.floor(params.resendAfterMs / 2));
    this.ownPrefixBytes = hexToBytes(ownPrefix);
    this.own = new BoundedMap(params.maxTrackedOwn, (id, entry) => {
      if (this.bySeq.get(entry.sequence)?.messageId === id) this.bySeq.delete(entry.sequence);
      if (this.recent[entry.sequence % RECENT_SLOTS] === entry) this.recent[entry.sequence % RECENT_SLOTS] = undefined;
    });
  }

  get size(): number {
    return this.own.size;
  }

  /** Starts tracking a message we sent; its first resend is due at `resendAt` unless someone confirms it. */
  track(message: WireMessage, bytes: Uint8Array, sentAt: number, resendAt: number): void {
    const messageId = message.messageId as MessageId;
    const sequence = message.sequence ?? 0;
    const entry: OwnEntry = {
      messageId,
      idBytes: idBytesOf(messageId),
      sequence,
      bytes,
      lamportTimestamp: message.lamportTimestamp ?? 0n,
      sentAt,
      resendAt,
      resends: 0,
      lacking: false,
      leftAt: 0n,
      ackedBy: NOBODY,
      possibly: NO_HITS,
    };
    this.own.set(messageId, entry);
    this.index(entry);
    if (this.params.maxResends > 0 && !mutated(this.params, "resend")) {
      this.timers.push({ at: resendAt, kind: "resend", key: messageId });
    }
  }

  /**
   * Our message `id` was held in a send queue and left only at `now`: nobody could hear it before, and the resends
   * due meanwhile were dropped by the queue (they would have gone before it). Its resends count from now.
   */
  published(id: MessageId, now: number): void {
    const own = this.own.get(id);
    if (own === undefined) return;
    // The lacking rule (section 7.4 step 4) also counts from now: a summary written before it arrived says nothing.
    own.leftAt = BigInt(Math.floor(now));
    if (this.params.maxResends === 0 || mutated(this.params, "resend")) return;
    own.resends = 0;
    own.resendAt = now + this.params.resendAfterMs;
    this.timers.push({ at: own.resendAt, kind: "resend", key: id });
  }

  /** An evicted member's confirmations are forgotten with it. */
  forgetMember(id: SenderId): void {
    this.confirmedUpTo.delete(id);
  }

  /** What the author of `message` tells us about our own messages: causal history, marks, filter. */
  read(message: WireMessage, by: SenderId, ownSequence: number, now: number, step: StepBuilder): void {
    const p = this.params;
    for (const entry of mutated(p, "causal-confirm") ? [] : message.causalHistory) {
      const own = this.own.get(entry.messageId as MessageId);
      if (own !== undefined) this.confirm(own, by, step);
    }
    const ack = message.ack;
    if (ack === undefined) return;
    let confirmedUpTo = this.confirmedUpTo.get(by) ?? 0;
    let markedMe = false;
    for (const mark of ack.marks) {
      if (!this.namesUs(mark.senderPrefix)) continue;
      markedMe = true;
      // A mark beyond what we sent is a lie; cap it rather than trust it.
      const upTo = Math.min(mark.sequence, ownSequence);
      if (upTo > confirmedUpTo && !mutated(p, "mark-confirm")) {
        this.confirmRange(by, Math.max(confirmedUpTo, (mark.first ?? 1) - 1), upTo, step);
        confirmedUpTo = upTo;
        this.confirmedUpTo.set(by, upTo);
      }
    }
    const readFilter = ack.filter.length > 0 && !mutated(p, "filter-confirm");
    if (readFilter && (mutated(p, "fill-ratio") || summaryFillRatio(ack) <= p.ackMaxFillRatio)) {
      // Not from confirmedUpTo: a mark that starts after a gap (`first`, the member gave up on or forwent
      // what is below it) confirms nothing under `first`, and what the member holds there only filters tell.
      const lowest = Math.max(0, ownSequence - this.params.ackFilterCheckDepth);
      // Its author's clock passed a message's timestamp when it delivered it: a summary stamped no later
      // says nothing about the message. Otherwise replayed old summaries, each with its own nonce, would
      // add up to two false hits.
      const writtenAt = message.lamportTimestamp ?? 0n;
      let key: SummaryKey | undefined;
      for (let seq = ownSequence; seq > lowest; seq--) {
        const own = this.at(seq);
        if (own === undefined || own.ackedBy.has(by)) continue;
        if (own.lamportTimestamp >= writtenAt && !mutated(p, "filter-lamport-guard")) continue;
        key ??= summaryKey(this.salt, ack.nonce);
        const hit =
          own.idBytes === undefined
            ? filterHasKeyed(key, ack.filter, ack.hashCount, own.messageId)
            : filterHasBytes(key, ack.filter, ack.hashCount, own.idBytes, 0);
        if (!hit) continue;
        const earlier = own.possibly.get(by);
        if (earlier === undefined && !mutated(p, "filter-one-hit")) possiblyOf(own).set(by, ack.nonce);
        else if (earlier !== ack.nonce) this.confirm(own, by, step);
      }
    }
    if (markedMe && !mutated(p, "lacking"))
      this.noteLacking(by, confirmedUpTo, message.lamportTimestamp ?? 0n, ownSequence, now);
  }

  /** The same as `markPrefixHex(mark) === ownPrefix`, from the bytes. */
  private namesUs(prefix: Uint8Array): boolean {
    const own = this.ownPrefixBytes;
    if (prefix.length !== own.length) return false;
    for (let i = 0; i < own.length; i++) if (prefix[i] !== own[i]) return false;
    return true;
  }

  private index(entry: OwnEntry): void {
    this.bySeq.set(entry.sequence, entry);
    this.recent[entry.sequence % RECENT_SLOTS] = entry;
  }

  private at(seq: number): OwnEntry | undefined {
    const recent = this.recent[seq % RECENT_SLOTS];
    return recent !== undefined && recent.sequence === seq ? recent : this.bySeq.get(seq);
  }

  /**
   * `by` wrote a summary well after our newest messages went out, and its mark for us stops short of them:
   * it is online and lacks them. Nobody else may ever tell it (the tail of a quiet channel), so we resend.
   */
  private noteLacking(by: SenderId, markedUpTo: number, writtenAt: bigint, ownSequence: number, now: number): void {
    const p = this.params;
    const lowest = Math.max(markedUpTo, ownSequence - p.ackFilterCheckDepth);
    // Written this long after a message went out, a summary should cover it.
    const settled = writtenAt - this.halfResend;
    for (let seq = ownSequence; seq > lowest; seq--) {
      const own = this.at(seq);
      if (own === undefined || own.ackedBy.has(by) || own.possibly.has(by)) continue;
      const since = own.leftAt > own.lamportTimestamp ? own.leftAt : own.lamportTimestamp;
      if (own.resends >= p.maxResends || since > settled) continue;
      const at =
        now + this.members.suppressionDelay(p.repairResponseDelayMs, { use: "resend-delay", messageId: own.messageId });
      own.lacking = true;
      if (at < own.resendAt) {
        own.resendAt = at;
        this.timers.push({ at, kind: "resend", key: own.messageId });
      }
    }
  }

  private confirmRange(by: SenderId, from: number, to: number, step: StepBuilder): void {
    if (to - from > this.own.size) {
      for (const own of this.own.values()) if (own.sequence > from && own.sequence <= to) this.confirm(own, by, step);
      return;
    }
    for (let seq = from + 1; seq <= to; seq++) {
      const own = this.at(seq);
      if (own !== undefined) this.confirm(own, by, step);
    }
  }

  private confirm(own: OwnEntry, by: SenderId, step: StepBuilder): void {
    if (own.ackedBy.has(by)) return;
    ackedByOf(own).add(by);
    if (own.possibly.has(by)) possiblyOf(own).delete(by);
    step.events.push({
      type: "acknowledged",
      messageId: own.messageId,
      by,
      count: own.ackedBy.size,
      members: this.denominator(),
    });
  }

  private denominator(): number {
    return this.roster.denominator() ?? this.members.size;
  }

  /** The owner says who holds our message `seq`. */
  confirmFromOwner(seq: number, holders: readonly SenderId[], step: StepBuilder): void {
    const own = this.at(seq);
    if (own === undefined) return;
    for (const by of holders) this.confirm(own, by, step);
  }

  /** The "resend" timer of `id` fired at `at`: publish it again if nobody confirmed it, or a member lacks it. */
  fireResend(id: MessageId, at: number, now: number, step: StepBuilder): void {
    const own = this.own.get(id);
    if (own === undefined || own.resendAt !== at) return;
    const p = this.params;
    const unheard = own.ackedBy.size === 0 && own.possibly.size === 0;
    // One filter hit from every member that did not confirm it: they likely hold it, but that summary may have been
    // their last (a quiet channel). The copy owes each a sync (section 13), whose fresh nonce confirms or clears it.
    const vouched = own.possibly.size > 0 && own.ackedBy.size + own.possibly.size >= this.denominator();
    const onlyPossibly = vouched && !mutated(p, "resend-possibly");
    if (!(unheard || onlyPossibly || own.lacking) || own.resends >= p.maxResends) {
      own.resendAt = Number.POSITIVE_INFINITY;
      return;
    }
    own.lacking = false;
    own.resends++;
    // After the last resend nothing is scheduled; Infinity says so (a finite time would come back as a timer on restore).
    own.resendAt =
      own.resends < p.maxResends ? now + p.resendAfterMs * p.resendBackoff ** own.resends : Number.POSITIVE_INFINITY;
    if (Number.isFinite(own.resendAt)) this.timers.push({ at: own.resendAt, kind: "resend", key: id });
    step.outgoing.push(lazyOutgoing(own.bytes, id, "resend"));
  }

  isLive(id: MessageId, at: number): boolean {
    return this.own.get(id)?.resendAt === at;
  }

  /** Receipts of one of our messages ("acknowledged by k of N known members"), or undefined if not ours. */
  status(id: MessageId): MessageStatus | undefined {
    const own = this.own.get(id);
    if (own === undefined) return undefined;
    const members = this.denominator();
    const count = own.ackedBy.size;
    const quorum = Math.max(1, Math.ceil(this.params.ackQuorum * members));
    const state: OwnState =
      count >= quorum ? "acknowledged" : own.possibly.size > 0 || count > 0 ? "possibly-acknowledged" : "pending";
    return {
      messageId: id,
      own: true,
      state,
      sequence: own.sequence,
      resends: own.resends,
      receipts: {
        count,
        members,
        ratio: members === 0 ? 0 : count / members,
        ackedBy: [...own.ackedBy],
        possiblyBy: [...own.possibly.keys()],
      },
    };
  }

  confirmedJson(): [string, number][] {
    return [...this.confirmedUpTo.entries()];
  }

  toJSON(): OwnJson[] {
    return [...this.own.values()].map((o) => ({
      bytes: bytesToHex(o.bytes),
      sentAt: o.sentAt,
      resendAt: o.resendAt,
      resends: o.resends,
      ackedBy: [...o.ackedBy],
      possibly: [...o.possibly.entries()].map(([k, v]) => [k, v.toString()] as [string, string]),
    }));
  }

  restore(confirmed: readonly [string, number][], own: readonly OwnJson[], limits: DecodeLimits | undefined): void {
    for (const [id, seq] of confirmed) this.confirmedUpTo.set(id as SenderId, seq);
    for (const o of own) {
      const bytes = fromHex(o.bytes);
      const m = decodeMessage(bytes, limits);
      const entry: OwnEntry = {
        messageId: m.messageId as MessageId,
        idBytes: idBytesOf(m.messageId),
        sequence: m.sequence ?? 0,
        bytes,
        lamportTimestamp: m.lamportTimestamp ?? 0n,
        sentAt: o.sentAt,
        resendAt: o.resendAt ?? Number.POSITIVE_INFINITY,
        resends: o.resends,
        lacking: false,
        leftAt: 0n,
        ackedBy: new Set(o.ackedBy as SenderId[]),
        possibly: new Map(o.possibly.map(([k, v]) => [k as SenderId, BigInt(v)])),
      };
      this.own.set(entry.messageId, entry);
      this.index(entry);
      if (Number.isFinite(entry.resendAt))
        this.timers.push({ at: entry.resendAt, kind: "resend", key: entry.messageId });
    }
  }
}

function idBytesOf(id: string): Uint8Array | undefined {
  const bytes = new Uint8Array(16);
  return hexIdBytes(id, bytes) ? bytes : undefined;
}

/** The entry's own set of confirming members, made on the first confirmation. */
function ackedByOf(own: OwnEntry): Set<SenderId> {
  if (own.ackedBy === NOBODY) own.ackedBy = new Set();
  return own.ackedBy as Set<SenderId>;
}

function possiblyOf(own: OwnEntry): Map<SenderId, bigint> {
  if (own.possibly === NO_HITS) own.possibly = new Map();
  return own.possibly as Map<SenderId, bigint>;
}
