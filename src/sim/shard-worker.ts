import { isMainThread, type MessagePort, parentPort, Worker, workerData } from "node:worker_threads";
import { createProtocol } from "./run.js";
import type { Scenario } from "./scenario.js";
import { LocalShard, type ShardHandle, type ShardResult, type ShardStatus } from "./shards.js";
import type { ShardPlace } from "./shipment.js";
import { SlidingClock } from "./sliding.js";
import { World } from "./world.js";

/** What the coordinator asks a worker's shard (the `ShardHandle` methods, by name). */
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
}

/**
 * The worker's young generation (V8: two semi-spaces of a third each, plus room for large objects): 64 MB
 * semi-spaces instead of the default 16. A shard allocates short-lived objects at a high rate (decodings, steps,
 * the owner path's messages), and a small nursery promotes many of them before they die: in a run of 500 members
 * x 100 messages the process's CPU fell about 7 % with `--max-semi-space-size=64`, and a worker thread gets that
 * only from its resource limits (a thread cannot change it once started).
 */
const YOUNG_GENERATION_MB = 192;
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

/** A shard in a worker thread: the same `LocalShard`, asked by messages; it slides on the shared clock (sliding.ts). */
export class ShardWorker implements ShardHandle {
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  /** The shared clock of a sliding run, once the worker slides. */
  private clock: SlidingClock | undefined;

  private constructor(private readonly worker: Worker) {
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
    const boot: Boot = { scenario, place };
    const worker = new Worker(PROGRAM, {
      eval: true,
      workerData: boot,
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    return new ShardWorker(worker);
  }

  private ask<T>(request: Omit<Request, "id"> & Partial<Request>, transfer: MessagePort[] = []): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...request, id }, transfer);
    });
  }

  /** The worker's shard slides (the ports move to it); answers when its shard is done. */
  slide(clock: SharedArrayBuffer, ports: readonly (MessagePort | undefined)[]): Promise<ShardStatus | undefined> {
    this.clock = new SlidingClock(clock, ports.length);
    const moved = ports.filter((p): p is MessagePort => p !== undefined);
    return this.ask<ShardStatus | undefined>({ op: "slide", clock, ports }, moved);
  }

  begin(): Promise<ShardStatus> {
    return this.ask<ShardStatus>({ op: "begin" });
  }

  share(): Promise<unknown> {
    return this.ask({ op: "share" });
  }

  finish(shares: readonly unknown[]): Promise<ShardResult> {
    return this.ask({ op: "finish", shares });
  }

  async close(): Promise<void> {
    // A run abandoned while sliding (another shard failed): the worker's loop returns, then answers.
    this.clock?.stop();
    if (this.failure === undefined) await this.ask({ op: "close" }).catch(() => undefined);
    await this.worker.terminate();
  }
}

/** In a worker thread: builds the shard `workerData` names and answers the coordinator until it is closed. */
export async function serveShard(): Promise<void> {
  if (isMainThread || parentPort === null) throw new Error("serveShard runs in a simulator worker thread only");
  const port = parentPort;
  const { scenario, place } = workerData as Boot;
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
      (value) => port.postMessage({ id: r.id, value } satisfies Response),
      (err: unknown) =>
        port.postMessage({ id: r.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
}
