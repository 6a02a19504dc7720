// What the receive path keeps between messages to save work (src/core/admission.ts, members.ts, senders.ts) answers
// as a fresh computation would: the future-skew limit as time moves both ways, a sender's state after SenderTable
// replaced it, and a mark's member once its state was kept by prefix.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type AdmissionRules, refusalOf } from "../../src/core/admission.js";
import { type SenderId, senderPrefixHex } from "../../src/core/ids.js";
import { MemberDirectory } from "../../src/core/members.js";
import { resolveParams } from "../../src/core/params.js";
import { SenderTable } from "../../src/core/senders.js";
import { CHANNEL, craft, identity } from "./fixtures.js";

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
});
