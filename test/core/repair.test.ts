// Requirement 8: repair requests, rebroadcast answers, suppression among many holders, preferred responders.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  craft,
  decodeOut,
  deliveredIds,
  enc,
  eventsOf,
  identity,
  makeEngine,
  runTimers,
  sendBytes,
} from "./fixtures.js";
import { Network } from "./harness.js";

const T = 20_000;
// Holders skip a request for a message they saw on the wire less than repairRetryMs / 2 ago (the request
// probably crossed it); requests in these tests come later than that.
const LATER = 10_000;

describe("repair", () => {
  test("a member missing a message by id asks for it in a sync; a holder rebroadcasts the original bytes", () => {
    const a = makeEngine({ n: 1, seed: 1 });
    const c = makeEngine({ n: 3, seed: 3 });
    const b = makeEngine({ n: 2, seed: 2 });
    const a1 = sendBytes(a, "a1", T);
    c.receive(a1.bytes, T);
    const c1 = sendBytes(c, "c1", T + 1);
    // B hears c1, not a1.
    const t0 = T + LATER;
    assert.equal(eventsOf(b.receive(c1.bytes, t0), "missing").length, 1);
    const steps = runTimers(b, t0 + 10_000);
    const requests = steps.flatMap((s) => s.step.outgoing);
    assert.ok(requests.length >= 1, "it asked");
    assert.equal(requests[0]!.kind, "sync");
    const wire = decodeOut(requests[0]!);
    assert.deepEqual(
      wire.repairRequest.map((r) => r.messageId),
      [a1.id],
    );
    assert.ok(steps[0]!.at - t0 <= b.params.repairRequestDelayMs, "asked within the request delay");
    // C holds a1 and answers after its suppression delay.
    const now = steps[0]!.at + 50;
    assert.deepEqual(c.receive(requests[0]!.bytes, now).outgoing, []);
    const answers = runTimers(c, now + c.params.repairResponseDelayMs).flatMap((s) => s.step.outgoing);
    assert.deepEqual(
      answers.map((o) => [o.purpose, o.messageId]),
      [["repair-response", a1.id]],
    );
    assert.deepEqual(answers[0]!.bytes, a1.bytes, "the original bytes, signature and all");
    const got = b.receive(answers[0]!.bytes, now + 2_000);
    assert.deepEqual(deliveredIds(got), [a1.id, c1.id]);
    assert.equal(eventsOf(got, "repaired")[0]?.messageId, a1.id);
  });

  test("a sequence gap is asked for as a sequence range, and the sender or any holder answers it", () => {
    const a = makeEngine({ n: 1, params: { causalHistorySize: 0 } });
    const c = makeEngine({ n: 3 });
    const b = makeEngine({ n: 2, seed: 5 });
    const ms = [1, 2, 3, 4].map((i) => sendBytes(a, `m${i}`, T + i));
    for (const m of ms) c.receive(m.bytes, T + 5);
    b.receive(ms[0]!.bytes, T + 10);
    b.receive(ms[3]!.bytes, T + 10);
    const request = runTimers(b, T + 20_000).flatMap((s) => s.step.outgoing)[0]!;
    assert.deepEqual(decodeOut(request).sequenceRepairRequest, [{ senderId: a.senderId, first: 2, last: 3 }]);
    for (const holder of [a, c]) {
      holder.receive(request.bytes, T + 20_001);
      const answers = runTimers(holder, T + 30_000)
        .flatMap((s) => s.step.outgoing)
        .filter((o) => o.purpose === "repair-response");
      assert.deepEqual(answers.map((o) => o.messageId).sort(), [ms[1]!.id, ms[2]!.id].sort());
    }
  });

  test("requests ride on a content message sent meanwhile", () => {
    const a = makeEngine({ n: 1, params: { causalHistorySize: 0 } });
    const b = makeEngine({ n: 2 });
    const ms = [1, 2, 3].map((i) => sendBytes(a, `m${i}`, T + i));
    b.receive(ms[0]!.bytes, T + 10);
    b.receive(ms[2]!.bytes, T + 10);
    const reply = b.send(enc("what did I miss?"), T + 11);
    assert.deepEqual(decodeOut(reply.outgoing[0]!).sequenceRepairRequest, [
      { senderId: a.senderId, first: 2, last: 2 },
    ]);
    assert.deepEqual(
      eventsOf(a.receive(reply.outgoing[0]!.bytes, T + 12), "acknowledged").map((e) => e.messageId),
      [ms[0]!.id],
      "the reply acknowledges what B holds",
    );
    const answers = runTimers(a, T + 5_000).flatMap((s) => s.step.outgoing);
    assert.deepEqual(
      answers.filter((o) => o.purpose === "repair-response").map((o) => o.messageId),
      [ms[1]!.id],
    );
  });

  test("requests that do not fit in one message's overhead budget go out in the following ones", () => {
    const b = makeEngine({ n: 2 });
    const unknown = Array.from({ length: 40 }, (_, i) => `${i}`.padStart(32, "e"));
    const x = craft(identity(5), {
      kind: "content",
      sequence: 1,
      lamport: BigInt(T),
      causalHistory: unknown.map((messageId) => ({ messageId })),
    });
    assert.equal(eventsOf(b.receive(x.bytes, T), "missing").length, 40);
    const asked: string[] = [];
    let messages = 0;
    while (asked.length < 40 && messages < 20) {
      const out = b.send(enc(`m${messages}`), T + 1 + messages).outgoing[0]!;
      messages++;
      const wire = decodeOut(out);
      assert.ok(out.bytes.length - wire.content!.length <= b.params.overheadBudgetBytes);
      assert.ok(wire.repairRequest.length > 0, `message ${messages} carried requests`);
      asked.push(...wire.repairRequest.map((r) => r.messageId));
    }
    assert.ok(messages > 2, `spread over ${messages} messages`);
    assert.deepEqual([...asked].sort(), [...unknown].sort(), "each asked once, none dropped");
  });

  test("a preferred responder answers at once; the others wait preferredResponderGraceMs and then stand down", () => {
    // Every member, the owner included, is configured with the owner as preferred responder.
    const preferredResponders = [identity(9).senderId];
    const owner = makeEngine({ n: 9, seed: 9, preferredResponders });
    const a = makeEngine({ n: 1, preferredResponders, params: { causalHistorySize: 0 } });
    const h = makeEngine({ n: 3, seed: 3, preferredResponders });
    const b = makeEngine({ n: 2, seed: 2, preferredResponders });
    // The owner has been heard from.
    const hello = sendBytes(owner, "owner online", T);
    for (const x of [a, h, b]) x.receive(hello.bytes, T);
    const ms = [1, 2, 3].map((i) => sendBytes(a, `m${i}`, T + i));
    for (const m of ms) {
      owner.receive(m.bytes, T + 5);
      h.receive(m.bytes, T + 5);
    }
    b.receive(ms[0]!.bytes, T + LATER);
    b.receive(ms[2]!.bytes, T + LATER);
    const request = runTimers(b, T + LATER + 5_000).flatMap((s) => s.step.outgoing)[0]!;
    const now = T + LATER + 5_000;

    const ownerStep = owner.receive(request.bytes, now);
    assert.deepEqual(
      ownerStep.outgoing.map((o) => [o.purpose, o.messageId]),
      [["repair-response", ms[1]!.id]],
      "the owner answers in the same step",
    );

    assert.deepEqual(h.receive(request.bytes, now).outgoing, []);
    const grace = h.params.preferredResponderGraceMs;
    const due = h.nextDeadline();
    assert.ok(
      due !== undefined && due >= now + grace && due <= now + grace + h.params.repairResponseDelayMs,
      `due ${due}`,
    );
    // Without the owner's answer, it answers after the grace.
    const h2 = makeEngine({ n: 3, seed: 3, preferredResponders });
    h2.receive(hello.bytes, T);
    for (const m of ms) h2.receive(m.bytes, T + 5);
    h2.receive(request.bytes, now);
    assert.deepEqual(
      runTimers(h2, now + grace + 1_000)
        .flatMap((s) => s.step.outgoing)
        .map((o) => o.purpose),
      ["repair-response"],
    );
    // With it, it stands down.
    h.receive(ownerStep.outgoing[0]!.bytes, now + 100);
    assert.deepEqual(
      runTimers(h, now + grace + 1_000)
        .flatMap((s) => s.step.outgoing)
        .filter((o) => o.purpose === "repair-response"),
      [],
    );
  });

  test("when the preferred responder has not been heard from, the others do not wait for it", () => {
    const ownerId = makeEngine({ n: 9 }).senderId;
    const a = makeEngine({ n: 1, params: { causalHistorySize: 0 } });
    const h = makeEngine({ n: 3, seed: 4, preferredResponders: [ownerId] });
    const ms = [1, 2, 3].map((i) => sendBytes(a, `m${i}`, T + i));
    for (const m of ms) h.receive(m.bytes, T + 5);
    const b = makeEngine({ n: 2 });
    b.receive(ms[0]!.bytes, T + 10);
    b.receive(ms[2]!.bytes, T + 10);
    const request = runTimers(b, T + 20_000).flatMap((s) => s.step.outgoing)[0]!;
    h.receive(request.bytes, T + 20_000);
    const due = h.nextDeadline();
    assert.ok(due !== undefined && due <= T + 20_000 + h.params.repairResponseDelayMs, `due ${due}`);
  });
});

