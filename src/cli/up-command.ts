import { join } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { DataDirLockedError, lockDataDir } from "../storage/index.js";
import { dialAddress, exited, type LaunchedNode, launchNode, type NodeSpec, rosterSpecs } from "./launch.js";
import { fraction, integer } from "./options.js";

export interface UpOptions {
  readonly dataDir: string;
  readonly members: number;
  readonly channel: string;
  /** The owner's REST API listens on basePort, member i's on basePort + i; libp2p on basePort + 100 + i. */
  readonly basePort: number;
  /** Start a node again when it dies. */
  readonly restart: boolean;
  /** Share of incoming and outgoing messages every node drops (`chorus node --loss`), 0 for none. */
  readonly loss: number;
  /** Waku relay by default (the Status profile: Communities run on Waku), or plain libp2p gossipsub. */
  readonly transport?: "waku" | "libp2p";
}

export const DEFAULT_BASE_PORT = 8080;
/** libp2p ports sit this far above the API ports, so that a restarted node is found where it was. */
const P2P_OFFSET = 100;
/** How long stopping waits for a node to close its store before it kills the node. */
const STOP_GRACE_MS = 10_000;
/** A node that dies this many times within RESTART_WINDOW_MS is left down: something is wrong with it. */
const MAX_QUICK_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

function describeExit(child: LaunchedNode["child"]): string {
  return child.signalCode !== null ? `killed by ${child.signalCode}` : `exit code ${child.exitCode}`;
}

/**
 * Runs an owner and `members` members as separate processes on loopback until SIGINT or SIGTERM (both stop
 * every node, which closes its store, then exit). A node that dies is reported, and started again with
 * `restart`.
 */
export async function runUp(options: UpOptions): Promise<void> {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  // The parent folder is locked too, so that a second `chorus up` fails before it touches any node's store.
  const lock = lockDataDir(options.dataDir);
  const nodes = new Map<string, LaunchedNode>();
  const restarts = new Map<string, number[]>();
  let stopping = false;

  const stopAll = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`\n${signal}: stopping every node...`);
    const running = [...nodes.values()].filter((n) => n.child.exitCode === null && n.child.signalCode === null);
    for (const n of running) n.child.kill("SIGTERM");
    const killer = setTimeout(() => {
      for (const n of running) if (n.child.exitCode === null) n.child.kill("SIGKILL");
    }, STOP_GRACE_MS);
    await Promise.all(running.map((n) => exited(n.child)));
    clearTimeout(killer);
    for (const n of running) if (n.child.exitCode !== 0) log(`  ${n.spec.name} stopped with ${describeExit(n.child)}`);
    lock.release();
    log("every node stopped");
    process.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stopAll(signal));

  const watch = (node: LaunchedNode) => {
    nodes.set(node.spec.name, node);
    node.child.stderr?.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) if (line.trim()) log(`[${node.spec.name}] ${line}`);
    });
    node.child.once("exit", () => {
      if (stopping) return;
      log(`[${node.spec.name}] exited unexpectedly (${describeExit(node.child)})`);
      if (!options.restart) {
        log(`  ${node.spec.name} stays down; run chorus up with --restart to have dead nodes started again`);
        return;
      }
      const now = Date.now();
      const recent = (restarts.get(node.spec.name) ?? []).filter((t) => now - t < RESTART_WINDOW_MS);
      if (recent.length >= MAX_QUICK_RESTARTS) {
        log(`  ${node.spec.name} died ${recent.length} times in a minute; not restarting it again`);
        return;
      }
      restarts.set(node.spec.name, [...recent, now]);
      log(`  restarting ${node.spec.name}...`);
      launchNode(node.spec).then(
        (again) => {
          if (stopping) again.child.kill("SIGTERM");
          watch(again);
          log(`[${node.spec.name}] running again: ${again.url}/ (pid ${again.child.pid})`);
        },
        (err: Error) => log(`  ${node.spec.name} did not restart: ${err.message}`),
      );
    });
  };
  try {
    await launchAll(options, watch, log);
  } catch (err) {
    // SIGINT or SIGTERM while nodes were starting stops them too; that is not an error worth a stack trace.
    if (stopping) return;
    await stopAll("start failed");
    throw err;
  }
}

