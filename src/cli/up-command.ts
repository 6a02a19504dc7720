import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { integer } from "./options.js";

const BIN = resolve(fileURLToPath(import.meta.url), "../../../bin/chorus.js");
const READY = /ready: (http:\/\/\S+?)\/ /;

interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly url: string;
}

/** Starts `chorus node` as a child process and resolves with its API URL once it prints that it is ready. */
function startNode(name: string, args: readonly string[], log: (line: string) => void): Promise<Child> {
  return new Promise((resolveChild, reject) => {
    const child = spawn(process.execPath, [BIN, "node", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let buffered = "";
    const timeout = setTimeout(() => reject(new Error(`${name} did not start within 60 s`)), 60_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = READY.exec(buffered);
      if (match) {
        clearTimeout(timeout);
        resolveChild({ name, process: child, url: match[1]! });
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) if (line.trim()) log(`[${name}] ${line}`);
    });
    child.once("exit", (code) => {
      clearTimeout(timeout);
      reject(new Error(`${name} exited with code ${code} before it was ready`));
    });
  });
}

/** Runs an owner and `members` members as separate processes on loopback, until Ctrl-C. */
export async function runUp(options: { dataDir: string; members: number; channel: string }): Promise<void> {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const children: Child[] = [];
  const stopAll = async () => {
    for (const c of children) c.process.kill("SIGTERM");
    await Promise.all(
      children.map((c) => (c.process.exitCode === null ? new Promise((r) => c.process.once("exit", r)) : undefined)),
    );
  };
  process.once("SIGINT", () => {
    log("\nstopping every node...");
    stopAll().then(() => process.exit(0));
  });
  // Quicker syncs than the defaults, so that "delivered to k of N" fills in while you watch.
  const common = ["--api-port", "0", "--channel", options.channel, "--param", "syncIntervalMs=15000"];
  const owner = await startNode(
    "owner",
    ["--role", "owner", "--data-dir", join(options.dataDir, "owner"), ...common],
    log,
  );
  children.push(owner);
  const health = (await (await fetch(`${owner.url}/v1/health`)).json()) as { multiaddrs: string[]; peerId: string };
  const bootstrap = health.multiaddrs.map((a) => (a.includes("/p2p/") ? a : `${a}/p2p/${health.peerId}`));
  const members = await Promise.all(
    Array.from({ length: options.members }, (_, i) =>
      startNode(
        `member${i + 1}`,
        [
          "--role",
          "member",
          "--data-dir",
          join(options.dataDir, `member${i + 1}`),
          ...bootstrap.flatMap((b) => ["--bootstrap", b]),
          ...common,
        ],
        log,
      ),
    ),
  );
  children.push(...members);
  log(`Chorus on loopback: channel "${options.channel}", data in ${options.dataDir}`);
  for (const c of children) log(`  ${c.name.padEnd(8)} ${c.url}/`);
  log("Open two of these pages, write in one, watch the receipts in the other. Ctrl-C stops every node.");
}

export function registerUpCommand(program: Command): void {
  program
    .command("up")
    .description("start an owner and members as separate processes on loopback, each with its web UI")
    .option("--data-dir <dir>", "parent folder of the nodes' data dirs", ".chorus/demo")
    .option("--members <n>", "number of members besides the owner", integer("--members", 1, 20), 3)
    .option("--channel <id>", "channel every node joins", "general")
    .action(async (opts: { dataDir: string; members: number; channel: string }) => {
      await runUp(opts);
    });
}
