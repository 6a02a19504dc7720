import { resolveParams } from "../core/index.js";
import { DEFAULT_SCENARIO, DEFAULT_SDS_OPTIONS, SIM_PARAMS } from "./scenario.js";
import { formatCount, formatMs, formatShare } from "./targets.js";

/**
 * A run's scenario (the `params` of its JSON) in words, and as the `chorus sim` command that replays it: what
 * the summaries print first, so that a result always says what it is a result of.
 */

type Params = Readonly<Record<string, unknown>>;
interface PartitionParams {
  readonly at_ms: number;
  readonly duration_ms: number;
  readonly fraction: number;
}

const n = (p: Params, k: string) => p[k] as number;

/** One sentence: members, owner, traffic, network, churn, phases. */
export function scenarioWords(p: Params): string {
  const parts: string[] = [];
  const owner =
    p.owner === true
      ? ` and an owner node (online ${formatShare(n(p, "owner_availability"))} of the time, direct path ${p.owner_path === true ? "on" : "off"})`
      : ", no owner";
  parts.push(`${formatCount(n(p, "members"))} members${owner}`);
  const mix = p.mix === "heavy" ? "few talk, many read" : "everyone alike";
  parts.push(
    `${formatCount(n(p, "messages"))} messages at ${n(p, "rate")} per second (${mix}), ${n(p, "content_bytes")}-byte median content`,
  );
  let loss = `${formatShare(n(p, "loss"))} loss`;
  if (n(p, "burst_loss") > 0)
    loss += `, loss bursts ${formatShare(n(p, "burst_loss"))} of the time (${formatMs(n(p, "burst_mean_ms"))} each)`;
  parts.push(`${loss}, latency ${formatMs(n(p, "latency_ms"))} median and ${formatMs(n(p, "latency_p99_ms"))} p99`);
  if (n(p, "offline") > 0) {
    parts.push(
      `members offline ${formatShare(n(p, "offline"))} of the time (${formatMs(n(p, "offline_mean_ms"))} spells)`,
    );
  }
  if (n(p, "late_join") > 0) parts.push(`${formatShare(n(p, "late_join"))} join late`);
  for (const q of (p.partitions ?? []) as PartitionParams[]) {
    parts.push(
      `${formatShare(q.fraction)} of the members cut off for ${formatMs(q.duration_ms)} at ${formatMs(q.at_ms)}`,
    );
  }
  if (p.owner === true && p.owner_path === true && n(p, "path_failure") > 0) {
    parts.push(`${formatShare(n(p, "path_failure"))} of direct-path calls fail`);
  }
  parts.push(`warm-up ${formatMs(n(p, "warmup_ms"))}, settle ${formatMs(n(p, "settle_ms"))}`);
  return `${parts.join("; ")}.`;
}

/** Scenario fields that `chorus sim` takes as options: [JSON name, flag, default]. */
const FLAGS: readonly (readonly [string, string, unknown])[] = [
  ["members", "--members", DEFAULT_SCENARIO.members],
  ["messages", "--messages", DEFAULT_SCENARIO.messages],
  ["rate", "--rate", DEFAULT_SCENARIO.rate],
  ["mix", "--mix", DEFAULT_SCENARIO.mix],
  ["zipf_exponent", "--zipf-exponent", DEFAULT_SCENARIO.zipfExponent],
  ["content_bytes", "--content-bytes", DEFAULT_SCENARIO.contentBytes],
  ["loss", "--loss", DEFAULT_SCENARIO.loss],
  ["burst_loss", "--burst-loss", DEFAULT_SCENARIO.burstLoss],
  ["burst_mean_ms", "--burst-mean-ms", DEFAULT_SCENARIO.burstMeanMs],
  ["burst_bad_loss", "--burst-bad-loss", DEFAULT_SCENARIO.burstBadLoss],
  ["latency_ms", "--latency-ms", DEFAULT_SCENARIO.latencyMs],
  ["latency_p99_ms", "--latency-p99-ms", undefined],
  ["latency_floor_ms", "--latency-floor-ms", DEFAULT_SCENARIO.latencyFloorMs],
  ["offline", "--offline", DEFAULT_SCENARIO.offline],
  ["offline_mean_ms", "--offline-mean-ms", DEFAULT_SCENARIO.offlineMeanMs],
  ["late_join", "--late-join", DEFAULT_SCENARIO.lateJoin],
  ["owner", "--owner", DEFAULT_SCENARIO.owner],
  ["owner_availability", "--owner-availability", DEFAULT_SCENARIO.ownerAvailability],
  ["owner_outage_mean_ms", "--owner-outage-mean-ms", DEFAULT_SCENARIO.ownerOutageMeanMs],
  ["owner_path", "--owner-path", DEFAULT_SCENARIO.ownerPath],
  ["path_latency_ms", "--path-latency-ms", undefined],
  ["path_failure", "--path-failure", DEFAULT_SCENARIO.pathFailure],
  ["report_interval_ms", "--report-interval-ms", DEFAULT_SCENARIO.reportIntervalMs],
  ["owner_report_rate", "--owner-report-rate", DEFAULT_SCENARIO.ownerReportRate],
  ["warmup_ms", "--warmup-ms", DEFAULT_SCENARIO.warmupMs],
  ["warmup_rate", "--warmup-rate", DEFAULT_SCENARIO.warmupRate],
  ["settle_ms", "--settle-ms", DEFAULT_SCENARIO.settleMs],
];

function flagValue(v: unknown): string {
  return typeof v === "boolean" ? (v ? "on" : "off") : String(v);
}

/**
 * The `chorus sim` command that replays a run: every option that differs from its default, the protocols and
 * the seed. Owner engine parameters have no option (they need --scenario); `ownerParams` are then named.
 */
export function replayCommand(p: Params, protocols: readonly string[], seed: string): string {
  const args = ["chorus sim"];
  for (const [key, flag, fallback] of FLAGS) {
    const v = p[key];
    if (key === "owner_path" && p.owner !== true) continue;
    // The p99 latency and the path latency default to 4 x and 1 x the median latency.
    const def =
      key === "latency_p99_ms" ? 4 * n(p, "latency_ms") : key === "path_latency_ms" ? n(p, "latency_ms") : fallback;
    if (v !== undefined && v !== def) args.push(`${flag} ${flagValue(v)}`);
  }
  for (const q of (p.partitions ?? []) as PartitionParams[])
    args.push(`--partition ${q.at_ms}:${q.duration_ms}:${q.fraction}`);
  const engine = p.engine as Record<string, unknown> | undefined;
  if (engine !== undefined) {
    const defaults = resolveParams({ ...SIM_PARAMS }) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(engine)) if (defaults[k] !== v) args.push(`--param ${k}=${String(v)}`);
  }
  const sds = p.sds as Record<string, unknown> | undefined;
  if (sds !== undefined && sds.causalHistorySize !== DEFAULT_SDS_OPTIONS.causalHistorySize) {
    args.push(`--sds-history ${String(sds.causalHistorySize)}`);
  }
  if (protocols.length !== 1 || protocols[0] !== DEFAULT_SCENARIO.protocol)
    args.push(`--protocol ${protocols.join(",")}`);
  args.push(`--seed ${seed}`);
  return args.join(" ");
}
