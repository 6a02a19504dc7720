// The pure pieces behind GET one message: merging local and owner receipts, and the merged state.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mergedOwnState, mergeReceipts, textOf } from "../../src/api/messages.js";

describe("mergeReceipts", () => {
  it("takes the union of holders and the larger member count, never counting the sender", () => {
    const merged = mergeReceipts(
      { count: 1, members: 2, ackedBy: ["b"], possiblyBy: ["c", "b"] },
      { count: 3, members: 4, ackedBy: ["b", "d", "s"] },
      "s",
    );
    assert.deepEqual(merged, {
      count: 2,
      members: 4,
      ratio: 0.5,
      ackedBy: ["b", "d"],
      possiblyBy: ["c"],
      sources: ["local", "owner"],
    });
  });

  it("is null when nobody tracks the message, and 0 of 0 has ratio 0", () => {
    assert.equal(mergeReceipts(undefined, undefined, "s"), null);
    assert.deepEqual(mergeReceipts({ count: 0, members: 0, ackedBy: [] }, undefined, "s"), {
      count: 0,
      members: 0,
      ratio: 0,
      ackedBy: [],
      possiblyBy: [],
      sources: ["local"],
    });
  });

  it("never reports fewer members than holders", () => {
    assert.equal(
      mergeReceipts({ count: 0, members: 0, ackedBy: [] }, { count: 2, members: 1, ackedBy: ["a", "b"] }, "s")?.members,
      2,
    );
  });
});

describe("mergedOwnState", () => {
  const receipts = (count: number, members: number, possiblyBy: string[] = []) => ({
    count,
    members,
    ratio: 0,
    ackedBy: [],
    possiblyBy,
    sources: [],
  });
  it("upgrades by the engine's rule and never downgrades", () => {
    assert.equal(mergedOwnState("pending", receipts(1, 3), 0), "acknowledged");
    assert.equal(mergedOwnState("pending", receipts(1, 3), 0.5), "possibly-acknowledged");
    assert.equal(mergedOwnState("pending", receipts(2, 3), 0.5), "acknowledged");
    assert.equal(mergedOwnState("pending", receipts(0, 3, ["x"]), 0), "possibly-acknowledged");
    assert.equal(mergedOwnState("pending", receipts(0, 3), 0), "pending");
    assert.equal(mergedOwnState("acknowledged", receipts(0, 9), 1), "acknowledged");
    assert.equal(mergedOwnState("possibly-acknowledged", null, 0), "possibly-acknowledged");
  });
});

describe("textOf", () => {
  it("gives UTF-8 text, and base64 beside it when the bytes are not UTF-8", () => {
    assert.deepEqual(textOf(new TextEncoder().encode("grüß")), { content: "grüß" });
    assert.deepEqual(textOf(new Uint8Array([0x61, 0xc3])), { content: "a\uFFFD", contentBase64: "YcM=" });
  });
});
