// What the receive path keeps between messages to save work (src/core/admission.ts, members.ts, senders.ts,
// acks/receipts.ts) answers as a fresh computation would: the future-skew limit as time moves both ways, a sender's
// state after SenderTable replaced it, a mark's member once its state was kept by prefix, and our own messages by
// sequence once tracking let them go; and a receiver skipping the memos for shared decodings (`unshared`) or using
// them ends where one that decodes itself does.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { OwnReceipts } from "../../src/core/acks/receipts.js";
import { type AdmissionRules, refusalOf } from "../../src/core/admission.js";
import { TimerHeap } from "../../src/core/heap.js";
import { type SenderId, senderPrefixHex } from "../../src/core/ids.js";
import { MemberDirectory } from "../../src/core/members.js";
import { resolveParams } from "../../src/core/params.js";
import { SenderTable } from "../../src/core/senders.js";
import { StepBuilder } from "../../src/core/step.js";
import { decodeMessage } from "../../src/wire/index.js";
import { CHANNEL, craft, identity, makeEngine, sendBytes, stateOf } from "./fixtures.js";

const params = resolveParams({});

describe("receive-path memos", () => {
  test("the future-skew check refuses exactly the timestamps past floor(now) + maxFutureSkewMs, whatever came before", () => {
    const author = identity(1);
    const rules: AdmissionRules = {
      channelId: CHANNEL,
      self: identity(2).senderId as SenderId,
      params,
      verify: () => true,
      isMember: undefined,
    };
    // Forwards, backwards, a fraction, a jump past a whole skew window, and back to the start.
    const nows = [1_000, 1_000, 1_500.7, 900, 0, 2_000_000, 1_999_999, 1_000];
    for (const now of nows) {
      const limit = BigInt(Math.floor(now) + params.maxFutureSkewMs);
      for (const lamport of [1n, limit - 1n, limit, limit + 1n, limit + 1_000_000n]) {
        const m = craft(author, { kind: "content", sequence: 1, lamport });
        const refusal = refusalOf(m.message, m.bytes, now, rules);
        assert.equal(refusal?.code, lamport > limit ? "future-timestamp" : undefined, `now ${now}, lamport ${lamport}`);
      }
    }
  });

  test("a sender's state that SenderTable dropped is neither returned by get nor kept by the member directory", () => {
    const members = new MemberDirectory(params, () => 0.5, []);
    const self = "aa".repeat(32) as SenderId;
    const other = "bb".repeat(32) as SenderId;
    const senders = new SenderTable(params, self, 0, (id) => members.dropState(id));
    const prefix = senderPrefixHex(other);
    members.hearFrom(other, 1);
    // A mark claiming 10 seeds the state (out of the join grace); the directory keeps it for the next mark.
    const seeded = senders.firstContactFromMark(other, 10, BigInt(params.joinGraceMs + 1));
    assert.ok(seeded !== undefined);
    members.keepState(prefix, seeded);
    assert.equal(senders.get(other), seeded);
    assert.equal(members.stateOrIdByPrefix(prefix), seeded);
    assert.equal(members.byKeyPrefix(prefix), other);
    // The sender's own message 3 sits below the claim: the seeded state is dropped and contact starts over.
    const fresh = senders.contact(other, 3, false, BigInt(params.joinGraceMs + 1), { waitingFrom: () => 0 });
    assert.notEqual(fresh, seeded);
    assert.equal(senders.get(other), fresh);
    assert.equal(members.stateOrIdByPrefix(prefix), other);
    assert.equal(members.byKeyPrefix(prefix), other);
  });

  test("an own message that tracking let go is no longer found by its sequence number, nor confirmed", () => {
    const p = resolveParams({ maxTrackedOwn: 2 });
    const me = identity(1);
    const members = new MemberDirectory(p, () => 0.5, []);
    const receipts = new OwnReceipts(p, new Uint8Array(16), senderPrefixHex(me.senderId), new TimerHeap(), members, {
      denominator: () => 3,
    });
    for (const sequence of [1, 2, 3, 65]) {
      const m = craft(me, { kind: "content", sequence, lamport: BigInt(sequence) });
      receipts.track(m.message, m.bytes, sequence, 1_000_000);
    }
    // Tracking holds 3 and 65 (2 entries): 1 and 2 left it, and 65 took 1's place among the newest by number.
    const by = identity(2).senderId as SenderId;
    for (const sequence of [1, 2, 3, 65]) {
      const step = new StepBuilder();
      receipts.confirmFromOwner(sequence, [by], step);
      assert.equal(step.events.length, sequence >= 3 ? 1 : 0, `own message ${sequence}`);
    }
  });

  test("a receiver given its own decoding (`unshared`) or a shared one, or none, ends with the same steps and state", () => {
    const authors = [makeEngine({ n: 2 }), makeEngine({ n: 3 }), makeEngine({ n: 4 })];
    // The same member three times: it decodes itself, is handed a decoding many engines share, or one of its own.
    const receivers = [0, 1, 2].map(() => makeEngine({ n: 1 }));
    const json = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === "bigint" ? `${v}n` : v));
    let now = 1_000;
    for (let i = 0; i < 60; i++) {
      now += 37;
      const from = authors[i % authors.length]!;
      const { bytes } = sendBytes(from, `message ${i}`, now);
      // Authors hear one another (marks, filters, histories), except one message in five (gaps).
      for (const a of authors) if (a !== from && i % 5 !== 4) a.receive(bytes, now);
      if (i % 7 === 6) continue; // the receivers miss some: gaps, waiting messages
      const decoded = decodeMessage(bytes);
      const [plain, ...others] = [
        receivers[0]!.receive(bytes, now),
        receivers[1]!.receive(bytes, now, decoded),
        receivers[2]!.receive(bytes, now, decodeMessage(bytes), { unshared: true }),
      ].map(json);
      for (const o of others) assert.equal(o, plain, `message ${i}`);
      if (i % 10 === 9) {
        const ticks = receivers.map((r) => json(r.tick(now)));
        assert.ok(
          ticks.every((t) => t === ticks[0]),
          `tick after message ${i}`,
        );
      }
    }
    const states = receivers.map(stateOf);
    assert.equal(states[1], states[0]);
    assert.equal(states[2], states[0]);
  });
});
