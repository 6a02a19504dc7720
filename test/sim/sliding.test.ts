// Sliding windows (src/sim/sliding.ts): a split run's shards each run up to the others' published safe times plus
// the latency floor. Here every crossing takes exactly the floor, so each shipment is due at the very time up to
// which its receiver may run: a limit one tick too far, or a shipment read after the safe time that covers it, runs
// the receiver past it (refused by `World.receive`, or a different JSON).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createProtocol, resultJson, runSimulation, type ScenarioInput } from "../../src/sim/run.js";
import { resolveScenario } from "../../src/sim/scenario.js";
import { LocalShard, runShards, type ShardHandle, type ShardStatus } from "../../src/sim/shards.js";
import { SlidingClock } from "../../src/sim/sliding.js";
import { World } from "../../src/sim/world.js";

const exact: ScenarioInput = {
  seed: "lookahead",
  members: 24,
  messages: 60,
  rate: 10,
  loss: 0.1,
  // Every copy and every direct-path leg takes the floor exactly (a log-normal of no spread).
  latencyMs: 5,
  latencyP99Ms: 5,
  latencyFloorMs: 5,
  pathLatencyMs: 5,
  owner: true,
  ownerAvailability: 0.9,
  ownerOutageMeanMs: 5_000,
  pathFailure: 0.05,
  warmupMs: 5_000,
  settleMs: 30_000,
};

describe("sliding windows", () => {
  test("every crossing due exactly at the lookahead: the same JSON split or not", async () => {
    const one = await runSimulation(exact, { workers: 1 });
    const text = resultJson(one, false);
    assert.ok(one.detail.pairs_needing_repair > 0, "the scenario repairs, so requests and answers cross");
    assert.equal(resultJson(await runSimulation(exact, { workers: 2 }), false), text, "2 workers");
    assert.equal(resultJson(await runSimulation(exact, { workers: 3 }), false), text, "3 workers");
    const inline = await runSimulation(exact, { workers: 3, inline: true, sliding: true });
    assert.equal(resultJson(inline, false), text, "3 shards sliding in this thread");
  });

  test("a shipment due before the time its receiver has run up to is refused", async () => {
    const scenario = resolveScenario(exact);
    const world = new World(scenario, await createProtocol(scenario), { place: { index: 1, count: 2 } });
    world.begin();
    const upTo = world.now + 1_000;
    await world.advance(upTo);
    const late = { at: upTo - 0.5, tie: 0, node: 0, channel: "path/request", data: undefined };
    assert.throws(
      () => world.receive({ pubs: [], events: [late], notes: [] }),
      /shard 1 received an event due at .* before .*a shipment too late/,
    );
    // Due exactly at that time is in time.
    const onTime = { ...late, at: upTo };
    assert.doesNotThrow(() => world.receive({ pubs: [], events: [onTime], notes: [] }));
  });

  test("the shared clock stores safe times whole, the end of a shard as +Infinity", () => {
    const clock = SlidingClock.create(3, 1_700_000_000_000.25);
    assert.equal(clock.safeTime(2), 1_700_000_000_000.25);
    const bump = clock.bump;
    clock.publish(1, Number.POSITIVE_INFINITY);
    assert.equal(clock.safeTime(1), Number.POSITIVE_INFINITY);
    assert.equal(clock.bump, bump + 1);
    const seen = new SlidingClock(clock.buffer, 3);
    assert.equal(seen.safeTime(1), Number.POSITIVE_INFINITY);
    assert.equal(seen.stopped, false);
    clock.stop();
    assert.equal(seen.stopped, true);
  });

  test("a shard that fails ends the run with its error once the others have stopped", async () => {
    const scenario = resolveScenario(exact);
    const local = new LocalShard(
      new World(scenario, await createProtocol(scenario), { place: { index: 0, count: 2 } }),
    );
    let closed = false;
    const failing: ShardHandle = {
      begin: async (): Promise<ShardStatus> => ({ nextAt: 0, ended: false, now: 0, events: 0, sent: 0 }),
      slide: async () => {
        throw new Error("shard 1 broke");
      },
      share: async () => undefined,
      finish: async () => {
        throw new Error("finish is not reached");
      },
      close: async () => {
        closed = true;
      },
    };
    // Shard 0 waits for shard 1's safe time, which never comes: the failure must stop it, not leave it waiting.
    await assert.rejects(runShards(scenario, [local, failing]), /shard 1 broke/);
    assert.ok(closed, "every shard is closed");
  });
});
