// `chorus up` as a QA engineer runs it: fixed ports, one process per folder, SIGTERM stops everything, a dead
// node is reported and restarted, and a clean stop loses nothing.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import { exited, getJson } from "../../src/cli/launch.js";
import { pollUntil } from "../support/poll.js";

const BIN = resolve("bin/chorus.js");
const root = mkdtempSync(join(tmpdir(), "chorus-up-"));
const dataDir = join(root, "demo");
const basePort = 20_000 + Math.floor(Math.random() * 20_000);
const started: ChildProcess[] = [];
const POLL = { timeoutMs: 60_000, intervalMs: 250 };

after(async () => {
  for (const c of started) c.kill("SIGKILL");
  await Promise.all(started.map((c) => exited(c)));
  rmSync(root, { recursive: true, force: true });
});

function up(...extra: string[]) {
  const child = spawn(
    process.execPath,
    [BIN, "up", "--data-dir", dataDir, "--members", "2", "--base-port", String(basePort), ...extra],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  started.push(child);
  let out = "";
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on("data", (c: Buffer) => {
    out += c.toString();
  });
  return { child, output: () => out };
}

function pids(output: string): number[] {
  return [...output.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const url = (i: number) => `http://127.0.0.1:${basePort + i}`;

async function logContents(i: number): Promise<string[]> {
  const page = await getJson<{ messages: { content: string }[] }>(`${url(i)}/v1/channels/general/messages?limit=1000`);
  return page.messages.map((m) => m.content);
}

test("chorus up: fixed ports, a second start refused, a dead node restarted, SIGTERM leaves no process behind and loses nothing", async () => {
  const first = up("--restart");
  await pollUntil("chorus up to list its nodes", first.output, { ...POLL, accept: (o) => o.includes("Open two") });
  const health = await getJson<{ role: string }>(`${url(0)}/v1/health`);
  assert.equal(health.role, "owner", "the owner's API is on the base port");
  assert.equal((await getJson<{ role: string }>(`${url(2)}/v1/health`)).role, "member");
  const [upPid, ownerPid, member1Pid, member2Pid] = [first.child.pid!, ...pids(first.output())];
  assert.ok(ownerPid && member1Pid && member2Pid, `three node pids in ${first.output()}`);

  // A second `up` on the same folder and a `chorus node` on a member's folder fail at once, naming the holder.
  const second = spawnSync(process.execPath, [BIN, "up", "--data-dir", dataDir, "--base-port", String(basePort + 50)], {
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(second.status, 2, second.stderr);
  assert.match(second.stderr, new RegExp(`data folder ${dataDir} is in use by process ${upPid}`));
  const node = spawnSync(process.execPath, [BIN, "node", "--data-dir", join(dataDir, "member1"), "--api-port", "0"], {
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(node.status, 2, node.stderr);
  assert.match(node.stderr, new RegExp(`member1 is in use by process ${member1Pid}`));
  assert.doesNotMatch(node.stderr, /\n\s+at /, "no stack trace");

  // A member killed with SIGKILL is reported and started again on the same port (its stale lock is no obstacle).
  process.kill(member1Pid, "SIGKILL");
  await pollUntil("member1 to be restarted", first.output, {
    ...POLL,
    accept: (o) => o.includes("[member1] running again"),
  });
  assert.match(first.output(), /\[member1\] exited unexpectedly \(killed by SIGKILL\)/);
  const again = pids(first.output()).at(-1)!;
  assert.notEqual(again, member1Pid);
  await pollUntil("member1's API to answer again", () => getJson(`${url(1)}/v1/health`), POLL);

  const sent = await getJson<{ messageId: string }>(`${url(2)}/v1/channels/general/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ content: "kept across a SIGTERM" }),
  });
  assert.ok(sent.messageId);
  await pollUntil("the owner to hold member2's message", () => logContents(0), {
    ...POLL,
    accept: (log) => log.includes("kept across a SIGTERM"),
  });

  // SIGTERM stops every node (each closes its store) and then `up` itself, with status 0.
  first.child.kill("SIGTERM");
  await exited(first.child);
  assert.equal(first.child.exitCode, 0, first.output());
  for (const pid of [ownerPid, again, member2Pid]) assert.equal(alive(pid), false, `node pid ${pid} is gone`);
  assert.match(first.output(), /every node stopped/);

  // The next start resumes from the stores: nothing sent before the stop is lost, on any node.
  const next = up();
  await pollUntil("chorus up to start again", next.output, { ...POLL, accept: (o) => o.includes("Open two") });
  for (const i of [0, 1, 2]) {
    await pollUntil(`node ${i} to hold the message after the restart`, () => logContents(i), {
      ...POLL,
      accept: (log) => log.includes("kept across a SIGTERM"),
    });
  }
  next.child.kill("SIGINT");
  await exited(next.child);
  assert.equal(next.child.exitCode, 0, next.output());
  for (const pid of pids(next.output())) assert.equal(alive(pid), false, `node pid ${pid} is gone after SIGINT`);
});
