// Real `chorus node` processes on loopback: libp2p gossipsub, SQLite stores, the REST API.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  deliveredIds,
  exited,
  getJson,
  type LaunchedNode,
  launchMesh,
  launchNode,
  type NodeSpec,
  postMessage,
} from "../../src/cli/launch.js";
import { DEFAULT_PARAMS } from "../../src/core/params.js";
import { pollUntil, sleep } from "../support/poll.js";

const CHANNEL = "qa";
const root = mkdtempSync(join(tmpdir(), "chorus-processes-"));
const nodes: LaunchedNode[] = [];
// Faster timers than the defaults so that a test waits seconds, not minutes. Members here send hundreds of
// messages in seconds, far over Waku's RLN budget: the per-sender rate quota is off.
const params = {
  syncIntervalMs: 3_000,
  resendAfterMs: 3_000,
  repairRetryMs: 1_000,
  controlBudgetPer600s: 200,
  senderQuotaPer600s: 0,
};
const basePort = 30_000 + Math.floor(Math.random() * 20_000);

// Nodes are separate processes answering over HTTP: poll them gently, and give restarts time.
const POLL = { timeoutMs: 60_000, intervalMs: 250 };

async function restart(index: number): Promise<void> {
  const old = nodes[index]!;
  await exited(old.child);
  nodes[index] = await launchNode(old.spec as NodeSpec);
}

before(async () => {
  await launchMesh({ root, channelId: CHANNEL, members: 3, basePort, params }, nodes);
});

after(async () => {
  for (const n of nodes) n.child.kill("SIGKILL");
  await Promise.all(nodes.map((n) => exited(n.child)));
  rmSync(root, { recursive: true, force: true });
});

test("messages sent on each of four nodes reach all four, with receipts counting every member", async () => {
  const sent: { messageId: string }[] = [];
  for (const n of nodes) sent.push(await postMessage(n, CHANNEL, `hello from ${n.spec.name}`));
  for (const n of nodes) {
    await pollUntil(`${n.spec.name} to deliver 4`, () => deliveredIds(n, CHANNEL), {
      ...POLL,
      accept: (ids) => ids.length >= 4,
    });
  }
  const first = sent[1]!;
  const status = await pollUntil(
    "member1's first message to be delivered to 3 of 3",
    () =>
      getJson<{ receipts: { count: number; members: number } }>(
        `${nodes[1]!.url}/v1/channels/${CHANNEL}/messages/${first.messageId}`,
      ),
    { ...POLL, accept: (s) => s.receipts.count >= 3 },
  );
  assert.equal(status.receipts.count, 3);
});

test("a member offline while 1,000 messages are sent catches up from the owner", async () => {
  const sleeper = 3;
  nodes[sleeper]!.child.kill("SIGTERM");
  await exited(nodes[sleeper]!.child);
  const before = (await deliveredIds(nodes[1]!, CHANNEL)).length;
  const talkers = [nodes[1]!, nodes[2]!];
  for (let i = 0; i < 1_000; i += 20) {
    await Promise.all(
      Array.from({ length: 20 }, (_, k) => postMessage(talkers[(i + k) % 2]!, CHANNEL, `while away ${i + k}`)),
    );
  }
  const expected = before + 1_000;
  await pollUntil("the owner to hold every message", () => deliveredIds(nodes[0]!, CHANNEL), {
    ...POLL,
    accept: (ids) => ids.length >= expected,
  });
  const started = Date.now();
  await restart(sleeper);
  const ids = await pollUntil("the returning member to catch up", () => deliveredIds(nodes[sleeper]!, CHANNEL), {
    ...POLL,
    accept: (list) => list.length >= expected,
  });
  const caughtUpMs = Date.now() - started;
  assert.equal(new Set(ids).size, ids.length, "no message is delivered twice");
  // The returning member gets what it missed from the owner's history service two ways: the catch-up (pages
  // after its last delivery, retried until the owner is reachable) and gap requests once syncs and resends show
  // it what it lacks. Which finishes first depends on when its connections come back: under load the gap
  // requests may fill everything first, and the catch-up, still to come, then fetches only its overlap. Either
  // way the catch-up finishes, in a few pages, and every missed message came by asking.
  const counter = (metrics: string, name: string) =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, "m").exec(metrics)?.[1] ?? 0);
  const metrics = await pollUntil(
    "the returning member's catch-up to finish",
    async () => (await fetch(`${nodes[sleeper]!.url}/metrics`)).text(),
    { ...POLL, accept: (text) => counter(text, "chorus_catchups_total") >= 1 },
  );
  const roundTrips = counter(metrics, "chorus_catchup_round_trips_total");
  const fetched = counter(metrics, "chorus_catchup_messages_total");
  const repaired = counter(metrics, "chorus_repairs_total");
  console.log(
    `# catch-up after 1,000 missed messages: ${roundTrips} round trip(s), ${fetched} messages in pages, ${repaired} repaired as gaps; all held ${caughtUpMs} ms from restart (process start included)`,
  );
  assert.ok(roundTrips >= 1 && roundTrips <= 3, `catch-up took ${roundTrips} round trips`);
  // Only a sender's resends (of its newest ackFilterCheckDepth messages, to a member whose mark shows it lacks
  // them) can arrive before anything told the member they were missing; everything else came in a page or as
  // the repair of a known gap (a message in both counts twice, which only helps).
  const unasked = talkers.length * DEFAULT_PARAMS.ackFilterCheckDepth;
  assert.ok(
    fetched + repaired >= 1_000 - unasked,
    `only ${fetched} messages came in catch-up pages and ${repaired} as repaired gaps, of 1,000 missed`,
  );
});

test("a member killed with SIGKILL while sending restarts with nothing lost and nothing duplicated", async () => {
  const victim = 2;
  const acknowledged: string[] = [];
  const sends = Array.from({ length: 40 }, (_, i) =>
    postMessage(nodes[victim]!, CHANNEL, `burst ${i}`).then(
      (r) => acknowledged.push(r.messageId),
      () => undefined,
    ),
  );
  await sleep(30);
  nodes[victim]!.child.kill("SIGKILL");
  await Promise.all(sends);
  await restart(victim);
  for (const n of nodes) {
    const ids = await pollUntil(`${n.spec.name} to hold every acknowledged message`, () => deliveredIds(n, CHANNEL), {
      ...POLL,
      accept: (list) => acknowledged.every((id) => list.includes(id)),
    });
    assert.equal(new Set(ids).size, ids.length, `${n.spec.name} delivered a message twice`);
  }
});

test("members keep talking while the owner is down, and the owner catches up when it is back", async () => {
  nodes[0]!.child.kill("SIGTERM");
  await exited(nodes[0]!.child);
  const sent: { messageId: string }[] = [];
  for (let i = 0; i < 10; i++) sent.push(await postMessage(nodes[1 + (i % 3)]!, CHANNEL, `owner away ${i}`));
  for (const n of nodes.slice(1)) {
    await pollUntil(
      `${n.spec.name} to get the messages sent while the owner was away`,
      () => deliveredIds(n, CHANNEL),
      { ...POLL, accept: (ids) => sent.every((s) => ids.includes(s.messageId)) },
    );
  }
  await restart(0);
  // The owner learns of the gap from the members' next messages and repairs it from them.
  for (const n of nodes.slice(1)) await postMessage(n, CHANNEL, `owner is back, says ${n.spec.name}`);
  await pollUntil("the owner to repair what it missed", () => deliveredIds(nodes[0]!, CHANNEL), {
    ...POLL,
    timeoutMs: 90_000,
    accept: (ids) => sent.every((s) => ids.includes(s.messageId)),
  });
});
