// The seeded generators of src/core/prng.ts. Their outputs are recorded (test vectors, simulator seeds,
// benchmark inputs), so the first words of each are pinned here. The moments of the simulator's draws are
// checked with its other instruments, in test/sim/network.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Mulberry32, Sfc32, seededRandom } from "../../src/core/prng.js";

describe("Mulberry32 and seededRandom", () => {
  test("known answers: the words of seed 1, and seededRandom is the same stream in [0, 1)", () => {
    const words = [2693262067, 11749833, 2265367787, 4213581821];
    const m = new Mulberry32(1);
    assert.deepEqual(
      words.map(() => m.nextUint32()),
      words,
    );
    const r = seededRandom(1);
    assert.deepEqual(
      words.map(() => r()),
      words.map((w) => w / 2 ** 32),
    );
  });

  test("rejects a seed that is not an integer", () => {
    assert.throws(() => seededRandom(1.5), /seed must be an integer/);
  });

  test("seededRandom is uniform enough and reproducible", () => {
    const r = seededRandom(123);
    const values = Array.from({ length: 10_000 }, () => r());
    assert.ok(values.every((v) => v >= 0 && v < 1));
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
    const again = seededRandom(123);
    assert.deepEqual(
      Array.from({ length: 5 }, () => again()),
      values.slice(0, 5),
    );
  });
});

describe("Sfc32", () => {
  test("known answers: the first words of seed 3, label sim", () => {
    const r = new Sfc32("3", "sim");
    assert.deepEqual(
      Array.from({ length: 4 }, () => r.nextUint32()),
      [811382970, 235249928, 2927678477, 2509288843],
    );
  });

  test("a seed and a label name one stream; other seeds and labels give other streams", () => {
    const a = new Sfc32("42", "x");
    const b = new Sfc32("42", "x");
    const seqA = Array.from({ length: 5 }, () => a.nextUint32());
    assert.deepEqual(
      Array.from({ length: 5 }, () => b.nextUint32()),
      seqA,
    );
    assert.notDeepEqual(
      Array.from({ length: 5 }, () => new Sfc32("43", "x").nextUint32()),
      seqA,
    );
    assert.notDeepEqual(
      Array.from({ length: 5 }, () => new Sfc32("42", "y").nextUint32()),
      seqA,
    );
    assert.equal(new Sfc32("42").fork("k").label, "k");
    assert.equal(new Sfc32("42", "a").fork("k").label, "a/k");
  });
});
