// The per-sender table's invariants (src/core/senders.ts), checked against a model after every operation:
// random first contacts, deliveries (late copies included) and losses of one sender's sequence numbers.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { SenderId } from "../../src/core/ids.js";
import { resolveParams } from "../../src/core/params.js";
import { type SenderState, SenderTable } from "../../src/core/senders.js";

const SELF = "aa".repeat(32) as SenderId;
const OTHER = "bb".repeat(32) as SenderId;
const params = resolveParams({});

type Op = { readonly deliver: boolean; readonly seq: number };

interface Model {
  readonly delivered: Set<number>;
  readonly givenUp: Set<number>;
}

function run(first: number, historical: boolean, ops: readonly Op[], check: (s: SenderState, m: Model) => void) {
  const table = new SenderTable(params, SELF, 0);
  // Out of the join grace unless historical: the floor is guessed one step back.
  const state = table.firstContact(OTHER, first, historical, historical ? 0n : BigInt(params.joinGraceMs + 1));
  const model: Model = { delivered: new Set(), givenUp: new Set() };
  table.advance(state, first, true);
  model.delivered.add(first);
  check(state, model);
  for (const op of ops) {
    if (op.deliver) {
      if (model.delivered.has(op.seq)) continue;
      table.advance(state, op.seq, true);
      table.extendRunDown(state, op.seq);
      model.delivered.add(op.seq);
    } else {
      // Only what is missing is given up: neither delivered nor given up already.
      if (model.delivered.has(op.seq) || model.givenUp.has(op.seq) || op.seq <= state.floor) continue;
      table.raiseHighest(state, op.seq);
      table.giveUp(state, op.seq);
      model.givenUp.add(op.seq);
    }
    check(state, model);
  }
}

const ops = fc.array(fc.record({ deliver: fc.boolean(), seq: fc.integer({ min: 1, max: 40 }) }), { maxLength: 80 });
const first = fc.integer({ min: 1, max: 20 });
const property = (check: (s: SenderState, m: Model) => void) =>
  fc.assert(
    fc.property(first, fc.boolean(), ops, (f, h, o) => run(f, h, o, check)),
    { numRuns: 300 },
  );

const reader = new SenderTable(params, SELF, 0);
const done = (m: Model, n: number) => m.delivered.has(n) || m.givenUp.has(n);

describe("sender table invariants", () => {
  it("floor <= contiguous, and runStart <= contiguous + 1", () => {
    property((s) => {
      assert.ok(s.floor <= s.contiguous, `floor ${s.floor} > contiguous ${s.contiguous}`);
      assert.ok(s.runStart <= s.contiguous + 1, `runStart ${s.runStart} > contiguous + 1 (${s.contiguous + 1})`);
    });
  });

  it("every number in (floor, contiguous] is delivered or given up, and contiguous + 1 is neither", () => {
    property((s, m) => {
      for (let n = s.floor + 1; n <= s.contiguous; n++)
        assert.ok(done(m, n), `${n} is below contiguous ${s.contiguous}`);
      assert.ok(!done(m, s.contiguous + 1), `contiguous ${s.contiguous} stops short of ${s.contiguous + 1}`);
    });
  });

  it("above holds exactly the delivered or given-up numbers past contiguous, givenUpAbove a subset", () => {
    property((s, m) => {
      const expected = [...m.delivered, ...m.givenUp].filter((n) => n > s.contiguous);
      assert.deepEqual(
        [...s.above].sort((a, b) => a - b),
        [...new Set(expected)].sort((a, b) => a - b),
      );
      for (const n of s.givenUpAbove) assert.ok(s.above.has(n), `${n} given up above but not in above`);
    });
  });

  it("a mark claims only delivered numbers: [runStart, contiguous] were all delivered", () => {
    property((s, m) => {
      for (let n = Math.max(s.runStart, s.floor + 1); n <= s.contiguous; n++) {
        assert.ok(m.delivered.has(n), `${n} in run ${s.runStart}..${s.contiguous} was not delivered`);
      }
    });
  });

  it("delivered() never says true for a number that was not delivered", () => {
    property((s, m) => {
      for (let n = s.floor + 1; n <= 42; n++) {
        if (reader.delivered(s, n) === true) {
          assert.ok(m.delivered.has(n), `delivered(${n}) is true`);
        }
      }
    });
  });

  it("highest covers every number the sender has shown", () => {
    property((s, m) => {
      for (const n of [...m.delivered, ...m.givenUp]) assert.ok(s.highest >= n, `highest ${s.highest} < ${n}`);
    });
  });

  it("a number only a mark claimed is dismissed, not counted as given up", () => {
    const table = new SenderTable(params, SELF, 0);
    const state = table.firstContact(OTHER, 5, true);
    table.advance(state, 5, true);
    assert.equal(table.giveUp(state, 9), false);
    assert.equal(state.dismissedClaimsUpTo, 9);
    assert.equal(state.contiguous, 5);
    assert.equal(state.above.size, 0);
  });

  it("the floor guessed at first contact is chased one step back, and the chase ends at a delivered number", () => {
    const table = new SenderTable(params, SELF, 0);
    const state = table.firstContact(OTHER, 10, false, BigInt(params.joinGraceMs + 1));
    assert.equal(state.floor, 8);
    assert.ok(state.tentative);
    table.chaseFloor(state, 9, { hasSequence: () => false });
    assert.deepEqual([state.floor, state.contiguous, state.runStart], [7, 7, 8]);
    table.chaseFloor(state, 8, { hasSequence: (_s, seq) => seq === 7 });
    assert.equal(state.tentative, false);
    assert.equal(state.floor, 7);
  });

  it("states start with the same empty sets and each gets its own on its first write", () => {
    const table = new SenderTable(params, SELF, 0);
    const a = table.firstContact(OTHER, 1, true);
    const b = table.firstContact("cc".repeat(32) as SenderId, 1, true);
    table.advance(a, 1, true);
    table.advance(b, 1, true);
    table.advance(a, 4, true);
    table.giveUp(a, 3);
    table.advance(a, 0, true);
    assert.deepEqual([...a.above].sort(), [3, 4]);
    assert.deepEqual([...a.givenUpAbove], [3]);
    assert.deepEqual([...a.deliveredBelowFloor], [0]);
    for (const set of [b.above, b.givenUpAbove, b.givenUpBelow, b.deliveredBelowFloor, b.deliveredBelowRun]) {
      assert.equal(set.size, 0);
    }
    const c = table.firstContact("dd".repeat(32) as SenderId, 1, true);
    assert.equal(c.above.size, 0);
    assert.equal(c.deliveredBelowFloor.size, 0);
  });
});
