// Seeded scenarios through the whole simulator, with assertions on the metrics (never on wall time).
// A failing assertion prints the seed and the metrics; `chorus sim` with the same options replays it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runSimulation, type ScenarioInput, type SimResult } from "../../src/sim/run.js";

async function run(input: ScenarioInput): Promise<SimResult> {
  return runSimulation(input);
}

function show(r: SimResult): string {
  const { params: _p, ...rest } = r;
  return `seed ${r.seed}: ${JSON.stringify(rest)}`;
}

describe("chorus scenarios", () => {
  test("lossless network: everything delivered once, nothing missed, overhead within the budget", async () => {
    const r = await run({
      seed: "lossless",
      members: 12,
      messages: 120,
      rate: 10,
      loss: 0,
      owner: false,
      settleMs: 60_000,
    });
    assert.equal(r.protocol, "chorus");
    assert.equal(r.delivery.expected, 11 * 120, show(r));
    assert.equal(r.delivery.ratio, 1, show(r));
    assert.equal(r.delivery.duplicates, 0, show(r));
    assert.equal(r.delivery.lost, 0, show(r));
    assert.equal(r.undetected_gaps, 0, show(r));
    assert.equal(r.detail.pairs_needing_repair, 0, show(r));
    assert.equal(r.latency_ms.gap_detection_p50, null, "no copy was dropped, so no gap had to be detected");
    assert.ok(r.overhead_bytes_per_message.p99! <= 512, `overhead p99 ${r.overhead_bytes_per_message.p99} > 512`);
    assert.ok(r.latency_ms.delivery_p50! < 200, show(r));
    assert.equal(r.acks.false_ack_rate, 0, show(r));
    assert.ok(r.detail.acknowledged_share! > 0.9, show(r));
  });

  test("10 % loss with an owner always online on the topic only: gaps detected and repaired, no duplicates", async () => {
    // The owner as a preferred responder on the topic, without the direct path (test/sim/owner-path.test.ts):
    // the topic repair that members fall back to when the owner is unreachable.
    const r = await run({
      seed: "owner",
      members: 15,
      messages: 150,
      rate: 10,
      loss: 0.1,
      owner: true,
      ownerPath: false,
      ownerAvailability: 1,
      settleMs: 300_000,
    });
    assert.ok(r.detail.pairs_needing_repair > 100, show(r));
    assert.ok(r.detail.pairs_detected >= 0.95 * r.detail.pairs_needing_repair, show(r));
    assert.ok(r.delivery.ratio! >= 0.95, show(r));
    assert.equal(r.delivery.duplicates, 0, show(r));
    // The tail of the traffic can go unnoticed when nothing follows it (see docs/parameters.md).
    assert.ok(r.undetected_gaps <= 0.005 * r.delivery.expected, show(r));
    assert.ok(r.latency_ms.gap_detection_p50! < 1_000, show(r));
    assert.ok(r.latency_ms.repair_p50! < 10_000, show(r));
    assert.ok(r.repair_broadcasts_per_loss! <= 2, show(r));
    assert.ok(r.acks.false_ack_rate! < 0.01, show(r));
    assert.ok(r.detail.publications["repair-response"]! > 0, show(r));
  });

  test("churn: offline members, late joiners, a partition and bursts are all exercised", async () => {
    const r = await run({
      seed: "churn",
      members: 15,
      messages: 150,
      rate: 5,
      loss: 0.05,
      burstLoss: 0.05,
      offline: 0.2,
      offlineMeanMs: 20_000,
      lateJoin: 0.2,
      partitions: [{ atMs: 5_000, durationMs: 5_000, fraction: 0.3 }],
      owner: true,
      settleMs: 300_000,
    });
    const d = r.detail.network.dropped;
    assert.ok(d.offline > 0 && d.partition > 0 && d.burst > 0 && d.independent > 0, JSON.stringify(d));
    // Late joiners are owed only what was sent after they joined.
    assert.ok(r.delivery.expected < 14 * 150, show(r));
    assert.equal(r.delivery.duplicates, 0, show(r));
    assert.ok(r.delivery.ratio! > 0.5, show(r));
    assert.equal(r.delivery.lost, r.delivery.expected - r.delivery.delivered);
  });
});

const realNow = Date.now;
const realRandom = Math.random;

describe("@waku/sds through the adapter", () => {
  test("same traffic and first-copy losses as chorus; the fixed bloom filter shows in the overhead", async () => {
    const scenario: ScenarioInput = {
      seed: "pair",
      members: 5,
      messages: 40,
      rate: 5,
      loss: 0.1,
      owner: false,
      settleMs: 60_000,
    };
    const sds = await run({ ...scenario, protocol: "sds" });
    const chorus = await run({ ...scenario, protocol: "chorus" });
    assert.equal(sds.protocol, "sds");
    assert.equal(sds.delivery.expected, chorus.delivery.expected);
    // Original publications draw their fate from their own stream: both protocols lose the same copies.
    assert.equal(sds.detail.pairs_needing_repair, chorus.detail.pairs_needing_repair);
    assert.ok(sds.detail.pairs_needing_repair > 0);
    assert.ok(sds.overhead_bytes_per_message.p50! > 18_000, show(sds));
    assert.ok(chorus.overhead_bytes_per_message.p99! <= 512, show(chorus));
    assert.equal(sds.acks.k_of_n_abs_error_mean, null, "SDS has no per-member receipts");
    assert.ok(sds.detail.acknowledged_share! > 0.5, show(sds));
    assert.equal(Date.now, realNow, "Date.now is restored after an SDS run");
    assert.equal(Math.random, realRandom, "Math.random is restored after an SDS run");
  });
});
