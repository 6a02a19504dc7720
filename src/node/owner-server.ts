import { senderPrefixBytes } from "../core/ids.js";
import { isChorusSenderId, type SenderId, type SignatureVerifier } from "../core/index.js";
import { CLAIM_MARGIN } from "../core/owner/ledger.js";
import { RosterIndex, signRoster } from "../core/owner/roster.js";
import { OwnerService, OwnerServiceError } from "../core/owner/service.js";
import type { Store } from "../storage/index.js";
import { decodeReport, decodeRoster, encodeOwnerNews } from "../wire/owner-codec.js";
import type { ChannelRuntime, NodeEvent } from "./channel.js";
import { MAX_PAGE_BYTES } from "./history-protocol.js";
import {
  decodeOwnerRequest,
  encodeOwnerResponse,
  MAX_FETCH_SPAN,
  OwnerProtocolError,
  type OwnerRequest,
  refusal,
} from "./owner-protocol.js";

/** What the owner side needs of its node. */
export interface OwnerServerContext {
  readonly self: SenderId;
  readonly store: Store;
  readonly clock: () => number;
  readonly sign: (unsigned: Uint8Array) => Uint8Array;
  readonly verify: SignatureVerifier;
  /** Longest a WATCH is held: below the transport's limit on an inbound exchange. */
  readonly maxHoldMs: number;
  /** Messages per sender whose holders the ledger keeps. */
  readonly window: number;
  channel(channelId: string): ChannelRuntime | undefined;
}

/** The owner's totals over its channels, for metrics. */
export interface OwnerServerStats {
  readonly reportsAccepted: number;
  readonly reportsRefused: number;
  readonly pairsLearnt: number;
  readonly newsSent: number;
  readonly fetches: number;
  readonly fetchedMessages: number;
  readonly watches: number;
  readonly ledgerMessages: number;
  readonly ledgerBytes: number;
}

interface Watch {
  readonly cursor: number;
  answer(): void;
}

/** One channel the owner serves: its service, signed roster and the members waiting for news. */
interface Served {
  readonly runtime: ChannelRuntime;
  readonly service: OwnerService;
  roster: Uint8Array;
  readonly watches: Map<string, Watch>;
  headTimer: ReturnType<typeof setTimeout> | undefined;
  /** Reports with claims too far past the owner's heads for the ledger to take yet (see `defer`). */
  deferred: Uint8Array[];
  ownTimer: ReturnType<typeof setTimeout> | undefined;
}

/** A sender's new head reaches every watching member at most this often (one flush per interval). */
export const HEAD_FLUSH_MS = 1_000;
/** The owner's own holdings go into its ledger in batches this far apart. */
const OWN_REPORT_MS = 50;
/** Reports kept per channel for claims the ledger could not take yet; the oldest go first. */
const MAX_DEFERRED_REPORTS = 256;
/** After a restart, the heads are rebuilt from this many of the newest deliveries. */
const HEADS_FROM_TAIL = 10_000;

/**
 * The owner's side of `/chorus/owner/1` (src/node/owner-protocol.ts): for every channel with a roster, an
 * OwnerService (src/core/owner) that takes members' signed reports, and the watches of members waiting for
 * their news. A report wakes only the senders it names; a new head wakes every watch, at most once per
 * HEAD_FLUSH_MS. The owner's own holdings enter the same ledger through its own signed reports, and its own
 * messages' receipts reach its engine as news, exactly as a member's would.
 */
export class OwnerServer {
  private readonly served = new Map<string, Served>();
  private members: readonly string[] | undefined;
  private version = 0;
  private newsSent = 0;
  private fetches = 0;
  private fetchedMessages = 0;
  private stopped = false;
  /**
   * Until the node has opened its channels (`ready`), every request is answered "busy": the protocol is
   * registered before the transport starts, and "not kept here" then would send members away for minutes.
   */
  private starting = true;

  constructor(
    private readonly ctx: OwnerServerContext,
    members: readonly string[] | undefined,
  ) {
    if (members !== undefined) this.members = rosterMembers(ctx.self, members);
  }

  /** The node opened the channels it keeps: requests are answered from now on. */
  ready(): void {
    this.starting = false;
  }

