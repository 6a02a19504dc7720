// The owner-query policy behind GET one message: a bounded wait, and no questions while the owner is away.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ReceiptSummary } from "../../src/node/history-protocol.js";
import { OwnerReceipts, type OwnerReceiptsSource } from "../../src/node/owner-receipts.js";

const summary: ReceiptSummary = { count: 1, members: 2, ackedBy: ["b"] };

function source(answer: () => Promise<Record<string, ReceiptSummary>>, role: "owner" | "member" = "member") {
  const asked: string[][] = [];
  const node: OwnerReceiptsSource & { asked: string[][]; owner: string | undefined } = {
    role,
    asked,
    owner: "owner-peer",
    ownerPeerId: () => node.owner,
    ownerReceipts: async (_channelId, ids) => {
      asked.push([...ids]);
      return answer();
    },
  };
  return node;
}

describe("OwnerReceipts", () => {
  it("gives the owner's summary of the message asked for", async () => {
    const node = source(async () => ({ m1: summary }));
    const owner = new OwnerReceipts(node, { timeoutMs: 1_000 });
    assert.deepEqual(await owner.of("general", "m1"), summary);
    assert.deepEqual(node.asked, [["m1"]]);
  });

  it("never asks from an owner node", async () => {
    const node = source(async () => ({ m1: summary }), "owner");
    assert.equal(await new OwnerReceipts(node).of("general", "m1"), undefined);
    assert.deepEqual(node.asked, []);
  });

  it("stops waiting after timeoutMs, then does not ask again for retryMs of its clock", async () => {
    let now = 1_000;
    const node = source(() => new Promise(() => {}));
    const owner = new OwnerReceipts(node, { timeoutMs: 20, retryMs: 500, clock: () => now });
    const started = performance.now();
    assert.equal(await owner.of("general", "m1"), undefined);
    assert.ok(performance.now() - started >= 15);
    now += 499;
    assert.equal(await owner.of("general", "m1"), undefined);
    assert.equal(node.asked.length, 1);
    now += 1;
    await owner.of("general", "m1");
    assert.equal(node.asked.length, 2);
  });

  it("backs off after a failed query, and after an answer when the owner is gone", async () => {
    let now = 0;
    const failing = source(async () => {
      throw new Error("stream reset");
    });
    const owner = new OwnerReceipts(failing, { retryMs: 100, clock: () => now });
    assert.equal(await owner.of("general", "m1"), undefined);
    assert.equal(await owner.of("general", "m1"), undefined);
    assert.equal(failing.asked.length, 1);

    const gone = source(async () => ({ m1: summary }));
    gone.owner = undefined;
    const lost = new OwnerReceipts(gone, { retryMs: 100, clock: () => now });
    assert.equal(await lost.of("general", "m1"), undefined);
    now += 50;
    assert.equal(await lost.of("general", "m1"), undefined);
    assert.equal(gone.asked.length, 1);
  });
});