describe("suppression among many holders", () => {
  // 50 members; each loss leaves one member without a message that the other 49 hold.
  function measure(params: Record<string, number>, losses: number, seed: number) {
    const members = 50;
    const net = new Network({
      members,
      seed,
      params: { syncIntervalMs: 3_600_000, maxResends: 0, ...params },
      faults: { drop: 0, duplicate: 0, minDelayMs: 10, maxDelayMs: 100 },
      identityBase: 1_000,
    });
    net.runUntil(11_000);
    for (let i = 0; i < members; i++) net.send(i, `hello ${i}`);
    net.runUntil(net.now + 5_000);
    const answers: number[] = [];
    for (let loss = 0; loss < losses; loss++) {
      const sender = (loss * 7) % members;
      const victim = (sender + 1 + ((loss * 13) % (members - 1))) % members;
      const lost = net.sendExcept(sender, [victim], `lost ${loss}`);
      // Holders that saw a message on the wire moments ago skip a request for it (it crossed the copy);
      // a gap found later is answered from the cache, and that is where suppression matters.
      net.runUntil(net.now + 10_000);
      net.send(sender, `next ${loss}`); // reveals the gap by sequence number
      net.runUntil(net.now + 20_000);
      assert.equal(net.deliveredCount[victim]!.get(lost), 1, `loss ${loss} was repaired`);
      answers.push(net.log.filter((e) => e.purpose === "repair-response" && e.messageId === lost).length);
    }
    assert.deepEqual(net.violations, []);
    return answers;
  }

  test("about one answer per loss with 50 holders (exponential timer, cancel on seen)", (t) => {
    const answers = measure({}, 20, 7);
    const mean = answers.reduce((x, y) => x + y, 0) / answers.length;
    t.diagnostic(`answers per loss: ${answers.join(",")} (mean ${mean})`);
    assert.ok(answers.every((n) => n >= 1));
    assert.ok(mean <= 2, `mean ${mean} answers per loss: ${answers.join(",")}`);
  });

  test("control: without a response delay, every holder that has not yet seen an answer sends one", (t) => {
    const answers = measure({ repairResponseDelayMs: 0 }, 2, 8);
    t.diagnostic(`answers per loss: ${answers.join(",")}`);
    assert.ok(Math.min(...answers) >= 10, `answers per loss: ${answers.join(",")}`);
  });
});

