// RecentIds grows its arrays on demand up to its bound: whatever the size reached, it must hold what a ring of
// `limit` slots made up front held, and feed the same ids (same bytes, same hashing) into a filter.
import assert from "node:assert/strict";
import { test } from "node:test";
import { addId, summaryKey } from "../../src/core/ack-filter.js";
import { RecentIds } from "../../src/core/acks/recent.js";
import type { MessageId, SenderId } from "../../src/core/ids.js";

function idOf(i: number): MessageId {
  // Every fifth id is not hex, so both of a slot's forms (bytes and text) are exercised.
  return (i % 5 === 4 ? `text-id-${i}` : i.toString(16).padStart(32, "0")) as MessageId;
}

test("RecentIds holds the newest `limit` ids, senders and sequences at every size, across growth and wrap", () => {
  const key = summaryKey(new Uint8Array(32).fill(3), 7n);
  for (const limit of [0, 1, 15, 16, 17, 40, 512]) {
    const recent = new RecentIds(limit);
    const pushed: { id: MessageId; sender: SenderId | undefined; seq: number | undefined }[] = [];
    for (let i = 0; i < 2 * limit + 37; i++) {
      const entry = {
        id: idOf(i),
        sender: i % 3 === 0 ? undefined : (`s${i % 7}` as SenderId),
        seq: i % 4 ? i : undefined,
      };
      recent.push(entry.id, entry.sender, entry.seq);
      pushed.push(entry);
      const expected = pushed.slice(Math.max(0, pushed.length - limit));
      assert.equal(recent.size, expected.length, `limit ${limit} after ${i + 1}`);
      assert.deepEqual(
        recent.toArray(),
        expected.map((e) => e.id),
      );
      const viaSlots = new Uint8Array(64);
      const viaIds = new Uint8Array(64);
      for (let k = 0; k < recent.size; k++) {
        const slot = recent.slotOf(k);
        const e = expected[expected.length - 1 - k]!;
        assert.equal(recent.senderAt(slot), e.sender);
        assert.equal(recent.sequenceAt(slot), e.seq);
        recent.addTo(slot, key, viaSlots, 3);
        addId(key, viaIds, 3, e.id);
      }
      assert.deepEqual(viaSlots, viaIds, `limit ${limit} after ${i + 1}: filters differ`);
    }
  }
});
