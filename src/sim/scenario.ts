import { OWNER_PARAMS, type Params, resolveParams } from "../core/index.js";
import { OWNER_REPORTS_PER_SECOND } from "../core/owner/cadence.js";

/** A network partition: `fraction` of the members (chosen by the seed) cannot reach the rest for a while. */
export interface Partition {
  /** Start, in ms after the end of the warm-up (when traffic starts). */
  readonly atMs: number;
  readonly durationMs: number;
  /** Share of the members on the minority side (the owner stays with the majority). */
  readonly fraction: number;
}

/** Options of the `@waku/sds` side of a comparison; each defaults to what js-waku's ReliableChannel uses. */
export interface SdsOptions {
  /** SDS default 200 (MessageChannel); Chorus's `causalHistorySize` is not applied to SDS unless set here. */
  readonly causalHistorySize: number;
  /** ReliableChannel: a sync is sent after random(0..1) × this, doubled after each sync it sends. */
  readonly syncMinIntervalMs: number;
  /** ReliableChannel: unacknowledged messages are resent every retryIntervalMs, at most maxRetryAttempts times. */
  readonly retryIntervalMs: number;
  readonly maxRetryAttempts: number;
  /** ReliableChannel: the incoming buffer is swept this often (SDS declares losses only during a sweep). */
  readonly sweepInBufIntervalMs: number;
  /**
   * Dependencies missing this long are declared lost. SDS disables this by default (messages then wait
   * forever); the simulator sets it to Chorus's `dependencyTimeoutMs` so both give up at the same time.
   */
  readonly timeoutForLostMessagesMs: number;
  /** With an owner: how often a member asks the store (owner) for messages it knows it misses (ReliableChannel: 10 s). */
  readonly retrieveFrequencyMs: number;
}

export interface Scenario {
  readonly protocol: "chorus" | "sds";
  readonly seed: string;
  /** Ordinary members (the owner, when on, is one more node). */
  readonly members: number;
  /** Content messages sent in the whole run. */
  readonly messages: number;
  /** Content messages per second in the whole channel (a Poisson process). */
  readonly rate: number;
  /** Who sends: every member alike, or a Zipf mix where few talk and many read. */
  readonly mix: "uniform" | "heavy";
  /** Zipf exponent of the heavy mix: member k (1-based rank) sends with weight 1 / k^s. */
  readonly zipfExponent: number;
  /** Median content size; sizes are log-normal with sigma 0.8, clamped to 1..4000 bytes. */
  readonly contentBytes: number;
  /** Independent loss: each copy of each message to each receiver is dropped with this probability. */
  readonly loss: number;
  /**
   * Bursty loss (Gilbert-Elliott): long-run share of time a receiver's link is in the bad state, where
   * each copy is dropped with probability `burstBadLoss`. Independent of `loss`, which applies on top.
   */
  readonly burstLoss: number;
  /** Mean duration of a bad period (exponential). */
  readonly burstMeanMs: number;
  readonly burstBadLoss: number;
  /** Median one-way latency of a link (log-normal). */
  readonly latencyMs: number;
  /** 99th percentile of the one-way latency; sigma = ln(p99 / median) / 2.326. Default: 4 × the median. */
  readonly latencyP99Ms: number;
  /**
   * Smallest one-way delay of a topic copy or a direct-path leg: a drawn delay below it is raised to it. Nothing
   * crosses between two members faster, which is the lookahead that lets a run split its members across worker
   * threads (docs/simulator.md); 5 ms is below any real pub/sub hop.
   */
  readonly latencyFloorMs: number;
  /** Long-run share of time an ordinary member is offline (it neither sends nor receives). */
  readonly offline: number;
  /** Mean length of an offline period (exponential); online periods follow from `offline`. */
  readonly offlineMeanMs: number;
  /** Share of members that join late, at a uniform time in the first half of the traffic. */
  readonly lateJoin: number;
  readonly partitions: readonly Partition[];
  /** An owner node: a Chorus member with a large repair cache, named as every member's preferred responder. */
  readonly owner: boolean;
  /** Long-run share of time the owner is online. */
  readonly ownerAvailability: number;
  /** Mean length of an owner outage. */
  readonly ownerOutageMeanMs: number;
  /**
   * With an owner: every member also keeps a direct path to it (receipt reports, receipts pushed to senders,
   * heads, gap fill, its own messages pushed), as Waku light clients use a service node. False: the owner is
   * only one more member on the topic, as before the owner path.
   */
  readonly ownerPath: boolean;
  /** Median one-way latency of a direct-path leg (member to owner or back); default `latencyMs`, same spread. */
  readonly pathLatencyMs: number;
  /** Probability that a direct-path call fails (its request or its answer is lost, the stream resets). */
  readonly pathFailure: number;
  /** A member sends a receipt report to the owner at most this often while it has news for it. */
  readonly reportIntervalMs: number;
  /**
   * Reports a second the owner receives in total, at most: on a large roster members report less often than
   * `reportIntervalMs` (core/owner/cadence.ts). 0: no bound, every `reportIntervalMs` whatever the roster.
   */
  readonly ownerReportRate: number;
  /**
   * Time between the start (every member but the late joiners joins) and the first measured message.
   * During it, unmeasured background messages (`warmupRate`) bring the channel to a steady state: every
   * member has synced once, so the owner has been heard and counts as online, as in a channel that has
   * been running for a while. Nothing published during the warm-up is counted in any metric.
   */
  readonly warmupMs: number;
  /** Background messages per second during the warm-up (0: none, a cold start). */
  readonly warmupRate: number;
  /** After the last message: every partition heals, everyone comes back online, and the run goes on this long. */
  readonly settleMs: number;
  /** Engine parameters of the members (defaults: src/core/params.ts). */
  readonly params: Partial<Params>;
  /** Engine parameters of the owner, over `params` and the owner defaults. */
  readonly ownerParams: Partial<Params>;
  readonly sds: SdsOptions;
}

