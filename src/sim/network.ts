import type { Sfc32 } from "../core/prng.js";
import type { Partition, Scenario } from "./scenario.js";
import { Histogram } from "./stats.js";

/** z such that P(Z <= z) = 0.99 for a standard normal Z. */
const Z99 = 2.326347874;

export type DropCause = "independent" | "burst" | "partition" | "offline";

/** What one shard's network measured (`Network.parts`). */
export interface NetworkParts {
  readonly copies: number;
  readonly dropped: Readonly<Record<DropCause, number>>;
  readonly latency: Histogram;
}

/** Which publication a copy belongs to, for its keyed draws (`Network.copyFate`). */
export enum CopyKey {
  /** The original publication of content message x (a = x): the same fate for both protocols. */
  Content = 1,
  /** Any other publication: a = the publishing node, b = its own count of publications. */
  Other = 2,
  /** A direct-path call: a = the calling member, b = its own count of calls (owner-path.ts). */
  Call = 3,
}

const TWO_POW_32 = 0x1_0000_0000;

/** murmur3's block mix: folds one 32-bit word into a running hash. */
function combine(h: number, k: number): number {
  let x = Math.imul(k, 0xcc9e2d51);
  x = (x << 15) | (x >>> 17);
  x = Math.imul(x, 0x1b873593);
  let y = h ^ x;
  y = (y << 13) | (y >>> 19);
  return (Math.imul(y, 5) + 0xe6546b64) | 0;
}

/** murmur3's finaliser: every input bit reaches every output bit. */
function finish(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * Draws keyed by what they decide instead of by when they are made: uniform i of key (kind, a, b, c) is a hash
 * of the seed, the key and i (a counter-based generator). A copy's fate is then the same whichever order the
 * simulator draws the copies in, and whichever thread draws them: what lets members be split across workers
 * with the same result (docs/simulator.md, "Parallel runs").
 */
export class KeyedDraws {
  private base = 0;

  constructor(private readonly seedWord: number) {}

  /** Selects the key of the draws that `uniform` returns next. */
  key(kind: number, a: number, b: number, c: number): this {
    this.base = combine(combine(combine(combine(this.seedWord, kind), a), b), c);
    return this;
  }

  /** Uniform in [0, 1): draw `i` of the selected key. */
  uniform(i: number): number {
    return finish(combine(this.base, i)) / TWO_POW_32;
  }

  /** A standard normal from draws i and i + 1 (Box-Muller). */
  normal(i: number): number {
    const u = 1 - this.uniform(i);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform(i + 1));
  }
}

/** Gilbert-Elliott state of one receiver's link, advanced lazily as time goes forward. */
interface LinkState {
  bad: boolean;
  /** When the current state ends. */
  until: number;
  readonly rng: Sfc32;
}

/**
 * The network between the nodes of one channel, as a pub/sub mesh looks to an application:
 * every publication reaches each other subscriber after a log-normal delay (never below the scenario's
 * `latencyFloorMs`), unless it is dropped by
 * independent loss, by the receiver's Gilbert-Elliott burst state, by a partition between the two,
 * or because the receiver is offline when it would arrive.
 *
 * Each copy's fate is drawn separately: two receivers of one publication are independent, which is
 * how gossipsub loss looks from the edge (a publication that reaches no one is the sender's resend case).
 */
export class Network {
  readonly sigma: number;
  private readonly links: LinkState[] = [];
  private readonly goodMeanMs: number;
  /** Per partition: which side each node is on (1 = the minority). */
  private readonly sides: Uint8Array[] = [];
  private healed = false;
  /** Draws keyed by copy (`copyFate`) and by direct-path call (owner-path.ts). */
  readonly keyed: KeyedDraws;

  // Measured, for the report and for the tests of the model itself.
  readonly latency = new Histogram(0.001);
  copies = 0;
  readonly dropped: Record<DropCause, number> = { independent: 0, burst: 0, partition: 0, offline: 0 };

  constructor(
    private readonly scenario: Scenario,
    nodes: number,
    /** Nodes that never leave the majority side of a partition (the owner). */
    anchored: ReadonlySet<number>,
    private readonly rng: Sfc32,
    start: number,
    /** Partition windows count from here (the first message is sent after it). */
    private readonly trafficStart: number = start,
  ) {
    const s = scenario;
    this.sigma = s.latencyMs > 0 && s.latencyP99Ms > s.latencyMs ? Math.log(s.latencyP99Ms / s.latencyMs) / Z99 : 0;
    this.goodMeanMs = s.burstLoss > 0 ? (s.burstMeanMs * (1 - s.burstLoss)) / s.burstLoss : Number.POSITIVE_INFINITY;
    this.keyed = new KeyedDraws(rng.fork("copies").nextUint32());
    const burstRng = rng.fork("burst");
    for (let i = 0; i < nodes; i++) {
      const r = burstRng.fork(String(i));
      const bad = r.bernoulli(s.burstLoss);
      const until = start + r.exponential(bad ? s.burstMeanMs : this.goodMeanMs);
      this.links.push({ bad, until, rng: r });
    }
    const partRng = rng.fork("partitions");
    for (const p of s.partitions) this.sides.push(chooseSide(p, nodes, anchored, partRng));
  }

