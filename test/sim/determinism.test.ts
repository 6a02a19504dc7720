// The same seed and options give the same JSON, byte for byte, once wall_ms (the only wall-clock figure) is removed.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { resultJson, runSimulation, type ScenarioInput } from "../../src/sim/run.js";

const churn: ScenarioInput = {
  members: 10,
  messages: 80,
  rate: 8,
  loss: 0.1,
  burstLoss: 0.05,
  offline: 0.1,
  offlineMeanMs: 10_000,
  lateJoin: 0.2,
  partitions: [{ atMs: 2_000, durationMs: 3_000, fraction: 0.2 }],
  settleMs: 120_000,
};

describe("determinism", () => {
  test("chorus: same seed, same JSON; another seed, another JSON", async () => {
    const a = resultJson(await runSimulation({ ...churn, seed: "7" }), false);
    const b = resultJson(await runSimulation({ ...churn, seed: "7" }), false);
    const c = resultJson(await runSimulation({ ...churn, seed: "8" }), false);
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.ok(!a.includes("wall_ms") && !a.includes("peak_rss_bytes"));
    const short = await runSimulation({ ...churn, seed: "7", messages: 5 });
    assert.ok(resultJson(short).includes('"wall_ms"'));
    // The process's memory: its peak, and what it grew by per node, both measured.
    assert.ok(short.memory.peak_rss_bytes > 0);
    assert.ok(short.memory.per_member_bytes >= 0 && short.memory.per_member_bytes < short.memory.peak_rss_bytes);
  });

  test("chorus with the owner path: same seed, same JSON (its CPU figure aside), with path failures and outages", async () => {
    const path: ScenarioInput = {
      ...churn,
      owner: true,
      ownerPath: true,
      offline: 0.2,
      offlineMeanMs: 10_000,
      lateJoin: 0.2,
      ownerAvailability: 0.7,
      ownerOutageMeanMs: 20_000,
      pathFailure: 0.1,
      partitions: [{ atMs: 2_000, durationMs: 3_000, fraction: 0.3 }],
    };
    const a = await runSimulation({ ...path, seed: "7" });
    const b = await runSimulation({ ...path, seed: "7" });
    const c = await runSimulation({ ...path, seed: "8" });
    assert.equal(resultJson(a, false), resultJson(b, false));
    assert.notEqual(resultJson(a, false), resultJson(c, false));
    assert.ok(!resultJson(a, false).includes("cpu_us_per_message"));
    assert.ok(resultJson(a).includes("cpu_us_per_message"));
    assert.ok(a.owner.cpu_us_per_message! > 0, JSON.stringify(a.owner));
    const calls = (a.detail.owner_path as { calls: Record<string, { failures: number }> }).calls;
    const failures = Object.values(calls).reduce((n, k) => n + k.failures, 0);
    assert.ok(failures > 0, "path failures and outages make calls fail");
  });

  test("sds: same seed, same JSON", async () => {
    const small: ScenarioInput = { ...churn, protocol: "sds", members: 4, messages: 25 };
    const a = resultJson(await runSimulation({ ...small, seed: "7" }), false);
    const b = resultJson(await runSimulation({ ...small, seed: "7" }), false);
    assert.equal(a, b);
  });
});