async function launchAll(options: UpOptions, watch: (node: LaunchedNode) => void, log: (line: string) => void) {
  // Quicker syncs than the defaults: receipts ride the topic whenever the owner is away.
  const params: Record<string, number | boolean> = { syncIntervalMs: 15_000 };
  const channels = [options.channel];
  const { basePort } = options;
  const transport = options.transport ?? "waku";
  // The channel's roster is the nodes started here: the owner lists the members, members check its signature.
  const memberDirs = Array.from({ length: options.members }, (_, i) => join(options.dataDir, `member${i + 1}`));
  const roster = rosterSpecs(join(options.dataDir, "owner"), memberDirs);
  const listen = (i: number) => `/ip4/127.0.0.1/tcp/${basePort + P2P_OFFSET + i}`;
  const ownerSpec: NodeSpec = {
    name: "owner",
    role: "owner",
    dataDir: join(options.dataDir, "owner"),
    channels,
    params,
    members: roster.members,
    apiPort: basePort,
    listen: listen(0),
    loss: options.loss,
    transport,
  };
  const owner = await launchNode(ownerSpec);
  watch(owner);
  const bootstrap = [await dialAddress(owner)];
  const members = await Promise.all(
    memberDirs.map((dataDir, i) =>
      launchNode({
        name: `member${i + 1}`,
        role: "member",
        dataDir,
        channels,
        bootstrap,
        params,
        owner: roster.owner,
        apiPort: basePort + i + 1,
        listen: listen(i + 1),
        loss: options.loss,
        transport,
      }),
    ),
  );
  for (const m of members) watch(m);
  log(`Chorus on loopback over ${transport}: channel "${options.channel}", data in ${options.dataDir}`);
  for (const n of [owner, ...members]) log(`  ${n.spec.name.padEnd(8)} ${n.url}/  (pid ${n.child.pid})`);
  if (options.loss > 0) {
    log(
      `Every node drops ${Math.round(options.loss * 100)}% of the messages it sends and receives (PUT /v1/faults changes it).`,
    );
  }
  log("Open two of these pages, write in one, watch the receipts in the other. Ctrl-C stops every node.");
}

function upTransport(value: string): "waku" | "libp2p" {
  if (value !== "waku" && value !== "libp2p")
    throw new InvalidArgumentError(`--transport must be "waku" or "libp2p", got "${value}"`);
  return value;
}

export function registerUpCommand(program: Command): void {
  program
    .command("up")
    .description("start an owner and members as separate processes on loopback, each with its web UI")
    .option("--data-dir <dir>", "parent folder of the nodes' data dirs", ".chorus/demo")
    .option("--members <n>", "number of members besides the owner", integer("--members", 1, 20), 3)
    .option("--channel <id>", "channel every node joins", "general")
    .option(
      "--base-port <n>",
      "owner's REST API and web UI on this port, member i on port + i, libp2p on port + 100 + i",
      integer("--base-port", 1024, 65_535 - P2P_OFFSET - 20),
      DEFAULT_BASE_PORT,
    )
    .option("--restart", "start a node again when it dies", false)
    .option(
      "--loss <p>",
      "share of messages each node drops, in and out, to watch gaps open and close",
      fraction("--loss"),
      0,
    )
    .option("--transport <kind>", "waku (Waku relay, the default) or libp2p (plain gossipsub)", upTransport, "waku")
    .action(async (opts: UpOptions) => {
      try {
        await runUp(opts);
      } catch (err) {
        if (!(err instanceof DataDirLockedError)) throw err;
        process.stderr.write(`chorus up: ${err.message}\n`);
        process.exit(2);
      }
    });
}
