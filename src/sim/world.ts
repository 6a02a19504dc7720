import { Sfc32 } from "../core/prng.js";
import { EventQueue } from "./event-queue.js";
import { type Purpose, Recorder, type SimDetail, type SimMetrics } from "./metrics.js";
import { CopyKey, Network } from "./network.js";
import type { Scenario } from "./scenario.js";
import type { SimSeries } from "./series.js";
import { emptyShipment, planShards, type ShardPlace, type Shipment, shippedCopies } from "./shipment.js";

/** Virtual time of the first instant of every run: a realistic epoch, since protocols stamp messages with it. */
export const EPOCH_MS = 1_700_000_000_000;

/** One publication on the channel's topic, shared by every receiver of it. */
export interface Publication {
  readonly from: number;
  readonly bytes: Uint8Array;
  readonly purpose: Purpose;
  readonly contentBytes: number;
  /** Index of the content message it carries, -1 for none (sync, repair request). */
  readonly x: number;
  /** The protocol's decoding of `bytes`, done once for all receivers. */
  readonly decoded: unknown;
}

/** The protocol side of one node. A member is only called while its node is online. */
export interface SimMember {
  send(x: number, content: Uint8Array, now: number): void | Promise<void>;
  receive(pub: Publication, now: number): void | Promise<void>;
  tick(now: number): void | Promise<void>;
  /** When `tick` next has work; undefined for none. */
  nextDeadline(): number | undefined;
  /** The node came back online: connections it had are gone (the owner path reconnects). */
  online?(now: number): void;
}

/** A protocol under test: builds members and reads its own view of receipts at the end. */
export interface Protocol {
  readonly name: "chorus" | "sds";
  createMember(world: World, node: number, now: number): SimMember;
  /** The decoding of a publication's bytes that came from another shard (the same value its sender handed over). */
  decode(bytes: Uint8Array): unknown;
  /** What every shard needs from the others to finish (the owner's receipts), from this shard; structured-cloneable. */
  finishShare(world: World): unknown;
  /**
   * Reports the receipt count of each message this shard's senders sent to `world.recorder.receipts`, given every
   * shard's share; returns the protocol's own figures (the owner path's), undefined for none.
   */
  finish(world: World, shares: readonly unknown[]): unknown;
  /** Called once before the run starts, in every shard: what arrives from other shards is registered here. */
  attach?(world: World): void;
  /** The protocol parameters of the run, for the JSON's params. */
  describe(): Record<string, unknown>;
  /** Called once the run is over, also after an error. */
  dispose?(): void;
}

interface NodeState {
  readonly index: number;
  readonly owner: boolean;
  joined: boolean;
  online: boolean;
  onlineSince: number;
  tickAt: number;
  member: SimMember | undefined;
}

const SEND = 0;
const ARRIVE = 1;
const TICK = 2;
const TOGGLE = 3;
const JOIN = 4;
const SETTLE = 5;
const END = 6;
const CALL = 7;
const WARM = 8;
/**
 * An event whose work was done before it fell due (`World.spend`: an answered call's timeout). It still counts as
 * an event, as it did when it ran, so that a run's figures do not depend on this shortcut; it runs nothing.
 */
const SPENT = 9;
/** Kinds from here on run a channel (`deliver`): kind - CHANNEL is its index in `channelList`, the payload its data. */
const CHANNEL = 16;

/**
 * What an event carries besides its kind and node: the publication that arrives, the call to run, or a channel's
 * data (no closure per call: a run delivers millions).
 */
type Payload = Publication | (() => void | Promise<void>) | unknown;

/**
 * Tie keys of simultaneous events: slot × 2^36 + the slot's count of events scheduled so far. Slot 0 is the world
 * (traffic, settle, end), slot 1 the nodes' availability (joins and toggles, counted by node instead), slot
 * 2 + n node n: whatever runs on behalf of node n schedules in its slot. A node's count depends only on what the
 * node did, so the order of two events at one instant is the same however the members are split (docs/simulator.md).
 */
