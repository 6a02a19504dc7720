// The conformance runner of spec Appendix B (scripts/conformance.ts) against the reference driver
// (scripts/conformance-driver.ts) as a separate process speaking JSON lines: every scenario passes; the same driver
// with a rule switched off fails, and the runner says where; a driver that answers nonsense fails cleanly.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { runConformance } from "../../scripts/conformance.js";

const root = join(fileURLToPath(import.meta.url), "../../..");
const driver = [process.execPath, "--import", "tsx", join(root, "scripts/conformance-driver.ts")];

describe("conformance runner (spec Appendix B)", () => {
  test("the reference driver passes every scenario", async () => {
    const results = await runConformance(driver);
    assert.ok(results.length >= 13, "every scenario ran");
    assert.deepEqual(
      results.filter((r) => !r.ok),
      [],
    );
  });

  test("a driver that breaks a rule fails, and the runner names the step", async () => {
    const results = await runConformance([...driver, "--mutate", "retry-backoff"], { only: "timers at the defaults" });
    assert.equal(results.length, 1);
    assert.equal(results[0]!.ok, false);
    assert.match(results[0]!.difference!, /^step \d+ \(bob tick at \d+\): outgoing: expected/);
  });

  test("a driver that does not speak the protocol fails every scenario without hanging", async () => {
    const results = await runConformance(
      [process.execPath, "-e", "process.stdin.on('data', () => console.log('{}'))"],
      {
        only: "loss declared after the dependency timeout",
      },
    );
    assert.equal(results.length, 1);
    assert.equal(results[0]!.ok, false);
  });
});
