// The owner path through the REST API (fastify inject): the roster resource, receipts' denominator and
// notYet with and without a roster, a roster that changes while members run, and the owner path's metrics.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pollUntil } from "../support/poll.js";
import { type Cluster, call, OWNER_ALICE_BOB, startCluster } from "./cluster.js";

const WAIT = { timeoutMs: 10_000 };

describe("REST API on a channel with a roster", () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster(OWNER_ALICE_BOB, { roster: true });
    for (const name of ["alice", "bob"]) {
      await pollUntil(`${name}'s owner path up`, () => c.get(name).node.ownerPath("general") === "up", WAIT);
    }
  });
  after(async () => c?.close());

  it("GET roster: the owner's signed member list on every node, and where the owner path stands", async () => {
    const owner = await call(c.get("owner").api, "GET", "/v1/channels/general/roster");
    assert.equal(owner.status, 200);
    assert.equal(owner.body.denominator, "roster");
    assert.equal(owner.body.ownerPath, "self");
    assert.equal(owner.body.roster.owner, c.get("owner").node.senderId);
    assert.deepEqual(
      [...owner.body.roster.members].sort(),
      ["owner", "alice", "bob"].map((n) => c.get(n).node.senderId).sort(),
    );
    const alice = await call(c.get("alice").api, "GET", "/v1/channels/general/roster");
    assert.deepEqual(alice.body, { ...owner.body, ownerPath: "up" });
    assert.equal((await call(c.get("alice").api, "GET", "/v1/channels/nope/roster")).status, 404);
  });

  it("GET one message: N is the roster from the first answer, notYet names who has not got it", async () => {
    const alice = c.get("alice");
    const sent = await call(alice.api, "POST", "/v1/channels/general/messages", { content: "k of N" });
    const id = sent.body.messageId;
    const first = await call(alice.api, "GET", `/v1/channels/general/messages/${id}`);
    assert.equal(first.body.receipts.members, 2);
    assert.equal(first.body.receipts.denominator, "roster");
    assert.equal(first.body.receipts.count + first.body.receipts.notYet.length, 2);
    const done = await pollUntil(
      "2 of 2",
      async () => {
        const r = await call(alice.api, "GET", `/v1/channels/general/messages/${id}`);
        return r.body.receipts.count === 2 ? r.body : undefined;
      },
      WAIT,
    );
    assert.deepEqual(done.receipts.notYet, []);
    assert.equal(done.receipts.ratio, 1);
    assert.deepEqual(done.receipts.sources, ["local", "owner"]);
  });

  it("a member added to the roster while the channel runs counts from then on", async () => {
    const carol = await c.add("carol", "member");
    c.get("owner").node.setRoster([...["alice", "bob", "carol"].map((n) => c.get(n).node.senderId)]);
    await pollUntil(
      "alice to hold the new roster",
      () => c.get("alice").node.rosterOf("general")?.members.length === 4,
      WAIT,
    );
    await pollUntil("carol's owner path up", () => carol.node.ownerPath("general") === "up", WAIT);
    const sent = await call(c.get("alice").api, "POST", "/v1/channels/general/messages", { content: "hello carol" });
    const done = await pollUntil(
      "3 of 3",
      async () => {
        const r = await call(c.get("alice").api, "GET", `/v1/channels/general/messages/${sent.body.messageId}`);
        return r.body.receipts.count === 3 ? r.body : undefined;
      },
      WAIT,
    );
    assert.equal(done.receipts.members, 3);
    assert.ok(done.receipts.ackedBy.includes(carol.node.senderId));
  });

  it("GET /metrics counts the owner path on both sides", async () => {
    const owner = (await call(c.get("owner").api, "GET", "/metrics")).body as string;
    const value = (text: string, name: string) =>
      Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, "m").exec(text)?.[1]);
    assert.ok(value(owner, "chorus_owner_reports_accepted_total") >= 2);
    assert.ok(value(owner, "chorus_owner_pairs_learnt_total") >= 2);
    assert.ok(value(owner, "chorus_owner_news_sent_total") >= 1);
    assert.equal(value(owner, "chorus_owner_reports_refused_total"), 0);
    assert.ok(value(owner, "chorus_owner_ledger_messages") >= 1);
    assert.match(owner, /^chorus_owner_path_up\{[^}]*channel="general"[^}]*\} 1$/m);
    // Bob holds alice's messages and reports them; alice hears of her receipts.
    const bob = (await call(c.get("bob").api, "GET", "/metrics")).body as string;
    assert.ok(value(bob, "chorus_owner_reports_sent_total") >= 1);
    assert.equal(value(bob, "chorus_owner_reports_failed_total"), 0);
    const alice = (await call(c.get("alice").api, "GET", "/metrics")).body as string;
    assert.ok(value(alice, "chorus_owner_news_received_total") >= 1);
    assert.equal(value(alice, "chorus_owner_reports_accepted_total"), 0, "a member serves no reports");
  });
});

describe("REST API on a channel without a roster", () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster(OWNER_ALICE_BOB);
  });
  after(async () => c?.close());

  it("says receipts count the members heard from, and lists those that have not confirmed", async () => {
    const roster = await call(c.get("alice").api, "GET", "/v1/channels/general/roster");
    assert.deepEqual(roster.body, { channelId: "general", denominator: "heard-from", ownerPath: "none", roster: null });
    const alice = c.get("alice");
    const sent = await call(alice.api, "POST", "/v1/channels/general/messages", { content: "heard from" });
    const first = await call(alice.api, "GET", `/v1/channels/general/messages/${sent.body.messageId}`);
    assert.equal(first.body.receipts.denominator, "heard-from");
    assert.ok(Array.isArray(first.body.receipts.notYet));
  });
});
