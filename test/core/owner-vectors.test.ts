// spec/vectors/owner.json against the implementation: the roster and reports verify, and a fresh owner service
// fed the reports writes the same news, byte for byte.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { hexToBytes } from "@noble/hashes/utils.js";
import { buildOwnerVectors } from "../../scripts/vector-owner.js";
import { createVerifier } from "../../src/core/index.js";
import { reportIntervalMs } from "../../src/core/owner/cadence.js";
import { openRoster } from "../../src/core/owner/roster.js";
import { OwnerService } from "../../src/core/owner/service.js";
import { decodeReport } from "../../src/wire/owner-codec.js";

const file = new URL(`../../spec/vectors/${"owner.json"}`, import.meta.url);
const vectors = JSON.parse(readFileSync(file, "utf8"));
const [rosterCase, ...rest] = vectors.vectors;
const reports = rest.filter((v: { name: string }) => v.name.startsWith("report"));
const news = rest.find((v: { name: string }) => v.name === "news for alice");
const intervals: { rosterSize: number; intervalMs: number }[] = rest.find(
  (v: { name: string }) => v.name === "cadence of reports",
).intervals;

describe("owner vectors (spec/vectors/owner.json)", () => {
  it("are what the implementation writes", () => {
    assert.deepEqual(JSON.parse(JSON.stringify(buildOwnerVectors())), vectors);
  });

  it("the roster verifies under the owner's key and lists the members in order", () => {
    const r = rosterCase;
    const roster = openRoster(hexToBytes(r.wire), r.channelId, r.owner, createVerifier());
    assert.deepEqual(roster.roster.members, r.members);
  });

  it("the owner's news follows from the reports alone", () => {
    const r = rosterCase;
    const roster = openRoster(hexToBytes(r.wire), r.channelId, r.owner, createVerifier());
    const service = new OwnerService({ channelId: r.channelId, roster, verify: createVerifier(), window: 64 });
    for (let seq = 1; seq <= 3; seq++) service.noteMessage(r.members[1], seq);
    for (let seq = 1; seq <= 2; seq++) service.noteMessage(r.members[3], seq);
    for (const report of reports) {
      const wire = hexToBytes(report.wire);
      assert.equal(decodeReport(wire).reporter, report.reporter);
      assert.equal(service.acceptReport(wire), report.reporter);
    }
    assert.equal(Buffer.from(service.newsBytes(r.members[1], 0)).toString("hex"), news.wire);
  });

  it("report intervals follow the rule of 14.3.2, and tell apart the ways to get it wrong", () => {
    for (const v of intervals) assert.equal(reportIntervalMs(v.rosterSize), v.intervalMs, `roster of ${v.rosterSize}`);
    // Mutants of the rule: each gives another interval for some roster size of the vector.
    const mutants: Record<string, (n: number) => number> = {
      "no floor": (n) => Math.ceil((n * 1000) / 2000),
      "rounded down": (n) => Math.max(250, Math.floor((n * 1000) / 2000)),
      "1,000 reports a second": (n) => Math.max(250, Math.ceil((n * 1000) / 1000)),
      "4,000 reports a second": (n) => Math.max(250, Math.ceil((n * 1000) / 4000)),
      "floor only": () => 250,
      "floor added": (n) => 250 + Math.ceil((n * 1000) / 2000),
    };
    for (const [name, mutant] of Object.entries(mutants)) {
      assert.ok(
        intervals.some((v) => mutant(v.rosterSize) !== v.intervalMs),
        `the vector does not catch the mutant "${name}"`,
      );
    }
  });

  it("a report interval needs a roster size that is a count and a bound that is a rate", () => {
    assert.equal(reportIntervalMs(1_000, 250, 0), 250);
    assert.equal(reportIntervalMs(1_000, 1_000), 1_000);
    assert.throws(() => reportIntervalMs(-1), /roster size must be a non-negative integer, got -1/);
    assert.throws(() => reportIntervalMs(10, 250, Number.NaN), /perSecond must be finite/);
  });
});
