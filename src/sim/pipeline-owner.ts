// The owner path of the pipeline world (pipeline-world.ts): each member's direct, unicast link to the owner
// node, as the node runs it (spec/chorus.md, section 14.3). Members report what they hold and keep a watch
// open for news (receipts of their own messages, every sender's head), and fetch what they miss from the
// owner's store; what a segment set holds back (`engine.holdRepair`) is fetched when its hold ends. The
// owner side is the real `OwnerService` and a store of every message the owner accepted. The link is a
// stream: reliable, one link latency each way, an answer's bytes leaving at the owner's uplink rate.
import type { ChannelEngine, MessageRef, SenderId, Step } from "../core/index.js";
import type { ReportToken } from "../core/owner/link.js";
import { openRoster, type RosterIndex, signRoster } from "../core/owner/roster.js";
import { OwnerService } from "../core/owner/service.js";
import { nativeSigner, nativeVerifier } from "../platform/native-crypto.js";

/** What the owner path needs of the world around it. */
export interface PathHost {
  readonly now: number;
  readonly ownerIndex: number;
  engine(i: number): ChannelEngine;
  /** Runs `fn` at `at` (simulated time). */
  later(at: number, fn: () => void): void;
  /** One-way delay of a unicast message of `bytes` bytes from node `from` to node `to`. */
  unicastDelay(from: number, to: number, bytes: number): number;
  /** Runs a step of node `i`'s engine through the world; `received` is the message it took, if any. */
  handle(i: number, step: Step, received?: Uint8Array): void;
  /** The owner answered a fetch of node `to` with these engine bytes (a message it lacked). */
  fetched(to: number, bytes: Uint8Array): void;
  /** Node `i` asked the owner for `refs` messages. */
  asked(i: number, refs: number): void;
}

/** Gaps found together are fetched together (the reference node batches for 20 ms). */
const FETCH_DEBOUNCE_MS = 20;
/** A member reports at most this often while it has news (the reference: 250 ms). */
const REPORT_INTERVAL_MS = 250;
/** A watch is answered after this long at the latest (the reference: 20 s). */
const WATCH_HOLD_MS = 20_000;
/** News is applied this long after it arrives: a head the owner just got is usually still on its way over the topic. */
const HEADS_GRACE_MS = 1_000;
/** A new head wakes the watches at most this often. */
const WAKE_EVERY_MS = 1_000;
/** Messages per sender whose holders the owner keeps. */
const LEDGER_WINDOW = 256;
/** Bytes of a ref in a fetch request (a sender sequence range, or an id). */
const REF_BYTES = 40;

const refKey = (r: MessageRef): string => r.messageId ?? `${r.senderId}:${r.sequence}`;

/** Per member: its side of the path. */
interface Member {
  readonly i: number;
  readonly id: SenderId;
  /** When the next fetch is scheduled (Infinity: none). */
  fetchAt: number;
  /** Refs asked of the owner and not answered yet. */
  readonly asked: Set<string>;
  reportAt: number;
  lastReportAt: number;
  reporting: boolean;
  watching: boolean;
}

/** Figures of the path: calls, and the bytes of fetch answers (repair carried unicast). */
export interface PathFigures {
  fetches: number;
  fetchRequestBytes: number;
  fetchedMessages: number;
  fetchAnswerBytes: number;
  reports: number;
  news: number;
}

export class PipelineOwnerPath {
  readonly figures: PathFigures = {
    fetches: 0,
    fetchRequestBytes: 0,
    fetchedMessages: 0,
    fetchAnswerBytes: 0,
    reports: 0,
    news: 0,
  };
  private readonly service: OwnerService;
  private readonly roster: RosterIndex;
  private readonly members = new Map<number, Member>();
  private readonly byId = new Map<string, Uint8Array>();
  private readonly bySeq = new Map<string, Uint8Array>();
  /** Parked watches: member index → its cursor. */
  private readonly parked = new Map<number, number>();
  private wakeAt = Number.NEGATIVE_INFINITY;
  private wakePending = false;

