import { MessageChannel, type MessagePort } from "node:worker_threads";
import { Recorder, type SimDetail } from "./metrics.js";
import type { NetworkParts } from "./network.js";
import { mergeOwnerPathParts, type OwnerPathParts } from "./owner-path.js";
import { type RecorderParts, reviveHistogram } from "./recorder-merge.js";
import type { Scenario } from "./scenario.js";
import type { Shipment } from "./shipment.js";
import { portMesh, type SlideWait, SlidingClock, slide } from "./sliding.js";
import { Histogram, round } from "./stats.js";
import type { RunOutput, RunProgress, World } from "./world.js";

/** Where a shard stands after a window. */
export interface ShardStatus {
  /** When its next event is due; +Infinity for none. */
  readonly nextAt: number;
  readonly ended: boolean;
  readonly now: number;
  readonly events: number;
  /** Content messages sent so far (every shard runs the traffic). */
  readonly sent: number;
}

/** What a shard hands over once the run is over: its records, to be merged in shard order. */
export interface ShardResult {
  readonly recorder: RecorderParts;
  readonly network: NetworkParts;
  /** The protocol's own figures (the owner path's), undefined for none. */
  readonly figures: OwnerPathParts | undefined;
  readonly events: number;
  /** The recorder itself, from a shard in this thread: the run's records merge into it instead of into a copy. */
  readonly live?: Recorder;
}

/**
 * One shard of a run, wherever it runs: in this thread (`LocalShard`) or in a worker thread (shard-worker.ts),
 * which runs a `LocalShard` of its own. The coordinator (`runShards`) is the same for one shard and for many.
 */
export interface ShardHandle {
  begin(): Promise<ShardStatus>;
  /**
   * Runs the shard to the run's end in sliding windows (sliding.ts) on `clock`, talking to shard k on `ports[k]`;
   * resolves to its status at the end, or undefined when the run was stopped (another shard failed).
   */
  slide(
    clock: SharedArrayBuffer,
    ports: readonly (MessagePort | undefined)[],
    wait: SlideWait,
  ): Promise<ShardStatus | undefined>;
  /** The run is over: what the other shards need from this one to finish. */
  share(): Promise<unknown>;
  finish(shares: readonly unknown[]): Promise<ShardResult>;
  close(): Promise<void>;
}

/** A shard in this thread: one `World` holding some of the members. */
export class LocalShard implements ShardHandle {
  constructor(readonly world: World) {}

  private status(): ShardStatus {
    const w = this.world;
    return { nextAt: w.nextAt, ended: w.ended, now: w.now, events: w.events, sent: w.progressAt().sent };
  }

  async begin(): Promise<ShardStatus> {
    this.world.begin();
    return this.status();
  }

  /** Takes what the other shards sent, runs every event due before `end`, and hands over what it sends them. */
  async window(end: number, inbox: readonly Shipment[]): Promise<ShardStatus & { readonly shipments: Shipment[] }> {
    for (const s of inbox) this.world.receive(s);
    await this.world.advance(end);
    return { ...this.status(), shipments: this.world.takeShipments() };
  }

  /** Progress while sliding (the calling thread's shard): called every 256 steps. */
  onSteps: (() => void) | undefined;

  async slide(
    clock: SharedArrayBuffer,
    ports: readonly (MessagePort | undefined)[],
    wait: SlideWait,
  ): Promise<ShardStatus | undefined> {
    const w = this.world;
    const links = { clock: new SlidingClock(clock, w.place.count), ports, index: w.place.index, wait };
    const done = await slide(w, { ...links, lookahead: w.scenario.latencyFloorMs, onSteps: this.onSteps });
    return done ? this.status() : undefined;
  }

  async share(): Promise<unknown> {
    this.world.close();
    return this.world.protocol.finishShare(this.world);
  }

  async finish(shares: readonly unknown[]): Promise<ShardResult> {
    const w = this.world;
    const figures = w.protocol.finish(w, shares) as OwnerPathParts | undefined;
    return { recorder: w.recorder.parts(), network: w.network.parts(), figures, events: w.events, live: w.recorder };
  }

  async close(): Promise<void> {
    this.world.protocol.dispose?.();
  }
}

/** With one shard the window is only how often progress is reported; with several it is the latency floor. */
const ONE_SHARD_WINDOW_MS = 1_000;

export interface CoordinatorOptions {
  readonly onProgress?: (fraction: number, at: RunProgress) => void;
  /** Shards in this thread slide too (for tests: the same result as windows); shards in workers always slide. */
  readonly sliding?: boolean;
}

/** The earliest event in what is about to be delivered. */
function earliest(shipments: readonly Shipment[]): number {
  let t = Number.POSITIVE_INFINITY;
  for (const s of shipments) {
    for (const p of s.pubs) for (const at of p.at) if (at < t) t = at;
    for (const e of s.events) if (e.at < t) t = e.at;
  }
  return t;
}

