import { CopyKey } from "./network.js";
import { Histogram, round } from "./stats.js";
import type { World } from "./world.js";

/** z such that P(Z <= z) = 0.99 for a standard normal Z. */
const Z99 = 2.326347874;

/** What a member asks the owner over its direct path. */
export type CallKind = "report" | "poll" | "watch" | "fetch" | "range" | "push";
const KINDS: readonly CallKind[] = ["report", "poll", "watch", "fetch", "range", "push"];

/** How long a member waits for an answer beyond the path's own delays before it counts the call as failed. */
export const CALL_TIMEOUT_MS = 2_000;

/** The owner's answer: its encoded size and what it carries (the simulator hands the value itself over). */
export type Reply<A> = (bytes: number, answer: A) => void;

export interface Call<A> {
  readonly node: number;
  readonly kind: CallKind;
  readonly requestBytes: number;
  /** Runs at the owner when the request arrives; answers through `reply`, now or later (a parked watch). */
  readonly serve: (reply: Reply<A>) => void;
  readonly onAnswer: (answer: A) => void;
  readonly onFail: () => void;
  /** Extra wait before the member gives up, on top of CALL_TIMEOUT_MS and the path's p99 round trip. */
  readonly holdMs?: number;
}

/** Per kind of call: how many, how many failed, and the bytes each way. */
interface KindTally {
  calls: number;
  failures: number;
  request_bytes: number;
  answer_bytes: number;
}

/**
 * The direct, unicast path between each member and the owner node (a libp2p stream in the real node): each
 * leg takes a log-normal delay (median `pathLatencyMs`, the topic's spread), a call fails with `pathFailure`
 * (half of the failures lose the request, half lose the answer after the owner acted on it), and a call fails
 * when the owner is offline or on the other side of a partition when the request arrives. A member learns of a
 * failure only by its timeout. Every byte is counted at both ends, as the topic's bytes are.
 *
 * A call's fate (failure, which half fails, the two legs) comes from draws keyed by the calling member and its own
 * count of calls (network.ts, `KeyedDraws`): the same whatever else happens in the run and in whichever order
 * calls are made, and the topic's fates are the same with or without the path.
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

  constructor(
    private readonly world: World,
    private readonly owner: number,
  ) {
    this.calls = new Float64Array(world.nodes.length);
    const s = world.scenario;
    this.sigma = s.latencyMs > 0 && s.latencyP99Ms > s.latencyMs ? Math.log(s.latencyP99Ms / s.latencyMs) / Z99 : 0;
    const p99 = s.pathLatencyMs * Math.exp(this.sigma * Z99);
    this.timeoutMs = CALL_TIMEOUT_MS + 2 * p99;
    for (const k of KINDS) this.tally.set(k, { calls: 0, failures: 0, request_bytes: 0, answer_bytes: 0 });
  }

  /** A member's wait for an ordinary answer. */
  get callTimeoutMs(): number {
    return this.timeoutMs;
  }

  /** Delay of one leg of call (node, n), at least the latency floor: draws 2-3 for the request, 4-5 for the answer. */
  private leg(node: number, n: number, draw: number): number {
    const net = this.world.network;
    const d = net.delay(this.world.scenario.pathLatencyMs, net.keyed.key(CopyKey.Call, node, n, 0).normal(draw));
    this.latency.add(d);
    return d;
  }

  private count(node: number, sent: number, received: number, kind: string): void {
    const w = this.world;
    w.recorder.direct(node, sent, received, w.now, kind);
    if (node === this.owner && w.now >= w.recorder.measureFrom) this.ownerBytes += sent + received;
  }

  /** Starts a call from `call.node` to the owner, now. */
  call<A>(call: Call<A>): void {
    const w = this.world;
    const t = this.tally.get(call.kind)!;
    const sentAt = w.now;
    t.calls++;
    t.request_bytes += call.requestBytes;
    this.count(call.node, call.requestBytes, 0, call.kind);
    const n = this.calls[call.node]!++;
    const draws = w.network.keyed.key(CopyKey.Call, call.node, n, 0);
    const failing = w.scenario.pathFailure > 0 && draws.uniform(0) < w.scenario.pathFailure;
    const loseRequest = failing && draws.uniform(1) < 0.5;
    let settled = false;
    w.later(call.node, sentAt + this.timeoutMs + (call.holdMs ?? 0), () => {
      if (settled) return;
      settled = true;
      t.failures++;
      call.onFail();
    });
    if (loseRequest) return;
    w.later(this.owner, sentAt + this.leg(call.node, n, 2), () => {
      if (w.network.separated(call.node, this.owner, w.now)) return;
      this.count(this.owner, 0, call.requestBytes, call.kind);
      call.serve((bytes, answer) => {
        t.answer_bytes += bytes;
        this.count(this.owner, bytes, 0, call.kind);
        if (failing || w.network.separated(call.node, this.owner, w.now)) return;
        w.later(call.node, w.now + this.leg(call.node, n, 4), () => {
          if (settled) return;
          settled = true;
          this.count(call.node, 0, bytes, call.kind);
          call.onAnswer(answer);
        });
      });
    });
  }

  /** The JSON detail of the direct path. */
  detail(): Record<string, unknown> {
    const kinds: Record<string, KindTally> = {};
    for (const [k, v] of this.tally) kinds[k] = { ...v };
    return {
      calls: kinds,
      latency_p50_ms: round(this.latency.quantile(0.5), 1),
      latency_p99_ms: round(this.latency.quantile(0.99), 1),
      timeout_ms: round(this.timeoutMs, 1),
    };
  }
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
