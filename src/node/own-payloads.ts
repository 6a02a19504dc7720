// An app channel's own payloads on their way out: which messages carry each one, when all of them were
// handed to the network ("sent"), who holds it ("k of N"; a segmented payload is held once a member
// confirmed as many of its segments as it has data segments), when it reached the app's quorum
// ("delivered"), and when the engine's resends ran out without that ("delivery-error"). Bounded: the
// oldest payloads are forgotten first.
import { type SenderId, SetReceipts } from "../core/index.js";
import type { ChannelEvents } from "./channel-events.js";

interface OwnPayload {
  readonly id: string;
  readonly messageIds: readonly string[];
  readonly segmented: boolean;
  readonly sentAt: number;
  unsent: number;
  failed: boolean;
  delivered: boolean;
}

export interface OwnPayloadsOptions {
  /** Share of N that makes a payload delivered, in [0, 1]; 0: any one member. */
  readonly quorum: number;
  /** How long after sending the engine's resends are spent (with their backoff): then "delivery-error". */
  readonly giveUpAfterMs: number;
  readonly maxTracked: number;
}

/** The members known to hold one of our messages. */
export type HolderLookup = (messageId: string) => readonly SenderId[];

type Emit = <K extends keyof ChannelEvents>(name: K, event: ChannelEvents[K]) => void;

export class OwnPayloads {
  private readonly payloads = new Map<string, OwnPayload>();
  private readonly byMessage = new Map<string, OwnPayload>();
  /** Payloads neither delivered nor failed yet, oldest first: the ones `expire` looks at. */
  private readonly pending = new Map<string, OwnPayload>();
  private readonly sets: SetReceipts;
  /** Whole payloads: the members known to hold each. */
  private readonly holders = new Map<string, Set<SenderId>>();

  constructor(
    private readonly options: OwnPayloadsOptions,
    private readonly emit: Emit,
  ) {
    if (!(options.quorum >= 0 && options.quorum <= 1)) {
      throw new RangeError(`quorum must be a share of members in [0, 1], got ${options.quorum}`);
    }
    this.sets = new SetReceipts(options.maxTracked);
  }

  track(id: string, messageIds: readonly string[], dataCount: number | undefined, now: number): void {
    const payload: OwnPayload = {
      id,
      messageIds,
      segmented: dataCount !== undefined,
      sentAt: now,
      unsent: messageIds.length,
      failed: false,
      delivered: false,
    };
    this.payloads.set(id, payload);
    this.pending.set(id, payload);
    for (const m of messageIds) this.byMessage.set(m, payload);
    if (dataCount !== undefined) this.sets.track(id, messageIds, dataCount);
    else this.holders.set(id, new Set());
    if (this.payloads.size > this.options.maxTracked) this.forget(this.payloads.keys().next().value as string);
  }

  /**
   * A segmented payload of ours sent before a restart (read back from the store): tracked again so that its
   * receipts reach the app. `holders` gives, per message, the members the engine already knows hold it (its
   * snapshot); they count silently, as before the restart. Already sent; a quorum already reached is not
   * announced again, and no "delivery-error" follows for it (its resends ran before the restart).
   */
  restore(
    id: string,
    messageIds: readonly string[],
    dataCount: number,
    sentAt: number,
    holders: HolderLookup,
    members: number,
  ): void {
    if (this.payloads.has(id)) return;
    const payload: OwnPayload = {
      id,
      messageIds,
      segmented: true,
      sentAt,
      unsent: 0,
      failed: false,
      delivered: false,
    };
    this.payloads.set(id, payload);
    for (const m of messageIds) this.byMessage.set(m, payload);
    this.sets.track(id, messageIds, dataCount);
    for (const m of messageIds) for (const by of holders(m)) this.sets.confirm(m, by);
    const held = this.sets.holders(id)?.length ?? 0;
    const of = Math.max(members, held);
    payload.delivered = of > 0 && held >= this.needed(of);
    if (this.payloads.size > this.options.maxTracked) this.forget(this.payloads.keys().next().value as string);
  }

  private needed(of: number): number {
    return this.options.quorum === 0 ? 1 : Math.ceil(this.options.quorum * of);
  }

  /** The transport took one of its messages (true) or refused it (false). Resends are not counted. */
  published(messageId: string, ok: boolean, error?: Error): void {
    const p = this.byMessage.get(messageId);
    if (p === undefined || p.failed || p.unsent === 0) return;
    if (!ok) {
      p.failed = true;
      this.pending.delete(p.id);
      this.emit("send-error", { id: p.id, error: error ?? new Error(`message ${messageId} was not published`) });
      return;
    }
    p.unsent--;
    if (p.unsent === 0) this.emit("sent", { id: p.id, messageIds: p.messageIds });
  }

  /**
   * The engine learnt that `by` holds own message `messageId`, counted against `members`. False when no payload
   * tracked here carries it (one sent before a restart).
   */
  acknowledged(messageId: string, by: SenderId, members: number): boolean {
    const p = this.byMessage.get(messageId);
    if (p === undefined) return false;
    let held: readonly SenderId[];
    if (p.segmented) {
      const progress = this.sets.confirm(messageId, by);
      if (progress === undefined || !progress.newHolder) return true;
      held = (this.sets.holders(p.id) ?? []) as SenderId[];
    } else {
      const set = this.holders.get(p.id);
      if (set === undefined || set.has(by)) return true;
      set.add(by);
      held = [...set];
    }
    const of = Math.max(members, held.length);
    this.emit("receipts", { id: p.id, count: held.length, of, by: held });
    if (!p.delivered && of > 0 && held.length >= this.needed(of)) {
      p.delivered = true;
      this.pending.delete(p.id);
      this.emit("delivered", { id: p.id, count: held.length, of });
    }
    return true;
  }

  /** Payloads whose resends are spent without the quorum: reported once, then forgotten. */
  expire(now: number, of: number): void {
    for (const p of this.pending.values()) {
      // Insertion order is send order: the rest are younger.
      if (now - p.sentAt < this.options.giveUpAfterMs) break;
      this.pending.delete(p.id);
      const count = p.segmented ? (this.sets.holders(p.id)?.length ?? 0) : (this.holders.get(p.id)?.size ?? 0);
      // Still tracked: a late receipt is reported, and may yet make it delivered.
      this.emit("delivery-error", { id: p.id, count, of: Math.max(of, count) });
    }
  }

  /** When `expire` has something to do next, or undefined. */
  nextExpiry(): number | undefined {
    const first = this.pending.values().next().value as OwnPayload | undefined;
    return first === undefined ? undefined : first.sentAt + this.options.giveUpAfterMs;
  }

  private forget(id: string): void {
    const p = this.payloads.get(id);
    if (p === undefined) return;
    this.payloads.delete(id);
    this.pending.delete(id);
    this.holders.delete(id);
    for (const m of p.messageIds) if (this.byMessage.get(m) === p) this.byMessage.delete(m);
  }
}
