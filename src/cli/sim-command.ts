import { readFileSync, writeFileSync } from "node:fs";
import { type Command, InvalidArgumentError, Option } from "commander";
import { runHtml, runSummary, sweepHtml, sweepMarkdown } from "../sim/report.js";
import { resultJson, runSimulation, type ScenarioInput, type SimResult } from "../sim/run.js";
import type { Partition } from "../sim/scenario.js";
import { runSweep, type SweepConfig } from "../sim/sweep.js";
import { number } from "./options.js";
import { Progress } from "./progress.js";

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
  "offline",
  "offlineMeanMs",
  "lateJoin",
  "owner",
  "ownerAvailability",
  "ownerPath",
  "pathLatencyMs",
  "pathFailure",
  "reportIntervalMs",
  "settleMs",
  "warmupMs",
  "warmupRate",
  "protocol",
  "seed",
] as const;

type SimOptions = Pick<ScenarioInput, (typeof SCENARIO_FIELDS)[number]> & {
  partition?: Partition[];
  param?: Record<string, number | boolean>;
  sdsHistory?: number;
  scenario?: string;
  json?: string;
  html?: string;
  quiet?: boolean;
};

/** Scenario options from the command line, over an optional --scenario file. */
export function scenarioFromOptions(o: SimOptions): ScenarioInput {
  const base = (o.scenario === undefined ? {} : readJson(o.scenario, "scenario file")) as ScenarioInput;
  const out: Record<string, unknown> = { ...base };
  for (const k of SCENARIO_FIELDS) if (o[k] !== undefined) out[k] = o[k];
  if (o.partition !== undefined) out.partitions = o.partition;
  if (o.param !== undefined) out.params = { ...(base.params ?? {}), ...o.param };
  if (o.sdsHistory !== undefined) out.sds = { ...(base.sds ?? {}), causalHistorySize: o.sdsHistory };
  return out as ScenarioInput;
}

/** An option; `parse` is a commander parser, or the only values it takes. */
function option<T>(
  flags: string,
  description: string,
  parse?: ((value: string, previous: T) => T) | readonly string[],
) {
  const o = new Option(flags, description);
  if (parse === undefined) return o;
  return typeof parse === "function" ? o.argParser(parse) : o.choices(parse);
}

/** The options of `chorus sim`, in the order its help lists them. */
function simOptions(): Option[] {
  return [
    option("--members <n>", "ordinary members (the owner is one more node)", number("--members", 2, 100_000, true)),
    option("--messages <n>", "content messages in the run", number("--messages", 1, 10_000_000, true)),
    option(
      "--rate <msgs_per_s>",
      "content messages per second in the whole channel (Poisson)",
      number("--rate", 1e-6, 1e6),
    ),
    option("--mix <mix>", "who sends: uniform, or heavy (Zipf: few talk, many read)", ["uniform", "heavy"]),
    option("--content-bytes <n>", "median content size (log-normal)", number("--content-bytes", 1, 4000)),
    option("--loss <p>", "independent loss of each copy", number("--loss", 0, 1)),
    option(
      "--burst-loss <p>",
      "share of time a receiver is in a Gilbert-Elliott loss burst",
      number("--burst-loss", 0, 0.99),
    ),
    option("--burst-mean-ms <ms>", "mean burst length", number("--burst-mean-ms", 1, 1e9)),
    option("--latency-ms <ms>", "median one-way latency (log-normal)", number("--latency-ms", 0, 1e7)),
    option(
      "--latency-p99-ms <ms>",
      "99th percentile one-way latency (default 4 x median)",
      number("--latency-p99-ms", 0, 1e8),
    ),
    option("--offline <fraction>", "share of time each member is offline", number("--offline", 0, 0.99)),
    option("--offline-mean-ms <ms>", "mean offline period", number("--offline-mean-ms", 1, 1e10)),
    option(
      "--late-join <fraction>",
      "share of members joining during the first half of the traffic",
      number("--late-join", 0, 1),
    ),
    option("--partition <at:duration:fraction>", "a partition that heals (repeatable)", partition),
    option("--owner <on|off>", "an owner node that stores everything and answers repairs first", onOff("--owner")),
    option(
      "--owner-availability <fraction>",
      "share of time the owner is online",
      number("--owner-availability", 0.01, 1),
    ),
    option(
      "--owner-path <on|off>",
      "with an owner: a direct path from each member to it for receipts, heads and gap fill (default on)",
      onOff("--owner-path"),
    ),
    option(
      "--path-latency-ms <ms>",
      "median one-way latency of the direct path (default: --latency-ms, same spread)",
      number("--path-latency-ms", 0, 1e7),
    ),
    option("--path-failure <p>", "probability that a direct-path call fails", number("--path-failure", 0, 1)),
    option(
      "--report-interval-ms <ms>",
      "a member reports its receipts to the owner at most this often (default 250)",
      number("--report-interval-ms", 0, 1e9),
    ),
    option("--settle-ms <ms>", "quiet time after the last message, everyone online", number("--settle-ms", 0, 1e10)),
    option(
      "--warmup-ms <ms>",
      "unmeasured time before the first message (default 240000)",
      number("--warmup-ms", 0, 1e10),
    ),
    option(
      "--warmup-rate <msgs_per_s>",
      "unmeasured background messages during the warm-up",
      number("--warmup-rate", 0, 1e6),
    ),
    option("--protocol <protocol>", "protocol in every member", ["chorus", "sds"]),
    option("--seed <s>", "random seed; the same seed and options give the same JSON"),
    option("--param <name=value>", "engine parameter, e.g. causalHistorySize=4 (repeatable)", param),
    option(
      "--sds-history <n>",
      "causal history size of @waku/sds (default 200)",
      number("--sds-history", 0, 10_000, true),
    ),
    option("--scenario <file>", "scenario JSON used as the base of these options"),
    option("--json <file>", "write the result JSON to FILE (- for stdout)"),
    option("--html <file>", "write a self-contained HTML report"),
    option("-q, --quiet", "no progress bar"),
  ];
}

async function runSim(o: SimOptions): Promise<void> {
  const input = scenarioFromOptions(o);
  const progress = new Progress(1000, o.quiet === true);
  const cpu = process.cpuUsage();
  let result: SimResult;
  try {
    result = await runSimulation(input, { onProgress: (f) => progress.update(Math.round(f * 1000), "simulating") });
  } finally {
    progress.stop();
  }
  if (o.json !== undefined) write(o.json, resultJson(result));
  if (o.html !== undefined) write(o.html, runHtml(result));
  if (o.json !== "-") {
    const used = process.cpuUsage(cpu);
    process.stdout.write(runSummary(result));
    // CPU time tells the cost of a run apart from other load on the machine; it is not in the JSON.
    process.stdout.write(`cpu s (user + system)         ${((used.user + used.system) / 1e6).toFixed(1)}\n`);
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
  try {
    sweep = await runSweep(config, {
      onProgress: (done, total, label) => {
        progress ??= new Progress(total * 100, o.quiet === true);
        progress.update(Math.round(done * 100), label);
      },
    });
  } finally {
    progress?.stop();
  }
  if (o.json !== undefined) write(o.json, `${JSON.stringify(sweep, null, 2)}\n`);
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
  return sim;
}
