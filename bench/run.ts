// Chorus side by side with @waku/sds 0.0.8.
//
//   npm run bench                  full run (several minutes): log sizes 1k to 1M
//   npm run bench -- --quick       under a minute: smaller sizes and fewer samples
//   npm run bench -- --only cpu,wire --out /tmp/results
//
// Every measurement runs in a child process of its own (same Node, same flags), one implementation
// after the other, so both see the same machine at nearly the same time. Times are process CPU time,
// not wall-clock time: the machine may be shared. Benchmarks print figures; they never fail on time.
// Writes <out>/latest.json (schema in report.ts) and <out>/latest.svg.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { CpuResult } from "./cpu.js";
import type { ThroughputResult } from "./decode.js";
import { CRYPTOS } from "./lib/chorus-log.js";
import { type Job, RESULT_PREFIX } from "./lib/jobs.js";
import type { MemoryResult } from "./memory.js";
import type { OwnerResult } from "./owner.js";
import {
  type CpuRow,
  cpuRow,
  formatTable,
  type Results,
  renderChart,
  SCHEMA,
  WIRE_P99_TARGET,
  type WireRow,
} from "./report.js";
import type { WireResult } from "./wire.js";

const root = resolve(fileURLToPath(import.meta.url), "../..");

interface Plan {
  readonly cpuSizes: readonly number[];
  /** Messages, not samples: `iterations` timed messages make `iterations / batch` samples. */
  readonly chorusCpu: { readonly warmup: number; readonly iterations: number; readonly batch: number };
  /** Log size whose native-ed25519 figures fill `chorusNativeCrypto` (every row measures all three ways). */
  readonly nativeCryptoLogSize: number;
  readonly sdsCpu: { readonly warmup: number; readonly iterations: number; readonly budgetMs: number };
  /** SDS is not run at a size where one send plus one receive is projected to cost more CPU than this. */
  readonly sdsMaxProjectedMs: number;
  readonly memory: { readonly chorus: number; readonly sds: number };
  readonly wire: readonly { members: number; chat: number; rate: number; tailSeconds: number; loss: number }[];
  readonly sdsWireMessages: number;
  readonly decode: { readonly pool: number; readonly warmup: number; readonly iterations: number };
  /** Roster sizes and messages for the owner path's cost. */
  readonly owner: readonly { members: number; messages: number }[];
}

const QUICK: Plan = {
  cpuSizes: [1_000, 2_000, 10_000],
  chorusCpu: { warmup: 300, iterations: 100, batch: 10 },
  nativeCryptoLogSize: 1_000,
  sdsCpu: { warmup: 1, iterations: 20, budgetMs: 600 },
  sdsMaxProjectedMs: 2_000,
  memory: { chorus: 5_000, sds: 500 },
  wire: [
    { members: 10, chat: 100, rate: 5, tailSeconds: 0, loss: 0.02 },
    { members: 100, chat: 60, rate: 5, tailSeconds: 0, loss: 0.02 },
    { members: 1_000, chat: 30, rate: 5, tailSeconds: 0, loss: 0.02 },
  ],
  sdsWireMessages: 100,
  decode: { pool: 100, warmup: 20, iterations: 15 },
  owner: [
    { members: 100, messages: 20 },
    { members: 1_000, messages: 5 },
  ],
};

const FULL: Plan = {
  cpuSizes: [1_000, 2_000, 10_000, 100_000, 1_000_000],
  chorusCpu: { warmup: 1_000, iterations: 500, batch: 10 },
  nativeCryptoLogSize: 10_000,
  sdsCpu: { warmup: 2, iterations: 50, budgetMs: 15_000 },
  sdsMaxProjectedMs: 5_000,
  memory: { chorus: 100_000, sds: 10_000 },
  wire: [
    { members: 10, chat: 1_000, rate: 2, tailSeconds: 150, loss: 0.02 },
    { members: 100, chat: 1_000, rate: 2, tailSeconds: 150, loss: 0.02 },
    { members: 1_000, chat: 300, rate: 2, tailSeconds: 60, loss: 0.02 },
  ],
  sdsWireMessages: 600,
  decode: { pool: 1_000, warmup: 10, iterations: 30 },
  owner: [
    { members: 100, messages: 100 },
    { members: 1_000, messages: 20 },
    { members: 10_000, messages: 3 },
  ],
};

