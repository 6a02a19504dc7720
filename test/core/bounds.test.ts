// Requirement 9: bounded memory under floods; and the engine stays live for honest members meanwhile.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ChannelEngine, type Params } from "../../src/core/index.js";
import {
  CHANNEL,
  craft,
  deliveredIds,
  enc,
  eventsOf,
  hexRandom,
  identity,
  makeEngine,
  prng,
  runTimers,
  unsignedContent,
} from "./fixtures.js";

const T = 20_000;

/** An engine that accepts any signature, so that floods from many senders stay fast to build. */
function target(params: Partial<Params> = {}, seed = 1): ChannelEngine {
  return new ChannelEngine({
    channelId: CHANNEL,
    identity: identity(1),
    random: prng(seed),
    now: 0,
    params,
    verifySignature: () => true,
  });
}

function assertWithin(engine: ChannelEngine, label: string): void {
  const p = engine.params;
  const s = engine.bufferSizes();
  const checks: [string, number, number][] = [
    ["pending", s.pending, p.maxPending],
    ["missing", s.missing, p.maxMissing],
    ["own", s.own, p.maxTrackedOwn],
    ["seen", s.seen, p.maxSeenIds],
    ["cache", s.cache, p.repairCacheSize],
    ["members", s.members, p.maxMembers],
    ["waiters", s.waiters, p.maxMissing + 2 * p.maxPending],
  ];
  for (const [name, value, limit] of checks) assert.ok(value <= limit, `${label}: ${name} ${value} > ${limit}`);
}

