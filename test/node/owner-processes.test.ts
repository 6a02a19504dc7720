// Real `chorus node` processes on loopback with a roster: an owner and two members, default parameters. The
// receipts of a message reach "2 of 2" over the owner path, with N = 2 from the first answer; members fall
// back to the topic while the owner is down and take the owner path again when it is back.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  exited,
  getJson,
  type LaunchedNode,
  launchMesh,
  launchNode,
  type NodeSpec,
  postMessage,
} from "../../src/cli/launch.js";
import { pollUntil } from "../support/poll.js";

const CHANNEL = "qa";
const root = mkdtempSync(join(tmpdir(), "chorus-owner-path-"));
const nodes: LaunchedNode[] = [];
const basePort = 30_000 + Math.floor(Math.random() * 20_000);
const POLL = { timeoutMs: 60_000, intervalMs: 50 };

interface Receipts {
  count: number;
  members: number;
  denominator: string;
  ackedBy: string[];
  notYet: string[];
}

const view = (node: LaunchedNode, id: string) =>
  getJson<{ state: string; receipts: Receipts }>(`${node.url}/v1/channels/${CHANNEL}/messages/${id}`);
const roster = (node: LaunchedNode) =>
  getJson<{ ownerPath: string; denominator: string; roster: { members: string[]; owner: string } | null }>(
    `${node.url}/v1/channels/${CHANNEL}/roster`,
  );
const ownerPathOf = (node: LaunchedNode, state: string) =>
  pollUntil(`${node.spec.name}'s owner path ${state}`, () => roster(node), {
    ...POLL,
    accept: (r) => r.ownerPath === state,
  });

before(async () => {
  await launchMesh({ root, channelId: CHANNEL, members: 2, basePort, roster: true }, nodes);
});

after(async () => {
  for (const n of nodes) n.child.kill("SIGKILL");
  await Promise.all(nodes.map((n) => exited(n.child)));
  rmSync(root, { recursive: true, force: true });
});

test("a message's receipts reach 2 of 2 over the owner path, N = 2 from the first GET", async () => {
  for (const n of nodes.slice(1)) await ownerPathOf(n, "up");
  const onOwner = await roster(nodes[0]!);
  assert.equal(onOwner.ownerPath, "self");
  assert.equal(onOwner.roster?.members.length, 3);
  assert.deepEqual((await roster(nodes[1]!)).roster, onOwner.roster, "members hold the owner's roster");
  const sender = nodes[1]!;
  const started = Date.now();
  const { messageId } = await postMessage(sender, CHANNEL, "who has this?");
  const first = await view(sender, messageId);
  assert.equal(first.receipts.members, 2, "N is the roster minus the sender from the first answer");
  assert.equal(first.receipts.denominator, "roster");
  const done = await pollUntil("2 of 2", () => view(sender, messageId), {
    ...POLL,
    accept: (v) => v.receipts.count === 2,
  });
  console.log(
    `# owner + 2 members on loopback: 2 of 2 ${Date.now() - started} ms after sending (first GET: N = ${first.receipts.members})`,
  );
  assert.equal(done.receipts.members, 2);
  assert.deepEqual(done.receipts.notYet, []);
  assert.equal(done.state, "acknowledged");
  const metrics = await (await fetch(`${nodes[0]!.url}/metrics`)).text();
  const accepted = Number(/^chorus_owner_reports_accepted_total\{[^}]*\} (\d+)/m.exec(metrics)?.[1]);
  assert.ok(accepted >= 2, `the owner accepted ${accepted} reports`);
});

test("members fall back to the topic while the owner is down, and take the owner path again when it is back", async () => {
  const owner = nodes[0]!;
  owner.child.kill("SIGTERM");
  await exited(owner.child);
  for (const n of nodes.slice(1)) await ownerPathOf(n, "down");
  // The roster still counts N; the topic carries the message and, in time, its receipts.
  const away = await postMessage(nodes[1]!, CHANNEL, "the owner is away");
  assert.equal((await view(nodes[1]!, away.messageId)).receipts.members, 2);
  nodes[0] = await launchNode(owner.spec as NodeSpec);
  for (const n of nodes.slice(1)) await ownerPathOf(n, "up");
  // The restarted owner signs a new roster version (a new ledger): members take it and report afresh.
  const back = await postMessage(nodes[2]!, CHANNEL, "the owner is back");
  const done = await pollUntil("2 of 2 after the owner's restart", () => view(nodes[2]!, back.messageId), {
    ...POLL,
    accept: (v) => v.receipts.count === 2,
  });
  assert.equal(done.receipts.members, 2);
});