const SECTIONS = ["cpu", "wire", "memory", "decode", "owner"] as const;
type Section = (typeof SECTIONS)[number];

interface Args {
  readonly quick: boolean;
  readonly out: string;
  readonly only: ReadonlySet<Section>;
  readonly sizes: readonly number[] | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  let quick = false;
  let out = join(root, "bench/results");
  let only = new Set<Section>(SECTIONS);
  let sizes: number[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new RangeError(`${a} needs a value`);
      return v;
    };
    if (a === "--quick") quick = true;
    else if (a === "--out") out = resolve(value());
    else if (a === "--only") {
      const names = value().split(",");
      for (const n of names) if (!SECTIONS.includes(n as Section)) throw new RangeError(`unknown section "${n}"`);
      only = new Set(names as Section[]);
    } else if (a === "--sizes") sizes = value().split(",").map(Number);
    else if (a === "--help" || a === "-h") {
      console.log(
        "usage: npm run bench -- [--quick] [--out DIR] [--only cpu,wire,memory,decode,owner] [--sizes 1000,10000]",
      );
      process.exit(0);
    } else throw new RangeError(`unknown argument "${a}"`);
  }
  return { quick, out, only, sizes };
}

function describe(job: Job): string {
  return `${job.kind} ${job.impl} ${JSON.stringify(job).replace(/"kind":"\w+","impl":"\w+",?/, "")}`;
}