const SLOT = 2 ** 36;
const WORLD_SLOT = 0;
const AVAILABILITY_SLOT = 1;

export interface RunOutput {
  readonly metrics: SimMetrics;
  readonly detail: SimDetail;
  readonly series: SimSeries;
}

/** Where a run stands, for a progress bar. */
export interface RunProgress {
  /** Content messages sent so far, of `messages`. */
  readonly sent: number;
  readonly messages: number;
  readonly members: number;
  /** Events the simulator has processed. */
  readonly events: number;
}

export interface WorldOptions {
  /** Which of the run's shards this world is (shipment.ts); default: the only one. */
  readonly place?: ShardPlace;
}

/** Something that runs on behalf of a node when it arrives from another node, maybe from another shard. */
export interface Channel {
  run(node: number, data: unknown): void | Promise<void>;
  /** What crosses shards instead of `data` (structured-cloneable); default: `data` itself. */
  pack?(data: unknown): unknown;
  unpack?(packed: unknown): unknown;
}

/**
 * The discrete-event simulation of one channel: nodes, their availability, the traffic, and the
 * network between them, on a virtual clock. Everything random comes from streams of one seed (a copy's
 * and a direct call's fate from draws keyed by what they decide), and events at the same instant run in the
 * order of who scheduled them and how many that one had scheduled before, so a run is a function of its
 * scenario.
 */
export class World {
  readonly recorder: Recorder;
  readonly network: Network;
  readonly rng: Sfc32;
  readonly nodes: NodeState[] = [];
  readonly ownerIndex: number | undefined;
  readonly start = EPOCH_MS;
  private readonly queue = new EventQueue<Payload>();
  private readonly trafficRng: Sfc32;
  private readonly warmRng: Sfc32;
  private warmCount = 0;
  private readonly churnRng: Sfc32;
  private readonly senderCdf: Float64Array;
  private readonly senderOrder: Int32Array;
  private readonly availability = new Map<number, Sfc32>();
  private nextMessage = 0;
  /** Per slot (see SLOT): events scheduled so far. */
  private readonly scheduled: Float64Array;
  /** The slot of whatever runs now: the world, or the node an event or a call is on behalf of. */
  private slot = WORLD_SLOT;
  /** Per node: publications so far, which key the draws of their copies (network.ts, `copyFate`). */
  private readonly published: Float64Array;
  private settling = false;
  /** Events this shard ran (the replicated ones only in shard 0, so that the shards' counts add up to the run's). */
  events = 0;
  now = EPOCH_MS;
  readonly place: ShardPlace;
  /** Per node: the shard that holds it (`planShards`). */
  private readonly home: Uint8Array;
  /** Per shard: what this one sends it after the current step or window (`takeShipments`). */
  private outbox: Shipment[];
  /** Channels by name, as their event kind (CHANNEL + index in `channelList`). */
  private readonly channels = new Map<string, number>();
  private readonly channelList: Channel[] = [];
  private readonly channelNames: string[] = [];
  private readonly notes = new Map<string, (data: unknown) => void>();
  /** The END event ran: the run is over at `now`. */
  ended = false;
  /** Every event due before this time has run (`advance`): nothing may arrive from another shard before it. */
  horizon = Number.NEGATIVE_INFINITY;