/**
 * Runs the shards of one run, then merges their records in shard order. Split across worker threads, the shards
 * slide (sliding.ts): each runs up to the others' published safe times plus the latency floor L, the least time
 * anything takes from one node to another, and shipments cross directly between them. Otherwise (one shard, or
 * shards in this thread for tests: `inline`) they run in windows [T, T + L) through this coordinator
 * (`runWindows`); one shard runs in windows of a second, for progress reports. Either way no shard receives
 * anything in its past, so the result is the same.
 */
export async function runShards(
  scenario: Scenario,
  shards: readonly ShardHandle[],
  options: CoordinatorOptions = {},
): Promise<RunOutput & { readonly peakRssBytes: number }> {
  const count = shards.length;
  const peak = { rss: process.memoryUsage.rss() };
  try {
    checkSplit(scenario, count);
    const started = await Promise.all(shards.map((s) => s.begin()));
    const first = started[0]!.now;
    const total = scenario.warmupMs + (scenario.messages / scenario.rate) * 1000 + scenario.settleMs;
    // Progress (and the memory sample) every virtual second or so.
    const report = (statuses: readonly ShardStatus[]) => {
      peak.rss = Math.max(peak.rss, process.memoryUsage.rss());
      const at = progressOf(scenario, statuses);
      options.onProgress?.(Math.min(0.999, (statuses[0]!.now - first) / total), at);
    };
    const inline = shards.every((s) => s instanceof LocalShard);
    const statuses =
      count > 1 && (!inline || options.sliding === true)
        ? await runSliding(scenario, shards, first, inline, report)
        : await runWindows(scenario, shards as LocalShard[], started, report);
    const shares = await Promise.all(shards.map((s) => s.share()));
    const results = await Promise.all(shards.map((s) => s.finish(shares)));
    peak.rss = Math.max(peak.rss, process.memoryUsage.rss());
    const end = statuses[0]!.now;
    options.onProgress?.(1, progressOf(scenario, statuses));
    return { ...merge(scenario, results, end, first), peakRssBytes: peak.rss };
  } finally {
    await Promise.all(shards.map((s) => s.close()));
  }
}

/**
 * The shards slide to the end at once, shard 0 in this thread (blocking between its steps only in slices, so
 * that this thread hears of a worker that died) or every shard in this thread (`inline`, waiting without
 * blocking). Returns their statuses at the end.
 */
async function runSliding(
  scenario: Scenario,
  shards: readonly ShardHandle[],
  first: number,
  inline: boolean,
  report: (statuses: readonly ShardStatus[]) => void,
): Promise<ShardStatus[]> {
  const count = shards.length;
  const clock = SlidingClock.create(count, first);
  const mesh = portMesh(count, () => new MessageChannel());
  const local = shards[0] as LocalShard;
  local.onSteps = () => {
    const statuses = shards.map((_, i) => {
      const st = clock.statusOf(i);
      return { ...st, nextAt: Number.NaN };
    });
    report(statuses);
  };
  try {
    const running = shards.map((s, i) =>
      s.slide(clock.buffer, mesh[i]!, inline ? "async" : i === 0 ? "slices" : "block"),
    );
    // A shard that fails stops the others (each returns undefined); every shard is done before the failure is thrown.
    const settled = await Promise.allSettled(
      running.map((p) =>
        p.catch((err: unknown) => {
          clock.stop();
          throw err;
        }),
      ),
    );
    const ends: (ShardStatus | undefined)[] = [];
    for (const r of settled) {
      if (r.status === "rejected") throw r.reason;
      ends.push(r.value);
    }
    if (ends.some((st) => st === undefined)) {
      throw new Error(`a sliding run of ${scenario.members} members stopped before its end`);
    }
    return ends as ShardStatus[];
  } finally {
    local.onSteps = undefined;
    for (const row of mesh) for (const port of row) port?.close();
  }
}

/**
 * Runs the shards in windows [T, T + L): T the earliest event of any shard, L the latency floor (a second with
 * one shard), so nothing a shard does in a window can reach another shard within it. Between windows the shards'
 * shipments are delivered. Returns their statuses at the end.
 */
