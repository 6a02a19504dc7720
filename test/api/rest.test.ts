// Every REST handler through fastify's inject (no sockets), on real nodes: an owner and two members on
// an in-memory bus with in-memory stores.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createApi } from "../../src/api/index.js";
import { pollUntil } from "../support/poll.js";
import { type Cluster, call, OWNER_ALICE_BOB, startCluster } from "./cluster.js";

const enc = new TextEncoder();

describe("REST API on an owner and two members", () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster(OWNER_ALICE_BOB);
  });
  after(() => c.close());

  it("GET /v1/health names the node", async () => {
    const alice = c.get("alice");
    const r = await call(alice.api, "GET", "/v1/health");
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {
      status: "ok",
      senderId: alice.node.senderId,
      peerId: "alice",
      role: "member",
      multiaddrs: [],
      transport: "memory",
      pubsubTopic: null,
      contentTopics: { general: "/chorus/1/general/proto" },
      channels: ["general"],
      ownerPeerId: alice.node.ownerPeerId() ?? null,
      startChannel: "general",
      wakuServices: null,
    });
    const owner = await call(c.get("owner").api, "GET", "/v1/health");
    assert.equal(owner.body.role, "owner");
  });

  it("GET /v1/health reports the multiaddrs the options give", async () => {
    const api = createApi(c.get("bob").node, { processMetrics: false, multiaddrs: () => ["/ip4/127.0.0.1/tcp/1"] });
    try {
      assert.deepEqual((await call(api, "GET", "/v1/health")).body.multiaddrs, ["/ip4/127.0.0.1/tcp/1"]);
    } finally {
      await api.close();
    }
  });

  it("sends on one member and delivers on the other, with the same fields in both logs", async () => {
    const alice = c.get("alice");
    const sent = await call(alice.api, "POST", "/v1/channels/general/messages", { content: "héllo, wörld ✓" });
    assert.equal(sent.status, 201);
    assert.deepEqual(Object.keys(sent.body).sort(), ["lamportTimestamp", "messageId", "seq"]);
    assert.match(sent.body.messageId, /^[0-9a-f]{32}$/);
    assert.match(sent.body.lamportTimestamp, /^\d+$/);
    assert.equal(typeof sent.body.seq, "number");

    const onBob = await pollUntil("bob delivers it", async () => {
      const r = await call(c.get("bob").api, "GET", "/v1/channels/general/messages?limit=1000");
      return r.body.messages.find((m: { messageId: string }) => m.messageId === sent.body.messageId);
    });
    assert.equal(onBob.content, "héllo, wörld ✓");
    assert.equal(onBob.senderId, alice.node.senderId);
    assert.equal(onBob.lamportTimestamp, sent.body.lamportTimestamp);
    assert.equal(onBob.seq, sent.body.seq);
    assert.equal(onBob.own, false);
    assert.equal(typeof onBob.receivedAt, "number");
    assert.equal(typeof onBob.position, "number");
    assert.equal(onBob.contentBase64, undefined);

    const onAlice = (await call(alice.api, "GET", "/v1/channels/general/messages?limit=1000")).body.messages.find(
      (m: { messageId: string }) => m.messageId === sent.body.messageId,
    );
    assert.equal(onAlice.own, true);
    assert.equal(onAlice.content, "héllo, wörld ✓");
  });

  it("GET one own message: receipts rise to every member, merged with the owner's count", async () => {
    const alice = c.get("alice");
    const sent = await call(alice.api, "POST", "/v1/channels/general/messages", { content: "who has this?" });
    const id = sent.body.messageId;
    const first = await call(alice.api, "GET", `/v1/channels/general/messages/${id}`);
    assert.equal(first.status, 200);
    assert.equal(first.body.messageId, id);
    assert.equal(first.body.senderId, alice.node.senderId);
    assert.equal(first.body.own, true);
    assert.equal(first.body.content, "who has this?");
    const done = await pollUntil("both other members hold it", async () => {
      const r = await call(alice.api, "GET", `/v1/channels/general/messages/${id}`);
      return r.body.receipts.count === 2 ? r.body : undefined;
    });
    assert.equal(done.state, "acknowledged");
    assert.equal(done.receipts.members, 2);
    assert.equal(done.receipts.ratio, 1);
    assert.deepEqual(done.receipts.ackedBy, [c.get("bob").node.senderId, c.get("owner").node.senderId].sort());
    assert.deepEqual(done.receipts.sources, ["local", "owner"]);

    // On the owner, the same message is someone else's: delivered, with the receipts it aggregated.
    const onOwner = await call(c.get("owner").api, "GET", `/v1/channels/general/messages/${id}`);
    assert.equal(onOwner.body.state, "delivered");
    assert.equal(onOwner.body.own, false);
    assert.deepEqual(onOwner.body.receipts.sources, ["local"]);
    // On bob, someone else's message: the owner's view only.
    const onBob = await call(c.get("bob").api, "GET", `/v1/channels/general/messages/${id}`);
    assert.equal(onBob.body.state, "delivered");
    assert.deepEqual(onBob.body.receipts.sources, ["owner"]);
  });

  it("GET one message does not wait for an owner that does not answer", async () => {
    const alice = c.get("alice");
    const api = createApi(alice.node, { processMetrics: false, ownerTimeoutMs: 150, ownerRetryMs: 60_000 });
    const original = alice.node.ownerReceipts;
    alice.node.ownerReceipts = () => new Promise(() => {});
    try {
      const id = alice.node.channel("general").send(enc.encode("owner asleep"), false).messageId;
      const started = Date.now();
      const r = await call(api, "GET", `/v1/channels/general/messages/${id}`);
      const took = Date.now() - started;
      assert.equal(r.status, 200);
      assert.deepEqual(r.body.receipts.sources, ["local"]);
      assert.ok(took >= 140 && took < 1_000, `took ${took} ms`);
      // While the owner is considered away, answers are immediate.
      const again = Date.now();
      await call(api, "GET", `/v1/channels/general/messages/${id}`);
      assert.ok(Date.now() - again < 100, `second call took ${Date.now() - again} ms`);
    } finally {
      alice.node.ownerReceipts = original;
      await api.close();
    }
  });

  it("GET one message: 404 for an unknown id, 400 for an id too long", async () => {
    const r = await call(c.get("alice").api, "GET", "/v1/channels/general/messages/0123abcd");
    assert.equal(r.status, 404);
    assert.deepEqual(r.body, {
      error: {
        code: "message_not_found",
        message: 'message "0123abcd" is not known in channel "general"',
        field: "messageId",
      },
    });
    const long = await call(c.get("alice").api, "GET", `/v1/channels/general/messages/${"a".repeat(129)}`);
    assert.equal(long.status, 400);
    assert.equal(long.body.error.message, "path parameter messageId must be at most 128 characters");
  });

  it("pages through the delivered log with limit, after and next", async () => {
    const bob = c.get("bob");
    await call(bob.api, "POST", "/v1/channels", { channelId: "paging" });
    for (let i = 1; i <= 5; i++) {
      assert.equal((await call(bob.api, "POST", "/v1/channels/paging/messages", { content: `m${i}` })).status, 201);
    }
    const p1 = await call(bob.api, "GET", "/v1/channels/paging/messages?limit=2");
    assert.deepEqual(
      p1.body.messages.map((m: { content: string; position: number }) => [m.position, m.content]),
      [
        [1, "m1"],
        [2, "m2"],
      ],
    );
    assert.equal(p1.body.next, 2);
    assert.equal(p1.body.total, 5);
    const p2 = await call(bob.api, "GET", `/v1/channels/paging/messages?limit=2&after=${p1.body.next}`);
    assert.deepEqual(
      p2.body.messages.map((m: { content: string }) => m.content),
      ["m3", "m4"],
    );
    const p3 = await call(bob.api, "GET", `/v1/channels/paging/messages?limit=2&after=${p2.body.next}`);
    assert.deepEqual(
      p3.body.messages.map((m: { content: string }) => m.content),
      ["m5"],
    );
    assert.equal(p3.body.next, null);
    const past = await call(bob.api, "GET", "/v1/channels/paging/messages?after=99");
    assert.deepEqual(past.body, { messages: [], next: null, total: 5 });
    // Default limit is 50.
    for (let i = 6; i <= 55; i++) bob.node.channel("paging").send(enc.encode(`m${i}`), false);
    const all = await call(bob.api, "GET", "/v1/channels/paging/messages");
    assert.equal(all.body.messages.length, 50);
    assert.equal(all.body.next, 50);
  });

  it("joins channels idempotently and lists them", async () => {
    const bob = c.get("bob");
    const joined = await call(bob.api, "POST", "/v1/channels", { channelId: "random" });
    assert.equal(joined.status, 201);
    assert.deepEqual(joined.body, { channelId: "random", delivered: 0, missing: 0, members: 0 });
    const again = await call(bob.api, "POST", "/v1/channels", { channelId: "random" });
    assert.equal(again.status, 200);
    assert.equal(again.body.channelId, "random");
    const list = await call(bob.api, "GET", "/v1/channels");
    assert.deepEqual(
      list.body.channels.map((x: { channelId: string }) => x.channelId),
      ["general", "paging", "random"],
    );
    const general = list.body.channels.find((x: { channelId: string }) => x.channelId === "general");
    assert.ok(general.delivered >= 1);
    assert.equal(general.members, 2);
  });

  it("serves channel ids that need URL encoding", async () => {
    const bob = c.get("bob");
    assert.equal((await call(bob.api, "POST", "/v1/channels", { channelId: "a/b c#ü" })).status, 201);
    const path = `/v1/channels/${encodeURIComponent("a/b c#ü")}/messages`;
    assert.equal((await call(bob.api, "POST", path, { content: "x" })).status, 201);
    const log = await call(bob.api, "GET", path);
    assert.equal(log.body.messages[0].content, "x");
  });

  it("sends ephemeral messages without a sequence or timestamp", async () => {
    const r = await call(c.get("alice").api, "POST", "/v1/channels/general/messages", {
      content: "typing…",
      ephemeral: true,
    });
    assert.equal(r.status, 201);
    assert.equal(r.body.lamportTimestamp, null);
    assert.equal(r.body.seq, null);
  });

  it("GET members lists the senders heard, most recent first, with last-heard times", async () => {
    const alice = c.get("alice");
    await call(c.get("bob").api, "POST", "/v1/channels/general/messages", { content: "bob speaks" });
    await call(c.get("owner").api, "POST", "/v1/channels/general/messages", { content: "owner speaks" });
    const r = await pollUntil("alice heard both", async () => {
      const x = await call(alice.api, "GET", "/v1/channels/general/members");
      return x.body.members.length === 2 ? x : undefined;
    });
    assert.equal(r.body.channelId, "general");
    assert.equal(r.body.self, alice.node.senderId);
    assert.deepEqual(
      r.body.members.map((m: { senderId: string }) => m.senderId).sort(),
      [c.get("bob").node.senderId, c.get("owner").node.senderId].sort(),
    );
    const times = r.body.members.map((m: { lastHeardAt: number }) => m.lastHeardAt);
    assert.ok(times.every((t: number) => Math.abs(Date.now() - t) < 60_000));
    assert.deepEqual(
      times,
      [...times].sort((a: number, b: number) => b - a),
    );
  });

  it("GET peers lists transport peers and marks the owner once found", async () => {
    const alice = c.get("alice");
    await alice.node.catchUp("general");
    const r = await call(alice.api, "GET", "/v1/peers");
    assert.equal(r.body.peerId, "alice");
    assert.equal(r.body.ownerPeerId, "owner");
    assert.deepEqual(
      [...r.body.peers].sort((a: { peerId: string }, b: { peerId: string }) => a.peerId.localeCompare(b.peerId)),
      [
        { peerId: "bob", owner: false },
        { peerId: "owner", owner: true },
      ],
    );
  });

  it("answers 404 for a channel not joined, on every channel route", async () => {
    const api = c.get("alice").api;
    const expected = { error: { code: "channel_not_joined", message: 'channel "nope" is not joined' } };
    for (const [method, url, body] of [
      ["POST", "/v1/channels/nope/messages", { content: "x" }],
      ["GET", "/v1/channels/nope/messages"],
      ["GET", "/v1/channels/nope/messages/abc"],
      ["GET", "/v1/channels/nope/missing"],
      ["GET", "/v1/channels/nope/members"],
      ["GET", "/v1/events?channel=nope"],
    ] as const) {
      const r = await call(api, method, url, body);
      assert.equal(r.status, 404, `${method} ${url}`);
      assert.deepEqual(r.body, expected, `${method} ${url}`);
    }
  });

  it("answers 404 for unknown routes", async () => {
    const r = await call(c.get("alice").api, "GET", "/v1/nothing?x=1");
    assert.equal(r.status, 404);
    assert.deepEqual(r.body, { error: { code: "not_found", message: "no route for GET /v1/nothing" } });
    const wrongMethod = await call(c.get("alice").api, "DELETE", "/v1/channels");
    assert.deepEqual(wrongMethod.body, { error: { code: "not_found", message: "no route for DELETE /v1/channels" } });
  });

  it("answers 400 naming the field and the problem", async () => {
    const api = c.get("alice").api;
    const cases: [string, string, unknown, string, string | undefined][] = [
      ["POST", "/v1/channels/general/messages", {}, "body field content is required", "content"],
      ["POST", "/v1/channels/general/messages", { content: "" }, "body field content must not be empty", "content"],
      [
        "POST",
        "/v1/channels/general/messages",
        { content: 5 },
        "body field content must be a string, got 5",
        "content",
      ],
      [
        "POST",
        "/v1/channels/general/messages",
        { content: ["a"] },
        'body field content must be a string, got ["a"]',
        "content",
      ],
      [
        "POST",
        "/v1/channels/general/messages",
        { content: "x", ephemeral: "yes" },
        'body field ephemeral must be a boolean, got "yes"',
        "ephemeral",
      ],
      [
        "POST",
        "/v1/channels/general/messages",
        { content: "x", color: "red" },
        "body field color is not allowed here",
        "color",
      ],
      ["POST", "/v1/channels", { channelId: "" }, "body field channelId must not be empty", "channelId"],
      [
        "POST",
        "/v1/channels",
        { channelId: "x".repeat(257) },
        "body field channelId must be at most 256 characters",
        "channelId",
      ],
      ["POST", "/v1/channels", [1], "body must be a JSON object, got [1]", undefined],
      [
        "GET",
        "/v1/channels/general/messages?limit=0",
        undefined,
        "query parameter limit must be at least 1, got 0",
        "limit",
      ],
      [
        "GET",
        "/v1/channels/general/messages?limit=1001",
        undefined,
        "query parameter limit must be at most 1000, got 1001",
        "limit",
      ],
      [
        "GET",
        "/v1/channels/general/messages?limit=ten",
        undefined,
        'query parameter limit must be an integer, got "ten"',
        "limit",
      ],
      [
        "GET",
        "/v1/channels/general/messages?after=-1",
        undefined,
        "query parameter after must be at least 0, got -1",
        "after",
      ],
      [
        "GET",
        "/v1/channels/general/messages?before=3",
        undefined,
        "query parameter before is not allowed here",
        "before",
      ],
      [
        "GET",
        "/v1/events?types=delivered,typo",
        undefined,
        'query parameter types names an unknown event type "typo"; known: delivered, acknowledged, missing, repaired, lost, ephemeral, rejected, equivocation',
        "types",
      ],
    ];
    for (const [method, url, body, message, field] of cases) {
      const r = await call(api, method as "GET" | "POST", url, body);
      assert.equal(r.status, 400, `${method} ${url} ${JSON.stringify(body)}`);
      assert.deepEqual(
        r.body,
        { error: { code: "invalid_request", message, ...(field === undefined ? {} : { field }) } },
        `${method} ${url}`,
      );
    }
  });

  it("answers 400 for a body that is not JSON or missing, 415 for another content type", async () => {
    const api = c.get("alice").api;
    const bad = await api.inject({
      method: "POST",
      url: "/v1/channels/general/messages",
      headers: { "content-type": "application/json" },
      payload: "{nope",
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, "invalid_json");
    const none = await api.inject({ method: "POST", url: "/v1/channels/general/messages" });
    assert.equal(none.statusCode, 400);
    assert.deepEqual(none.json(), { error: { code: "invalid_request", message: "a JSON object body is required" } });
    const xml = await api.inject({
      method: "POST",
      url: "/v1/channels/general/messages",
      headers: { "content-type": "application/xml" },
      payload: "<content/>",
    });
    assert.equal(xml.statusCode, 415);
    assert.deepEqual(xml.json(), {
      error: {
        code: "unsupported_media_type",
        message: 'content type "application/xml" is not supported; send application/json',
      },
    });
  });

  it("answers 413 for content over the limit, in UTF-8 bytes, and for bodies over the body limit", async () => {
    const api = createApi(c.get("alice").node, { processMetrics: false, maxContentBytes: 8, bodyLimit: 200 });
    try {
      assert.equal((await call(api, "POST", "/v1/channels/general/messages", { content: "12345678" })).status, 201);
      const r = await call(api, "POST", "/v1/channels/general/messages", { content: "ééééé" });
      assert.equal(r.status, 413);
      assert.deepEqual(r.body, {
        error: {
          code: "content_too_large",
          message: "content is 10 bytes of UTF-8, over the limit of 8",
          field: "content",
        },
      });
      const big = await call(api, "POST", "/v1/channels/general/messages", { content: "x".repeat(300) });
      assert.equal(big.status, 413);
      assert.deepEqual(big.body, {
        error: { code: "body_too_large", message: "request body is over the limit of 200 bytes" },
      });
    } finally {
      await api.close();
    }
    // The default limit is 64 KiB.
    const alice = c.get("alice").api;
    const limit = await call(alice, "POST", "/v1/channels/general/messages", { content: "x".repeat(64 * 1024 + 1) });
    assert.equal(limit.status, 413);
    assert.equal(limit.body.error.message, "content is 65537 bytes of UTF-8, over the limit of 65536");
  });
});

