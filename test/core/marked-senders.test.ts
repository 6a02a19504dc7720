// The index of the senders a summary marks (src/core/acks/marked.ts): reused from summary to summary, so it must
// forget everything on clear, keep the order states were added in, and tell apart ids that share a bucket.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MarkedSenders } from "../../src/core/acks/marked.js";
import type { SenderId } from "../../src/core/ids.js";
import { DEFAULT_PARAMS } from "../../src/core/index.js";
import { SenderTable } from "../../src/core/senders.js";

const table = new SenderTable(DEFAULT_PARAMS, "f".repeat(64) as SenderId, 0);
const state = (id: string) => table.firstContact(id as SenderId, 1, false);

test("finds what was added, in order, and nothing after clear", () => {
  const marked = new MarkedSenders();
  // 40 ids (past the chain array's first 16), 20 of them sharing their first four characters (one bucket), and
  // ids shorter than four characters.
  const ids = [
    ...Array.from({ length: 20 }, (_, i) => `abcd${i.toString(16).padStart(60, "0")}`),
    ...Array.from({ length: 17 }, (_, i) => (i * 7919).toString(16).padStart(64, "9")),
    "",
    "x",
    "ab",
  ];
  for (let round = 0; round < 3; round++) {
    const some = ids.filter((_, i) => (i + round) % 2 === 0 || round === 2);
    for (const id of some) {
      assert.equal(marked.has(id as SenderId), false, `${id} before it is added (round ${round})`);
      marked.add(state(id));
    }
    assert.equal(marked.size, some.length);
    some.forEach((id, i) => {
      assert.equal(marked.at(i).id, id);
      assert.equal(marked.get(id as SenderId), table.get(id as SenderId));
    });
    for (const id of ids.filter((x) => !some.includes(x))) assert.equal(marked.get(id as SenderId), undefined);
    marked.clear();
    assert.equal(marked.size, 0);
    for (const id of ids) assert.equal(marked.has(id as SenderId), false, `${id} after clear`);
  }
});
