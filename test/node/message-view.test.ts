// The pure pieces behind the node's message view: merging local and owner receipts, and the merged state.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { logEntry, mergedOwnState, mergeReceipts } from "../../src/node/message-view.js";

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

describe("logEntry", () => {
  it("keeps a stored message's fields and gives empty content when its bytes are damaged", () => {
    const entry = logEntry(
      {
        channelId: "c",
        messageId: "m",
        senderId: "s",
        seq: 3,
        lamport: 42n,
        bytes: new Uint8Array([0xff]),
        receivedAt: 7,
        deliveredPos: 2,
      },
      "s",
    );
    assert.deepEqual(entry, {
      position: 2,
      messageId: "m",
      senderId: "s",
      seq: 3,
      lamportTimestamp: 42n,
      content: new Uint8Array(),
      receivedAt: 7,
      own: true,
    });
  });
});
