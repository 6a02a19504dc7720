// The engine's own work per message (no-op signer and verifier) in two or more checkouts, side by side in one
// process: batches of receives, then of sends, interleaved tree by tree, so that a shared machine's load falls
// on all of them alike. Prints the 10th percentile and the median of CPU µs per message.
//
//   npx tsx bench/compare-trees.ts [--size 1000] [--rounds 50] [--default-bounds] [--isolated] /path/to/before /path/to/after
//
// `--isolated` runs each tree in a child process of its own (one heap, one collector, one JIT each, as `npm run bench`
// runs each job), the parent still interleaving their batches one by one: in one process, one tree's retained log and
// garbage make the collections (and their helper threads' CPU time) that the other tree's batches are charged for.
//
// Each tree must have bench/lib/chorus-log.ts (its own fixture: the same log, traffic and seed as `npm run bench`).
// The fixture sizes the seen set and the repair cache to hold the whole log; `--default-bounds` keeps the
// engine's defaults (100,000 ids, 5,000 messages), so that past them every delivery also evicts from both.
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { cpuClockMs } from "./lib/measure.js";

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(args.splice(i, 2)[1]);
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`--${name} must be a positive integer`);
  return value;
};
const flag = (name: string): boolean => {
  const i = args.indexOf(`--${name}`);
  if (i >= 0) args.splice(i, 1);
  return i >= 0;
};
const defaultBounds = flag("default-bounds") ? 0 : -1;
const isolated = flag("isolated");
const child = flag("child");
const size = option("size", 1_000);
const rounds = option("rounds", 50);
const roots = args.map((a) => resolve(a));
if (roots.length === 0) throw new RangeError("name at least one checkout");
const PER_BATCH = 100;
// As `npm run bench` (its full plan): fewer warm-up sends left the send path's functions still being optimized
// (on a compiler thread, whose CPU time counts) through the first timed batches.
const WARMUP = { receive: 1_000, send: 1_000 };

interface Tree {
  readonly root: string;
  readonly receive: number[];
  readonly send: number[];
  receiveBatch(): void;
  sendBatch(): void;
}

async function load(root: string): Promise<Tree> {
  const lib = await import(`${root}/bench/lib/chorus-log.ts`);
  const fx = defaultBounds >= 0 ? await withDefaultBounds(root, lib) : lib.chorusAtLogSize(size, 50);
  fx.setCrypto("none");
  let now: number = fx.tick();
  const pool: { bytes: Uint8Array }[] = lib.freshMessages(fx.traffic, now, rounds * PER_BATCH + WARMUP.receive);
  const encoder = new TextEncoder();
  let next = 0;
  let sent = 0;
  const receiveOne = () => {
    now += lib.STEP_MS;
    fx.engine.receive(pool[next++]!.bytes, now);
  };
  const sendOne = () => {
    now += lib.STEP_MS;
    fx.engine.send(encoder.encode(`timed message ${sent++}: hello, channel`), now);
  };
  for (let i = 0; i < WARMUP.receive; i++) receiveOne();
  for (let i = 0; i < WARMUP.send; i++) sendOne();
  const timed = (fn: () => void, into: number[]) => {
    const t0 = cpuClockMs();
    for (let i = 0; i < PER_BATCH; i++) fn();
    into.push(((cpuClockMs() - t0) * 1000) / PER_BATCH);
  };
  const tree: Tree = {
    root,
    receive: [],
    send: [],
    receiveBatch: () => timed(receiveOne, tree.receive),
    sendBatch: () => timed(sendOne, tree.send),
  };
  return tree;
}

/** The fixture's member, log and traffic, with the engine's default bounds and the no-op signer and verifier. */
// biome-ignore lint/suspicious/noExplicitAny: each tree's own modules, loaded by path
async function withDefaultBounds(root: string, lib: any) {
  const core = await import(`${root}/src/core/index.ts`);
  const { seededRandom } = await import(`${root}/src/core/prng.ts`);
  const { benchIdentity, CHANNEL, ChorusTraffic } = await import(`${root}/bench/lib/chorus-traffic.ts`);
  const zero = new Uint8Array(64);
  const engine = new core.ChannelEngine({
    channelId: CHANNEL,
    identity: benchIdentity("member-under-test"),
    random: seededRandom(7),
    now: lib.START_MS,
    params: { senderQuotaPer600s: 10_000_000, senderQuotaBurst: 10_000_000 },
    sign: () => zero,
    verifySignature: () => true,
  });
  const traffic = new ChorusTraffic(50);
  let now: number = lib.feedLog(engine, traffic, size, lib.START_MS);
  const tick = () => {
    now += lib.STEP_MS;
    return now;
  };
  return { engine, traffic, tick, setCrypto: () => undefined };
}

/** One batch of `op` in each tree in turn, `rounds` times. */
interface Runner {
  readonly root: string;
  batch(op: "receive" | "send"): Promise<number>;
  close(): void;
}

/** A tree loaded in this process. */
async function inProcess(root: string): Promise<Runner> {
  const tree = await load(root);
  return {
    root,
    batch: async (op) => {
      if (op === "receive") tree.receiveBatch();
      else tree.sendBatch();
      const xs = op === "receive" ? tree.receive : tree.send;
      return xs[xs.length - 1]!;
    },
    close: () => undefined,
  };
}

/** A tree loaded in a child process (this script with `--child`), driven one batch at a time. */
async function inChild(root: string): Promise<Runner> {
  const extra = defaultBounds >= 0 ? ["--default-bounds"] : [];
  const argv = [...process.execArgv, process.argv[1]!, "--child", "--size", `${size}`, "--rounds", `${rounds}`];
  const proc = spawn(process.execPath, [...argv, ...extra, root], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const reply = async () => {
    const line = await lines.next();
    if (line.done) throw new Error(`${root}: the child process ended early`);
    return Number(line.value);
  };
  await reply(); // loaded
  return {
    root,
    batch: async (op) => {
      proc.stdin!.write(`${op}\n`);
      return reply();
    },
    close: () => proc.stdin!.end(),
  };
}

if (child) {
  // One tree; the parent writes "receive" or "send" per batch and reads back its µs per message.
  const tree = await load(roots[0]!);
  process.stdout.write("ready\n");
  for await (const op of createInterface({ input: process.stdin })) {
    if (op === "receive") tree.receiveBatch();
    else if (op === "send") tree.sendBatch();
    else throw new RangeError(`unknown batch "${op}"`);
    const xs = op === "receive" ? tree.receive : tree.send;
    process.stdout.write(`${xs[xs.length - 1]}\n`);
  }
  process.exit(0);
}

const runners: Runner[] = [];
for (const root of roots) runners.push(await (isolated ? inChild(root) : inProcess(root)));
const trees = runners.map((r) => ({ root: r.root, receive: [] as number[], send: [] as number[] }));
for (const op of ["receive", "send"] as const) {
  for (let r = 0; r < rounds; r++) for (const [i, t] of trees.entries()) t[op].push(await runners[i]!.batch(op));
}
for (const r of runners) r.close();
console.log(isolated ? "each tree in a process of its own:" : "all trees in one process:");
const at = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)]!.toFixed(1);
for (const t of trees) {
  console.log(
    `${t.root} @${size}: receive p10 ${at(t.receive, 0.1)} median ${at(t.receive, 0.5)} µs | ` +
      `send p10 ${at(t.send, 0.1)} median ${at(t.send, 0.5)} µs`,
  );
}
