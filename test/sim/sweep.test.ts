// The study tooling: grid expansion, the markdown and HTML reports, and the `chorus sim` commands.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Command } from "commander";
import { registerSimCommand } from "../../src/sim/cli.js";
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

describe("chorus sim command", () => {
  function program(): Command {
    const p = new Command().name("chorus").exitOverride();
    registerSimCommand(p);
    return p;
  }

  test("writes the JSON and HTML files it is asked for", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chorus-sim-"));
    const out = process.stdout.write;
    let printed = "";
    process.stdout.write = ((chunk: string) => {
      printed += chunk;
      return true;
    }) as typeof process.stdout.write;
    try {
      await program().parseAsync(
        [
          "sim",
          "--members",
          "4",
          "--messages",
          "15",
          "--loss",
          "0.1",
          "--owner",
          "off",
          "--seed",
          "cli",
          "--settle-ms",
          "20000",
          "--param",
          "causalHistorySize=3",
          "--json",
          join(dir, "r.json"),
          "--html",
          join(dir, "r.html"),
          "--quiet",
        ],
        { from: "user" },
      );
    } finally {
      process.stdout.write = out;
    }
    try {
      const json = JSON.parse(readFileSync(join(dir, "r.json"), "utf8"));
      assert.equal(json.protocol, "chorus");
      assert.equal(json.seed, "cli");
      assert.equal(json.params.members, 4);
      assert.equal(json.params.owner, false);
      assert.equal(json.params.engine.causalHistorySize, 3);
      for (const key of [
        "delivery",
        "latency_ms",
        "overhead_bytes_per_message",
        "bandwidth_bytes_per_member_per_minute",
        "control_messages_per_member_per_600s",
        "repair_broadcasts_per_loss",
        "acks",
        "undetected_gaps",
        "wall_ms",
      ]) {
        assert.ok(key in json, `JSON has ${key}`);
      }
      assert.match(readFileSync(join(dir, "r.html"), "utf8"), /<svg/);
      assert.match(printed, /delivery ratio/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("sim sweep reads its config and writes the markdown table", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chorus-sweep-"));
    try {
      writeFileSync(
        join(dir, "sweep.json"),
        JSON.stringify({ base: { members: 3, messages: 8, settleMs: 10_000, owner: false }, grid: { loss: [0, 0.1] } }),
      );
      await program().parseAsync(
        [
          "sim",
          "sweep",
          "--config",
          join(dir, "sweep.json"),
          "--markdown",
          join(dir, "t.md"),
          "--json",
          join(dir, "t.json"),
          "--html",
          join(dir, "t.html"),
          "--quiet",
        ],
        { from: "user" },
      );
      assert.equal(readFileSync(join(dir, "t.md"), "utf8").trim().split("\n").length, 4);
      assert.equal(JSON.parse(readFileSync(join(dir, "t.json"), "utf8")).runs.length, 2);
      assert.match(readFileSync(join(dir, "t.html"), "utf8"), /<svg/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("rejects a bad value with a message that names it", async () => {
    const p = program();
    p.commands[0]!.exitOverride().configureOutput({ writeErr: () => undefined });
    await assert.rejects(p.parseAsync(["sim", "--loss", "1.5"], { from: "user" }), /--loss must be a number in 0\.\.1/);
  });
});
