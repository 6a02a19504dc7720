// Chorus nodes in Waku mode on 127.0.0.1: an owner and two members over WakuTransport, SQLite stores, the REST
// API. Messages are delivered, a member that was away repairs what it missed, and every message carries its
// Waku message hash: in the store, in the REST views, and as the retrieval hint in later causal histories.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { createApi } from "../../src/api/index.js";
import { ChorusNode, type Role } from "../../src/node/node.js";
import { SqliteStore } from "../../src/storage/index.js";
import { WakuTransport } from "../../src/transport/waku-transport.js";
import { decodeMessage } from "../../src/wire/index.js";
import { call } from "../api/cluster.js";
import { pollUntil } from "../support/poll.js";

const CHANNEL = "qa";
const WAIT = { timeoutMs: 20_000 };
const dir = mkdtempSync(join(tmpdir(), "chorus-waku-node-"));
const running: { node: ChorusNode; api: FastifyInstance; store: SqliteStore }[] = [];
after(async () => {
  for (const r of running) {
    await r.api.close();
    await r.node.stop();
    r.store.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

async function start(name: string, role: Role, bootstrap: readonly string[] = []) {
  const store = new SqliteStore({ path: join(dir, `${name}.db`), synchronous: "NORMAL" });
  const transport = new WakuTransport({
    cluster: 42,
    shards: [0],
    listen: ["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/0/ws"],
    bootstrap,
  });
  const node = new ChorusNode({
    store,
    transport,
    role,
    channels: [CHANNEL],
    newSecretKey: () => new Uint8Array(randomBytes(32)),
    random: Math.random,
    params: { repairRetryMs: 300, repairRequestDelayMs: 50, repairResponseDelayMs: 50, syncIntervalMs: 1_000 },
  });
  await node.start();
  const api = createApi(node, { processMetrics: false, heartbeatMs: 200 });
  const entry = { node, api, store, transport };
  running.push(entry);
  return entry;
}

// biome-ignore lint/suspicious/noExplicitAny: REST bodies, whose shape the test asserts
async function log(api: FastifyInstance): Promise<any[]> {
  return (await call(api, "GET", `/v1/channels/${CHANNEL}/messages?limit=100`)).body.messages;
}

test("Chorus nodes in Waku mode deliver, repair, and show every message's Waku hash", async () => {
  const owner = await start("owner", "owner");
  const health = (await call(owner.api, "GET", "/v1/health")).body;
  assert.equal(health.transport, "waku");
  assert.equal(health.pubsubTopic, "/waku/2/rs/42/0");
  assert.deepEqual(health.contentTopics, { qa: "/chorus/1/qa/proto" });
  assert.ok(health.multiaddrs.some((a: string) => a.includes("/ws/")));
  assert.ok(health.multiaddrs.every((a: string) => a.endsWith(`/p2p/${health.peerId}`)));
  // Bootstrap over WebSocket, the way a browser-side Waku client would connect.
  const ws = health.multiaddrs.find((a: string) => a.includes("/ws/"));
  const alice = await start("alice", "member", [ws]);
  await pollUntil("alice and the owner to relay together", () => alice.transport.peers("x").length === 1, WAIT);

  const first = alice.node.channel(CHANNEL).send(new TextEncoder().encode("first"), false);
  const onOwner = await pollUntil(
    "the owner to deliver alice's message with its hash",
    async () => (await log(owner.api)).find((m) => m.messageId === first.messageId && m.retrievalHint),
    WAIT,
  );
  assert.match(onOwner.retrievalHint, /^[0-9a-f]{64}$/);
  // The sender learns the hash of its own message when it publishes it: the same one.
  const onAlice = await pollUntil(
    "alice to record her own message's hash",
    async () => (await log(alice.api)).find((m) => m.messageId === first.messageId && m.retrievalHint),
    WAIT,
  );
  assert.equal(onAlice.retrievalHint, onOwner.retrievalHint);
  const view = await call(owner.api, "GET", `/v1/channels/${CHANNEL}/messages/${first.messageId}`);
  assert.equal(view.body.retrievalHint, onOwner.retrievalHint);

  // Bob starts after "first" went out, so he never saw it on the relay; "second" names it in its causal
  // history, with its hash as retrieval hint, and Bob repairs the gap.
  const bob = await start("bob", "member", [ws]);
  await pollUntil("bob to relay with the owner", () => bob.transport.peers("x").length >= 1, WAIT);
  await pollUntil("the owner to see bob on the shard", () => owner.transport.peers("x").length === 2, WAIT);
  const second = alice.node.channel(CHANNEL).send(new TextEncoder().encode("second"), false);
  await pollUntil("bob to deliver both messages", () => bob.node.countDelivered(CHANNEL) >= 2, WAIT);
  const bobLog = await log(bob.api);
  assert.deepEqual(
    bobLog.filter((m) => m.content === "first" || m.content === "second").map((m) => m.content),
    ["first", "second"],
  );
  const stored = bob.store.getMessage(CHANNEL, second.messageId);
  assert.ok(stored !== undefined);
  const hint = decodeMessage(stored.bytes).causalHistory.find((h) => h.messageId === first.messageId)?.retrievalHint;
  assert.equal(Buffer.from(hint ?? []).toString("hex"), onOwner.retrievalHint);
  // What Bob got from the relay carries its hash; both sides computed the same one.
  const secondOnBob = bobLog.find((m) => m.messageId === second.messageId);
  const secondOnOwner = (await log(owner.api)).find((m) => m.messageId === second.messageId);
  assert.match(secondOnBob.retrievalHint, /^[0-9a-f]{64}$/);
  assert.equal(secondOnBob.retrievalHint, secondOnOwner.retrievalHint);
});
