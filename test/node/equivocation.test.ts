// Equivocation between real nodes (ChorusNode on a MemoryBus, the REST API in process): a sender signs two
// messages with one sequence number and each version first reaches a different part of the channel.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ChannelEngine, identityFromSecretKey } from "../../src/core/index.js";
import { channelTopic } from "../../src/node/channel.js";
import { decodeMessage } from "../../src/wire/index.js";
import { type Cluster, call, FAST_PARAMS, startCluster, within } from "../api/cluster.js";
import { pollUntil } from "../support/poll.js";

let c: Cluster;
before(async () => {
  c = await startCluster([
    { name: "owner", role: "owner" },
    { name: "alice", role: "member" },
    { name: "bob", role: "member" },
  ]);
});
after(() => c.close());

const NAMES = ["owner", "alice", "bob"] as const;

async function logOf(name: string): Promise<{ messageId: string; equivocation?: { messageIds: string[] } }[]> {
  const r = await call(c.get(name).api, "GET", "/v1/channels/general/messages?limit=1000");
  assert.equal(r.status, 200);
  return r.body.messages;
}

test("two versions of one sequence number reach different members: every member ends with both, flags and counts them", async () => {
  // Two engines with one identity and no shared state: two processes on one data folder.
  const secret = new Uint8Array(32).fill(7);
  const make = () =>
    new ChannelEngine({
      channelId: "general",
      identity: identityFromSecretKey(secret),
      random: Math.random,
      now: Date.now(),
    });
  const a = make().send(new TextEncoder().encode("version A"), Date.now());
  const b = make().send(new TextEncoder().encode("version B"), Date.now());
  assert.equal(a.sequence, b.sequence);
  const mallory = c.bus.createTransport("mallory");
  await mallory.start();
  const topic = channelTopic("general");
  const events: unknown[] = [];
  c.get("bob").node.on((e) => e.type === "equivocation" && events.push(e));

  // Version A reaches alice only; version B the owner and bob.
  c.bus.partition(["mallory", "alice"], ["owner", "bob"]);
  await mallory.publish(topic, a.outgoing[0]!.bytes);
  await pollUntil("alice to deliver A", async () => (await logOf("alice")).some((m) => m.messageId === a.messageId));
  c.bus.partition(["mallory", "owner", "bob"], ["alice"]);
  await mallory.publish(topic, b.outgoing[0]!.bytes);
  await pollUntil("bob to deliver B", async () => (await logOf("bob")).some((m) => m.messageId === b.messageId));
  c.bus.heal();
  // Nobody holds both yet. Alice talks: her causal history names A, which the others fetch, find to be a second
  // version of a delivered number, and publish with B, which reaches alice.
  await call(c.get("alice").api, "POST", "/v1/channels/general/messages", { content: "hello" });

  const both = [a.messageId, b.messageId].sort();
  for (const name of NAMES) {
    const log = await pollUntil(`${name} to hold both versions`, () => logOf(name), {
      accept: (l) => both.every((id) => l.some((m) => m.messageId === id)),
    });
    for (const id of both) {
      const entry = log.find((m) => m.messageId === id)!;
      assert.deepEqual(entry.equivocation?.messageIds, both, `${name} flags ${id} in its log`);
    }
    assert.equal(log.length, new Set(log.map((m) => m.messageId)).size, `${name} delivered nothing twice`);
    const list = await call(c.get(name).api, "GET", "/v1/channels/general/equivocations");
    assert.equal(list.status, 200);
    assert.equal(list.body.equivocations.length, 1);
    assert.equal(list.body.equivocations[0].seq, a.sequence);
    assert.equal(list.body.equivocations[0].senderId, identityFromSecretKey(secret).senderId);
    const metrics = await call(c.get(name).api, "GET", "/metrics");
    assert.match(metrics.body, /^chorus_equivocations_total\{channel="general",role="(owner|member)"\} 1$/m);
  }
  // Same set of messages everywhere, so the same log in log order (lamport, id).
  const sets = await Promise.all(NAMES.map(async (n) => (await logOf(n)).map((m) => m.messageId).sort()));
  assert.deepEqual(sets[1], sets[0]);
  assert.deepEqual(sets[2], sets[0]);
  await within(
    "bob's equivocation event",
    pollUntil("an event", () => events.length > 0),
  );
  await mallory.stop();
});