  constructor(
    private readonly host: PathHost,
    channelId: string,
    ids: readonly SenderId[],
    ownerSecret: Uint8Array,
  ) {
    const owner = ids[host.ownerIndex] as SenderId;
    const signed = signRoster({ channelId, version: 1, members: ids, owner }, nativeSigner(ownerSecret));
    this.roster = openRoster(signed, channelId, owner, nativeVerifier());
    this.service = new OwnerService({
      channelId,
      roster: this.roster,
      verify: nativeVerifier(),
      window: LEDGER_WINDOW,
    });
    ids.forEach((id, i) => {
      host.engine(i).owner.setRoster(this.roster);
      if (i === host.ownerIndex) return;
      const m: Member = {
        i,
        id,
        fetchAt: Number.POSITIVE_INFINITY,
        asked: new Set(),
        reportAt: Number.POSITIVE_INFINITY,
        lastReportAt: Number.NEGATIVE_INFINITY,
        reporting: false,
        watching: false,
      };
      this.members.set(i, m);
      host.engine(i).setOwnerPath(true, host.now);
      this.watch(m);
    });
  }

  /** After every engine step of node `i` (`received`: the engine bytes of the message it took, if any). */
  afterStep(i: number, step: Step, received: Uint8Array | undefined): void {
    if (i === this.host.ownerIndex) {
      this.store(step, received);
      return;
    }
    const m = this.members.get(i);
    if (m === undefined) return;
    this.scheduleFetch(m, this.host.now + FETCH_DEBOUNCE_MS);
    if (this.host.engine(i).owner.hasReport()) this.scheduleReport(m);
  }

  /** The owner took a content message: into its store and its ledger (the sender's head moves). */
  private store(step: Step, bytes: Uint8Array | undefined): void {
    if (bytes === undefined) return;
    for (const e of step.events) {
      if (e.type !== "accepted" || e.sequence === undefined) continue;
      this.byId.set(e.messageId, bytes);
      this.bySeq.set(`${e.senderId}:${e.sequence}`, bytes);
      this.service.noteMessage(e.senderId, e.sequence);
      this.wakeSoon();
    }
  }

  private scheduleFetch(m: Member, at: number): void {
    if (at >= m.fetchAt) return;
    m.fetchAt = at;
    this.host.later(at, () => {
      if (m.fetchAt !== at) return;
      m.fetchAt = Number.POSITIVE_INFINITY;
      this.fetch(m);
    });
  }

  /** What the engine misses and does not hold back, not already asked: one request; the answers go to the engine. */
  private fetch(m: Member): void {
    const now = this.host.now;
    const engine = this.host.engine(m.i);
    const { refs, heldUntil } = engine.owner.fetchable(now);
    if (heldUntil !== undefined) this.scheduleFetch(m, heldUntil);
    const ask = refs.filter((r) => !m.asked.has(refKey(r)));
    if (ask.length === 0) return;
    for (const r of ask) m.asked.add(refKey(r));
    const requestBytes = ask.length * REF_BYTES;
    this.figures.fetches++;
    this.host.asked(m.i, ask.length);
    this.figures.fetchRequestBytes += requestBytes;
    const owner = this.host.ownerIndex;
    this.host.later(now + this.host.unicastDelay(m.i, owner, requestBytes), () => {
      const found = new Set<Uint8Array>();
      const lacking: MessageRef[] = [];
      for (const r of ask) {
        const hit =
          (r.messageId === undefined ? undefined : this.byId.get(r.messageId)) ??
          (r.senderId === undefined ? undefined : this.bySeq.get(`${r.senderId}:${r.sequence}`));
        if (hit === undefined) lacking.push(r);
        else found.add(hit);
      }
      let answerBytes = lacking.length * REF_BYTES;
      for (const b of found) answerBytes += b.length;
      this.host.later(this.host.now + this.host.unicastDelay(owner, m.i, answerBytes), () =>
        this.fetched(m, ask, found, lacking),
      );
    });
  }

