// A summary's filter ids are chosen once and reused by the next summary when nothing they depend on changed
// (acks/filter-choice.ts). Every summary must still hold exactly the ids the rule picks for it: the newest received
// ids that none of its own marks covers, as many as its filter was sized for. Checked summary by summary through a
// run of sends whose marks change (the mark queue draining) and across a receive that changes no mark.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FilterChoiceMemo } from "../../src/core/acks/filter-choice.js";
import { MarkedSenders } from "../../src/core/acks/marked.js";
import type { SenderId } from "../../src/core/ids.js";
import { ChannelEngine, channelSalt, DEFAULT_PARAMS, filterHas } from "../../src/core/index.js";
import { SenderTable } from "../../src/core/senders.js";
import type { WireMessage } from "../../src/wire/index.js";
import { decodeOut, enc, hexRandom, identity, prng, unsignedContent } from "./fixtures.js";

const CHANNEL = "general";

interface Received {
  readonly id: string;
  readonly sender: string;
  readonly seq: number;
}

/** The ids `m`'s filter must hold: newest first, skipping what its marks cover, filter bytes / 2 of them. */
function expectedFilterIds(m: WireMessage, received: readonly Received[]): string[] {
  const ack = m.ack!;
  const wanted = ack.filter.length / 2; // 16 bits per id
  const out: string[] = [];
  for (let i = received.length - 1; i >= 0 && out.length < wanted; i--) {
    const r = received[i]!;
    const covered = ack.marks.some(
      (mark) =>
        Buffer.from(mark.senderPrefix).toString("hex") === r.sender.slice(0, 16) &&
        r.seq <= mark.sequence &&
        r.seq >= (mark.first ?? 1),
    );
    if (!covered) out.push(r.id);
  }
  assert.equal(out.length, wanted, "the filter is sized for the ids there are");
  return out;
}

function checkSummary(engine: ChannelEngine, received: readonly Received[], now: number, what: string): WireMessage {
  const sent = engine.send(enc(what), now);
  const m = decodeOut(sent.outgoing[0]!);
  const ack = m.ack!;
  assert.ok(ack.filter.length > 0, `${what}: a filter`);
  for (const id of expectedFilterIds(m, received)) {
    assert.ok(
      filterHas(channelSalt(CHANNEL), ack.nonce, ack.filter, ack.hashCount, id),
      `${what}: ${id} in the filter`,
    );
  }
  return m;
}

test("every summary's filter holds the ids its own marks leave, whether chosen afresh or kept from the last", () => {
  const random = prng(3);
  let now = 1_700_000_000_000;
  const engine = new ChannelEngine({
    channelId: CHANNEL,
    identity: identity(1),
    random: prng(1),
    now,
    verifySignature: () => true,
  });
  const senders = Array.from({ length: 40 }, () => hexRandom(random, 64));
  const received: Received[] = [];
  const receive = (sender: string, seq: number) => {
    now += 10;
    const bytes = unsignedContent(CHANNEL, sender, seq, BigInt(now));
    const step = engine.receive(bytes, now);
    const accepted = step.events.find((e) => e.type === "accepted");
    assert.ok(accepted !== undefined && accepted.type === "accepted", `seq ${seq} accepted`);
    received.push({ id: accepted.messageId, sender, seq });
  };
  for (let seq = 1; seq <= 3; seq++) for (const s of senders) receive(s, seq);
  // Forty senders' progress to announce, a dozen marks or so a summary: the marks change from one send to the next
  // while nothing is received, then settle on the most recent senders.
  const markSets = new Set<string>();
  for (let k = 0; k < 12; k++) {
    now += 10;
    const m = checkSummary(engine, received, now, `send ${k}`);
    markSets.add(m.ack!.marks.map((x) => Buffer.from(x.senderPrefix).toString("hex")).join(","));
  }
  assert.ok(markSets.size >= 3, `the marks changed between sends (${markSets.size} sets)`);
  // A message past a gap (seq 5 of a sender at 3): held back, in the filter, and no mark moves. The summary beside
  // the gap's repair request is smaller; the one after it is as before.
  receive(senders[7]!, 5);
  for (const what of ["beside a repair request", "after it"]) {
    now += 10;
    checkSummary(engine, received, now, what);
  }
  // One more past the same gap: a new id and nothing else changed (the same marks, the same room).
  receive(senders[7]!, 6);
  now += 10;
  const last = checkSummary(engine, received, now, "after a second message past the gap");
  assert.equal(last.sequenceRepairRequest.length + last.repairRequest.length, 0, "no request took room");
});

test("a kept choice answers only the same recent ids, room, marked senders and their runs", () => {
  const table = new SenderTable(DEFAULT_PARAMS, "f".repeat(64) as SenderId, 0);
  const states = Array.from({ length: 20 }, (_, i) =>
    table.firstContact(`${i}`.padStart(64, "a") as SenderId, 1, true),
  );
  const marked = new MarkedSenders();
  const memo = new FilterChoiceMemo();
  assert.equal(memo.recall(0, 10, undefined), -1, "nothing kept yet");
  memo.remember(7, 10, undefined, 4);
  assert.equal(memo.recall(7, 10, undefined), 4);
  assert.equal(memo.recall(8, 10, undefined), -1, "new ids");
  assert.equal(memo.recall(7, 11, undefined), -1, "more room");
  // Past the memo's first arrays (16 marks).
  for (const s of states.slice(0, 18)) marked.add(s);
  assert.equal(memo.recall(7, 10, marked), -1, "marks now");
  memo.remember(7, 10, marked, 9);
  assert.equal(memo.recall(7, 10, marked), 9);
  assert.equal(memo.recall(7, 10, undefined), -1, "no marks now");
  states[17]!.contiguous++;
  assert.equal(memo.recall(7, 10, marked), -1, "a mark moved");
  states[17]!.contiguous--;
  states[3]!.runStart++;
  assert.equal(memo.recall(7, 10, marked), -1, "a run restarted");
  states[3]!.runStart--;
  assert.equal(memo.recall(7, 10, marked), 9, "as it was");
  marked.clear();
  for (const s of [...states.slice(0, 17), states[19]!]) marked.add(s);
  assert.equal(memo.recall(7, 10, marked), -1, "another sender marked");
  marked.clear();
  for (const s of states.slice(0, 17)) marked.add(s);
  assert.equal(memo.recall(7, 10, marked), -1, "one sender fewer");
});
