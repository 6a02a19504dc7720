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
