// A member restarted while receiving a segmented payload: the segments it accepted before are in its store, and
// the channel rebuilds the incomplete set from them when it opens again (ContentPipeline.restore), so the rest
// completes it and the payload is delivered once. Without the rebuild, the two segments after the restart are
// too few: the two before were delivered, and nothing would ask for them again.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, test } from "node:test";
import { type Channel, type ChannelEvents, openChannel } from "../../src/index.js";
import { MemoryStore } from "../../src/storage/memory-store.js";
import { MemoryBus } from "../../src/transport/memory-bus.js";
import type { PublishOptions, Transport } from "../../src/transport/transport.js";
import { decodeMessage, tryDecodeSegment } from "../../src/wire/index.js";
import { pollUntil } from "../support/poll.js";

const PARAMS = { syncIntervalMs: 500, backlogSyncIntervalMs: 500, repairRequestDelayMs: 30, repairRetryMs: 300 };
const open: Channel[] = [];
after(async () => {
  for (const c of open) await c.close();
});

/** Which segment a publication carries ("data 2", "parity 0"), or undefined for anything else (syncs). */
function segmentOf(bytes: Uint8Array): string | undefined {
  const content = decodeMessage(bytes).content;
  const segment = content === undefined ? undefined : tryDecodeSegment(content, 1 << 20);
  return segment === undefined ? undefined : `${segment.kind} ${segment.index}`;
}

/** The sender's transport, with the test deciding which of its publications go out, now or later. */
function gated(inner: Transport, pass: (bytes: Uint8Array) => "now" | "later" | "never") {
  const later: [string, Uint8Array, PublishOptions | undefined][] = [];
  const transport = new Proxy(inner, {
    get(target, key, receiver) {
      if (key === "publish") {
        return async (topic: string, bytes: Uint8Array, options?: PublishOptions) => {
          const verdict = pass(bytes);
          if (verdict === "now") return target.publish(topic, bytes, options);
          if (verdict === "later") later.push([topic, bytes, options]);
        };
      }
      const value = Reflect.get(target, key, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { transport, release: () => Promise.all(later.splice(0).map(([t, b, o]) => inner.publish(t, b, o))) };
}

test("a restart between segments: the set is rebuilt from the store, the rest completes it, delivered once", async () => {
  const bus = new MemoryBus();
  const segmentation = { segmentSize: 1_024, parityRate: 0.25 };
  // Before the restart: data 0 and 1 reach b. After: data 2 and parity 0 (data 3 never comes), which make four.
  let phase: "before" | "after" = "before";
  const gate = gated(bus.createTransport("a"), (bytes) => {
    const segment = segmentOf(bytes);
    if (segment === "data 3") return "never";
    if (phase === "after") return "now";
    if (segment === "data 0" || segment === "data 1") return "now";
    return segment === undefined ? "never" : "later";
  });
  const a = await openChannel({ channelId: "big", transport: gate.transport, segmentation, params: PARAMS });
  open.push(a);
  const store = new MemoryStore();
  const openB = async () => {
    const b = await openChannel({
      channelId: "big",
      transport: bus.createTransport("b"),
      store,
      segmentation,
      params: PARAMS,
    });
    const received: ChannelEvents["received"][] = [];
    b.on("received", (e) => received.push(e));
    return { b, received };
  };

  let { b, received } = await openB();
  const payload = new Uint8Array(randomBytes(3_800));
  const id = a.send(payload);
  await pollUntil("b to store data segments 0 and 1", () => store.countDelivered("big") === 2, { timeoutMs: 10_000 });
  assert.equal(received.length, 0, "two of four data segments are not a payload");

  await b.close();
  ({ b, received } = await openB());
  open.push(b);
  phase = "after";
  await gate.release();

  await pollUntil("b to reassemble the payload", () => received.length > 0, { timeoutMs: 10_000 });
  assert.equal(received[0]?.id, id);
  assert.deepEqual(received[0]?.payload, payload);
  assert.equal(received[0]?.parityUsed, 1, "parity stood in for data segment 3");
  // Late repairs or resends of the set change nothing: it is finished.
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(received.length, 1, "delivered once");

  // Another restart: the set is complete in the store now, so it is remembered as finished, not delivered again.
  await b.close();
  open.splice(open.indexOf(b), 1);
  ({ b, received } = await openB());
  open.push(b);
  a.send(new TextEncoder().encode("a small one after"));
  await pollUntil("b to get the next message", () => received.length > 0, { timeoutMs: 10_000 });
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(
    received.map((e) => new TextDecoder().decode(e.payload)),
    ["a small one after"],
    "the reassembled payload is not delivered again after a second restart",
  );
});

test("a segmented payload sent before a restart keeps getting receipts after it", async () => {
  const bus = new MemoryBus();
  const segmentation = { segmentSize: 1_024, parityRate: 0.25 };
  const storeA = new MemoryStore();
  const openA = () =>
    openChannel({
      channelId: "big",
      transport: bus.createTransport("a"),
      store: storeA,
      segmentation,
      // a resends what nobody acknowledged soon: that is how b gets the payload after a's restart.
      params: { ...PARAMS, resendAfterMs: 1_000 },
    });
  let a = await openA();
  const b = await openChannel({ channelId: "big", transport: bus.createTransport("b"), segmentation, params: PARAMS });
  open.push(b);
  const heard = new Map<string, string>();
  a.send(new TextEncoder().encode("hello from a"));
  b.send(new TextEncoder().encode("hello from b"));
  await pollUntil("a and b to know each other", () => a.runtime.knownMembers() > 0 && b.runtime.knownMembers() > 0, {
    timeoutMs: 10_000,
  });
  // b is away while a sends: nobody holds the payload before a's restart.
  bus.setOffline("b", true);
  const id = a.send(new Uint8Array(randomBytes(3_800)));
  await new Promise((r) => setTimeout(r, 200));
  await a.close();

  a = await openA();
  open.push(a);
  const receipts: ChannelEvents["receipts"][] = [];
  const delivered: ChannelEvents["delivered"][] = [];
  a.on("receipts", (e) => receipts.push(e));
  a.on("delivered", (e) => delivered.push(e));
  b.on("received", (e) => heard.set(e.id, "received"));
  bus.setOffline("b", false);
  await pollUntil("b to repair and reassemble the payload", () => heard.has(id), { timeoutMs: 20_000 });
  await pollUntil("a to hear b holds the payload it sent before its restart", () => receipts.some((e) => e.id === id), {
    timeoutMs: 20_000,
  });
  assert.equal(receipts.find((e) => e.id === id)?.count, 1);
  await pollUntil("and to call it delivered", () => delivered.some((e) => e.id === id), { timeoutMs: 5_000 });
});
