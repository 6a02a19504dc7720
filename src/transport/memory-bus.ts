// An in-memory pub/sub network for tests and simulation: many transports attached to one bus,
// with configurable loss, duplication, latency (and so reordering), partitions and offline peers.
//
// Time and randomness come in through the options: a `Scheduler` that runs a function after a
// delay and a `random()` in [0, 1). With `ManualScheduler` and `seededRandom(seed)` (src/core/prng.ts) a run is exactly
// reproducible; the defaults (real timers, Math.random) suit tests that only need "eventually".
import {
  checkFunction,
  checkHandle,
  checkName,
  checkPublish,
  checkRequest,
  checkSubscribe,
  checkTransportOptions,
  type MessageHandler,
  type PeerId,
  type RequestHandler,
  type RequestOptions,
  type Transport,
  TransportError,
} from "./transport.js";

/** Cancels a scheduled function; harmless after it ran. */
export type Cancel = () => void;

export interface Scheduler {
  schedule(delayMs: number, fn: () => void): Cancel;
}

/** Real timers. */
export class RealTimeScheduler implements Scheduler {
  schedule(delayMs: number, fn: () => void): Cancel {
    const timer = setTimeout(fn, delayMs);
    return () => clearTimeout(timer);
  }
}

interface ManualTask {
  readonly at: number;
  readonly order: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * Virtual time. Nothing runs until the test calls `advance`, `runAll` or `settle`; tasks due at
 * the same time run in the order they were scheduled.
 */
export class ManualScheduler implements Scheduler {
  private time = 0;
  private order = 0;
  /** Sorted by (at, order). */
  private readonly tasks: ManualTask[] = [];

  get now(): number {
    return this.time;
  }

  get pending(): number {
    return this.tasks.length;
  }

  schedule(delayMs: number, fn: () => void): Cancel {
    const task: ManualTask = { at: this.time + Math.max(0, delayMs), order: this.order++, fn, cancelled: false };
    let lo = 0;
    let hi = this.tasks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.tasks[mid] as ManualTask).at <= task.at) lo = mid + 1;
      else hi = mid;
    }
    this.tasks.splice(lo, 0, task);
    return () => {
      if (task.cancelled) return;
      task.cancelled = true;
      const i = this.tasks.indexOf(task);
      if (i >= 0) this.tasks.splice(i, 1);
    };
  }

  /** Runs every task due within the next `ms` milliseconds, including ones they schedule, and moves time forward. */
  advance(ms: number): number {
    const until = this.time + ms;
    let ran = 0;
    for (;;) {
      const next = this.tasks[0];
      if (next === undefined || next.at > until) break;
      this.tasks.shift();
      this.time = next.at;
      next.cancelled = true;
      next.fn();
      ran++;
    }
    this.time = until;
    return ran;
  }

  /** Runs tasks in time order until none is left; throws after `maxTasks` (a task that reschedules forever). */
  runAll(maxTasks = 1_000_000): number {
    let ran = 0;
    for (;;) {
      const next = this.tasks[0];
      if (next === undefined) return ran;
      if (ran >= maxTasks) throw new Error(`ManualScheduler.runAll: still busy after ${maxTasks} tasks`);
      ran += this.advance(next.at - this.time);
    }
  }

  /**
   * Like runAll, but lets promise callbacks run between tasks, which request handlers need
   * (they may be async). Resolves when no task is left.
   */
  async settle(maxTasks = 1_000_000): Promise<number> {
    let ran = 0;
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const next = this.tasks[0];
      if (next === undefined) return ran;
      if (ran >= maxTasks) throw new Error(`ManualScheduler.settle: still busy after ${maxTasks} tasks`);
      ran += this.advance(next.at - this.time);
    }
  }
}

/** Milliseconds from one peer to another: fixed, uniform in [min, max], or computed. */
export type Latency = number | { readonly min: number; readonly max: number } | ((from: PeerId, to: PeerId) => number);

