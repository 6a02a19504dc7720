// A seeded in-process network of engines for property tests: messages can be dropped, duplicated
// and reordered (random latency); the network can heal; members can restart from JSON snapshots.
// Virtual time only: the network jumps to the next packet arrival or engine deadline.

import type { EngineSnapshot } from "../../src/core/engine.js";
import { ChannelEngine, type Identity, type Params } from "../../src/core/index.js";
import type { Step } from "../../src/core/types.js";
import { CHANNEL, cachedVerifier, identity, prng } from "./fixtures.js";

export interface Faults {
  /** Probability that one copy of a message to one member is lost. */
  readonly drop: number;
  /** Probability that a delivered copy arrives twice. */
  readonly duplicate: number;
  /** Latency is uniform in [minDelayMs, maxDelayMs]; a wide range reorders messages. */
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
}

export const RELIABLE: Faults = { drop: 0, duplicate: 0, minDelayMs: 50, maxDelayMs: 50 };

interface Packet {
  readonly at: number;
  readonly order: number;
  readonly to: number;
  readonly bytes: Uint8Array;
}

export interface NetworkOptions {
  readonly members: number;
  readonly seed: number;
  readonly params?: Partial<Params>;
  readonly faults?: Faults;
  /** Index offset for identities, so that different tests use different keys. */
  readonly identityBase?: number;
}

/** Violations found while running; properties assert this stays empty. */
export interface Violation {
  readonly member: number;
  readonly what: string;
}

export class Network {
  readonly ids: Identity[];
  readonly engines: ChannelEngine[];
  readonly params: Partial<Params>;
  now = 0;
  faults: Faults;
  /** Per member: message id -> times delivered to the application (across restarts). */
  readonly deliveredCount: Map<string, number>[];
  readonly violations: Violation[] = [];
  /** Every outgoing message by purpose, for counting. */
  readonly sent = new Map<string, number>();
  /** Every outgoing message: who, when, what. */
  readonly log: { from: number; at: number; purpose: string; messageId: string }[] = [];
  /** Called with every packet that reaches a member, just before the member receives it (lost copies never are). */
  onReceive: ((to: number, bytes: Uint8Array) => void) | undefined;
  private packets: Packet[] = [];
  private order = 0;
  private readonly random: () => number;
  private readonly engineRandom: (() => number)[];
  private readonly verify = cachedVerifier();
  private sendCounter = 0;

  constructor(opts: NetworkOptions) {
    this.random = prng(opts.seed);
    this.params = opts.params ?? {};
    this.faults = opts.faults ?? RELIABLE;
    const base = opts.identityBase ?? 100;
    this.ids = Array.from({ length: opts.members }, (_, i) => identity(base + i));
    this.engineRandom = this.ids.map((_, i) => prng(opts.seed * 31 + i + 1));
    this.engines = this.ids.map(
      (id, i) =>
        new ChannelEngine({
          channelId: CHANNEL,
          identity: id,
          random: this.engineRandom[i]!,
          now: 0,
          params: this.params,
          verifySignature: this.verify,
        }),
    );
    this.deliveredCount = this.ids.map(() => new Map());
  }

  /** Member `i` sends a chat message now. Returns its id. */
  send(i: number, text?: string): string {
    const content = new TextEncoder().encode(text ?? `m${this.sendCounter++} from ${i}`);
    const result = this.engines[i]!.send(content, this.now);
    this.handle(i, result);
    return result.messageId;
  }

  /** Member `i` sends a chat message that does not reach the members in `except`. */
  sendExcept(i: number, except: readonly number[], text?: string): string {
    const content = new TextEncoder().encode(text ?? `m${this.sendCounter++} from ${i}`);
    const result = this.engines[i]!.send(content, this.now);
    this.handle(i, result, new Set(except));
    return result.messageId;
  }

  sendEphemeral(i: number, text: string): string {
    const result = this.engines[i]!.sendEphemeral(new TextEncoder().encode(text), this.now);
    this.handle(i, result);
    return result.messageId;
  }

  /** Publishes raw bytes from outside (e.g. an attacker) to every member but `except`. */
  inject(bytes: Uint8Array, except = -1): void {
    for (let to = 0; to < this.engines.length; to++) if (to !== except) this.enqueue(to, bytes);
  }

  /** Publishes raw bytes from outside to the members in `to` only (each copy under the network's faults). */
  injectTo(bytes: Uint8Array, to: readonly number[]): void {
    for (const i of to) this.enqueue(i, bytes);
  }

  /** Replaces member `i` by an engine restored from a JSON round trip of its snapshot. */
  restart(i: number): void {
    const snapshot = JSON.parse(JSON.stringify(this.engines[i]!.snapshot())) as EngineSnapshot;
    this.engines[i] = ChannelEngine.restore(snapshot, {
      channelId: CHANNEL,
      identity: this.ids[i]!,
      random: this.engineRandom[i]!,
      params: this.params,
      verifySignature: this.verify,
    });
  }

