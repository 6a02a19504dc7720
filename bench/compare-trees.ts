// The engine's own work per message (no-op signer and verifier) in two or more checkouts, side by side in one
// process: batches of receives, then of sends, interleaved tree by tree, so that a shared machine's load falls
// on all of them alike. Prints the 10th percentile and the median of CPU µs per message.
//
//   npx tsx bench/compare-trees.ts [--size 1000] [--rounds 50] [--default-bounds] /path/to/before /path/to/after
//
// Each tree must have bench/lib/chorus-log.ts (its own fixture: the same log, traffic and seed as `npm run bench`).
// The fixture sizes the seen set and the repair cache to hold the whole log; `--default-bounds` keeps the
// engine's defaults (100,000 ids, 5,000 messages), so that past them every delivery also evicts from both.
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
const defaultBounds = args.indexOf("--default-bounds");
if (defaultBounds >= 0) args.splice(defaultBounds, 1);
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
