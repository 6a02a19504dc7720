// Requirements 1 and 2: Lamport timestamps and log order; message ids and what the engine refuses.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { computeMessageId, DEFAULT_PARAMS } from "../../src/core/index.js";
import { appendSignature, encodeUnsigned } from "../../src/wire/index.js";
import { CHANNEL, craft, deliveredIds, enc, eventsOf, identity, makeEngine } from "./fixtures.js";

describe("Lamport timestamps", () => {
  test("a send stamps max(previous + 1, now)", () => {
    const a = makeEngine({ n: 1, now: 0 });
    assert.equal(a.send(enc("1"), 1_000).lamportTimestamp, 1_000n);
    assert.equal(a.send(enc("2"), 1_000).lamportTimestamp, 1_001n, "same ms: previous + 1");
    assert.equal(a.send(enc("3"), 500).lamportTimestamp, 1_002n, "clock went back: still increasing");
    assert.equal(a.send(enc("4"), 5_000.7).lamportTimestamp, 5_000n, "clock ahead: now, in whole ms");
    assert.equal(a.send(enc("5"), 5_000).lamportTimestamp, 5_001n);
  });

  test("delivery of a message stamped later bumps the clock; an earlier one does not lower it", () => {
    const a = makeEngine({ n: 1 });
    const b = makeEngine({ n: 2, seed: 2 });
    const m = a.send(enc("from the future"), 200_000);
    assert.deepEqual(deliveredIds(b.receive(m.outgoing[0]!.bytes, 1_000)), [m.messageId]);
    assert.equal(b.send(enc("reply"), 1_001).lamportTimestamp, 200_001n);
    const early = craft(identity(3), { kind: "content", sequence: 1, lamport: 5n });
    assert.deepEqual(deliveredIds(b.receive(early.bytes, 1_002)), [early.id]);
    assert.equal(b.send(enc("again"), 1_003).lamportTimestamp, 200_002n);
  });

  test("the clock is bumped on delivery, not on receipt of a message that has to wait", () => {
    const a = identity(1);
    const b = makeEngine({ n: 2 });
    const first = craft(a, { kind: "content", sequence: 1, lamport: 20_000n, content: enc("first") });
    const second = craft(a, { kind: "content", sequence: 2, lamport: 250_000n, content: enc("second") });
    // `second` names `first` in its causal history and follows it by sequence number: it waits.
    const secondWithHistory = craft(a, {
      kind: "content",
      sequence: 2,
      lamport: 250_000n,
      content: enc("second"),
      causalHistory: [{ messageId: first.id }],
    });
    assert.equal(secondWithHistory.id, second.id, "causal history is not part of the id");
    const step = b.receive(secondWithHistory.bytes, 20_000);
    assert.deepEqual(deliveredIds(step), []);
    assert.equal(b.status(second.id)?.state, "pending");
    assert.equal(b.send(enc("mine"), 20_001).lamportTimestamp, 20_001n, "not bumped by a pending message");
    assert.deepEqual(deliveredIds(b.receive(first.bytes, 20_002)), [first.id, second.id]);
    assert.equal(b.send(enc("mine 2"), 20_003).lamportTimestamp, 250_001n);
  });

  test("the log is ordered by (lamport timestamp, message id), not by arrival", () => {
    const b = makeEngine({ n: 9 });
    const late = craft(identity(1), { kind: "content", sequence: 1, lamport: 30_000n, content: enc("late") });
    const early = craft(identity(5), { kind: "content", sequence: 1, lamport: 10_000n, content: enc("early") });
    const ties = [2, 3, 4].map((n) => craft(identity(n), { kind: "content", sequence: 1, lamport: 20_000n }));
    const tieIds = ties.map((m) => m.id).sort();
    // Arrival: latest first, and the equal timestamps in descending id order.
    const arrival = [late, ...ties.sort((x, y) => (x.id < y.id ? 1 : -1)), early];
    for (const m of arrival) assert.deepEqual(deliveredIds(b.receive(m.bytes, 40_000)), [m.id]);
    const own = b.send(enc("own"), 40_001);
    assert.deepEqual(
      b.deliveredLog().map((m) => m.messageId),
      [early.id, ...tieIds, late.id, own.messageId],
    );
    const entry = b.deliveredLog().find((m) => m.messageId === own.messageId)!;
    assert.equal(entry.own, true);
    assert.equal(entry.lamportTimestamp, 40_001n);
  });
});

