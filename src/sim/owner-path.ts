import type { MessageRef } from "../core/index.js";
import type { OwnerPathFigures } from "./metrics.js";
import { CopyKey } from "./network.js";
import { reviveHistogram } from "./recorder-merge.js";
import { Histogram, round } from "./stats.js";
import type { World } from "./world.js";

/** z such that P(Z <= z) = 0.99 for a standard normal Z. */
const Z99 = 2.326347874;

/** What a member asks the owner over its direct path. */
export type CallKind = "report" | "poll" | "watch" | "fetch" | "range" | "push";
const KINDS: readonly CallKind[] = ["report", "poll", "watch", "fetch", "range", "push"];

/** How long a member waits for an answer beyond the path's own delays before it counts the call as failed. */
export const CALL_TIMEOUT_MS = 2_000;

/** What a member asks the owner, as data: the owner may be in another worker. */
export type OwnerRequest =
  | {
      readonly kind: "report";
      readonly bytes: Uint8Array;
      readonly cursor: number;
      readonly senders: readonly string[];
    }
  | { readonly kind: "poll" | "watch"; readonly cursor: number }
  | { readonly kind: "fetch"; readonly refs: readonly MessageRef[] }
  | { readonly kind: "range"; readonly since: number; readonly from: number | undefined; readonly limit: number }
  | { readonly kind: "push"; readonly bytes: Uint8Array; readonly x: number };

/**
 * The owner's side: serves a request from `node`, answering now or later (a parked watch) by handing `ticket` to
 * `DirectPath.reply` with the answer: the request on its way is the ticket, no closure per request.
 */
export type OwnerServer = (node: number, request: OwnerRequest, ticket: Ticket) => void;

/**
 * How an answer crosses to another worker and back: messages as their bytes only, decoded again on arrival (to
 * the same value: a decoding is a function of the bytes). `undefined` for answers that are plain data.
 */
export interface AnswerCodec {
  pack(kind: CallKind, answer: unknown): unknown;
  unpack(kind: CallKind, packed: unknown): unknown;
}

export interface Call<A> {
  readonly node: number;
  readonly request: OwnerRequest;
  readonly requestBytes: number;
  readonly onAnswer: (answer: A) => void;
  readonly onFail: () => void;
  /** Extra wait before the member gives up, on top of CALL_TIMEOUT_MS and the path's p99 round trip. */
  readonly holdMs?: number;
  /**
   * When the member gives up, set by `DirectPath.call` (its timeout runs only if the member is online then): kept
   * on the call, not in a record beside it, as a run makes millions of calls.
   */
  deadline: number;
  /** The world's handle of the call's timeout (`World.deliver`), set by `DirectPath.call`. */
  timeout?: number;
}

/** Per kind of call: how many, how many failed, and the bytes each way. */
interface KindTally {
  calls: number;
  failures: number;
  request_bytes: number;
  answer_bytes: number;
}

/** What one shard's share of the direct path measured, with the owner's figures from the shard that holds it. */
export interface OwnerPathParts {
  readonly tally: Record<string, KindTally>;
  readonly latency: Histogram;
  readonly timeoutMs: number;
  readonly ownerBytes: number;
  readonly owner: { readonly detail: Record<string, unknown>; readonly cpuUs: number } | undefined;
}

/** A request the owner holds until it answers (`DirectPath.reply`); only the path reads it. */
export type Ticket = InFlight;

/**
 * A call on its way: the request at the owner, or the answer back at the member (the same object, turned into the
 * answer by `DirectPath.reply`: the owner is done with a ticket once it answers).
 */
interface InFlight {
  readonly node: number;
  readonly n: number;
  readonly kind: CallKind;
  readonly requestBytes: number;
  request: OwnerRequest | undefined;
  bytes: number;
  answer: unknown;
}

/**
 * A call whose timeout fell while its member was offline waits for an answer that may still come; after this long
 * past its deadline none can (a leg would be thousands of times its median), and it is forgotten.
 */
const FORGET_AFTER_MS = 600_000;

const REQUEST = "path/request";
const ANSWER = "path/answer";
/** A call's timeout, on its member's node (which is local): the data is the call's key. */
const TIMEOUT = "path/timeout";

/**
 * The direct, unicast path between each member and the owner node (a libp2p stream in the real node): each
 * leg takes a log-normal delay (median `pathLatencyMs`, the topic's spread), a call fails with `pathFailure`
 * (half of the failures lose the request, half lose the answer after the owner acted on it), and a call fails
 * when the owner is offline or on the other side of a partition when the request arrives. A member learns of a
 * failure only by its timeout. Every byte is counted at both ends, as the topic's bytes are.
 *
 * A call's fate (failure, which half fails, the two legs) comes from draws keyed by the calling member and its own
 * count of calls (network.ts, `KeyedDraws`): the same whatever else happens in the run, in whichever order calls
 * are made and in whichever worker, and the topic's fates are the same with or without the path. Requests and
 * answers travel as data (`world.deliver`), so the owner and a member may be in different workers.
 */
