import type { ChannelEngine, MessageRef, SenderId, Step } from "../core/index.js";
import type { ReportToken } from "../core/owner/link.js";
import type { WireMessage } from "../wire/index.js";
import {
  type FetchAnswer,
  type NewsAnswer,
  type RangeAnswer,
  refsBytes,
  type Stored,
  WATCH_HOLD_MS,
} from "./owner-host.js";
import { type Call, type DirectPath, fieldBytes, type OwnerRequest, varintBytes } from "./owner-path.js";
import type { Publication, World } from "./world.js";

/** While the owner is unreachable, a member probes it this often. */
const PROBE_MS = 5_000;
/** The path is down after this many failed calls in a row ... */
const DOWN_AFTER_FAILURES = 2;
/** ... or after one failure when nothing was answered for this long. */
const DOWN_AFTER_SILENCE_MS = 10_000;
/** Gaps found together are fetched together: a fetch waits this long for more. */
const FETCH_DEBOUNCE_MS = 5;
/** A message asked of the owner is not asked again before this (its answer may be under way). */
const FETCH_AGAIN_MS = 2_000;
const MAX_REFS_PER_FETCH = 1_000;
/**
 * A message the owner lacked is asked of it once more after this long before the topic is asked: the owner
 * lacks mostly what is still on its way to it (a gap seen from a later message that overtook it).
 */
const LACK_RETRY_MS = 1_000;
/** Back from offline: the catch-up starts this long before the owner was last heard from. */
const CATCH_UP_MARGIN_MS = 5_000;
const CATCH_UP_PAGE = 500;
/** Topic messages held back during a catch-up, at most. */
const MAX_HELD = 20_000;

/** What a member's client needs from the protocol around it. */
export interface PathContext {
  readonly world: World;
  readonly path: DirectPath;
  /** Runs a member's step through the protocol: metrics, publications, and back to the member's client. */
  handle(node: number, step: Step, now: number): void;
  /** The measured index of a content message, -1 for an unmeasured one. */
  indexOf(messageId: string): number;
}

/** The client's timers (`OwnerClient.fire`): a due report, a debounced fetch, a probe of a path that is down. */
const REPORT_TIMER = 0;
const FETCH_TIMER = 1;
const PROBE_TIMER = 2;
const TIMERS = 4;
/** The world channel of the clients' timers: its data is the timer's epoch × TIMERS + which timer. */
export const CLIENT_TIMER = "client/timer";

/** Registers the clients' timers in `world`: `clientOf` finds the client of a node. */
export function registerClientTimers(world: World, clientOf: (node: number) => OwnerClient | undefined): void {
  world.channel(CLIENT_TIMER, { run: (node, data) => clientOf(node)?.fire(data as number) });
}

/**
 * One call a member made, with what its answer needs (the report's token, the fetch's refs, the range's start):
 * an object with methods rather than closures per call, as a run makes millions of them.
 */
class ClientCall implements Call<unknown> {
  deadline = Number.NaN;

  constructor(
    private readonly client: OwnerClient,
    readonly epoch: number,
    readonly node: number,
    readonly request: OwnerRequest,
    readonly requestBytes: number,
    readonly context: unknown,
    readonly holdMs?: number,
  ) {}

  onAnswer(answer: unknown): void {
    this.client.answered(this, answer);
  }

  onFail(): void {
    this.client.failed(this);
  }
}

function refKey(ref: MessageRef): string {
  return ref.messageId ?? `${ref.senderId}:${ref.sequence}`;
}

/** Bytes of a request that names the member and its news cursor (a poll or a watch). */
function cursorRequestBytes(member: string, cursor: number): number {
  return fieldBytes(member.length) + 1 + varintBytes(cursor);
}

/**
 * A member's end of the direct path to the owner, driving the real engine's owner API: receipt reports (at most
 * every `reportIntervalMs` while there is news, less often on a roster larger than `ownerReportRate` / 4) answered with the member's news, one parked watch for receipts
 * of its own messages, gap fill by one batched fetch, its own messages pushed to the owner, and the path's
 * state: up after an answer, down after failures (the engine then falls back to the topic), probed while down.
 */