  constructor(
    readonly scenario: Scenario,
    readonly protocol: Protocol,
    options: WorldOptions = {},
  ) {
    const s = scenario;
    this.place = options.place ?? { index: 0, count: 1 };
    this.outbox = Array.from({ length: this.place.count }, emptyShipment);
    this.home = planShards(s.members, s.owner, s.ownerPath, this.place.count);
    // Traffic, churn and the fate of every original content copy come from their own streams, so
    // both protocols see the same senders, contents, availability, and losses of first copies.
    this.rng = new Sfc32(s.seed, "sim");
    this.trafficRng = this.rng.fork("traffic");
    this.warmRng = this.rng.fork("warmup");
    this.churnRng = this.rng.fork("churn");
    const count = s.members + (s.owner ? 1 : 0);
    this.ownerIndex = s.owner ? s.members : undefined;
    this.recorder = new Recorder(s.members, count, s.messages, this.start + s.warmupMs);
    this.scheduled = new Float64Array(count + 2);
    this.published = new Float64Array(count);
    const anchored = new Set<number>(this.ownerIndex === undefined ? [] : [this.ownerIndex]);
    this.network = new Network(s, count, anchored, this.rng.fork("network"), this.start, this.start + s.warmupMs);
    for (let i = 0; i < count; i++) {
      this.nodes.push({
        index: i,
        owner: i === this.ownerIndex,
        joined: false,
        online: true,
        onlineSince: this.start,
        tickAt: Number.POSITIVE_INFINITY,
        member: undefined,
      });
    }
    // Who talks: a seeded permutation of the members ranked by a Zipf (or flat) weight.
    this.senderOrder = new Int32Array(s.members);
    for (let i = 0; i < s.members; i++) this.senderOrder[i] = i;
    const permRng = this.trafficRng.fork("senders");
    for (let i = s.members - 1; i > 0; i--) {
      const j = permRng.int(i + 1);
      const t = this.senderOrder[i]!;
      this.senderOrder[i] = this.senderOrder[j]!;
      this.senderOrder[j] = t;
    }
    this.senderCdf = new Float64Array(s.members);
    let total = 0;
    for (let k = 0; k < s.members; k++) {
      total += s.mix === "heavy" ? 1 / (k + 1) ** s.zipfExponent : 1;
      this.senderCdf[k] = total;
    }
    for (let k = 0; k < s.members; k++) this.senderCdf[k]! /= total;
  }

  /** Expected length of the traffic phase: messages / rate. */
  get trafficMs(): number {
    return (this.scenario.messages / this.scenario.rate) * 1000;
  }

  /** Schedules what starts the run: joins, availability, the first message. */
  begin(): void {
    this.protocol.attach?.(this);
    this.scheduleStart();
  }

  /** When the next event is due; +Infinity for none. */
  get nextAt(): number {
    return this.queue.size === 0 ? Number.POSITIVE_INFINITY : this.queue.peekAt;
  }

  /** Whether `node` lives in this shard (the owner in shard 0, members in ranges: `planShards`). */
  local(node: number): boolean {
    return this.home[node] === this.place.index;
  }

  shardOf(node: number): number {
    return this.home[node]!;
  }

  /**
   * Runs every event due before `end` (the end of a window), or up to the end of the run, or `budget` events
   * (the rest stay due: a sliding shard publishes how far it came in between).
   */
  async advance(end: number, budget = Number.POSITIVE_INFINITY): Promise<void> {
    const queue = this.queue;
    let ran = 0;
    while (!this.ended && queue.dueBefore(end)) {
      if (ran++ === budget) {
        this.horizon = Math.max(this.horizon, queue.peekAt);
        return;
      }
      queue.pop();
      this.now = queue.at;
      const kind = queue.kind;
      // Replicated events (every shard runs them) are counted once.
      const replicated = kind === SEND || kind === WARM || kind === SETTLE || kind === END;
      if (replicated ? this.place.index === 0 : kind === JOIN || kind === TOGGLE ? this.local(queue.node) : true) {
        this.events++;
      }
      if (kind === END) {
        this.ended = true;
        break;
      }
      if (kind === SPENT) continue;
      this.slot = queue.node < 0 ? WORLD_SLOT : 2 + queue.node;
      const pending = this.dispatch(kind, queue.node, queue.payload);
      if (pending !== undefined) await pending;
    }
    this.horizon = Math.max(this.horizon, this.ended ? this.now : end);
  }

  /** What this shard sends the others, after a step or a window (indexed by shard; its own is empty). */
  takeShipments(): Shipment[] {
    const out = this.outbox;
    this.outbox = Array.from({ length: this.place.count }, emptyShipment);
    return out;
  }