export class DirectPath {
  private readonly sigma: number;
  private readonly timeoutMs: number;
  readonly latency = new Histogram(0.001);
  private readonly tally = new Map<CallKind, KindTally>();
  /** Bytes the owner received and sent on direct paths, after the warm-up. */
  ownerBytes = 0;
  /** Per node: calls it made so far, the key of its next call's draws. */
  private readonly calls: Float64Array;
  /** Calls this shard's members wait for, by `key(node, n)`. */
  private readonly waiting = new Map<number, Call<unknown>>();
  /** Calls since `forget` last swept `waiting`. */
  private sinceSweep = 0;
  /** The world's handles of the path's channels (`World.channel`). */
  private readonly requestChannel: number;
  private readonly answerChannel: number;
  private readonly timeoutChannel: number;

  constructor(
    private readonly world: World,
    private readonly owner: number,
    private readonly serve: OwnerServer,
    codec: AnswerCodec,
  ) {
    this.calls = new Float64Array(world.nodes.length);
    const s = world.scenario;
    this.sigma = s.latencyMs > 0 && s.latencyP99Ms > s.latencyMs ? Math.log(s.latencyP99Ms / s.latencyMs) / Z99 : 0;
    const p99 = s.pathLatencyMs * Math.exp(this.sigma * Z99);
    this.timeoutMs = CALL_TIMEOUT_MS + 2 * p99;
    for (const k of KINDS) this.tally.set(k, { calls: 0, failures: 0, request_bytes: 0, answer_bytes: 0 });
    this.requestChannel = world.channel(REQUEST, { run: (_node, data) => this.arrive(data as InFlight) });
    this.timeoutChannel = world.channel(TIMEOUT, { run: (_node, data) => this.timedOut(data as number) });
    this.answerChannel = world.channel(ANSWER, {
      run: (_node, data) => this.answered(data as InFlight),
      pack: (data) => {
        const f = data as InFlight;
        return { ...f, answer: codec.pack(f.kind, f.answer) };
      },
      unpack: (packed) => {
        const f = packed as InFlight;
        return { ...f, answer: codec.unpack(f.kind, f.answer) };
      },
    });
  }

  /** A member's wait for an ordinary answer. */
  get callTimeoutMs(): number {
    return this.timeoutMs;
  }

  private key(node: number, n: number): number {
    return n * this.calls.length + node;
  }

  /** Delay of one leg of call (node, n), at least the latency floor: draws 2-3 for the request, 4-5 for the answer. */
  private leg(node: number, n: number, draw: number): number {
    const net = this.world.network;
    const d = net.delay(this.world.scenario.pathLatencyMs, net.keyed.key(CopyKey.Call, node, n, 0).normal(draw));
    this.latency.add(d);
    return d;
  }

  /** Whether call (node, n) fails. */
  private failing(node: number, n: number): boolean {
    const p = this.world.scenario.pathFailure;
    return p > 0 && this.world.network.keyed.key(CopyKey.Call, node, n, 0).uniform(0) < p;
  }

  /** Whether call (node, n) fails by losing its request (else, when it fails, it loses the answer). */
  private losesRequest(node: number, n: number): boolean {
    return this.failing(node, n) && this.world.network.keyed.key(CopyKey.Call, node, n, 0).uniform(1) < 0.5;
  }

  private count(node: number, sent: number, received: number, kind: string): void {
    const w = this.world;
    w.recorder.direct(node, sent, received, w.now, kind);
    if (node === this.owner && w.now >= w.recorder.measureFrom) this.ownerBytes += sent + received;
  }

  /** Starts a call from `call.node` to the owner, now. */
  call<A>(call: Call<A>): void {
    const w = this.world;
    const kind = call.request.kind;
    const t = this.tally.get(kind)!;
    t.calls++;
    t.request_bytes += call.requestBytes;
    this.count(call.node, call.requestBytes, 0, kind);
    const n = this.calls[call.node]!++;
    const key = this.key(call.node, n);
    const deadline = w.now + this.timeoutMs + (call.holdMs ?? 0);
    call.deadline = deadline;
    this.waiting.set(key, call as Call<unknown>);
    // A sweep per so many calls of this shard as it holds: amortised O(1) a call. (A sweep per node's 1,024th call
    // walked the whole map once per node: quadratic in members when every node gets there.)
    if (++this.sinceSweep > Math.max(1024, this.waiting.size)) this.forget();
    call.timeout = w.deliver(call.node, deadline, this.timeoutChannel, key);
    if (this.losesRequest(call.node, n)) return;
    const request: InFlight = {
      node: call.node,
      n,
      kind,
      requestBytes: call.requestBytes,
      request: call.request,
      bytes: 0,
      answer: undefined,
    };
    w.deliver(this.owner, w.now + this.leg(call.node, n, 2), this.requestChannel, request);
  }