  /** Serves a channel the node opened, when the owner has a member list. */
  open(runtime: ChannelRuntime): void {
    if (this.members === undefined || this.served.has(runtime.channelId)) return;
    const { index, bytes } = this.signed(runtime.channelId, this.members);
    const service = new OwnerService({
      channelId: runtime.channelId,
      roster: index,
      verify: this.ctx.verify,
      window: this.ctx.window,
    });
    const served: Served = {
      runtime,
      service,
      roster: bytes,
      watches: new Map(),
      headTimer: undefined,
      deferred: [],
      ownTimer: undefined,
    };
    this.served.set(runtime.channelId, served);
    const { store } = this.ctx;
    const count = store.countDelivered(runtime.channelId);
    for (const m of store.listDelivered(runtime.channelId, {
      after: Math.max(0, count - HEADS_FROM_TAIL),
      limit: HEADS_FROM_TAIL,
    })) {
      if (m.seq !== null) service.noteMessage(m.senderId, m.seq);
    }
    runtime.engine.owner.setRoster(index);
    this.scheduleOwnReport(served);
  }

  /**
   * A new member list for every channel (the owner is always on it): a new roster version, a ledger that starts
   * over, and every watch answered so that members fetch the new roster.
   */
  setMembers(members: readonly string[]): void {
    this.members = rosterMembers(this.ctx.self, members);
    for (const served of this.served.values()) {
      const { index, bytes } = this.signed(served.runtime.channelId, this.members);
      served.service.replaceRoster(index);
      served.roster = bytes;
      // Members report everything afresh to the new ledger.
      served.deferred = [];
      served.runtime.engine.owner.setRoster(index);
      for (const watch of [...served.watches.values()]) watch.answer();
      this.scheduleOwnReport(served);
    }
  }

  private signed(channelId: string, members: readonly string[]): { index: RosterIndex; bytes: Uint8Array } {
    // The version is also the ledger's epoch: a restarted owner starts a new one, and members report afresh.
    this.version = Math.max(this.version + 1, Math.floor(this.ctx.clock()));
    const bytes = signRoster({ channelId, version: this.version, members, owner: this.ctx.self }, this.ctx.sign);
    return { index: new RosterIndex(decodeRoster(bytes)), bytes };
  }

  /** The roster a channel is served with, or undefined when the owner keeps none for it. */
  roster(channelId: string): RosterIndex | undefined {
    return this.served.get(channelId)?.service.rosterIndex;
  }

  /** Who holds a stored message, from the ledger; undefined outside the ledger's window or without a roster. */
  receiptOf(channelId: string, messageId: string): { count: number; members: number; ackedBy: string[] } | undefined {
    const served = this.served.get(channelId);
    const stored = served === undefined ? undefined : this.ctx.store.getMessage(channelId, messageId);
    if (served === undefined || stored === undefined || stored.seq === null) return undefined;
    return served.service.receipt(stored.senderId, stored.seq);
  }

  /** Deliveries move heads and the owner's own holdings. */
  noteEvent(event: NodeEvent): void {
    const served = this.served.get(event.channelId);
    if (served === undefined) return;
    if (event.type === "delivered" && event.message.sequence !== undefined) {
      served.service.noteMessage(event.message.senderId, event.message.sequence);
      this.scheduleHeads(served);
    }
    if (event.type === "delivered" || event.type === "lost") this.scheduleOwnReport(served);
  }

  /** The protocol handler: never throws; a request it cannot serve gets a REFUSED response naming why. */
  readonly handle = async (bytes: Uint8Array): Promise<Uint8Array> => {
    let request: OwnerRequest;
    try {
      request = decodeOwnerRequest(bytes);
    } catch (err) {
      if (err instanceof OwnerProtocolError) return refusal("malformed", err.message);
      throw err;
    }
    if (this.stopped) return refusal("busy", "the owner is stopping");
    if (this.starting) return refusal("busy", "the owner is starting: its channels are not open yet");
    if (request.kind === "fetch") return this.fetch(request);
    const served = this.served.get(request.channelId);
    if (served === undefined) {
      return refusal("notKept", `this node keeps no roster for channel ${JSON.stringify(request.channelId)}`);
    }
    switch (request.kind) {
      case "roster":
        return request.known === served.service.rosterIndex.version
          ? encodeOwnerResponse({ status: "unchanged" })
          : encodeOwnerResponse({ status: "roster", roster: served.roster });
      case "report":
        return this.report(served, request.report, request.cursor);
      case "watch":
        return this.watch(served, request);
    }
  };

  private news(served: Served, member: string, cursor: number): Uint8Array {
    this.newsSent++;
    return encodeOwnerResponse({ status: "news", news: served.service.newsBytes(member, cursor) });
  }

  private report(served: Served, report: Uint8Array, cursor: number): Uint8Array {
    let reporter: string;
    try {
      reporter = served.service.acceptReport(report);
    } catch (err) {
      if (err instanceof OwnerServiceError) return refusal("badReport", err.message);
      throw err;
    }
    const claims = reportClaims(served.service.rosterIndex, report);
    this.wake(served, claims.keys());
    this.chaseClaims(served, claims);
    if (this.pastMargin(served, claims)) this.defer(served, report);
    return this.news(served, reporter, cursor);
  }

