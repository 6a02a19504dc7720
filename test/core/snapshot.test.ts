// Requirement 10: snapshots are plain JSON, and a restored engine carries on exactly where it stopped.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildFilter, ChannelEngine, channelSalt, type EngineSnapshot } from "../../src/core/index.js";
import type { EngineEvent, Step } from "../../src/core/types.js";
import { CHANNEL, craft, deliveredIds, enc, eventsOf, identity, makeEngine, prng, runTimers } from "./fixtures.js";

const T = 20_000;

/** A PRNG whose state can be copied, so that an original and its restored copy draw the same numbers. */
function copyableRandom(seed: number) {
  let calls = 0;
  const make = (skip: number) => {
    const r = prng(seed);
    for (let i = 0; i < skip; i++) r();
    return r;
  };
  const inner = make(0);
  return {
    random: () => {
      calls++;
      return inner();
    },
    copy: () => make(calls),
  };
}

function jsonRoundTrip(snapshot: EngineSnapshot): EngineSnapshot {
  return JSON.parse(JSON.stringify(snapshot)) as EngineSnapshot;
}

function restore(engine: ChannelEngine, n: number, random: () => number = prng(99)): ChannelEngine {
  return ChannelEngine.restore(jsonRoundTrip(engine.snapshot()), { channelId: CHANNEL, identity: identity(n), random });
}

/** A member in a busy state: own messages with partial receipts, pending messages, gaps, members. */
function busyMember() {
  const a = makeEngine({ n: 1, params: { causalHistorySize: 0 } });
  const c = makeEngine({ n: 3 });
  const b = makeEngine({ n: 2, seed: 2 });
  const as = [1, 2, 3, 4].map((i) => a.send(enc(`a${i}`), T + i).outgoing[0]!.bytes);
  c.receive(as[0]!, T + 5);
  const c1 = c.send(enc("c1"), T + 6).outgoing[0]!.bytes;
  const own = [1, 2].map((i) => b.send(enc(`b${i}`), T + 10 + i));
  b.receive(as[0]!, T + 20);
  b.receive(as[2]!, T + 21); // a2 missing, a3 pending
  b.receive(c1, T + 22);
  // A filter hit from C for b1: "possibly" carries a bigint nonce.
  const ack = {
    nonce: 0xfedcba9876543210n,
    filter: buildFilter(channelSalt(CHANNEL), 0xfedcba9876543210n, [own[0]!.messageId], 32, 7),
    hashCount: 7,
    marks: [],
  };
  b.receive(craft(identity(3), { kind: "sync", lamport: BigInt(T + 23), ack }).bytes, T + 23);
  return { a, b, c, as, own };
}

