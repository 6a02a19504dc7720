// Property tests on a seeded in-process network (test/core/harness.ts). fast-check prints the seed and
// the shrunk counterexample of a failure; `fc.assert(..., { seed, path })` replays it.
//
// Every scenario: 3-5 members join at time 0 and start talking after the join grace (before it, a first
// contact deliberately does not chase older history); then a lossy phase of sends, waits and (for some
// properties) restarts; then the network heals and runs until no message is in flight and no engine has
// a deadline. dependencyTimeoutMs is an hour, so nothing is given up while the network is still lossy:
// the properties are about loss that is later repaired.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { Params } from "../../src/core/index.js";
import { bufferViolations, Network } from "./harness.js";

const JOINED = 10_001;
const PARAMS: Partial<Params> = { dependencyTimeoutMs: 3_600_000 };

type Action = { type: "send"; member: number } | { type: "wait"; ms: number } | { type: "restart"; member: number };

const send = fc.record({ type: fc.constant("send" as const), member: fc.nat(4) });
const wait = fc.record({ type: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 10_000 }) });
const restart = fc.record({ type: fc.constant("restart" as const), member: fc.nat(4) });

function scenario(withRestarts: boolean) {
  const action: fc.Arbitrary<Action> = withRestarts
    ? fc.oneof({ arbitrary: send, weight: 5 }, { arbitrary: wait, weight: 3 }, { arbitrary: restart, weight: 1 })
    : fc.oneof({ arbitrary: send, weight: 5 }, { arbitrary: wait, weight: 3 });
  return fc.record({
    seed: fc.integer({ min: 1, max: 0x7fff_ffff }),
    members: fc.integer({ min: 3, max: 5 }),
    drop: fc.double({ min: 0, max: 0.5, noNaN: true }),
    duplicate: fc.double({ min: 0, max: 0.3, noNaN: true }),
    maxDelayMs: fc.integer({ min: 10, max: 5_000 }),
    actions: fc.array(action, { minLength: 1, maxLength: 30 }),
  });
}

type Scenario = {
  seed: number;
  members: number;
  drop: number;
  duplicate: number;
  maxDelayMs: number;
  actions: Action[];
};

/** Runs the lossy phase, heals and settles. Checks buffer bounds after every action. */
function run(s: Scenario, params: Partial<Params>): { net: Network; sent: string[]; settled: boolean } {
  const net = new Network({
    members: s.members,
    seed: s.seed,
    params,
    faults: { drop: s.drop, duplicate: s.duplicate, minDelayMs: 10, maxDelayMs: s.maxDelayMs },
  });
  net.runUntil(JOINED);
  const sent: string[] = [];
  for (const a of s.actions) {
    if (a.type === "send") sent.push(net.send(a.member % s.members));
    else if (a.type === "wait") net.runUntil(net.now + a.ms);
    else net.restart(a.member % s.members);
    assert.deepEqual(bufferViolations(net), []);
  }
  net.heal();
  const settled = net.settle();
  assert.deepEqual(bufferViolations(net), []);
  return { net, sent, settled };
}

function assertConverged(net: Network, sent: string[], settled: boolean): void {
  assert.ok(settled, "the network went quiet");
  const reference = net.logIds(0);
  for (let i = 1; i < net.engines.length; i++) assert.deepEqual(net.logIds(i), reference, `member ${i}'s log`);
  assert.deepEqual([...reference].sort(), [...new Set(sent)].sort(), "every sent message is in the log");
  for (let i = 0; i < net.engines.length; i++) {
    assert.deepEqual(net.engines[i]!.missingRefs(), [], `member ${i} misses nothing`);
    assert.equal(net.engines[i]!.bufferSizes().pending, 0, `member ${i} waits for nothing`);
  }
}

function assertNoDuplicates(net: Network, sent: string[]): void {
  assert.deepEqual(net.violations, []);
  for (let i = 0; i < net.engines.length; i++) {
    for (const id of sent) assert.equal(net.deliveredCount[i]!.get(id), 1, `member ${i} delivered ${id} once`);
  }
}

describe("properties of a lossy network of engines", () => {
  test("(a, b, c) any order, duplication and repaired loss: the same log everywhere, each message delivered once, buffers in bounds", () => {
    fc.assert(
      fc.property(scenario(false), (s) => {
        const { net, sent, settled } = run(s, PARAMS);
        assertConverged(net, sent, settled);
        assertNoDuplicates(net, sent);
      }),
      { numRuns: 150 },
    );
  });

  test("(d) members restarted from JSON snapshots mid-run still converge, with no duplicate delivery", () => {
    fc.assert(
      fc.property(scenario(true), (s) => {
        const { net, sent, settled } = run(s, PARAMS);
        assertConverged(net, sent, settled);
        assertNoDuplicates(net, sent);
      }),
      { numRuns: 100 },
    );
  });

  test("(b, c) with tiny buffers: never beyond a limit, never a duplicate", () => {
    const tiny: Partial<Params> = {
      ...PARAMS,
      maxPending: 6,
      maxPendingPerSender: 3,
      maxMissing: 8,
      maxGapPerDetection: 3,
      maxSeenIds: 1_000,
      repairCacheSize: 40,
      maxTrackedOwn: 8,
      ackRecentIds: 16,
    };
    fc.assert(
      fc.property(scenario(true), (s) => {
        const { net } = run(s, tiny);
        assert.deepEqual(net.violations, []);
      }),
      { numRuns: 60 },
    );
  });

  test("the harness itself: a reliable network converges without any repair traffic", () => {
    const net = new Network({ members: 4, seed: 1 });
    net.runUntil(JOINED);
    const sent = [0, 1, 2, 3, 0, 1].map((i) => net.send(i));
    assert.ok(net.settle());
    assertConverged(net, sent, true);
    assertNoDuplicates(net, sent);
    assert.equal(net.sent.get("repair-request") ?? 0, 0);
    assert.equal(net.sent.get("repair-response") ?? 0, 0);
    // Resends do happen: in a quiet channel the first acknowledgement comes with a sync, 60-180 s after
    // receipt at the defaults, and resendAfterMs is 30 s.
  });
});
