import type { MessageRef, SenderId, SignatureVerifier } from "../core/index.js";
import { MIN_REPORT_INTERVAL_MS } from "../core/owner/cadence.js";
import { openRoster } from "../core/owner/roster.js";
import { type Transport, TransportError } from "../transport/transport.js";
import { decodeOwnerNews, decodeRoster, encodeOwnerNews } from "../wire/owner-codec.js";
import type { ChannelRuntime, NodeEvent } from "./channel.js";
import {
  decodeOwnerResponse,
  encodeOwnerRequest,
  MAX_FETCH_IDS,
  MAX_FETCH_RANGES,
  MAX_FETCH_SPAN,
  OWNER_PROTOCOL,
  type OwnerRequest,
  type OwnerResponse,
  type SeqRange,
} from "./owner-protocol.js";

/** What a member's owner link needs of its node. */
export interface OwnerClientContext {
  readonly transport: Transport;
  readonly self: SenderId;
  readonly clock: () => number;
  readonly verify: SignatureVerifier;
  /** How long a WATCH asks the owner to hold it. */
  readonly holdMs: number;
  /** The owner's sender id: configured, or learnt from the first roster that verifies (trust on first use). */
  ownerId(): string | undefined;
  /** Peers to ask for the roster, the owner's last known peer first. */
  candidates(): string[];
  /** `peer` served a roster signed by `ownerId`: it is the owner (no peer: a cached roster named the owner). */
  found(peer: string | undefined, ownerId: string): void;
  /** Missing messages while the owner path is down: the node's other ways (history service, topic). */
  fallbackFetch(runtime: ChannelRuntime): void;
}

/** up: the owner answers; down: it has a roster for us but does not answer now; none: no roster (yet). */
export type OwnerPathState = "up" | "down" | "none";

export interface OwnerClientStats {
  reportsSent: number;
  reportsFailed: number;
  newsReceived: number;
  fetches: number;
  fetchedMessages: number;
}

/**
 * A report goes out at most this often while there is news; on a roster of more than 500 members less often, so
 * that the owner receives at most 2,000 reports a second in total (core/owner/cadence.ts, spec 14.3.2).
 */
export const REPORT_INTERVAL_MS = MIN_REPORT_INTERVAL_MS;
/** After a failed or refused report, the next waits this long. */
const REPORT_BACKOFF_MS = 2_000;
const REQUEST_TIMEOUT_MS = 5_000;
const FETCH_DEBOUNCE_MS = 20;
/** Heads are applied this long after they arrive: a message the owner just got is usually on its way here too. */
export const HEAD_GRACE_MS = 1_000;
/** Consecutive failed exchanges after which the owner path is down and the topic takes over. */
const DOWN_AFTER_FAILURES = 2;
const RETRY_MS = [250, 1_000, 2_000, 5_000];
/** Every so often (and when the path comes back up) a WATCH asks for everything: every sender's head again. */
const FULL_NEWS_EVERY_MS = 5 * 60_000;
/** How often a member asks again whether an owner that keeps no roster for the channel has one now. */
const NOT_KEPT_RETRY_MS = 30_000;
/** How soon a member asks again an owner that answered "busy" (starting, or stopping for a restart). */
const BUSY_RETRY_MS = 500;
/** What the owner did not have is not asked of it again for this long. */
const LACKED_MS = 10_000;
const MAX_LACKED = 10_000;
const MAX_CANDIDATES = 32;

function refKey(ref: MessageRef): string {
  return `${ref.messageId ?? ""}|${ref.senderId ?? ""}|${ref.sequence ?? ""}`;
}