test("the equivocator's own process asks for the version it lacks once, and delivers what names it", async () => {
  // Mallory is a node; a second process on her key (a bare engine here) signed another version of her number 1.
  const secret = new Uint8Array(32).fill(9);
  const ec = await startCluster([
    { name: "owner", role: "owner" },
    { name: "alice", role: "member" },
    { name: "bob", role: "member" },
    { name: "mallory", role: "member", secretKey: secret },
  ]);
  try {
    const topic = channelTopic("general");
    const twin = new ChannelEngine({
      channelId: "general",
      identity: identityFromSecretKey(secret),
      random: Math.random,
      now: Date.now(),
    });
    const a = twin.send(new TextEncoder().encode("version A"), Date.now());
    const malloryId = identityFromSecretKey(secret).senderId;
    const asks: number[] = [];
    const spy = ec.bus.createTransport("spy");
    await spy.start();
    spy.subscribe(topic, (bytes) => {
      const m = decodeMessage(bytes);
      if (m.senderId === malloryId && m.repairRequest.some((e) => e.messageId === a.messageId)) asks.push(Date.now());
    });
    const twinTransport = ec.bus.createTransport("mallory-twin");
    await twinTransport.start();
    const log = async (name: string) =>
      (await call(ec.get(name).api, "GET", "/v1/channels/general/messages?limit=1000")).body.messages as {
        messageId: string;
      }[];

    // Version A reaches alice only; mallory's own version B the owner and bob.
    ec.bus.partition(["mallory-twin", "alice"], ["owner", "bob", "mallory"]);
    await twinTransport.publish(topic, a.outgoing[0]!.bytes);
    await pollUntil("alice to deliver A", async () => (await log("alice")).some((m) => m.messageId === a.messageId));
    const b = await call(ec.get("mallory").api, "POST", "/v1/channels/general/messages", { content: "version B" });
    assert.equal(b.status, 201, JSON.stringify(b.body));
    const bId = b.body.messageId as string;
    await pollUntil("bob to deliver B", async () => (await log("bob")).some((m) => m.messageId === bId));
    ec.bus.heal();
    // Alice's message names A: the honest members fetch it and record the pair; their notices name A for 600 s.
    const hello = await call(ec.get("alice").api, "POST", "/v1/channels/general/messages", { content: "hello" });
    for (const name of ["owner", "alice", "bob"]) {
      await pollUntil(`${name} to record the pair`, async () => (await log(name)).length >= 3);
    }
    // Mallory's process drops A (an echo of her key, spec 9.3 step 7) but no longer waits for it: alice's message,
    // which names A, is delivered at once, and A is asked for once, not at every retry until the dependency timeout.
    await pollUntil("mallory to deliver alice's message", async () =>
      (await log("mallory")).some((m) => m.messageId === hello.body.messageId),
    );
    // Notices keep naming A (a sync every syncIntervalMs): a window of ten retry periods opens no new request.
    await new Promise((r) => setTimeout(r, 10 * FAST_PARAMS.repairRetryMs!));
    console.log(`mallory's requests for the version she lacks: ${asks.length}`);
    assert.ok(asks.length >= 1 && asks.length <= 2, `${asks.length} requests for A`);
    assert.ok(!(await log("mallory")).some((m) => m.messageId === a.messageId), "mallory's process never takes A");
    await spy.stop();
    await twinTransport.stop();
  } finally {
    await ec.close();
  }
});
