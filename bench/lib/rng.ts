/** A small seeded PRNG (mulberry32), so that every benchmark run sees the same inputs. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  u64(): bigint {
    return (BigInt(this.int(0x1_0000_0000)) << 32n) | BigInt(this.int(0x1_0000_0000));
  }
  /** A sampler of 0..n-1 with P(i) proportional to 1/(i+1) (Zipf, s = 1): a few members write most messages. */
  zipf(n: number): () => number {
    const cdf: number[] = [];
    let sum = 0;
    for (let i = 1; i <= n; i++) {
      sum += 1 / i;
      cdf.push(sum);
    }
    return () => {
      const x = this.next() * sum;
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cdf[mid]! < x) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
  }
}
