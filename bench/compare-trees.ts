// The engine's own work per message (no-op signer and verifier) in two or more checkouts, side by side in one
// process: batches of receives, then of sends, interleaved tree by tree, so that a shared machine's load falls
// on all of them alike. Prints the 10th percentile and the median of CPU µs per message.
//
//   npx tsx bench/compare-trees.ts [--size 1000] [--rounds 50] /path/to/before /path/to/after
//
// Each tree must have bench/lib/chorus-log.ts (its own fixture: the same log, traffic and seed as `npm run bench`).
import { resolve } from "node:path";
import { cpuClockMs } from "./lib/measure.js";

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(args.splice(i, 2)[1]);
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`--${name} must be a positive integer`);
  return value;
};
const size = option("size", 1_000);
const rounds = option("rounds", 50);
const roots = args.map((a) => resolve(a));
if (roots.length === 0) throw new RangeError("name at least one checkout");
const PER_BATCH = 100;
const WARMUP = { receive: 1_000, send: 300 };

interface Tree {
  readonly root: string;
  readonly receive: number[];
  readonly send: number[];
  receiveBatch(): void;
  sendBatch(): void;
}

async function load(root: string): Promise<Tree> {
  const lib = await import(`${root}/bench/lib/chorus-log.ts`);
  const fx = lib.chorusAtLogSize(size, 50);
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

const trees: Tree[] = [];
for (const root of roots) trees.push(await load(root));
for (let r = 0; r < rounds; r++) for (const t of trees) t.receiveBatch();
for (let r = 0; r < rounds; r++) for (const t of trees) t.sendBatch();
const at = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)]!.toFixed(1);
for (const t of trees) {
  console.log(
    `${t.root} @${size}: receive p10 ${at(t.receive, 0.1)} median ${at(t.receive, 0.5)} µs | ` +
      `send p10 ${at(t.send, 0.1)} median ${at(t.send, 0.5)} µs`,
  );
}
