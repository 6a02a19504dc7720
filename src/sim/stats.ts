/**
 * Streaming percentiles for millions of samples: a log-bucketed histogram with 0.5 % relative
 * resolution (HdrHistogram-like). A reported percentile is the geometric middle of its bucket, so
 * it is within ±0.25 % of the exact sample percentile; values below `floor` share the first bucket.
 * Deterministic: the same samples give the same answer whatever their order.
 */
export class Histogram {
  /** Samples per bucket b >= 0 at [b] (a dense array: a sample costs an index, not a map's lookup and update). */
  private counts = new Float64Array(64);
  /** Samples below `floor` (bucket -1). */
  private under = 0;
  /** One past the highest bucket with samples. */
  private top = 0;
  private n = 0;
  private sum = 0;
  private minValue = Number.POSITIVE_INFINITY;
  private maxValue = Number.NEGATIVE_INFINITY;
  private static readonly GROWTH = Math.log(1.005);

  constructor(private readonly floor = 0.01) {}

  get count(): number {
    return this.n;
  }

  add(value: number): void {
    if (!Number.isFinite(value)) return;
    const v = Math.max(value, 0);
    if (v < this.floor) this.under++;
    else this.bump(Math.floor(Math.log(v / this.floor) / Histogram.GROWTH), 1);
    this.n++;
    this.sum += v;
    if (v < this.minValue) this.minValue = v;
    if (v > this.maxValue) this.maxValue = v;
  }

  private bump(bucket: number, count: number): void {
    if (bucket >= this.counts.length) {
      const grown = new Float64Array(Math.max(bucket + 1, 2 * this.counts.length));
      grown.set(this.counts);
      this.counts = grown;
    }
    this.counts[bucket]! += count;
    if (bucket >= this.top) this.top = bucket + 1;
  }

  /**
   * Adds another histogram's samples (a shard's, possibly a structured clone of one). Counts, extremes and
   * quantiles come out as if every sample had been added here; the sum (`mean`) too when the samples are integers.
   */
  merge(other: Histogram): void {
    this.under += other.under;
    for (let b = 0; b < other.top; b++) if (other.counts[b]! > 0) this.bump(b, other.counts[b]!);
    this.n += other.n;
    this.sum += other.sum;
    if (other.minValue < this.minValue) this.minValue = other.minValue;
    if (other.maxValue > this.maxValue) this.maxValue = other.maxValue;
  }

  mean(): number | null {
    return this.n === 0 ? null : this.sum / this.n;
  }

  max(): number | null {
    return this.n === 0 ? null : this.maxValue;
  }

  /** The buckets with samples, ascending (-1: below the floor), and their counts. */
  private buckets(): { readonly ids: number[]; readonly counts: number[] } {
    const ids: number[] = [];
    const counts: number[] = [];
    if (this.under > 0) {
      ids.push(-1);
      counts.push(this.under);
    }
    for (let b = 0; b < this.top; b++) {
      if (this.counts[b]! === 0) continue;
      ids.push(b);
      counts.push(this.counts[b]!);
    }
    return { ids, counts };
  }

  /**
   * For each of `xs` (ascending), the samples at most that value; a bucket counts once its geometric middle
   * is within, so the answer is off by at most the samples of one bucket (±0.25 %).
   */
  cumulative(xs: readonly number[]): number[] {
    const { ids, counts } = this.buckets();
    const out: number[] = [];
    let i = 0;
    let seen = 0;
    for (const x of xs) {
      while (i < ids.length) {
        const b = ids[i]!;
        const at = b < 0 ? this.minValue : this.floor * Math.exp((b + 0.5) * Histogram.GROWTH);
        if (at > x) break;
        seen += counts[i]!;
        i++;
      }
      out.push(seen);
    }
    return out;
  }

  /** The q-quantile (0..1) by the nearest-rank rule; null when empty. */
  quantile(q: number): number | null {
    if (this.n === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = this.under;
    if (seen >= rank) return this.minValue;
    for (let b = 0; b < this.top; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) {
        const mid = this.floor * Math.exp((b + 0.5) * Histogram.GROWTH);
        // Never report beyond what was observed.
        return Math.min(Math.max(mid, this.minValue), this.maxValue);
      }
    }
    return this.maxValue;
  }
}

/** Rounds for the JSON report: stable text, no float noise such as 0.30000000000000004. */
export function round(value: number | null, digits = 3): number | null {
  if (value === null || !Number.isFinite(value)) return null;
  const f = 10 ** digits;
  const r = Math.round(value * f) / f;
  return Object.is(r, -0) ? 0 : r;
}

/** The largest number of timestamps (sorted) within any window of `width`. */
export function peakInWindow(times: readonly number[], width: number): number {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= width) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/** The same record with its keys in sorted order: stable JSON. */
export function sortKeys(o: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}
