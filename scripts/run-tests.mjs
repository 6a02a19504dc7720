#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's test runner and tsx.
//
//   node scripts/run-tests.mjs                      all tests
//   node scripts/run-tests.mjs test/wire            only files under test/wire
//   node scripts/run-tests.mjs test/wire/codec.test.ts --test-name-pattern=limits
//
// Arguments starting with "--" go to node unchanged; the others are path prefixes.
// Node 20 does not expand globs for --test, so the file list is built here.
//
// The human-readable spec report goes to stdout. Node 20's spec reporter prints its summary as
// "ℹ tests N", but CI reads the TAP form "# tests N", so a TAP report is also written to a temporary
// file and its summary lines are printed at the end, followed by "N passed, N failed".
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(import.meta.url), "../..");
const args = process.argv.slice(2);
const nodeOptions = args.filter((a) => a.startsWith("--"));
const filters = args.filter((a) => !a.startsWith("--")).map((a) => toPosix(relative(root, resolve(a))));

function toPosix(path) {
  return path.split(sep).join("/");
}

const files = readdirSync(join(root, "test"), { recursive: true })
  .map((f) => `test/${toPosix(String(f))}`)
  .filter((f) => f.endsWith(".test.ts"))
  .filter((f) => filters.length === 0 || filters.some((p) => f === p || f.startsWith(`${p.replace(/\/$/, "")}/`)))
  .sort();

if (files.length === 0) {
  console.error(`run-tests: no test files match ${filters.length ? filters.join(", ") : "test/**/*.test.ts"}`);
  process.exit(1);
}

// Each test file runs in its own child process. Node's default (cores - 1) runs files one at a
// time on a 2-core machine; 2 keeps both cores busy. The cap keeps big machines from starting dozens.
const concurrency = Math.max(2, Math.min(availableParallelism(), 4));
const tapDir = mkdtempSync(join(tmpdir(), "chorus-tests-"));
const tapFile = join(tapDir, "report.tap");

const result = spawnSync(
  process.execPath,
  [
    // Without it, the "test at file:line" of a failure points into tsx's transpiled output.
    "--enable-source-maps",
    "--import",
    "tsx",
    "--test",
    `--test-concurrency=${concurrency}`,
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=tap",
    `--test-reporter-destination=${tapFile}`,
    ...nodeOptions,
    ...files,
  ],
  { cwd: root, stdio: "inherit" },
);

let summaryLines = [];
try {
  summaryLines = readFileSync(tapFile, "utf8")
    .split("\n")
    .filter((line) => /^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /.test(line));
} catch {
  // The runner died before writing its report; its exit code below says so.
}
rmSync(tapDir, { recursive: true, force: true });

if (summaryLines.length > 0) {
  const counts = Object.fromEntries(summaryLines.map((l) => l.slice(2).split(" ")));
  const failed = Number(counts.fail ?? 0) + Number(counts.cancelled ?? 0);
  console.log(`\n${summaryLines.join("\n")}`);
  console.log(`${counts.pass ?? 0} passed, ${failed} failed`);
} else {
  console.log("\nrun-tests: no summary (the test runner did not finish)");
}

if (result.error) {
  console.error(`run-tests: could not start node: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
