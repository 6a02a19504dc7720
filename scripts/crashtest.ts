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
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { integer } from "../src/cli/options.js";

const BIN = resolve(fileURLToPath(import.meta.url), "../../bin/chorus.js");
const READY = /ready: (http:\/\/\S+?)\/ /;
const CHANNEL = "crash";

interface NodeProc {
  readonly name: string;
  readonly role: "owner" | "member";
  readonly dataDir: string;
  readonly bootstrap: readonly string[];
  child: ChildProcess;
  url: string;
}

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function launch(
  name: string,
  role: "owner" | "member",
  dataDir: string,
  bootstrap: readonly string[],
  listen: string,
): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((done, fail) => {
    const args = [BIN, "node", "--role", role, "--data-dir", dataDir, "--api-port", "0", "--channel", CHANNEL];
    args.push("--listen", listen);
    for (const b of bootstrap) args.push("--bootstrap", b);
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => fail(new Error(`${name} did not start in 60 s: ${err.slice(-500)}`)), 60_000);
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const m = READY.exec(out);
      if (m) {
        clearTimeout(timer);
        done({ child, url: m[1]! });
      }
    });
    child.stderr?.on("data", (c: Buffer) => {
      err += c.toString();
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`${name} exited (${code ?? signal}) before it was ready: ${err.slice(-500)}`));
    });
  });
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function fullLog(url: string): Promise<string[]> {
  const ids: string[] = [];
  let after = 0;
  for (;;) {
    const page = await json<{ messages: { messageId: string; position?: number }[]; next?: number | null }>(
      `${url}/v1/channels/${CHANNEL}/messages?limit=1000&after=${after}`,
    );
    ids.push(...page.messages.map((m) => m.messageId));
    if (page.messages.length < 1000) return ids;
    after += page.messages.length;
  }
}

async function main(): Promise<void> {
  const opts = new Command()
    .option("--runs <n>", "kill-and-restart cycles", integer("--runs", 1, 100_000), 20)
    .option("--members <n>", "members besides the owner", integer("--members", 1, 10), 3)
    .option("--seed <n>", "random seed", integer("--seed", 0, 2 ** 31 - 1), 1)
    .option("--messages-per-run <n>", "messages sent between kills", integer("--messages-per-run", 1, 10_000), 20)
    .option("--keep", "keep the data dirs")
    .parse(process.argv)
    .opts<{ runs: number; members: number; seed: number; messagesPerRun: number; keep?: boolean }>();
  const random = prng(opts.seed);
  const root = mkdtempSync(join(tmpdir(), "chorus-crash-"));
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(`crashtest: ${opts.runs} runs, owner + ${opts.members} members, seed ${opts.seed}, data in ${root}`);
  const basePort = 20_000 + Math.floor(random() * 20_000);
  const nodes: NodeProc[] = [];
  const started = Date.now();
  try {
    const ownerListen = `/ip4/127.0.0.1/tcp/${basePort}`;
    const owner = await launch("owner", "owner", join(root, "owner"), [], ownerListen);
    const health = await json<{ peerId: string }>(`${owner.url}/v1/health`);
    const bootstrap = [`${ownerListen}/p2p/${health.peerId}`];
    nodes.push({ name: "owner", role: "owner", dataDir: join(root, "owner"), bootstrap: [], ...owner });
    // Each member dials the owner and the members started before it, so the mesh survives any one kill.
    for (let i = 1; i <= opts.members; i++) {
      const dataDir = join(root, `member${i}`);
      const listen = `/ip4/127.0.0.1/tcp/${basePort + i}`;
      const peers = [...bootstrap];
      const p = await launch(`member${i}`, "member", dataDir, peers, listen);
      nodes.push({ name: `member${i}`, role: "member", dataDir, bootstrap: peers, ...p });
      bootstrap.push(`${listen}/p2p/${(await json<{ peerId: string }>(`${p.url}/v1/health`)).peerId}`);
    }
    const acknowledged = new Set<string>();
    let kills = 0;
    let failedSends = 0;
    for (let run = 0; run < opts.runs; run++) {
      const victim = nodes[Math.floor(random() * nodes.length)]!;
      // Kill after a random share of this run's sends, while requests are in flight.
      const killAfter = Math.floor(random() * opts.messagesPerRun);
      const sends: Promise<void>[] = [];
      for (let i = 0; i < opts.messagesPerRun; i++) {
        const sender = nodes[Math.floor(random() * nodes.length)]!;
        sends.push(
          json<{ messageId: string }>(`${sender.url}/v1/channels/${CHANNEL}/messages`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ content: `run ${run} message ${i} from ${sender.name}` }),
          }).then(
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
      await new Promise((r) =>
        victim.child.exitCode !== null || victim.child.signalCode !== null
          ? r(undefined)
          : victim.child.once("exit", r),
      );
      const listen = `/ip4/127.0.0.1/tcp/${basePort + nodes.indexOf(victim)}`;
      const again = await launch(victim.name, victim.role, victim.dataDir, victim.bootstrap, listen);
      victim.child = again.child;
      victim.url = again.url;
      if ((run + 1) % 10 === 0) log(`  run ${run + 1}: ${kills} kills, ${acknowledged.size} acknowledged sends`);
    }
    // Let repairs, resends and catch-up finish, then compare every log with what the API acknowledged.
    const deadline = Date.now() + 120_000;
    let lost = 0;
    let duplicated = 0;
    for (;;) {
      lost = 0;
      duplicated = 0;
      for (const n of nodes) {
        const ids = await fullLog(n.url);
        const seen = new Set(ids);
        duplicated += ids.length - seen.size;
        for (const id of acknowledged) if (!seen.has(id)) lost++;
      }
      if ((lost === 0 && duplicated === 0) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 2_000));
    }
    log(
      `crashtest: runs ${opts.runs}, kills ${kills}, acknowledged ${acknowledged.size}, failed sends ${failedSends}, ` +
        `lost ${lost}, duplicated ${duplicated}, ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    process.exitCode = lost === 0 && duplicated === 0 ? 0 : 1;
  } finally {
    for (const n of nodes) n.child.kill("SIGKILL");
    if (!opts.keep) rmSync(root, { recursive: true, force: true });
  }
}

await main();
