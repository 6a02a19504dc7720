// Catch-up order of spec 19.4 in Waku mode: the owner's history service first, a Waku store v3 query on the
// channel's content topic and time range as the fallback. Here no owner is reachable: a member that was
// away while another member sent comes back connected only to a Waku store node (a WakuTransport with the
// Waku services, no Chorus history service), and fills its gap from that store.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, test } from "node:test";
import { ChorusNode, type Role } from "../../../src/node/node.js";
import { WakuServices } from "../../../src/node/waku/services.js";
import { WakuStoreClient } from "../../../src/node/waku/store-client.js";
import { MemoryStore, WakuArchive } from "../../../src/storage/index.js";
import { WakuTransport } from "../../../src/transport/waku-transport.js";
import { pollUntil } from "../../support/poll.js";
import { CLUSTER, type ServiceNode, SHARD, serviceNode, WAIT_MS } from "./js-waku-light.js";

const CHANNEL = "qa";
const WAIT = { timeoutMs: WAIT_MS };
const running: { stop(): Promise<void> }[] = [];
after(async () => {
  for (const r of running.reverse()) await r.stop();
});

function member(store: MemoryStore, bootstrap: string | undefined, role: Role = "member") {
  const transport = new WakuTransport({
    cluster: CLUSTER,
    shards: [SHARD],
    listen: ["/ip4/127.0.0.1/tcp/0"],
    bootstrap: bootstrap === undefined ? [] : [bootstrap],
  });
  const node = new ChorusNode({
    store,
    transport,
    role,
    ...(role === "owner" ? { wakuServices: new WakuServices(transport, { archive: WakuArchive.inMemory() }) } : {}),
    channels: [CHANNEL],
    newSecretKey: () => new Uint8Array(randomBytes(32)),
    random: Math.random,
    // No sync messages or peer repair in the way: what the member gets back, the catch-up brought.
    params: { syncIntervalMs: 600_000, repairRetryMs: 600_000 },
    storeFallback: new WakuStoreClient(transport),
  });
  return { node, transport };
}

async function started(m: ReturnType<typeof member>) {
  await m.node.start();
  running.push(m.node);
  return m;
}

test("with no owner reachable, a returning member catches up from a Waku store node", async () => {
  const wakuStore: ServiceNode = await serviceNode();
  running.push(wakuStore);
  const tcp = wakuStore.transport.multiaddrs().find((a) => !a.includes("/ws")) as string;
  const aliceStore = new MemoryStore();
  const bobStore = new MemoryStore();
  const alice = await started(member(aliceStore, tcp));
  let bob = await started(member(bobStore, tcp));
  await pollUntil(
    "both members in the store node's relay mesh",
    () => wakuStore.transport.meshPeers().length === 2,
    WAIT,
  );

  const text = (s: string) => new TextEncoder().encode(s);
  const first = alice.node.channel(CHANNEL).send(text("before"), false);
  await pollUntil("bob to deliver the first message", () => bob.node.getMessage(CHANNEL, first.messageId), WAIT);

  // Bob goes away; alice sends three more, which only the store node keeps (alice leaves too).
  await bob.node.stop();
  const missed = ["while", "bob", "was away"].map((s) => alice.node.channel(CHANNEL).send(text(s), false).messageId);
  await pollUntil(
    "the store node to archive alice's four messages",
    () => wakuStore.services.archive.size() === 4,
    WAIT,
  );
  await alice.node.stop();

  // Bob comes back with the same store, connected to the store node alone: no peer speaks the Chorus
  // history protocol, so the catch-up turns to the Waku store.
  bob = await started(member(bobStore, tcp));
  const client = new WakuStoreClient(bob.transport);
  await pollUntil(
    "bob to know the store node as a store peer",
    async () => (await client.storePeers()).length === 1,
    WAIT,
  );
  const queries = wakuStore.services.stats.storeQueries;
  const report = await bob.node.catchUp(CHANNEL);
  assert.equal(report?.source, "waku-store");
  assert.equal(wakuStore.services.stats.storeQueries, queries + 1, "one page: one query");
  // The store answers from ten minutes before bob's last delivery: the message he had comes back too.
  assert.equal(report?.messages, 4);
  const log = bob.node.listDelivered(CHANNEL, 0, 100).map((m) => m.messageId);
  assert.deepEqual(log, [first.messageId, ...missed]);
  assert.equal(bob.node.channel(CHANNEL).missingCount(), 0);
  assert.equal(bob.node.catchUps.at(-1)?.source, "waku-store");
});

test("the owner's history comes first: an owner that is also a Waku store answers catch-up by history", async () => {
  const owner = await started(member(new MemoryStore(), undefined, "owner"));
  const address = owner.transport.multiaddrs()[0] as string;
  const alice = await started(member(new MemoryStore(), address));
  await pollUntil("alice in the owner's relay mesh", () => owner.transport.meshPeers().length === 1, WAIT);
  // And the owner on alice's shard as she sees it: a publish before that reaches no one.
  await pollUntil("alice to see the owner on the shard", () => alice.transport.peers("x").length === 1, WAIT);
  const sent = ["one", "two"].map(
    (s) => alice.node.channel(CHANNEL).send(new TextEncoder().encode(s), false).messageId,
  );
  const services = owner.node.wakuServices as WakuServices;
  await pollUntil("the owner's archive to hold both", () => services.archive.size() === 2, WAIT);
  await pollUntil("the owner to deliver both", () => sent.every((id) => owner.node.getMessage(CHANNEL, id)), WAIT);

  const bob = await started(member(new MemoryStore(), address));
  const client = new WakuStoreClient(bob.transport, { pageLimit: 1 });
  await pollUntil("bob to know the owner as a store peer", async () => (await client.storePeers()).length === 1, WAIT);
  const queries = services.stats.storeQueries;
  const report = await bob.node.catchUp(CHANNEL);
  assert.equal(report?.source, "history");
  assert.equal(services.stats.storeQueries, queries, "the store is not asked when the owner answers");
  assert.deepEqual(
    bob.node.listDelivered(CHANNEL, 0, 10).map((m) => m.messageId),
    sent,
  );

  // The store client on its own: pages of one, cursor to cursor, until a page says nothing follows.
  const range = await client.range(bob.node.topicOf(CHANNEL), undefined);
  assert.equal(range?.payloads.length, 2);
  assert.equal(range?.pages, 2);
  assert.equal(services.stats.storeQueries, queries + 2);
  // A store peer that answers with an error status is skipped: nothing answered.
  await assert.rejects(
    client.query(range?.peer as string, { paginationCursor: new Uint8Array(5) }),
    /status 400 .*pagination_cursor is 5 bytes/,
  );
  assert.equal(
    await client.range("/chorus/1/qa/proto", undefined, ["12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq"]),
    undefined,
  );
});
