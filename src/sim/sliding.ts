import { type MessagePort, receiveMessageOnPort } from "node:worker_threads";
import { type PackedShipments, packShipments, type Shipment, unpackShipments } from "./shipment.js";
import type { World } from "./world.js";

/**
 * Conservative sliding windows (Chandy–Misra–Bryant, with the latency floor L as lookahead): instead of every shard
 * stopping at a common window end, each shard publishes in shared memory its safe time S_i, a time before which it
 * will never run another event (every event of its own before S_i has run, and everything those events sent the
 * others is posted), and runs its events up to min over the others of S_k + L. What shard k has not sent yet comes
 * from its events at or after S_k, so it is due at or after S_k + L: no shard receives anything in its past. A shard
 * blocks only when it can neither run an event nor raise its own S_i (the wait that lets the others raise theirs).
 *
 * Shared words (Int32): BUMP, counted up after every publication (what a blocked shard waits on), and STOP (a shard
 * failed: the others return). Then one BigInt64 word per shard, the bits of its Float64 safe time (so that a safe
 * time is stored and loaded whole, with the ordering of Atomics), and four Float64 words per shard for progress: now,
 * events, messages sent, ended (plain writes, read only for the progress bar).
 */
const BUMP = 0;
const STOP = 1;
const HEADER_BYTES = 16;
const STATUS_WORDS = 4;

/**
 * Events a shard runs before it publishes how far it has come and posts what it sent: a shard publishes many times
 * per latency floor when it is busy, so a peer that waits for it resumes as soon as the time it needs is covered
 * rather than at the end of a whole window (one event at a time would spend more on publishing than on events).
 */
export const EVENTS_PER_STEP = 64;

/** How long the calling thread blocks before it lets its event loop turn (to hear of a worker that died). */
const WAIT_SLICE_MS = 50;

/** The shared clock of a sliding run: every shard's safe time, a counter to wait on, and a stop flag. */
export class SlidingClock {
  private readonly words: Int32Array;
  private readonly safe: BigInt64Array;
  private readonly status: Float64Array;
  /** This thread's conversion between a safe time and its bits. */
  private readonly scratch = new Float64Array(1);
  private readonly bits = new BigInt64Array(this.scratch.buffer);

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly count: number,
  ) {
    this.words = new Int32Array(buffer, 0, 2);
    this.safe = new BigInt64Array(buffer, HEADER_BYTES, count);
    this.status = new Float64Array(buffer, HEADER_BYTES + 8 * count, STATUS_WORDS * count);
  }

  /** A clock for `count` shards, every safe time at `start` (no shard has an event before the run starts). */
  static create(count: number, start: number): SlidingClock {
    const clock = new SlidingClock(new SharedArrayBuffer(HEADER_BYTES + 8 * count * (1 + STATUS_WORDS)), count);
    for (let i = 0; i < count; i++) clock.publish(i, start);
    return clock;
  }

  safeTime(shard: number): number {
    this.bits[0] = Atomics.load(this.safe, shard);
    return this.scratch[0]!;
  }

  /** Stores shard's safe time (after it posted what it sent: Atomics order the two) and wakes whoever waits. */
  publish(shard: number, time: number): void {
    this.scratch[0] = time;
    Atomics.store(this.safe, shard, this.bits[0]!);
    Atomics.add(this.words, BUMP, 1);
    Atomics.notify(this.words, BUMP);
  }

  get bump(): number {
    return Atomics.load(this.words, BUMP);
  }

  get stopped(): boolean {
    return Atomics.load(this.words, STOP) !== 0;
  }

  /** A shard failed or the run was abandoned: every shard returns from its loop. */
  stop(): void {
    Atomics.store(this.words, STOP, 1);
    Atomics.add(this.words, BUMP, 1);
    Atomics.notify(this.words, BUMP);
  }

  /** Blocks until some shard publishes after `seen` was read, or `timeoutMs` passes. */
  waitBlocking(seen: number, timeoutMs = Number.POSITIVE_INFINITY): void {
    Atomics.wait(this.words, BUMP, seen, timeoutMs);
  }

  /** The same without blocking the thread (several shards in one thread). */
  async waitAsync(seen: number): Promise<void> {
    const r = (Atomics as unknown as AtomicsWaitAsync).waitAsync(this.words, BUMP, seen);
    if (r.async) await r.value;
  }

  setStatus(shard: number, world: World): void {
    const at = STATUS_WORDS * shard;
    this.status[at] = world.now;
    this.status[at + 1] = world.events;
    this.status[at + 2] = world.progressAt().sent;
    this.status[at + 3] = world.ended ? 1 : 0;
  }

  /** Where shard stands (for progress: read without synchronisation, so possibly a step behind). */
  statusOf(shard: number): { now: number; events: number; sent: number; ended: boolean } {
    const at = STATUS_WORDS * shard;
    const s = this.status;
    return { now: s[at]!, events: s[at + 1]!, sent: s[at + 2]!, ended: s[at + 3] === 1 };
  }
}

