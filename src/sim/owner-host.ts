import type { ChannelEngine, MessageRef, SenderId, Step } from "../core/index.js";
import type { RosterIndex } from "../core/owner/roster.js";
import { OwnerService, OwnerServiceError } from "../core/owner/service.js";
import { nativeVerifier } from "../platform/native-crypto.js";
import type { WireMessage } from "../wire/index.js";
import { encodeOwnerNews, type OwnerNews } from "../wire/owner-codec.js";
import { OwnerClock } from "./owner-clock.js";
import { type DirectPath, fieldBytes, type OwnerRequest, type Ticket, varintBytes } from "./owner-path.js";
import type { SignatureLedger } from "./signature-ledger.js";
import type { World } from "./world.js";

/** Messages per sender whose holders the owner keeps (the member engine tracks as many of its own). */
export const LEDGER_WINDOW = 256;
/** A parked watch is answered after this long at the latest, with the heads that moved: the periodic refresh. */
export const WATCH_HOLD_MS = 30_000;
/** The owner's own holdings go into its ledger at most this often. */
const SELF_REPORT_MS = 250;

/** One message in the owner's store, as it arrived (the real owner node keeps these in SQLite). */
export interface Stored {
  readonly bytes: Uint8Array;
  readonly decoded: WireMessage;
}

/**
 * A member's news as the owner answers it: its encoding, which the path counts and which crosses to another worker,
 * and the news it encodes, which a member in the owner's worker applies without decoding the bytes again (the same
 * value: a decoding is a function of the bytes). `news` is undefined once the answer crossed (`packNews`).
 */
export interface NewsAnswer {
  readonly bytes: Uint8Array;
  readonly news: OwnerNews | undefined;
}

export interface FetchAnswer {
  readonly found: readonly Stored[];
  readonly lacking: readonly MessageRef[];
}

/** A page of the catch-up by range: messages in the order the owner stored them, and where the next page starts. */
export interface RangeAnswer {
  readonly found: readonly Stored[];
  readonly next: number | undefined;
}

interface Parked {
  cursor: number;
  /** The watch's request, answered through the path (`DirectPath.reply`). */
  readonly ticket: Ticket;
}

/**
 * The owner node's side of the direct path in the simulator: the real `OwnerService` (signed reports checked
 * against the roster, the receipt ledger, news), a store of every message the owner holds, by id and by
 * (sender, sequence), and the parked watches of senders waiting for receipts (a long poll). The owner's own
 * engine reports what it holds to its own service, so it counts as a holder like any member.
 *
 * Every service call after the warm-up is timed (`cpuUs`, owner-clock.ts): what the owner pays per message. A
 * signature the simulated members made is recognised rather than verified (signature-ledger.ts); in a timed call
 * it is charged at the CPU cost of a real OpenSSL verification, measured when the run starts (the arithmetic was
 * a ninth of a 1,000-member run, for the same figure). Timing one call in eight and scaling was
 * tried: it overstated the owner's CPU by about 60 % (the one timed call runs with cold caches).
 */
export class OwnerHost {
  readonly service: OwnerService;
  private readonly byId = new Map<string, Stored>();
  private readonly bySender = new Map<string, Map<number, Stored>>();
  /** Every stored message in the order it was stored, with when: the catch-up by range reads it. */
  private readonly log: Stored[] = [];
  private readonly logAt: number[] = [];
  private readonly watches = new Map<number, Parked>();
  /** The newest cursor each member told us it holds: a parked watch never repeats what a member has. */
  private readonly cursors = new Map<number, number>();
  private epoch = 0;
  private selfReportAt = Number.POSITIVE_INFINITY;
  private lastSelfReport = Number.NEGATIVE_INFINITY;
  /** Receipts in the news `newsFor` encoded last. */
  private newsReceipts = 0;
  /** Times the owner's calls (owner-clock.ts). */
  private readonly clock = new OwnerClock();
  readonly counts = { refused: 0, watches_answered: 0, fetched: 0, lacking: 0, caught_up: 0 };

  constructor(
    private readonly world: World,
    private readonly node: number,
    readonly engine: ChannelEngine,
    roster: RosterIndex,
    private readonly senderIds: readonly SenderId[],
    private readonly nodeOf: ReadonlyMap<string, number>,
    private readonly ledger: SignatureLedger,
    private readonly path: DirectPath,
  ) {
    this.service = new OwnerService({
      channelId: engine.channelId,
      roster,
      verify: ledger.verifier(nativeVerifier()),
      window: LEDGER_WINDOW,
    });
  }

  /**
   * A timed call starts: returns its start for `stopTimed`, -1 when it is not timed (the warm-up, or inside a timed
   * call already: a call made of several, such as a report and then its news, is one call). A pair of calls rather
   * than a wrapper taking a closure: the owner serves hundreds of thousands of calls a run.
   */
  private startTimed(): number {
    if (this.world.now < this.world.recorder.measureFrom || this.ledger.charging) return -1;
    const started = this.clock.start();
    this.ledger.charging = true;
    this.ledger.chargedUs = 0;
    return started;
  }