describe("loss declaration", () => {
  test("a gap is given up only after three requests, or at five dependency timeouts when the budget refused them", () => {
    const a = makeEngine({ n: 1, seed: 1, params: { causalHistorySize: 0 } });
    const m = ["m1", "m2"].map((t, i) => sendBytes(a, t, T + i * 1_000));
    // B may send one control message per 600 s: its first request goes out, the retries cannot.
    const b = makeEngine({ n: 2, seed: 2, params: { controlBudgetPer600s: 1 } });
    const detected = T + 1_000;
    assert.equal(eventsOf(b.receive(m[1]!.bytes, detected), "missing").length, 1);
    const timeout = b.params.dependencyTimeoutMs;
    const early = runTimers(b, detected + timeout + 30_000);
    assert.equal(early.flatMap((s) => s.step.outgoing).length, 1, "one request, then out of budget");
    assert.deepEqual(
      early.flatMap((s) => eventsOf(s.step, "lost")),
      [],
      "not given up at the timeout",
    );
    // Still asked for fewer than three times: given up at the cap of five timeouts.
    const later = runTimers(b, detected + 650_000);
    const lost = later.flatMap((s) => eventsOf(s.step, "lost").map((e) => ({ at: s.at, e })));
    assert.ok(lost.length >= 1, "given up in the end");
    assert.ok(
      lost[0]!.at > detected + 4 * timeout && lost[0]!.at <= detected + 5 * timeout,
      `given up at +${lost[0]!.at - detected} ms`,
    );

    // With an ordinary budget, three requests go out within the timeout and the gap is given up on time.
    const c = makeEngine({ n: 3, seed: 3 });
    c.receive(m[1]!.bytes, detected);
    const steps = runTimers(c, detected + timeout + 1_000);
    assert.ok(steps.flatMap((s) => s.step.outgoing).length >= 3);
    assert.equal(steps.flatMap((s) => eventsOf(s.step, "lost")).length >= 1, true, "given up at the timeout");
  });
});
