// spec/vectors/owner.json against the implementation: the roster and reports verify, and a fresh owner service
// fed the reports writes the same news, byte for byte.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { hexToBytes } from "@noble/hashes/utils.js";
import { buildOwnerVectors } from "../../scripts/vector-owner.js";
import { createVerifier } from "../../src/core/index.js";
import { openRoster } from "../../src/core/owner/roster.js";
import { OwnerService } from "../../src/core/owner/service.js";
import { decodeReport } from "../../src/wire/owner-codec.js";

const file = new URL(`../../spec/vectors/${"owner.json"}`, import.meta.url);
const vectors = JSON.parse(readFileSync(file, "utf8"));
const [rosterCase, ...rest] = vectors.vectors;
const reports = rest.filter((v: { name: string }) => v.name.startsWith("report"));
const news = rest.find((v: { name: string }) => v.name === "news for alice");

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
});
