// Requirement 7: resends with backoff, sync messages and their budget, ephemeral messages.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { channelSalt, DEFAULT_PARAMS, filterHas, senderPrefixHex } from "../../src/core/index.js";
import type { Outgoing } from "../../src/core/types.js";
import {
  CHANNEL,
  cachedVerifier,
  craft,
  dec,
  decodeOut,
  enc,
  eventsOf,
  identity,
  makeEngine,
  runTimers,
} from "./fixtures.js";

const T = 20_000;

function outgoingOf(steps: ReturnType<typeof runTimers>): { at: number; out: Outgoing }[] {
  return steps.flatMap((s) => s.step.outgoing.map((out) => ({ at: s.at, out })));
}

describe("resends", () => {
  test("an unacknowledged message is resent after resendAfterMs, backing off, at most maxResends times", () => {
    const a = makeEngine({ n: 1 });
    const m = a.send(enc("anyone?"), T);
    const sent = outgoingOf(runTimers(a, T + 10_000_000));
    assert.deepEqual(
      sent.map((s) => [s.at - T, s.out.purpose, s.out.messageId]),
      [
        [30_000, "resend", m.messageId],
        [30_000 + 60_000, "resend", m.messageId],
        [30_000 + 60_000 + 120_000, "resend", m.messageId],
      ],
    );
    for (const s of sent) assert.deepEqual(s.out.bytes, m.outgoing[0]!.bytes, "the original bytes, unchanged");
    assert.equal(a.nextDeadline(), undefined);
    const status = a.status(m.messageId);
    assert.ok(status?.own);
    assert.equal(status.resends, 3);
  });

  test("resendAfterMs, resendBackoff and maxResends are honoured", () => {
    const a = makeEngine({ n: 1, params: { resendAfterMs: 1_000, resendBackoff: 3, maxResends: 2 } });
    const m = a.send(enc("anyone?"), T);
    assert.deepEqual(
      outgoingOf(runTimers(a, T + 1_000_000)).map((s) => [s.at - T, s.out.purpose, s.out.messageId]),
      [
        [1_000, "resend", m.messageId],
        [1_000 + 3_000, "resend", m.messageId],
      ],
    );
    const none = makeEngine({ n: 1, params: { maxResends: 0 } });
    none.send(enc("once"), T);
    assert.equal(none.nextDeadline(), undefined);
  });

  test("no resend once acknowledged, before or after the first resend", () => {
    const b = identity(2);
    const markFor = (a: ReturnType<typeof makeEngine>, sequence: number, at: number) =>
      craft(b, {
        kind: "sync",
        lamport: BigInt(at),
        ack: {
          nonce: BigInt(at),
          filter: new Uint8Array(),
          hashCount: 0,
          marks: [{ senderPrefix: Buffer.from(senderPrefixHex(a.senderId), "hex"), sequence }],
        },
      }).bytes;

    const a = makeEngine({ n: 1 });
    a.send(enc("hello"), T);
    a.receive(markFor(a, 1, T + 5_000), T + 5_000);
    assert.deepEqual(outgoingOf(runTimers(a, T + 10_000_000)), []);

    const a2 = makeEngine({ n: 1 });
    const m = a2.send(enc("hello"), T);
    const first = outgoingOf(runTimers(a2, T + 30_000));
    assert.deepEqual(
      first.map((s) => s.out.purpose),
      ["resend"],
    );
    a2.receive(markFor(a2, 1, T + 31_000), T + 31_000);
    assert.deepEqual(outgoingOf(runTimers(a2, T + 10_000_000)), []);
    assert.equal(a2.status(m.messageId)?.state, "acknowledged");
  });
});