describe("message ids", () => {
  const fields = {
    channelId: CHANNEL,
    senderId: identity(1).senderId,
    kind: "content" as const,
    sequence: 1,
    lamportTimestamp: 1_000n,
    content: enc("ok"),
  };

  test("the id covers channel, sender, sequence, lamport, kind and content", () => {
    const base = computeMessageId(fields);
    assert.match(base, /^[0-9a-f]{32}$/);
    const variants = [
      { ...fields, channelId: `${CHANNEL}x` },
      { ...fields, senderId: identity(2).senderId },
      { ...fields, sequence: 2 },
      { ...fields, lamportTimestamp: 1_001n },
      { ...fields, kind: "sync" as const },
      { ...fields, content: enc("ok!") },
    ];
    const ids = new Set([base, ...variants.map(computeMessageId)]);
    assert.equal(ids.size, variants.length + 1);
    assert.equal(computeMessageId({ ...fields }), base, "deterministic");
  });

  test("two members sending the same text at the same time get different ids", () => {
    const a = makeEngine({ n: 1 });
    const b = makeEngine({ n: 2 });
    const x = a.send(enc("ok"), 1_000);
    const y = b.send(enc("ok"), 1_000);
    assert.equal(x.sequence, y.sequence);
    assert.equal(x.lamportTimestamp, y.lamportTimestamp);
    assert.notEqual(x.messageId, y.messageId);
    assert.equal(x.messageId, computeMessageId({ ...fields, senderId: a.senderId, lamportTimestamp: 1_000n }));
    // And one member saying "ok" twice gets two ids, both delivered to a third member.
    const again = a.send(enc("ok"), 1_000);
    assert.notEqual(again.messageId, x.messageId);
    const c = makeEngine({ n: 3 });
    const got = [x, y, again].flatMap((s) => deliveredIds(c.receive(s.outgoing[0]!.bytes, 1_001)));
    assert.deepEqual(got, [x.messageId, y.messageId, again.messageId]);
  });

  function assertRejected(bytes: Uint8Array, reason: RegExp, now = 1_000): void {
    const b = makeEngine({ n: 9 });
    const before = JSON.stringify(b.snapshot());
    const step = b.receive(bytes, now);
    const rejected = eventsOf(step, "rejected");
    assert.equal(rejected.length, 1, JSON.stringify(step.events));
    assert.match(rejected[0]!.reason, reason);
    assert.equal(step.events.length, 1);
    assert.deepEqual(step.outgoing, []);
    assert.equal(JSON.stringify(b.snapshot()), before, "a refused message changes nothing");
  }

  test("a message whose id does not match its fields is rejected", () => {
    const a = identity(1);
    const honest = craft(a, { kind: "content", sequence: 1, lamport: 500n, content: enc("hi") });
    const forged = craft(a, {
      kind: "content",
      sequence: 1,
      lamport: 500n,
      content: enc("hi"),
      messageId: "ab".repeat(16),
    });
    assertRejected(forged.bytes, /message id does not match/);
    // A correctly signed message that reuses another message's id for different content.
    const reused = craft(a, { kind: "content", sequence: 1, lamport: 500n, content: enc("HI"), messageId: honest.id });
    assertRejected(reused.bytes, /message id does not match/);
    const sync = craft(a, { kind: "sync", lamport: 500n, messageId: honest.id });
    assertRejected(sync.bytes, /message id does not match/);
  });

  test("a bad signature is rejected", () => {
    const m = craft(identity(1), { kind: "content", sequence: 1, lamport: 500n });
    const flipped = m.bytes.slice();
    flipped[flipped.length - 1]! ^= 1;
    assertRejected(flipped, /bad signature/);
    // Signed with another member's key while claiming to be identity(1).
    const unsigned = encodeUnsigned({ ...m.message, signature: undefined });
    const impostor = craft(identity(2), { kind: "content" });
    const otherSig = impostor.bytes.subarray(impostor.bytes.length - 64);
    assertRejected(appendSignature(unsigned, otherSig), /bad signature/);
    // No signature at all.
    assertRejected(unsigned, /missing signature/);
  });

  test("a message for another channel is rejected", () => {
    const m = craft(identity(1), { kind: "content", sequence: 1, lamport: 500n, channelId: "community/random" });
    assertRejected(m.bytes, /wrong channel "community\/random"/);
  });

  test("a lamport timestamp too far in the future is rejected; one at the limit is accepted", () => {
    const now = 1_000;
    const limit = BigInt(now + DEFAULT_PARAMS.maxFutureSkewMs);
    const tooFar = craft(identity(1), { kind: "content", sequence: 1, lamport: limit + 1n });
    assertRejected(tooFar.bytes, /lamport timestamp .* ahead/, now);
    const syncTooFar = craft(identity(1), { kind: "sync", lamport: limit + 1n });
    assertRejected(syncTooFar.bytes, /lamport timestamp .* ahead/, now);
    const atLimit = craft(identity(1), { kind: "content", sequence: 1, lamport: limit });
    const b = makeEngine({ n: 9 });
    assert.deepEqual(deliveredIds(b.receive(atLimit.bytes, now)), [atLimit.id]);
  });

  test("undecodable bytes and unsigned SDS messages (interop off) are rejected", () => {
    assertRejected(Uint8Array.of(0xff, 0xff, 0xff), /undecodable/);
    const sds = encodeUnsigned({
      senderId: "sds-peer",
      messageId: "whatever",
      channelId: CHANNEL,
      lamportTimestamp: 5n,
      causalHistory: [],
      repairRequest: [],
      sequenceRepairRequest: [],
      content: enc("hello"),
    });
    assertRejected(sds, /interop is off/);
  });
});