export class OwnerClient {
  /** Incremented when the member comes back online: what was under way before is void. */
  private epoch = 0;
  private up = false;
  private failures = 0;
  private lastAnswerAt = Number.NEGATIVE_INFINITY;
  private reportToken: ReportToken | undefined;
  private lastReportAt = Number.NEGATIVE_INFINITY;
  private reportAt = Number.POSITIVE_INFINITY;
  private polling = false;
  private watching = false;
  private fetchAt = Number.POSITIVE_INFINITY;
  private probeAt = Number.POSITIVE_INFINITY;
  private readonly asked = new Map<string, number>();
  /** Refs the owner lacked once (asked again after LACK_RETRY_MS, then left to the topic). */
  private readonly lacked = new Set<string>();
  /** A catch-up by range is under way: gaps wait for it rather than being fetched one by one. */
  private catchingUp = false;
  /** Topic messages that arrived during the catch-up, delivered after it. */
  private held: Publication[] = [];

  constructor(
    private readonly ctx: PathContext,
    private readonly node: number,
    private readonly engine: ChannelEngine,
    private readonly self: SenderId,
    private readonly joinedAt: number,
  ) {}

  /**
   * Joined or back online: what was under way is lost. Back from offline, the member first catches up by range
   * (everything the owner stored since it was last heard from, in order), then asks for news (heads); a member
   * that just joined asks for news at once.
   */
  connect(now: number): void {
    const since = Number.isFinite(this.lastAnswerAt) ? this.lastAnswerAt : this.joinedAt;
    const returning = now > this.joinedAt;
    this.epoch++;
    if (this.reportToken !== undefined) this.engine.owner.reportDone(this.reportToken, false);
    this.reportToken = undefined;
    this.polling = false;
    this.watching = false;
    this.reportAt = Number.POSITIVE_INFINITY;
    this.fetchAt = Number.POSITIVE_INFINITY;
    this.probeAt = Number.POSITIVE_INFINITY;
    this.asked.clear();
    this.lacked.clear();
    this.catchingUp = false;
    if (returning) this.catchUp(since - CATCH_UP_MARGIN_MS, undefined);
    else this.poll();
    if (this.engine.owner.hasReport()) this.scheduleReport(now);
    this.scheduleProbe(now + PROBE_MS);
  }

  /** After every engine step of this member; `missing`: the step found messages missing. */
  afterStep(missing: boolean, now: number): void {
    if (this.up && missing) this.scheduleFetch(now);
    if (this.up && !this.catchingUp && this.reportToken === undefined && this.engine.owner.hasReport()) {
      this.scheduleReport(now);
    }
  }

  /** Runs timer `which` at `at` if this member is online then and nothing voided it (`fire`). */
  private later(at: number, which: number): void {
    this.ctx.world.deliver(this.node, at, CLIENT_TIMER, this.epoch * TIMERS + which);
  }

  /** A timer of `later` is due now: `timer` is its epoch and which it is. */
  fire(timer: number): void {
    if (Math.floor(timer / TIMERS) !== this.epoch) return;
    const now = this.ctx.world.now;
    switch (timer % TIMERS) {
      case REPORT_TIMER:
        if (this.reportAt !== now) return;
        this.reportAt = Number.POSITIVE_INFINITY;
        if (this.up && !this.catchingUp) this.report(now);
        return;
      case FETCH_TIMER:
        if (this.fetchAt !== now) return;
        this.fetchAt = Number.POSITIVE_INFINITY;
        if (this.up) this.fetch(now);
        return;
      case PROBE_TIMER:
        if (this.probeAt !== now) return;
        this.probeAt = Number.POSITIVE_INFINITY;
        if (this.up) return;
        if (!this.report(now)) this.poll();
        this.scheduleProbe(now + PROBE_MS);
        return;
    }
  }

  /** Calls the owner; `context` is what the answer needs (`answered`, `failed`). */
  private call(request: OwnerRequest, requestBytes: number, context?: unknown, holdMs?: number): void {
    this.ctx.path.call(new ClientCall(this, this.epoch, this.node, request, requestBytes, context, holdMs));
  }

  /** The owner answered `call`: unless the member went offline since, the answer goes in, and the path is up. */
  answered(call: ClientCall, answer: unknown): void {
    if (call.epoch !== this.epoch) return;
    const now = this.ctx.world.now;
    switch (call.request.kind) {
      case "report": {
        const token = call.context as ReportToken;
        this.reportToken = undefined;
        this.engine.owner.reportDone(token, true);
        this.applyNews(answer as NewsAnswer, now);
        if (this.engine.owner.hasReport()) this.scheduleReport(now);
        break;
      }
      case "poll":
        this.polling = false;
        this.applyNews(answer as NewsAnswer, now);
        break;
      case "range": {
        const page = answer as RangeAnswer;
        this.take(page.found, now);
        if (page.next !== undefined) this.catchUp(call.context as number, page.next);
        else this.caughtUp(now);
        break;
      }
      case "fetch":
        this.fetched(answer as FetchAnswer, now);
        break;
      case "watch":
        this.watching = false;
        this.applyNews(answer as NewsAnswer, now);
        this.success(now);
        this.watch();
        return;
      case "push":
        break;
    }
    this.success(now);
  }