  /** Whether a report claims numbers past a sender's head by more than the ledger takes (CLAIM_MARGIN). */
  private pastMargin(served: Served, claims: ReadonlyMap<string, number>): boolean {
    for (const [sender, last] of claims) if (last > served.service.head(sender) + CLAIM_MARGIN) return true;
    return false;
  }

  /**
   * The ledger took the report's claims only up to CLAIM_MARGIN past the owner's heads, but the member counts
   * the whole report as told and never repeats it: without more, those receipts would be missing for good
   * (a sender would read "3 of 4" forever after the owner was cut off for a while). The signed report is kept
   * and applied again as the heads move (reports are unions, so applying one twice changes nothing else).
   */
  private defer(served: Served, report: Uint8Array): void {
    served.deferred.push(report);
    if (served.deferred.length > MAX_DEFERRED_REPORTS) served.deferred.shift();
  }

  /** Applies the deferred reports again (the heads moved); keeps those still past the heads. */
  private retryDeferred(served: Served): void {
    if (served.deferred.length === 0) return;
    const pending = served.deferred;
    served.deferred = [];
    for (const bytes of pending) {
      const claims = reportClaims(served.service.rosterIndex, bytes);
      try {
        // Counted again in the accepted reports: a re-application is rare (only after the owner was cut off).
        served.service.acceptReport(bytes);
      } catch (err) {
        if (!(err instanceof OwnerServiceError)) throw err;
        continue;
      }
      this.wake(served, claims.keys());
      if (this.pastMargin(served, claims)) served.deferred.push(bytes);
    }
  }

  /**
   * A member holds messages past what the owner holds: the owner was cut off while they were sent. In a quiet
   * channel nothing else would tell it soon (members learn of a missed tail from the owner's heads; the owner
   * has nobody's heads), so the claims become heads for the owner's engine, as another member's marks would:
   * it opens the gaps and repairs them. Claims come from signed reports of roster members, trusted as marks are.
   */
  private chaseClaims(served: Served, claims: ReadonlyMap<string, number>): void {
    const { service, runtime } = served;
    const heads: { senderPrefix: Uint8Array; sequence: number }[] = [];
    for (const [sender, last] of claims) {
      if (sender !== this.ctx.self && last > service.head(sender)) {
        heads.push({ senderPrefix: senderPrefixBytes(sender as SenderId), sequence: last });
      }
    }
    if (heads.length === 0) return;
    const owner = runtime.engine.owner;
    const news = encodeOwnerNews({
      channelId: runtime.channelId,
      cursor: owner.cursor(),
      rosterSize: service.rosterIndex.size,
      rosterVersion: service.rosterIndex.version,
      receipts: [],
      heads,
    });
    runtime.applyStep(owner.applyNews(news, this.ctx.clock()));
  }

  private watch(served: Served, request: Extract<OwnerRequest, { kind: "watch" }>): Uint8Array | Promise<Uint8Array> {
    const { service } = served;
    const { member, cursor, holdMs } = request;
    if (!service.rosterIndex.has(member)) return refusal("notAMember", `${member} is not on the roster`);
    // A member on another roster version holds a cursor of another ledger: it needs the new roster first.
    if (request.rosterVersion !== service.rosterIndex.version || service.hasNews(member, cursor)) {
      return this.news(served, member, cursor);
    }
    served.watches.get(member)?.answer();
    return new Promise((resolve) => {
      const watch: Watch = {
        cursor,
        answer: () => {
          clearTimeout(timer);
          if (served.watches.get(member) === watch) served.watches.delete(member);
          resolve(this.news(served, member, cursor));
        },
      };
      const timer = setTimeout(watch.answer, Math.min(holdMs, this.ctx.maxHoldMs));
      timer.unref?.();
      served.watches.set(member, watch);
    });
  }

  /** Answers the watches of `senders` that have news now; the owner's own news goes to its engine. */
  private wake(served: Served, senders: Iterable<string>): void {
    for (const sender of senders) {
      if (sender === this.ctx.self) {
        this.applyOwnNews(served);
        continue;
      }
      const watch = served.watches.get(sender);
      if (watch !== undefined && served.service.hasNews(sender, watch.cursor)) watch.answer();
    }
  }

  private scheduleHeads(served: Served): void {
    if (served.headTimer !== undefined || this.stopped) return;
    served.headTimer = setTimeout(() => {
      served.headTimer = undefined;
      this.retryDeferred(served);
      this.wake(served, [...served.watches.keys()]);
    }, HEAD_FLUSH_MS);
    served.headTimer.unref?.();
  }