describe("sync messages", () => {
  test("a member that received something and stays silent sends a sync within syncIntervalMs × (1 ± syncJitter)", () => {
    const { syncIntervalMs: interval, syncJitter: jitter } = DEFAULT_PARAMS;
    const delays: number[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const b = makeEngine({ n: 2, seed });
      const m = craft(identity(1), { kind: "content", sequence: 1, lamport: BigInt(T) });
      b.receive(m.bytes, T);
      const at = b.nextDeadline();
      assert.ok(at !== undefined);
      const step = b.tick(at);
      assert.deepEqual(
        step.outgoing.map((o) => [o.kind, o.purpose]),
        [["sync", "sync"]],
      );
      const sync = decodeOut(step.outgoing[0]!);
      assert.equal(sync.content, undefined);
      assert.deepEqual(
        sync.causalHistory.map((h) => h.messageId),
        [m.id],
      );
      assert.equal(sync.ack?.marks.length, 1, "it acknowledges what it received");
      delays.push(at - T);
      assert.equal(b.nextDeadline(), undefined, "one sync per news, not a heartbeat");
    }
    for (const d of delays) assert.ok(d >= interval * (1 - jitter) && d <= interval * (1 + jitter), `delay ${d}`);
    assert.ok(Math.min(...delays) < interval * 0.8 && Math.max(...delays) > interval * 1.2, "the delay is jittered");
    // No jitter: exactly the interval.
    const b = makeEngine({ n: 2, params: { syncJitter: 0, syncIntervalMs: 45_000 } });
    b.receive(craft(identity(1), { kind: "content", sequence: 1, lamport: BigInt(T) }).bytes, T);
    assert.equal(b.nextDeadline(), T + 45_000);
  });

  test("no sync when nothing was received, or when a content message already carried the acknowledgement", () => {
    const idle = makeEngine({ n: 2 });
    assert.equal(idle.nextDeadline(), undefined);
    assert.deepEqual(outgoingOf(runTimers(idle, T + 10_000_000)), []);

    const talker = makeEngine({ n: 2, params: { maxResends: 0 } });
    talker.receive(craft(identity(1), { kind: "content", sequence: 1, lamport: BigInt(T) }).bytes, T);
    const reply = talker.send(enc("got it"), T + 1_000);
    assert.equal(decodeOut(reply.outgoing[0]!).ack?.marks.length, 1);
    assert.deepEqual(outgoingOf(runTimers(talker, T + 10_000_000)), []);
  });

  test("never more than controlBudgetPer600s control messages in any 600 s", () => {
    // A sends every 3 s for an hour; B misses every third message, so it has repairs to ask for all the time.
    const a = identity(1);
    const stream = Array.from({ length: 1_200 }, (_, i) => {
      const t = T + i * 3_000;
      return {
        t,
        bytes: i % 3 === 2 ? undefined : craft(a, { kind: "content", sequence: i + 1, lamport: BigInt(t) }).bytes,
      };
    });
    const verifySignature = cachedVerifier();
    for (const params of [
      {},
      { syncIntervalMs: 1_000, syncJitter: 0.1 },
      { controlBudgetPer600s: 2, repairRetryMs: 500 },
    ]) {
      // A's 200 messages per 600 s are over the rate quota, which is not what is tested here.
      const b = makeEngine({ n: 2, params: { senderQuotaPer600s: 0, ...params }, verifySignature });
      const budget = b.params.controlBudgetPer600s;
      const controls: number[] = [];
      for (const { t, bytes } of stream) {
        for (const s of runTimers(b, t)) for (const o of s.step.outgoing) if (o.kind === "sync") controls.push(s.at);
        if (bytes === undefined) continue;
        for (const o of b.receive(bytes, t).outgoing) if (o.kind === "sync") controls.push(t);
      }
      assert.ok(controls.length >= budget * 5, `${JSON.stringify(params)}: ${controls.length} control messages`);
      for (let i = 0; i < controls.length; i++) {
        const inWindow = controls.filter((c) => c + 600_000 > controls[i]! && c <= controls[i]!).length;
        assert.ok(
          inWindow <= budget,
          `${JSON.stringify(params)}: ${inWindow} control messages in the 600 s up to ${controls[i]}`,
        );
      }
    }
  });
  test("a control message postponed for budget goes out when the window frees, even at fractional times", () => {
    // The retry time is (oldest send + 600 s); for some times t, (t + 600000) - 600000 < t in floating point.
    let r = 19_000.05;
    while (r + 1_000 + 600_000 - 600_000 >= r + 1_000) r += 0.1;
    const b = makeEngine({ n: 2, params: { controlBudgetPer600s: 1, syncIntervalMs: 1_000, syncJitter: 0 } });
    const a = identity(1);
    b.receive(craft(a, { kind: "content", sequence: 1, lamport: BigInt(Math.floor(r)) }).bytes, r);
    const first = runTimers(b, r + 1_000);
    assert.equal(first.length, 1);
    const sentAt = b.snapshot().controlSent[0]!;
    assert.ok(sentAt + 600_000 - 600_000 < sentAt, "fixture check: the rounding case");
    b.receive(craft(a, { kind: "content", sequence: 2, lamport: BigInt(Math.floor(r) + 2_000) }).bytes, r + 2_000);
    // runTimers throws if a tick leaves its own deadline in place (the engine would spin).
    const later = runTimers(b, r + 700_000).flatMap((x) => x.step.outgoing.map((o) => [x.at, o.kind]));
    assert.deepEqual(later, [[sentAt + 600_000, "sync"]]);
  });
});

