import { type SenderId, senderPrefixHex } from "./ids.js";
import type { Params } from "./params.js";
import type { SenderState } from "./senders.js";
import type { Draw, RandomSource } from "./types.js";

/**
 * The members this member has heard from (at most `maxMembers`, least recently heard evicted first), the
 * index from a mark's sender prefix to a member, the preferred responders (the owner node), and the
 * suppression timers that depend on how many members race.
 */
export class MemberDirectory {
  /** Members heard from, least recently heard first. */
  private readonly heard = new Map<SenderId, number>();
  /**
   * The member a mark's key prefix names, or its SenderState once a mark resolved it (`keepState`): every message
   * carries marks, and a member of a large channel reads each of them, so one lookup per mark where two were.
   */
  private readonly byPrefix = new Map<string, SenderId | SenderState>();
  /**
   * Steps through `heard` from its first eviction on, standing at the least recently heard member: a fresh
   * `keys()` per eviction would step over every hole that moving a member to the end left since the last rehash
   * (bounded.ts, BoundedMap, says more).
   */
  private order: Iterator<SenderId> | undefined;
  /** The last member `hearFrom` put at the end of `heard`. */
  private newest: SenderId | undefined;
  private preferred: ReadonlySet<string>;

  constructor(
    private readonly params: Params,
    private readonly random: RandomSource,
    preferred: readonly string[],
  ) {
    this.preferred = new Set(preferred);
  }

  /** Members heard from, other than ourselves. */
  get size(): number {
    return this.heard.size;
  }

  /** Notes that `sender` was heard at `now`; returns the member evicted to make room, if any. */
  hearFrom(sender: SenderId, now: number): SenderId | undefined {
    // Already the most recently heard (a sender's messages often come in runs): its place stays, no delete and
    // re-insert, which leaves a hole in the map's table for each message.
    if (sender === this.newest) {
      this.heard.set(sender, now);
      return undefined;
    }
    this.newest = sender;
    const isNew = !this.heard.delete(sender);
    this.heard.set(sender, now);
    let evicted: SenderId | undefined;
    if (this.heard.size > this.params.maxMembers) {
      this.order ??= this.heard.keys();
      let oldest = this.order.next();
      if (oldest.done) {
        // Not reached (it never steps past the newest member, and an ended iterator stays ended): restart.
        this.order = this.heard.keys();
        oldest = this.order.next();
      }
      evicted = oldest.value as SenderId;
      this.heard.delete(evicted);
      if (evicted === sender) this.newest = undefined;
    }
    if (isNew) {
      const prefix = senderPrefixHex(sender);
      if (!this.byPrefix.has(prefix)) this.byPrefix.set(prefix, sender);
    }
    return evicted;
  }

  /** The member whose sender id starts with these key bytes (hex), as a mark names it. */
  byKeyPrefix(prefixHex: string): SenderId | undefined {
    const known = this.byPrefix.get(prefixHex);
    return typeof known === "object" ? known.id : known;
  }

  /** `byKeyPrefix`, or the member's state when `keepState` was told it. */
  stateOrIdByPrefix(prefixHex: string): SenderId | SenderState | undefined {
    return this.byPrefix.get(prefixHex);
  }

  /** `state` is the state of the member `prefixHex` names (SenderTable's, until it calls `dropState`). */
  keepState(prefixHex: string, state: SenderState): void {
    this.byPrefix.set(prefixHex, state);
  }

  /** SenderTable dropped its state of `sender`: a state kept for it is stale. */
  dropState(sender: SenderId): void {
    const prefix = senderPrefixHex(sender);
    const known = this.byPrefix.get(prefix);
    if (typeof known === "object" && known.id === sender) this.byPrefix.set(prefix, sender);
  }

  /** Members heard from with when each was last heard, most recent first. */
  list(): { senderId: SenderId; lastHeardAt: number }[] {
    return [...this.heard.entries()].reverse().map(([senderId, lastHeardAt]) => ({ senderId, lastHeardAt }));
  }

  setPreferred(ids: readonly string[]): void {
    this.preferred = new Set(ids);
  }

  isPreferred(id: string): boolean {
    return this.preferred.has(id);
  }

  /** A preferred responder was heard from within `preferredResponderAliveMs`. */
  preferredOnline(now: number): boolean {
    for (const id of this.preferred) {
      const heard = this.heard.get(id as SenderId);
      if (heard !== undefined && now - heard <= this.params.preferredResponderAliveMs) return true;
    }
    return false;
  }

  /**
   * Exponentially distributed suppression timer (Nonnenmacher & Biersack): with N members racing,
   * about N^(latency/T) of them fire before the first one is heard, instead of N*latency/T for a
   * uniform timer. delay = T * max(0, 1 + ln(u) / ln(N)).
   */
  suppressionDelay(scale: number, draw: Draw): number {
    const n = Math.max(2, this.heard.size + 1);
    const u = Math.max(this.random(draw), 1e-12);
    return scale * Math.max(0, 1 + Math.log(u) / Math.log(n));
  }

  toJSON(): [string, number][] {
    return [...this.heard.entries()];
  }

  restore(members: readonly [string, number][]): void {
    this.newest = undefined;
    for (const [id, at] of members) {
      this.heard.set(id as SenderId, at);
      this.byPrefix.set(senderPrefixHex(id), id as SenderId);
    }
  }
}
