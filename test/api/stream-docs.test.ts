// The event stream, metrics, OpenAPI document, docs page and static UI, through fastify's inject.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createApi, toApiEvent } from "../../src/api/index.js";
import type { MessageId, SenderId } from "../../src/core/index.js";
import type { NodeEvent } from "../../src/node/channel.js";
import { pollUntil, sleep } from "../support/poll.js";
import { type Cluster, call, OWNER_ALICE_BOB, startCluster, within } from "./cluster.js";

interface Frame {
  id?: string;
  event?: string;
  data?: unknown;
  comment?: string;
}

/** Parses a text/event-stream body into frames (comments included, for the heartbeat). */
export function parseFrames(text: string): Frame[] {
  return text
    .split("\n\n")
    .filter((block) => block.trim().length > 0)
    .map((block) => {
      const frame: Frame = {};
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) frame.comment = line.slice(1).trim();
        else if (line.startsWith("id: ")) frame.id = line.slice(4);
        else if (line.startsWith("event: ")) frame.event = line.slice(7);
        else if (line.startsWith("data: ")) frame.data = JSON.parse(line.slice(6));
      }
      return frame;
    });
}

function listenerCount(node: unknown): number {
  // ChorusNode keeps its listeners in a private Set; the test reads it to prove the API let go.
  return (node as { listeners: Set<unknown> }).listeners.size;
}

describe("event stream", () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster(OWNER_ALICE_BOB);
    await c.get("alice").api.inject({ method: "POST", url: "/v1/channels", payload: { channelId: "other" } });
  });
  after(() => c.close());

  it("streams delivered and acknowledged events of one channel, and ends after `limit` events", async () => {
    const alice = c.get("alice");
    const stream = alice.api.inject({
      method: "GET",
      url: "/v1/events?channel=general&types=delivered,acknowledged&limit=3",
    });
    await pollUntil("the client is attached", async () =>
      /chorus_sse_clients\{role="member"\} 1/.test((await call(alice.api, "GET", "/metrics")).body),
    );
    // Not in the stream: another channel, and a type not asked for.
    alice.node.channel("other").send(new TextEncoder().encode("elsewhere"), false);
    const sent = await call(alice.api, "POST", "/v1/channels/general/messages", { content: "watch me" });
    const response = await within("three events", stream);
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers["content-type"]), /^text\/event-stream/);
    const frames = parseFrames(response.body).filter((f) => f.event !== undefined);
    assert.equal(frames.length, 3);
    const [delivered, ack1, ack2] = frames as [Frame, Frame, Frame];
    assert.equal(delivered.event, "delivered");
    const d = delivered.data as { channelId: string; position: number; message: Record<string, unknown> };
    assert.equal(d.channelId, "general");
    assert.equal(d.message.messageId, sent.body.messageId);
    assert.equal(d.message.content, "watch me");
    assert.equal(d.message.own, true);
    assert.equal(d.message.lamportTimestamp, sent.body.lamportTimestamp);
    assert.equal(d.message.position, d.position);
    for (const ack of [ack1, ack2]) {
      assert.equal(ack.event, "acknowledged");
      assert.equal((ack.data as { messageId: string }).messageId, sent.body.messageId);
    }
    assert.deepEqual([(ack1.data as { count: number }).count, (ack2.data as { count: number }).count], [1, 2]);
    assert.ok(Number(ack2.id) > Number(ack1.id));
    // The client is gone from the hub and from the gauge.
    assert.match((await call(alice.api, "GET", "/metrics")).body, /chorus_sse_clients\{role="member"\} 0/);
  });

  it("ends open streams and detaches from the node when the app closes", async () => {
    const bob = c.get("bob");
    const before = listenerCount(bob.node);
    const api = createApi(bob.node, { processMetrics: false, heartbeatMs: 20 });
    assert.equal(listenerCount(bob.node), before + 1);
    const stream = api.inject({ method: "GET", url: "/v1/events" });
    await pollUntil("the client is attached", async () =>
      /chorus_sse_clients\{role="member"\} 1/.test((await call(api, "GET", "/metrics")).body),
    );
    await sleep(80);
    await api.close();
    const response = await within("the stream to end", stream);
    assert.equal(response.statusCode, 200);
    const comments = parseFrames(response.body).map((f) => f.comment);
    assert.equal(comments[0], "chorus events");
    assert.ok(comments.includes("heartbeat"), response.body);
    assert.equal(listenerCount(bob.node), before);
  });
});