describe("bounded memory", () => {
  test("a sender citing thousands of non-existent ids fills neither the missing set nor the pending buffer past their limits", () => {
    const random = prng(3);
    for (const params of [{}, { maxMissing: 300, maxPending: 40, maxPendingPerSender: 15 }]) {
      const x = target(params);
      const p = x.params;
      const attackers = Array.from({ length: 5 }, () => hexRandom(random, 64));
      let t = T;
      let rejected = 0;
      let cited = 0;
      for (let round = 0; round < 15; round++) {
        for (const attacker of attackers) {
          // 256 history entries is the decode limit per message.
          const history = Array.from({ length: 256 }, () => hexRandom(random, 32));
          cited += history.length;
          const step = x.receive(unsignedContent(CHANNEL, attacker, round + 1, BigInt(t), history), t++);
          rejected += eventsOf(step, "rejected").length;
        }
        assertWithin(x, `params ${JSON.stringify(params)} round ${round}`);
      }
      const s = x.bufferSizes();
      assert.ok(cited > p.maxMissing, "the flood exceeds the missing set");
      assert.equal(s.missing, p.maxMissing, "the missing set is full, not overfull");
      assert.ok(s.pending <= Math.min(p.maxPending, attackers.length * p.maxPendingPerSender));
      if (p.maxPendingPerSender < 15) assert.ok(rejected > 0, "the per-sender share refused some");
      // The heap of timers is compacted back to what is live.
      runTimers(x, t + 1_000);
      const after = x.bufferSizes();
      assert.ok(
        after.timers <= 4 * (after.missing + after.own + after.responses) + 64,
        `timers ${after.timers} for ${after.missing} missing`,
      );
      // Everything the flood made us wait for is given up in time, and memory drains.
      runTimers(x, t + p.dependencyTimeoutMs + 10 * p.repairRetryMs);
      assert.equal(x.bufferSizes().missing, 0);
      assert.equal(x.bufferSizes().pending, 0);
      assert.equal(x.bufferSizes().waiters, 0);
    }
  });

  test("skipping sequence numbers by millions opens at most maxGapPerDetection missing entries per detection", () => {
    // The rate quota refuses such jumps outright (test/core/quota.test.ts); this tests the bound beneath it.
    for (const maxGapPerDetection of [2_000, 50]) {
      const x = target({ maxGapPerDetection, senderQuotaPer600s: 0 });
      const attacker = "ab".repeat(32);
      x.receive(unsignedContent(CHANNEL, attacker, 1, BigInt(T)), T);
      let step = x.receive(unsignedContent(CHANNEL, attacker, 5_000_000, BigInt(T + 1)), T + 1);
      assert.equal(eventsOf(step, "missing").length, maxGapPerDetection);
      assert.equal(x.bufferSizes().missing, maxGapPerDetection);
      // Further jumps from the same sender reopen the same window: nothing new.
      step = x.receive(unsignedContent(CHANNEL, attacker, 9_000_000, BigInt(T + 2)), T + 2);
      assert.equal(eventsOf(step, "missing").length, 0);
      step = x.receive(unsignedContent(CHANNEL, attacker, Number.MAX_SAFE_INTEGER, BigInt(T + 3)), T + 3);
      assert.equal(x.bufferSizes().missing, maxGapPerDetection);
      assertWithin(x, `maxGapPerDetection ${maxGapPerDetection}`);
    }
    // Many such senders: the missing set as a whole stays within maxMissing.
    const x = target({ maxMissing: 5_000, senderQuotaPer600s: 0 });
    const random = prng(4);
    for (let i = 0; i < 10; i++) {
      const attacker = hexRandom(random, 64);
      x.receive(unsignedContent(CHANNEL, attacker, 1, BigInt(T + i)), T + i);
      x.receive(unsignedContent(CHANNEL, attacker, 1_000_000 + i, BigInt(T + i)), T + i);
    }
    assert.equal(x.bufferSizes().missing, 5_000);
  });

  test("seen ids, the cache, own tracked messages and members stay within their limits", () => {
    const params = { maxSeenIds: 200, repairCacheSize: 100, maxTrackedOwn: 50, maxMembers: 20 };
    const x = target(params);
    const random = prng(5);
    const senders = Array.from({ length: 100 }, () => hexRandom(random, 64));
    let t = T;
    for (let round = 1; round <= 10; round++) {
      for (const s of senders) x.receive(unsignedContent(CHANNEL, s, round, BigInt(t)), t++);
      for (let i = 0; i < 30; i++) x.send(enc(`own ${round}.${i}`), t++);
      assertWithin(x, `round ${round}`);
    }
    const s = x.bufferSizes();
    assert.equal(s.seen, 200);
    assert.equal(s.cache, 100);
    assert.equal(s.own, 50);
    assert.equal(s.members, 20);
    assert.equal(x.deliveredLog().length, 100);
  });

  test("an honest member's message is not held back forever when the missing set is full", () => {
    const x = makeEngine({ n: 9, params: { maxMissing: 4, dependencyTimeoutMs: 10_000 } });
    // The flood: one message citing more unknown ids than the missing set holds.
    const flood = craft(identity(66), {
      kind: "content",
      sequence: 1,
      lamport: BigInt(T),
      causalHistory: Array.from({ length: 10 }, (_, i) => ({ messageId: `${i}`.padStart(32, "f") })),
    });
    x.receive(flood.bytes, T);
    assert.equal(x.bufferSizes().missing, 4);
    // An honest message whose dependency was lost on the way.
    const a = makeEngine({ n: 1 });
    const c = makeEngine({ n: 3 });
    const a1 = a.send(enc("a1"), T + 1);
    c.receive(a1.outgoing[0]!.bytes, T + 1);
    const c1 = c.send(enc("c1"), T + 2);
    const delivered = deliveredIds(x.receive(c1.outgoing[0]!.bytes, T + 3));
    for (const s of runTimers(x, T + 3 + 60_000)) delivered.push(...deliveredIds(s.step));
    assert.ok(delivered.includes(c1.messageId), "c1 was delivered within the dependency timeout");
    assert.ok(delivered.includes(flood.id), "the flood message itself is given up on, too");
    // Its later messages still name a1, which the missing set has room for by now: they wait for it as usual.
    const c2 = c.send(enc("c2"), T + 70_000);
    const later = deliveredIds(x.receive(c2.outgoing[0]!.bytes, T + 70_001));
    assert.equal(later.length, 0);
    assert.deepEqual(x.missingRefs(), [{ messageId: a1.messageId }]);
    for (const s of runTimers(x, T + 70_001 + 10_000)) later.push(...deliveredIds(s.step));
    assert.deepEqual(later, [c2.messageId]);
  });

  test("a sender's message after a gap wider than maxGapPerDetection is not held back forever", () => {
    const x = target({ maxGapPerDetection: 10, dependencyTimeoutMs: 10_000 });
    const sender = "cd".repeat(32);
    x.receive(unsignedContent(CHANNEL, sender, 1, BigInt(T)), T);
    const late = unsignedContent(CHANNEL, sender, 100, BigInt(T + 1));
    const delivered = deliveredIds(x.receive(late, T + 1));
    for (const s of runTimers(x, T + 60_000)) delivered.push(...deliveredIds(s.step));
    assert.equal(delivered.length, 1, "seq 100 was delivered once the tracked part of the gap was given up");
    assert.equal(x.bufferSizes().pending, 0);
  });

  test("hostile histories cannot hold a message forever: self-citation, repeated entries, mutual citation", () => {
    const x = makeEngine({ n: 9, params: { dependencyTimeoutMs: 10_000 } });
    const evil = identity(66);
    // A message naming itself (the id does not cover the history, so this can be built).
    const selfId = craft(evil, { kind: "content", sequence: 1, lamport: BigInt(T), content: enc("me") }).id;
    const self = craft(evil, {
      kind: "content",
      sequence: 1,
      lamport: BigInt(T),
      content: enc("me"),
      causalHistory: [{ messageId: selfId }],
    });
    const step = x.receive(self.bytes, T);
    assert.deepEqual(deliveredIds(step), [selfId]);
    assert.deepEqual(eventsOf(step, "missing"), []);
    assert.deepEqual(eventsOf(step, "repaired"), []);

    // The same dependency named twice is one dependency.
    const a = makeEngine({ n: 1 });
    const a1 = a.send(enc("a1"), T + 1);
    const twice = craft(identity(67), {
      kind: "content",
      sequence: 1,
      lamport: BigInt(T + 2),
      causalHistory: [{ messageId: a1.messageId }, { messageId: a1.messageId }],
    });
    assert.deepEqual(deliveredIds(x.receive(twice.bytes, T + 2)), []);
    assert.deepEqual(deliveredIds(x.receive(a1.outgoing[0]!.bytes, T + 3)), [a1.messageId, twice.id]);

    // Two messages naming each other: neither can come first. Both are delivered when the wait runs out.
    const pFields = { kind: "content" as const, sequence: 1, lamport: BigInt(T + 4), content: enc("p") };
    const qFields = { kind: "content" as const, sequence: 1, lamport: BigInt(T + 4), content: enc("q") };
    const pId = craft(identity(68), pFields).id;
    const qId = craft(identity(69), qFields).id;
    const p = craft(identity(68), { ...pFields, causalHistory: [{ messageId: qId }] });
    const q = craft(identity(69), { ...qFields, causalHistory: [{ messageId: pId }] });
    const delivered = [...deliveredIds(x.receive(p.bytes, T + 5)), ...deliveredIds(x.receive(q.bytes, T + 6))];
    assert.equal(delivered.length, 0);
    assert.equal(x.bufferSizes().pending, 2);
    for (const s of runTimers(x, T + 6 + 2 * 10_000)) delivered.push(...deliveredIds(s.step));
    assert.deepEqual(delivered.sort(), [pId, qId].sort());
    assert.equal(x.bufferSizes().pending, 0);
    assert.equal(x.bufferSizes().waiters, 0);
  });
});