export interface LinkConditions {
  /** Probability that one message to one recipient is lost. Default 0. */
  readonly loss: number;
  /** Probability that a message that was not lost arrives a second time. Default 0. */
  readonly duplicate: number;
  /** Default 0 (delivery still happens later, never inside `publish`). */
  readonly latency: Latency;
  /** Probability that a request fails as PEER_UNREACHABLE before reaching its peer. Default 0. */
  readonly requestFailure: number;
}

export interface MemoryBusOptions extends Partial<LinkConditions> {
  readonly scheduler?: Scheduler;
  readonly random?: () => number;
  readonly maxMessageBytes?: number;
  readonly maxFrameBytes?: number;
  readonly requestTimeoutMs?: number;
}

/** Counts since the bus was created. One "attempt" is one message towards one subscribed recipient. */
export interface BusStats {
  readonly published: number;
  readonly attempts: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly delivered: number;
  /** Copies that arrived after the recipient went offline, unsubscribed, stopped or was partitioned. */
  readonly discarded: number;
}

function checkProbability(name: string, value: unknown): number {
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw new RangeError(`${name} must be a probability from 0 to 1, got ${String(value)}`);
  }
  return value;
}

function checkLatency(value: unknown): Latency {
  if (typeof value === "function") return value as Latency;
  if (typeof value === "number") {
    if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError(`latency must be >= 0 ms, got ${value}`);
    return value;
  }
  if (typeof value === "object" && value !== null) {
    const { min, max } = value as { min: unknown; max: unknown };
    if (typeof min !== "number" || typeof max !== "number" || !(min >= 0) || !(max >= min) || !Number.isFinite(max)) {
      throw new RangeError(`latency must be { min, max } with 0 <= min <= max, got { min: ${min}, max: ${max} }`);
    }
    return { min, max };
  }
  throw new TypeError(`latency must be a number, { min, max } or a function, got ${typeof value}`);
}

export class MemoryBus {
  readonly scheduler: Scheduler;
  readonly random: () => number;
  readonly maxMessageBytes: number;
  readonly maxFrameBytes: number;
  readonly requestTimeoutMs: number;
  private conditions: LinkConditions = { loss: 0, duplicate: 0, latency: 0, requestFailure: 0 };
  /** Attached, not stopped transports by peer id, in attach order (which fixes the order of random draws). */
  private readonly attached = new Map<PeerId, MemoryTransport>();
  private readonly offline = new Set<PeerId>();
  private readonly group = new Map<PeerId, number>();
  private readonly tasks = new Set<Cancel>();
  private closed = false;
  private counts = { published: 0, attempts: 0, lost: 0, duplicated: 0, delivered: 0, discarded: 0 };

  constructor(options: MemoryBusOptions = {}) {
    this.scheduler = options.scheduler ?? new RealTimeScheduler();
    this.random = options.random ?? Math.random;
    checkFunction("options.random", this.random);
    const limits = checkTransportOptions(options);
    this.maxMessageBytes = limits.maxMessageBytes;
    this.maxFrameBytes = limits.maxFrameBytes;
    this.requestTimeoutMs = limits.requestTimeoutMs;
    this.setConditions(options);
  }

  get stats(): BusStats {
    return { ...this.counts };
  }

  /** Changes loss, duplication, latency or request failure from now on; omitted fields keep their value. */
  setConditions(conditions: Partial<LinkConditions>): void {
    const next = { ...this.conditions };
    if (conditions.loss !== undefined) next.loss = checkProbability("loss", conditions.loss);
    if (conditions.duplicate !== undefined) next.duplicate = checkProbability("duplicate", conditions.duplicate);
    if (conditions.requestFailure !== undefined) {
      next.requestFailure = checkProbability("requestFailure", conditions.requestFailure);
    }
    if (conditions.latency !== undefined) next.latency = checkLatency(conditions.latency);
    this.conditions = next;
  }