describe("missing and repaired messages", () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster([
      { name: "owner", role: "owner" },
      // Alice neither resends nor answers repairs, and bob waits long before asking peers: while bob cannot
      // reach the owner, its gap stays open.
      { name: "alice", role: "member", params: { maxResends: 0, responseBudgetPer600s: 0 } },
      { name: "bob", role: "member", params: { repairRequestDelayMs: 600_000 } },
    ]);
  });
  after(() => c.close());

  it("GET missing lists a gap until the owner repairs it; metrics count both", async () => {
    const alice = c.get("alice");
    const bob = c.get("bob");
    const events: string[] = [];
    bob.node.on((e) => {
      if (e.type !== "acknowledged") events.push(e.type);
    });
    const first = await call(alice.api, "POST", "/v1/channels/general/messages", { content: "one" });
    await pollUntil("bob has one", () => bob.node.getMessage("general", first.body.messageId));
    // Bob misses "two", and cannot reach the owner (which has it) until the test heals the partition.
    c.bus.partition(["bob"], ["owner"]);
    c.bus.setOffline("bob", true);
    const lost = await call(alice.api, "POST", "/v1/channels/general/messages", { content: "two" });
    c.bus.setOffline("bob", false);
    await call(alice.api, "POST", "/v1/channels/general/messages", { content: "three" });

    const missing = await pollUntil("bob sees the gap", async () => {
      const r = await call(bob.api, "GET", "/v1/channels/general/missing");
      return r.body.missing.length > 0 ? r.body : undefined;
    });
    assert.equal(missing.channelId, "general");
    assert.ok(
      missing.missing.some(
        (ref: { messageId?: string; senderId?: string; seq?: number }) =>
          ref.messageId === lost.body.messageId || (ref.senderId === alice.node.senderId && ref.seq === lost.body.seq),
      ),
      JSON.stringify(missing),
    );
    const state = await call(bob.api, "GET", `/v1/channels/general/messages/${lost.body.messageId}`);
    assert.equal(state.body.state, "missing");
    assert.equal(state.body.content, null);
    const channels = await call(bob.api, "GET", "/v1/channels");
    assert.ok(channels.body.channels[0].missing >= 1);

    c.bus.heal();
    await pollUntil("the owner has two", () => c.get("owner").node.getMessage("general", lost.body.messageId));
    await bob.node.catchUp("general");
    await pollUntil("bob repaired it", async () => {
      const r = await call(bob.api, "GET", "/v1/channels/general/missing");
      return r.body.missing.length === 0;
    });
    const log = await call(bob.api, "GET", "/v1/channels/general/messages");
    assert.deepEqual(
      log.body.messages.map((m: { content: string }) => m.content),
      ["one", "two", "three"],
    );
    assert.ok(events.includes("missing") && events.includes("repaired"), events.join(","));

    const metrics = (await call(bob.api, "GET", "/metrics")).body as string;
    assert.match(metrics, /chorus_gaps_detected_total\{channel="general",source="[a-z-]+",role="member"\} [1-9]/);
    assert.match(metrics, /chorus_repairs_total\{channel="general",role="member"\} 1/);
    assert.match(metrics, /chorus_messages_delivered_total\{channel="general",role="member"\} 3/);
    assert.match(metrics, /chorus_catchups_total\{role="member"\} 1/);
    assert.match(metrics, /chorus_catchup_round_trips_total\{role="member"\} [1-9]/);
    assert.match(metrics, /chorus_missing_messages\{channel="general",role="member"\} 0/);
    const aliceMetrics = (await call(alice.api, "GET", "/metrics")).body as string;
    assert.match(aliceMetrics, /chorus_messages_sent_total\{channel="general",role="member"\} 3/);
  });
});