async function runWindows(
  scenario: Scenario,
  shards: readonly LocalShard[],
  started: ShardStatus[],
  report: (statuses: readonly ShardStatus[]) => void,
): Promise<ShardStatus[]> {
  const count = shards.length;
  const window = count === 1 ? ONE_SHARD_WINDOW_MS : scenario.latencyFloorMs;
  let statuses = started;
  let inboxes: Shipment[][] = shards.map(() => []);
  let windows = 0;
  for (;;) {
    const next = statuses.map((st, i) =>
      st.ended ? Number.POSITIVE_INFINITY : Math.min(st.nextAt, earliest(inboxes[i]!)),
    );
    if (statuses.every((st) => st.ended) || !next.some(Number.isFinite)) return statuses;
    const ends = windowEnds(next, window);
    const pending: Promise<ShardStatus & { readonly shipments: Shipment[] }>[] = [];
    const carried: Shipment[][] = shards.map(() => []);
    for (let i = 0; i < count; i++) {
      // Nothing due before the window's end: the shard is not asked, its inbox
      // waits for a window in which it runs (notes apply before any of its events, in the order they came).
      if (count > 1 && !(next[i]! < ends[i]!)) {
        pending[i] = Promise.resolve({ ...statuses[i]!, shipments: [] });
        carried[i] = inboxes[i]!;
      } else pending[i] = shards[i]!.window(ends[i]!, inboxes[i]!);
    }
    const results = await Promise.all(pending);
    statuses = results;
    inboxes = carried;
    for (const [from, r] of results.entries()) {
      for (const [to, shipment] of r.shipments.entries()) if (to !== from) inboxes[to]!.push(shipment);
    }
    // Every window of one shard, every 256 of L.
    if (count === 1 || (++windows & 255) === 0) report(results);
  }
}

/**
 * Where each shard's window ends, from every shard's next event T (`next`, what is about to be delivered to it
 * included) and the latency floor L. Within a window a shard hears nothing from the others (shipments cross
 * between windows), so what reaches shard i is either from another shard's own events, due at or after T_j + L,
 * or an answer to what i itself sends in the window, due at or after T_i + 2L: i runs up to the lesser. That is
 * T_least + L for every shard but the one with the earliest event, which runs up to L further when the others are
 * idle that long (fewer windows in the quiet stretches: the warm-up, the settle phase). One shard: windows of
 * `lookahead` (a second, for progress).
 */
export function windowEnds(next: readonly number[], lookahead: number): number[] {
  if (next.length === 1) return [next[0]! + lookahead];
  let least = 0;
  for (let i = 1; i < next.length; i++) if (next[i]! < next[least]!) least = i;
  let second = Number.POSITIVE_INFINITY;
  for (let i = 0; i < next.length; i++) if (i !== least && next[i]! < second) second = next[i]!;
  const t = next[least]!;
  return next.map((_, i) => (i === least ? Math.min(second, t + lookahead) : t) + lookahead);
}

/** A run split across `count` shards needs a positive lookahead: the latency floor. */
export function checkSplit(scenario: Scenario, count: number): void {
  if (count > 1 && !(scenario.latencyFloorMs > 0)) {
    throw new RangeError(
      `a run split across ${count} workers needs latencyFloorMs > 0, got ${scenario.latencyFloorMs}`,
    );
  }
}

function progressOf(scenario: Scenario, statuses: readonly ShardStatus[]): RunProgress {
  let events = 0;
  for (const st of statuses) events += st.events;
  return { sent: statuses[0]!.sent, messages: scenario.messages, members: scenario.members, events };
}

/** The shards' records, merged in shard order into the run's figures. */
function merge(scenario: Scenario, results: readonly ShardResult[], end: number, start: number): RunOutput {
  const s = scenario;
  const nodes = s.members + (s.owner ? 1 : 0);
  // The first shard's own recorder when it is in this thread (always, from runSimulation): no copy of its arrays.
  const live = results[0]?.live;
  const recorder = live ?? new Recorder(s.members, nodes, s.messages, start + s.warmupMs);
  const latency = new Histogram(0.001);
  let copies = 0;
  let events = 0;
  const dropped = { independent: 0, burst: 0, partition: 0, offline: 0 };
  for (const [i, r] of results.entries()) {
    if (i > 0 || live === undefined) recorder.absorb(r.recorder, i === 0);
    copies += r.network.copies;
    for (const k of Object.keys(dropped) as (keyof typeof dropped)[]) dropped[k] += r.network.dropped[k];
    latency.merge(reviveHistogram(r.network.latency));
    events += r.events;
  }
  const figures = results.map((r) => r.figures).filter((f): f is OwnerPathParts => f !== undefined);
  if (figures.length > 0) recorder.ownerPath = mergeOwnerPathParts(figures);
  const lost = dropped.independent + dropped.burst + dropped.partition + dropped.offline;
  const network: SimDetail["network"] = {
    copies,
    loss_measured: copies === 0 ? null : round(lost / copies, 6),
    loss_configured: round(1 - (1 - s.loss) * (1 - s.burstLoss * s.burstBadLoss), 6)!,
    dropped,
    latency_p50_ms: round(latency.quantile(0.5), 1),
    latency_p99_ms: round(latency.quantile(0.99), 1),
  };
  return recorder.finish(end, start, events, network);
}