export const DEFAULT_SDS_OPTIONS: SdsOptions = Object.freeze({
  causalHistorySize: 200,
  syncMinIntervalMs: 30_000,
  retryIntervalMs: 30_000,
  maxRetryAttempts: 10,
  sweepInBufIntervalMs: 5_000,
  timeoutForLostMessagesMs: 120_000,
  retrieveFrequencyMs: 10_000,
});

/**
 * Engine parameters every simulated node starts from, under the scenario's own. The per-sender rate quota is
 * off: scenarios drive Zipf senders far above Waku's RLN budget (the top sender of 100 at 5 messages per
 * second channel-wide publishes ~570 per 600 s), so the engine default would measure the quota rather than
 * the protocol. Turn it on with `--param senderQuotaPer600s=120` (rejections are counted in `rejected`).
 */
export const SIM_PARAMS: Partial<Params> = Object.freeze({ senderQuotaPer600s: 0 });

export const DEFAULT_SCENARIO: Scenario = Object.freeze({
  protocol: "chorus",
  seed: "1",
  members: 100,
  messages: 1_000,
  rate: 5,
  mix: "heavy",
  zipfExponent: 1,
  contentBytes: 80,
  loss: 0.05,
  burstLoss: 0,
  burstMeanMs: 2_000,
  burstBadLoss: 1,
  latencyMs: 100,
  latencyP99Ms: 400,
  latencyFloorMs: 5,
  offline: 0,
  offlineMeanMs: 120_000,
  lateJoin: 0,
  partitions: [],
  owner: true,
  ownerAvailability: 0.95,
  ownerOutageMeanMs: 300_000,
  ownerPath: true,
  pathLatencyMs: 100,
  pathFailure: 0,
  reportIntervalMs: 250,
  ownerReportRate: OWNER_REPORTS_PER_SECOND,
  warmupMs: 240_000,
  warmupRate: 0.2,
  settleMs: 600_000,
  params: {},
  ownerParams: {},
  sds: DEFAULT_SDS_OPTIONS,
});

function check(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(message);
}

function num(name: string, value: number, min: number, max: number, integer = false): void {
  check(
    typeof value === "number" && Number.isFinite(value) && value >= min && value <= max,
    `${name} must be a number in ${min}..${max}, got ${String(value)}`,
  );
  if (integer) check(Number.isInteger(value), `${name} must be an integer, got ${value}`);
}

/** What a caller gives: any subset of the options; nested `sds` options may be partial too. */
export type ScenarioInput = Partial<Omit<Scenario, "sds">> & { readonly sds?: Partial<SdsOptions> };

