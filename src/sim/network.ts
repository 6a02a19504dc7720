import type { Sfc32 } from "../core/prng.js";
import type { Partition, Scenario } from "./scenario.js";
import { Histogram } from "./stats.js";

/** z such that P(Z <= z) = 0.99 for a standard normal Z. */
const Z99 = 2.326347874;

export type DropCause = "independent" | "burst" | "partition" | "offline";

/** Gilbert-Elliott state of one receiver's link, advanced lazily as time goes forward. */
interface LinkState {
  bad: boolean;
  /** When the current state ends. */
  until: number;
  readonly rng: Sfc32;
}

/**
 * The network between the nodes of one channel, as a pub/sub mesh looks to an application:
 * every publication reaches each other subscriber after a log-normal delay, unless it is dropped by
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
   * A stream for the copies of one original content message: both protocols then see the same
   * fate (loss, latency) for every original copy, whatever else they publish.
   */
  contentStream(x: number): Sfc32 {
    return this.rng.fork(`content/${x}`);
  }

  /** One-way delay of one copy. */
  sampleLatency(r: Sfc32 = this.rng): number {
    const s = this.scenario;
    const d = r.logNormal(s.latencyMs, this.sigma);
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
