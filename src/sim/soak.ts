import type { ChannelEngine } from "../core/index.js";
import { Sfc32 } from "../core/prng.js";
import { ChorusProtocol } from "./chorus.js";
import type { SimDetail, SimMetrics } from "./metrics.js";
import { resolveScenario, type Scenario, type ScenarioInput } from "./scenario.js";
import { LocalShard, runShards } from "./shards.js";
import { type Protocol, type SimMember, World } from "./world.js";

/**
 * The simulated soak: a Communities channel at chat rates for a virtual day, members churning, the real
 * engine in every node. Every virtual hour it samples each engine's buffers and the process heap, so
 * that a buffer or a leak that grows with time shows as a rising column.
 */

export type BufferName = keyof ReturnType<ChannelEngine["bufferSizes"]>;

export const BUFFERS: readonly BufferName[] = [
  "pending",
  "missing",
  "waiters",
  "responses",
  "timers",
  "own",
  "seen",
  "cache",
  "members",
  "senders",
  "quotas",
];

/** Buffers that hold work in progress: at a steady chat rate they must not grow from one hour to the next. */
export const WORKING_SET: readonly BufferName[] = ["pending", "missing", "waiters", "responses", "timers"];

export interface SoakSample {
  /** Virtual hours since the start (the first sample is taken at hour 1). */
  readonly hour: number;
  /** Ordinary members joined and online at the sample. */
  readonly online: number;
  readonly joined: number;
  /** Content messages sent so far. */
  readonly sent: number;
  /** Largest value of each buffer over the ordinary members (joined ones, online or not). */
  readonly max: Readonly<Record<BufferName, number>>;
  /** Sum of each buffer over the ordinary members: which state the heap holds, and how it moves. */
  readonly sum: Readonly<Record<BufferName, number>>;
  /** The owner's buffers (its repair cache is the channel's history: it grows by design). */
  readonly owner: Readonly<Record<BufferName, number>> | undefined;
  /** Process heap in use, in bytes, after a full collection when the process runs with --expose-gc. */
  readonly heapUsed: number;
}

export interface SoakOptions {
  readonly hours: number;
  /** Scenario options over the soak defaults (`SOAK_SCENARIO`). */
  readonly scenario?: ScenarioInput;
  /** Called after each hourly sample. */
  readonly onSample?: (sample: SoakSample) => void;
}

export interface SoakResult {
  readonly scenario: Scenario;
  readonly samples: readonly SoakSample[];
  /** The configured bound of each buffer of an ordinary member, where it has one. */
  readonly bounds: Readonly<Partial<Record<BufferName, number>>>;
  readonly metrics: SimMetrics;
  readonly detail: SimDetail;
  readonly wallMs: number;
}

/**
 * Chat rates of a busy Communities channel: 80 members, 3 messages a minute channel-wide (Zipf senders: the
 * most active member sends about 6 per 10 minutes, well within RLN), members online 75 % of the time in
 * sessions of about 45 minutes (offline spells of 15), a fifth of them joining during the first half, 2 %
 * loss, the owner online 95 % of the time. The engine defaults apply, with the rate quota on (the simulator
 * turns it off by default), and a smaller repair cache (500): with the default 5,000, 4,320 messages a day never
 * fill it, and a soak should see that bound reached and held. Seen ids keep their default (100,000): with
 * 1,000 (a 5-hour horizon here) members delivered old messages again after hour 9 (a repair answer for a
 * message below a sender's current run, once its id has left the seen set, is taken as new).
 */