describe("event JSON", () => {
  const base = { channelId: "c", at: 5 };
  const sender = "ab".repeat(32) as SenderId;
  const id = "cd".repeat(16) as MessageId;
  const cases: [NodeEvent, Record<string, unknown>][] = [
    [
      { type: "missing", ref: { senderId: sender, sequence: 4 }, source: "sequence", ...base },
      { ...base, ref: { senderId: sender, seq: 4 }, source: "sequence" },
    ],
    [
      { type: "repaired", messageId: id, senderId: sender, sequence: 4, afterMs: 120, ...base },
      { ...base, messageId: id, senderId: sender, seq: 4, afterMs: 120 },
    ],
    [
      { type: "lost", ref: { messageId: id }, dependents: 2, ...base },
      { ...base, ref: { messageId: id }, dependents: 2 },
    ],
    [
      { type: "ephemeral", messageId: id, senderId: sender, content: new Uint8Array([104, 105]), ...base },
      { ...base, messageId: id, senderId: sender, content: "hi" },
    ],
    [
      {
        type: "equivocation",
        equivocation: { senderId: sender, sequence: 6, messageIds: [id, "ef".repeat(16) as MessageId], detectedAt: 4 },
        ...base,
      },
      { ...base, senderId: sender, seq: 6, messageIds: [id, "ef".repeat(16)], detectedAt: 4 },
    ],
    [
      { type: "rejected", code: "bad-signature", reason: "bad signature", senderId: sender, ...base },
      { ...base, reason: "bad signature", senderId: sender },
    ],
    [
      {
        type: "delivered",
        message: {
          messageId: id,
          senderId: sender,
          sequence: undefined,
          lamportTimestamp: 2n ** 63n,
          content: new Uint8Array([0xff, 0x41]),
          deliveredAt: 7,
          own: false,
        },
        position: 3,
        ...base,
      },
      {
        ...base,
        position: 3,
        message: {
          position: 3,
          messageId: id,
          senderId: sender,
          seq: null,
          lamportTimestamp: "9223372036854775808",
          content: "\uFFFDA",
          contentBase64: "/0E=",
          receivedAt: 7,
          own: false,
        },
      },
    ],
  ];
  for (const [event, data] of cases) {
    it(`serialises ${event.type} events`, () => {
      assert.deepEqual(toApiEvent(event), { type: event.type, data });
    });
  }
});