  /**
   * Takes what another shard sent: everything in it is due at or after the time up to which this shard has run
   * (`horizon`); anything earlier would have been due in this shard's past, a broken lookahead, and is refused.
   */
  receive(shipment: Shipment): void {
    this.checkDue(shipment);
    for (const note of shipment.notes) this.notes.get(note.channel)!(note.data);
    for (const p of shipment.pubs) {
      const pub: Publication = {
        from: p.from,
        bytes: p.bytes,
        purpose: p.purpose,
        contentBytes: p.contentBytes,
        x: p.x,
        decoded: this.protocol.decode(p.bytes),
      };
      for (const to of p.dropped) this.recorder.originalDropped(to, p.x);
      for (let i = 0; i < p.to.length; i++) this.queue.push(p.at[i]!, ARRIVE, p.to[i]!, pub, p.tie[i]!);
    }
    for (const e of shipment.events) {
      const kind = this.channels.get(e.channel)!;
      const channel = this.channelList[kind - CHANNEL]!;
      const data = channel.unpack === undefined ? e.data : channel.unpack(e.data);
      this.queue.push(e.at, kind, e.node, data, e.tie);
    }
  }

  private checkDue(shipment: Shipment): void {
    let first = Number.POSITIVE_INFINITY;
    for (const p of shipment.pubs) for (let i = 0; i < p.at.length; i++) first = Math.min(first, p.at[i]!);
    for (const e of shipment.events) first = Math.min(first, e.at);
    if (first < this.horizon) {
      throw new RangeError(
        `shard ${this.place.index} received an event due at ${first}, before ${this.horizon}, the time it has run up to (a shipment too late)`,
      );
    }
  }

  /** The run is over: online time of this shard's nodes is counted up to the end, open spans closed. */
  close(): void {
    const end = this.now;
    for (const n of this.nodes) {
      if (this.local(n.index) && n.joined && n.online) this.recorder.onlineMs[n.index]! += end - n.onlineSince;
    }
    this.recorder.series.close(end);
  }

  /** Where the traffic stands, for a progress bar. */
  progressAt(): RunProgress {
    const s = this.scenario;
    return { sent: this.nextMessage, messages: s.messages, members: s.members, events: this.events };
  }

  /** Registers what runs when `deliver` delivers on `name`; returns the channel's handle for `deliver`. */
  channel(name: string, channel: Channel): number {
    const kind = this.channels.get(name);
    if (kind !== undefined) {
      this.channelList[kind - CHANNEL] = channel;
      return kind;
    }
    this.channels.set(name, CHANNEL + this.channelList.length);
    this.channelList.push(channel);
    this.channelNames.push(name);
    return CHANNEL + this.channelList.length - 1;
  }

  /**
   * Runs channel `name` with `data` at `at` on behalf of `node`, if it is online then, in whichever shard holds
   * it: what one node does to another (a direct-path request or answer). `at` must be at least the latency floor
   * ahead, as everything crossing between nodes is. Returns a handle for `spend` when `node` is in this shard,
   * else -1.
   */
  deliver(node: number, at: number, name: string | number, data: unknown): number {
    const tie = this.nextTie();
    // A handle from `channel` spares a lookup by name per call (a run makes millions of direct-path calls).
    const kind = typeof name === "number" ? name : this.channels.get(name)!;
    if (this.local(node)) return this.queue.push(at, kind, node, data, tie);
    const channel = this.channelList[kind - CHANNEL]!;
    const packed = channel.pack === undefined ? data : channel.pack(data);
    const named = this.channelNames[kind - CHANNEL]!;
    this.outbox[this.shardOf(node)]!.events.push({ at, tie, node, channel: named, data: packed });
    return -1;
  }

