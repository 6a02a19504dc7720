// Receipts in a quiet channel (spec sections 12 and 13): a receiver that reassembled a segment set announces it in
// one or two syncs and then owes none; if one is lost, what only its filter covers stays "possibly" held. The sender
// keeps resending such a message, and a copy of a message already held owes the receiver a sync with a fresh nonce.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ChannelEngine, Params } from "../../src/core/index.js";
import type { Mutation } from "../../src/core/params.js";
import type { Outgoing } from "../../src/core/types.js";
import { eventsOf, identity, makeEngine, runTimers, sendBytes } from "./fixtures.js";

const QUIET: Partial<Params> = { syncIntervalMs: 1_000, syncJitter: 0, resendAfterMs: 5_000 };

function pair(mutations: readonly Mutation[] = [], params: Partial<Params> = {}) {
  const p = { ...QUIET, ...params, ...(mutations.length > 0 ? { __mutations: mutations } : {}) } as Partial<Params>;
  const a = makeEngine({ id: identity(1), seed: 1, params: p });
  const b = makeEngine({ id: identity(2), seed: 2, params: p });
  return { a, b };
}

/** Receipts of one of `engine`'s own messages. */
function own(engine: ChannelEngine, id: string) {
  const status = engine.status(id);
  assert.ok(status?.own === true, `not an own message: ${JSON.stringify(status)}`);
  return status;
}

/** Runs `engine`'s timers up to `until` and returns what it published, with when. */
function published(engine: ChannelEngine, until: number): { at: number; out: Outgoing }[] {
  return runTimers(engine, until).flatMap(({ at, step }) => step.outgoing.map((out) => ({ at, out })));
}

/**
 * a sends four data segments and a parity segment. b gets the first three and announces them in a sync that is lost;
 * it gets the parity and forgoes the fourth (it reassembled the set). a resends everything it heard nothing about,
 * all before b's next sync, which is its last: it marks the run from the forgone number, names the newest two in its
 * causal history (the fourth and the parity), and covers the first three only in its filter: one hit each.
 */
function lostSync(mutations: readonly Mutation[] = [], params: Partial<Params> = {}) {
  const { a, b } = pair(mutations, params);
  const segments = ["data 0", "data 1", "data 2", "data 3", "parity 0"].map((text, i) => sendBytes(a, text, i));
  for (const i of [0, 1, 2]) b.receive(segments[i]!.bytes, 10 + i);
  const lost = published(b, 1_010);
  assert.deepEqual(
    lost.map((p) => [p.at, p.out.purpose]),
    [[1_010, "sync"]],
    "b's first sync (lost on its way to a)",
  );
  b.receive(segments[4]!.bytes, 4_500);
  b.forgo(a.senderId, [4], 4_500, [segments[3]!.id]);
  const resent = published(a, 5_004);
  assert.deepEqual(
    resent.map((p) => p.out.messageId),
    segments.map((s) => s.id),
    "a heard nothing yet: every segment is resent at resendAfterMs",
  );
  for (const { out } of resent) b.receive(out.bytes, 5_010);
  const [second, ...more] = published(b, 5_500);
  assert.equal(more.length, 0);
  assert.equal(second?.out.purpose, "sync");
  a.receive(second!.out.bytes, 5_510);
  for (const i of [0, 1, 2]) {
    assert.deepEqual(own(a, segments[i]!.id).receipts, {
      count: 0,
      members: 1,
      ratio: 0,
      ackedBy: [],
      possiblyBy: [b.senderId],
    });
  }
  for (const i of [3, 4]) assert.equal(a.status(segments[i]!.id)?.state, "acknowledged", `segment ${i}`);
  return { a, b, segments };
}

/** Delivers everything `from` publishes until `until` to `to`, and `to`'s answers back, until both are quiet. */
function converse(from: ChannelEngine, to: ChannelEngine, until: number): Outgoing[] {
  const all: Outgoing[] = [];
  for (let now = Math.min(from.nextDeadline() ?? until, to.nextDeadline() ?? until); now <= until; ) {
    for (const [x, y] of [
      [from, to],
      [to, from],
    ] as const) {
      for (const { out } of published(x, now)) {
        all.push(out);
        y.receive(out.bytes, now + 10);
      }
    }
    const next = Math.min(
      from.nextDeadline() ?? Number.POSITIVE_INFINITY,
      to.nextDeadline() ?? Number.POSITIVE_INFINITY,
    );
    if (!Number.isFinite(next)) break;
    now = next;
  }
  return all;
}

describe("receipts after a lost sync in a quiet channel", () => {
  test("the sender resends what one hit vouches for; the copy draws a fresh sync that confirms it", () => {
    const { a, b, segments } = lostSync();
    const traffic = converse(a, b, 600_000);
    for (const { id } of segments) assert.equal(a.status(id)?.state, "acknowledged", JSON.stringify(a.status(id)));
    assert.deepEqual(own(a, segments[0]!.id).receipts.ackedBy, [b.senderId]);
    // The three that one hit vouched for are resent once more (their second resend), the two confirmed ones never;
    // the copies owe b one sync, whose fresh nonce is the second hit.
    assert.deepEqual(
      traffic.map((o) => [o.purpose, segments.findIndex((s) => s.id === o.messageId)]),
      [
        ["resend", 0],
        ["resend", 1],
        ["resend", 2],
        ["sync", -1],
      ],
    );
    assert.deepEqual(
      segments.map(({ id }) => own(a, id).resends),
      [2, 2, 2, 1, 1],
    );
  });

  for (const mutation of ["resend-possibly", "sync-owed-copy"] as const) {
    test(`without "${mutation}" the segment stays possibly held`, () => {
      const { a, b, segments } = lostSync([mutation]);
      converse(a, b, 600_000);
      assert.equal(a.status(segments[0]!.id)?.state, "possibly-acknowledged");
    });
  }

  test("a copy owes no sync while one is armed, none over the owner path, none past half the control budget", () => {
    const { a, b } = pair([], { controlBudgetPer600s: 4 });
    const m = sendBytes(a, "hello", 0);
    b.receive(m.bytes, 10);
    b.receive(m.bytes, 20);
    assert.deepEqual(
      published(b, 10_000).map((p) => [p.at, p.out.purpose]),
      [[1_010, "sync"]],
      "the copy at 20 ms found the sync armed",
    );
    // Each later copy owes one sync, until half the budget (2 of 4) is spent in the window.
    b.receive(m.bytes, 20_000);
    assert.deepEqual(
      published(b, 30_000).map((p) => [p.at, p.out.purpose]),
      [[21_000, "sync"]],
    );
    b.receive(m.bytes, 40_000);
    assert.deepEqual(published(b, 50_000), [], "two syncs in the window: copies owe nothing now");
    // Once the first leaves the window, a copy owes one again; over the owner path never.
    b.setOwnerPath(true, 610_000);
    b.receive(m.bytes, 610_010);
    assert.deepEqual(published(b, 620_000), [], "receipts go to the owner in reports");
    b.setOwnerPath(false, 620_000);
    b.receive(m.bytes, 620_010);
    assert.deepEqual(
      published(b, 630_000).map((p) => [p.at, p.out.purpose]),
      [[621_010, "sync"]],
    );
    assert.deepEqual(eventsOf(b.receive(m.bytes, 630_000), "delivered"), [], "a copy is never delivered again");
  });
});
