// The owner path in the core: signed rosters, receipt reports, the owner's ledger and news, and what a member's
// engine makes of them (receipts against the roster, gaps from heads, topic traffic held back).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createSigner, createVerifier } from "../../src/core/identity.js";
import { CLAIM_MARGIN, ReceiptLedger } from "../../src/core/owner/ledger.js";
import { openRoster, RosterIndex, signRoster } from "../../src/core/owner/roster.js";
import { OwnerService, OwnerServiceError } from "../../src/core/owner/service.js";
import type { EngineEvent } from "../../src/core/types.js";
import { decodeOwnerNews, decodeReport } from "../../src/wire/owner-codec.js";
import { CHANNEL, enc, identity, makeEngine } from "./fixtures.js";

const owner = identity(900);
const [alice, bob, carol, mallory] = [identity(901), identity(902), identity(903), identity(904)];
const verify = createVerifier();

function roster(members = [owner, alice, bob, carol], version = 1) {
  const bytes = signRoster(
    { channelId: CHANNEL, version, members: members.map((m) => m.senderId), owner: owner.senderId },
    createSigner(owner.secretKey),
  );
  return { bytes, index: openRoster(bytes, CHANNEL, owner.senderId, verify) };
}

/** Three members with the roster, and the owner's service; alice sends, bob and carol receive. */
type Engine = ReturnType<typeof makeEngine>;

/** Alice, Bob and Carol on the owner path under one roster, with the owner's service. */
function channel() {
  const { index } = roster();
  const member = (id: typeof alice, seed: number): Engine => {
    const e = makeEngine({ id, seed });
    e.owner.setRoster(index);
    e.setOwnerPath(true, 0);
    return e;
  };
  const engines: [Engine, Engine, Engine] = [member(alice, 1), member(bob, 2), member(carol, 3)];
  const service = new OwnerService({ channelId: CHANNEL, roster: index, verify, window: 64 });
  return { engines, service, index };
}

const acks = (events: readonly EngineEvent[]) =>
  events.flatMap((e) => (e.type === "acknowledged" ? [{ by: e.by, count: e.count, members: e.members }] : []));

describe("roster", () => {
  it("opens a roster signed by the owner, and names what is wrong with one that is not", () => {
    const { bytes, index } = roster();
    assert.equal(index.size, 4);
    assert.equal(index.indexOf(bob.senderId), 2);
    assert.throws(
      () => openRoster(bytes, "other", owner.senderId, verify),
      /roster is for channel "community\/general"/,
    );
    assert.throws(() => openRoster(bytes, CHANNEL, alice.senderId, verify), /signed for owner/);
    const tampered = bytes.slice();
    tampered[tampered.length - 1]! ^= 1;
    assert.throws(() => openRoster(tampered, CHANNEL, owner.senderId, verify), /signature does not verify/);
  });

  it("maps a holders bitmap back to member ids", () => {
    const { index } = roster();
    assert.deepEqual(index.holders(Uint8Array.of(0b1010)), [alice.senderId, carol.senderId]);
  });

  it("finds members by key prefix, also when two prefixes agree on their first 53 bits", () => {
    // 13 hex digits and the top bit of the 14th are the 53 bits the index keys on: the first two share them.
    const id = (prefix: string) => prefix + "7".repeat(64 - prefix.length);
    const members = [id("0123456789abc000"), id("0123456789abc001"), id("0123456789abc800"), id("ffffffffffffffff")];
    const index = new RosterIndex({ channelId: CHANNEL, version: 1, members, owner: members[0]! });
    const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, "hex"));
    assert.equal(index.indexOfPrefix(bytes("0123456789abc000")), 0);
    assert.equal(index.indexOfPrefix(bytes("0123456789abc001")), 1);
    assert.equal(index.indexOfPrefix(bytes("0123456789abc800")), 2);
    assert.equal(index.indexOfPrefix(bytes("ffffffffffffffff")), 3);
    assert.equal(index.indexOfPrefix(bytes("0123456789abc002")), undefined, "same 53 bits, not a member");
    assert.equal(index.indexOfPrefix(bytes("0123456789abc801")), undefined, "same 53 bits as one member only");
    assert.equal(index.indexOfPrefix(bytes("0123456789abc0")), undefined, "7 bytes");
    assert.deepEqual(index.prefixAt(2), bytes("0123456789abc800"));
  });
});

