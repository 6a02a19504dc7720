// Requirement 5: outgoing tracking. status(id) of own messages, and the three kinds of evidence for a receipt.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildFilter, type ChannelEngine, channelSalt } from "../../src/core/index.js";
import type { AckSummary } from "../../src/wire/index.js";
import { CHANNEL, craft, enc, eventsOf, identity, makeEngine, prefixOf } from "./fixtures.js";

const T = 20_000;

function filterSummary(ids: string[], nonce: bigint): AckSummary {
  const filter = buildFilter(channelSalt(CHANNEL), nonce, ids, 64, 7);
  return { nonce, filter, hashCount: 7, marks: [] };
}

function ownStatus(engine: ChannelEngine, id: string) {
  const s = engine.status(id);
  assert.ok(s?.own === true, `expected an own message, got ${JSON.stringify(s)}`);
  return s;
}

describe("status of own messages", () => {
  test("a fresh message is pending with no receipts", () => {
    const a = makeEngine({ n: 1 });
    const m = a.send(enc("hello"), T);
    const s = ownStatus(a, m.messageId);
    assert.equal(s.state, "pending");
    assert.equal(s.sequence, 1);
    assert.equal(s.resends, 0);
    assert.deepEqual(s.receipts, { count: 0, members: 0, ratio: 0, ackedBy: [], possiblyBy: [] });
    assert.equal(a.status("00".repeat(16)), undefined);
  });

  test("a causal-history reference acknowledges", () => {
    const a = makeEngine({ n: 1 });
    const m = a.send(enc("hello"), T);
    const b = identity(2);
    const reply = craft(b, {
      kind: "content",
      sequence: 1,
      lamport: BigInt(T + 1),
      causalHistory: [{ messageId: m.messageId }],
    });
    assert.equal(reply.message.ack, undefined, "no summary: only the history can acknowledge");
    const step = a.receive(reply.bytes, T + 1);
    assert.deepEqual(eventsOf(step, "acknowledged"), [
      { type: "acknowledged", messageId: m.messageId, by: b.senderId, count: 1, members: 1 },
    ]);
    const s = ownStatus(a, m.messageId);
    assert.equal(s.state, "acknowledged");
    assert.deepEqual(s.receipts, { count: 1, members: 1, ratio: 1, ackedBy: [b.senderId], possiblyBy: [] });
  });

  test("a received-up-to mark acknowledges every own message up to it, and no further", () => {
    const a = makeEngine({ n: 1 });
    const ms = [1, 2, 3].map((i) => a.send(enc(`m${i}`), T + i));
    const b = identity(2);
    const mark = (sequence: number, lamport: number) =>
      craft(b, {
        kind: "sync",
        lamport: BigInt(lamport),
        ack: {
          nonce: 1n,
          filter: new Uint8Array(),
          hashCount: 0,
          marks: [{ senderPrefix: prefixOf(a.senderId), sequence }],
        },
      });
    const step = a.receive(mark(2, T + 10).bytes, T + 10);
    assert.deepEqual(
      eventsOf(step, "acknowledged").map((e) => e.messageId),
      [ms[0]!.messageId, ms[1]!.messageId],
    );
    assert.equal(ownStatus(a, ms[1]!.messageId).state, "acknowledged");
    assert.equal(ownStatus(a, ms[2]!.messageId).state, "pending");
    // A mark for another sender's prefix says nothing about ours.
    const other = craft(b, {
      kind: "sync",
      lamport: BigInt(T + 11),
      ack: {
        nonce: 2n,
        filter: new Uint8Array(),
        hashCount: 0,
        marks: [{ senderPrefix: prefixOf(identity(3).senderId), sequence: 9 }],
      },
    });
    assert.deepEqual(eventsOf(a.receive(other.bytes, T + 11), "acknowledged"), []);
    // A mark beyond what we sent is capped, not trusted beyond it.
    const lie = a.receive(mark(1_000, T + 12).bytes, T + 12);
    assert.deepEqual(
      eventsOf(lie, "acknowledged").map((e) => e.messageId),
      [ms[2]!.messageId],
    );
    const later = a.send(enc("m4"), T + 13);
    assert.equal(ownStatus(a, later.messageId).state, "pending", "a mark is not carried over to later messages");
  });

  test("one filter hit makes a message possibly acknowledged; a second hit with another nonce confirms", () => {
    const a = makeEngine({ n: 1 });
    const m = a.send(enc("hello"), T);
    const b = identity(2);
    const sync = (nonce: bigint, ids: string[], at: number) =>
      craft(b, { kind: "sync", lamport: BigInt(at), ack: filterSummary(ids, nonce) }).bytes;
    const unrelated = ["aa".repeat(16), "bb".repeat(16)];
    assert.deepEqual(eventsOf(a.receive(sync(1n, unrelated, T + 1), T + 1), "acknowledged"), []);
    assert.equal(ownStatus(a, m.messageId).state, "pending", "a filter without the id does nothing");

    assert.deepEqual(eventsOf(a.receive(sync(7n, [m.messageId, ...unrelated], T + 2), T + 2), "acknowledged"), []);
    let s = ownStatus(a, m.messageId);
    assert.equal(s.state, "possibly-acknowledged");
    assert.deepEqual(s.receipts.possiblyBy, [b.senderId]);
    assert.equal(s.receipts.count, 0);

    // The same nonce again (a replay) is no second opinion.
    assert.deepEqual(eventsOf(a.receive(sync(7n, [m.messageId], T + 3), T + 3), "acknowledged"), []);
    assert.equal(ownStatus(a, m.messageId).state, "possibly-acknowledged");

    const step = a.receive(sync(8n, [m.messageId], T + 4), T + 4);
    assert.deepEqual(eventsOf(step, "acknowledged"), [
      { type: "acknowledged", messageId: m.messageId, by: b.senderId, count: 1, members: 1 },
    ]);
    s = ownStatus(a, m.messageId);
    assert.equal(s.state, "acknowledged");
    assert.deepEqual(s.receipts, { count: 1, members: 1, ratio: 1, ackedBy: [b.senderId], possiblyBy: [] });
  });

  test("two hits from different members do not confirm either of them", () => {
    const a = makeEngine({ n: 1 });
    const m = a.send(enc("hello"), T);
    for (const [n, nonce] of [
      [2, 5n],
      [3, 6n],
    ] as const) {
      a.receive(
        craft(identity(n), { kind: "sync", lamport: BigInt(T + n), ack: filterSummary([m.messageId], nonce) }).bytes,
        T + n,
      );
    }
    const s = ownStatus(a, m.messageId);
    assert.equal(s.state, "possibly-acknowledged");
    assert.equal(s.receipts.count, 0);
    assert.equal(s.receipts.possiblyBy.length, 2);
  });

  test("a filter with nearly every bit set is ignored (it would acknowledge anything)", () => {
    const a = makeEngine({ n: 1 });
    const m = a.send(enc("hello"), T);
    const b = identity(2);
    for (const nonce of [1n, 2n, 3n]) {
      const ack: AckSummary = { nonce, filter: new Uint8Array(64).fill(0xff), hashCount: 7, marks: [] };
      assert.deepEqual(
        eventsOf(a.receive(craft(b, { kind: "sync", lamport: BigInt(T) + nonce, ack }).bytes, T + 5), "acknowledged"),
        [],
      );
    }
    assert.equal(ownStatus(a, m.messageId).state, "pending");
  });

  test("acknowledged by 3 of 4: one member never received the message", () => {
    const [a, b, c, d, e] = [1, 2, 3, 4, 5].map((n) => makeEngine({ n, seed: n }));
    const all = [a!, b!, c!, d!, e!];
    const others = [b!, c!, d!, e!];
    let t = T;
    // Everyone says hello to everyone: A knows 4 members.
    for (const x of all) {
      const hello = x.send(enc(`hello from ${x.senderId.slice(0, 4)}`), t++);
      for (const y of all) if (y !== x) y.receive(hello.outgoing[0]!.bytes, t);
    }
    assert.equal(a!.knownMembers(), 4);
    const m = a!.send(enc("did you all get this?"), t++);
    for (const y of [b!, c!, d!]) y.receive(m.outgoing[0]!.bytes, t);
    assert.equal(ownStatus(a!, m.messageId).state, "pending");
    // Each member replies; the replies reach A only. E's reply carries no evidence for m.
    const events = [];
    for (const y of others) {
      const reply = y.send(enc("reply"), t++);
      events.push(
        ...eventsOf(a!.receive(reply.outgoing[0]!.bytes, t), "acknowledged").filter(
          (ev) => ev.messageId === m.messageId,
        ),
      );
    }
    assert.deepEqual(
      events.map((ev) => [ev.by, ev.count, ev.members]),
      [
        [b!.senderId, 1, 4],
        [c!.senderId, 2, 4],
        [d!.senderId, 3, 4],
      ],
    );
    const s = ownStatus(a!, m.messageId);
    assert.equal(s.state, "acknowledged");
    assert.equal(s.receipts.count, 3);
    assert.equal(s.receipts.members, 4);
    assert.equal(s.receipts.ratio, 0.75);
    assert.deepEqual([...s.receipts.ackedBy].sort(), [b!.senderId, c!.senderId, d!.senderId].sort());
    assert.ok(!s.receipts.ackedBy.includes(e!.senderId));
    assert.ok(!s.receipts.possiblyBy.includes(e!.senderId));
  });

  test("with ackQuorum 1 a message is acknowledged only once every known member holds it", () => {
    const a = makeEngine({ n: 1, params: { ackQuorum: 1 } });
    const members = [2, 3, 4].map((n) => identity(n));
    let t = T;
    for (const [i, id] of members.entries())
      a.receive(craft(id, { kind: "content", sequence: 1, lamport: BigInt(t + i) }).bytes, t + i);
    t += 10;
    const m = a.send(enc("hello"), t);
    const states: string[] = [];
    for (const [i, id] of members.entries()) {
      const reply = craft(id, {
        kind: "content",
        sequence: 2,
        lamport: BigInt(t + 1 + i),
        causalHistory: [{ messageId: m.messageId }],
      });
      a.receive(reply.bytes, t + 1 + i);
      states.push(ownStatus(a, m.messageId).state);
    }
    assert.deepEqual(states, ["possibly-acknowledged", "possibly-acknowledged", "acknowledged"]);
  });
});