  /**
   * A delivery (`handle` from `deliver` on channel `kind` with `data`) that would run nothing when it falls due: it
   * runs nothing, and neither does the member's timer check after it (a check after a call that changed nothing
   * finds what the last one found). It keeps its place and counts as an event (SPENT). False when it is no longer
   * pending (it ran already).
   */
  spend(handle: number, kind: number, data: unknown): boolean {
    return handle >= 0 && this.queue.rekind(handle, kind, data, SPENT);
  }

  /** Registers what every other shard does with a `note` on `name`. */
  onNote(name: string, apply: (data: unknown) => void): void {
    this.notes.set(name, apply);
  }

  /**
   * Tells every other shard `data` with the next shipment (the protocol's registry of messages): nothing in
   * another shard can depend on it sooner than the latency floor.
   */
  note(name: string, data: unknown): void {
    for (let i = 0; i < this.place.count; i++)
      if (i !== this.place.index) this.outbox[i]!.notes.push({ channel: name, data });
  }

  private nextTie(): number {
    return this.slot * SLOT + this.scheduled[this.slot]!++;
  }

  /** Schedules an event in the slot of whatever runs now. */
  private push(at: number, kind: number, node = -1, payload?: Payload): void {
    this.queue.push(at, kind, node, payload, this.nextTie());
  }

  /** A join or a toggle of `node`: keyed by the node, so identical wherever it is scheduled. */
  private pushAvailability(at: number, kind: typeof JOIN | typeof TOGGLE, node: number): void {
    this.queue.push(at, kind, node, undefined, AVAILABILITY_SLOT * SLOT + 2 * node + (kind === JOIN ? 0 : 1));
  }

  /** Runs `fn` on behalf of `node` (its events go in its slot, until what it returns settles), from a world event. */
  private on(node: number, fn: () => void | Promise<void>): void | Promise<void> {
    const slot = this.slot;
    this.slot = 2 + node;
    const pending = fn();
    if (pending === undefined) {
      this.slot = slot;
      return;
    }
    return pending.finally(() => {
      this.slot = slot;
    });
  }

  private scheduleStart(): void {
    const s = this.scenario;
    const lateRng = this.churnRng.fork("late");
    for (const n of this.nodes) {
      const late = !n.owner && lateRng.bernoulli(s.lateJoin);
      const at = late ? this.start + s.warmupMs + lateRng.next() * (this.trafficMs / 2) : this.start;
      this.pushAvailability(at, JOIN, n.index);
      // Availability: an alternating renewal process started in its stationary state.
      const offShare = n.owner ? 1 - s.ownerAvailability : s.offline;
      if (offShare > 0) {
        const r = this.churnRng.fork(`availability/${n.index}`);
        this.availability.set(n.index, r);
        n.online = !r.bernoulli(offShare);
        this.pushAvailability(this.start + this.availabilityPeriod(n, r), TOGGLE, n.index);
      }
    }
    this.push(this.start + s.warmupMs + this.trafficRng.exponential(1000 / s.rate), SEND);
    if (s.warmupRate > 0) this.push(this.start + this.warmRng.exponential(1000 / s.warmupRate), WARM);
  }

  /** An unmeasured background message of the warm-up (content index -1: no metric counts it). */
  private warm(): void | Promise<void> {
    const s = this.scenario;
    const next = this.now + this.warmRng.exponential(1000 / s.warmupRate);
    if (next < this.start + s.warmupMs) this.push(next, WARM);
    const sender = this.pickSender(this.warmRng);
    if (sender === undefined) return;
    const k = this.warmCount++;
    if (!this.local(sender)) return;
    const prefix = `w${k}|`;
    const out = new Uint8Array(Math.max(prefix.length, Math.round(s.contentBytes)));
    for (let i = 0; i < out.length; i++) out[i] = i < prefix.length ? prefix.charCodeAt(i) : 97 + ((k + i) % 26);
    const n = this.nodes[sender]!;
    return this.on(sender, () => this.after(n, n.member!.send(-1, out, this.now)));
  }