  private fetched(
    m: Member,
    asked: readonly MessageRef[],
    found: ReadonlySet<Uint8Array>,
    lacking: MessageRef[],
  ): void {
    const now = this.host.now;
    const engine = this.host.engine(m.i);
    for (const r of asked) m.asked.delete(refKey(r));
    for (const bytes of found) {
      this.figures.fetchedMessages++;
      this.figures.fetchAnswerBytes += bytes.length;
      this.host.fetched(m.i, bytes);
      this.host.handle(m.i, engine.receive(bytes, now, undefined, { requested: true }), bytes);
    }
    // What the owner does not hold goes to the topic (section 14.3.4).
    if (lacking.length > 0) engine.owner.lacks(lacking, now);
    this.host.handle(m.i, { outgoing: [], events: [] });
  }

  private scheduleReport(m: Member): void {
    const at = Math.max(this.host.now, m.lastReportAt + REPORT_INTERVAL_MS);
    if (m.reporting || at >= m.reportAt) return;
    m.reportAt = at;
    this.host.later(at, () => {
      if (m.reportAt !== at) return;
      m.reportAt = Number.POSITIVE_INFINITY;
      this.report(m);
    });
  }

  /** A signed report of what the owner has not been told, answered with the member's news. */
  private report(m: Member): void {
    const engine = this.host.engine(m.i);
    const r = engine.owner.takeReport(this.host.now);
    if (r === undefined) return;
    m.reporting = true;
    m.lastReportAt = this.host.now;
    this.figures.reports++;
    const cursor = engine.owner.cursor();
    const owner = this.host.ownerIndex;
    this.host.later(this.host.now + this.host.unicastDelay(m.i, owner, r.bytes.length), () => {
      this.service.acceptReport(r.bytes);
      const news = this.service.newsBytes(m.id, cursor);
      this.wakeSoon();
      this.host.later(this.host.now + this.host.unicastDelay(owner, m.i, news.length), () =>
        this.reported(m, r.token, news),
      );
    });
  }

  private reported(m: Member, token: ReportToken, news: Uint8Array): void {
    m.reporting = false;
    this.host.engine(m.i).owner.reportDone(token, true);
    this.applyLater(m, news);
    if (this.host.engine(m.i).owner.hasReport()) this.scheduleReport(m);
  }

  /** News is applied after the grace: heads of messages still on their way over the topic open no gap. */
  private applyLater(m: Member, news: Uint8Array): void {
    this.figures.news++;
    this.host.later(this.host.now + HEADS_GRACE_MS, () => {
      const step = this.host.engine(m.i).owner.applyNews(news, this.host.now);
      this.host.handle(m.i, step);
      this.afterStep(m.i, step, undefined);
    });
  }

  /** The member's one open watch: parked at the owner until there is news for it, or WATCH_HOLD_MS. */
  private watch(m: Member): void {
    if (m.watching) return;
    m.watching = true;
    const cursor = this.host.engine(m.i).owner.cursor();
    const owner = this.host.ownerIndex;
    this.host.later(this.host.now + this.host.unicastDelay(m.i, owner, 80), () => {
      this.parked.set(m.i, cursor);
      if (this.service.hasNews(m.id, cursor)) this.answerWatch(m);
      else {
        this.host.later(this.host.now + WATCH_HOLD_MS, () => {
          if (this.parked.get(m.i) === cursor) this.answerWatch(m);
        });
      }
    });
  }

  private answerWatch(m: Member): void {
    const cursor = this.parked.get(m.i);
    if (cursor === undefined) return;
    this.parked.delete(m.i);
    const news = this.service.newsBytes(m.id, cursor);
    this.host.later(this.host.now + this.host.unicastDelay(this.host.ownerIndex, m.i, news.length), () => {
      m.watching = false;
      this.applyLater(m, news);
      this.host.later(this.host.now + HEADS_GRACE_MS, () => this.watch(m));
    });
  }

  /** News appeared at the owner: the watches waiting for it are answered, at most once per WAKE_EVERY_MS. */
  private wakeSoon(): void {
    if (this.wakePending) return;
    this.wakePending = true;
    const at = Math.max(this.host.now, this.wakeAt + WAKE_EVERY_MS);
    this.wakeAt = at;
    this.host.later(at, () => {
      this.wakePending = false;
      for (const [i, cursor] of [...this.parked]) {
        const m = this.members.get(i) as Member;
        if (this.service.hasNews(m.id, cursor)) this.answerWatch(m);
      }
    });
  }
}
