import { Sfc32 } from "../core/prng.js";
import { ChorusProtocol } from "./chorus.js";
import type { SimDetail, SimMetrics } from "./metrics.js";
import { resolveScenario, type Scenario, type ScenarioInput } from "./scenario.js";
import type { SimSeries } from "./series.js";
import { ShardWorker as WorkerShard } from "./shard-worker.js";
import { checkSplit, LocalShard, runShards, type ShardHandle } from "./shards.js";
import { type Protocol, type RunProgress, World } from "./world.js";

/** The JSON of one run. Field names are part of the interface: scripts compare runs by them. */
export interface SimResult extends SimMetrics {
  protocol: "chorus" | "sds";
  seed: string;
  params: Record<string, unknown>;
  detail: SimDetail;
  /** Distributions and a timeline for the report's charts, bounded in size (src/sim/series.ts). */
  series: SimSeries;
  /** Wall-clock time of the run; with `owner.cpu_us_per_message` and `memory`, the only fields that differ between two runs of the same scenario. */
  wall_ms: number;
  /**
   * The process's memory: the highest resident set size seen during the run (sampled every 8,192 events), and
   * what it grew by from before the nodes were built, per node (members and the owner).
   */
  memory: { peak_rss_bytes: number; per_member_bytes: number };
}

export type { RunProgress, ScenarioInput };

export interface RunOptions {
  /** Now and then: the share of the run done (virtual time) and where it stands. */
  readonly onProgress?: (fraction: number, at: RunProgress) => void;
  /**
   * Worker threads the members are split across (default 1: this thread alone). The result is the same, byte
   * for byte, whatever the count (docs/simulator.md); Chorus only.
   */
  readonly workers?: number;
  /** Runs the shards of `workers` in this thread instead, one after the other: the same result, for tests. */
  readonly inline?: boolean;
  /** With `inline`: the shards slide (as shards in workers do) instead of running in windows; for tests. */
  readonly sliding?: boolean;
}

/** Runs one scenario and returns its metrics. Deterministic except for `wall_ms`, `memory` and the owner's CPU. */
export async function runSimulation(input: ScenarioInput, options: RunOptions = {}): Promise<SimResult> {
  const scenario = resolveScenario(input);
  const workers = options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new RangeError(`workers must be an integer in 1..64, got ${String(workers)}`);
  }
  if (workers > 1 && scenario.protocol !== "chorus") {
    throw new RangeError(`workers > 1 runs chorus only (the sds adapter runs in one thread), got ${scenario.protocol}`);
  }
  checkSplit(scenario, workers);
  const started = performance.now();
  const rssBefore = process.memoryUsage.rss();
  const protocol = await createProtocol(scenario);
  const shards: ShardHandle[] = [];
  if (workers === 1 || options.inline === true) {
    for (let index = 0; index < workers; index++) {
      const p = index === 0 ? protocol : await createProtocol(scenario);
      shards.push(new LocalShard(new World(scenario, p, { place: { index, count: workers } })));
    }
  } else {
    // The workers first: each builds its shard (its share of the nodes, their keys) while this thread builds its own.
    const workerShards: ShardHandle[] = [];
    for (let index = 1; index < workers; index++)
      workerShards.push(await WorkerShard.start(scenario, { index, count: workers }));
    shards.push(
      new LocalShard(new World(scenario, protocol, { place: { index: 0, count: workers } })),
      ...workerShards,
    );
  }
  const coordinator = {
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    sliding: options.sliding === true,
  };
  const { metrics, detail, series, peakRssBytes } = await runShards(scenario, shards, coordinator);
  const wall = performance.now() - started;
  return {
    protocol: scenario.protocol,
    seed: scenario.seed,
    params: describeScenario(scenario, protocol),
    ...metrics,
    detail,
    series,
    wall_ms: Math.round(wall),
    memory: {
      peak_rss_bytes: peakRssBytes,
      per_member_bytes: Math.round(
        Math.max(0, peakRssBytes - rssBefore) / (scenario.members + (scenario.owner ? 1 : 0)),
      ),
    },
  };
}

export async function createProtocol(scenario: Scenario): Promise<Protocol> {
  const rng = new Sfc32(scenario.seed, "protocol");
  if (scenario.protocol === "chorus") return new ChorusProtocol(scenario, rng);
  // @waku/sds is a development dependency: load it only when asked for.
  const { SdsProtocol } = await import("./sds.js");
  return SdsProtocol.create(scenario, rng);
}

function describeScenario(s: Scenario, protocol: Protocol): Record<string, unknown> {
  return {
    members: s.members,
    messages: s.messages,
    rate: s.rate,
    mix: s.mix,
    zipf_exponent: s.zipfExponent,
    content_bytes: s.contentBytes,
    loss: s.loss,
    burst_loss: s.burstLoss,
    burst_mean_ms: s.burstMeanMs,
    burst_bad_loss: s.burstBadLoss,
    latency_ms: s.latencyMs,
    latency_p99_ms: s.latencyP99Ms,
    latency_floor_ms: s.latencyFloorMs,
    offline: s.offline,
    offline_mean_ms: s.offlineMeanMs,
    late_join: s.lateJoin,
    partitions: s.partitions.map((p) => ({ at_ms: p.atMs, duration_ms: p.durationMs, fraction: p.fraction })),
    owner: s.owner,
    owner_availability: s.ownerAvailability,
    owner_outage_mean_ms: s.ownerOutageMeanMs,
    owner_path: s.owner && s.ownerPath,
    path_latency_ms: s.pathLatencyMs,
    path_failure: s.pathFailure,
    report_interval_ms: s.reportIntervalMs,
    owner_report_rate: s.ownerReportRate,
    warmup_ms: s.warmupMs,
    warmup_rate: s.warmupRate,
    settle_ms: s.settleMs,
    ...protocol.describe(),
  };
}

/**
 * The JSON text of a result, with or without the figures that depend on the machine (`wall_ms`, `memory` and
 * `owner.cpu_us_per_message`); without them, byte-identical for the same scenario.
 */
export function resultJson(result: SimResult, withWall = true): string {
  if (withWall) return `${jsonText(result)}\n`;
  const { wall_ms: _wall, memory: _memory, owner, ...rest } = result;
  const { cpu_us_per_message: _cpu, ...ownerRest } = owner;
  return `${jsonText({ ...rest, owner: ownerRest })}\n`;
}

/**
 * `JSON.stringify(value, null, 2)`, except that an array of numbers (or of such arrays) stays on one line:
 * the series of a result are hundreds of numbers that would otherwise take a line each.
 */
export function jsonText(value: unknown): string {
  const inline: string[] = [];
  const numeric = (v: unknown): boolean =>
    Array.isArray(v) && v.length > 0 && v.every((e) => e === null || typeof e === "number" || numeric(e));
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (!numeric(v)) return v;
      inline.push(JSON.stringify(v));
      return `\u0000inline:${inline.length - 1}`;
    },
    2,
  );
  return text.replace(/"\\u0000inline:(\d+)"/g, (_m, i: string) => inline[Number(i)]!);
}
