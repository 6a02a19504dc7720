// The `chorus sim` and `chorus sim sweep` commands: options, files written, and errors naming the option.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Command } from "commander";
import { registerSimCommand, scenarioFromOptions } from "../../src/cli/sim-command.js";

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
        "receipts",
        "bandwidth_vs_content",
        "topic_repair_broadcasts_per_loss",
        "owner",
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

  test("the owner path options reach the scenario", () => {
    const sim = program()
      .commands[0]!.exitOverride()
      .configureOutput({ writeErr: () => undefined });
    sim.parseOptions([
      "--owner-path",
      "off",
      "--path-latency-ms",
      "40",
      "--path-failure",
      "0.05",
      "--report-interval-ms",
      "1000",
    ]);
    const scenario = scenarioFromOptions(sim.opts());
    assert.equal(scenario.ownerPath, false);
    assert.equal(scenario.pathLatencyMs, 40);
    assert.equal(scenario.pathFailure, 0.05);
    assert.equal(scenario.reportIntervalMs, 1000);
    const bad = program()
      .commands[0]!.exitOverride()
      .configureOutput({ writeErr: () => undefined });
    assert.throws(() => bad.parseOptions(["--owner-path", "maybe"]), /--owner-path must be on or off, got "maybe"/);
  });

  test("rejects a bad value with a message that names it", async () => {
    const p = program();
    p.commands[0]!.exitOverride().configureOutput({ writeErr: () => undefined });
    await assert.rejects(p.parseAsync(["sim", "--loss", "1.5"], { from: "user" }), /--loss must be a number in 0\.\.1/);
  });
});