/** Missing refs as a FETCH: consecutive numbers of one sender become one range; refs known only by id go by id. */
export function fetchPlan(refs: readonly MessageRef[]): { ranges: SeqRange[]; ids: string[] } {
  const bySender = new Map<string, number[]>();
  const ids: string[] = [];
  for (const r of refs) {
    if (r.senderId !== undefined && r.sequence !== undefined && /^[0-9a-f]{64}$/.test(r.senderId)) {
      const list = bySender.get(r.senderId) ?? [];
      list.push(r.sequence);
      bySender.set(r.senderId, list);
    } else if (r.messageId !== undefined && ids.length < MAX_FETCH_IDS) ids.push(r.messageId);
  }
  const ranges: SeqRange[] = [];
  for (const [senderId, seqs] of bySender) {
    seqs.sort((a, b) => a - b);
    let first = seqs[0]!;
    let last = first;
    for (const seq of seqs.slice(1)) {
      if (seq === last) continue;
      if (seq === last + 1 && seq - first < MAX_FETCH_SPAN) last = seq;
      else {
        ranges.push({ senderId, first, last });
        first = seq;
        last = seq;
      }
    }
    ranges.push({ senderId, first, last });
  }
  return { ranges: ranges.slice(0, MAX_FETCH_RANGES), ids };
}

/**
 * One channel's direct path to its owner node, on a member: finds the owner by its signed roster, keeps a
 * WATCH waiting for news (receipts of our messages, every sender's head), reports what the engine delivered
 * (at most every REPORT_INTERVAL_MS while there is news), and fetches what the engine misses. The engine's
 * owner path is up while the owner answers and down after DOWN_AFTER_FAILURES failed exchanges; the topic
 * carries receipts and repair meanwhile.
 */