  private scheduleOwnReport(served: Served): void {
    if (served.ownTimer !== undefined || this.stopped || !served.runtime.engine.owner.hasReport()) return;
    served.ownTimer = setTimeout(() => {
      served.ownTimer = undefined;
      this.ownReport(served);
    }, OWN_REPORT_MS);
    served.ownTimer.unref?.();
  }

  /** The owner's own holdings, as a signed report to its own ledger: the owner counts like any member. */
  private ownReport(served: Served): void {
    const owner = served.runtime.engine.owner;
    const taken = owner.takeReport(this.ctx.clock());
    if (taken === undefined) return;
    let ok = true;
    try {
      served.service.acceptReport(taken.bytes);
    } catch (err) {
      if (!(err instanceof OwnerServiceError)) throw err;
      ok = false;
    }
    owner.reportDone(taken.token, ok);
    if (ok) this.wake(served, reportClaims(served.service.rosterIndex, taken.bytes).keys());
  }

  /** Receipts of the owner's own messages, for its engine (heads are its own: left out). */
  private applyOwnNews(served: Served): void {
    const owner = served.runtime.engine.owner;
    const news = served.service.news(this.ctx.self, owner.cursor());
    if (news.receipts.length === 0) return;
    served.runtime.applyStep(owner.applyNews(encodeOwnerNews({ ...news, heads: [] }), this.ctx.clock()));
  }

  private fetch(request: Extract<OwnerRequest, { kind: "fetch" }>): Uint8Array {
    const { store } = this.ctx;
    const channelId = request.channelId;
    if (this.ctx.channel(channelId) === undefined) {
      return refusal("notKept", `channel ${JSON.stringify(channelId)} is not kept here`);
    }
    const out: Uint8Array[] = [];
    let size = 0;
    let truncated = false;
    const add = (bytes: Uint8Array): boolean => {
      if (out.length >= MAX_FETCH_SPAN || size + bytes.length + 8 > MAX_PAGE_BYTES) {
        truncated = true;
        return false;
      }
      out.push(bytes);
      size += bytes.length + 8;
      return true;
    };
    for (const r of request.ranges) {
      const found = store.listBySender(channelId, r.senderId, {
        fromSeq: r.first,
        toSeq: r.last,
        limit: MAX_FETCH_SPAN,
      });
      if (!found.every((m) => add(m.bytes))) break;
    }
    for (const id of truncated ? [] : request.ids) {
      const m = store.getMessage(channelId, id);
      if (m !== undefined && !add(m.bytes)) break;
    }
    this.fetches++;
    this.fetchedMessages += out.length;
    return encodeOwnerResponse({ status: "messages", truncated, messages: out });
  }

  stats(): OwnerServerStats {
    let reportsAccepted = 0;
    let reportsRefused = 0;
    let pairsLearnt = 0;
    let watches = 0;
    let ledgerMessages = 0;
    let ledgerBytes = 0;
    for (const s of this.served.values()) {
      reportsAccepted += s.service.counters.reports;
      reportsRefused += s.service.counters.refused;
      pairsLearnt += s.service.counters.pairs;
      watches += s.watches.size;
      const sizes = s.service.sizes();
      ledgerMessages += sizes.tracked;
      ledgerBytes += sizes.bytes;
    }
    const { newsSent, fetches, fetchedMessages } = this;
    return {
      reportsAccepted,
      reportsRefused,
      pairsLearnt,
      newsSent,
      fetches,
      fetchedMessages,
      watches,
      ledgerMessages,
      ledgerBytes,
    };
  }

  /** Answers every watch and drops the timers. */
  stop(): void {
    this.stopped = true;
    for (const served of this.served.values()) {
      clearTimeout(served.headTimer);
      clearTimeout(served.ownTimer);
      for (const watch of [...served.watches.values()]) watch.answer();
    }
  }
}

/** The roster's member list: the owner first, then every given member once. Throws on an id that is not a key. */
export function rosterMembers(owner: string, members: readonly string[]): string[] {
  const bad = members.find((m) => !isChorusSenderId(m));
  if (bad !== undefined) {
    throw new RangeError(`roster member ${JSON.stringify(bad)} is not a sender id (64 lowercase hex characters)`);
  }
  return [...new Set([owner, ...members])];
}

/** The senders whose messages a (verified) report names, each with the highest sequence number it claims. */
function reportClaims(roster: RosterIndex, report: Uint8Array): Map<string, number> {
  const out = new Map<string, number>();
  for (const range of decodeReport(report).held) {
    const i = roster.indexOfPrefix(range.senderPrefix);
    const id = i === undefined ? undefined : roster.idAt(i);
    if (id !== undefined) out.set(id, Math.max(out.get(id) ?? 0, range.last));
  }
  return out;
}