interface AtomicsWaitAsync {
  waitAsync(
    array: Int32Array,
    index: number,
    value: number,
  ): { async: false; value: string } | { async: true; value: Promise<string> };
}

/**
 * How a shard waits when it cannot advance: `block` (a worker thread: nothing else to do), `slices` (the calling
 * thread with workers: block, but let the event loop turn now and then), `async` (every shard in one thread).
 */
export type SlideWait = "block" | "slices" | "async";

export interface SlideLinks {
  readonly clock: SlidingClock;
  /** Per shard, the port to it (undefined at this shard's own index): shipments cross here, read synchronously. */
  readonly ports: readonly (MessagePort | undefined)[];
  readonly index: number;
  readonly lookahead: number;
  readonly wait: SlideWait;
  /** Called every so many steps (the progress bar, in the calling thread). */
  readonly onSteps?: () => void;
}

/**
 * Full-mesh channels between `count` shards: at [i][k], the port shard i sends to and reads from shard k on.
 */
export function portMesh(
  count: number,
  channel: () => { port1: MessagePort; port2: MessagePort },
): (MessagePort | undefined)[][] {
  const mesh: (MessagePort | undefined)[][] = Array.from({ length: count }, () =>
    Array<undefined>(count).fill(undefined),
  );
  for (let i = 0; i < count; i++) {
    for (let k = i + 1; k < count; k++) {
      const { port1, port2 } = channel();
      mesh[i]![k] = port1;
      mesh[k]![i] = port2;
    }
  }
  return mesh;
}

/** Whether a shipment carries anything (an empty one is not posted). */
function carries(s: Shipment): boolean {
  return s.pubs.length + s.events.length + s.notes.length > 0;
}

/**
 * Runs one shard's world to its end in sliding windows (see above); returns false when the run was stopped (another
 * shard failed). A step: read the others' safe times, then take everything they posted (what they posted before
 * publishing a time is on the port once that time is read), run up to EVENTS_PER_STEP events before
 * min(S_k + L), post what they sent, publish the new safe time min(next event, that limit).
 */
export async function slide(world: World, links: SlideLinks): Promise<boolean> {
  const { clock, ports, index, lookahead, wait } = links;
  let published = clock.safeTime(index);
  let steps = 0;
  for (;;) {
    if (clock.stopped) return false;
    const seen = clock.bump;
    let limit = Number.POSITIVE_INFINITY;
    for (let k = 0; k < clock.count; k++) if (k !== index) limit = Math.min(limit, clock.safeTime(k) + lookahead);
    for (const port of ports) {
      if (port === undefined) continue;
      for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
        for (const s of unpackShipments(m.message as PackedShipments)) world.receive(s);
      }
    }
    const ran = world.nextAt < limit;
    if (ran) {
      await world.advance(limit, EVENTS_PER_STEP);
      for (const [k, s] of world.takeShipments().entries()) {
        if (k === index || !carries(s)) continue;
        const { packed, transfer } = packShipments([s]);
        ports[k]!.postMessage(packed, transfer);
      }
    }
    clock.setStatus(index, world);
    // Nothing left here and nothing can come (every other shard is done): the run is over for this shard too.
    const over = world.ended || (world.nextAt === Number.POSITIVE_INFINITY && limit === Number.POSITIVE_INFINITY);
    const safe = over ? Number.POSITIVE_INFINITY : Math.min(world.nextAt, limit);
    const raised = safe > published;
    if (raised) {
      published = safe;
      clock.publish(index, safe);
    }
    if (over) return true;
    if ((++steps & 255) === 0) links.onSteps?.();
    if (ran || raised) continue;
    // Neither an event to run nor a higher safe time to publish: wait until another shard publishes (after `seen`).
    if (wait === "block") clock.waitBlocking(seen);
    else if (wait === "async") await clock.waitAsync(seen);
    else {
      clock.waitBlocking(seen, WAIT_SLICE_MS);
      if (clock.bump === seen) await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
