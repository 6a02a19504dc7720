// Requirements 3 and 4: per-sender sequence gaps; causal history, the pending buffer, and giving up.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeOut, deliveredIds, enc, eventsOf, makeEngine, runTimers, sendBytes } from "./fixtures.js";

// Members join at 0; traffic starts after the join grace, so every message is in scope.
const T = 20_000;

describe("sequence numbers", () => {
  test("seq n+2 after seq n reports seq n+1 missing, even with no causal history", () => {
    const a = makeEngine({ n: 1, params: { causalHistorySize: 0 } });
    const b = makeEngine({ n: 2, params: { causalHistorySize: 0 } });
    const m1 = sendBytes(a, "1", T);
    const m2 = sendBytes(a, "2", T + 1);
    const m3 = sendBytes(a, "3", T + 2);
    assert.equal(decodeOut(a.send(enc("probe"), T + 3).outgoing[0]!).causalHistory.length, 0);
    assert.deepEqual(deliveredIds(b.receive(m1.bytes, T + 10)), [m1.id]);
    const step = b.receive(m3.bytes, T + 11);
    assert.deepEqual(deliveredIds(step), [], "seq 3 waits for seq 2");
    assert.deepEqual(eventsOf(step, "missing"), [
      { type: "missing", ref: { senderId: a.senderId, sequence: 2 }, source: "sequence" },
    ]);
    assert.deepEqual(b.missingRefs(), [{ senderId: a.senderId, sequence: 2 }]);
    assert.equal(b.status(m3.id)?.state, "pending");
    const repaired = b.receive(m2.bytes, T + 500);
    assert.deepEqual(deliveredIds(repaired), [m2.id, m3.id]);
    const ev = eventsOf(repaired, "repaired");
    assert.equal(ev.length, 1);
    assert.equal(ev[0]!.messageId, m2.id);
    assert.equal(ev[0]!.sequence, 2);
    assert.equal(ev[0]!.afterMs, 489);
    assert.deepEqual(b.missingRefs(), []);
    assert.equal(b.bufferSizes().pending, 0);
  });

  test("a wider jump reports every skipped sequence number, and they are delivered in order", () => {
    const a = makeEngine({ n: 1, params: { causalHistorySize: 0 } });
    const b = makeEngine({ n: 2 });
    const ms = [1, 2, 3, 4, 5].map((i) => sendBytes(a, `m${i}`, T + i));
    b.receive(ms[0]!.bytes, T + 10);
    const step = b.receive(ms[4]!.bytes, T + 11);
    assert.deepEqual(
      eventsOf(step, "missing").map((e) => [e.ref.sequence, e.source]),
      [
        [2, "sequence"],
        [3, "sequence"],
        [4, "sequence"],
      ],
    );
    assert.deepEqual(deliveredIds(b.receive(ms[3]!.bytes, T + 12)), []);
    assert.deepEqual(deliveredIds(b.receive(ms[1]!.bytes, T + 13)), [ms[1]!.id]);
    assert.deepEqual(deliveredIds(b.receive(ms[2]!.bytes, T + 14)), [ms[2]!.id, ms[3]!.id, ms[4]!.id]);
  });
});