  /** `call` timed out (the member learns of a failure no other way). */
  failed(call: ClientCall): void {
    if (call.epoch !== this.epoch) return;
    const now = this.ctx.world.now;
    switch (call.request.kind) {
      case "report":
        this.reportToken = undefined;
        this.engine.owner.reportDone(call.context as ReportToken, false);
        break;
      case "poll":
        this.polling = false;
        break;
      case "range":
        this.caughtUp(now);
        break;
      case "fetch":
        for (const ref of call.context as MessageRef[]) this.asked.delete(refKey(ref));
        break;
      case "watch":
        this.watching = false;
        this.failure(now);
        this.watch();
        return;
      case "push":
        break;
    }
    this.failure(now);
  }

  /** The owner's news into the engine: decoded already when it did not cross from another worker (`NewsAnswer`). */
  private applyNews(answer: NewsAnswer, now: number): void {
    const owner = this.engine.owner;
    const step =
      answer.news === undefined ? owner.applyNews(answer.bytes, now) : owner.applyDecodedNews(answer.news, now);
    this.ctx.handle(this.node, step, now);
  }

  private scheduleReport(now: number): void {
    const s = this.ctx.world.scenario;
    const at = Math.max(
      now,
      this.lastReportAt + this.engine.owner.reportIntervalMs(s.reportIntervalMs, s.ownerReportRate),
    );
    if (at >= this.reportAt) return;
    this.reportAt = at;
    this.later(at, REPORT_TIMER);
  }

  /** A signed report of what the owner has not been told, with our cursor; the answer is our news. */
  private report(now: number): boolean {
    if (this.reportToken !== undefined) return true;
    const r = this.engine.owner.takeReport(now);
    if (r === undefined) return false;
    this.reportToken = r.token;
    this.lastReportAt = now;
    const cursor = this.engine.owner.cursor();
    this.call(
      { kind: "report", bytes: r.bytes, cursor, senders: [...r.token.keys()] },
      fieldBytes(r.bytes.length) + 1 + varintBytes(cursor),
      r.token,
    );
    return true;
  }

  /** News since our cursor, answered at once: heads when we (re)connect, and the probe while the path is down. */
  private poll(): void {
    if (this.polling) return;
    this.polling = true;
    const cursor = this.engine.owner.cursor();
    this.call({ kind: "poll", cursor }, cursorRequestBytes(this.self, cursor));
  }

  /** One page of the catch-up by range, fed to the engine in the order the messages were sent; then the next. */
  private catchUp(since: number, from: number | undefined): void {
    this.catchingUp = true;
    const request = cursorRequestBytes(this.self, since) + (from === undefined ? 0 : 1 + varintBytes(from));
    this.call({ kind: "range", since, from, limit: CATCH_UP_PAGE }, request, since);
  }

  /**
   * The catch-up is over (or failed): news, reports and the watch resume. They wait for it, since heads
   * naming senders the catch-up has not reached yet would make it deliver their messages as old history.
   */
  private caughtUp(now: number): void {
    this.catchingUp = false;
    const held = this.held;
    this.held = [];
    for (const pub of held) {
      const step = this.engine.receive(pub.bytes, now, pub.decoded as WireMessage);
      this.ctx.handle(this.node, step, now);
    }
    this.poll();
    if (this.engine.owner.hasReport()) this.scheduleReport(now);
  }

  /**
   * A topic message arriving during a catch-up waits for the end of it: the catch-up brings each sender's
   * messages oldest first, and a newer one taken before them would make them look like history from before
   * our first contact with their sender (see `SenderTable.firstContact`). Returns true when it was held.
   */
  hold(pub: Publication): boolean {
    if (!this.catchingUp || this.held.length >= MAX_HELD) return false;
    this.held.push(pub);
    return true;
  }

