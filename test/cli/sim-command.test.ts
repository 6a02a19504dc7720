// The `chorus sim` and `chorus sim sweep` commands: options, files written, and errors naming the option.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { Progress, runProgressLabel } from "../../src/cli/progress.js";
import { registerSimCommand, scenarioFromOptions } from "../../src/cli/sim-command.js";
import { resolveScenario } from "../../src/sim/scenario.js";
import { replayCommand } from "../../src/sim/scenario-text.js";

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
    await assert.rejects(
      p.parseAsync(["sim", "--workers", "0"], { from: "user" }),
      /--workers must be an integer in 1\.\.64/,
    );
  });

  test("splits a run over worker threads when started from a directory outside the project", () => {
    // The workers load the sources through tsx; it used to be looked up from the working directory.
    const dir = mkdtempSync(join(tmpdir(), "chorus-sim-cwd-"));
    try {
      const bin = fileURLToPath(new URL("../../bin/chorus.js", import.meta.url));
      const args = ["sim", "--members", "6", "--messages", "10", "--workers", "2", "--seed", "3", "-q"];
      const run = spawnSync(process.execPath, [bin, ...args, "--json", join(dir, "out.json")], {
        cwd: dir,
        encoding: "utf8",
      });
      assert.equal(run.status, 0, `exit status 0, stderr: ${run.stderr}`);
      const out = JSON.parse(readFileSync(join(dir, "out.json"), "utf8")) as { delivery: { ratio: number } };
      assert.equal(out.delivery.ratio, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--help shows the default of every option that has one", () => {
    const sim = program().commands[0]!;
    const help = sim.helpInformation().replace(/\s+/g, " ");
    const noDefault = new Set(["--param", "--scenario", "--json", "--html", "--quiet", "--help"]);
    for (const o of sim.options) {
      if (noDefault.has(o.long!)) continue;
      assert.match(o.description, /\(default: [^)]+\)/, `${o.long} shows its default`);
    }
    for (const text of ["(default: 100)", "(default: 0.05)", "(default: 4 x --latency-ms)", "(default: chorus)"]) {
      assert.ok(help.includes(text), `help shows ${text}`);
    }
    // Shown, not set: a scenario file's values are not overridden by defaults.
    const parsed = program().commands[0]!.exitOverride();
    parsed.parseOptions([]);
    assert.deepEqual(scenarioFromOptions(parsed.opts()), {});
  });

  test("the replay command of a run parses back to the same scenario", () => {
    const args = [
      "--members",
      "12",
      "--loss",
      "0.2",
      "--offline",
      "0.1",
      "--latency-ms",
      "50",
      "--owner-outage-mean-ms",
      "9000",
      "--zipf-exponent",
      "1.5",
      "--partition",
      "1000:2000:0.25",
      "--param",
      "causalHistorySize=3",
      "--seed",
      "r",
    ];
    const first = program().commands[0]!.exitOverride();
    first.parseOptions(args);
    const scenario = resolveScenario(scenarioFromOptions(first.opts()));
    const params = {
      members: 12,
      messages: 1000,
      rate: 5,
      mix: "heavy",
      zipf_exponent: 1.5,
      content_bytes: 80,
      loss: 0.2,
      burst_loss: 0,
      burst_mean_ms: 2000,
      burst_bad_loss: 1,
      latency_ms: 50,
      latency_p99_ms: 200,
      offline: 0.1,
      offline_mean_ms: 120000,
      late_join: 0,
      partitions: [{ at_ms: 1000, duration_ms: 2000, fraction: 0.25 }],
      owner: true,
      owner_availability: 0.95,
      owner_outage_mean_ms: 9000,
      owner_path: true,
      path_latency_ms: 50,
      path_failure: 0,
      report_interval_ms: 250,
      warmup_ms: 240000,
      warmup_rate: 0.2,
      settle_ms: 600000,
      engine: { ...Object.fromEntries(Object.entries({ causalHistorySize: 3 })) },
    };
    const replay = replayCommand(params, ["chorus"], "r");
    assert.equal(
      replay,
      "chorus sim --members 12 --zipf-exponent 1.5 --loss 0.2 --latency-ms 50 --offline 0.1 --owner-outage-mean-ms 9000 --partition 1000:2000:0.25 --param causalHistorySize=3 --seed r",
    );
    const again = program().commands[0]!.exitOverride();
    again.parseOptions(replay.split(" ").slice(2));
    assert.deepEqual(resolveScenario(scenarioFromOptions(again.opts())), scenario);
  });

  test("--protocol chorus,sds runs both on the same scenario: a JSON array, one report, both in the summary", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chorus-sim-both-"));
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
          "3",
          "--messages",
          "8",
          "--owner",
          "off",
          "--settle-ms",
          "10000",
          "--warmup-ms",
          "5000",
          "--protocol",
          "chorus,sds",
          "--seed",
          "both",
          "--json",
          join(dir, "r.json"),
          "--html",
          join(dir, "r.html"),
          "-q",
        ],
        { from: "user" },
      );
    } finally {
      process.stdout.write = out;
    }
    try {
      const json = JSON.parse(readFileSync(join(dir, "r.json"), "utf8"));
      assert.deepEqual(
        json.map((r: { protocol: string }) => r.protocol),
        ["chorus", "sds"],
      );
      assert.equal(json[0].delivery.expected, json[1].delivery.expected, "the same traffic for both");
      assert.match(readFileSync(join(dir, "r.html"), "utf8"), /Chorus simulation: chorus and sds/);
      // The test runner shares stdout; the summary starts at its first line.
      printed = printed.slice(printed.indexOf("scenario: 3 members"), printed.indexOf("chorus:\n"));
      assert.match(printed, /^scenario: 3 members, no owner; 8 messages/m);
      assert.match(
        printed,
        /^replay: chorus sim --members 3 --messages 8 --owner off .*--protocol chorus,sds --seed both$/m,
      );
      assert.match(printed, /^protocol +chorus +sds$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const p = program();
    p.commands[0]!.exitOverride().configureOutput({ writeErr: () => undefined });
    await assert.rejects(
      p.parseAsync(["sim", "--protocol", "chorus,mvds"], { from: "user" }),
      /got "mvds" in "chorus,mvds"/,
    );
  });

  test("the progress bar shows messages x members, events per second and the time left, on a terminal only", () => {
    assert.equal(
      runProgressLabel({ sent: 312, messages: 1000, members: 1000, events: 52_000 }, 2_000),
      "312 of 1,000 messages × 1,000 members | 26,000 events/s",
    );
    let text = "";
    const tty = {
      isTTY: true,
      columns: 160,
      write: (s: string) => {
        text += s;
        return true;
      },
    };
    const bar = new Progress(100, { stream: tty, delayMs: 0 });
    bar.update(40, "312 of 1,000 messages × 1,000 members | 26,000 events/s");
    bar.stop();
    assert.match(text, /40%/);
    assert.match(text, /ETA /);
    assert.match(text, /events\/s/);
    let piped = "";
    const pipe = {
      isTTY: false,
      write: (s: string) => {
        piped += s;
        return true;
      },
    };
    const silent = new Progress(100, { stream: pipe, delayMs: 0 });
    silent.update(40, "x");
    silent.stop();
    assert.equal(piped, "", "nothing when the stream is not a terminal");
  });
});