  /** Creates a transport on this bus. A peer id may be reused once its previous transport stopped (a restart). */
  createTransport(peerId: PeerId): MemoryTransport {
    checkName("peerId", peerId);
    if (this.closed) throw new Error("MemoryBus.createTransport: the bus is closed");
    if (this.attached.has(peerId)) throw new RangeError(`peerId ${JSON.stringify(peerId)} is already attached`);
    const transport = new MemoryTransport(this, peerId);
    this.attached.set(peerId, transport);
    return transport;
  }

  /**
   * Splits the listed peers into groups that cannot reach each other, replacing any earlier
   * partition. Peers not listed reach everyone.
   */
  partition(...groups: readonly (readonly PeerId[])[]): void {
    this.group.clear();
    groups.forEach((members, i) => {
      for (const peer of members) this.group.set(checkName("peer", peer), i);
    });
  }

  /** Removes every partition. */
  heal(): void {
    this.group.clear();
  }

  /** An offline peer sends and receives nothing; what is in flight to it is discarded. Survives restarts. */
  setOffline(peerId: PeerId, offline: boolean): void {
    checkName("peerId", peerId);
    if (offline) this.offline.add(peerId);
    else this.offline.delete(peerId);
  }

  isOffline(peerId: PeerId): boolean {
    return this.offline.has(peerId);
  }

  /** Whether a message from `from` can travel to `to` right now. */
  canReach(from: PeerId, to: PeerId): boolean {
    if (this.offline.has(from) || this.offline.has(to)) return false;
    const a = this.group.get(from);
    const b = this.group.get(to);
    return a === undefined || b === undefined || a === b;
  }

  /** Cancels everything in flight. Transports stay usable only if not stopped; usually stop them first. */
  close(): void {
    this.closed = true;
    for (const cancel of this.tasks) cancel();
    this.tasks.clear();
  }

  /** @internal */
  running(peerId: PeerId): MemoryTransport | undefined {
    const t = this.attached.get(peerId);
    return t?.isRunning() ? t : undefined;
  }

  /** @internal */
  runningPeerIds(): PeerId[] {
    return [...this.attached.values()].filter((t) => t.isRunning()).map((t) => t.peerId);
  }

  /** @internal */
  detach(transport: MemoryTransport): void {
    if (this.attached.get(transport.peerId) === transport) this.attached.delete(transport.peerId);
  }

  /** @internal Runs `fn` after the link latency from `from` to `to`. */
  send(from: PeerId, to: PeerId, fn: () => void): void {
    this.after(this.latency(from, to), fn);
  }

  /** @internal Runs `fn` after `delayMs`; bus.close() cancels it. */
  after(delayMs: number, fn: () => void): Cancel {
    const cancel = this.scheduler.schedule(delayMs, () => {
      this.tasks.delete(cancel);
      fn();
    });
    this.tasks.add(cancel);
    return () => {
      this.tasks.delete(cancel);
      cancel();
    };
  }

  /** @internal */
  publish(from: MemoryTransport, topic: string, bytes: Uint8Array): void {
    this.counts.published++;
    if (this.offline.has(from.peerId)) return;
    for (const target of this.attached.values()) {
      if (target === from || !target.isRunning() || !target.isSubscribed(topic)) continue;
      if (!this.canReach(from.peerId, target.peerId)) continue;
      this.counts.attempts++;
      if (this.random() < this.conditions.loss) {
        this.counts.lost++;
        continue;
      }
      const copies = this.random() < this.conditions.duplicate ? 2 : 1;
      if (copies === 2) this.counts.duplicated++;
      for (let i = 0; i < copies; i++) {
        // Each copy gets its own latency, so copies and messages reorder as they would in gossip.
        this.send(from.peerId, target.peerId, () => {
          if (
            target.isRunning() &&
            this.canReach(from.peerId, target.peerId) &&
            target.deliver(topic, bytes, from.peerId)
          ) {
            this.counts.delivered++;
          } else {
            this.counts.discarded++;
          }
        });
      }
    }
  }

