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
    assert.ok(!a.includes("wall_ms"));
    assert.ok(resultJson(await runSimulation({ ...churn, seed: "7", messages: 5 })).includes('"wall_ms"'));
  });

  test("sds: same seed, same JSON", async () => {
    const small: ScenarioInput = { ...churn, protocol: "sds", members: 4, messages: 25 };
    const a = resultJson(await runSimulation({ ...small, seed: "7" }), false);
    const b = resultJson(await runSimulation({ ...small, seed: "7" }), false);
    assert.equal(a, b);
  });
});