describe("receipt ledger", () => {
  it("counts each (message, holder) once, whatever order and repetition the reports come in", () => {
    const ledger = new ReceiptLedger(4, 16);
    ledger.noteMessage(1, 5);
    assert.equal(ledger.noteHeld(2, 1, 1, 5), 5);
    assert.equal(ledger.noteHeld(2, 1, 3, 5), 0);
    assert.equal(ledger.noteHeld(3, 1, 4, 4), 1);
    assert.equal(ledger.receipt(1, 4)?.count, 2);
    assert.equal(ledger.receipt(1, 5)?.count, 1);
    assert.equal(ledger.noteHeld(1, 1, 1, 5), 0, "a sender holding its own messages is no receipt");
  });

  it("keeps claims past a sender's head to a small margin", () => {
    const ledger = new ReceiptLedger(4, 16);
    ledger.noteMessage(1, 5);
    assert.equal(ledger.noteHeld(2, 1, 1, 1_000_000), 5 + CLAIM_MARGIN);
    assert.equal(ledger.sizes().tracked, 5 + CLAIM_MARGIN);
  });

  it("keeps holders for a window of messages per sender and reports changes since a cursor", () => {
    const ledger = new ReceiptLedger(3, 4);
    for (let seq = 1; seq <= 10; seq++) ledger.noteMessage(0, seq);
    ledger.noteHeld(1, 0, 1, 10);
    assert.equal(ledger.receipt(0, 6), undefined, "older than the window");
    assert.equal(ledger.receipt(0, 7)?.count, 1);
    const cursor = ledger.cursor;
    ledger.noteHeld(2, 0, 9, 10);
    assert.deepEqual(
      ledger.receiptsSince(0, cursor, 100).map((r) => [r.sequence, r.count]),
      [
        [9, 2],
        [10, 2],
      ],
    );
    assert.deepEqual(ledger.headsSince(0), [{ sender: 0, sequence: 10 }]);
    assert.ok(ledger.sizes().tracked <= 8);
  });
});