  /** The member gives up on call `key` unless it was answered. */
  private timedOut(key: number): void {
    const call = this.waiting.get(key);
    if (call === undefined) return;
    this.waiting.delete(key);
    this.tally.get(call.request.kind)!.failures++;
    call.onFail();
  }

  private forget(): void {
    this.sinceSweep = 0;
    const before = this.world.now - FORGET_AFTER_MS;
    for (const [key, call] of this.waiting) if (call.deadline < before) this.waiting.delete(key);
  }

  /** A request reaches the owner (which is online: `deliver` runs nothing on an offline node). */
  private arrive(f: InFlight): void {
    const w = this.world;
    if (w.network.separated(f.node, this.owner, w.now)) return;
    this.count(this.owner, 0, f.requestBytes, f.kind);
    this.serve(f.node, f.request!, f);
  }

  /** The owner answers request `ticket` (`OwnerServer`), now, with `answer` of `bytes` encoded bytes. */
  reply(ticket: Ticket, bytes: number, answer: unknown): void {
    const f = ticket;
    const w = this.world;
    this.tally.get(f.kind)!.answer_bytes += bytes;
    this.count(this.owner, bytes, 0, f.kind);
    if (this.failing(f.node, f.n) || w.network.separated(f.node, this.owner, w.now)) return;
    f.request = undefined;
    f.bytes = bytes;
    f.answer = answer;
    w.deliver(f.node, w.now + this.leg(f.node, f.n, 4), this.answerChannel, f);
  }

  /** An answer reaches its member: unless the call timed out already. */
  private answered(f: InFlight): void {
    const key = this.key(f.node, f.n);
    const call = this.waiting.get(key);
    if (call === undefined) return;
    this.waiting.delete(key);
    // Its timeout would find it answered: it runs nothing (world.ts, SPENT).
    this.world.spend(call.timeout ?? -1, this.timeoutChannel, key);
    this.count(f.node, 0, f.bytes, f.kind);
    call.onAnswer(f.answer);
  }

  /** This shard's share of the path's figures; `owner`: the owner's, from the shard that holds it. */
  parts(owner: OwnerPathParts["owner"]): OwnerPathParts {
    const tally: Record<string, KindTally> = {};
    for (const [k, v] of this.tally) tally[k] = { ...v };
    return { tally, latency: this.latency, timeoutMs: this.timeoutMs, ownerBytes: this.ownerBytes, owner };
  }
}

/** The direct path's figures of a run, from every shard's parts (in shard order). */
export function mergeOwnerPathParts(parts: readonly OwnerPathParts[]): OwnerPathFigures {
  const calls: Record<string, KindTally> = {};
  for (const k of KINDS) calls[k] = { calls: 0, failures: 0, request_bytes: 0, answer_bytes: 0 };
  const latency = new Histogram(0.001);
  let bytes = 0;
  let owner: OwnerPathParts["owner"];
  for (const p of parts) {
    for (const k of KINDS) {
      const into = calls[k]!;
      const from = p.tally[k]!;
      into.calls += from.calls;
      into.failures += from.failures;
      into.request_bytes += from.request_bytes;
      into.answer_bytes += from.answer_bytes;
    }
    latency.merge(reviveHistogram(p.latency));
    bytes += p.ownerBytes;
    owner ??= p.owner;
  }
  const detail = {
    calls,
    latency_p50_ms: round(latency.quantile(0.5), 1),
    latency_p99_ms: round(latency.quantile(0.99), 1),
    timeout_ms: round(parts[0]!.timeoutMs, 1),
    owner: owner?.detail ?? {},
  };
  return { detail, cpuUs: owner?.cpuUs ?? 0, bytes };
}

/** Bytes of a protobuf varint. */
export function varintBytes(value: number): number {
  let n = 1;
  for (let v = Math.floor(value); v >= 128; v = Math.floor(v / 128)) n++;
  return n;
}

/** Bytes of a length-delimited field (tag, length, payload). */
export function fieldBytes(payload: number): number {
  return 1 + varintBytes(payload) + payload;
}