describe("a message a send queue held", () => {
  test("its resends and the lacking rule count from when it left (notePublished), not from when it was composed", () => {
    const a = makeEngine({ n: 1, params: { resendAfterMs: 5_000 } });
    const m = a.send(enc("queued"), T);
    a.notePublished(m.messageId, T + 20_000);
    assert.deepEqual(runTimersUntil(a, T + 24_999), [], "no resend before resendAfterMs after it left");
    assert.deepEqual(runTimersUntil(a, T + 25_000), [m.messageId]);
    // A mark for alice that stops short of it, written 2.4 s after it left (under half resendAfterMs), 7.4 s after it was composed: not lacked.
    const b = identity(2);
    const other = a.send(enc("second"), T + 25_000);
    a.notePublished(other.messageId, T + 30_000);
    const mark = craft(b, {
      kind: "sync",
      lamport: BigInt(T + 32_400),
      ack: {
        nonce: 1n,
        filter: new Uint8Array(),
        hashCount: 0,
        marks: [{ senderPrefix: prefixOf(a.senderId), sequence: 1 }],
      },
    });
    a.receive(mark.bytes, T + 32_400);
    assert.deepEqual(runTimersUntil(a, T + 34_999), [], "a summary written before it could arrive says nothing");
  });
});

function runTimersUntil(engine: ChannelEngine, until: number): string[] {
  const out: string[] = [];
  for (let at = engine.nextDeadline(); at !== undefined && at <= until; at = engine.nextDeadline()) {
    for (const o of engine.tick(at).outgoing) if (o.purpose === "resend") out.push(o.messageId);
  }
  return out;
}