  /** Runs packets and timers until `until` (inclusive). Returns false if the step bound was hit. */
  runUntil(until: number, maxSteps = 200_000): boolean {
    for (let steps = 0; steps < maxSteps; steps++) {
      const next = this.nextEventTime();
      if (next === undefined || next > until) {
        this.now = Math.max(this.now, until);
        return true;
      }
      this.now = Math.max(this.now, next);
      this.step();
    }
    return false;
  }

  /** Runs until nothing is in flight and no engine has a deadline. Returns false if a bound was hit. */
  settle(maxMs = 6 * 3_600_000, maxSteps = 200_000): boolean {
    const limit = this.now + maxMs;
    for (let steps = 0; steps < maxSteps; steps++) {
      const next = this.nextEventTime();
      if (next === undefined) return true;
      if (next > limit) return false;
      this.now = Math.max(this.now, next);
      this.step();
    }
    return false;
  }

  heal(): void {
    this.faults = RELIABLE;
  }

  /** Ids of member `i`'s log in (lamport, id) order. */
  logIds(i: number): string[] {
    return this.engines[i]!.deliveredLog().map((m) => m.messageId);
  }

  inFlight(): number {
    return this.packets.length;
  }

  private nextEventTime(): number | undefined {
    let next: number | undefined;
    for (const p of this.packets) if (next === undefined || p.at < next) next = p.at;
    for (const e of this.engines) {
      const d = e.nextDeadline();
      if (d !== undefined && (next === undefined || d < next)) next = d;
    }
    return next;
  }

  /** Delivers every packet due now, then fires every due timer. */
  private step(): void {
    const due = this.packets.filter((p) => p.at <= this.now).sort((a, b) => a.at - b.at || a.order - b.order);
    if (due.length > 0) this.packets = this.packets.filter((p) => p.at > this.now);
    for (const p of due) {
      this.onReceive?.(p.to, p.bytes);
      this.handle(p.to, this.engines[p.to]!.receive(p.bytes, this.now));
    }
    for (let i = 0; i < this.engines.length; i++) {
      const d = this.engines[i]!.nextDeadline();
      if (d === undefined || d > this.now) continue;
      this.handle(i, this.engines[i]!.tick(this.now));
      const next = this.engines[i]!.nextDeadline();
      // A tick handles everything due: a deadline that does not move would make the network spin forever.
      if (next !== undefined && next <= this.now)
        throw new Error(`member ${i}: tick(${this.now}) left a deadline at ${next}`);
    }
  }

  private handle(i: number, step: Step, except?: ReadonlySet<number>): void {
    const counts = this.deliveredCount[i]!;
    for (const e of step.events) {
      if (e.type !== "delivered") continue;
      const n = (counts.get(e.message.messageId) ?? 0) + 1;
      counts.set(e.message.messageId, n);
      if (n > 1) this.violations.push({ member: i, what: `delivered ${e.message.messageId} ${n} times` });
    }
    for (const out of step.outgoing) {
      this.sent.set(out.purpose, (this.sent.get(out.purpose) ?? 0) + 1);
      this.log.push({ from: i, at: this.now, purpose: out.purpose, messageId: out.messageId });
      for (let to = 0; to < this.engines.length; to++) if (to !== i && !except?.has(to)) this.enqueue(to, out.bytes);
    }
  }

  private enqueue(to: number, bytes: Uint8Array): void {
    const f = this.faults;
    if (this.random() < f.drop) return;
    const copies = this.random() < f.duplicate ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const at = this.now + f.minDelayMs + this.random() * (f.maxDelayMs - f.minDelayMs);
      this.packets.push({ at, order: this.order++, to, bytes });
    }
  }
}

/**
 * Every buffer of `engine` over its configured limit, as "what value > limit" (empty when all are within).
 * Timers are bounded by what holds them; `timersPerPending` allows for held messages among those (fuzzed
 * input holds many; the harness's honest networks are checked without it).
 */
export function limitViolations(engine: ChannelEngine, timersPerPending = 4): string[] {
  const p = engine.params;
  const s = engine.bufferSizes();
  const out: string[] = [];
  const check = (what: string, value: number, limit: number) => {
    if (value > limit) out.push(`${what} ${value} > ${limit}`);
  };
  check("pending", s.pending, p.maxPending);
  check("missing", s.missing, p.maxMissing);
  check("own", s.own, p.maxTrackedOwn);
  check("seen", s.seen, p.maxSeenIds);
  check("cache", s.cache, p.repairCacheSize);
  check("members", s.members, p.maxMembers);
  check("responses", s.responses, p.repairCacheSize);
  check("waiters", s.waiters, p.maxMissing + p.maxPending);
  check("timers", s.timers, 4 * (s.missing * 2 + s.own + s.responses) + timersPerPending * s.pending + 64 + 4 * 1_024);
  return out;
}

/** Checks that every buffer of every engine is within its configured limit. */
export function bufferViolations(net: Network): Violation[] {
  return net.engines.flatMap((e, member) => limitViolations(e, 0).map((what) => ({ member, what })));
}