describe("first contact", () => {
  test("a first message seen late chases its predecessors one by one, and stops at one that is already here", () => {
    const a = makeEngine({ n: 1, params: { causalHistorySize: 0 } });
    const b = makeEngine({ n: 2 });
    const ms = [1, 2, 3, 4].map((i) => sendBytes(a, `m${i}`, T + i));
    let step = b.receive(ms[3]!.bytes, T + 10);
    assert.deepEqual(
      eventsOf(step, "missing").map((e) => e.ref.sequence),
      [3],
    );
    step = b.receive(ms[2]!.bytes, T + 11);
    assert.deepEqual(
      eventsOf(step, "missing").map((e) => e.ref.sequence),
      [2],
    );
    // Seq 1 turns up first: it is below the guessed floor, so it is delivered as history.
    assert.deepEqual(deliveredIds(b.receive(ms[0]!.bytes, T + 12)), [ms[0]!.id]);
    // Seq 2 completes the chain; seq 1 must not be chased: it is here already.
    step = b.receive(ms[1]!.bytes, T + 13);
    assert.deepEqual(eventsOf(step, "missing"), []);
    assert.deepEqual(deliveredIds(step), [ms[1]!.id, ms[2]!.id, ms[3]!.id]);
    assert.deepEqual(b.missingRefs(), []);
    assert.equal(b.bufferSizes().pending, 0);
  });

  test("a mark reveals the lost first message of a member heard only through its sync messages", () => {
    const a = makeEngine({ n: 1, seed: 1 });
    const b = makeEngine({ n: 2, seed: 2 });
    const c = makeEngine({ n: 3, seed: 3, params: { causalHistorySize: 0 } });
    // A has only ever sent a sync, which B heard.
    a.receive(sendBytes(c, "c1", T).bytes, T);
    const sync = runTimers(a, T + 1_000_000).flatMap((x) => x.step.outgoing)[0]!;
    assert.equal(sync.kind, "sync");
    b.receive(sync.bytes, T + 200_000);
    // A's first content message reaches C only; C's next message carries a mark for A (and no history).
    const a1 = sendBytes(a, "a1", T + 200_001);
    c.receive(a1.bytes, T + 200_002);
    const c2 = c.send(enc("c2"), T + 200_003).outgoing[0]!;
    assert.deepEqual(decodeOut(c2).causalHistory, []);
    const step = b.receive(c2.bytes, T + 200_004);
    assert.deepEqual(
      eventsOf(step, "missing").filter((e) => e.ref.senderId === a.senderId),
      [{ type: "missing", ref: { senderId: a.senderId, sequence: 1 }, source: "ack-mark" }],
    );
    assert.equal(eventsOf(b.receive(a1.bytes, T + 200_005), "repaired").length, 1);
  });

  test("a mark naming a member not heard from yet is acted on when that member turns up", () => {
    // No causal histories anywhere: only the mark can tell B about a1.
    const a = makeEngine({ n: 1, seed: 1, params: { causalHistorySize: 0 } });
    const b = makeEngine({ n: 2, seed: 2 });
    const c = makeEngine({ n: 3, seed: 3, params: { causalHistorySize: 0 } });
    const a1 = sendBytes(a, "a1", T);
    c.receive(a1.bytes, T + 1);
    const c1 = c.send(enc("c1"), T + 2).outgoing[0]!;
    // B cannot ask for messages of a sender it knows only by key prefix...
    assert.deepEqual(eventsOf(b.receive(c1.bytes, T + 3), "missing"), []);
    // ...until A's own sync message tells it A's full key.
    a.receive(c1.bytes, T + 3);
    const sync = runTimers(a, T + 1_000_000)
      .flatMap((x) => x.step.outgoing)
      .find((o) => o.kind === "sync")!;
    const step = b.receive(sync.bytes, T + 300_000);
    assert.deepEqual(eventsOf(step, "missing"), [
      { type: "missing", ref: { senderId: a.senderId, sequence: 1 }, source: "ack-mark" },
    ]);
  });
});

