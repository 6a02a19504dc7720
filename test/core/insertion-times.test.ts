// The ring of per-entry numbers beside a bounded map (src/core/insertion-times.ts), against an array model.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { InsertionTimes } from "../../src/core/insertion-times.js";

describe("insertion times", () => {
  it("reads and replaces the values of the last `limit` insertions by place, as it grows and wraps", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.double({ noNaN: true }), { maxLength: 120 }),
        (limit, xs) => {
          const ring = new InsertionTimes(limit);
          const model: number[] = [];
          for (const [i, x] of xs.entries()) {
            ring.push(x);
            model.push(x);
            if (model.length > limit) model.shift();
            const k = i % model.length;
            ring.set(k, model.length, -x);
            model[k] = -x;
            for (let j = 0; j < model.length; j++) assert.equal(ring.at(j, model.length), model[j]);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("refuses a place outside the entries it holds, and a limit below 1", () => {
    const ring = new InsertionTimes(3);
    ring.push(1);
    ring.push(2);
    assert.throws(() => ring.at(2, 2), /entry 2 of 2 is not among the last 2 insertions/);
    assert.throws(() => ring.at(0, 3), /entry 0 of 3 is not among the last 2 insertions/);
    assert.throws(() => new InsertionTimes(0), /limit must be an integer >= 1, got 0/);
  });
});
