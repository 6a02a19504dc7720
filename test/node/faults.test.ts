// Faults on demand through the REST API (ChorusNode on a MemoryBus, the API in process): gaps open under
// injected loss or isolation and are repaired once the node heals, or around the fault through the owner.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Cluster, call, OWNER_ALICE_BOB, startCluster } from "../api/cluster.js";
import { pollUntil } from "../support/poll.js";

let c: Cluster;
before(async () => {
  c = await startCluster(OWNER_ALICE_BOB, { roster: true });
});
after(() => c.close());

const WAIT = { timeoutMs: 20_000, intervalMs: 50 };

function counter(metrics: string, name: string): number {
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, "m").exec(metrics);
  return m === null ? 0 : Number(m[1]);
}

async function ids(name: string): Promise<string[]> {
  const r = await call(c.get(name).api, "GET", "/v1/channels/general/messages?limit=1000");
  return r.body.messages.map((m: { messageId: string }) => m.messageId);
}

async function send(name: string, n: number, text: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await call(c.get(name).api, "POST", "/v1/channels/general/messages", { content: `${text} ${i}` });
    assert.equal(r.status, 201);
    out.push(r.body.messageId);
  }
  return out;
}

test("PUT /v1/faults validates, reports and DELETE heals", async () => {
  const api = c.get("alice").api;
  const bad = await call(api, "PUT", "/v1/faults", { loss: 2 });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, "invalid_request");
  assert.match(bad.body.error.message, /loss/);
  const set = await call(api, "PUT", "/v1/faults", { loss: 0.25, isolated: ["somepeer"] });
  assert.equal(set.status, 200);
  assert.deepEqual({ loss: set.body.loss, isolated: set.body.isolated }, { loss: 0.25, isolated: ["somepeer"] });
  const healed = await call(api, "DELETE", "/v1/faults");
  assert.deepEqual({ loss: healed.body.loss, isolated: healed.body.isolated }, { loss: 0, isolated: [] });
  assert.equal((await call(api, "GET", "/v1/faults")).body.loss, 0);
});

test("under injected loss a member detects gaps; after healing every message is there, repaired", async () => {
  const alice = c.get("alice").api;
  await call(alice, "PUT", "/v1/faults", { loss: 0.6 });
  const sent = await send("bob", 30, "lossy");
  const state = (await call(alice, "GET", "/v1/faults")).body;
  assert.ok(state.dropped.incoming > 0, `alice dropped ${state.dropped.incoming} incoming messages`);
  await pollUntil(
    "alice to detect a gap",
    async () => counter((await call(alice, "GET", "/metrics")).body, "chorus_gaps_detected_total") > 0,
    WAIT,
  );
  await call(alice, "DELETE", "/v1/faults");
  await pollUntil("alice to hold every message", () => ids("alice"), {
    ...WAIT,
    accept: (l) => sent.every((id) => l.includes(id)),
  });
  const metrics = (await call(alice, "GET", "/metrics")).body;
  assert.ok(counter(metrics, "chorus_repairs_total") > 0, "gaps were repaired");
  assert.equal(counter(metrics, "chorus_messages_lost_total"), 0);
});

test("a member isolated from a peer misses its publications and gets them repaired through the owner", async () => {
  const alice = c.get("alice").api;
  const bobPeer = (await call(c.get("bob").api, "GET", "/v1/health")).body.peerId;
  await call(alice, "PUT", "/v1/faults", { isolated: [bobPeer] });
  const sent = await send("bob", 5, "isolated");
  await pollUntil("alice to hold bob's messages anyway", () => ids("alice"), {
    ...WAIT,
    accept: (l) => sent.every((id) => l.includes(id)),
  });
  const state = (await call(alice, "GET", "/v1/faults")).body;
  assert.ok(state.dropped.incoming >= 5, `alice dropped ${state.dropped.incoming} of bob's publications`);
  await call(alice, "DELETE", "/v1/faults");
});