  private stopTimed(started: number): void {
    if (started < 0) return;
    this.ledger.charging = false;
    this.clock.stop(started, this.ledger.chargedUs);
  }

  /** CPU time spent in the owner service and store, in µs, after the warm-up. */
  get cpuUs(): number {
    return this.clock.cpuUs;
  }

  /** The owner came back: its streams died with it, parked watches among them. */
  restart(): void {
    this.epoch++;
    this.watches.clear();
  }

  /**
   * A step of the owner's engine on `bytes`: a content message it now holds goes into the store and the
   * ledger (the sender's head moves). Then its own holdings are reported to its own ledger, batched.
   */
  afterStep(step: Step, bytes: Uint8Array | undefined, decoded: WireMessage | undefined): void {
    if (bytes !== undefined && decoded !== undefined) {
      for (const e of step.events) {
        if (e.type !== "accepted" || e.messageId !== decoded.messageId || e.sequence === undefined) continue;
        const started = this.startTimed();
        try {
          this.store({ bytes, decoded }, e.senderId, e.sequence);
        } finally {
          this.stopTimed(started);
        }
      }
    }
    if (this.engine.owner.hasReport()) this.scheduleSelfReport();
  }

  private store(stored: Stored, sender: string, seq: number): void {
    this.byId.set(stored.decoded.messageId, stored);
    this.log.push(stored);
    this.logAt.push(this.world.now);
    let seqs = this.bySender.get(sender);
    if (seqs === undefined) {
      seqs = new Map();
      this.bySender.set(sender, seqs);
    }
    seqs.set(seq, stored);
    this.service.noteMessage(sender, seq);
  }

  private scheduleSelfReport(): void {
    const w = this.world;
    const at = Math.max(w.now, this.lastSelfReport + SELF_REPORT_MS);
    if (at >= this.selfReportAt) return;
    this.selfReportAt = at;
    w.later(this.node, at, () => {
      if (this.selfReportAt !== at) return;
      this.selfReportAt = Number.POSITIVE_INFINITY;
      this.lastSelfReport = w.now;
      const report = this.engine.owner.takeReport(w.now);
      if (report === undefined) return;
      this.accept(report.bytes, report.token.keys());
      this.engine.owner.reportDone(report.token, true);
    });
  }

  /** Applies a signed report; false when the service refused it. Wakes the watches of the senders it names. */
  private accept(bytes: Uint8Array, senders: Iterable<string>): boolean {
    let ok = true;
    const started = this.startTimed();
    try {
      this.service.acceptReport(bytes);
    } catch (err) {
      if (!(err instanceof OwnerServiceError)) throw err;
      ok = false;
    } finally {
      this.stopTimed(started);
    }
    if (!ok) {
      this.counts.refused++;
      return false;
    }
    for (const sender of senders) {
      const node = this.nodeOf.get(sender);
      if (node !== undefined && this.watches.has(node)) this.wake(node);
    }
    return true;
  }

  private heard(node: number, cursor: number): number {
    const known = Math.max(cursor, this.cursors.get(node) ?? 0);
    this.cursors.set(node, known);
    return known;
  }

  /** The news of `node` since `cursor`, encoded; how many receipts it carries is left in `newsReceipts`. */
  private newsFor(node: number, cursor: number): NewsAnswer {
    const started = this.startTimed();
    try {
      const news = this.service.news(this.senderIds[node]!, cursor);
      this.newsReceipts = news.receipts.length;
      return { bytes: encodeOwnerNews(news), news };
    } finally {
      this.stopTimed(started);
    }
  }

  /**
   * Serves a member's request, answering through the path with the answer's encoded size (a push is the engine's).
   */
  serve(node: number, request: OwnerRequest, ticket: Ticket): void {
    switch (request.kind) {
      case "report": {
        const news = this.report(node, request.bytes, request.cursor, request.senders);
        this.path.reply(ticket, news.bytes.length, news);
        return;
      }
      case "poll": {
        const news = this.poll(node, request.cursor);
        this.path.reply(ticket, news.bytes.length, news);
        return;
      }
      case "watch":
        this.watch(node, request.cursor, ticket);
        return;
      case "fetch": {
        const answer = this.fetch(request.refs);
        this.path.reply(ticket, fetchAnswerBytes(answer), answer);
        return;
      }
      case "range": {
        const answer = this.range(request.since, request.from, request.limit);
        this.path.reply(ticket, rangeAnswerBytes(answer), answer);
        return;
      }
      case "push":
        throw new TypeError(`a push from node ${node} goes to the owner's engine, not to its service`);
    }
  }

  /** A member's receipt report with its cursor (and the senders it names): answered with its news. */
  report(node: number, bytes: Uint8Array, cursor: number, senders: Iterable<string>): NewsAnswer {
    const started = this.startTimed();
    try {
      const known = this.heard(node, cursor);
      this.accept(bytes, senders);
      return this.newsFor(node, known);
    } finally {
      this.stopTimed(started);
    }
  }

