/**
 * Partitions between real hosts: `chorus node` processes (an owner with a roster and members), each in its
 * own Linux network namespace, joined by veth pairs and bridges this script creates, with faults made by
 * the kernel: links pulled down, nftables drops between groups of hosts, nftables random loss. Needs root,
 * iproute2 and nftables. Everything it creates is removed at the end, on failure, on SIGINT and SIGTERM,
 * and leftovers of a run that was killed are removed at the next start.
 *
 *   npm run partitions [-- --quick] [--scenarios owner-isolated,split] [--members 4] [--fault-seconds 20]
 *                      [--loss 20] [--out docs/partitions] [--keep]
 *
 * Each scenario ends with every node's log identical, 0 lost, 0 duplicated, and every sender reading
 * "delivered to N of N"; the JSON and markdown reports give delivery, repair and receipt times. Exits 1
 * when a scenario does not converge, 2 when network namespaces cannot be used here.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, release, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { integer } from "../src/cli/options.js";
import { Cluster, readPeers } from "./partitions/cluster.js";
import { EventRecorder } from "./partitions/events.js";
import { NetLab, namespacesUnavailable, removeLeftovers } from "./partitions/netlab.js";
import { markdown, type RunReport, type ScenarioResult } from "./partitions/report.js";
import { plan, type RunContext, runScenario, SCENARIO_NAMES, type ScenarioName } from "./partitions/scenarios.js";

const CHANNEL = "partitions";
// Chat here runs far over Waku's RLN budget (about 100 messages per member per 10 minutes): no quota.
const PARAMS = { senderQuotaPer600s: 0 };

interface Options {
  quick?: boolean;
  scenarios?: ScenarioName[];
  members?: number;
  faultSeconds?: number;
  loss: number;
  out: string;
  keep?: boolean;
}

function scenarioList(value: string): ScenarioName[] {
  const names = value.split(",").map((s) => s.trim());
  const bad = names.find((n) => !(SCENARIO_NAMES as readonly string[]).includes(n));
  if (bad !== undefined)
    throw new InvalidArgumentError(`unknown scenario "${bad}"; known: ${SCENARIO_NAMES.join(", ")}`);
  return names as ScenarioName[];
}

function parse(): Options {
  return new Command()
    .option("--quick", "the short version run by npm test: 3 members, 5 s faults, no baseline")
    .option("--scenarios <list>", `comma-separated, of ${SCENARIO_NAMES.join(", ")}`, scenarioList)
    .option("--members <n>", "members besides the owner (default 4, quick 3)", integer("--members", 2, 12))
    .option(
      "--fault-seconds <n>",
      "how long each fault holds (default 20, quick 5)",
      integer("--fault-seconds", 1, 600),
    )
    .option("--loss <percent>", "packet loss on the lossy member's link, each way", integer("--loss", 1, 90), 20)
    .option("--out <dir>", "where latest.json and latest.md go", "docs/partitions")
    .option("--keep", "keep the nodes' data dirs")
    .parse(process.argv)
    .opts<Options>();
}

function environment(): Record<string, string> {
  const nft = spawnSync("nft", ["-v"], { encoding: "utf8" }).stdout?.trim() ?? "?";
  return { node: process.version, kernel: release(), nftables: nft, cpus: `${cpus().length}` };
}

/** Waits until every node is connected to every other and each member knows its owner's peer. */
async function waitForMesh(cluster: Cluster, timeoutMs: number): Promise<void> {
  const want = cluster.nodes.length - 1;
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    const peers = await Promise.all(cluster.nodes.map((n) => readPeers(n).catch(() => ({ peers: -1, owner: false }))));
    if (peers.every((p) => p.peers >= want && p.owner)) return;
    last = cluster.nodes
      .map((n, i) => `${n.name} ${peers[i]!.peers} peers${peers[i]!.owner ? "" : ", no owner"}`)
      .join("; ");
    if (Date.now() > deadline) throw new Error(`the mesh did not form within ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface Resources {
  lab?: NetLab;
  cluster?: Cluster;
  recorder?: EventRecorder;
  root?: string;
  /** Keep the data dirs and node logs (asked for, or a scenario failed). */
  keep: boolean;
}

/** Synchronous last-resort teardown, for signals and exceptions: kills the nodes with their namespaces. */
function teardownNow(res: Resources): void {
  res.lab?.destroy();
  if (res.root !== undefined && !res.keep) rmSync(res.root, { recursive: true, force: true });
}

async function run(opts: Options, res: Resources, log: (l: string) => void): Promise<ScenarioResult[]> {
  const quick = opts.quick === true;
  const members = opts.members ?? (quick ? 3 : 4);
  const faultMs = (opts.faultSeconds ?? (quick ? 5 : 20)) * 1000;
  const names = ["owner", ...Array.from({ length: members }, (_, i) => `member${i + 1}`)];
  res.root = mkdtempSync(join(tmpdir(), "chorus-partitions-"));
  res.lab = NetLab.create(names);
  log(`partitions: ${names.length} namespaces (${res.lab.hosts.map((h) => `${h.name} ${h.meshAddress}`).join(", ")})`);
  res.cluster = new Cluster(res.lab, { root: res.root, channelId: CHANNEL, params: PARAMS, startTimeoutMs: 90_000 });
  await res.cluster.start();
  await waitForMesh(res.cluster, 60_000);
  res.recorder = new EventRecorder();
  await res.recorder.start(res.cluster.nodes, CHANNEL);
  log(`partitions: ${names.length} nodes up and connected`);
  const ctx: RunContext = {
    lab: res.lab,
    cluster: res.cluster,
    recorder: res.recorder,
    channelId: CHANNEL,
    timing: quick
      ? { beforeMs: 1_000, faultMs, afterMs: 1_000, intervalMs: 250, convergeTimeoutMs: 45_000 }
      : { beforeMs: 3_000, faultMs, afterMs: 2_000, intervalMs: 250, convergeTimeoutMs: 120_000 },
    acknowledged: new Set(),
    log,
  };
  const scenarios = opts.scenarios ?? SCENARIO_NAMES.filter((n) => !quick || n !== "baseline");
  const results: ScenarioResult[] = [];
  for (const name of scenarios) {
    const r = await runScenario(ctx, plan(name, res.cluster, opts.loss));
    results.push(r);
    log(
      `  ${r.converged ? "ok" : "FAILED"} ${r.name}: sent ${r.sent.before + r.sent.during + r.sent.after}, lost ${r.lost},` +
        ` duplicated ${r.duplicated}, logs identical ${r.logsConvergedMs} ms and N of N ${r.receiptsConvergedMs} ms after the heal`,
    );
    for (const p of r.problems) log(`    ${p}`);
  }
  if (res.recorder.broken.length > 0) log(`partitions: event streams broke: ${res.recorder.broken.join("; ")}`);
  return results;
}

async function main(): Promise<void> {
  const opts = parse();
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const unavailable = namespacesUnavailable();
  if (unavailable !== undefined) {
    log(`partitions: cannot run here: ${unavailable}`);
    process.exit(2);
  }
  const removed = removeLeftovers();
  if (removed.length > 0) log(`partitions: removed leftovers of an earlier run: ${removed.join(", ")}`);
  const res: Resources = { keep: opts.keep === true };
  const onSignal = (signal: NodeJS.Signals) => {
    log(`partitions: ${signal}, removing namespaces, links and nodes`);
    teardownNow(res);
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  process.once("exit", () => teardownNow(res));
  const started = Date.now();
  let results: ScenarioResult[] = [];
  try {
    results = await run(opts, res, log);
  } catch (err) {
    res.keep = true;
    throw err;
  } finally {
    await res.recorder?.stop();
    await res.cluster?.stop();
    // The nodes' logs and stores of a failed run are what reproduces it.
    if (!results.every((r) => r.converged)) res.keep = true;
    teardownNow(res);
    if (res.keep && res.root !== undefined) log(`partitions: data dirs and node logs kept in ${res.root}`);
    const remains = res.lab?.remains() ?? [];
    if (remains.length > 0) log(`partitions: could not remove ${remains.join(", ")}`);
  }
  const report: RunReport = {
    command: `npm run partitions${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    environment: environment(),
    setup: {
      nodes: `owner + ${res.cluster?.members.length} members, one network namespace each, libp2p gossipsub over TCP`,
      params: PARAMS,
      lossPercent: opts.loss,
    },
    passed: results.length > 0 && results.every((r) => r.converged),
    scenarios: results,
  };
  const out = resolve(opts.out);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(out, "latest.md"), markdown(report));
  log(`partitions: ${report.passed ? "passed" : "FAILED"}; report ${join(out, "latest.md")} and latest.json`);
  process.exit(report.passed ? 0 : 1);
}

main().catch((err: Error) => {
  process.stderr.write(`partitions: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
