// Equivocation notices (spec section 9.6): bounded whatever an equivocator does, and absent in the normal case.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  MAX_NAMED,
  MAX_NOTICES,
  MAX_NOTICES_PER_SENDER,
  NOTICE_MS,
  NoticeBoard,
} from "../../src/core/equivocation-notice.js";
import { ChannelEngine, type EngineSnapshot, type MessageId, type SenderId } from "../../src/core/index.js";
import { DEFAULT_PARAMS } from "../../src/core/params.js";
import type { Outgoing } from "../../src/core/types.js";
import {
  CHANNEL,
  decodeOut,
  deliveredIds,
  enc,
  eventsOf,
  identity,
  makeEngine,
  prng,
  runTimers,
  sendBytes,
} from "./fixtures.js";

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}` as MessageId);

describe("notice board", () => {
  test("names every id when they fit in one message, else MAX_NAMED in turn, cyclically", () => {
    const board = new NoticeBoard();
    board.activate("s:1", "s" as SenderId, ids("a", 2), 100);
    assert.deepEqual(board.named(0), ["a0", "a1"]);
    assert.deepEqual(board.named(0), ["a0", "a1"], "all of them again: nothing rotates");
    board.activate("t:1", "t" as SenderId, ids("b", 3), 100);
    assert.equal(board.announced(0), 5);
    assert.deepEqual(board.named(0), ["a0", "a1", "b0", "b1"]);
    assert.deepEqual(board.named(0), ["b2", "a0", "a1", "b0"]);
    assert.deepEqual(board.named(0), ["b1", "b2", "a0", "a1"]);
  });

  test("a notice ends at its end time; a later version of the same pair extends it", () => {
    const board = new NoticeBoard();
    board.activate("s:1", "s" as SenderId, ids("a", 2), 100);
    board.activate("s:1", "s" as SenderId, ids("a", 2), 250);
    assert.equal(board.untilOf("s:1"), 250);
    assert.equal(board.announced(249), 2);
    assert.equal(board.announced(250), 0);
    assert.deepEqual(board.named(250), []);
    assert.equal(board.size, 0);
  });

  test("at most MAX_NOTICES_PER_SENDER of one sender and MAX_NOTICES in all, the oldest ending first", () => {
    const board = new NoticeBoard();
    for (let i = 0; i < 10; i++) board.activate(`evil:${i}`, "evil" as SenderId, ids(`e${i}-`, 2), 1_000);
    assert.equal(board.size, MAX_NOTICES_PER_SENDER);
    assert.equal(board.untilOf("evil:5"), undefined, "the sender's oldest ended");
    assert.equal(board.untilOf("evil:6"), 1_000);
    for (let s = 0; s < 2 * MAX_NOTICES; s++) board.activate(`h${s}:1`, `h${s}` as SenderId, ids(`h${s}-`, 2), 1_000);
    assert.equal(board.size, MAX_NOTICES);
    assert.equal(board.untilOf("evil:9"), undefined, "the oldest notice in all ended");
    assert.equal(board.untilOf(`h${2 * MAX_NOTICES - 1}:1`), 1_000);
    board.drop(`h${2 * MAX_NOTICES - 1}:1`);
    assert.equal(board.size, MAX_NOTICES - 1);
  });
});

/** A second engine with `engine`'s identity and state: two processes on one data folder. */
function twinOf(engine: ChannelEngine, n: number): ChannelEngine {
  const snapshot = JSON.parse(JSON.stringify(engine.snapshot())) as EngineSnapshot;
  return ChannelEngine.restore(snapshot, { channelId: CHANNEL, identity: identity(n), random: prng(7) });
}

describe("an honest member's notices", () => {
  test("a sender equivocating on every number costs others at most MAX_NAMED ids a message and the control budget, for NOTICE_MS", () => {
    const evil = makeEngine({ n: 1, seed: 1 });
    const twin = twinOf(evil, 1);
    const honest = makeEngine({ n: 2, seed: 2 });
    const history = DEFAULT_PARAMS.causalHistorySize;
    const sent: { at: number; out: Outgoing }[] = [];
    const send = (at: number) => {
      for (const out of honest.send(enc(`honest ${at}`), at).outgoing) sent.push({ at, out });
    };
    const tick = (until: number) => {
      for (const { at, step } of runTimers(honest, until)) for (const out of step.outgoing) sent.push({ at, out });
    };

    // The normal case: nothing named, no notice.
    send(15_000);
    assert.equal(decodeOut(sent[0]!.out).causalHistory.length, 0);
    let t = 20_000;
    const pairs = 40;
    for (let k = 0; k < pairs; k++, t += 100) {
      const a = evil.send(enc(`a${k}`), t).outgoing[0]!.bytes;
      const b = twin.send(enc(`b${k}`), t).outgoing[0]!.bytes;
      honest.receive(a, t + 10);
      const step = honest.receive(b, t + 20);
      assert.equal(step.events.filter((e) => e.type === "equivocation").length, 1, `pair ${k} found`);
    }
    const lastFound = t - 100 + 20;
    assert.equal(honest.equivocations.list().length, pairs);
    const newest = new Set<string>(
      honest.equivocations
        .list()
        .slice(-MAX_NOTICES_PER_SENDER)
        .flatMap((e) => e.messageIds),
    );

    // Chat and quiet spells for longer than the notice lasts.
    for (let at = t; at < lastFound + NOTICE_MS + 300_000; at += 45_000) {
      tick(at);
      if ((at / 45_000) % 3 < 1) send(at);
    }
    tick(lastFound + NOTICE_MS + 600_000);

    const during = sent.filter((s) => s.at > lastFound && s.at < lastFound + NOTICE_MS);
    const after = sent.filter((s) => s.at >= lastFound + NOTICE_MS);
    assert.ok(during.length > 0);
    const named = new Set<string>();
    for (const { out } of during) {
      const entries = decodeOut(out).causalHistory.map((e) => e.messageId);
      assert.ok(entries.length <= history + MAX_NAMED, `${entries.length} history entries`);
      for (const id of entries.slice(history)) {
        assert.ok(newest.has(id), "only the sender's newest MAX_NOTICES_PER_SENDER pairs are named");
        named.add(id);
      }
    }
    assert.equal(named.size, newest.size, "every version of those pairs is named in turn");

    const control = sent.filter((s) => s.out.kind === "sync").map((s) => s.at);
    for (const start of control) {
      const inWindow = control.filter((at) => at >= start && at < start + 600_000).length;
      assert.ok(inWindow <= DEFAULT_PARAMS.controlBudgetPer600s, `${inWindow} control messages in 600 s`);
    }
    assert.ok(
      control.some((at) => at > lastFound && at < lastFound + NOTICE_MS),
      "syncs owed while notices run",
    );
    assert.equal(honest.equivocations.announced(lastFound + NOTICE_MS), 0, "every notice ended");
    // A resend repeats its message's original bytes, history included.
    const fresh = after.filter((s) => s.out.purpose !== "resend");
    for (const { out } of fresh) assert.ok(decodeOut(out).causalHistory.length <= history, "nothing named after");
    assert.deepEqual(
      after.filter((s) => s.out.kind === "sync" && s.at > lastFound + NOTICE_MS + DEFAULT_PARAMS.syncIntervalMs * 2),
      [],
      "no sync owed once the notices ended and nothing new arrived",
    );
  });
});

describe("the equivocator's own processes", () => {
  /**
   * Alice signs A, her second process B, at one sequence number; bob records both and names them. Alice hears
   * bob's message naming B (which she lacks), asks for B, and bob answers every request until `until`.
   */
  function run(mutations: readonly string[], until: number) {
    const params = { __mutations: mutations } as never;
    const alice = makeEngine({ n: 1, seed: 1, params });
    const twin = twinOf(alice, 1);
    const bob = makeEngine({ n: 2, seed: 2 });
    const a = alice.send(enc("version A"), 15_000);
    const b = twin.send(enc("version B"), 15_000);
    bob.receive(a.outgoing[0]!.bytes, 15_100);
    assert.equal(eventsOf(bob.receive(b.outgoing[0]!.bytes, 15_200), "equivocation").length, 1);
    // Bob's publication of both versions is lost; his next message names both (his history and his notice).
    const hi = sendBytes(bob, "hi", 16_000);
    assert.ok(decodeOut({ bytes: hi.bytes } as Outgoing).causalHistory.some((e) => e.messageId === b.messageId));
    const first = alice.receive(hi.bytes, 16_100);
    assert.deepEqual(deliveredIds(first), [], "hi waits for B: a causal-history gap by id");
    const asks: number[] = [];
    const delivered: string[] = [];
    const events: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const at = Math.min(alice.nextDeadline() ?? Infinity, bob.nextDeadline() ?? Infinity);
      if (at > until) break;
      for (const out of alice.tick(at).outgoing) {
        if (!decodeOut(out).repairRequest.some((e) => e.messageId === b.messageId)) continue;
        asks.push(at);
        bob.receive(out.bytes, at + 10);
      }
      for (const out of bob.tick(at).outgoing) {
        if (out.messageId !== b.messageId) continue;
        const step = alice.receive(out.bytes, at + 10);
        delivered.push(...deliveredIds(step));
        events.push(...step.events.map((e) => e.type));
      }
    }
    return { alice, bob, asks, delivered, events, hi, b };
  }

  test("a version of its own number that it lacks is asked for once, not until the dependency timeout", () => {
    const until = 16_100 + DEFAULT_PARAMS.dependencyTimeoutMs + 10_000;
    const { alice, bob, asks, delivered, events, hi, b } = run([], until);
    assert.equal(asks.length, 1, `requests for the other version: ${asks.join(", ")}`);
    assert.deepEqual(delivered, [hi.id], "the answer releases hi at once; the other version is not delivered");
    assert.ok(!events.includes("lost"), "no loss reported for an own version");
    assert.equal(alice.missingCount(), 0);
    assert.equal(alice.status(b.messageId)?.state, "lost", "given up: a later mention opens no gap");
    // Bob's notice keeps naming B: no new gap, nothing waits.
    const again = sendBytes(bob, "again", until + 1_000);
    assert.deepEqual(deliveredIds(alice.receive(again.bytes, until + 1_100)), [again.id]);
    assert.equal(alice.missingCount(), 0);
    assert.equal(
      alice.equivocations.list().length,
      0,
      "an equivocator's process drops its twin's version (9.3 step 7)",
    );
  });

  test("without the rule the request repeats until the dependency timeout", () => {
    const until = 16_100 + DEFAULT_PARAMS.dependencyTimeoutMs + 10_000;
    const { asks } = run(["own-version-gap"], until);
    console.log(`# requests without the rule: ${asks.length}`);
    assert.ok(asks.length >= 10, `${asks.length} requests`);
  });
});
