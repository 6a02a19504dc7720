// The owner's clock bills every call: its own time at the process's CPU share, plus the work billed without running.
import assert from "node:assert/strict";
import { test } from "node:test";
import { OwnerClock } from "../../src/sim/owner-clock.js";

test("nothing timed is nothing billed; billed extras add up exactly; work is billed across windows", () => {
  const clock = new OwnerClock();
  assert.equal(clock.cpuUs, 0);
  for (let i = 0; i < 3; i++) clock.stop(clock.start(), 250);
  const billed = clock.cpuUs;
  assert.ok(billed >= 750 && Number.isFinite(billed), `billed ${billed} µs`);
  // 600 calls (more than two windows) that each do some work: all of it is billed, none twice.
  let sink = 0;
  for (let i = 0; i < 600; i++) {
    const started = clock.start();
    for (let j = 0; j < 2_000; j++) sink += Math.sqrt(j + i);
    clock.stop(started, 0);
  }
  assert.ok(sink > 0);
  assert.ok(clock.cpuUs > billed, `${clock.cpuUs} µs after the work, ${billed} before`);
  assert.equal(clock.cpuUs, clock.cpuUs, "reading settles once");
});