export const SOAK_SCENARIO: ScenarioInput = Object.freeze({
  members: 80,
  rate: 3 / 60,
  mix: "heavy",
  loss: 0.02,
  offline: 0.25,
  offlineMeanMs: 15 * 60_000,
  lateJoin: 0.2,
  owner: true,
  ownerAvailability: 0.95,
  warmupMs: 240_000,
  settleMs: 600_000,
  // Bounds small enough to be reached within the day, so that a flat heap means bounded state: seen ids
  // leave the set after 1,000 (older copies are still recognised by sequence number).
  params: { senderQuotaPer600s: 120, repairCacheSize: 500, maxSeenIds: 1_000, maxTrackedOwn: 64 },
  // The owner's full history lives in its node's store; its engine keeps the hot part at hand, and receipts
  // for the newest 1,000 messages (each entry holds up to one id per member).
  ownerParams: { repairCacheSize: 2_000, maxSeenIds: 4_000, maxTrackedReceipts: 1_000 },
});

const HOUR_MS = 3_600_000;

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  return process.memoryUsage().heapUsed;
}

/** Wraps the Chorus protocol so that every call into a member first takes the samples that fell due. */
class SampledProtocol implements Protocol {
  readonly name = "chorus";
  readonly samples: SoakSample[] = [];
  private world: World | undefined;
  private nextAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly inner: ChorusProtocol,
    private readonly onSample: ((sample: SoakSample) => void) | undefined,
    private readonly hours: number,
  ) {}

  describe(): Record<string, unknown> {
    return this.inner.describe();
  }

  attach(world: World): void {
    this.inner.attach(world);
  }

  decode(bytes: Uint8Array): unknown {
    return this.inner.decode(bytes);
  }

  finishShare(world: World): unknown {
    return this.inner.finishShare(world);
  }

  finish(world: World, shares: readonly unknown[]): unknown {
    // Hours after the last event: nothing happened since, so the state then is the state now.
    while (this.samples.length < this.hours && Number.isFinite(this.nextAt)) {
      this.take(world, Math.round((this.nextAt - world.start) / HOUR_MS));
      this.nextAt += HOUR_MS;
    }
    return this.inner.finish(world, shares);
  }

  createMember(world: World, node: number, now: number): SimMember {
    if (this.world === undefined) {
      this.world = world;
      this.nextAt = world.start + HOUR_MS;
    }
    const m = this.inner.createMember(world, node, now);
    return {
      send: (x, content, at) => {
        this.due(at);
        return m.send(x, content, at);
      },
      receive: (pub, at) => {
        this.due(at);
        return m.receive(pub, at);
      },
      tick: (at) => {
        this.due(at);
        return m.tick(at);
      },
      nextDeadline: () => m.nextDeadline(),
      ...(m.online === undefined ? {} : { online: (at: number) => m.online!(at) }),
    };
  }

  /** Samples taken at the first call at or after each full hour; at chat rates that is within seconds. */
  private due(now: number): void {
    while (now >= this.nextAt) {
      const world = this.world!;
      this.take(world, Math.round((this.nextAt - world.start) / HOUR_MS));
      this.nextAt += HOUR_MS;
    }
  }

  private take(world: World, hour: number): void {
    const max = Object.fromEntries(BUFFERS.map((b) => [b, 0])) as Record<BufferName, number>;
    const sum = { ...max };
    let owner: Record<BufferName, number> | undefined;
    let online = 0;
    let joined = 0;
    for (const n of world.nodes) {
      const engine = this.inner.engine(n.index);
      if (engine === undefined) continue;
      const sizes = engine.bufferSizes();
      if (n.owner) {
        owner = sizes;
        continue;
      }
      joined++;
      if (n.online) online++;
      for (const b of BUFFERS) {
        if (sizes[b] > max[b]) max[b] = sizes[b];
        sum[b] += sizes[b];
      }
    }
    const sample: SoakSample = {
      hour,
      online,
      joined,
      sent: world.recorder.messagesSent,
      max,
      sum,
      owner,
      heapUsed: heapUsed(),
    };
    this.samples.push(sample);
    this.onSample?.(sample);
  }
}

