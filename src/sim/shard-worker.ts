import {
  isMainThread,
  MessageChannel,
  type MessagePort,
  parentPort,
  receiveMessageOnPort,
  Worker,
  workerData,
} from "node:worker_threads";
import { createProtocol } from "./run.js";
import type { Scenario } from "./scenario.js";
import { LocalShard, type ShardHandle, type ShardResult, type ShardStatus } from "./shards.js";
import { type PackedShipments, packShipments, type ShardPlace, type Shipment, unpackShipments } from "./shipment.js";
import { SlidingClock } from "./sliding.js";
import { World } from "./world.js";

/** What the coordinator asks a worker's shard (the `ShardHandle` methods but `window`, by name). */
type Request =
  | { readonly id: number; readonly op: "begin" | "share" | "close" }
  | {
      readonly id: number;
      readonly op: "slide";
      readonly clock: SharedArrayBuffer;
      readonly ports: readonly (MessagePort | undefined)[];
    }
  | { readonly id: number; readonly op: "finish"; readonly shares: readonly unknown[] };

type Response = { readonly id: number; readonly value: unknown } | { readonly id: number; readonly error: string };

interface Boot {
  readonly scenario: Scenario;
  readonly place: ShardPlace;
  /** The window barrier's shared words (`Barrier`). */
  readonly control: SharedArrayBuffer;
  /** Where inboxes and shipments cross, read synchronously (`receiveMessageOnPort`). */
  readonly port: MessagePort;
}

/**
 * The window barrier: a run has one window per latency floor with anything due (some 10^5 in a 1,000-member run), so
 * a window is asked and answered through words both threads share instead of a `postMessage` round trip each (a
 * structured clone both ways and a turn of each event loop: a sixth of the calling thread's CPU, measured). Int32
 * words: ASKED (the coordinator's count of windows asked, or LEAVE), DONE (the worker's count answered), FLAGS (what
 * also crossed on the data port). Float64 words from byte 16: the window's end, then the shard's status.
 * Inboxes and shipments, when there are any, cross on a MessageChannel read synchronously, packed (`packShipments`:
 * the copies' numbers in one moved buffer).
 */
const ASKED = 0;
const DONE = 1;
const FLAGS = 2;
const F_INBOX = 1;
const F_SHIPMENTS = 2;
const F_ERROR = 4;
/** ASKED's value that sends the worker back to its event loop (for `share`, `finish`, `close`). */
const LEAVE = -1;
const END = 0;
const NEXT_AT = 1;
const NOW = 2;
const EVENTS = 3;
const SENT = 4;
const ENDED = 5;
const CONTROL_BYTES = 16 + 8 * 6;
/**
 * The worker's young generation (V8: two semi-spaces of a third each, plus room for large objects): 64 MB
 * semi-spaces instead of the default 16. A shard allocates short-lived objects at a high rate (decodings, steps,
 * the owner path's messages), and a small nursery promotes many of them before they die: in a run of 500 members
 * x 100 messages the process's CPU fell about 7 % with `--max-semi-space-size=64`, and a worker thread gets that
 * only from its resource limits (a thread cannot change it once started).
 */
const YOUNG_GENERATION_MB = 192;
/** How long the coordinator blocks before it lets its event loop turn (to hear of a worker that died). */
const WAIT_SLICE_MS = 50;

class Barrier {
  readonly words: Int32Array;
  readonly values: Float64Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer, 0, 4);
    this.values = new Float64Array(buffer, 16, 6);
  }
}

/**
 * The worker thread's program: load the TypeScript sources through tsx's loader, then serve a shard. A string, since a worker started from a .ts file would need the loader before it could load it.
 */
const PROGRAM = `
(async () => {
  // A worker started from code has no loader hooks of its own: tsx's loader, then the TypeScript sources.
  // tsx is found from this file, not from the working directory, which need not be inside the project.
  (await import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))})).register();
  const m = await import(${JSON.stringify(new URL("./shard-worker.ts", import.meta.url).href)});
  await m.serveShard();
})().catch((err) => { console.error(err); process.exit(1); });
`;

