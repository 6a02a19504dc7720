// Equivocation: one sender signing two different content messages with the same sequence number (a bug, two
// processes on one identity, or malice). The rule (spec section 9.6) is that every validly signed version is
// part of the log, each delivered once like any message, and that a member which finds a second version
// publishes both once and names them in what it sends for a while (a notice, equivocation-notice.ts), so that
// every member ends up holding every version. The log is ordered by (lamport, message id), so the logs converge
// whatever order the versions arrived in, without ever taking a delivered message back. This part recognises
// versions, keeps the record and its notices, and builds the publications.
import { decodeMessage, type WireMessage } from "../wire/index.js";
import { BoundedMap } from "./bounded.js";
import { NOTICE_MS, NoticeBoard } from "./equivocation-notice.js";

export { MAX_NAMED } from "./equivocation-notice.js";

import type { MessageId, SenderId } from "./ids.js";
import { seqKey } from "./keys.js";
import type { MessageCache } from "./message-cache.js";
import { mutated, type Params } from "./params.js";
import type { SenderTable } from "./senders.js";
import type { StepBuilder } from "./step.js";
import type { Equivocation } from "./types.js";

/** Another version of (sender, sequence) that the caller holds beyond the repair cache (a node's store). */
export type OtherVersionLookup = (
  senderId: string,
  sequence: number,
  messageId: string,
) => { readonly messageId: string; readonly bytes: Uint8Array } | undefined;

/** Slots (sender, sequence) remembered; older ones are forgotten first. Equivocations are rare: this is plenty. */
const MAX_SLOTS = 1_024;
/** Versions recorded per slot: beyond it a version is still delivered, but no longer announced. */
const MAX_VERSIONS = 8;

interface Slot {
  readonly senderId: SenderId;
  readonly sequence: number;
  readonly messageIds: MessageId[];
  readonly detectedAt: number;
}

export interface EquivocationJson {
  readonly senderId: string;
  readonly sequence: number;
  readonly messageIds: readonly string[];
  readonly detectedAt: number;
  /** When this member's notice of the pair ends; present only while it has one. */
  readonly noticeUntil?: number;
}

export class EquivocationLog {
  private readonly slots: BoundedMap<string, Slot>;
  private readonly byId = new Map<MessageId, string>();
  private readonly notices = new NoticeBoard();

  constructor(
    private readonly params: Params,
    private readonly cache: MessageCache,
    private readonly senders: SenderTable,
    private readonly lookup: OtherVersionLookup | undefined,
  ) {
    this.slots = new BoundedMap(MAX_SLOTS, (key, slot) => {
      for (const id of slot.messageIds) this.byId.delete(id);
      this.notices.drop(key);
    });
  }

  /** Ids this member's running notices announce at `now`: 0 in the normal case, when it owes no notice sync. */
  announced(now: number): number {
    return this.notices.announced(now);
  }

  /** The recorded versions the next message names in its causal history besides its ordinary entries. */
  named(now: number): readonly MessageId[] {
    return this.notices.named(now);
  }

  get size(): number {
    return this.slots.size;
  }

  /**
   * Another version of the message's (sender, sequence) that this member delivered, or undefined. Only asked
   * once the number counts as delivered, so a store lookup happens for old copies and twins, never per message.
   */
  otherVersion(m: WireMessage): { messageId: string; bytes: Uint8Array | undefined } | undefined {
    const seq = m.sequence;
    if (seq === undefined) return undefined;
    const state = this.senders.get(m.senderId as SenderId);
    if (state === undefined || this.senders.delivered(state, seq) === false) return undefined;
    const cached = this.cache.idAt(m.senderId, seq);
    if (cached !== undefined) {
      return cached === m.messageId ? undefined : { messageId: cached, bytes: this.cache.bytesOf(cached) };
    }
    return this.lookup?.(m.senderId, seq, m.messageId);
  }

  /**
   * Called before a content message is delivered: when it is another version of a delivered number, records
   * it, reports it, publishes every version this member holds, once per new version, and starts (or extends)
   * the pair's notice. True when a version was recorded: the caller owes a sync for the notice.
   */
  check(message: WireMessage, bytes: Uint8Array, now: number, step: StepBuilder): boolean {
    const other = this.otherVersion(message);
    if (other === undefined) return false;
    const sender = message.senderId as SenderId;
    const sequence = message.sequence!;
    const key = seqKey(sender, sequence);
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = { senderId: sender, sequence, messageIds: [], detectedAt: now };
      this.slots.set(key, slot);
    }
    const fresh: [MessageId, Uint8Array | undefined, WireMessage | undefined][] = [];
    for (const [id, b, m] of [
      [other.messageId as MessageId, other.bytes, undefined],
      [message.messageId as MessageId, bytes, message],
    ] as const) {
      if (slot.messageIds.includes(id) || slot.messageIds.length >= MAX_VERSIONS) continue;
      slot.messageIds.push(id);
      slot.messageIds.sort();
      this.byId.set(id, key);
      fresh.push([id, b, m]);
    }
    if (fresh.length === 0) return false;
    step.events.push({ type: "equivocation", equivocation: this.view(slot) });
    // The publication below is sent once and may be lost: the notice names the versions until NOTICE_MS later.
    if (!mutated(this.params, "equivocation-notice"))
      this.notices.activate(key, sender, slot.messageIds, now + NOTICE_MS);
    // Members that hold one version never ask for another (the number is delivered): they must be sent it.
    for (const id of slot.messageIds) {
      const b = id === message.messageId ? bytes : id === other.messageId ? other.bytes : this.cache.bytesOf(id);
      if (b === undefined) continue;
      const m = id === message.messageId ? message : decodeMessage(b);
      step.outgoing.push({ bytes: b, message: m, messageId: id, kind: "content", purpose: "equivocation" });
    }
    return true;
  }

  /** The equivocation a message is part of, if this member found one. */
  of(id: string): Equivocation | undefined {
    const key = this.byId.get(id as MessageId);
    const slot = key === undefined ? undefined : this.slots.get(key);
    return slot === undefined ? undefined : this.view(slot);
  }

  /** Every equivocation on record, oldest first. */
  list(): Equivocation[] {
    return [...this.slots.values()].map((s) => this.view(s));
  }

  private view(slot: Slot): Equivocation {
    return {
      senderId: slot.senderId,
      sequence: slot.sequence,
      messageIds: [...slot.messageIds],
      detectedAt: slot.detectedAt,
    };
  }

  toJSON(): EquivocationJson[] {
    return [...this.slots.entries()].map(([key, slot]) => {
      const until = this.notices.untilOf(key);
      return until === undefined ? this.view(slot) : { ...this.view(slot), noticeUntil: until };
    });
  }

  restore(saved: readonly EquivocationJson[] | undefined): void {
    for (const e of saved ?? []) {
      const key = seqKey(e.senderId, e.sequence);
      const slot: Slot = {
        senderId: e.senderId as SenderId,
        sequence: e.sequence,
        messageIds: e.messageIds.slice(0, MAX_VERSIONS) as MessageId[],
        detectedAt: e.detectedAt,
      };
      this.slots.set(key, slot);
      for (const id of slot.messageIds) this.byId.set(id, key);
      if (e.noticeUntil !== undefined) this.notices.activate(key, slot.senderId, slot.messageIds, e.noticeUntil);
    }
  }
}