describe("owner service and member engines", () => {
  it("turns members' reports into receipts for the sender, counted against the roster", () => {
    const { engines, service } = channel();
    const [a, b, c] = engines;
    const sent = a.send(enc("hello"), 10);
    service.noteMessage(alice.senderId, sent.sequence!);
    for (const e of [b, c]) e.receive(sent.outgoing[0]!.bytes, 20);
    for (const e of [b, c]) {
      const report = e.owner.takeReport(30)!;
      assert.equal(service.acceptReport(report.bytes), e.senderId);
      e.owner.reportDone(report.token, true);
      assert.equal(e.owner.takeReport(31), undefined, "nothing new to report");
    }
    const news = a.owner.applyNews(service.newsBytes(alice.senderId, a.owner.cursor()), 40);
    assert.equal(news.stale, false);
    assert.deepEqual(acks(news.events), [
      { by: bob.senderId, count: 1, members: 3 },
      { by: carol.senderId, count: 2, members: 3 },
    ]);
    const status = a.status(sent.messageId);
    assert.ok(status?.own);
    assert.equal(status.receipts.members, 3, "N is the roster minus the sender from the first response");
    assert.deepEqual(acks(a.owner.applyNews(service.newsBytes(alice.senderId, a.owner.cursor()), 50).events), []);
  });

  it("a receipt's bitmap comes whole in each news: holders already confirmed are not confirmed again", () => {
    const { engines, service } = channel();
    const [a, b, c] = engines;
    const sent = a.send(enc("hello"), 10);
    service.noteMessage(alice.senderId, sent.sequence!);
    const reportFrom = (e: Engine, now: number) => {
      e.receive(sent.outgoing[0]!.bytes, now);
      const report = e.owner.takeReport(now + 1)!;
      service.acceptReport(report.bytes);
      e.owner.reportDone(report.token, true);
    };
    reportFrom(b, 20);
    const first = service.newsBytes(alice.senderId, 0);
    assert.deepEqual(acks(a.owner.applyNews(first, 30).events), [{ by: bob.senderId, count: 1, members: 3 }]);
    reportFrom(c, 40);
    // From cursor 0 again: bob's bit comes back with carol's, and only carol is new.
    const second = service.newsBytes(alice.senderId, 0);
    assert.equal(decodeOwnerNews(second).receipts[0]!.count, 2);
    assert.deepEqual(acks(a.owner.applyNews(second, 50).events), [{ by: carol.senderId, count: 2, members: 3 }]);
    assert.deepEqual(acks(a.owner.applyNews(first, 60).events), [], "an old news changes nothing");
    const status = a.status(sent.messageId);
    assert.ok(status?.own);
    assert.equal(status.receipts.count, 2);
  });

  it("news applied decoded (applyDecodedNews) does what its encoding does (applyNews)", () => {
    // Two identical channels: one member applies the owner's news as bytes, its twin the news value itself.
    const run = (decoded: boolean) => {
      const { engines, service } = channel();
      const [a, b, c] = engines;
      const apply = (e: Engine, member: string, now: number) =>
        decoded
          ? e.owner.applyDecodedNews(service.news(member, e.owner.cursor()), now)
          : e.owner.applyNews(service.newsBytes(member, e.owner.cursor()), now);
      const first = a.send(enc("one"), 10);
      a.send(enc("two"), 11);
      service.noteMessage(alice.senderId, 1);
      service.noteMessage(alice.senderId, 2);
      b.receive(first.outgoing[0]!.bytes, 20);
      const report = b.owner.takeReport(21)!;
      service.acceptReport(report.bytes);
      b.owner.reportDone(report.token, true);
      // Alice learns of bob's receipt; carol, who has nothing, learns alice's head (2) at 60 s: a gap opens.
      return {
        receipts: apply(a, alice.senderId, 30),
        heads: apply(c, carol.senderId, 60_000),
        status: a.status(first.messageId),
      };
    };
    const decoded = run(true);
    assert.deepEqual(acks(decoded.receipts.events), [{ by: bob.senderId, count: 1, members: 3 }]);
    assert.ok(decoded.heads.events.some((e) => e.type === "missing"));
    assert.deepEqual(decoded, run(false));
  });

  it("tells a member the head of a sender whose last message it missed", () => {
    const { engines, service } = channel();
    const [a, , c] = engines;
    const first = a!.send(enc("one"), 10);
    const second = a!.send(enc("two"), 20);
    c!.receive(first.outgoing[0]!.bytes, 30);
    service.noteMessage(alice.senderId, 1);
    service.noteMessage(alice.senderId, 2);
    const step = c!.owner.applyNews(service.newsBytes(carol.senderId, 0), 40);
    assert.deepEqual(
      step.events.filter((e) => e.type === "missing"),
      [{ type: "missing", ref: { senderId: alice.senderId, sequence: 2 }, source: "owner-head" }],
    );
    assert.equal(second.sequence, 2);
  });

  it("a head of a sender never heard from opens its gap, once the join grace is over", () => {
    const { engines, service } = channel();
    const [a, b] = engines;
    a!.send(enc("one"), 10);
    service.noteMessage(alice.senderId, 1);
    const early = b!.owner.applyNews(service.newsBytes(bob.senderId, 0), 20);
    assert.deepEqual(
      early.events.filter((e) => e.type === "missing"),
      [],
      "within joinGraceMs of joining, a sender's history is not ours to chase",
    );
    const later = b!.owner.applyNews(service.newsBytes(bob.senderId, 0), 60_000);
    assert.deepEqual(
      later.events.filter((e) => e.type === "missing"),
      [{ type: "missing", ref: { senderId: alice.senderId, sequence: 1 }, source: "owner-head" }],
    );
  });

  it("while the owner is asked first, a chat message carries no repair request that is not due yet", () => {
    const carried = (up: boolean) => {
      const c = makeEngine({ id: carol, seed: 3 });
      if (up) c.setOwnerPath(true, 0);
      const sender = makeEngine({ id: alice });
      sender.send(enc("1"), 10);
      c.receive(sender.send(enc("2"), 20).outgoing[0]!.bytes, 40);
      const out = c.send(enc("reply"), 50).outgoing[0]!.message;
      return out.repairRequest.length + out.sequenceRepairRequest.length;
    };
    assert.equal(carried(false), 1, "without the owner path, the request rides on the next message");
    assert.equal(carried(true), 0);
  });

  it("refuses reports that are forged, off the roster or for another channel, and applies none of them", () => {
    const { engines, service } = channel();
    const [a, b] = engines;
    const sent = a!.send(enc("x"), 10);
    service.noteMessage(alice.senderId, 1);
    b!.receive(sent.outgoing[0]!.bytes, 20);
    const good = b!.owner.takeReport(30)!.bytes;
    const forged = good.slice();
    forged[forged.length - 1]! ^= 1;
    assert.throws(() => service.acceptReport(forged), OwnerServiceError);
    const outsider = makeEngine({ id: mallory });
    outsider.receive(sent.outgoing[0]!.bytes, 20);
    assert.throws(() => service.acceptReport(outsider.owner.takeReport(30)!.bytes), /not on the roster/);
    const elsewhere = makeEngine({ id: bob, channelId: "other" });
    elsewhere.receive(makeEngine({ id: alice, channelId: "other" }).send(enc("y"), 5).outgoing[0]!.bytes, 6);
    assert.throws(() => service.acceptReport(elsewhere.owner.takeReport(7)!.bytes), /report is for channel "other"/);
    assert.deepEqual(service.counters, { reports: 0, refused: 3, pairs: 0 });
    service.acceptReport(good);
    assert.equal(service.receipt(alice.senderId, 1)?.count, 1);
  });

  it("folds a report that was lost into the next one", () => {
    const { engines } = channel();
    const [a, b] = engines;
    const one = a!.send(enc("1"), 10);
    b!.receive(one.outgoing[0]!.bytes, 11);
    const lost = b!.owner.takeReport(12)!;
    b!.owner.reportDone(lost.token, false);
    const two = a!.send(enc("2"), 13);
    b!.receive(two.outgoing[0]!.bytes, 14);
    const next = decodeReport(b!.owner.takeReport(15)!.bytes);
    assert.deepEqual(
      next.held.map((h) => [h.first, h.last]),
      [[1, 2]],
    );
  });

  it("reports messages that arrived below the floor around first contact, so the sender counts the member", () => {
    // Just after joining (within joinGraceMs) bob hears alice's 2 before her 1: first contact puts his floor at 1,
    // and 1 arrives after it as history that extends his run down. bob holds both, so both must reach the owner:
    // a sender reading "delivered to 2 of 3" for message 1 for good, with every log identical, was the symptom.
    const { engines, service } = channel();
    const [a, b, c] = engines;
    const one = a.send(enc("1"), 10);
    const two = a.send(enc("2"), 11);
    for (const sent of [one, two]) service.noteMessage(alice.senderId, sent.sequence!);
    b.receive(two.outgoing[0]!.bytes, 20);
    b.receive(one.outgoing[0]!.bytes, 21);
    c.receive(one.outgoing[0]!.bytes, 20);
    c.receive(two.outgoing[0]!.bytes, 21);
    assert.equal(b.status(one.messageId as never)?.state, "delivered");
    for (const e of [b, c]) {
      const report = e.owner.takeReport(30)!;
      const held = decodeReport(report.bytes).held.map((h) => [h.first, h.last]);
      assert.deepEqual(held, [[1, 2]], `${e === b ? "bob" : "carol"} reports both`);
      service.acceptReport(report.bytes);
      e.owner.reportDone(report.token, true);
    }
    const news = a.owner.applyNews(service.newsBytes(alice.senderId, 0), 40);
    const counts = [one, two].map((s) => {
      const status = a.status(s.messageId as never);
      return status?.own === true ? status.receipts.count : undefined;
    });
    assert.deepEqual(counts, [2, 2], `news gave ${JSON.stringify(acks(news.events))}`);
  });

  it("reports a run extended downward after the rest of it was acknowledged", () => {
    // bob reported 2..3 before alice's 1 reached him (his floor is 1: first contact at 2, just after joining).
    const { engines } = channel();
    const [a, b] = engines;
    const sent = [1, 2, 3].map((i) => a.send(enc(`${i}`), 10 + i));
    for (const s of sent.slice(1)) b.receive(s.outgoing[0]!.bytes, 20);
    const early = b.owner.takeReport(25);
    if (early !== undefined) b.owner.reportDone(early.token, true);
    b.receive(sent[0]!.outgoing[0]!.bytes, 30);
    const held = [early, b.owner.takeReport(35)].flatMap((r) =>
      r === undefined ? [] : decodeReport(r.bytes).held.map((h) => [h.first, h.last]),
    );
    const covered = new Set(held.flatMap(([f, l]) => Array.from({ length: l! - f! + 1 }, (_, i) => f! + i)));
    assert.deepEqual([...covered].sort(), [1, 2, 3], `reports held ${JSON.stringify(held)}`);
  });

  it("news against another roster version is stale until the member has that roster", () => {
    const { engines, service } = channel();
    const [a] = engines;
    const newer = roster([owner, alice, bob, carol, mallory], 2);
    service.replaceRoster(newer.index);
    const bytes = service.newsBytes(alice.senderId, 0);
    assert.equal(decodeOwnerNews(bytes).rosterSize, 5);
    assert.equal(a!.owner.applyNews(bytes, 10).stale, true);
    a!.owner.setRoster(newer.index);
    assert.equal(a!.owner.applyNews(bytes, 11).stale, false);
  });

  it("with the owner path up, a gap waits ownerFetchGraceMs longer before the topic is asked", () => {
    const up = makeEngine({ id: carol, seed: 3 });
    const down = makeEngine({ id: carol, seed: 3 });
    up.setOwnerPath(true, 0);
    const sender = makeEngine({ id: alice });
    sender.send(enc("1"), 10);
    const two = sender.send(enc("2"), 20);
    const three = sender.send(enc("3"), 30);
    for (const e of [up, down]) {
      e.receive(two.outgoing[0]!.bytes, 40);
      e.receive(three.outgoing[0]!.bytes, 41);
    }
    assert.ok(up.nextDeadline()! > down.nextDeadline()!);
    up.owner.lacks(up.missingRefs(), 50);
    assert.ok(up.nextDeadline()! <= 50 + up.params.repairRequestDelayMs);
  });

  it("a member off the roster cannot post once the roster is known", () => {
    const { engines, index } = channel();
    const outsider = makeEngine({ id: mallory });
    const step = engines[0]!.receive(outsider.send(enc("spam"), 5).outgoing[0]!.bytes, 10);
    assert.deepEqual(
      step.events.map((e) => (e.type === "rejected" ? e.code : e.type)),
      ["not-a-member"],
    );
    assert.equal(index.has(mallory.senderId), false);
  });
});