export class OwnerClient {
  readonly stats: OwnerClientStats = {
    reportsSent: 0,
    reportsFailed: 0,
    newsReceived: 0,
    fetches: 0,
    fetchedMessages: 0,
  };
  private peer: string | undefined;
  /** The peer that last served our roster. */
  private lastPeer: string | undefined;
  private up = false;
  private notKept = false;
  /** The last search for the owner met one that is starting (or stopping): ask again soon. */
  private busy = false;
  private failures = 0;
  /** When the last WATCH asked for all news (cursor 0); -Infinity: the next one does. */
  private fullNewsAt = Number.NEGATIVE_INFINITY;
  private active = false;
  private interrupt: (() => void) | undefined;
  private reportTimer: ReturnType<typeof setTimeout> | undefined;
  private reportInFlight = false;
  private lastReportAt = Number.NEGATIVE_INFINITY;
  private reportAfter = 0;
  private fetchTimer: ReturnType<typeof setTimeout> | undefined;
  private fetching = false;
  private fetchAgain = false;
  private readonly lacked = new Map<string, number>();
  /** Fetches what a segment set held back once its hold ends (`engine.holdRepair`), and when that is. */
  private heldTimer: ReturnType<typeof setTimeout> | undefined;
  private heldAt = Number.POSITIVE_INFINITY;
  /** Asks again for what the owner lacked, once the lack expires. */
  private lackedTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    private readonly ctx: OwnerClientContext,
    private readonly runtime: ChannelRuntime,
  ) {}

  private get owner() {
    return this.runtime.engine.owner;
  }

  get channelId(): string {
    return this.runtime.channelId;
  }

  /** Takes the cached roster (N is right from the first answer after a restart) and starts the watch loop. */
  start(): void {
    this.active = true;
    const cached = this.runtime.cachedRoster;
    if (cached !== undefined) {
      try {
        this.ctx.found(undefined, this.adopt(cached));
      } catch {
        // A roster from another owner, or damaged: fetch a new one.
      }
    }
    this.loop().catch(() => {
      // The loop handles its own failures; anything else ends it with the node.
    });
  }

  stop(): void {
    this.active = false;
    for (const t of [this.reportTimer, this.fetchTimer, ...this.timers]) clearTimeout(t);
    this.timers.clear();
    this.interrupt?.();
  }

  state(): OwnerPathState {
    if (this.up) return "up";
    return this.owner.roster() === undefined ? "none" : "down";
  }

  /** Deliveries and give-ups are news for the owner. */
  noteEvent(event: NodeEvent): void {
    if (event.type === "delivered" || event.type === "lost") this.scheduleReport();
  }

  /** The engine misses messages: the owner first while it answers, the node's other ways otherwise. */
  onMissing(): void {
    if (!this.up) {
      this.ctx.fallbackFetch(this.runtime);
      return;
    }
    if (this.fetchTimer !== undefined) return;
    this.fetchTimer = this.later(FETCH_DEBOUNCE_MS, () => {
      this.fetchTimer = undefined;
      this.fetch().catch(() => {
        // Counted as a failed exchange inside.
      });
    });
  }

  // ---------------------------------------------------------------------------------------- the loop

  private async loop(): Promise<void> {
    while (this.active) {
      try {
        if (this.peer === undefined && !(await this.locate())) {
          this.setUp(false);
          await this.pause(this.busy ? BUSY_RETRY_MS : this.notKept ? NOT_KEPT_RETRY_MS : RETRY_MS.at(-1)!);
          continue;
        }
        await this.watchOnce();
      } catch (err) {
        if (!this.active) return;
        this.failed(err);
        await this.pause(RETRY_MS[Math.min(this.failures, RETRY_MS.length) - 1] ?? RETRY_MS[0]!);
      }
    }
  }

  private async watchOnce(): Promise<void> {
    // Now and then, and after the path was down, from cursor 0: every head again, whatever was missed.
    const full = this.ctx.clock() - this.fullNewsAt >= FULL_NEWS_EVERY_MS;
    if (full) this.fullNewsAt = this.ctx.clock();
    const response = await this.request({
      kind: "watch",
      channelId: this.channelId,
      member: this.ctx.self,
      rosterVersion: this.owner.roster()?.version ?? 0,
      cursor: full ? 0 : this.owner.cursor(),
      holdMs: this.ctx.holdMs,
    });
    if (response.status === "news") {
      this.succeeded();
      await this.applyNews(response.news);
      return;
    }
    if (response.status === "refused" && response.code === "notAMember") {
      // Not on the roster we hold: maybe on a newer one. If not, ask again only now and then.
      await this.refreshRoster();
      if (this.owner.roster()?.has(this.ctx.self) !== true) await this.pause(NOT_KEPT_RETRY_MS);
      return;
    }
    this.unexpected(response);
  }

  /** A response that does not fit the exchange: the owner no longer serves us here, find it again. */
  private unexpected(response: OwnerResponse): never {
    this.peer = undefined;
    if (response.status === "refused" && response.code === "notKept") this.notKept = true;
    throw new Error(`owner answered ${response.status}${response.status === "refused" ? ` (${response.reason})` : ""}`);
  }

  /** Asks candidate peers for the roster; the first that serves one signed by the owner is the owner. */
  private async locate(): Promise<boolean> {
    this.notKept = false;
    this.busy = false;
    const peers = [...new Set(this.ctx.candidates())].slice(0, MAX_CANDIDATES);
    // The peer that served our roster before only needs to say it is unchanged (the transport authenticates peers).
    const held = this.owner.roster()?.version ?? 0;
    const answers = peers.map(async (peer) => {
      const known = peer === this.lastPeer ? held : 0;
      const response = await this.request({ kind: "roster", channelId: this.channelId, known }, peer);
      if (response.status === "refused" && response.code === "notKept") this.notKept = true;
      if (response.status === "refused" && response.code === "busy") this.busy = true;
      if (response.status === "unchanged" && known !== 0) return { peer, roster: undefined };
      if (response.status !== "roster") throw new Error(`no roster from ${peer}`);
      this.open(response.roster);
      return { peer, roster: response.roster };
    });
    let winner: { peer: string; roster: Uint8Array | undefined };
    try {
      winner = await Promise.any(answers);
    } catch {
      return false;
    }
    const ownerId = winner.roster === undefined ? this.owner.roster()!.roster.owner : this.adopt(winner.roster);
    this.peer = winner.peer;
    this.lastPeer = winner.peer;
    this.notKept = false;
    this.ctx.found(winner.peer, ownerId);
    this.succeeded();
    return true;
  }

  /** Checks a signed roster against the owner's id (or, before one is known, its own owner field). */
  private open(bytes: Uint8Array) {
    const ownerId = this.ctx.ownerId() ?? decodeRoster(bytes).owner;
    return { ownerId, index: openRoster(bytes, this.channelId, ownerId, this.ctx.verify) };
  }

  /** Gives a roster that checks out to the engine: membership, N, and a fresh start of reports and news. */
  private adopt(bytes: Uint8Array): string {
    const { ownerId, index } = this.open(bytes);
    if (this.owner.roster()?.version !== index.version || this.runtime.cachedRoster === undefined) {
      this.owner.setRoster(index);
      this.runtime.cachedRoster = bytes;
      this.runtime.applyStep();
      this.scheduleReport();
    }
    return ownerId;
  }

  private async refreshRoster(): Promise<void> {
    const response = await this.request({
      kind: "roster",
      channelId: this.channelId,
      known: this.owner.roster()?.version ?? 0,
    });
    if (response.status === "roster") this.adopt(response.roster);
    else if (response.status !== "unchanged") this.unexpected(response);
  }

  private succeeded(): void {
    this.failures = 0;
    this.setUp(true);
    // A report that fell due while the owner's peer was being found again (the path stayed up) was skipped;
    // in a quiet channel no delivery would schedule another.
    this.scheduleReport();
  }

  private failed(_err: unknown): void {
    this.failures++;
    if (this.failures >= DOWN_AFTER_FAILURES) this.setUp(false);
    // The owner may be back under another connection: find it again after a few failures.
    if (this.failures > DOWN_AFTER_FAILURES) this.peer = undefined;
  }

  private setUp(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    this.runtime.engine.setOwnerPath(up, this.ctx.clock());
    this.runtime.applyStep();
    if (!up) {
      this.fullNewsAt = Number.NEGATIVE_INFINITY;
      return;
    }
    this.scheduleReport();
    if (this.runtime.missingCount() > 0) this.onMissing();
  }

  // ------------------------------------------------------------------------------------------ news

  /**
   * Receipts now; heads HEAD_GRACE_MS later, so that a message the owner has just got does not open a gap
   * here while it is still on its way over the topic.
   */
  private async applyNews(bytes: Uint8Array): Promise<void> {
    const news = decodeOwnerNews(bytes);
    this.stats.newsReceived++;
    const step = this.owner.applyNews(encodeOwnerNews({ ...news, heads: [] }), this.ctx.clock());
    this.runtime.applyStep(step);
    if (step.stale) {
      await this.refreshRoster();
      return;
    }
    if (news.heads.length === 0) return;
    const heads = encodeOwnerNews({ ...news, receipts: [] });
    this.later(HEAD_GRACE_MS, () => {
      const late = this.owner.applyNews(heads, this.ctx.clock());
      if (!late.stale) this.runtime.applyStep(late);
    });
  }

  // --------------------------------------------------------------------------------------- reports

  private scheduleReport(): void {
    if (!this.up || !this.active || this.reportTimer !== undefined || this.reportInFlight) return;
    if (!this.owner.hasReport()) return;
    const at = Math.max(this.lastReportAt + this.owner.reportIntervalMs(REPORT_INTERVAL_MS), this.reportAfter);
    this.reportTimer = this.later(Math.max(0, at - this.ctx.clock()), () => {
      this.reportTimer = undefined;
      this.report().catch(() => {
        // Counted as a failed exchange inside.
      });
    });
  }

  private async report(): Promise<void> {
    if (!this.up || this.peer === undefined) return;
    const now = this.ctx.clock();
    const taken = this.owner.takeReport(now);
    if (taken === undefined) return;
    this.reportInFlight = true;
    this.lastReportAt = now;
    let done = false;
    const finish = (ok: boolean) => {
      done = true;
      this.owner.reportDone(taken.token, ok);
      if (ok) this.stats.reportsSent++;
      else {
        this.stats.reportsFailed++;
        this.reportAfter = this.ctx.clock() + REPORT_BACKOFF_MS;
      }
    };
    try {
      const report = taken.bytes;
      const response = await this.request({
        kind: "report",
        channelId: this.channelId,
        cursor: this.owner.cursor(),
        report,
      });
      finish(response.status === "news");
      if (response.status === "news") {
        this.succeeded();
        await this.applyNews(response.news);
      } else if (response.status === "refused" && response.code === "badReport") {
        // A refused report usually means a roster we do not hold yet.
        await this.refreshRoster();
      } else this.unexpected(response);
    } catch (err) {
      if (!done) finish(false);
      this.failed(err);
    } finally {
      this.reportInFlight = false;
      this.scheduleReport();
    }
  }

  // ---------------------------------------------------------------------------------------- fetches

  private async fetch(): Promise<void> {
    if (this.fetching) {
      this.fetchAgain = true;
      return;
    }
    this.fetching = true;
    try {
      for (let round = 0; round < 4 && this.up; round++) if (!(await this.fetchRound())) break;
    } catch (err) {
      this.failed(err);
    } finally {
      this.fetching = false;
      if (this.fetchAgain) {
        this.fetchAgain = false;
        this.onMissing();
      }
    }
  }

  /** One FETCH of what is missing and was not lacked lately; true when the answer was cut short. */
  private async fetchRound(): Promise<boolean> {
    const now = this.ctx.clock();
    for (const [key, at] of this.lacked) if (now - at > LACKED_MS) this.lacked.delete(key);
    // What a segment set holds back is not fetched yet: the rest of the set may make it unneeded (spec 19.7).
    const { refs: fetchable, heldUntil } = this.owner.fetchable(now);
    if (heldUntil !== undefined) this.fetchAtHoldEnd(heldUntil, now);
    const refs = fetchable.filter((r) => !this.lacked.has(refKey(r)));
    const plan = fetchPlan(refs);
    if (plan.ranges.length + plan.ids.length === 0) return false;
    const response = await this.request({ kind: "fetch", channelId: this.channelId, ...plan });
    if (response.status !== "messages") this.unexpected(response);
    this.succeeded();
    this.stats.fetches++;
    this.stats.fetchedMessages += response.messages.length;
    this.runtime.receiveBatch(response.messages, { requested: true });
    if (response.truncated) return true;
    const still = new Set(this.runtime.missing().map(refKey));
    const lacking = refs.filter((r) => still.has(refKey(r)));
    if (lacking.length > 0) {
      this.owner.lacks(lacking, this.ctx.clock());
      this.runtime.applyStep();
      for (const r of lacking) {
        if (this.lacked.size >= MAX_LACKED) this.lacked.delete(this.lacked.keys().next().value as string);
        this.lacked.set(refKey(r), now);
      }
      // "Lacked" often means "not yet": the owner was cut off from the sender too and catches up soon after.
      // Nothing else may ask again (no new gap opens in a quiet channel, and the topic may not answer), so the
      // owner is asked again once the lack expires, for as long as the messages are missing.
      this.lackedTimer ??= this.later(LACKED_MS + FETCH_DEBOUNCE_MS, () => {
        this.lackedTimer = undefined;
        if (this.runtime.missingCount() > 0) this.onMissing();
      });
    }
    return false;
  }

  /** Nothing else asks when a hold ends (no new gap opens): a fetch is scheduled for then. */
  private fetchAtHoldEnd(heldUntil: number, now: number): void {
    if (heldUntil >= this.heldAt) return;
    if (this.heldTimer !== undefined) {
      clearTimeout(this.heldTimer);
      this.timers.delete(this.heldTimer);
    }
    this.heldAt = heldUntil;
    this.heldTimer = this.later(Math.max(0, heldUntil - now) + FETCH_DEBOUNCE_MS, () => {
      this.heldTimer = undefined;
      this.heldAt = Number.POSITIVE_INFINITY;
      this.onMissing();
    });
  }

  // ---------------------------------------------------------------------------------------- helpers

  private async request(request: OwnerRequest, to = this.peer): Promise<OwnerResponse> {
    if (to === undefined) throw new TransportError("PEER_UNREACHABLE", "no owner peer known");
    const timeoutMs = request.kind === "watch" ? request.holdMs + REQUEST_TIMEOUT_MS : REQUEST_TIMEOUT_MS;
    const bytes = await this.ctx.transport.request(to, OWNER_PROTOCOL, encodeOwnerRequest(request), { timeoutMs });
    return decodeOwnerResponse(bytes);
  }

  private later(ms: number, fn: () => void): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.active) fn();
    }, ms);
    timer.unref?.();
    this.timers.add(timer);
    return timer;
  }

  /** Waits `ms`, or less when the client stops. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.interrupt = undefined;
        resolve();
      }, ms);
      timer.unref?.();
      this.interrupt = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