describe("ephemeral messages", () => {
  test("are delivered as 'ephemeral' events; not logged, not acknowledged, never resent", () => {
    const a = makeEngine({ n: 1 });
    const b = makeEngine({ n: 2 });
    const e = a.sendEphemeral(enc("typing…"), T);
    assert.deepEqual(e.events, []);
    assert.deepEqual(
      e.outgoing.map((o) => [o.kind, o.purpose]),
      [["ephemeral", "ephemeral"]],
    );
    assert.equal(e.sequence, undefined);
    assert.equal(e.lamportTimestamp, undefined);
    const wire = decodeOut(e.outgoing[0]!);
    assert.equal(wire.lamportTimestamp, undefined);
    assert.equal(wire.ack, undefined);
    assert.deepEqual(wire.causalHistory, []);
    // Sender side: not tracked, not logged, no timers.
    assert.equal(a.status(e.messageId), undefined);
    assert.deepEqual(a.deliveredLog(), []);
    assert.equal(a.nextDeadline(), undefined);
    assert.deepEqual(outgoingOf(runTimers(a, T + 10_000_000)), []);

    // Receiver side.
    const step = b.receive(e.outgoing[0]!.bytes, T + 10);
    const ev = eventsOf(step, "ephemeral");
    assert.equal(ev.length, 1);
    assert.equal(ev[0]!.messageId, e.messageId);
    assert.equal(ev[0]!.senderId, a.senderId);
    assert.equal(dec(ev[0]!.content), "typing…");
    assert.deepEqual(eventsOf(step, "delivered"), []);
    assert.deepEqual(b.deliveredLog(), []);
    assert.equal(b.status(e.messageId), undefined);
    assert.equal(b.nextDeadline(), undefined, "nothing to acknowledge: no sync owed");
    // B's next message neither names nor acknowledges it.
    b.receive(craft(identity(3), { kind: "content", sequence: 1, lamport: BigInt(T + 20) }).bytes, T + 20);
    const next = decodeOut(b.send(enc("hello"), T + 30).outgoing[0]!);
    assert.ok(!next.causalHistory.some((h) => h.messageId === e.messageId));
    assert.ok(next.ack !== undefined);
    assert.ok(
      !next.ack.marks.some((mk) => Buffer.from(mk.senderPrefix).toString("hex") === senderPrefixHex(a.senderId)),
    );
    assert.ok(!filterHas(channelSalt(CHANNEL), next.ack.nonce, next.ack.filter, next.ack.hashCount, e.messageId));
    // A learns nothing about it from B's message.
    a.receive(b.send(enc("again"), T + 40).outgoing[0]!.bytes, T + 40);
    assert.equal(a.status(e.messageId), undefined);
  });
});