  private availabilityPeriod(n: NodeState, r: Sfc32): number {
    const s = this.scenario;
    const offMean = n.owner ? s.ownerOutageMeanMs : s.offlineMeanMs;
    const offShare = n.owner ? 1 - s.ownerAvailability : s.offline;
    const onMean = (offMean * (1 - offShare)) / offShare;
    return r.exponential(n.online ? onMean : offMean);
  }

  private dispatch(kind: number, node: number, payload: Payload | undefined): void | Promise<void> {
    switch (kind) {
      case ARRIVE:
        return this.arrive(node, payload as Publication);
      case TICK: {
        const n = this.nodes[node]!;
        if (n.tickAt !== this.now) return;
        n.tickAt = Number.POSITIVE_INFINITY;
        if (!n.online || n.member === undefined) return;
        return this.after(n, n.member.tick(this.now));
      }
      case SEND:
        return this.send();
      case WARM:
        return this.warm();
      case TOGGLE:
        return this.toggle(node);
      case JOIN:
        return this.join(node);
      case SETTLE:
        this.settle();
        return;
      case CALL: {
        const n = this.nodes[node]!;
        if (!n.online) return;
        return this.after(n, (payload as () => void | Promise<void>)());
      }
      default: {
        const n = this.nodes[node]!;
        if (!n.online) return;
        return this.after(n, this.channelList[kind - CHANNEL]!.run(node, payload));
      }
    }
  }

  /** After any call into a member: its next timer may have moved. */
  private after(n: NodeState, pending: void | Promise<void>): void | Promise<void> {
    if (pending === undefined) {
      this.reschedule(n);
      return;
    }
    return pending.then(() => this.reschedule(n));
  }

  private reschedule(n: NodeState): void {
    const d = n.member?.nextDeadline();
    if (d === undefined) return;
    const at = Math.max(d, this.now);
    if (at < n.tickAt) {
      n.tickAt = at;
      this.push(at, TICK, n.index);
    }
  }

  private join(index: number): void {
    const n = this.nodes[index]!;
    n.joined = true;
    // Another shard's node: only whether it has joined matters here (publications reach it, it can send).
    if (!this.local(index)) return;
    n.onlineSince = this.now;
    this.recorder.joined(index, this.now);
    if (!n.online) this.recorder.series.offline(index, this.now);
    n.member = this.protocol.createMember(this, index, this.now);
    this.reschedule(n);
  }

  private toggle(index: number): void | Promise<void> {
    if (this.settling) return;
    const n = this.nodes[index]!;
    this.setOnline(n, !n.online);
    this.pushAvailability(this.now + this.availabilityPeriod(n, this.availability.get(index)!), TOGGLE, index);
  }

  private setOnline(n: NodeState, online: boolean): void {
    if (n.online === online) return;
    if (n.joined && this.local(n.index)) {
      if (online) n.onlineSince = this.now;
      else this.recorder.onlineMs[n.index]! += this.now - n.onlineSince;
      if (online) this.recorder.series.online(n.index, this.now);
      else this.recorder.series.offline(n.index, this.now);
    }
    n.online = online;
    if (online && n.member !== undefined) {
      n.member.online?.(this.now);
      // Timers that fell due while it was away fire now.
      n.tickAt = Number.POSITIVE_INFINITY;
      this.reschedule(n);
    }
  }

  private settle(): void {
    this.settling = true;
    this.network.heal();
    for (const n of this.nodes) this.on(n.index, () => this.setOnline(n, true));
  }

  private send(): void | Promise<void> {
    const s = this.scenario;
    const x = this.nextMessage;
    const sender = this.pickSender(this.trafficRng);
    if (sender === undefined) {
      // Nobody can talk right now (all offline or not yet joined): try again a little later.
      this.push(this.now + this.trafficRng.exponential(1000 / s.rate), SEND);
      return;
    }
    this.nextMessage++;
    if (this.nextMessage < s.messages) this.push(this.now + this.trafficRng.exponential(1000 / s.rate), SEND);
    else {
      this.push(this.now, SETTLE);
      this.push(this.now + s.settleMs, END);
    }
    const content = this.content(x);
    this.recorder.registerMessage(x, sender, this.now);
    if (!this.local(sender)) return;
    const n = this.nodes[sender]!;
    return this.on(sender, () => this.after(n, n.member!.send(x, content, this.now)));
  }