describe("metrics, OpenAPI, docs and UI", () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster([{ name: "solo", role: "owner" }]);
  });
  after(() => c.close());

  it("GET /metrics serves Prometheus text from a registry of its own", async () => {
    const solo = c.get("solo");
    await call(solo.api, "POST", "/v1/channels/general/messages", { content: "one" });
    const r = await call(solo.api, "GET", "/metrics");
    assert.equal(r.status, 200);
    assert.match(String(r.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
    for (const name of [
      "chorus_messages_sent_total",
      "chorus_messages_delivered_total",
      "chorus_gaps_detected_total",
      "chorus_repairs_total",
      "chorus_repair_seconds",
      "chorus_messages_lost_total",
      "chorus_acks_total",
      "chorus_messages_rejected_total",
      "chorus_equivocations_total",
      "chorus_sse_clients",
      "chorus_catchups_total",
      "chorus_catchup_round_trips_total",
      "chorus_missing_messages",
      "chorus_known_members",
      "chorus_delivered_log_length",
      "chorus_peers",
      "chorus_api_requests_total",
    ]) {
      assert.match(r.body, new RegExp(`^# TYPE ${name} `, "m"), name);
    }
    assert.match(r.body, /chorus_messages_sent_total\{channel="general",role="owner"\} 1/);
    assert.match(r.body, /chorus_delivered_log_length\{channel="general",role="owner"\} 1/);
    // A second API on the same node starts from zero: registries are per instance.
    const other = createApi(solo.node, { processMetrics: true });
    try {
      const fresh = await call(other, "GET", "/metrics");
      assert.doesNotMatch(fresh.body, /chorus_messages_sent_total\{/);
      assert.match(fresh.body, /^chorus_process_/m);
    } finally {
      await other.close();
    }
  });

  it("GET /openapi.json documents every route with its parameters and schemas", async () => {
    const r = await call(c.get("solo").api, "GET", "/openapi.json");
    assert.equal(r.status, 200);
    const doc = r.body;
    assert.equal(doc.openapi, "3.1.0");
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      "/docs",
      "/metrics",
      "/openapi.json",
      "/v1/channels",
      "/v1/channels/{channelId}/equivocations",
      "/v1/channels/{channelId}/members",
      "/v1/channels/{channelId}/messages",
      "/v1/channels/{channelId}/messages/{messageId}",
      "/v1/channels/{channelId}/missing",
      "/v1/channels/{channelId}/roster",
      "/v1/events",
      "/v1/faults",
      "/v1/health",
      "/v1/peers",
    ]);
    assert.deepEqual(Object.keys(doc.paths["/v1/channels"]).sort(), ["get", "post"]);
    assert.deepEqual(Object.keys(doc.paths["/v1/channels/{channelId}/messages"]).sort(), ["get", "post"]);
    type Operation = {
      summary?: string;
      responses: object;
      parameters: { name: string; in: string; required: boolean }[];
    };
    for (const [path, operations] of Object.entries(doc.paths as Record<string, Record<string, Operation>>)) {
      for (const [method, op] of Object.entries(operations)) {
        assert.ok(op.summary, `${method} ${path} has a summary`);
        assert.ok(Object.keys(op.responses).length > 0, `${method} ${path} has responses`);
        for (const name of path.match(/\{(\w+)\}/g) ?? []) {
          const param = op.parameters.find((p) => `{${p.name}}` === name);
          assert.ok(param && param.in === "path" && param.required, `${method} ${path} declares ${name}`);
        }
      }
    }
    const send = doc.paths["/v1/channels/{channelId}/messages"].post;
    assert.deepEqual(send.requestBody.content["application/json"].schema.required, ["content"]);
    assert.deepEqual(Object.keys(send.responses).sort(), ["201", "400", "404", "413"]);
    const list = doc.paths["/v1/channels/{channelId}/messages"].get;
    const limit = list.parameters.find((p: { name: string }) => p.name === "limit");
    assert.deepEqual(limit.schema, { type: "integer", minimum: 1, maximum: 1000, default: 50 });
    assert.ok(doc.paths["/v1/events"].get.responses["200"].content["text/event-stream"]);
    assert.ok(doc.paths["/metrics"].get.responses["200"].content["text/plain"]);
  });

  it("GET /docs renders a readable page from the same document", async () => {
    const r = await c.get("solo").api.inject({ method: "GET", url: "/docs" });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers["content-type"]), /^text\/html/);
    for (const text of [
      "<h1>Chorus node API",
      "/v1/channels/{channelId}/messages/{messageId}",
      "Send a message",
      'href="/openapi.json"',
      "<code>limit</code>",
    ]) {
      assert.ok(r.body.includes(text), text);
    }
  });

  it("serves the web UI at / with its script and style", async () => {
    const api = c.get("solo").api;
    const page = await api.inject({ method: "GET", url: "/" });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers["content-type"]), /^text\/html/);
    assert.ok(page.body.includes('src="/ui/app.js"'));
    const js = await api.inject({ method: "GET", url: "/ui/app.js" });
    assert.match(String(js.headers["content-type"]), /^text\/javascript/);
    assert.ok(js.body.includes("EventSource"));
    const css = await api.inject({ method: "GET", url: "/ui/style.css" });
    assert.match(String(css.headers["content-type"]), /^text\/css/);
    const missing = await call(api, "GET", "/ui/secret.txt");
    assert.deepEqual(missing.body, { error: { code: "not_found", message: 'no UI file "secret.txt"' } });
    const traversal = await call(api, "GET", "/ui/..%2Fapp.ts");
    assert.equal(traversal.status, 404);
  });

  it("answers malformed and over-long URLs in the same error shape", async () => {
    const api = c.get("solo").api;
    const bad = await call(api, "GET", "/v1/channels/%E0%A4%A/messages");
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, {
      error: {
        code: "invalid_request",
        message: 'the path "/v1/channels/%E0%A4%A/messages" is not valid percent-encoding',
      },
    });
    const long = await call(api, "GET", `/v1/channels/${"a".repeat(5_000)}/messages`);
    assert.equal(long.status, 414);
    assert.equal(long.body.error.code, "uri_too_long");
  });
});