/** Runs jobs one after the other in one fresh Node process and returns their results. */
function runBatch(jobs: readonly Job[]): Promise<unknown[]> {
  const label = jobs.map(describe).join("; ");
  process.stderr.write(`  ${label} ...`);
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [
        "--expose-gc",
        "--max-old-space-size=8192",
        "--import",
        "tsx",
        join(root, "bench/child.ts"),
        JSON.stringify(jobs),
      ],
      { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
    );
    let stdout = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      process.stderr.write(` ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      const results = stdout
        .split("\n")
        .filter((l) => l.startsWith(RESULT_PREFIX))
        .map((l) => JSON.parse(l.slice(RESULT_PREFIX.length)) as unknown);
      if (code !== 0 || results.length !== jobs.length) {
        reject(new Error(`benchmark job failed (${signal ?? `exit ${code}`}): ${label}\n${stdout}`));
        return;
      }
      resolvePromise(results);
    });
  });
}

/** Runs one job in a fresh Node process and returns its result. */
async function runJob<T>(job: Job): Promise<T> {
  const [result] = await runBatch([job]);
  return result as T;
}

/** Full runs give every job a process; quick runs share one among jobs of the same kind and implementation. */
async function runJobs<T>(jobs: readonly Job[], batch: boolean): Promise<T[]> {
  if (batch) return (await runBatch(jobs)) as T[];
  const out: T[] = [];
  for (const job of jobs) out.push(await runJob<T>(job));
  return out;
}

/**
 * SDS's cost per message grows with its history: the history array is re-sorted on every insert
 * (O(n log n)) and scanned once per causal-history entry (200 per message, O(n) each). Projects the
 * cost at `size` from the last measured size, to decide whether it can finish in reasonable time.
 */
function projectSds(last: CpuResult, size: number): number {
  const perMessageMs = (last.send.median + last.receive.median) / 1000;
  return perMessageMs * (size / last.logSize) * (Math.log(size) / Math.log(last.logSize));
}

async function runCpu(
  plan: Plan,
  sizes: readonly number[],
  quick: boolean,
  notes: string[],
): Promise<{ rows: CpuRow[]; native: CpuResult | null }> {
  const rows: CpuRow[] = [];
  const chorusJob = (logSize: number): Job => ({
    kind: "cpu",
    impl: "chorus",
    logSize,
    ...plan.chorusCpu,
    cryptos: CRYPTOS,
  });
  if (quick) {
    // Quick: all sizes of one implementation in one process, SDS at every size (they are small).
    const chorus = await runJobs<CpuResult>(sizes.map(chorusJob), true);
    const sds = await runJobs<CpuResult>(
      sizes.map((logSize) => ({ kind: "cpu", impl: "sds", logSize, ...plan.sdsCpu })),
      true,
    );
    sizes.forEach((logSize, i) => {
      rows.push(cpuRow(logSize, chorus[i]!, sds[i]!, null));
    });
  } else {
    let lastSds: CpuResult | undefined;
    for (const logSize of sizes) {
      const chorus = await runJob<CpuResult>(chorusJob(logSize));
      let sds: CpuResult | null = null;
      let skipped: string | null = null;
      const projected = lastSds === undefined ? 0 : projectSds(lastSds, logSize);
      if (projected > plan.sdsMaxProjectedMs) {
        skipped =
          `not run: projected ${(projected / 1000).toFixed(1)} s of CPU per send+receive from the ` +
          `${lastSds!.logSize.toLocaleString("en-US")} figures (its history array is re-sorted on every insert and ` +
          `scanned linearly for each of 200 causal-history ids), limit ${(plan.sdsMaxProjectedMs / 1000).toFixed(0)} s`;
      } else {
        sds = await runJob<CpuResult>({ kind: "cpu", impl: "sds", logSize, ...plan.sdsCpu });
        lastSds = sds;
      }
      rows.push(cpuRow(logSize, chorus, sds, skipped));
    }
  }
  const nativeRow = rows.find((r) => r.logSize === plan.nativeCryptoLogSize) ?? rows[0];
  const nativeVariant = nativeRow?.chorus?.variants?.find((v) => v.crypto === "native");
  const native: CpuResult | null =
    nativeRow?.chorus && nativeVariant
      ? { ...nativeRow.chorus, crypto: "native", send: nativeVariant.send, receive: nativeVariant.receive }
      : null;
  notes.push(
    `CPU: the member under test receives from 50 members (Zipf-distributed: a few write most) and sends one message in 50. Chorus holds ` +
      "every message (repairCacheSize and maxSeenIds raised to the log size); its log is built through receive() " +
      "with signatures off, then it receives fresh signed messages and sends, once per way of signing on the same log: " +
      "none (a no-op signer and an accept-all verifier: the engine's own work), native (OpenSSL, as `chorus node` runs) and " +
      `portable (@noble/curves, the engine's default); ${plan.chorusCpu.warmup} messages of each are warm-up (the verifier's ` +
      `per-sender tables settle), the next are timed, ${plan.chorusCpu.batch} to a sample (the CPU clock is a system call that would ` +
      "otherwise weigh on every message). Duplicate: the same messages again, each a byte-equal copy in a " +
      "buffer of its own. SDS's history is filled directly with the messages receiving would have left there (receiving " +
      "them one by one is O(n² log n)); timed messages go through pushIncomingMessage/pushOutgoingMessage + " +
      "processTasks, with decode/encode.",
  );
  return { rows, native };
}

/** The engine's own work (signatures apart) at the largest log over the smallest. */
function engineGrowth(rows: readonly CpuRow[]): Results["cpu"]["engineGrowth"] {
  const own = (row: CpuRow | undefined) => row?.chorus?.variants?.find((v) => v.crypto === "none");
  const first = own(rows[0]);
  const last = own(rows[rows.length - 1]);
  if (first === undefined || last === undefined) return null;
  return {
    fromLogSize: rows[0]!.logSize,
    toLogSize: rows[rows.length - 1]!.logSize,
    send: last.send.median / first.send.median,
    receive: last.receive.median / first.receive.median,
  };
}

function environment(): Record<string, string | number> {
  const sdsVersion = (
    JSON.parse(readFileSync(join(root, "node_modules/@waku/sds/package.json"), "utf8")) as {
      version: string;
    }
  ).version;
  const chorusVersion = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
    chorusVersion,
    sdsVersion,
    clock: "process CPU time (user + system, all threads), via process.cpuUsage()",
    sampler: "tinybench (warm-up, then fixed sample counts)",
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const plan = args.quick ? QUICK : FULL;
  const startedAt = new Date();
  const notes: string[] = [];
  process.stderr.write(`chorus bench (${args.quick ? "quick" : "full"}): one child process per measurement\n`);

  const cpuRun = args.only.has("cpu") ? await runCpu(plan, args.sizes ?? plan.cpuSizes, args.quick, notes) : undefined;
  const cpu = cpuRun?.rows ?? [];

  const wire: WireRow[] = [];
  if (args.only.has("wire")) {
    const chorus = await runJobs<WireResult>(
      plan.wire.map((w) => ({ kind: "wire", impl: "chorus", ...w })),
      args.quick,
    );
    const sds = await runJobs<WireResult>(
      plan.wire.map((w) => ({ kind: "wire", impl: "sds", ...w, chat: plan.sdsWireMessages })),
      args.quick,
    );
    plan.wire.forEach((w, i) => {
      const c = chorus[i]!;
      const d = sds[i]!;
      wire.push({
        members: w.members,
        chorus: c,
        sds: d,
        ratio: { p50: d.content.p50 / c.content.p50, p99: d.content.p99 / c.content.p99 },
        chorusP99WithinTarget: c.all.p99 <= WIRE_P99_TARGET,
      });
    });
    notes.push(
      "Wire: SDS sender ids are the same 64-hex-digit keys as Chorus's; SDS puts the sender id in every causal-history " +
        "entry, so with short ids its messages would be ~12 KB smaller (the 18,752-byte bloom filter stays).",
    );
  }

  let memory: NonNullable<Results["memory"]> | undefined;
  if (args.only.has("memory")) {
    const chorus = await runJob<MemoryResult>({ kind: "memory", impl: "chorus", messages: plan.memory.chorus });
    const sds = await runJob<MemoryResult>({ kind: "memory", impl: "sds", messages: plan.memory.sds });
    memory = {
      unit: "bytes per 100k messages held",
      chorus,
      sds,
      ratio: {
        live: sds.liveBytesPer100k / chorus.liveBytesPer100k,
        rss: sds.rssBytesPer100k / chorus.rssBytesPer100k,
      },
    };
  }

  let decode: NonNullable<Results["decode"]> | undefined;
  if (args.only.has("decode")) {
    const [chorus, sds] = (await runJobs<ThroughputResult>(
      [
        { kind: "decode", impl: "chorus", ...plan.decode },
        { kind: "decode", impl: "sds", ...plan.decode },
      ],
      args.quick,
    )) as [ThroughputResult, ThroughputResult];
    decode = {
      unit: "messages per second (CPU time)",
      chorus,
      sds,
      ratio: chorus.decode.messagesPerSecond / sds.decode.messagesPerSecond,
    };
  }

  let owner: NonNullable<Results["owner"]> | undefined;
  if (args.only.has("owner")) {
    const rows = await runJobs<OwnerResult>(
      plan.owner.map((o) => ({ kind: "owner", impl: "chorus", ...o })),
      args.quick,
    );
    owner = { unit: "owner CPU (µs) and bytes per message, every member reporting every message", rows };
  }

  const first = cpu[0]?.chorus;
  const last = cpu[cpu.length - 1]?.chorus;
  const results: Results = {
    schema: SCHEMA,
    mode: args.quick ? "quick" : "full",
    startedAt: startedAt.toISOString(),
    durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 100) / 10,
    environment: environment(),
    cpu: {
      unit: "µs of CPU per message",
      rows: cpu,
      chorusNativeCrypto: cpuRun?.native ?? null,
      chorusGrowth: {
        fromLogSize: first?.logSize ?? 0,
        toLogSize: last?.logSize ?? 0,
        send: first && last ? last.send.median / first.send.median : Number.NaN,
        receive: first && last ? last.receive.median / first.receive.median : Number.NaN,
      },
      engineGrowth: engineGrowth(cpu),
    },
    wire: { unit: "bytes per message beyond the payload", p99Target: WIRE_P99_TARGET, rows: wire },
    memory: memory ?? null,
    decode: decode ?? null,
    owner: owner ?? null,
    notes,
  };

  await mkdir(args.out, { recursive: true });
  await writeFile(join(args.out, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
  const complete = cpu.length > 0 && wire.length > 0 && memory !== undefined && decode !== undefined;
  if (complete && memory !== undefined && decode !== undefined)
    await writeFile(join(args.out, "latest.svg"), renderChart({ ...results, memory, decode }));
  console.log(formatTable(results));
  process.stderr.write(`wrote ${join(args.out, "latest.json")}${complete ? " and latest.svg" : ""}\n`);
}

await main();