  /** @internal */
  drawRequestFailure(): boolean {
    return this.conditions.requestFailure > 0 && this.random() < this.conditions.requestFailure;
  }

  private latency(from: PeerId, to: PeerId): number {
    const latency = this.conditions.latency;
    if (typeof latency === "number") return latency;
    if (typeof latency === "function") return Math.max(0, latency(from, to));
    return latency.min + this.random() * (latency.max - latency.min);
  }
}

type State = "new" | "running" | "stopped";

export class MemoryTransport implements Transport {
  private state: State = "new";
  private readonly subscriptions = new Map<string, MessageHandler>();
  private readonly handlers = new Map<string, RequestHandler>();
  /** Settles each of this transport's outstanding requests with an error (on stop). */
  private readonly outstanding = new Set<(error: TransportError) => void>();

  constructor(
    private readonly bus: MemoryBus,
    readonly peerId: PeerId,
  ) {}

  get maxMessageBytes(): number {
    return this.bus.maxMessageBytes;
  }

  get maxFrameBytes(): number {
    return this.bus.maxFrameBytes;
  }

  async start(): Promise<void> {
    if (this.state === "stopped")
      throw new TransportError("NOT_STARTED", `${this.peerId} was stopped; create a new transport`);
    this.state = "running";
  }

  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "stopped";
    this.subscriptions.clear();
    this.handlers.clear();
    for (const fail of [...this.outstanding]) fail(new TransportError("NOT_STARTED", `${this.peerId} stopped`));
    this.bus.detach(this);
  }

  isRunning(): boolean {
    return this.state === "running";
  }

  isSubscribed(topic: string): boolean {
    return this.subscriptions.has(topic);
  }

  subscribe(topic: string, handler: MessageHandler): void {
    checkSubscribe(topic, handler);
    this.notStopped("subscribe");
    if (this.subscriptions.has(topic))
      throw new Error(`subscribe: ${this.peerId} is already subscribed to ${JSON.stringify(topic)}`);
    this.subscriptions.set(topic, handler);
  }

  unsubscribe(topic: string): void {
    checkName("topic", topic);
    this.subscriptions.delete(topic);
  }

  async publish(topic: string, bytes: Uint8Array): Promise<void> {
    checkPublish(topic, bytes, this.bus);
    this.mustRun("publish");
    // The copy is what travels: later changes to the caller's buffer must not reach receivers.
    this.bus.publish(this, topic, new Uint8Array(bytes));
  }

  peers(topic?: string): PeerId[] {
    if (topic !== undefined) checkName("topic", topic);
    if (!this.isRunning()) return [];
    const out: PeerId[] = [];
    for (const peer of this.reachablePeers()) {
      if (topic === undefined || peer.isSubscribed(topic)) out.push(peer.peerId);
    }
    return out.sort();
  }

  handle(protocol: string, handler: RequestHandler): void {
    checkHandle(protocol, handler);
    this.notStopped("handle");
    if (this.handlers.has(protocol))
      throw new Error(`handle: ${this.peerId} already handles ${JSON.stringify(protocol)}`);
    this.handlers.set(protocol, handler);
  }

  unhandle(protocol: string): void {
    checkName("protocol", protocol);
    this.handlers.delete(protocol);
  }

  request(peer: PeerId, protocol: string, bytes: Uint8Array, options: RequestOptions = {}): Promise<Uint8Array> {
    let timeoutMs: number;
    try {
      timeoutMs = checkRequest(peer, protocol, bytes, options, this.bus);
      this.mustRun("request");
    } catch (error) {
      return Promise.reject(error);
    }
    const { signal } = options;
    const what = `request ${JSON.stringify(protocol)} to ${peer}`;

    return new Promise<Uint8Array>((resolve, reject) => {
      let settled = false;
      const onAbort = () => finish(new TransportError("TIMEOUT", `${what} aborted`, { cause: signal?.reason }));
      const cancelTimeout = this.bus.after(timeoutMs, () =>
        finish(new TransportError("TIMEOUT", `${what}: no response within ${timeoutMs} ms`)),
      );
      const finish = (error: TransportError | undefined, response?: Uint8Array) => {
        if (settled) return;
        settled = true;
        cancelTimeout();
        signal?.removeEventListener("abort", onAbort);
        this.outstanding.delete(finish);
        if (error) reject(error);
        else resolve(response as Uint8Array);
      };
      this.outstanding.add(finish);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort);

      const unreachable = () =>
        new TransportError("PEER_UNREACHABLE", `${what}: peer is unknown, offline or partitioned away`);
      if (peer === this.peerId || this.bus.running(peer) === undefined || !this.bus.canReach(this.peerId, peer)) {
        return finish(unreachable());
      }
      if (this.bus.drawRequestFailure()) return finish(unreachable());
      const payload = new Uint8Array(bytes);
      // Back to the requester after the return latency, unless the link broke meanwhile.
      const reply = (error: TransportError | undefined, response?: Uint8Array) =>
        this.bus.send(peer, this.peerId, () => {
          if (!this.bus.canReach(peer, this.peerId)) finish(unreachable());
          else finish(error, response);
        });

      this.bus.send(this.peerId, peer, () => {
        const target = this.bus.running(peer);
        if (target === undefined || !this.bus.canReach(this.peerId, peer)) return finish(unreachable());
        this.answer(target.handlerFor(protocol), payload, what, reply);
      });
    });
  }

  /** Runs the peer's handler for a request and replies with its response or what went wrong. */
  private answer(
    handler: RequestHandler | undefined,
    payload: Uint8Array,
    what: string,
    reply: (error: TransportError | undefined, response?: Uint8Array) => void,
  ): void {
    if (handler === undefined) {
      reply(new TransportError("UNSUPPORTED_PROTOCOL", `${what}: the peer does not handle this protocol`));
      return;
    }
    Promise.resolve()
      .then(() => handler(payload, this.peerId))
      .then(
        (response) => {
          if (!(response instanceof Uint8Array)) {
            return reply(
              new TransportError(
                "HANDLER_FAILED",
                `${what}: the handler returned ${typeof response}, not a Uint8Array`,
              ),
            );
          }
          if (response.length > this.bus.maxFrameBytes) {
            return reply(
              new TransportError(
                "PROTOCOL_ERROR",
                `${what}: response of ${response.length} bytes is over the frame limit of ${this.bus.maxFrameBytes}`,
              ),
            );
          }
          reply(undefined, new Uint8Array(response));
        },
        (error: unknown) =>
          reply(
            new TransportError("HANDLER_FAILED", `${what}: ${error instanceof Error ? error.message : String(error)}`),
          ),
      );
  }

  /** @internal Hands a message to the topic handler; false when there is none. */
  deliver(topic: string, bytes: Uint8Array, from: PeerId): boolean {
    const handler = this.subscriptions.get(topic);
    if (handler === undefined) return false;
    handler(new Uint8Array(bytes), from);
    return true;
  }

  /** @internal */
  handlerFor(protocol: string): RequestHandler | undefined {
    return this.handlers.get(protocol);
  }

  private *reachablePeers(): Iterable<MemoryTransport> {
    for (const id of this.bus.runningPeerIds()) {
      if (id === this.peerId || !this.bus.canReach(this.peerId, id)) continue;
      const t = this.bus.running(id);
      if (t) yield t;
    }
  }

  private notStopped(operation: string): void {
    if (this.state === "stopped") throw new TransportError("NOT_STARTED", `${operation}: ${this.peerId} was stopped`);
  }

  private mustRun(operation: string): void {
    if (this.state !== "running") {
      throw new TransportError(
        "NOT_STARTED",
        `${operation}: ${this.peerId} is ${this.state === "new" ? "not started" : "stopped"}`,
      );
    }
  }
}
