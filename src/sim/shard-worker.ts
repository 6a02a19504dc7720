import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { createProtocol } from "./run.js";
import type { Scenario } from "./scenario.js";
import { LocalShard, type ShardHandle, type ShardResult, type ShardStatus } from "./shards.js";
import type { ShardPlace, Shipment } from "./shipment.js";
import { World } from "./world.js";

/** What the coordinator asks a worker's shard (the `ShardHandle` methods, by name). */
type Request =
  | { readonly id: number; readonly op: "begin" | "share" | "close" }
  | { readonly id: number; readonly op: "window"; readonly end: number; readonly inbox: readonly Shipment[] }
  | { readonly id: number; readonly op: "finish"; readonly shares: readonly unknown[] };

type Response = { readonly id: number; readonly value: unknown } | { readonly id: number; readonly error: string };

interface Boot {
  readonly scenario: Scenario;
  readonly place: ShardPlace;
}

/**
 * The worker thread's program: load the TypeScript sources through tsx's loader, then serve a shard. A string, since a worker started from a .ts file would need the loader before it could load it.
 */
const PROGRAM = `
(async () => {
  // A worker started from code has no loader hooks of its own: tsx's loader, then the TypeScript sources.
  (await import("tsx/esm/api")).register();
  const m = await import(${JSON.stringify(new URL("./shard-worker.ts", import.meta.url).href)});
  await m.serveShard();
})().catch((err) => { console.error(err); process.exit(1); });
`;

/** A shard in a worker thread: the same `LocalShard`, asked through messages. */
export class ShardWorker implements ShardHandle {
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;

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
    return new ShardWorker(new Worker(PROGRAM, { eval: true, workerData: boot }));
  }

  private ask<T>(request: Omit<Request, "id"> & Partial<Request>): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  begin(): Promise<ShardStatus> {
    return this.ask({ op: "begin" });
  }

  window(end: number, inbox: readonly Shipment[]): Promise<ShardStatus & { readonly shipments: Shipment[] }> {
    return this.ask({ op: "window", end, inbox });
  }

  share(): Promise<unknown> {
    return this.ask({ op: "share" });
  }

  finish(shares: readonly unknown[]): Promise<ShardResult> {
    return this.ask({ op: "finish", shares });
  }

  async close(): Promise<void> {
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
        case "window":
          return shard.window(r.end, r.inbox);
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
