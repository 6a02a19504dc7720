import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { totalmem } from "node:os";
import { getHeapStatistics } from "node:v8";
import { type Command, InvalidArgumentError, Option } from "commander";
import { runHtml, runSummary, sweepHtml, sweepMarkdown } from "../sim/report.js";
import { jsonText, resultJson, runSimulation, type ScenarioInput, type SimResult } from "../sim/run.js";
import { DEFAULT_SCENARIO, DEFAULT_SDS_OPTIONS, type Partition, resolveScenario } from "../sim/scenario.js";
import { runSweep, type SweepConfig, type SweepResult } from "../sim/sweep.js";
import { number } from "./options.js";
import { Progress, runProgressLabel } from "./progress.js";

type ProtocolName = "chorus" | "sds";

/** `--protocol chorus,sds`: one protocol or several, each once. */
function protocols(value: string): ProtocolName[] {
  const list = value.split(",").map((p) => p.trim());
  for (const p of list) {
    if (p !== "chorus" && p !== "sds") {
      throw new InvalidArgumentError(`--protocol takes chorus, sds or both (chorus,sds), got "${p}" in "${value}"`);
    }
  }
  if (new Set(list).size !== list.length)
    throw new InvalidArgumentError(`--protocol names a protocol twice: "${value}"`);
  return list as ProtocolName[];
}

function onOff(name: string): (value: string) => boolean {
  return (value) => {
    if (value === "on" || value === "true") return true;
    if (value === "off" || value === "false") return false;
    throw new InvalidArgumentError(`${name} must be on or off, got "${value}"`);
  };
}

function partition(value: string, previous: Partition[] = []): Partition[] {
  const parts = value.split(":").map(Number);
  if (parts.length !== 3 || parts.some((p) => !Number.isFinite(p) || p < 0) || parts[2]! > 1) {
    throw new InvalidArgumentError(
      `--partition must be AT_MS:DURATION_MS:FRACTION (e.g. 60000:30000:0.3), got "${value}"`,
    );
  }
  return [...previous, { atMs: parts[0]!, durationMs: parts[1]!, fraction: parts[2]! }];
}

