// BoundedMap evicts the oldest first insertion, whatever mix of sets, re-sets and deletes came before, and
// reports each eviction once; MemberDirectory evicts the least recently heard; Ring keeps the newest values.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { BoundedMap, Ring } from "../../src/core/bounded.js";
import type { SenderId } from "../../src/core/ids.js";
import { MemberDirectory } from "../../src/core/members.js";
import { resolveParams } from "../../src/core/params.js";

type Op = { set: number; value: number } | { del: number };

/** The same map as an array of [key, value] in insertion order, evicting from the front. */
function model(limit: number, ops: readonly Op[]): { entries: [number, number][]; evicted: number[] } {
  const entries: [number, number][] = [];
  const evicted: number[] = [];
  for (const op of ops) {
    if ("del" in op) {
      const i = entries.findIndex(([k]) => k === op.del);
      if (i >= 0) entries.splice(i, 1);
      continue;
    }
    const i = entries.findIndex(([k]) => k === op.set);
    if (i >= 0) entries[i] = [op.set, op.value];
    else entries.push([op.set, op.value]);
    while (entries.length > limit) evicted.push(entries.shift()![0]);
  }
  return { entries, evicted };
}

const ops = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ set: fc.integer({ min: 0, max: 40 }), value: fc.integer() }) },
    { weight: 1, arbitrary: fc.record({ del: fc.integer({ min: 0, max: 40 }) }) },
  ),
  { maxLength: 400 },
);

test("BoundedMap evicts as an insertion-ordered list does, through deletes, re-sets and rehashes", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 12 }), ops, (limit, list) => {
      const evicted: number[] = [];
      const map = new BoundedMap<number, number>(limit, (k, v) => {
        evicted.push(k);
        assert.notEqual(v, undefined);
      });
      for (const op of list) {
        if ("del" in op) map.delete(op.del);
        else map.set(op.set, op.value);
      }
      const expected = model(limit, list);
      assert.deepEqual([...map.entries()], expected.entries);
      assert.deepEqual(evicted, expected.evicted);
      assert.ok(map.size <= limit);
    }),
    { numRuns: 500 },
  );
});

test("BoundedMap keeps the newest `limit` keys over many evictions, and an evicted key set again is new", () => {
  const map = new BoundedMap<string, number>(1_000);
  for (let i = 0; i < 50_000; i++) {
    map.set(`k${i}`, i);
    if (i % 7 === 0) map.delete(`k${i - 3}`);
  }
  assert.equal(map.size, 1_000);
  assert.equal(map.has("k48997"), false, "deleted before it could be evicted");
  assert.equal(map.get("k48998"), 48_998);
  assert.equal(map.get("k49999"), 49_999);
  assert.equal(map.has("k40000"), false);
  map.set("k0", -1);
  assert.equal(map.size, 1_000);
  assert.deepEqual([...map.keys()].at(-1), "k0");
});

test("Ring keeps the last `limit` values, oldest first", () => {
  const ring = new Ring<number>(3);
  for (let i = 1; i <= 5; i++) ring.push(i);
  assert.deepEqual(ring.toArray(), [3, 4, 5]);
  assert.deepEqual([...ring.newest()], [5, 4, 3]);
  assert.equal(ring.newestAt(0), 5);
});

test("MemberDirectory evicts the least recently heard member, as a recency-ordered list does", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 300 }),
      (max, heard) => {
        const members = new MemberDirectory(resolveParams({ maxMembers: max }), () => 0.5, []);
        let model: string[] = [];
        heard.forEach((n, at) => {
          const id = `member-${n}` as SenderId;
          const evicted = members.hearFrom(id, at);
          model = [...model.filter((m) => m !== id), id];
          const expected = model.length > max ? model.shift() : undefined;
          assert.equal(evicted, expected);
        });
        assert.deepEqual(
          members.list().map((m) => m.senderId),
          [...model].reverse(),
        );
      },
    ),
    { numRuns: 300 },
  );
});
