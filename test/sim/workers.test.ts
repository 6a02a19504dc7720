// A run split across worker threads gives the same JSON, byte for byte, as the run in one thread: members split
// in ranges (the owner in shard 0, which holds fewer members), windows of the latency floor, copies, direct-path calls and the message
// registry shipped between windows, records merged in shard order (docs/simulator.md, "Parallel runs").
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { resultJson, runSimulation, type ScenarioInput } from "../../src/sim/run.js";

const scenario: ScenarioInput = {
  seed: "17",
  members: 30,
  messages: 100,
  rate: 5,
  loss: 0.05,
  burstLoss: 0.03,
  offline: 0.15,
  offlineMeanMs: 15_000,
  lateJoin: 0.2,
  owner: true,
  ownerAvailability: 0.8,
  ownerOutageMeanMs: 20_000,
  pathFailure: 0.05,
  partitions: [{ atMs: 5_000, durationMs: 4_000, fraction: 0.3 }],
  warmupMs: 30_000,
  settleMs: 120_000,
};

describe("worker threads", () => {
  test("1, 2 and 3 workers: the same JSON but for wall time, memory and the owner's CPU", async () => {
    const one = await runSimulation(scenario, { workers: 1 });
    const text = resultJson(one, false);
    // The scenario exercises what crosses workers: losses, repairs, offline spells, outages, path failures.
    assert.ok(one.detail.pairs_needing_repair > 0 && one.detail.network.dropped.offline > 0, text);
    const calls = (one.detail.owner_path as { calls: Record<string, { calls: number; failures: number }> }).calls;
    assert.ok(calls.fetch!.calls > 0 && calls.report!.calls > 0 && calls.report!.failures > 0, JSON.stringify(calls));
    assert.ok(one.series.timeline.offline_share.some((v) => v > 0));
    for (const workers of [2, 3]) {
      const split = await runSimulation(scenario, { workers });
      assert.equal(resultJson(split, false), text, `${workers} workers`);
    }
  });

  test("the shards of a split run in this thread give the same JSON too", async () => {
    const small = { ...scenario, members: 12, messages: 40 };
    const one = resultJson(await runSimulation(small), false);
    assert.equal(resultJson(await runSimulation(small, { workers: 4, inline: true }), false), one);
  });

  test("what cannot be split is refused with a precise message", async () => {
    await assert.rejects(
      runSimulation({ ...scenario, protocol: "sds" }, { workers: 2 }),
      /workers > 1 runs chorus only/,
    );
    await assert.rejects(
      runSimulation({ ...scenario, latencyFloorMs: 0 }, { workers: 2 }),
      /latencyFloorMs > 0, got 0/,
    );
    await assert.rejects(runSimulation(scenario, { workers: 0 }), /workers must be an integer in 1..64, got 0/);
  });
});
