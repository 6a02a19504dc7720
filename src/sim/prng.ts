/**
 * Seeded pseudo-random numbers for the simulator: sfc32 (Chris Doty-Humphrey's Small Fast Counter,
 * 128-bit state, passes PractRand to 2^40+ bytes), seeded through a string hash so that any seed and
 * any stream label give an independent-looking stream. Nothing here reads the clock or Math.random:
 * a run is a function of its seed.
 */

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

const TWO_POW_32 = 0x1_0000_0000;

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | undefined;

  /** A stream named by `seed` and `label`: the same pair always gives the same numbers. */
  constructor(
    readonly seed: string,
    readonly label = "",
  ) {
    const key = `${seed}\u0000${label}`;
    this.a = hash32(key, 1);
    this.b = hash32(key, 2);
    this.c = hash32(key, 3);
    this.d = hash32(key, 4) | 1;
    // Discard the first outputs: sfc32 mixes its state in about a dozen rounds.
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  /** An independent stream derived from this one's seed, e.g. `rng.fork("member-17")`. */
  fork(label: string): Rng {
    return new Rng(this.seed, this.label === "" ? label : `${this.label}/${label}`);
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

  /** 32 pseudo-random bytes, e.g. an ed25519 secret key derived from the seed. */
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
}