/** Fills in defaults and validates; throws a RangeError naming the bad option. */
export function resolveScenario(input: ScenarioInput): Scenario {
  const latencyMs = input.latencyMs ?? DEFAULT_SCENARIO.latencyMs;
  const s: Scenario = {
    ...DEFAULT_SCENARIO,
    latencyP99Ms: 4 * latencyMs,
    pathLatencyMs: latencyMs,
    ...stripUndefined(input),
    sds: { ...DEFAULT_SDS_OPTIONS, ...stripUndefined(input.sds ?? {}) },
    params: { ...(input.params ?? {}) },
    ownerParams: { ...(input.ownerParams ?? {}) },
    partitions: [...(input.partitions ?? [])],
  };
  check(s.protocol === "chorus" || s.protocol === "sds", `protocol must be chorus or sds, got ${String(s.protocol)}`);
  check(typeof s.seed === "string" && s.seed.length > 0, "seed must be a non-empty string");
  num("members", s.members, 2, 100_000, true);
  num("messages", s.messages, 1, 10_000_000, true);
  num("rate", s.rate, 1e-6, 1e6);
  check(s.mix === "uniform" || s.mix === "heavy", `mix must be uniform or heavy, got ${String(s.mix)}`);
  num("zipfExponent", s.zipfExponent, 0, 10);
  num("contentBytes", s.contentBytes, 1, 4_000);
  num("loss", s.loss, 0, 1);
  num("burstLoss", s.burstLoss, 0, 0.99);
  num("burstMeanMs", s.burstMeanMs, 1, 1e9);
  num("burstBadLoss", s.burstBadLoss, 0, 1);
  num("latencyMs", s.latencyMs, 0, 1e7);
  num("latencyP99Ms", s.latencyP99Ms, s.latencyMs, 1e8);
  num("latencyFloorMs", s.latencyFloorMs, 0, 1e7);
  num("offline", s.offline, 0, 0.99);
  num("offlineMeanMs", s.offlineMeanMs, 1, 1e10);
  num("lateJoin", s.lateJoin, 0, 1);
  num("ownerAvailability", s.ownerAvailability, 0.01, 1);
  num("ownerOutageMeanMs", s.ownerOutageMeanMs, 1, 1e10);
  check(typeof s.ownerPath === "boolean", `ownerPath must be true or false, got ${String(s.ownerPath)}`);
  num("pathLatencyMs", s.pathLatencyMs, 0, 1e7);
  num("pathFailure", s.pathFailure, 0, 1);
  num("reportIntervalMs", s.reportIntervalMs, 0, 1e9);
  num("ownerReportRate", s.ownerReportRate, 0, 1e9);
  num("settleMs", s.settleMs, 0, 1e10);
  num("warmupMs", s.warmupMs, 0, 1e10);
  num("warmupRate", s.warmupRate, 0, 1e6);
  for (const [i, p] of s.partitions.entries()) {
    num(`partitions[${i}].atMs`, p.atMs, 0, 1e12);
    num(`partitions[${i}].durationMs`, p.durationMs, 0, 1e12);
    num(`partitions[${i}].fraction`, p.fraction, 0, 1);
  }
  // The engine validates its own parameters; fail here, before building members, with its message.
  resolveParams({ ...SIM_PARAMS, ...s.params });
  resolveParams({ ...SIM_PARAMS, ...OWNER_PARAMS, ...s.params, ...s.ownerParams });
  const d = s.sds;
  num("sds.causalHistorySize", d.causalHistorySize, 0, 10_000, true);
  num("sds.syncMinIntervalMs", d.syncMinIntervalMs, 0, 1e9);
  num("sds.retryIntervalMs", d.retryIntervalMs, 0, 1e9);
  num("sds.maxRetryAttempts", d.maxRetryAttempts, 0, 1_000, true);
  num("sds.sweepInBufIntervalMs", d.sweepInBufIntervalMs, 1, 1e9);
  num("sds.timeoutForLostMessagesMs", d.timeoutForLostMessagesMs, 0, 1e12);
  num("sds.retrieveFrequencyMs", d.retrieveFrequencyMs, 1, 1e9);
  return s;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
