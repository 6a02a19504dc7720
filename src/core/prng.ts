/**
 * Seeded pseudo-random numbers, the one source of them in the project. Nothing here reads the clock or
 * the platform's random source: the same seed gives the same numbers, bit for bit, which is what makes a simulation
 * replay from its seed and the recorded test vectors reproducible.
 *
 * Two generators share one set of draws (`Random`):
 * - `Mulberry32`: 32-bit state, seeded by an integer. The randomness of the engine tests, the recorded
 *   scenario vectors, `chorus demo`, the crash test and the benchmarks (`seededRandom` is its `() => number`
 *   form); their recorded seeds name its streams, so its output must never change.
 * - `Sfc32`: Chris Doty-Humphrey's Small Fast Counter (128-bit state, passes PractRand to 2^40+ bytes),
 *   seeded through a string hash so that any seed and any stream label give an independent-looking
 *   stream. The simulator's randomness, one forked stream per purpose.
 */

const TWO_POW_32 = 0x1_0000_0000;

/** Draws from a stream of uniform 32-bit words; the same words give the same draws. */
export abstract class Random {
  private spareNormal: number | undefined;

  /** Uniform integer in [0, 2^32). */
  abstract nextUint32(): number;

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  bernoulli(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** Exponentially distributed with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Standard normal (Box-Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const v = this.spareNormal;
      this.spareNormal = undefined;
      return v;
    }
    const u = 1 - this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal with the given median and log-space standard deviation. */
  logNormal(median: number, sigma: number): number {
    return sigma === 0 ? median : median * Math.exp(sigma * this.normal());
  }

  /** Uniform 64-bit unsigned integer: the high word is drawn first. */
  u64(): bigint {
    return (BigInt(this.nextUint32()) << 32n) | BigInt(this.nextUint32());
  }

  /** `length` pseudo-random bytes, e.g. an ed25519 secret key derived from the seed. */
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i += 4) {
      let x = this.nextUint32();
      for (let j = 0; j < 4 && i + j < length; j++) {
        out[i + j] = x & 0xff;
        x >>>= 8;
      }
    }
    return out;
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

/** mulberry32 (Tommy Ettinger): a small, fast generator over 32 bits of state, seeded by an integer. */
export class Mulberry32 extends Random {
  private state: number;

  constructor(seed: number) {
    super();
    if (!Number.isInteger(seed)) throw new TypeError(`seed must be an integer, got ${String(seed)}`);
    this.state = seed >>> 0;
  }

  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}

/** The mulberry32 stream of `seed` as a function returning [0, 1), the form an engine's `random` takes. */
export function seededRandom(seed: number): () => number {
  const stream = new Mulberry32(seed);
  return () => stream.next();
}

/** FNV-1a over the UTF-16 code units, then mixed: 32 bits from a string. */
function hash32(text: string, salt: number): number {
  let h = (0x811c9dc5 ^ salt) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // murmur3 finaliser: FNV alone leaves the low bits weak for short inputs.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** sfc32, one named stream of a seed; `fork` derives independent streams, e.g. one per member. */
export class Sfc32 extends Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** A stream named by `seed` and `label`: the same pair always gives the same numbers. */
  constructor(
    readonly seed: string,
    readonly label = "",
  ) {
    super();
    const key = `${seed}\u0000${label}`;
    this.a = hash32(key, 1);
    this.b = hash32(key, 2);
    this.c = hash32(key, 3);
    this.d = hash32(key, 4) | 1;
    // Discard the first outputs: sfc32 mixes its state in about a dozen rounds.
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  /** An independent stream derived from this one's seed, e.g. `rng.fork("member-17")`. */
  fork(label: string): Sfc32 {
    return new Sfc32(this.seed, this.label === "" ? label : `${this.label}/${label}`);
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
}
