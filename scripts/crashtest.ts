/**
 * Crash test: real `chorus node` processes on loopback (an owner and members, SQLite stores, libp2p),
 * messages sent through the REST API, and SIGKILL of a random node at a random moment, which includes
 * the middle of a store write. After every kill the node restarts on its data dir. At the end, every
 * message the API acknowledged (201) must be in every node's log exactly once.
 *
 *   npm run crashtest -- --runs 100 [--members 3] [--seed 1] [--messages-per-run 20]
 *
 * Prints runs, kills, lost and duplicated counts; exits 1 when anything was lost or duplicated.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import {
  deliveredIds,
  exited,
  type LaunchedNode,
  launchMesh,
  launchNode,
  type NodeSpec,
  postMessage,
} from "../src/cli/launch.js";
import { integer } from "../src/cli/options.js";
import { seededRandom } from "../src/core/prng.js";

const CHANNEL = "crash";

async function main(): Promise<void> {
  const opts = new Command()
    .option("--runs <n>", "kill-and-restart cycles", integer("--runs", 1, 100_000), 20)
    .option("--members <n>", "members besides the owner", integer("--members", 1, 10), 3)
    .option("--seed <n>", "random seed", integer("--seed", 0, 2 ** 31 - 1), 1)
    .option("--messages-per-run <n>", "messages sent between kills", integer("--messages-per-run", 1, 10_000), 20)
    .option(
      "--settle-seconds <n>",
      "how long repairs may take after the last kill",
      integer("--settle-seconds", 1, 3_600),
      180,
    )
    .option("--keep", "keep the data dirs")
    .parse(process.argv)
    .opts<{
      runs: number;
      members: number;
      seed: number;
      messagesPerRun: number;
      settleSeconds: number;
      keep?: boolean;
    }>();
  const random = seededRandom(opts.seed);
  // Hundreds of messages per member in minutes is far over Waku's RLN budget: no per-sender rate quota here.
  const PARAMS = { senderQuotaPer600s: 0 };
  const root = mkdtempSync(join(tmpdir(), "chorus-crash-"));
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(`crashtest: ${opts.runs} runs, owner + ${opts.members} members, seed ${opts.seed}, data in ${root}`);
  const basePort = 20_000 + Math.floor(random() * 20_000);
  const nodes: LaunchedNode[] = [];
  const started = Date.now();
  try {
    await launchMesh({ root, channelId: CHANNEL, members: opts.members, basePort, params: PARAMS }, nodes);
    const acknowledged = new Set<string>();
    let kills = 0;
    let failedSends = 0;
    for (let run = 0; run < opts.runs; run++) {
      const victimIndex = Math.floor(random() * nodes.length);
      const victim = nodes[victimIndex]!;
      // Kill after a random share of this run's sends, while requests are in flight.
      const killAfter = Math.floor(random() * opts.messagesPerRun);
      const sends: Promise<void>[] = [];
      for (let i = 0; i < opts.messagesPerRun; i++) {
        const sender = nodes[Math.floor(random() * nodes.length)]!;
        sends.push(
          postMessage(sender, CHANNEL, `run ${run} message ${i} from ${sender.spec.name}`).then(
            (r) => {
              acknowledged.add(r.messageId);
            },
            () => {
              failedSends++;
            },
          ),
        );
        if (i === killAfter) {
          victim.child.kill("SIGKILL");
          kills++;
        }
        await new Promise((r) => setTimeout(r, Math.floor(random() * 15)));
      }
      await Promise.all(sends);
      await exited(victim.child);
      nodes[victimIndex] = await launchNode(victim.spec as NodeSpec);
      if ((run + 1) % 10 === 0) log(`  run ${run + 1}: ${kills} kills, ${acknowledged.size} acknowledged sends`);
    }
    // Let repairs, resends and catch-up finish, then compare every log with what the API acknowledged.
    const deadline = Date.now() + opts.settleSeconds * 1_000;
    let lost = 0;
    let duplicated = 0;
    let perNode: string[] = [];
    for (;;) {
      lost = 0;
      duplicated = 0;
      perNode = [];
      for (const n of nodes) {
        const ids = await deliveredIds(n, CHANNEL);
        const seen = new Set(ids);
        const missing = [...acknowledged].filter((id) => !seen.has(id));
        duplicated += ids.length - seen.size;
        lost += missing.length;
        if (missing.length > 0)
          perNode.push(`${n.spec.name} lacks ${missing.length}: ${missing.slice(0, 5).join(" ")}`);
      }
      if ((lost === 0 && duplicated === 0) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 2_000));
    }
    for (const line of perNode) log(`  ${line}`);
    log(
      `crashtest: runs ${opts.runs}, kills ${kills}, acknowledged ${acknowledged.size}, failed sends ${failedSends}, ` +
        `lost ${lost}, duplicated ${duplicated}, ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    process.exitCode = lost === 0 && duplicated === 0 ? 0 : 1;
  } finally {
    for (const n of nodes) n.child.kill("SIGKILL");
    // Keep the evidence of a failed run.
    if (!opts.keep && process.exitCode !== 1) rmSync(root, { recursive: true, force: true });
  }
}

await main();