/** A shard in a worker thread: the same `LocalShard`, asked through the window barrier and messages. */
export class ShardWorker implements ShardHandle {
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  private readonly barrier: Barrier;
  /** Windows asked so far (the barrier's ASKED word while the worker serves windows). */
  private asked = 0;
  /** The worker is in its window loop (from `begin` until `share` or `close` sends it back). */
  private serving = false;
  /** The shared clock of a sliding run, once the worker slides. */
  private clock: SlidingClock | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly data: MessagePort,
    barrier: SharedArrayBuffer,
  ) {
    this.barrier = new Barrier(barrier);
    worker.on("message", (r: Response) => {
      const w = this.waiting.get(r.id);
      if (w === undefined) return;
      this.waiting.delete(r.id);
      if ("error" in r) w.reject(new Error(`simulator worker: ${r.error}`));
      else w.resolve(r.value);
    });
    const fail = (err: Error) => {
      this.failure = err;
      // A sliding run: the other shards stop waiting for this one.
      this.clock?.stop();
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => {
      if (code !== 0) fail(new Error(`simulator worker exited with code ${code}`));
    });
  }

  /** Starts a worker thread holding shard `place` of the run of `scenario`. */
  static async start(scenario: Scenario, place: ShardPlace): Promise<ShardWorker> {
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const { port1, port2 } = new MessageChannel();
    const boot: Boot = { scenario, place, control, port: port2 };
    const worker = new Worker(PROGRAM, {
      eval: true,
      workerData: boot,
      transferList: [port2],
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    return new ShardWorker(worker, port1, control);
  }

  private ask<T>(request: Omit<Request, "id"> & Partial<Request>, transfer: MessagePort[] = []): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...request, id }, transfer);
    });
  }

  /** The worker leaves its window loop and slides (the ports move to it); answers when its shard is done. */
  slide(clock: SharedArrayBuffer, ports: readonly (MessagePort | undefined)[]): Promise<ShardStatus | undefined> {
    this.leave();
    this.clock = new SlidingClock(clock, ports.length);
    const moved = ports.filter((p): p is MessagePort => p !== undefined);
    return this.ask<ShardStatus | undefined>({ op: "slide", clock, ports }, moved);
  }

  async begin(): Promise<ShardStatus> {
    const status = await this.ask<ShardStatus>({ op: "begin" });
    this.serving = true;
    return status;
  }

  /**
   * Asks for the window at once (the worker runs it while this thread runs its own shard), and collects the answer
   * when awaited: blocking on the barrier, in slices, so that this thread still hears of a worker that died.
   */
  window(end: number, inbox: readonly Shipment[]): Promise<ShardStatus & { readonly shipments: Shipment[] }> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const { words, values } = this.barrier;
    values[END] = end;
    const posted = inbox.some((s) => s.pubs.length + s.events.length + s.notes.length > 0);
    if (posted) {
      const { packed, transfer } = packShipments(inbox);
      this.data.postMessage(packed, transfer);
    }
    Atomics.store(words, FLAGS, posted ? F_INBOX : 0);
    const asked = ++this.asked;
    Atomics.store(words, ASKED, asked);
    Atomics.notify(words, ASKED);
    return this.collect(asked);
  }

  private async collect(asked: number): Promise<ShardStatus & { readonly shipments: Shipment[] }> {
    const { words, values } = this.barrier;
    // Let this thread's own shard run its window first (runShards asks the workers before it).
    await Promise.resolve();
    while (Atomics.load(words, DONE) !== asked) {
      if (Atomics.wait(words, DONE, asked - 1, WAIT_SLICE_MS) !== "timed-out") continue;
      await new Promise((resolve) => setImmediate(resolve));
      if (this.failure !== undefined) throw this.failure;
    }
    const flags = Atomics.load(words, FLAGS);
    if ((flags & F_ERROR) !== 0) {
      throw new Error(`simulator worker: ${String(receiveMessageOnPort(this.data)?.message)}`);
    }
    const shipments =
      (flags & F_SHIPMENTS) !== 0 ? unpackShipments(receiveMessageOnPort(this.data)!.message as PackedShipments) : [];
    return {
      nextAt: values[NEXT_AT]!,
      ended: values[ENDED] === 1,
      now: values[NOW]!,
      events: values[EVENTS]!,
      sent: values[SENT]!,
      shipments,
    };
  }

  /** Sends the worker back from its window loop to its event loop, where it answers the other requests. */
  private leave(): void {
    if (!this.serving) return;
    this.serving = false;
    Atomics.store(this.barrier.words, ASKED, LEAVE);
    Atomics.notify(this.barrier.words, ASKED);
  }

  share(): Promise<unknown> {
    this.leave();
    return this.ask({ op: "share" });
  }

  finish(shares: readonly unknown[]): Promise<ShardResult> {
    return this.ask({ op: "finish", shares });
  }

  async close(): Promise<void> {
    this.leave();
    if (this.failure === undefined) await this.ask({ op: "close" }).catch(() => undefined);
    this.data.close();
    await this.worker.terminate();
  }
}