  /** News since `cursor`, at once: heads at (re)connection, or a probe with nothing to report. */
  poll(node: number, cursor: number): NewsAnswer {
    return this.newsFor(node, this.heard(node, cursor));
  }

  /** A sender's long poll for receipts of its messages: answered when there are some, else parked. */
  watch(node: number, cursor: number, ticket: Ticket): void {
    const known = this.heard(node, cursor);
    const news = this.newsFor(node, known);
    if (this.newsReceipts > 0) {
      this.counts.watches_answered++;
      this.path.reply(ticket, news.bytes.length, news);
      return;
    }
    const parked: Parked = { cursor: known, ticket };
    this.watches.set(node, parked);
    const epoch = this.epoch;
    this.world.later(this.node, this.world.now + WATCH_HOLD_MS, () => {
      if (this.epoch !== epoch || this.watches.get(node) !== parked) return;
      this.watches.delete(node);
      const news = this.newsFor(node, this.heard(node, parked.cursor));
      this.path.reply(ticket, news.bytes.length, news);
    });
  }

  private wake(node: number): void {
    const parked = this.watches.get(node)!;
    const news = this.newsFor(node, this.heard(node, parked.cursor));
    if (this.newsReceipts === 0) return;
    this.watches.delete(node);
    this.counts.watches_answered++;
    this.path.reply(parked.ticket, news.bytes.length, news);
  }

  /** Messages by id or by (sender, sequence), from the store; what it lacks is named. */
  fetch(refs: readonly MessageRef[]): FetchAnswer {
    const started = this.startTimed();
    try {
      const found: Stored[] = [];
      const seen = new Set<Stored>();
      const lacking: MessageRef[] = [];
      for (const ref of refs) {
        let hit = ref.messageId === undefined ? undefined : this.byId.get(ref.messageId);
        if (hit === undefined && ref.senderId !== undefined && ref.sequence !== undefined) {
          hit = this.bySender.get(ref.senderId)?.get(ref.sequence);
        }
        if (hit === undefined) lacking.push(ref);
        else if (!seen.has(hit)) {
          seen.add(hit);
          found.push(hit);
        }
      }
      this.counts.fetched += found.length;
      this.counts.lacking += lacking.length;
      return { found, lacking };
    } finally {
      this.stopTimed(started);
    }
  }

  /**
   * Catch-up after an offline period (the owner node's history range): up to `limit` messages stored at or
   * after `since`, or from position `from` of a previous page, in the order they were stored.
   */
  range(since: number, from: number | undefined, limit: number): RangeAnswer {
    const started = this.startTimed();
    try {
      let start = from;
      if (start === undefined) {
        let lo = 0;
        let hi = this.logAt.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (this.logAt[mid]! < since) lo = mid + 1;
          else hi = mid;
        }
        start = lo;
      }
      const end = Math.min(this.log.length, start + limit);
      this.counts.caught_up += end - start;
      return { found: this.log.slice(start, end), next: end < this.log.length ? end : undefined };
    } finally {
      this.stopTimed(started);
    }
  }
}

/** Encoded size of a catch-up page: its messages and the next position. */
export function rangeAnswerBytes(answer: RangeAnswer): number {
  let n = 0;
  for (const m of answer.found) n += fieldBytes(m.bytes.length);
  return answer.next === undefined ? n : n + 1 + varintBytes(answer.next);
}

/** Encoded size of a fetch answer: each message as it was signed (length-prefixed), then the refs it lacks. */
export function fetchAnswerBytes(answer: FetchAnswer): number {
  let n = 0;
  for (const m of answer.found) n += fieldBytes(m.bytes.length);
  return n + refsBytes(answer.lacking);
}

/**
 * Encoded size of a list of message refs as a fetch request carries them: an id as its 32 bytes, a run of one
 * sender's sequence numbers as a HeldRange (8-byte key prefix, first, last).
 */
export function refsBytes(refs: readonly MessageRef[]): number {
  let n = 0;
  const runs = new Map<string, number[]>();
  for (const ref of refs) {
    if (ref.senderId !== undefined && ref.sequence !== undefined) {
      let seqs = runs.get(ref.senderId);
      if (seqs === undefined) {
        seqs = [];
        runs.set(ref.senderId, seqs);
      }
      seqs.push(ref.sequence);
    } else n += fieldBytes(32);
  }
  for (const seqs of runs.values()) {
    seqs.sort((a, b) => a - b);
    for (let i = 0; i < seqs.length; ) {
      let j = i;
      while (j + 1 < seqs.length && seqs[j + 1]! <= seqs[j]! + 1) j++;
      n += fieldBytes(fieldBytes(8) + 1 + varintBytes(seqs[i]!) + 1 + varintBytes(seqs[j]!));
      i = j + 1;
    }
  }
  return n;
}
