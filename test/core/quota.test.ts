// Per-sender rate quota (src/core/quota.ts): a flooding member is held to its budget without delaying
// anyone else, repairs and fetched catch-up pass, replays cannot spend a member's quota, memory is bounded.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_PARAMS, resolveParams } from "../../src/core/index.js";
import type { Step } from "../../src/core/types.js";
import {
  CHANNEL,
  craft,
  deliveredIds,
  enc,
  eventsOf,
  identity,
  makeEngine,
  prng,
  stateOf,
  unsignedContent,
} from "./fixtures.js";

const T = 1_700_000_000_000;
const rejections = (step: Step, pattern: RegExp): number =>
  eventsOf(step, "rejected").filter((e) => pattern.test(e.reason)).length;

describe("per-sender rate quota", () => {
  test("defaults: a little above Waku's RLN (100 per 600 s), with two epochs of burst; validated ranges", () => {
    assert.equal(DEFAULT_PARAMS.senderQuotaPer600s, 120);
    assert.equal(DEFAULT_PARAMS.senderQuotaBurst, 240);
    assert.throws(() => resolveParams({ senderQuotaPer600s: -1 }), /senderQuotaPer600s must be in 0\.\./);
    assert.throws(() => resolveParams({ senderQuotaBurst: 0 }), /senderQuotaBurst must be in 1\.\./);
    assert.throws(() => resolveParams({ senderQuotaBurst: 2.5 }), /senderQuotaBurst must be an integer/);
    assert.equal(resolveParams({ senderQuotaPer600s: 0.5 }).senderQuotaPer600s, 0.5);
  });

  test("a flooder over its quota is throttled while an honest member's messages are delivered on arrival", () => {
    const r = makeEngine({ n: 1, now: T });
    const h = makeEngine({ n: 2, now: T, seed: 2 });
    const f = makeEngine({ n: 3, now: T, seed: 3 });
    let fAccepted = 0;
    let fRefused = 0;
    let hDelayed = 0;
    // 150 s: the flooder publishes 10 messages per second (1,500; RLN allows ~25), the honest member one every 10 s.
    for (let tenth = 1; tenth <= 1_500; tenth++) {
      const t = T + tenth * 100;
      const bytes = f.send(enc(`flood ${tenth}`), t).outgoing[0]!.bytes;
      // Both receivers see the flood at the same moment, as on one relay mesh: they keep the same messages.
      h.receive(bytes, t);
      const step = r.receive(bytes, t);
      const refused = rejections(step, /rate quota/);
      fRefused += refused;
      if (refused === 0) fAccepted++;
      if (tenth % 100 === 50) {
        const sent = h.send(enc(`honest ${tenth}`), t + 1);
        const got = r.receive(sent.outgoing[0]!.bytes, t + 1);
        if (!deliveredIds(got).includes(sent.messageId)) hDelayed++;
        assert.equal(eventsOf(got, "rejected").length, 0);
      }
      if (tenth % 500 === 0) {
        const sizes = r.bufferSizes();
        assert.ok(sizes.pending <= DEFAULT_PARAMS.maxPendingPerSender && sizes.missing <= DEFAULT_PARAMS.maxMissing);
      }
    }
    assert.equal(hDelayed, 0, "every honest message is delivered when it arrives");
    // Burst, then the rate: a flooder that never slows down pays for every number it skipped and gets no further.
    const budget = DEFAULT_PARAMS.senderQuotaBurst + (DEFAULT_PARAMS.senderQuotaPer600s * 150) / 600;
    assert.ok(fAccepted <= budget, `accepted ${fAccepted} of the flood, budget ${budget}`);
    assert.ok(fAccepted >= DEFAULT_PARAMS.senderQuotaBurst, `the burst passes (${fAccepted})`);
    assert.equal(fAccepted + fRefused, 1_500);
    console.log(
      `# quota: flooder 1,500 messages in 150 s -> ${fAccepted} accepted; honest member: 15 of 15 on arrival`,
    );
  });

  test("a refused message changes no state: it is not seen, and its sender is not heard from", () => {
    const r = makeEngine({ n: 1, now: T, params: { senderQuotaBurst: 2, senderQuotaPer600s: 1 } });
    const f = makeEngine({ n: 3, now: T });
    for (let i = 0; i < 2; i++) r.receive(f.send(enc(`m${i}`), T + i).outgoing[0]!.bytes, T + i);
    const before = stateOf(r);
    const third = f.send(enc("m2"), T + 10);
    const step = r.receive(third.outgoing[0]!.bytes, T + 10);
    assert.equal(rejections(step, /over its rate quota \(1 messages per 600 s, burst 2\)/), 1);
    assert.equal(stateOf(r), before);
    assert.equal(r.status(third.messageId), undefined);
  });

  test("repairs are free: numbers skipped by a paid jump pass back to back, and a legitimate absence is paid for", () => {
    const params = { senderQuotaPer600s: 60, senderQuotaBurst: 10 };
    const r = makeEngine({ n: 1, now: T, params });
    const a = makeEngine({ n: 2, now: T, params });
    const all: Uint8Array[] = [];
    // A keeps to the quota (one message per 10 s); R gets the first and, 500 s later, the 51st.
    for (let i = 0; i < 51; i++) all.push(a.send(enc(`a${i}`), T + i * 10_000).outgoing[0]!.bytes);
    r.receive(all[0]!, T);
    const jump = r.receive(all[50]!, T + 500_000);
    assert.equal(eventsOf(jump, "rejected").length, 0, "49 numbers earned in 500 s of silence are paid at once");
    assert.equal(eventsOf(jump, "missing").filter((e) => e.ref.sequence !== undefined).length, 49);
    // The 49 arrive together (a repair, or A's resends): far above the burst of 10, and all of them pass.
    let delivered = 0;
    for (let i = 1; i < 50; i++) {
      const step = r.receive(all[i]!, T + 500_001);
      assert.equal(eventsOf(step, "rejected").length, 0);
      delivered += deliveredIds(step).length;
    }
    assert.equal(delivered, 50, "the 49 repairs and the message that waited for them");
    assert.deepEqual(r.bufferSizes().missing, 0);
  });

  test("catch-up fetched on purpose ({ requested: true }) is exempt; the same burst from the topic is not", () => {
    const a = makeEngine({ n: 2, now: T });
    const pages = Array.from({ length: 400 }, (_, i) => a.send(enc(`a${i}`), T + i * 6_000).outgoing[0]!.bytes);
    const at = T + 400 * 6_000;
    const fetched = makeEngine({ n: 1, now: T });
    const topic = makeEngine({ n: 4, now: T });
    let fromStore = 0;
    let fromTopic = 0;
    let refused = 0;
    for (const bytes of pages) {
      fromStore += deliveredIds(fetched.receive(bytes, at, undefined, { requested: true })).length;
      const step = topic.receive(bytes, at);
      fromTopic += deliveredIds(step).length;
      refused += rejections(step, /rate quota/);
    }
    assert.equal(fromStore, 400);
    assert.equal(fromTopic, DEFAULT_PARAMS.senderQuotaBurst);
    assert.equal(refused, 400 - DEFAULT_PARAMS.senderQuotaBurst);
  });

  test("every kind counts; replayed sync messages cost their sender nothing; a sync overtaken in flight passes", () => {
    const r = makeEngine({ n: 1, now: T, params: { senderQuotaBurst: 4, senderQuotaPer600s: 1 } });
    const x = identity(7);
    const sync = (lamport: number) => craft(x, { kind: "sync", lamport: BigInt(T + lamport) }).bytes;
    assert.equal(eventsOf(r.receive(sync(10), T + 10), "rejected").length, 0);
    for (let i = 0; i < 5; i++) {
      const replay = r.receive(sync(10), T + 11 + i);
      assert.equal(rejections(replay, /replayed sync message/), 1);
    }
    // Overtaken: a later sync arrived first. The older one is news, and is charged like any other.
    assert.equal(eventsOf(r.receive(sync(30), T + 30), "rejected").length, 0);
    assert.equal(eventsOf(r.receive(sync(20), T + 31), "rejected").length, 0);
    // One token left, untouched by the replays: one ephemeral passes, the next is over.
    const e1 = r.receive(craft(x, { kind: "ephemeral", content: enc("typing") }).bytes, T + 32);
    assert.equal(eventsOf(e1, "ephemeral").length, 1);
    const e2 = r.receive(craft(x, { kind: "ephemeral", content: enc("typing.") }).bytes, T + 33);
    assert.equal(rejections(e2, /rate quota/), 1);
    assert.equal(eventsOf(e2, "ephemeral").length, 0);
  });

  test("forged messages cannot spend a member's quota: the quota is charged after the signature check", () => {
    const r = makeEngine({ n: 1, now: T, params: { senderQuotaBurst: 1, senderQuotaPer600s: 1 } });
    const a = makeEngine({ n: 2, now: T });
    const forged = unsignedContent(CHANNEL, a.senderId, 1, BigInt(T));
    for (let i = 0; i < 10; i++) assert.equal(rejections(r.receive(forged, T + i), /bad signature/), 1);
    const real = a.send(enc("hi"), T + 20);
    assert.deepEqual(deliveredIds(r.receive(real.outgoing[0]!.bytes, T + 20)), [real.messageId]);
  });

  test("memory is bounded: at most maxMembers buckets, however many senders", () => {
    const r = makeEngine({ n: 1, now: T, params: { maxMembers: 50 }, verifySignature: () => true });
    const random = prng(9);
    for (let i = 0; i < 2_000; i++) {
      const sender = Array.from({ length: 64 }, () => Math.floor(random() * 16).toString(16)).join("");
      r.receive(unsignedContent(CHANNEL, sender, 1, BigInt(T + i)), T + i);
      assert.ok(r.bufferSizes().quotas <= 50);
    }
    assert.equal(r.bufferSizes().quotas, 50);
    const off = makeEngine({ n: 1, now: T, params: { senderQuotaPer600s: 0 }, verifySignature: () => true });
    off.receive(unsignedContent(CHANNEL, "ab".repeat(32), 1, BigInt(T)), T);
    assert.equal(off.bufferSizes().quotas, 0, "0 turns the quota off");
  });
});
