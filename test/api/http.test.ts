// The API over real HTTP: two nodes each listening on 127.0.0.1 with a free port, read with fetch,
// including a server-sent event stream read chunk by chunk.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pollUntil } from "../support/poll.js";
import { type Cluster, startCluster, within } from "./cluster.js";

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Reads a text/event-stream response until `done` says stop; comments are counted, not returned. */
async function readEvents(
  response: Response,
  done: (events: SseEvent[], comments: number) => boolean,
): Promise<{ events: SseEvent[]; comments: number }> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: SseEvent[] = [];
  let comments = 0;
  let buffer = "";
  while (!done(events, comments)) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    buffer += value;
    let cut = buffer.indexOf("\n\n");
    while (cut >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const lines = block.split("\n");
      if (lines.every((l) => l.startsWith(":") || l.startsWith("retry:"))) comments++;
      const event = lines.find((l) => l.startsWith("event: "))?.slice(7);
      const data = lines.find((l) => l.startsWith("data: "))?.slice(6);
      if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
      cut = buffer.indexOf("\n\n");
    }
  }
  await reader.cancel();
  return { events, comments };
}

describe("REST API over HTTP", () => {
  let c: Cluster;
  const url: Record<string, string> = {};
  before(async () => {
    c = await startCluster([
      { name: "owner", role: "owner" },
      { name: "alice", role: "member" },
    ]);
    for (const m of c.members) url[m.name] = await m.api.listen({ host: "127.0.0.1", port: 0 });
  });
  after(() => c.close());

  it("serves health, send, the log and one message", async () => {
    assert.match(url.alice!, /^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${url.alice}/v1/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { role: string }).role, "member");

    const sent = await fetch(`${url.alice}/v1/channels/general/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ content: "over the wire" }),
    });
    assert.equal(sent.status, 201);
    const { messageId } = (await sent.json()) as { messageId: string };

    const onOwner = await pollUntil("the owner delivers it", async () => {
      const r = await fetch(`${url.owner}/v1/channels/general/messages`);
      const body = (await r.json()) as { messages: { messageId: string; content: string }[] };
      return body.messages.find((m) => m.messageId === messageId);
    });
    assert.equal(onOwner.content, "over the wire");
    const one = await fetch(`${url.alice}/v1/channels/general/messages/${messageId}`);
    assert.equal(((await one.json()) as { own: boolean }).own, true);

    const missing = await fetch(`${url.alice}/v1/channels/general/messages/ffff`);
    assert.equal(missing.status, 404);
    assert.match(String(missing.headers.get("content-type")), /^application\/json/);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, "message_not_found");
  });

  it("streams events: delivered on the receiver, acknowledged on the sender, heartbeats in between", async () => {
    const ownerStream = await fetch(`${url.owner}/v1/events?channel=general`);
    const aliceStream = await fetch(`${url.alice}/v1/events?types=acknowledged`);
    assert.equal(ownerStream.status, 200);
    assert.equal(ownerStream.headers.get("content-type"), "text/event-stream; charset=utf-8");
    assert.equal(ownerStream.headers.get("cache-control"), "no-cache, no-transform");

    const sent = await fetch(`${url.alice}/v1/channels/general/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ content: "streamed" }),
    });
    const { messageId } = (await sent.json()) as { messageId: string };

    const onOwner = await within(
      "a delivered event on the owner",
      readEvents(ownerStream, (events) => events.some((e) => e.event === "delivered")),
    );
    const delivered = onOwner.events.find((e) => e.event === "delivered")!;
    assert.equal((delivered.data.message as { messageId: string }).messageId, messageId);
    assert.equal((delivered.data.message as { content: string }).content, "streamed");

    const onAlice = await within(
      "an acknowledged event and a heartbeat on alice",
      readEvents(
        aliceStream,
        (events, comments) => events.some((e) => e.data.messageId === messageId) && comments >= 2,
      ),
    );
    assert.deepEqual(
      onAlice.events.filter((e) => e.data.messageId === messageId).map((e) => [e.event, e.data.count, e.data.members]),
      [["acknowledged", 1, 1]],
    );

    // Both clients went away: the servers notice and drop them.
    for (const name of ["owner", "alice"]) {
      await pollUntil(`${name} drops the stream`, async () => {
        const metrics = await (await fetch(`${url[name]}/metrics`)).text();
        return /^chorus_sse_clients\{role="\w+"\} 0$/m.test(metrics);
      });
    }
  });

  it("closes promptly with a stream still open", async () => {
    const extra = await c.add("late", "member");
    const address = await extra.api.listen({ host: "127.0.0.1", port: 0 });
    const stream = await fetch(`${address}/v1/events`);
    assert.equal(stream.status, 200);
    const reading = readEvents(stream, () => false);
    const started = Date.now();
    await within("api.close", extra.api.close(), 3_000);
    assert.ok(Date.now() - started < 1_000, `close took ${Date.now() - started} ms`);
    const { events } = await within("the stream ends", reading);
    assert.deepEqual(events, []);
  });
});
