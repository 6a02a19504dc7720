// ChorusNode over the in-memory bus: delivery across nodes, catch-up from the owner, restart from the store.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Params } from "../../src/core/index.js";
import type { NodeEvent } from "../../src/node/channel.js";
import { ChorusNode, type Role } from "../../src/node/node.js";
import { MemoryStore, SqliteStore, type Store } from "../../src/storage/index.js";
import { MemoryBus } from "../../src/transport/memory-bus.js";
import { pollUntil } from "../support/poll.js";

const CHANNEL = "general";
const text = (s: string) => new TextEncoder().encode(s);
const dirs: string[] = [];
/** How long a test waits for the nodes to get somewhere on the in-memory bus. */
const WAIT = { timeoutMs: 10_000 };
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function makeNode(
  bus: MemoryBus,
  name: string,
  role: Role,
  store: Store = new MemoryStore(),
  params: Partial<Params> = {},
): ChorusNode {
  return new ChorusNode({
    store,
    transport: bus.createTransport(name),
    role,
    channels: [CHANNEL],
    newSecretKey: () => new Uint8Array(randomBytes(32)),
    random: Math.random,
    params: {
      repairRetryMs: 300,
      repairRequestDelayMs: 50,
      repairResponseDelayMs: 50,
      syncIntervalMs: 1_000,
      ...params,
    },
  });
}

test("messages sent on any of four nodes reach every node, with receipts back at the sender", async () => {
  const bus = new MemoryBus({ latency: { min: 1, max: 10 } });
  const nodes = [makeNode(bus, "owner", "owner"), ...["a", "b", "c"].map((n) => makeNode(bus, n, "member"))];
  for (const n of nodes) await n.start();
  const delivered = new Map<string, number>();
  for (const n of nodes) {
    n.on((e: NodeEvent) => {
      if (e.type === "delivered") delivered.set(n.senderId, (delivered.get(n.senderId) ?? 0) + 1);
    });
  }
  const sent = [];
  for (let i = 0; i < 30; i++) sent.push(nodes[1 + (i % 3)]!.channel(CHANNEL).send(text(`hello ${i}`), false));
  await pollUntil(
    "every node to deliver 30 messages",
    () => nodes.every((n) => n.countDelivered(CHANNEL) === 30),
    WAIT,
  );
  // Each node reported each message once.
  for (const n of nodes) assert.equal(delivered.get(n.senderId), 30);
  const first = sent[0]!;
  await pollUntil(
    "3 receipts on the first message",
    () => {
      const s = nodes[1]!.channel(CHANNEL).status(first.messageId);
      return s?.own === true && s.receipts.count === 3;
    },
    WAIT,
  );
  const owner = nodes[0]!.channel(CHANNEL).engine.receipts(sent[1]!.messageId);
  assert.ok(owner !== undefined && owner.count >= 1, "the owner tracks receipts of every member's messages");
  for (const n of nodes) await n.stop();
});

test("a member offline during 1,000 messages catches up from the owner in at most 3 round trips", async () => {
  const bus = new MemoryBus({ latency: 1 });
  // 1,000 messages at once from one member is far over Waku's RLN budget: the owner must not apply the
  // per-sender rate quota to the talker here. The sleeper's catch-up itself is exempt (fetched on purpose).
  const owner = makeNode(bus, "owner", "owner", new MemoryStore(), { senderQuotaPer600s: 0 });
  const talker = makeNode(bus, "talker", "member");
  const sleeper = makeNode(bus, "sleeper", "member");
  for (const n of [owner, talker, sleeper]) await n.start();
  talker.channel(CHANNEL).send(text("before"), false);
  await pollUntil("sleeper to get the first message", () => sleeper.countDelivered(CHANNEL) === 1, WAIT);
  bus.setOffline("sleeper", true);
  for (let i = 0; i < 1_000; i++) talker.channel(CHANNEL).send(text(`while away ${i}`), false);
  await pollUntil("the owner to hold all 1,001", () => owner.countDelivered(CHANNEL) === 1_001, { timeoutMs: 30_000 });
  bus.setOffline("sleeper", false);
  const report = await sleeper.catchUp(CHANNEL);
  assert.ok(report !== undefined, "no owner found");
  assert.ok(report.roundTrips <= 3, `catch-up took ${report.roundTrips} round trips`);
  assert.equal(sleeper.countDelivered(CHANNEL), 1_001);
  console.log(`# catch-up of 1,000 messages: ${report.roundTrips} round trip(s), ${report.ms} ms`);
  for (const n of [owner, talker, sleeper]) await n.stop();
});

test("a node restarted on its SQLite store delivers nothing twice and keeps its sequence numbers", async () => {
  const dir = mkdtempSync(join(tmpdir(), "chorus-node-"));
  dirs.push(dir);
  const path = join(dir, "member.sqlite");
  const bus = new MemoryBus({ latency: 1 });
  const other = makeNode(bus, "other", "member");
  let member = makeNode(bus, "member", "member", new SqliteStore({ path }));
  await other.start();
  await member.start();
  const firstRun = [];
  for (let i = 0; i < 20; i++) firstRun.push(member.channel(CHANNEL).send(text(`first run ${i}`), false));
  for (let i = 0; i < 20; i++) other.channel(CHANNEL).send(text(`from other ${i}`), false);
  await pollUntil("member to deliver 40", () => member.countDelivered(CHANNEL) === 40, WAIT);
  // Stop without a final snapshot, as a crash would: the store has messages the last snapshot does not.
  await member.transport.stop();
  const senderId = member.senderId;
  member = makeNode(bus, "member-again", "member", new SqliteStore({ path }));
  const events: NodeEvent[] = [];
  member.on((e) => events.push(e));
  await member.start();
  assert.equal(member.senderId, senderId, "identity survives the restart");
  assert.equal(member.countDelivered(CHANNEL), 40);
  assert.equal(events.filter((e) => e.type === "delivered").length, 0, "no delivery is reported twice");
  const next = member.channel(CHANNEL).send(text("after restart"), false);
  assert.equal(next.seq, 21, "sequence numbers continue, never reused");
  await pollUntil("other to deliver the new message", () => other.countDelivered(CHANNEL) === 41, WAIT);
  await member.stop();
  await other.stop();
});
