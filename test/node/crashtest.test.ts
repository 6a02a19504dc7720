// The crash test, short: real nodes killed with SIGKILL at random moments and restarted; nothing the API
// acknowledged may be lost or delivered twice. `npm run crashtest -- --runs 100` is the long version.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

test("crashtest: 3 SIGKILLs with restarts lose nothing and duplicate nothing", () => {
  const result = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "scripts/crashtest.ts",
      "--runs",
      "3",
      "--members",
      "2",
      "--messages-per-run",
      "8",
      "--seed",
      "7",
    ],
    { encoding: "utf8", timeout: 480_000 },
  );
  const summary = result.stdout.split("\n").find((l) => l.startsWith("crashtest: runs")) ?? "";
  console.log(`# ${summary}`);
  assert.equal(result.status, 0, `crashtest failed:\n${result.stdout}\n${result.stderr.slice(-2000)}`);
  assert.match(summary, /kills 3, .* lost 0, duplicated 0/);
});
