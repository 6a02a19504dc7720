import type { SummaryWriter } from "./acks/summary.js";
import { type EquivocationLog, MAX_NAMED } from "./equivocation.js";
import type { TimerHeap } from "./heap.js";
import type { OwnerLink } from "./owner/link.js";
import { mutated, type Params } from "./params.js";
import { RateWindow } from "./rate-window.js";
import type { RandomSource } from "./types.js";

/**
 * When this member owes a sync message (spec section 13): what is owed, the one sync timer, and the control budget
 * every sync is counted in.
 */
export class SyncSchedule {
  /** Something arrived that our last summary did not acknowledge. */
  ackDirty = false;
  /** When we last sent a content or control message: the sync timer counts from it. */
  lastSentAt: number;
  /** When the armed sync timer fires; Infinity while disarmed. */
  private syncAt = Number.POSITIVE_INFINITY;
  private control = new RateWindow();

  constructor(
    private readonly params: Params,
    private readonly random: RandomSource,
    private readonly timers: TimerHeap,
    private readonly summary: SummaryWriter,
    private readonly equivocations: EquivocationLog,
    private readonly link: OwnerLink,
    now: number,
  ) {
    this.lastSentAt = now;
  }

  /** The sync timer that fired at `at` is the armed one (earlier ones were disarmed or replaced). */
  isDue(at: number): boolean {
    return this.syncAt === at;
  }

  disarm(): void {
    this.syncAt = Number.POSITIVE_INFINITY;
  }

  /** Arms the sync timer unless it is armed already: a member owes a sync only after it received something. */
  arm(now: number, interval = this.params.syncIntervalMs): void {
    if (Number.isFinite(this.syncAt)) return;
    const p = this.params;
    const jitter = 1 + p.syncJitter * (2 * this.random({ use: "sync-jitter" }) - 1);
    const at = Math.max(now, this.lastSentAt) + Math.min(interval, p.syncIntervalMs) * jitter;
    this.syncAt = at;
    this.timers.push({ at, kind: "sync", key: "sync" });
  }

  /**
   * A copy of a content message we already hold arrived (spec section 13): its sender, resending, may have missed
   * the summaries that acknowledged it, so one sync is owed, to carry a fresh one. Nothing more while a sync is
   * owed or armed already, over the owner path (receipts go in reports), or once half the control budget is spent
   * in the window: copies (replays too) never take what repair requests need.
   */
  oweForCopy(now: number): void {
    if (Number.isFinite(this.syncAt) || this.link.up || mutated(this.params, "sync-owed-copy")) return;
    if (2 * this.control.count(now) >= this.params.controlBudgetPer600s) return;
    this.ackDirty = true;
    this.arm(now);
  }

  /**
   * Counts a control message at `now` against the budget. False when it is spent: the timer is then re-armed for
   * when the oldest control message leaves the window.
   */
  takeControl(now: number): boolean {
    if (this.control.take(this.params.controlBudgetPer600s, now)) return true;
    this.syncAt = this.control.reopensAt(now);
    this.timers.push({ at: this.syncAt, kind: "sync", key: "sync" });
    return false;
  }

  /** When the oldest control message leaves the budget's window. */
  reopensAt(now: number): number {
    return this.control.reopensAt(now);
  }

  /** We sent a content or control message at `now`: it carried our acknowledgements, and disarms the timer. */
  sent(now: number): void {
    this.lastSentAt = now;
    this.ackDirty = false;
    this.syncAt = Number.POSITIVE_INFINITY;
  }

  /**
   * Progress never announced (more senders than a summary has mark slots) and a running equivocation notice (on the
   * topic whatever the owner path, spec 9.6) keep a sync owed, one interval later, sooner (backlogSyncIntervalMs)
   * while more waits than one message holds: in a quiet spell the queue drains.
   */
  owePending(now: number): void {
    const unannounced = this.summary.unannounced(this.params.ackMaxMarks);
    if (unannounced > 0) this.ackDirty = true;
    const named = this.equivocations.announced(now);
    if ((unannounced === 0 || this.link.up) && named === 0) return;
    const backlog = (unannounced > this.params.ackMaxMarks && !this.link.up) || named > MAX_NAMED;
    this.arm(now, backlog ? this.params.backlogSyncIntervalMs : undefined);
  }

  /** Sends counted in the control budget's window, for snapshots. */
  controlSent(): number[] {
    return this.control.toJSON();
  }

  /** Takes back a snapshot's schedule; the timer is armed again if a sync was owed. */
  restore(lastSentAt: number, ackDirty: boolean, controlSent: readonly number[]): void {
    this.lastSentAt = lastSentAt;
    this.ackDirty = ackDirty;
    this.control = new RateWindow(controlSent);
    if (this.ackDirty || this.equivocations.announced(this.lastSentAt) > 0) this.arm(this.lastSentAt);
  }
}
