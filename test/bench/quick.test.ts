// `npm run bench -- --quick` runs to the end and writes a well-formed results document and chart.
// Benchmarks never fail on time: this checks that the figures exist and have the right shape, not their values.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { checkResults } from "../../bench/report.js";

const root = resolve(fileURLToPath(import.meta.url), "../../..");

test("quick benchmark run writes valid results JSON and an SVG chart", { timeout: 600_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), "chorus-bench-"));
  try {
    const run = spawnSync(process.execPath, ["--import", "tsx", "bench/run.ts", "--quick", "--out", out], {
      cwd: root,
      encoding: "utf8",
      timeout: 590_000,
    });
    assert.equal(run.status, 0, `bench exited with ${run.status ?? run.signal}\n${run.stderr}\n${run.stdout}`);
    assert.match(run.stdout, /CPU per message as the local log grows/);
    assert.match(run.stdout, /Wire bytes per message beyond the payload/);

    const results = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as Record<string, unknown>;
    assert.deepEqual(checkResults(results), []);
    assert.equal(results.mode, "quick");
    const cpu = results.cpu as {
      rows: { logSize: number; chorus: { variants: { crypto: string; verificationsPerDuplicate: number }[] } }[];
    };
    assert.deepEqual(
      cpu.rows.map((r) => r.logSize),
      [1_000, 2_000, 10_000],
    );
    // Every size measured without signatures, with OpenSSL and with the portable ed25519; duplicates never verified.
    for (const row of cpu.rows) {
      assert.deepEqual(
        row.chorus.variants.map((v) => v.crypto),
        ["none", "native", "portable"],
      );
      for (const v of row.chorus.variants) assert.equal(v.verificationsPerDuplicate, 0);
    }
    assert.match(run.stdout, /Chorus CPU per message by way of signing/);
    const wire = results.wire as { rows: { members: number }[] };
    assert.deepEqual(
      wire.rows.map((r) => r.members),
      [10, 100, 1_000],
    );

    const owner = results.owner as { rows: { members: number }[] };
    assert.deepEqual(
      owner.rows.map((r) => r.members),
      [100, 1_000],
    );
    assert.match(run.stdout, /Owner path: what the owner pays per message/);

    const svg = readFileSync(join(out, "latest.svg"), "utf8");
    assert.match(svg, /^<svg[\s\S]*<\/svg>\s*$/);
    assert.match(svg, /CPU per message/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
