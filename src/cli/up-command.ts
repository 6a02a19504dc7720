import { join } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { dialAddress, exited, type LaunchedNode, launchNode, rosterSpecs } from "./launch.js";
import { integer } from "./options.js";

/** Runs an owner and `members` members as separate processes on loopback, until Ctrl-C. */
export async function runUp(options: UpOptions): Promise<void> {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const nodes: LaunchedNode[] = [];
  let stopping = false;
  const stopAll = async () => {
    for (const n of nodes) n.child.kill("SIGTERM");
    await Promise.all(nodes.map((n) => exited(n.child)));
  };
  process.once("SIGINT", () => {
    stopping = true;
    log("\nstopping every node...");
    stopAll().then(() => process.exit(0));
  });
  try {
    await launchAll(options, nodes, log);
  } catch (err) {
    // Ctrl-C while nodes were starting stops them too; that is not an error worth a stack trace.
    if (stopping) return;
    await stopAll();
    throw err;
  }
}

/** `transport`: Waku relay by default (the Status profile: Communities run on Waku), or plain libp2p gossipsub. */
interface UpOptions {
  dataDir: string;
  members: number;
  channel: string;
  transport?: "waku" | "libp2p";
}

async function launchAll(options: UpOptions, nodes: LaunchedNode[], log: (line: string) => void): Promise<void> {
  // Quicker syncs than the defaults: receipts ride the topic whenever the owner is away.
  const params = { syncIntervalMs: 15_000 };
  const channels = [options.channel];
  const transport = options.transport ?? "waku";
  // The channel's roster is the nodes started here: the owner lists the members, members check its signature.
  const memberDirs = Array.from({ length: options.members }, (_, i) => join(options.dataDir, `member${i + 1}`));
  const roster = rosterSpecs(join(options.dataDir, "owner"), memberDirs);
  const owner = await launchNode({
    name: "owner",
    role: "owner",
    dataDir: join(options.dataDir, "owner"),
    channels,
    params,
    members: roster.members,
    transport,
  });
  nodes.push(owner);
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
        transport,
      }),
    ),
  );
  nodes.push(...members);
  for (const n of nodes) {
    n.child.stderr?.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) if (line.trim()) log(`[${n.spec.name}] ${line}`);
    });
  }
  log(`Chorus on loopback over ${transport}: channel "${options.channel}", data in ${options.dataDir}`);
  for (const n of nodes) log(`  ${n.spec.name.padEnd(8)} ${n.url}/`);
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
    .option("--transport <kind>", "waku (Waku relay, the default) or libp2p (plain gossipsub)", upTransport, "waku")
    .action(async (opts: UpOptions) => {
      await runUp(opts);
    });
}