function param(value: string, previous: Record<string, number | boolean> = {}): Record<string, number | boolean> {
  const eq = value.indexOf("=");
  if (eq < 1) throw new InvalidArgumentError(`--param must be NAME=VALUE (e.g. causalHistorySize=4), got "${value}"`);
  const name = value.slice(0, eq);
  const raw = value.slice(eq + 1);
  const parsed = raw === "true" ? true : raw === "false" ? false : Number(raw);
  if (typeof parsed === "number" && (raw.trim() === "" || !Number.isFinite(parsed))) {
    throw new InvalidArgumentError(`--param ${name} needs a number or true/false, got "${raw}"`);
  }
  return { ...previous, [name]: parsed };
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

function write(path: string, text: string): void {
  if (path === "-") process.stdout.write(text);
  else writeFileSync(path, text);
}

/** The options of `chorus sim` that are scenario fields of the same name. */
const SCENARIO_FIELDS = [
  "members",
  "messages",
  "rate",
  "mix",
  "contentBytes",
  "loss",
  "burstLoss",
  "burstMeanMs",
  "latencyMs",
  "latencyP99Ms",
  "latencyFloorMs",
  "offline",
  "offlineMeanMs",
  "lateJoin",
  "zipfExponent",
  "burstBadLoss",
  "ownerOutageMeanMs",
  "owner",
  "ownerAvailability",
  "ownerPath",
  "pathLatencyMs",
  "pathFailure",
  "reportIntervalMs",
  "ownerReportRate",
  "settleMs",
  "warmupMs",
  "warmupRate",
  "seed",
] as const;

type SimOptions = Pick<ScenarioInput, (typeof SCENARIO_FIELDS)[number]> & {
  protocol?: ProtocolName[];
  partition?: Partition[];
  param?: Record<string, number | boolean>;
  sdsHistory?: number;
  scenario?: string;
  json?: string;
  html?: string;
  quiet?: boolean;
  workers?: number;
};

/** Scenario options from the command line, over an optional --scenario file. */
export function scenarioFromOptions(o: SimOptions): ScenarioInput {
  const base = (o.scenario === undefined ? {} : readJson(o.scenario, "scenario file")) as ScenarioInput;
  const out: Record<string, unknown> = { ...base };
  for (const k of SCENARIO_FIELDS) if (o[k] !== undefined) out[k] = o[k];
  if (o.protocol !== undefined && o.protocol.length === 1) out.protocol = o.protocol[0];
  if (o.partition !== undefined) out.partitions = o.partition;
  if (o.param !== undefined) out.params = { ...(base.params ?? {}), ...o.param };
  if (o.sdsHistory !== undefined) out.sds = { ...(base.sds ?? {}), causalHistorySize: o.sdsHistory };
  return out as ScenarioInput;
}

/** An option; `parse` is a commander parser, or the only values it takes; `def` is the default its help shows. */
function option<T>(
  flags: string,
  description: string,
  parse?: ((value: string, previous: T) => T) | readonly string[],
  def?: unknown,
) {
  // The default is only shown: a value in opts() would override the --scenario file.
  const text = def === undefined ? description : `${description} (default: ${showDefault(def)})`;
  const o = new Option(flags, text);
  if (parse === undefined) return o;
  return typeof parse === "function" ? o.argParser(parse) : o.choices(parse);
}

function showDefault(v: unknown): string {
  return typeof v === "boolean" ? (v ? "on" : "off") : String(v);
}

const D = DEFAULT_SCENARIO;

/** The options of `chorus sim`, in the order its help lists them. Long because it is the list itself. */
function simOptions(): Option[] {
  return [
    option(
      "--members <n>",
      "ordinary members (the owner is one more node)",
      number("--members", 2, 100_000, true),
      D.members,
    ),
    option("--messages <n>", "content messages in the run", number("--messages", 1, 10_000_000, true), D.messages),
    option(
      "--rate <msgs_per_s>",
      "content messages per second in the whole channel (Poisson)",
      number("--rate", 1e-6, 1e6),
      D.rate,
    ),
    option("--mix <mix>", "who sends: uniform, or heavy (Zipf: few talk, many read)", ["uniform", "heavy"], D.mix),
    option(
      "--zipf-exponent <s>",
      "with --mix heavy: member k sends with weight 1/k^s",
      number("--zipf-exponent", 0, 10),
      D.zipfExponent,
    ),
    option(
      "--content-bytes <n>",
      "median content size (log-normal)",
      number("--content-bytes", 1, 4000),
      D.contentBytes,
    ),
    option("--loss <p>", "independent loss of each copy", number("--loss", 0, 1), D.loss),
    option(
      "--burst-loss <p>",
      "share of time a receiver is in a Gilbert-Elliott loss burst",
      number("--burst-loss", 0, 0.99),
      D.burstLoss,
    ),
    option("--burst-mean-ms <ms>", "mean burst length", number("--burst-mean-ms", 1, 1e9), D.burstMeanMs),
    option("--burst-bad-loss <p>", "loss of a copy inside a burst", number("--burst-bad-loss", 0, 1), D.burstBadLoss),
    option("--latency-ms <ms>", "median one-way latency (log-normal)", number("--latency-ms", 0, 1e7), D.latencyMs),
    option(
      "--latency-p99-ms <ms>",
      "99th percentile one-way latency",
      number("--latency-p99-ms", 0, 1e8),
      "4 x --latency-ms",
    ),
    option(
      "--latency-floor-ms <ms>",
      "smallest one-way delay of a topic copy or a direct-path leg",
      number("--latency-floor-ms", 0, 1e7),
      D.latencyFloorMs,
    ),
    option("--offline <fraction>", "share of time each member is offline", number("--offline", 0, 0.99), D.offline),
    option("--offline-mean-ms <ms>", "mean offline period", number("--offline-mean-ms", 1, 1e10), D.offlineMeanMs),
    option(
      "--late-join <fraction>",
      "share of members joining during the first half of the traffic",
      number("--late-join", 0, 1),
      D.lateJoin,
    ),
    option(
      "--partition <at:duration:fraction>",
      "a partition that heals, ms after the warm-up (repeatable)",
      partition,
      "none",
    ),
    option(
      "--owner <on|off>",
      "an owner node that stores everything and answers repairs first",
      onOff("--owner"),
      D.owner,
    ),
    option(
      "--owner-availability <fraction>",
      "share of time the owner is online",
      number("--owner-availability", 0.01, 1),
      D.ownerAvailability,
    ),
    option(
      "--owner-outage-mean-ms <ms>",
      "mean length of an owner outage",
      number("--owner-outage-mean-ms", 1, 1e10),
      D.ownerOutageMeanMs,
    ),
    option(
      "--owner-path <on|off>",
      "with an owner: a direct path from each member to it for receipts, heads and gap fill",
      onOff("--owner-path"),
      D.ownerPath,
    ),
    option(
      "--path-latency-ms <ms>",
      "median one-way latency of the direct path, same spread",
      number("--path-latency-ms", 0, 1e7),
      "--latency-ms",
    ),
    option(
      "--path-failure <p>",
      "probability that a direct-path call fails",
      number("--path-failure", 0, 1),
      D.pathFailure,
    ),
    option(
      "--report-interval-ms <ms>",
      "a member reports its receipts to the owner at most this often",
      number("--report-interval-ms", 0, 1e9),
      D.reportIntervalMs,
    ),
    option(
      "--owner-report-rate <per_s>",
      "reports a second the owner receives in total at most: members of a large roster report less often (0: no bound)",
      number("--owner-report-rate", 0, 1e9),
      D.ownerReportRate,
    ),
    option(
      "--settle-ms <ms>",
      "quiet time after the last message, everyone online",
      number("--settle-ms", 0, 1e10),
      D.settleMs,
    ),
    option("--warmup-ms <ms>", "unmeasured time before the first message", number("--warmup-ms", 0, 1e10), D.warmupMs),
    option(
      "--warmup-rate <msgs_per_s>",
      "unmeasured background messages during the warm-up",
      number("--warmup-rate", 0, 1e6),
      D.warmupRate,
    ),
    option(
      "--protocol <protocols>",
      "protocol in every member: chorus, sds, or chorus,sds to run both on the same scenario",
      protocols,
      D.protocol,
    ),
    option("--seed <s>", "random seed; the same seed and options give the same JSON", undefined, D.seed),
    option(
      "--param <name=value>",
      "engine parameter, e.g. causalHistorySize=4 (repeatable; defaults: src/core/params.ts)",
      param,
    ),
    option(
      "--sds-history <n>",
      "causal history size of @waku/sds",
      number("--sds-history", 0, 10_000, true),
      DEFAULT_SDS_OPTIONS.causalHistorySize,
    ),
    option("--scenario <file>", "scenario JSON used as the base of these options"),
    option("--json <file>", "write the result JSON to FILE (- for stdout); with several protocols, an array"),
    option("--html <file>", "write a self-contained HTML report (summary, charts, every figure explained)"),
    option(
      "--workers <n>",
      "worker threads the members of a chorus run are split across; the same JSON whatever the count",
      number("--workers", 1, 64, true),
      1,
    ),
    option("-q, --quiet", "no progress bar (it shows only on a terminal, on stderr)"),
  ];
}

/** Runs each protocol on the scenario in turn, with a progress bar over all of them. */
async function runProtocols(
  input: ScenarioInput,
  list: readonly ProtocolName[],
  quiet: boolean,
  workers: number,
): Promise<SimResult[]> {
  const progress = new Progress(1000 * list.length, { quiet });
  const results: SimResult[] = [];
  try {
    for (const [i, protocol] of list.entries()) {
      const started = progress.elapsedMs;
      const name = list.length > 1 ? `${protocol} | ` : "";
      results.push(
        await runSimulation(
          { ...input, protocol },
          {
            onProgress: (f, at) =>
              progress.update(Math.round((i + f) * 1000), name + runProgressLabel(at, progress.elapsedMs - started)),
            // The sds adapter runs in one thread; --workers splits the chorus runs.
            workers: protocol === "chorus" ? workers : 1,
          },
        ),
      );
    }
  } finally {
    progress.stop();
  }
  return results;
}

/** Set in the environment of a run started again with a larger heap, so that it is not started a third time. */
const LARGER_HEAP_ENV = "CHORUS_SIM_LARGER_HEAP";
/** From this many members a run starts itself again for a larger young generation (`rerunWithLargerHeap`). */
const YOUNG_GENERATION_MEMBERS = 500;

/**
 * Memory a run needs, roughly, from what runs measured (memory.per_member_bytes, 253 KB at 10,000 members and
 * 106 messages): a base, ~150 KB per node, and ~1 KB per (node, message) pair (engine state, the ground truth's
 * arrays, the heap's slack), warm-up messages included.
 */
function heapNeededBytes(input: ScenarioInput): number {
  const s = resolveScenario(input);
  const nodes = s.members + 1;
  const messages = s.messages + (s.warmupMs / 1000) * s.warmupRate;
  return 300e6 + nodes * (150e3 + messages * 1_000);
}

/**
 * Node's default heap limit (about 4 GB here) stops runs of several thousand members. When a run needs more,
 * the command starts itself again with a heap of up to 3/4 of the machine's memory (the heap grows only as it
 * is used) and exits with its status; true when it did. NODE_OPTIONS=--max-old-space-size=<MB> set by the user
 * is kept: a limit already large enough asks for no other. Runs of `YOUNG_GENERATION_MEMBERS` members or more
 * start again for a larger young generation alone (64 MB semi-spaces, as the simulator's worker threads get:
 * fewer premature promotions of the short-lived decodings and steps, about 7 % less CPU at 500 to 1,000
 * members); a thread cannot change it once started.
 */
function rerunWithLargerHeap(input: ScenarioInput): boolean {
  if (process.env[LARGER_HEAP_ENV] !== undefined) return false;
  const needed = heapNeededBytes(input);
  // Well below the limit: V8 collects ever more often as the heap nears it.
  const short = needed > 0.75 * getHeapStatistics().heap_size_limit;
  if (!short && resolveScenario(input).members < YOUNG_GENERATION_MEMBERS) return false;
  const mb = Math.floor(Math.min(totalmem() * 0.75, Math.max(needed * 1.5, 8e9)) / 2 ** 20);
  const heap = short ? [`--max-old-space-size=${mb}`] : [];
  const run = spawnSync(
    process.execPath,
    [...process.execArgv, ...heap, "--max-semi-space-size=64", ...process.argv.slice(1)],
    {
      stdio: "inherit",
      env: { ...process.env, [LARGER_HEAP_ENV]: short ? String(mb) : "default" },
    },
  );
  if (run.error !== undefined) throw run.error;
  process.exitCode = run.status ?? 1;
  return true;
}

async function runSim(o: SimOptions): Promise<void> {
  const input = scenarioFromOptions(o);
  if (rerunWithLargerHeap(input)) return;
  const list = o.protocol ?? [input.protocol ?? DEFAULT_SCENARIO.protocol];
  const cpu = process.cpuUsage();
  const results = await runProtocols(input, list, o.quiet === true, o.workers ?? 1);
  if (o.json !== undefined) {
    write(o.json, results.length === 1 ? resultJson(results[0]!) : `${jsonText(results)}\n`);
  }
  if (o.html !== undefined) write(o.html, runHtml(results));
  if (o.json !== "-") {
    const used = process.cpuUsage(cpu);
    process.stdout.write(runSummary(results));
    // CPU time tells the cost of a run apart from other load on the machine; it is not in the JSON.
    process.stdout.write(`cpu s (user + system)  ${((used.user + used.system) / 1e6).toFixed(1)}\n`);
  }
}

interface SweepOptions {
  config: string;
  json?: string;
  html?: string;
  markdown?: string;
  quiet?: boolean;
}

async function runSweepCommand(o: SweepOptions): Promise<void> {
  const config = readJson(o.config, "sweep config") as SweepConfig;
  let progress: Progress | undefined;
  let sweep: Awaited<ReturnType<typeof runSweep>>;
  let runStarted = 0;
  let runIndex = -1;
  try {
    sweep = await runSweep(config, {
      onProgress: (done, total, label, at) => {
        progress ??= new Progress(total * 100, { quiet: o.quiet === true });
        const run = Math.min(Math.floor(done), total - 1);
        if (run !== runIndex) {
          runIndex = run;
          runStarted = progress.elapsedMs;
        }
        const where = at === undefined ? "" : ` | ${runProgressLabel(at, progress.elapsedMs - runStarted)}`;
        progress.update(Math.round(done * 100), `run ${run + 1} of ${total}: ${label}${where}`);
      },
    });
  } finally {
    progress?.stop();
  }
  if (o.json !== undefined) write(o.json, `${jsonText(sweep)}\n`);
  if (o.html !== undefined) write(o.html, sweepHtml(sweep));
  const md = sweepMarkdown(sweep);
  if (o.markdown !== undefined) write(o.markdown, md);
  else if (o.json !== "-") process.stdout.write(md);
}

/** `chorus sim` and `chorus sim sweep`: the simulator of src/sim from the command line. */
export function registerSimCommand(program: Command): Command {
  const sim = program
    .command("sim")
    .description("run a seeded network simulation of one channel and print its metrics");
  for (const o of simOptions()) sim.addOption(o);
  sim.action((o: SimOptions) => runSim(o));

  sim
    .command("sweep")
    .description("run a grid of scenarios and write an HTML report and a markdown table")
    .requiredOption("--config <file>", "sweep configuration (JSON; see src/sim/sweep.ts)")
    .option("--json <file>", "write every result as JSON (- for stdout)")
    .option("--html <file>", "write a self-contained HTML report with charts")
    .option("--markdown <file>", "write the markdown table (default: stdout)")
    .option("-q, --quiet", "no progress bar")
    // `sim` has options of the same names (--json, --html, --quiet); unless the root program enables
    // positional options, commander gives them to `sim`, so read both levels.
    .action((_opts: unknown, command: Command) => runSweepCommand(command.optsWithGlobals<SweepOptions>()));

  sim
    .command("report")
    .description("write the HTML report of saved JSON: results of `sim --json` (several are compared) or a sweep")
    .argument("<files...>", "JSON files written by `chorus sim --json` or `chorus sim sweep --json`")
    .option("--html <file>", "the HTML report to write (- for stdout)")
    .action((files: string[], _opts: unknown, command: Command) =>
      reportCommand(files, command.optsWithGlobals<{ html?: string }>()),
    );
  return sim;
}

function isSweep(v: unknown): v is SweepResult {
  return typeof v === "object" && v !== null && Array.isArray((v as SweepResult).runs) && "keys" in v;
}

function isResult(v: unknown): v is SimResult {
  return typeof v === "object" && v !== null && "series" in v && "delivery" in v && "params" in v;
}

/** `chorus sim report`: the report of runs done before, from their JSON. */
function reportCommand(files: readonly string[], o: { html?: string }): void {
  if (o.html === undefined) throw new InvalidArgumentError("sim report needs --html FILE (- for stdout)");
  const loaded = files.map((f) => [f, readJson(f, "result")] as const);
  const sweeps = loaded.filter(([, v]) => isSweep(v));
  if (sweeps.length > 0) {
    if (loaded.length > 1)
      throw new InvalidArgumentError(`sim report takes one sweep file alone, got ${files.join(", ")}`);
    write(o.html, sweepHtml(sweeps[0]![1] as SweepResult));
    return;
  }
  const results: SimResult[] = [];
  for (const [f, v] of loaded) {
    const list = Array.isArray(v) ? v : [v];
    for (const r of list) {
      if (!isResult(r)) {
        throw new InvalidArgumentError(`${f} holds no simulation result with series (written by chorus sim --json?)`);
      }
      results.push(r);
    }
  }
  write(o.html, runHtml(results));
}
