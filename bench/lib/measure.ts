import { Bench } from "tinybench";

/**
 * Summary of a set of samples, in microseconds. `p25`/`p75` give the spread; ratios between two
 * implementations are reported with the interquartile range of both (see `ratio`).
 */
export interface Stats {
  readonly median: number;
  readonly p25: number;
  readonly p75: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly samples: number;
}

/**
 * Process CPU time (user + system, all threads) in ms. The machine running the benchmarks may be shared,
 * so wall-clock time would measure the neighbours; CPU time measures the work. It includes V8's GC
 * and compiler threads, which are part of the cost of a message.
 */
export function cpuClockMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarize(samplesUs: readonly number[]): Stats {
  const sorted = [...samplesUs].sort((a, b) => a - b);
  return {
    median: quantile(sorted, 0.5),
    p25: quantile(sorted, 0.25),
    p75: quantile(sorted, 0.75),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
    samples: sorted.length,
  };
}

export interface MeasureOptions {
  readonly warmup: number;
  readonly iterations: number;
  /** Operations performed by one call of `fn`; the samples are divided by it. */
  readonly batch?: number;
  /** `fn` returns a promise. Stated, because tinybench would otherwise call `fn` once more to find out. */
  readonly async?: boolean;
}

/**
 * Times `fn` with tinybench on the CPU clock: `warmup` untimed calls, then exactly `iterations` timed
 * ones, one sample each (a sample of `batch` operations when `fn` performs that many). Returns CPU time per
 * operation in µs.
 */
export async function measure(name: string, fn: () => unknown, opts: MeasureOptions): Promise<Stats> {
  const bench = new Bench({
    name,
    now: cpuClockMs,
    time: 0,
    iterations: opts.iterations,
    warmup: opts.warmup > 0,
    warmupIterations: opts.warmup,
    warmupTime: 0,
    retainSamples: true,
    throws: true,
  });
  bench.add(name, fn as () => void, { async: opts.async ?? false });
  await bench.run();
  const task = bench.getTask(name);
  const result = task?.result;
  if (result === undefined || !("latency" in result) || result.latency.samples === undefined) {
    throw new Error(`benchmark ${name} produced no samples (state ${result?.state})`);
  }
  const batch = opts.batch ?? 1;
  return summarize(result.latency.samples.map((ms) => (ms * 1000) / batch));
}

/** Ratio of medians, with the range that the interquartile spread of both allows. */
export interface Ratio {
  readonly value: number;
  readonly low: number;
  readonly high: number;
}

/** How many times `slow` costs more than `fast` (both in the same unit, lower is better). */
export function ratio(slow: Stats, fast: Stats): Ratio {
  return { value: slow.median / fast.median, low: slow.p25 / fast.p75, high: slow.p75 / fast.p25 };
}
