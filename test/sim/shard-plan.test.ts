// How a split run places its nodes and where its windows end (src/sim/shipment.ts `planShards`, src/sim/shards.ts
// `windowEnds`); that the JSON is the same for any split is workers.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { windowEnds } from "../../src/sim/shards.js";
import { planShards } from "../../src/sim/shipment.js";

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
    // 1,000 members and an owner worth 250: 625 each, the owner's shard 375 members and the owner.
    assert.deepEqual(sizes(home, 2), [376, 625]);
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
