// The simulator's agenda: order by (time, tie), and an event's kind changed in place while it is pending.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EventQueue } from "../../src/sim/event-queue.js";

function drain(q: EventQueue<unknown>): [number, number, unknown][] {
  const out: [number, number, unknown][] = [];
  while (q.pop()) out.push([q.at, q.kind, q.payload]);
  return out;
}

test("events come out by time, then by tie key, whatever order they went in", () => {
  const q = new EventQueue<string>();
  q.push(20, 1, 0, "late", 5);
  q.push(10, 1, 0, "b", 7);
  q.push(10, 1, 0, "a", 3);
  q.push(5, 1, 0, "first", 9);
  assert.deepEqual(
    drain(q).map((e) => e[2]),
    ["first", "a", "b", "late"],
  );
});

test("rekind changes what a pending event is, keeps its place, and refuses a slot that moved on", () => {
  const q = new EventQueue<number>();
  const a = q.push(10, 1, 0, 100);
  q.push(5, 1, 0, 200);
  const c = q.push(20, 1, 0, 300);
  // The wrong payload or kind names another event: nothing changes.
  assert.equal(q.rekind(a, 1, 999, 9), false);
  assert.equal(q.rekind(a, 2, 100, 9), false);
  assert.equal(q.rekind(a, 1, 100, 9), true);
  assert.deepEqual(drain(q), [
    [5, 1, 200],
    [10, 9, 100],
    [20, 1, 300],
  ]);
  // Taken: its slot is free (and may hold another event), so its old name no longer matches.
  assert.equal(q.rekind(c, 1, 300, 9), false);
  const d = q.push(30, 1, 0, 400);
  assert.equal(q.rekind(d, 1, 300, 9), false);
  assert.equal(q.rekind(d, 1, 400, 9), true);
  assert.deepEqual(drain(q), [[30, 9, 400]]);
});