describe("causal history", () => {
  test("each message names the last K delivered ids, K = params.causalHistorySize", () => {
    for (const k of [0, 1, 3, 5]) {
      const a = makeEngine({ n: 1, params: { causalHistorySize: k } });
      const b = makeEngine({ n: 2 });
      const delivered: string[] = [];
      for (let i = 0; i < 7; i++) {
        if (i === 3) {
          // Received messages count too.
          const other = sendBytes(b, "from b", T + i);
          a.receive(other.bytes, T + i);
          delivered.push(other.id);
        }
        const r = a.send(enc(`m${i}`), T + 100 + i);
        const history = decodeOut(r.outgoing[0]!).causalHistory.map((h) => h.messageId);
        assert.deepEqual(history, delivered.slice(Math.max(0, delivered.length - k)), `K=${k} message ${i}`);
        delivered.push(r.messageId);
      }
    }
  });

  test("a message with an unmet dependency waits; it is delivered once the dependency arrives", () => {
    const a = makeEngine({ n: 1 });
    const c = makeEngine({ n: 3 });
    const d = makeEngine({ n: 4 });
    const b = makeEngine({ n: 2 });
    const a1 = sendBytes(a, "a1", T);
    c.receive(a1.bytes, T + 1);
    const c1 = sendBytes(c, "c1", T + 2);
    d.receive(a1.bytes, T + 3);
    d.receive(c1.bytes, T + 3);
    const d1 = sendBytes(d, "d1", T + 4);
    assert.deepEqual(
      decodeOut(d.send(enc("probe"), T + 5).outgoing[0]!).causalHistory.map((h) => h.messageId),
      [c1.id, d1.id],
    );
    // B hears d1 first: it names a1 and c1, both unknown.
    const s1 = b.receive(d1.bytes, T + 10);
    assert.deepEqual(deliveredIds(s1), []);
    assert.deepEqual(
      eventsOf(s1, "missing").map((e) => [e.ref.messageId, e.source]),
      [
        [a1.id, "causal-history"],
        [c1.id, "causal-history"],
      ],
    );
    assert.equal(b.status(d1.id)?.state, "pending");
    assert.equal(b.status(c1.id)?.state, "missing");
    // c1 arrives: it waits too, for a1; no new "missing" for a1.
    const s2 = b.receive(c1.bytes, T + 11);
    assert.deepEqual(deliveredIds(s2), []);
    assert.deepEqual(eventsOf(s2, "missing"), []);
    assert.equal(b.bufferSizes().pending, 2);
    // a1 arrives: everything is delivered in causal order.
    assert.deepEqual(deliveredIds(b.receive(a1.bytes, T + 12)), [a1.id, c1.id, d1.id]);
    assert.equal(b.bufferSizes().pending, 0);
    assert.deepEqual(b.missingRefs(), []);
  });

  test("a dependency is given up after dependencyTimeoutMs with a 'lost' event; the waiting message is then delivered", () => {
    for (const timeout of [5_000, 120_000]) {
      const a = makeEngine({ n: 1 });
      const c = makeEngine({ n: 3 });
      const b = makeEngine({ n: 2, params: { dependencyTimeoutMs: timeout } });
      const a1 = sendBytes(a, "a1", T);
      c.receive(a1.bytes, T);
      const c1 = sendBytes(c, "c1", T + 1);
      b.receive(c1.bytes, T + 100);
      const before = runTimers(b, T + 100 + timeout - 1);
      assert.deepEqual(
        before.flatMap((s) => eventsOf(s.step, "lost")),
        [],
        `timeout ${timeout}: nothing lost early`,
      );
      assert.ok(
        before.some((s) => s.step.outgoing.some((o) => decodeOut(o).repairRequest.some((r) => r.messageId === a1.id))),
        "it asked for the missing message meanwhile",
      );
      const at = b.nextDeadline();
      assert.equal(at, T + 100 + timeout);
      const step = b.tick(at!);
      assert.deepEqual(eventsOf(step, "lost"), [{ type: "lost", ref: { messageId: a1.id }, dependents: 1 }]);
      assert.deepEqual(deliveredIds(step), [c1.id]);
      assert.equal(b.status(a1.id)?.state, "lost");
      assert.deepEqual(b.missingRefs(), []);
      // If it turns up after all, it is delivered once, late.
      assert.deepEqual(deliveredIds(b.receive(a1.bytes, at! + 1)), [a1.id]);
      assert.deepEqual(deliveredIds(b.receive(a1.bytes, at! + 2)), []);
      assert.deepEqual(deliveredIds(b.receive(c1.bytes, at! + 3)), []);
    }
  });

  test("a skipped sequence number is given up too, and the later messages are delivered", () => {
    const a = makeEngine({ n: 1, params: { causalHistorySize: 0 } });
    const b = makeEngine({ n: 2, params: { dependencyTimeoutMs: 10_000 } });
    const ms = [1, 2, 3, 4].map((i) => sendBytes(a, `m${i}`, T + i));
    b.receive(ms[0]!.bytes, T + 10);
    b.receive(ms[3]!.bytes, T + 10);
    b.receive(ms[2]!.bytes, T + 10);
    const steps = runTimers(b, T + 10 + 10_000);
    const lost = steps.flatMap((s) => eventsOf(s.step, "lost"));
    assert.deepEqual(lost, [{ type: "lost", ref: { senderId: a.senderId, sequence: 2 }, dependents: 1 }]);
    assert.deepEqual(
      steps.flatMap((s) => deliveredIds(s.step)),
      [ms[2]!.id, ms[3]!.id],
    );
    // The sender's next message is in order again: no new gap.
    const m5 = sendBytes(a, "m5", T + 20_000);
    const step = b.receive(m5.bytes, T + 20_001);
    assert.deepEqual(deliveredIds(step), [m5.id]);
    assert.deepEqual(eventsOf(step, "missing"), []);
  });
});
