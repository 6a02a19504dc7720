// The short simulated soak: a few virtual hours at chat rates with churn; every buffer of every member stays
// within its configured bound every hour, the working set does not build up, and chat never hits the rate
// quota. `npm run soak` is the 24-hour version.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BUFFERS, runSoak, WORKING_SET } from "../../src/sim/soak.js";

test("soak, 3 virtual hours: buffers within their bounds every hour, no rate-quota refusals at chat rates", async () => {
  const result = await runSoak({ hours: 3, scenario: { seed: "1", members: 40 } });
  const { samples, bounds } = result;
  assert.deepEqual(
    samples.map((s) => s.hour),
    [1, 2, 3],
  );
  for (const s of samples) {
    for (const b of BUFFERS) {
      const bound = bounds[b];
      if (bound !== undefined) assert.ok(s.max[b] <= bound, `hour ${s.hour}: ${b} ${s.max[b]} > ${bound}`);
    }
    // Work in progress stays small next to its bounds: a few dozen gaps and waiting messages at most.
    for (const b of WORKING_SET) assert.ok(s.max[b] <= 1_000, `hour ${s.hour}: ${b} ${s.max[b]}`);
    assert.ok(s.max.quotas <= s.max.members + 1, "one bucket per member heard from, at most");
  }
  const rejected = result.detail.rejected;
  assert.deepEqual(
    Object.keys(rejected).filter((r) => r.includes("quota")),
    [],
    `chat rates never hit the quota: ${JSON.stringify(rejected)}`,
  );
  assert.ok((result.metrics.delivery.ratio ?? 0) > 0.95, `delivery ratio ${result.metrics.delivery.ratio}`);
  assert.equal(result.metrics.delivery.duplicates, 0);
  // Members back from their offline spells reconnect to the owner and catch up by range.
  const calls = (result.detail.owner_path as { calls: Record<string, { calls: number }> } | null)?.calls;
  assert.ok((calls?.range?.calls ?? 0) > 0, `catch-ups after offline spells: ${JSON.stringify(calls)}`);
});