  /**
   * The fate of the copy of publication (kind, a, b) to node `to`, from draws keyed by exactly that (see
   * `CopyKey`): its one-way delay, or -1 when independent loss drops it. Original content copies are keyed by
   * their content index, so both protocols see the same fate for each, whatever else they publish.
   */
  copyFate(kind: CopyKey, a: number, b: number, to: number): number {
    const k = this.keyed.key(kind, a, b, to);
    this.copies++;
    if (this.scenario.loss > 0 && k.uniform(0) < this.scenario.loss) {
      this.dropped.independent++;
      return -1;
    }
    const d = this.delay(this.scenario.latencyMs, k.normal(1));
    this.latency.add(d);
    return d;
  }

  /** A log-normal delay of median `median` and the topic's spread for the standard normal `z`, at least the floor. */
  delay(median: number, z: number): number {
    return Math.max(this.scenario.latencyFloorMs, this.sigma === 0 ? median : median * Math.exp(this.sigma * z));
  }

  /** One-way delay of one copy from the stream `r` (order-dependent: for the SDS store path and tests). */
  sampleLatency(r: Sfc32 = this.rng): number {
    const s = this.scenario;
    const d = Math.max(s.latencyFloorMs, r.logNormal(s.latencyMs, this.sigma));
    this.latency.add(d);
    return d;
  }

  /** Independent loss, drawn when the copy is sent. */
  dropOnSend(r: Sfc32 = this.rng): boolean {
    this.copies++;
    if (r.bernoulli(this.scenario.loss)) {
      this.dropped.independent++;
      return true;
    }
    return false;
  }

  /** Loss decided when the copy would arrive: the receiver's burst state and partitions (offline is the caller's). */
  dropOnArrival(from: number, to: number, at: number): DropCause | undefined {
    if (this.scenario.burstLoss > 0) {
      const link = this.advance(to, at);
      if (link.bad && link.rng.bernoulli(this.scenario.burstBadLoss)) {
        this.dropped.burst++;
        return "burst";
      }
    }
    if (this.separated(from, to, at)) {
      this.dropped.partition++;
      return "partition";
    }
    return undefined;
  }

  countOffline(): void {
    this.dropped.offline++;
  }

  /** True while an active partition puts `a` and `b` on different sides. */
  separated(a: number, b: number, at: number): boolean {
    if (this.healed) return false;
    const parts = this.scenario.partitions;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      const from = this.trafficStart + p.atMs;
      if (at < from || at >= from + p.durationMs) continue;
      const side = this.sides[i]!;
      if (side[a] !== side[b]) return true;
    }
    return false;
  }

  /** Ends every partition and burst for good (the settle phase at the end of a run). */
  heal(): void {
    this.healed = true;
    for (const link of this.links) {
      link.bad = false;
      link.until = Number.POSITIVE_INFINITY;
    }
  }

  /** Long-run loss rate the configuration implies for one copy (offline and partitions aside). */
  expectedLoss(): number {
    const s = this.scenario;
    return 1 - (1 - s.loss) * (1 - s.burstLoss * s.burstBadLoss);
  }

  /** What this shard measured, by reference: the run's figures are the sum of every shard's. */
  parts(): NetworkParts {
    return { copies: this.copies, dropped: this.dropped, latency: this.latency };
  }

  private advance(node: number, at: number): LinkState {
    const link = this.links[node]!;
    while (link.until <= at) {
      link.bad = !link.bad;
      link.until += link.rng.exponential(link.bad ? this.scenario.burstMeanMs : this.goodMeanMs);
    }
    return link;
  }
}

function chooseSide(p: Partition, nodes: number, anchored: ReadonlySet<number>, rng: Sfc32): Uint8Array {
  const side = new Uint8Array(nodes);
  const candidates: number[] = [];
  for (let i = 0; i < nodes; i++) if (!anchored.has(i)) candidates.push(i);
  // Fisher-Yates prefix: the first k of a seeded shuffle form the minority.
  const k = Math.round(p.fraction * candidates.length);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(candidates.length - i);
    const t = candidates[i]!;
    candidates[i] = candidates[j]!;
    candidates[j] = t;
    side[candidates[i]!] = 1;
  }
  return side;
}
