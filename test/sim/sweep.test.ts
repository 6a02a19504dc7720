// The study tooling: grid expansion, the markdown and HTML reports, and scenario validation (the `chorus sim`
// commands are tested in test/cli/sim-command.test.ts).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runHtml, sweepHtml, sweepMarkdown } from "../../src/sim/report.js";
import { resolveScenario } from "../../src/sim/scenario.js";
import { expandSweep, runSweep } from "../../src/sim/sweep.js";

describe("sweep", () => {
  test("expands a grid in a fixed order, with dotted keys into engine parameters, then extra runs", () => {
    const plan = expandSweep({
      base: { messages: 10, params: { syncIntervalMs: 60_000 } },
      grid: { members: [5, 10], "params.causalHistorySize": [1, 3] },
      runs: [{ protocol: "sds", members: 3 }],
    });
    assert.deepEqual(
      plan.map((p) => p.point),
      [
        { members: 5, "params.causalHistorySize": 1 },
        { members: 5, "params.causalHistorySize": 3 },
        { members: 10, "params.causalHistorySize": 1 },
        { members: 10, "params.causalHistorySize": 3 },
        { run: 0, protocol: "sds", members: 3 },
      ],
    );
    assert.deepEqual(plan[1]!.scenario.params, { syncIntervalMs: 60_000, causalHistorySize: 3 });
    assert.equal(plan[4]!.scenario.protocol, "sds");
    assert.equal(plan[0]!.scenario.seed, "1");
    assert.throws(() => expandSweep({ grid: { members: [] } }), /non-empty array/);
    assert.throws(() => expandSweep({ grid: { "foo.bar": [1] } }), /dotted name/);
  });

  test("runs a small grid and reports it as markdown and as self-contained HTML with SVG charts", async () => {
    const sweep = await runSweep({
      name: "tiny",
      base: { members: 4, messages: 20, rate: 10, settleMs: 30_000, owner: false },
      grid: { loss: [0, 0.2] },
    });
    assert.equal(sweep.runs.length, 2);
    const md = sweepMarkdown(sweep);
    const lines = md.trim().split("\n");
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, /^\| protocol \| loss \| delivery ratio \|/);
    const html = sweepHtml(sweep);
    assert.match(html, /^<!doctype html>/);
    assert.ok((html.match(/<svg/g) ?? []).length >= 5, "one chart per metric");
    assert.ok(!/<script|src=|href=/.test(html), "self-contained: no scripts, no external resources");
    const one = runHtml(sweep.runs[1]!.result);
    assert.match(one, /<svg/);
    assert.match(one, /delivery\.ratio/);
  });
});

describe("scenario validation", () => {
  test("names the bad option", () => {
    assert.throws(() => resolveScenario({ loss: 2 }), /loss must be a number in 0\.\.1, got 2/);
    assert.throws(() => resolveScenario({ members: 1 }), /members must be a number in 2/);
    assert.throws(() => resolveScenario({ params: { causalHistorySize: -1 } }), /causalHistorySize/);
    assert.equal(resolveScenario({ latencyMs: 50 }).latencyP99Ms, 200, "p99 defaults to 4 x the median");
  });
});