/**
 * The worker's side of the barrier: waits for a window, runs it, answers, until the coordinator sends it back to
 * its event loop. Blocking here is what the thread is for; the awaits inside a window still turn its event loop.
 */
async function serveWindows(shard: LocalShard, barrier: Barrier, data: MessagePort): Promise<void> {
  const { words, values } = barrier;
  let done = 0;
  for (;;) {
    Atomics.wait(words, ASKED, done);
    const asked = Atomics.load(words, ASKED);
    if (asked === LEAVE) return;
    let flags = 0;
    try {
      const inbox =
        (Atomics.load(words, FLAGS) & F_INBOX) !== 0
          ? unpackShipments(receiveMessageOnPort(data)!.message as PackedShipments)
          : [];
      const r = await shard.window(values[END]!, inbox);
      values[NEXT_AT] = r.nextAt;
      values[ENDED] = r.ended ? 1 : 0;
      values[NOW] = r.now;
      values[EVENTS] = r.events;
      values[SENT] = r.sent;
      if (r.shipments.some((s) => s.pubs.length + s.events.length + s.notes.length > 0)) {
        const { packed, transfer } = packShipments(r.shipments);
        data.postMessage(packed, transfer);
        flags = F_SHIPMENTS;
      }
    } catch (err) {
      data.postMessage(err instanceof Error ? (err.stack ?? err.message) : String(err));
      flags = F_ERROR;
    }
    Atomics.store(words, FLAGS, flags);
    done = asked;
    Atomics.store(words, DONE, done);
    Atomics.notify(words, DONE);
  }
}

/** In a worker thread: builds the shard `workerData` names and answers the coordinator until it is closed. */
export async function serveShard(): Promise<void> {
  if (isMainThread || parentPort === null) throw new Error("serveShard runs in a simulator worker thread only");
  const port = parentPort;
  const { scenario, place, control, port: data } = workerData as Boot;
  const barrier = new Barrier(control);
  const shard = new LocalShard(new World(scenario, await createProtocol(scenario), { place }));
  port.on("message", (r: Request) => {
    const answer = async (): Promise<unknown> => {
      switch (r.op) {
        case "begin":
          return shard.begin();
        case "slide":
          try {
            return await shard.slide(r.clock, r.ports, "block");
          } catch (err) {
            new SlidingClock(r.clock, r.ports.length).stop();
            throw err;
          }
        case "share":
          return shard.share();
        case "finish": {
          // The records cross as their parts; the recorder itself stays here.
          const { live: _live, ...result } = await shard.finish(r.shares);
          return result;
        }
        case "close":
          // The coordinator terminates the thread once this is answered.
          await shard.close();
          return undefined;
      }
    };
    answer().then(
      (value) => {
        port.postMessage({ id: r.id, value } satisfies Response);
        // After `begin`, windows come through the barrier until the coordinator sends the worker back.
        if (r.op === "begin") return serveWindows(shard, barrier, data);
      },
      (err: unknown) =>
        port.postMessage({ id: r.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
}
