// Duplicates after ids leave the seen set: the per-sender sequence state still knows what was delivered.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ChannelEngine } from "../../src/core/index.js";
import {
  CHANNEL,
  cachedVerifier,
  deliveredIds,
  enc,
  eventsOf,
  identity,
  makeEngine,
  prng,
  runTimers,
} from "./fixtures.js";

const T = 20_000;

describe("deduplication beyond the seen set", () => {
  test("an old message rebroadcast after its id left the seen set is not delivered again; a late lost one is", () => {
    const verifySignature = cachedVerifier();
    // No causal history: ids named there that left the seen set would look missing (a separate limit).
    const a = makeEngine({ n: 1, seed: 1, params: { senderQuotaPer600s: 0, causalHistorySize: 0 } });
    const b = makeEngine({ n: 2, seed: 2, verifySignature, params: { maxSeenIds: 8, senderQuotaPer600s: 0 } });
    const results = Array.from({ length: 60 }, (_, i) => a.send(enc(`m${i + 1}`), T + i * 1_000));
    const sent = results.map((r) => r.outgoing[0]!.bytes);
    // B misses m3 and gives up on it.
    let now = T;
    for (const [i, bytes] of sent.entries()) {
      now = T + i * 1_000;
      if (i === 2) continue;
      runTimers(b, now);
      b.receive(bytes, now);
    }
    now += 600_000;
    const lost = runTimers(b, now).flatMap((s) => eventsOf(s.step, "lost"));
    // Given up on by sequence number (and by id, were it named in a history).
    assert.ok(lost.length >= 1 && lost.some((e) => e.ref.sequence === 3), JSON.stringify(lost));
    for (const e of lost) assert.ok(e.ref.sequence === 3 || e.ref.messageId === results[2]!.messageId);
    const delivered = b.deliveredLog().length;
    // m1, m2, m10 and m59 left the seen set long ago (it holds 8 ids); their copies come back as repair answers.
    for (const i of [0, 1, 9, 58]) {
      const step = b.receive(sent[i]!, now);
      assert.deepEqual(deliveredIds(step), [], `m${i + 1} delivered twice`);
    }
    // m3, given up on, arrives late: it is new.
    assert.equal(deliveredIds(b.receive(sent[2]!, now + 1)).length, 1);
    assert.equal(b.deliveredLog().length, delivered + 1);
    // And once delivered, it is not delivered again either.
    for (let i = 0; i < 20; i++) b.receive(sent[40 + (i % 10)]!, now + 2);
    assert.deepEqual(deliveredIds(b.receive(sent[2]!, now + 3)), []);
  });

  test("history from before the first contact, delivered once, is not delivered again", () => {
    const a = makeEngine({ n: 1, seed: 1, params: { causalHistorySize: 0 } });
    const sent = Array.from({ length: 30 }, (_, i) => a.send(enc(`m${i + 1}`), T + i * 1_000).outgoing[0]!.bytes);
    // B joins at m16's time: m1..m15 are history to it, which it takes when a copy comes by (a repair answer).
    const b = makeEngine({ n: 2, seed: 2, now: T + 15_000, params: { maxSeenIds: 4 } });
    for (let i = 15; i < 30; i++) b.receive(sent[i]!, T + i * 1_000);
    const now = T + 60_000;
    assert.equal(deliveredIds(b.receive(sent[2]!, now)).length, 1, "m3 is delivered as history");
    for (let i = 15; i < 30; i++) b.receive(sent[i]!, now + 1);
    for (const i of [2, 15, 29]) assert.deepEqual(deliveredIds(b.receive(sent[i]!, now + 2)), [], `m${i + 1} again`);
    assert.equal(deliveredIds(b.receive(sent[3]!, now + 3)).length, 1, "m4 was never delivered: it is new");
  });

  test("the record survives a snapshot", () => {
    const a = makeEngine({ n: 1, seed: 1, params: { causalHistorySize: 0 } });
    const b = makeEngine({ n: 2, seed: 2, params: { maxSeenIds: 4 } });
    const sent = Array.from({ length: 12 }, (_, i) => a.send(enc(`m${i + 1}`), T + i * 1_000).outgoing[0]!.bytes);
    for (const [i, bytes] of sent.entries()) if (i !== 5) b.receive(bytes, T + i * 1_000);
    runTimers(b, T + 600_000);
    const snapshot = JSON.parse(JSON.stringify(b.snapshot()));
    const restored = ChannelEngine.restore(snapshot, {
      channelId: CHANNEL,
      identity: identity(2),
      random: prng(2),
      params: { maxSeenIds: 4 },
    });
    assert.deepEqual(deliveredIds(restored.receive(sent[0]!, T + 600_001)), []);
    assert.equal(deliveredIds(restored.receive(sent[5]!, T + 600_002)).length, 1);
  });
});

describe("byte-equal copies skip the signature check", () => {
  test("a copy equal to a held message is not verified again; a copy with other bytes under its id is", () => {
    const a = makeEngine({ n: 1, seed: 1 });
    const verify = cachedVerifier();
    let verifications = 0;
    const b = makeEngine({
      n: 2,
      seed: 2,
      verifySignature: (bytes, signature, sender) => {
        verifications++;
        return verify(bytes, signature, sender);
      },
    });
    const sent = a.send(enc("hello"), T).outgoing[0]!.bytes;
    assert.equal(deliveredIds(b.receive(sent, T)).length, 1);
    assert.equal(verifications, 1);
    // A second copy in a buffer of its own, as the network hands it over: equal bytes, no verification, no event.
    const copy = b.receive(sent.slice(), T + 10);
    assert.deepEqual(copy.events, []);
    assert.equal(verifications, 1);
    // The same id with one signature byte changed: verified, and refused.
    const forged = sent.slice();
    forged[forged.length - 1]! ^= 1;
    const refused = eventsOf(b.receive(forged, T + 20), "rejected");
    assert.equal(verifications, 2);
    assert.deepEqual(
      refused.map((e) => e.code),
      ["bad-signature"],
    );
  });
});