  /** Messages from the owner into the engine, each sender's in order. */
  private take(found: readonly Stored[], now: number): void {
    // Compared, not subtracted: a bigint difference is an allocation per comparison.
    const sorted = [...found].sort((a, b) => {
      const x = a.decoded.lamportTimestamp ?? 0n;
      const y = b.decoded.lamportTimestamp ?? 0n;
      return x < y ? -1 : x > y ? 1 : 0;
    });
    const rec = this.ctx.world.recorder;
    for (const m of sorted) {
      const x = this.ctx.indexOf(m.decoded.messageId);
      if (x >= 0) rec.arrived(this.node, x, now);
      const step = this.engine.receive(m.bytes, now, m.decoded, { requested: true });
      this.ctx.handle(this.node, step, now);
    }
  }

  /** One outstanding long poll for receipts of our messages (and, every WATCH_HOLD_MS, heads). */
  private watch(): void {
    if (!this.up || this.watching || this.catchingUp) return;
    this.watching = true;
    const cursor = this.engine.owner.cursor();
    this.call({ kind: "watch", cursor }, cursorRequestBytes(this.self, cursor), undefined, WATCH_HOLD_MS);
  }

  private scheduleFetch(now: number, delay = FETCH_DEBOUNCE_MS): void {
    const at = now + delay;
    if (at >= this.fetchAt) return;
    this.fetchAt = at;
    this.later(at, FETCH_TIMER);
  }

  /**
   * Everything the engine misses and has not just asked for, in one request; answers go into the engine. What a
   * segment set holds back is fetched when the hold ends, as the node does (src/node/owner-client.ts).
   */
  private fetch(now: number): void {
    if (this.catchingUp) return;
    const { refs: fetchable, heldUntil } = this.engine.owner.fetchable(now);
    if (heldUntil !== undefined) this.scheduleFetch(now, heldUntil - now);
    const refs: MessageRef[] = [];
    for (const ref of fetchable) {
      const key = refKey(ref);
      const at = this.asked.get(key);
      if (at !== undefined && now - at < FETCH_AGAIN_MS) continue;
      this.asked.set(key, now);
      refs.push(ref);
      if (refs.length >= MAX_REFS_PER_FETCH) break;
    }
    if (this.asked.size > 4 * MAX_REFS_PER_FETCH) {
      for (const [key, at] of this.asked) if (now - at >= FETCH_AGAIN_MS) this.asked.delete(key);
    }
    if (refs.length === 0) return;
    this.call({ kind: "fetch", refs }, fieldBytes(this.self.length) + refsBytes(refs), refs);
  }

  private fetched(answer: FetchAnswer, now: number): void {
    this.take(answer.found, now);
    if (answer.lacking.length === 0) return;
    const topic: MessageRef[] = [];
    for (const ref of answer.lacking) {
      const key = refKey(ref);
      if (this.lacked.delete(key)) topic.push(ref);
      else {
        this.lacked.add(key);
        this.asked.set(key, now + LACK_RETRY_MS - FETCH_AGAIN_MS);
      }
    }
    if (this.lacked.size > MAX_REFS_PER_FETCH) this.lacked.clear();
    if (topic.length > 0) this.engine.owner.lacks(topic, now);
    if (topic.length < answer.lacking.length) this.scheduleFetch(now, LACK_RETRY_MS);
  }

  /** Our own message, pushed to the owner as it goes out on the topic (the owner decodes it). */
  push(bytes: Uint8Array, x: number): void {
    if (!this.up) return;
    this.call({ kind: "push", bytes, x }, fieldBytes(bytes.length));
  }

  private success(now: number): void {
    this.failures = 0;
    this.lastAnswerAt = now;
    if (!this.up) {
      this.up = true;
      this.engine.setOwnerPath(true, now);
      if (this.engine.owner.hasReport()) this.scheduleReport(now);
    }
    this.watch();
    if (this.engine.missingCount() > 0) this.scheduleFetch(now);
  }

  private failure(now: number): void {
    this.failures++;
    if (!this.up) return;
    if (this.failures >= DOWN_AFTER_FAILURES || now - this.lastAnswerAt >= DOWN_AFTER_SILENCE_MS) {
      this.up = false;
      this.engine.setOwnerPath(false, now);
      this.scheduleProbe(now + PROBE_MS);
    }
  }

  /** While the path is down: a report if there is one, else a poll, every PROBE_MS. */
  private scheduleProbe(at: number): void {
    if (at >= this.probeAt) return;
    this.probeAt = at;
    this.later(at, PROBE_TIMER);
  }
}
