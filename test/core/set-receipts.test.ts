// Receipts of segmented payloads (src/core/segments/set-receipts.ts): a member counts as holding the payload
// once it confirmed as many distinct segments as the set has data segments, whichever they are.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SetReceipts } from "../../src/core/segments/set-receipts.js";

const ids = (n: number, prefix = "m") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe("set receipts", () => {
  test("k distinct segments of k + p make a holder; fewer, or the same one twice, do not", () => {
    const r = new SetReceipts();
    r.track("photo", ids(12), 10);
    for (const id of ids(12).slice(2)) r.confirm(id, "alice"); // data 2..9 and both parity: 10 distinct
    assert.deepEqual(r.holders("photo"), ["alice"]);
    for (const id of ids(9)) r.confirm(id, "bob");
    r.confirm("m0", "bob");
    assert.deepEqual(r.holders("photo"), ["alice"], "bob confirmed 9 distinct");
    const last = r.confirm("m11", "bob");
    assert.deepEqual(last, { set: "photo", holders: 2, newHolder: true });
    assert.deepEqual(r.confirm("m10", "bob"), { set: "photo", holders: 2, newHolder: false });
    assert.equal(r.confirm("other", "bob"), undefined, "not a segment of a tracked set");
  });

  test("bounded: the oldest set is forgotten; bad shapes are refused", () => {
    const r = new SetReceipts(2);
    r.track("a", ids(3, "a"), 2);
    r.track("b", ids(3, "b"), 2);
    r.track("c", ids(3, "c"), 2);
    assert.equal(r.holders("a"), undefined);
    assert.equal(r.confirm("a0", "x"), undefined);
    assert.ok(r.holders("c") !== undefined);
    assert.throws(() => r.track("d", ids(3), 4), /dataCount must be in 1\.\.3/);
    assert.throws(() => new SetReceipts(0), /maxSets must be a positive integer, got 0/);
  });
});
