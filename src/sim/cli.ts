import { readFileSync, writeFileSync } from "node:fs";
import cliProgress from "cli-progress";
import { type Command, InvalidArgumentError, Option } from "commander";
import { runHtml, sweepHtml, sweepMarkdown } from "./report.js";
import { resultJson, runSimulation, type ScenarioInput, type SimResult } from "./run.js";
import type { Partition } from "./scenario.js";
import { runSweep, type SweepConfig } from "./sweep.js";

/**
 * `chorus sim` and `chorus sim sweep`. Mounted by the chorus program:
 *
 *   import { registerSimCommand } from "../sim/cli.js";
 *   registerSimCommand(program);
 */

function number(name: string, min: number, max: number, integer = false) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(
        `${name} must be ${integer ? "an integer" : "a number"} in ${min}..${max}, got "${value}"`,
      );
    }
    return n;
  };
}

function onOff(value: string): boolean {
  if (value === "on" || value === "true") return true;
  if (value === "off" || value === "false") return false;
  throw new InvalidArgumentError(`--owner must be on or off, got "${value}"`);
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

/**
 * A progress bar on stderr, only when stderr is a terminal and only once the work has lasted a
 * couple of seconds: short runs and piped output stay clean, and stdout (the JSON) is never touched.
 */
class Progress {
  private bar: cliProgress.SingleBar | undefined;
  private readonly started = performance.now();
  private readonly enabled: boolean;

  constructor(
    private readonly total: number,
    quiet: boolean,
  ) {
    this.enabled = !quiet && process.stderr.isTTY === true;
  }

  update(done: number, label = ""): void {
    if (!this.enabled) return;
    if (this.bar === undefined) {
      if (performance.now() - this.started < 2_000) return;
      this.bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: " {bar} {percentage}% | {label}",
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(this.total, 0, { label });
    }
    this.bar.update(Math.min(done, this.total), { label });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

interface SimOptions {
  members?: number;
  messages?: number;
  rate?: number;
  mix?: "uniform" | "heavy";
  contentBytes?: number;
  loss?: number;
  burstLoss?: number;
  burstMeanMs?: number;
  latencyMs?: number;
  latencyP99Ms?: number;
  offline?: number;
  offlineMeanMs?: number;
  lateJoin?: number;
  partition?: Partition[];
  owner?: boolean;
  ownerAvailability?: number;
  settleMs?: number;
  warmupMs?: number;
  warmupRate?: number;
  protocol?: "chorus" | "sds";
  seed?: string;
  param?: Record<string, number | boolean>;
  sdsHistory?: number;
  scenario?: string;
  json?: string;
  html?: string;
  quiet?: boolean;
}

/** Scenario options from the command line, over an optional --scenario file. */
export function scenarioFromOptions(o: SimOptions): ScenarioInput {
  const base = (o.scenario === undefined ? {} : readJson(o.scenario, "scenario file")) as ScenarioInput;
  const pick: ScenarioInput = {
    members: o.members,
    messages: o.messages,
    rate: o.rate,
    mix: o.mix,
    contentBytes: o.contentBytes,
    loss: o.loss,
    burstLoss: o.burstLoss,
    burstMeanMs: o.burstMeanMs,
    latencyMs: o.latencyMs,
    latencyP99Ms: o.latencyP99Ms,
    offline: o.offline,
    offlineMeanMs: o.offlineMeanMs,
    lateJoin: o.lateJoin,
    owner: o.owner,
    ownerAvailability: o.ownerAvailability,
    settleMs: o.settleMs,
    warmupMs: o.warmupMs,
    warmupRate: o.warmupRate,
    protocol: o.protocol,
    seed: o.seed,
  };
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(pick)) if (v !== undefined) out[k] = v;
  if (o.partition !== undefined) out.partitions = o.partition;
  if (o.param !== undefined) out.params = { ...(base.params ?? {}), ...o.param };
  if (o.sdsHistory !== undefined) out.sds = { ...(base.sds ?? {}), causalHistorySize: o.sdsHistory };
  return out as ScenarioInput;
}

function summary(r: SimResult): string {
  const rows: [string, unknown][] = [
    ["protocol", r.protocol],
    ["seed", r.seed],
    [
      "delivery ratio",
      `${r.delivery.ratio} (${r.delivery.delivered} of ${r.delivery.expected}, ${r.delivery.lost} lost)`,
    ],
    ["undetected gaps", r.undetected_gaps],
    ["delivery p50 / p99 ms", `${r.latency_ms.delivery_p50} / ${r.latency_ms.delivery_p99}`],
    ["gap detection p50 / p90 ms", `${r.latency_ms.gap_detection_p50} / ${r.latency_ms.gap_detection_p90}`],
    ["repair p50 / p99 ms", `${r.latency_ms.repair_p50} / ${r.latency_ms.repair_p99}`],
    [
      "overhead mean / p50 / p99 B",
      `${r.overhead_bytes_per_message.mean} / ${r.overhead_bytes_per_message.p50} / ${r.overhead_bytes_per_message.p99}`,
    ],
    ["bandwidth B/member/min", r.bandwidth_bytes_per_member_per_minute],
    ["control msgs/member/600s", r.control_messages_per_member_per_600s],
    ["repair broadcasts/loss", r.repair_broadcasts_per_loss],
    ["ack knowledge p50 / p99 ms", `${r.acks.knowledge_p50_ms} / ${r.acks.knowledge_p99_ms}`],
    ["k-of-N error / false acks", `${r.acks.k_of_n_abs_error_mean} / ${r.acks.false_ack_rate}`],
    ["simulated s / wall s", `${r.detail.simulated_ms / 1000} / ${r.wall_ms / 1000}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${String(v)}`).join("\n")}\n`;
}

function write(path: string, text: string): void {
  if (path === "-") process.stdout.write(text);
  else writeFileSync(path, text);
}

export function registerSimCommand(program: Command): Command {
  const sim = program
    .command("sim")
    .description("run a seeded network simulation of one channel and print its metrics")
    .option("--members <n>", "ordinary members (the owner is one more node)", number("--members", 2, 100_000, true))
    .option("--messages <n>", "content messages in the run", number("--messages", 1, 10_000_000, true))
    .option(
      "--rate <msgs_per_s>",
      "content messages per second in the whole channel (Poisson)",
      number("--rate", 1e-6, 1e6),
    )
    .addOption(
      new Option("--mix <mix>", "who sends: uniform, or heavy (Zipf: few talk, many read)").choices([
        "uniform",
        "heavy",
      ]),
    )
    .option("--content-bytes <n>", "median content size (log-normal)", number("--content-bytes", 1, 4000))
    .option("--loss <p>", "independent loss of each copy", number("--loss", 0, 1))
    .option(
      "--burst-loss <p>",
      "share of time a receiver is in a Gilbert-Elliott loss burst",
      number("--burst-loss", 0, 0.99),
    )
    .option("--burst-mean-ms <ms>", "mean burst length", number("--burst-mean-ms", 1, 1e9))
    .option("--latency-ms <ms>", "median one-way latency (log-normal)", number("--latency-ms", 0, 1e7))
    .option(
      "--latency-p99-ms <ms>",
      "99th percentile one-way latency (default 4 x median)",
      number("--latency-p99-ms", 0, 1e8),
    )
    .option("--offline <fraction>", "share of time each member is offline", number("--offline", 0, 0.99))
    .option("--offline-mean-ms <ms>", "mean offline period", number("--offline-mean-ms", 1, 1e10))
    .option(
      "--late-join <fraction>",
      "share of members joining during the first half of the traffic",
      number("--late-join", 0, 1),
    )
    .option("--partition <at:duration:fraction>", "a partition that heals (repeatable)", partition)
    .option("--owner <on|off>", "an owner node that stores everything and answers repairs first", onOff)
    .option(
      "--owner-availability <fraction>",
      "share of time the owner is online",
      number("--owner-availability", 0.01, 1),
    )
    .option("--settle-ms <ms>", "quiet time after the last message, everyone online", number("--settle-ms", 0, 1e10))
    .option(
      "--warmup-ms <ms>",
      "unmeasured time before the first message (default 240000)",
      number("--warmup-ms", 0, 1e10),
    )
    .option(
      "--warmup-rate <msgs_per_s>",
      "unmeasured background messages during the warm-up",
      number("--warmup-rate", 0, 1e6),
    )
    .addOption(new Option("--protocol <protocol>", "protocol in every member").choices(["chorus", "sds"]))
    .option("--seed <s>", "random seed; the same seed and options give the same JSON")
    .option("--param <name=value>", "engine parameter, e.g. causalHistorySize=4 (repeatable)", param)
    .option(
      "--sds-history <n>",
      "causal history size of @waku/sds (default 200)",
      number("--sds-history", 0, 10_000, true),
    )
    .option("--scenario <file>", "scenario JSON used as the base of these options")
    .option("--json <file>", "write the result JSON to FILE (- for stdout)")
    .option("--html <file>", "write a self-contained HTML report")
    .option("-q, --quiet", "no progress bar")
    .action(async (o: SimOptions) => {
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
        process.stdout.write(summary(result));
        // CPU time tells the cost of a run apart from other load on the machine; it is not in the JSON.
        process.stdout.write(`cpu s (user + system)         ${((used.user + used.system) / 1e6).toFixed(1)}\n`);
      }
    });

  sim
    .command("sweep")
    .description("run a grid of scenarios and write an HTML report and a markdown table")
    .requiredOption("--config <file>", "sweep configuration (JSON; see src/sim/sweep.ts)")
    .option("--json <file>", "write every result as JSON (- for stdout)")
    .option("--html <file>", "write a self-contained HTML report with charts")
    .option("--markdown <file>", "write the markdown table (default: stdout)")
    .option("-q, --quiet", "no progress bar")
    .action(async (_opts: unknown, command: Command) => {
      // `sim` has options of the same names (--json, --html, --quiet); unless the root program enables
      // positional options, commander gives them to `sim`, so read both levels.
      const o = command.optsWithGlobals<{
        config: string;
        json?: string;
        html?: string;
        markdown?: string;
        quiet?: boolean;
      }>();
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
    });
  return sim;
}