describe("snapshots", () => {
  test("are JSON-serialisable, and a restored engine snapshots identically", () => {
    const { b, own } = busyMember();
    const snap = b.snapshot();
    const text = JSON.stringify(snap);
    assert.ok(text.length > 0);
    assert.equal(b.status(own[0]!.messageId)?.state, "possibly-acknowledged");
    assert.ok(b.bufferSizes().pending > 0 && b.bufferSizes().missing > 0);
    const restored = restore(b, 2);
    assert.equal(JSON.stringify(restored.snapshot()), text);
    // Rate quota buckets are arrival-time state and not persisted: a restored engine starts them full.
    assert.deepEqual({ ...restored.bufferSizes(), quotas: 0 }, { ...b.bufferSizes(), quotas: 0 });
    assert.deepEqual(restored.deliveredLog(), b.deliveredLog());
    assert.deepEqual(restored.missingRefs(), b.missingRefs());
    assert.deepEqual(restored.status(own[0]!.messageId), b.status(own[0]!.messageId));
    assert.equal(restored.nextDeadline(), b.nextDeadline());
  });

  test("a restored engine delivers nothing twice and still detects and fills gaps", () => {
    const { a, b, as } = busyMember();
    const r = restore(b, 2);
    for (const bytes of [as[0]!, as[2]!])
      assert.deepEqual(deliveredIds(r.receive(bytes, T + 100)), [], "no second delivery");
    const got = r.receive(as[1]!, T + 101);
    assert.deepEqual(
      deliveredIds(got).map((id) => r.deliveredLog().find((m) => m.messageId === id)?.sequence),
      [2, 3],
    );
    assert.equal(eventsOf(got, "repaired").length, 1);
    // New gaps after the restore are found as before.
    const more = [5, 6, 7].map((i) => a.send(enc(`a${i}`), T + 200 + i).outgoing[0]!.bytes);
    const step = r.receive(more[2]!, T + 300);
    assert.deepEqual(
      eventsOf(step, "missing").map((e) => e.ref.sequence),
      [4, 5, 6],
    );
  });

  test("own messages keep their receipts and resend schedule across a restore", () => {
    const a = makeEngine({ n: 1 });
    const m = a.send(enc("hello"), T);
    const r = restore(a, 1);
    assert.equal(r.nextDeadline(), T + 30_000);
    const resends = runTimers(r, T + 1_000_000).flatMap((s) => s.step.outgoing);
    assert.equal(resends.length, 3);
    assert.ok(resends.every((o) => o.messageId === m.messageId && o.purpose === "resend"));
    const r2 = restore(r, 1);
    assert.equal(r2.nextDeadline(), undefined, "finished resends stay finished (Infinity survives JSON as null)");
    // Sequence numbers and lamport timestamps continue.
    const next = r2.send(enc("again"), T);
    assert.equal(next.sequence, 2);
    assert.ok(next.lamportTimestamp! > m.lamportTimestamp!);
  });

  test("a restored engine continues exactly as the original would (same inputs, same events)", () => {
    const senders = [1, 3, 4].map((n) => makeEngine({ n, seed: n }));
    const wire: Uint8Array[] = [];
    let t = T;
    for (let i = 0; i < 30; i++) {
      const s = senders[i % 3]!;
      wire.push(s.send(enc(`m${i}`), t).outgoing[0]!.bytes);
      for (const o of senders) if (o !== s && i % 4 !== 0) o.receive(wire[wire.length - 1]!, t);
      t += 500;
    }
    // B hears a shuffled, lossy, duplicated version.
    const random = prng(5);
    const feed = wire.flatMap((bytes) => (random() < 0.25 ? [] : random() < 0.2 ? [bytes, bytes] : [bytes]));
    for (let i = feed.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [feed[i], feed[j]] = [feed[j]!, feed[i]!];
    }
    const rnd = copyableRandom(42);
    const original = new ChannelEngine({
      channelId: CHANNEL,
      identity: identity(2),
      random: rnd.random,
      now: 0,
      params: { dependencyTimeoutMs: 30_000 },
    });
    const half = Math.floor(feed.length / 2);
    const events = (steps: Step[]): string[] =>
      steps.flatMap((s) =>
        s.events
          .filter((e): e is Exclude<EngineEvent, { type: "acknowledged" }> => e.type !== "acknowledged")
          .map(
            (e) =>
              `${e.type}:${"message" in e ? e.message.messageId : "ref" in e ? JSON.stringify(e.ref) : "messageId" in e ? e.messageId : ""}`,
          ),
      );
    t = T + 20_000;
    for (const bytes of feed.slice(0, half)) original.receive(bytes, t++);
    const copy = ChannelEngine.restore(jsonRoundTrip(original.snapshot()), {
      channelId: CHANNEL,
      identity: identity(2),
      random: rnd.copy(),
      params: { dependencyTimeoutMs: 30_000 },
    });
    const run = (engine: ChannelEngine): string[] => {
      const steps: Step[] = [];
      let now = t;
      for (const bytes of feed.slice(half)) {
        steps.push(...runTimers(engine, now).map((s) => s.step));
        steps.push(engine.receive(bytes, now));
        now += 300;
      }
      steps.push(...runTimers(engine, now + 200_000).map((s) => s.step));
      return events(steps);
    };
    const a = run(original);
    const b = run(copy);
    assert.ok(a.filter((e) => e.startsWith("delivered")).length > 5);
    assert.deepEqual(b, a);
    assert.deepEqual(
      copy.deliveredLog().map((m) => m.messageId),
      original.deliveredLog().map((m) => m.messageId),
    );
  });

  test("restore refuses a snapshot of another channel, another member, or an unknown version", () => {
    const b = makeEngine({ n: 2 });
    const snap = jsonRoundTrip(b.snapshot());
    const config = { channelId: CHANNEL, identity: identity(2), random: prng(1) };
    assert.throws(() => ChannelEngine.restore(snap, { ...config, channelId: "elsewhere" }), RangeError);
    assert.throws(() => ChannelEngine.restore(snap, { ...config, identity: identity(3) }), RangeError);
    assert.throws(
      () => ChannelEngine.restore({ ...snap, version: 2 } as unknown as EngineSnapshot, config),
      RangeError,
    );
  });
});