/** Runs the soak for `hours` virtual hours of traffic (after the warm-up), sampling every hour. */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const input: ScenarioInput = {
    ...SOAK_SCENARIO,
    ...options.scenario,
    params: { ...SOAK_SCENARIO.params, ...options.scenario?.params },
    ownerParams: { ...SOAK_SCENARIO.ownerParams, ...options.scenario?.ownerParams },
  };
  const rate = input.rate ?? 0.05;
  // Messages for the whole traffic phase; the settle phase comes after, so the last sample is at `hours`.
  const warmup = input.warmupMs ?? 240_000;
  const scenario = resolveScenario({
    ...input,
    messages: Math.max(1, Math.round((rate * (options.hours * HOUR_MS - warmup)) / 1000)),
  });
  const started = performance.now();
  const inner = new ChorusProtocol(scenario, new Sfc32(scenario.seed, "protocol"));
  const protocol = new SampledProtocol(inner, options.onSample, options.hours);
  const { metrics, detail } = await runShards(scenario, [new LocalShard(new World(scenario, protocol))]);
  const p = inner.describe().engine as Record<string, number>;
  return {
    scenario,
    samples: protocol.samples,
    bounds: {
      pending: p.maxPending!,
      missing: p.maxMissing!,
      own: p.maxTrackedOwn!,
      seen: p.maxSeenIds!,
      cache: p.repairCacheSize!,
      members: p.maxMembers!,
      quotas: p.maxMembers!,
    },
    metrics,
    detail,
    wallMs: Math.round(performance.now() - started),
  };
}

export interface Flatness {
  readonly buffer: BufferName | "heapMB";
  readonly early: number;
  readonly late: number;
  readonly bound: number | undefined;
  readonly ok: boolean;
}

/**
 * Compares the largest value of each buffer over two spans of hours (e.g. 2-4 and 20-24). A buffer is flat
 * when the late maximum stays within its configured bound and, for the working set and the heap, within
 * twice the early maximum plus `slack` (spikes of a member back from a long absence come and go).
 */
export function flatness(
  result: SoakResult,
  early: readonly [number, number],
  late: readonly [number, number],
  slack = 50,
  heapSlackMB = 64,
): Flatness[] {
  const span = ([from, to]: readonly [number, number]) => result.samples.filter((s) => s.hour >= from && s.hour <= to);
  const e = span(early);
  const l = span(late);
  const out: Flatness[] = [];
  for (const b of BUFFERS) {
    const em = Math.max(0, ...e.map((s) => s.max[b]));
    const lm = Math.max(0, ...l.map((s) => s.max[b]));
    const bound = result.bounds[b];
    let ok = bound === undefined || lm <= bound;
    if (WORKING_SET.includes(b)) ok &&= lm <= 2 * em + slack;
    out.push({ buffer: b, early: em, late: lm, bound, ok });
  }
  const mb = (s: SoakSample) => s.heapUsed / 2 ** 20;
  const eh = Math.max(0, ...e.map(mb));
  const lh = Math.max(0, ...l.map(mb));
  out.push({ buffer: "heapMB", early: eh, late: lh, bound: undefined, ok: lh <= 2 * eh + heapSlackMB });
  return out;
}

/** The hourly table, one line per sample, in markdown: buffers are maxima over the ordinary members. */
export function soakTable(samples: readonly SoakSample[]): string {
  const cols = ["hour", "online", "sent", ...BUFFERS, "own Σ", "owner cache", "owner seen", "heap MB"];
  const lines = [`| ${cols.join(" | ")} |`, `|${cols.map(() => "---:").join("|")}|`];
  for (const s of samples) {
    const row = [
      s.hour,
      `${s.online}/${s.joined}`,
      s.sent,
      ...BUFFERS.map((b) => s.max[b]),
      s.sum.own,
      s.owner?.cache ?? "-",
      s.owner?.seen ?? "-",
      (s.heapUsed / 2 ** 20).toFixed(1),
    ];
    lines.push(`| ${row.join(" | ")} |`);
  }
  return lines.join("\n");
}
