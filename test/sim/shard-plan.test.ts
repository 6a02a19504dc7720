// How a split run places its nodes, where its windows end and how shipments cross threads (src/sim/shipment.ts
// `planShards`, `packShipments`, src/sim/shards.ts `windowEnds`); that the JSON is the same for any split is
// workers.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MessageChannel, receiveMessageOnPort } from "node:worker_threads";
import { windowEnds } from "../../src/sim/shards.js";
import {
  type PackedShipments,
  packShipments,
  planShards,
  type Shipment,
  unpackShipments,
} from "../../src/sim/shipment.js";

function sizes(home: Uint8Array, count: number): number[] {
  const out = new Array<number>(count).fill(0);
  for (const s of home) out[s]! += 1;
  return out;
}

describe("planShards", () => {
  test("one shard holds everything", () => {
    assert.deepEqual([...planShards(5, true, true, 1)], [0, 0, 0, 0, 0, 0]);
  });

  test("the owner is in shard 0, whose members are fewer by the owner's weight", () => {
    const home = planShards(1000, true, true, 2);
    assert.equal(home.length, 1001);
    assert.equal(home[1000], 0);
    // 1,000 members and an owner worth 150: 575 each, the owner's shard 425 members and the owner.
    assert.deepEqual(sizes(home, 2), [426, 575]);
    // Contiguous ranges, in shard order.
    for (let m = 1; m < 1000; m++) assert.ok(home[m]! >= home[m - 1]!, `member ${m}`);
  });

  test("without the owner path the owner weighs one member; without an owner the split is even to a member", () => {
    // 11 members worth over 2: 5.5 each, the owner's shard 5 members (4.5 rounded half up) and the owner.
    assert.deepEqual(sizes(planShards(10, true, false, 2), 2), [6, 5]);
    assert.deepEqual(sizes(planShards(10, false, false, 3), 3), [3, 4, 3]);
  });

  test("with many shards the owner's may hold no member, and every member has a shard", () => {
    const home = planShards(12, true, true, 8);
    assert.equal(home[12], 0);
    const s = sizes(home, 8);
    assert.equal(s[0], 1);
    assert.equal(
      s.reduce((a, b) => a + b),
      13,
    );
  });

  test("a shard count outside 1..255 is refused, naming it", () => {
    assert.throws(() => planShards(10, true, true, 0), /shard count must be an integer in 1..255, got 0/);
    assert.throws(() => planShards(10, true, true, 1.5), /got 1.5/);
  });
});

describe("windowEnds", () => {
  test("one shard: its next event plus the lookahead", () => {
    assert.deepEqual(windowEnds([100], 1000), [1100]);
  });

  test("the shard with the earliest event runs to the lesser of the next shard's event and its own plus L", () => {
    // Idle neighbour: up to T + 2L, where answers to its own messages could come back.
    assert.deepEqual(windowEnds([0, 100], 5), [10, 5]);
    // A neighbour due within L: up to that event + L.
    assert.deepEqual(windowEnds([0, 3], 5), [8, 5]);
    assert.deepEqual(windowEnds([7, 2, 40], 5), [7, 12, 7]);
  });

  test("ties and shards with nothing left", () => {
    assert.deepEqual(windowEnds([4, 4], 5), [9, 9]);
    const inf = Number.POSITIVE_INFINITY;
    assert.deepEqual(windowEnds([inf, 10], 5), [15, 20]);
  });
});

describe("packShipments", () => {
  const copies = (x: number, to: number[], dropped: number[]) => ({
    from: x + 1,
    bytes: Uint8Array.of(x, 1, 2),
    purpose: "content" as const,
    contentBytes: 3,
    x,
    to,
    at: to.map((n) => 1000.25 + n / 7),
    tie: to.map((n) => 2 ** 36 * (x + 2) + n),
    dropped,
  });
  const list: Shipment[] = [
    { pubs: [], events: [], notes: [] },
    {
      pubs: [copies(4, [7, 9, 12], [8]), copies(5, [], [10, 11]), copies(6, [13], [])],
      events: [{ at: 1005, tie: 3, node: 9, channel: "fetch", data: { bytes: Uint8Array.of(1), ids: ["a"] } }],
      notes: [{ channel: "registry", data: { x: 4 } }],
    },
  ];
  const plain = (l: readonly Shipment[]) =>
    l.map((s) => ({
      ...s,
      pubs: s.pubs.map((p) => ({ ...p, to: [...p.to], at: [...p.at], tie: [...p.tie], dropped: [...p.dropped] })),
    }));

  test("what crosses a thread comes back as it was, its numbers in one moved buffer", () => {
    const { port1, port2 } = new MessageChannel();
    try {
      const { packed, transfer } = packShipments(list);
      assert.equal(packed.numbers.length, 3 * 3 + 1 + 2 + 3 * 1);
      port1.postMessage(packed, transfer);
      // Moved, not copied: the sender's buffer is detached.
      assert.equal(packed.numbers.byteLength, 0);
      const back = unpackShipments(receiveMessageOnPort(port2)!.message as PackedShipments);
      assert.deepEqual(plain(back), plain(list));
      // A received shipment packs again for a third shard (the coordinator forwards it), still the same.
      const again = packShipments(back);
      assert.deepEqual(plain(unpackShipments(again.packed)), plain(list));
    } finally {
      port1.close();
    }
  });
});
