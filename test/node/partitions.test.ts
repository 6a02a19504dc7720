// Partitions between real hosts, short: `chorus node` processes in their own network namespaces, the owner
// cut off, a member cut off, the channel split in halves, loss on a member's link; each must end with every
// log identical, nothing lost or duplicated and every receipt at N of N. `npm run partitions` is the long
// version with the full report. Needs root, iproute2 and nftables; skipped where namespaces are not allowed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { namespacesUnavailable } from "../../scripts/partitions/netlab.js";
import type { RunReport } from "../../scripts/partitions/report.js";

const unavailable = namespacesUnavailable();
const skip =
  unavailable === undefined
    ? false
    : `network namespaces are not allowed here (${unavailable}); the partition harness needs root, iproute2 and nftables`;

const QUICK = ["owner-isolated", "member-partitioned", "split", "member-loss"];

test("partitions: owner cut off, member cut off, split halves, lossy link; all converge", { skip }, () => {
  const out = mkdtempSync(join(tmpdir(), "chorus-partitions-test-"));
  try {
    const result = spawnSync(
      process.execPath,
      ["--import", "tsx", "scripts/partitions.ts", "--quick", "--scenarios", QUICK.join(","), "--out", out],
      {
        encoding: "utf8",
        timeout: 240_000,
      },
    );
    for (const line of result.stdout.split("\n").filter((l) => /^ {2}(ok|FAILED) /.test(l))) console.log(`# ${line}`);
    assert.equal(result.status, 0, `the harness failed:\n${result.stdout}\n${result.stderr.slice(-2000)}`);
    const report = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as RunReport;
    assert.deepEqual(
      report.scenarios.map((s) => s.name),
      QUICK,
    );
    for (const s of report.scenarios) {
      assert.ok(s.converged, `${s.name} did not converge: ${s.problems.join("; ")}`);
      assert.equal(s.lost, 0, `${s.name}: lost`);
      assert.equal(s.duplicated, 0, `${s.name}: duplicated`);
      assert.equal(s.outOfSequence, 0, `${s.name}: out of sequence`);
      assert.equal(s.leaks, 0, `${s.name}: the fault let messages through`);
      assert.ok(s.sent.during > 0, `${s.name}: nothing was sent during the fault`);
      // Each cut must have kept someone from a message until the heal (the loss scenario cuts nobody).
      if (s.name !== "member-loss") assert.ok(s.deliveryAfterHeal.count > 0, `${s.name}: nothing crossed the cut`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
