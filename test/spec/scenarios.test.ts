// Replays the end-to-end traces of spec/vectors/scenarios.json (spec section 21.3) against the real
// ChannelEngine: every member is an engine, every step runs at its time, and what each step publishes and
// reports must match the trace, as must every member's delivered order, log, missing refs and receipts.
// Receivers are fed the recorded bytes, never the replaying engine's own output, as another implementation
// replaying the file would be; outgoing messages are compared without the ack nonce, filter bits and signature.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { RejectionCode } from "../../src/core/index.js";
import { replay, type Scenario } from "./replay.js";

const FILE = "scenarios.json";

/** Every RejectionCode of src/core/types.ts; the type check below fails when one is added and not listed. */
const REJECTION_CODES = [
  "undecodable",
  "wrong-channel",
  "not-a-member",
  "unsigned-not-allowed",
  "unsigned-claims-chorus-id",
  "unsigned-chorus-fields",
  "bad-sender-id",
  "missing-signature",
  "id-mismatch",
  "sync-with-sequence",
  "bad-signature",
  "future-timestamp",
  "over-quota",
  "replayed-sync",
  "pending-full",
  "sender-pending-full",
] as const satisfies readonly RejectionCode[];
type Unlisted = Exclude<RejectionCode, (typeof REJECTION_CODES)[number]>;
const _everyCodeListed: [Unlisted] extends [never] ? true : Unlisted = true;
const path = join(fileURLToPath(import.meta.url), "../../../spec/vectors", FILE);

const data = JSON.parse(readFileSync(path, "utf8")) as { description: string; vectors: Scenario[] };

describe(`end-to-end scenarios (spec/vectors/${FILE})`, () => {
  test("the file has scenarios, each with steps and expectations for every member", () => {
    assert.equal(typeof data.description, "string");
    assert.ok(data.vectors.length >= 1, "at least one scenario");
    for (const s of data.vectors) {
      assert.ok(s.steps.length > 0, `${s.name}: steps`);
      assert.deepEqual(Object.keys(s.expect).sort(), s.members.map((m) => m.name).sort(), `${s.name}: expect`);
    }
  });

  test("the scenarios exercise every rule the spec lists for them", () => {
    const events = new Set<string>();
    const purposes = new Set<string>();
    const sources = new Set<string>();
    const codes = new Set<string>();
    for (const s of data.vectors) {
      for (const step of s.steps) {
        for (const e of step.events) {
          events.add(String(e.type));
          if (e.type === "rejected") codes.add(String(e.code));
          if (e.type === "missing") sources.add(String(e.source));
        }
        for (const o of step.outgoing) purposes.add(o.purpose);
      }
    }
    for (const c of REJECTION_CODES) assert.ok(codes.has(c), `some scenario reports the rejection code "${c}"`);
    for (const t of ["accepted", "delivered", "ephemeral", "missing", "repaired", "lost", "acknowledged", "rejected"])
      assert.ok(events.has(t), `some scenario reports a "${t}" event`);
    for (const p of ["content", "ephemeral", "sync", "repair-request", "repair-response"])
      assert.ok(purposes.has(p), `some scenario publishes a "${p}" message`);
    for (const g of ["sequence", "causal-history", "ack-mark"]) assert.ok(sources.has(g), `a gap found by ${g}`);
  });

  for (const s of data.vectors) test(s.name, () => replay(s));
});
