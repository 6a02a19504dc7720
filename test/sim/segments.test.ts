// Large payloads and RLN pacing in the simulator (src/sim/segments.ts, src/sim/rln-soak.ts), small enough
// to run in the suite: every member gets the payload, parity saves repair, repair over the owner path costs
// exactly the segments lost beyond the parity, and no node ever publishes more than its RLN limit in an epoch
// while everything is delivered.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runRlnSoak } from "../../src/sim/rln-soak.js";
import { runSegments } from "../../src/sim/segments.js";

const base = {
  members: 21,
  payloadBytes: 1_000_000,
  segmentSize: 102_400,
  seed: 1,
  memberResponseDelayMs: 1_000,
  backupResponders: 1,
  horizonMs: 1_800_000,
};

describe("segmented payloads in the simulator", () => {
  test("20 % loss, owner path: every member reassembles; repair is one unicast answer per segment lost beyond the parity", () => {
    // The target of issue 18, per seed and per member: repair traffic (segment copies sent because a member
    // lacked them, over the topic or unicast) is no larger than the segments lost beyond the parity.
    for (const seed of [1, 2, 3]) {
      const r = runSegments({ ...base, seed, parityRate: 0.125, loss: 0.2, ownerPath: true });
      assert.equal(r.paritySegments, 2);
      assert.equal(r.delivered, r.members, `seed ${seed}: every member reassembles`);
      assert.ok(r.lostBeyondParity > 0, `seed ${seed} loses more than the parity somewhere`);
      assert.ok(
        r.repairSegments <= r.lostBeyondParity,
        `seed ${seed}: ${r.repairSegments} segments sent for repair, ${r.lostBeyondParity} lost beyond parity`,
      );
      assert.equal(r.segmentAnswers, 0, `seed ${seed}: no segment repaired over the topic`);
      r.perMember.forEach((m, i) => {
        assert.ok(
          m.fetched <= m.lostBeyondParity,
          `seed ${seed}, member ${i + 1}: ${m.fetched} for ${m.lostBeyondParity}`,
        );
        if (m.lost <= r.paritySegments) assert.equal(m.fetched, 0, `seed ${seed}, member ${i + 1} had enough parity`);
      });
      assert.ok(r.maxPerEpoch <= 100);
    }
  });

  test("20 % loss, topic only (no owner path): delivered to every member; parity saves answers", () => {
    // The fallback: answers ride the topic, where each is lost for a fifth of its requesters, so the bound is
    // the one a lossy broadcast allows (needs / (1 - loss), summed over seeds since it scatters per seed).
    const seeds = [1, 2, 3];
    const runs = seeds.map((seed) => runSegments({ ...base, seed, parityRate: 0.125, loss: 0.2 }));
    const without = seeds.map((seed) => runSegments({ ...base, seed, parityRate: 0, loss: 0.2 }));
    const sum = (rs: typeof runs, f: (r: (typeof runs)[number]) => number) => rs.reduce((s, r) => s + f(r), 0);
    for (const r of runs) {
      assert.equal(r.paritySegments, 2);
      assert.equal(r.delivered, r.members);
      assert.ok(r.maxPerEpoch <= 100);
    }
    for (const r of without) assert.equal(r.delivered, r.members);
    const answers = sum(runs, (r) => r.segmentAnswers);
    const needs = sum(runs, (r) => r.lostBeyondParity);
    assert.ok(needs > 0, "the seeds lose more than the parity somewhere");
    assert.ok(answers <= needs / (1 - 0.2), `${answers} answers for ${needs} segments lost beyond parity`);
    assert.ok(answers < sum(without, (r) => r.segmentAnswers), "parity saves answers");
    assert.ok(sum(runs, (r) => r.noRepair) > sum(without, (r) => r.noRepair), "parity spares members a repair");
  });

  test("5 % loss with parity: most members ask for nothing, with and without the owner path", () => {
    for (const ownerPath of [false, true]) {
      const r = runSegments({ ...base, parityRate: 0.125, loss: 0.05, ownerPath });
      assert.equal(r.delivered, r.members);
      assert.ok(
        r.noRepair * 2 > r.members,
        `${r.noRepair} of ${r.members} asked for nothing (owner path ${ownerPath})`,
      );
      assert.ok(r.repairSegments <= r.lostBeyondParity || !ownerPath);
    }
  });
});

describe("RLN pacing in the simulator", () => {
  test("floods and a large payload: no epoch over the limit, the limit binds, delivery 1.0", () => {
    const r = runRlnSoak({
      members: 4,
      hours: 2,
      seed: 2,
      loss: 0.05,
      memberLimit: 100,
      ownerLimit: 600,
      chatEveryMinutes: 10,
      burstsPerDay: 24,
      burstMessages: 150,
      burstPayloadBytes: 300_000,
    });
    assert.equal(r.epochsOverLimit, 0);
    assert.ok(r.maxMemberPerEpoch <= 100);
    assert.ok(r.maxMemberPerEpoch >= 90, `a flood of 150 fills an epoch's content share (${r.maxMemberPerEpoch})`);
    assert.ok(r.maxQueued > 50, "the flood waited in the pacer");
    assert.ok(r.payloadsSent > 0);
    assert.equal(r.delivery, 1);
  });
});