  private pickSender(rng: Sfc32): number | undefined {
    const s = this.scenario;
    for (let attempt = 0; attempt < 1000; attempt++) {
      const u = rng.next();
      let lo = 0;
      let hi = s.members - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.senderCdf[mid]! > u) hi = mid;
        else lo = mid + 1;
      }
      const n = this.nodes[this.senderOrder[lo]!]!;
      if (n.joined && n.online) return n.index;
    }
    return undefined;
  }

  private content(x: number): Uint8Array {
    const s = this.scenario;
    const prefix = `m${x}|`;
    const size = Math.round(Math.min(4000, Math.max(prefix.length, this.trafficRng.logNormal(s.contentBytes, 0.8))));
    const out = new Uint8Array(size);
    for (let i = 0; i < size; i++) out[i] = i < prefix.length ? prefix.charCodeAt(i) : 97 + ((x + i) % 26);
    return out;
  }

  /** Publishes on the channel: every other joined node gets its own copy, each with its own fate. */
  publish(from: number, pub: Omit<Publication, "from">): void {
    const p: Publication = { ...pub, from };
    this.recorder.published(from, p.purpose, p.bytes.length, p.contentBytes, p.x, this.now);
    const original = p.purpose === "content" && p.x >= 0;
    const net = this.network;
    const kind = original ? CopyKey.Content : CopyKey.Other;
    const a = original ? p.x : from;
    const b = original ? 0 : this.published[from]!++;
    // Copies to another shard's nodes go there with the next shipment, one per shard.
    const shipped = this.place.count === 1 ? undefined : this.outbox.map(() => shippedCopies(p));
    for (let to = 0; to < this.nodes.length; to++) {
      if (to === from || !this.nodes[to]!.joined) continue;
      const delay = net.copyFate(kind, a, b, to);
      const there = shipped === undefined || this.local(to) ? undefined : shipped[this.shardOf(to)]!;
      if (delay < 0) {
        if (original) {
          if (there === undefined) this.recorder.originalDropped(to, p.x);
          else there.dropped.push(to);
        }
        continue;
      }
      if (there === undefined) this.push(this.now + delay, ARRIVE, to, p);
      else {
        there.to.push(to);
        there.at.push(this.now + delay);
        there.tie.push(this.nextTie());
      }
    }
    if (shipped !== undefined) {
      for (const [i, c] of shipped.entries()) if (c.to.length + c.dropped.length > 0) this.outbox[i]!.pubs.push(c);
    }
  }

  private arrive(to: number, pub: Publication): void | Promise<void> {
    const n = this.nodes[to]!;
    const original = pub.purpose === "content" && pub.x >= 0;
    if (!n.online) {
      this.network.countOffline();
      if (original) this.recorder.originalDropped(to, pub.x);
      return;
    }
    if (this.network.dropOnArrival(pub.from, to, this.now) !== undefined) {
      if (original) this.recorder.originalDropped(to, pub.x);
      return;
    }
    this.recorder.received(to, pub.bytes.length, this.now, pub.purpose);
    if (pub.x >= 0) this.recorder.arrived(to, pub.x, this.now);
    return this.after(n, n.member!.receive(pub, this.now));
  }

  /**
   * Runs `call` at `at` on behalf of `node`, if the node is online then: request-response traffic
   * outside the channel's topic (a store query to the owner), which rides a reliable stream and so
   * sees latency, partitions and availability but not pub/sub loss.
   */
  later(node: number, at: number, call: () => void | Promise<void>): void {
    this.push(at, CALL, node, call);
  }

  /** One-way delay of a request or response between two nodes. */
  directLatency(): number {
    return this.network.sampleLatency();
  }
}
