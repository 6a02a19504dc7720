// engine.forgo (src/core/engine.ts): the application needs some of a sender's messages no more (the rest
// of a segment set it reassembled from enough data and parity): their gaps close silently, nothing is
// asked for them, and what waited for them is delivered.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { deliveredIds, eventsOf, identity, makeEngine, runTimers, sendBytes } from "./fixtures.js";

describe("forgo", () => {
  test("a forgone gap asks nothing, announces no loss, and releases its waiters", () => {
    const a = makeEngine({ id: identity(1) });
    const b = makeEngine({ id: identity(2), seed: 2 });
    const m1 = sendBytes(a, "segment 0", 1000);
    const m2 = sendBytes(a, "segment 1", 1001);
    const m3 = sendBytes(a, "parity 0", 1002);
    b.receive(m1.bytes, 1100);
    const step = b.receive(m3.bytes, 1101);
    assert.deepEqual(
      eventsOf(step, "missing").map((e) => e.source),
      ["causal-history", "sequence"],
      "known missing by its id (named in the third's history) and by its sequence",
    );
    assert.deepEqual(deliveredIds(step), [], "the third waits for the second");
    const partial = b.forgo(a.senderId, [2, 7], 1102);
    assert.deepEqual(deliveredIds(partial), [], "still waits for the id its history names");
    const forgone = b.forgo(a.senderId, [], 1102, [m2.id]);
    assert.deepEqual(eventsOf(forgone, "lost"), [], "forgoing is not losing");
    assert.deepEqual(deliveredIds(forgone), [m3.id]);
    assert.equal(b.missingCount(), 0);
    const later = runTimers(b, 1102 + 3_600_000);
    const requests = later.flatMap((t) => t.step.outgoing).filter((o) => o.purpose === "repair-request");
    assert.deepEqual(requests, [], "nothing is asked for a forgone message");
    assert.deepEqual(b.forgo(a.senderId, [2], 5000).events, [], "a second forgo changes nothing");
  });
});
