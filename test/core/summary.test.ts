// Requirement 6: the acknowledgement summary. Overhead within budget, salting per nonce, and the
// filter's false-positive rate against its formula.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  buildFilter,
  ChannelEngine,
  channelSalt,
  DEFAULT_PARAMS,
  falsePositiveRate,
  filterHas,
  optimalHashCount,
} from "../../src/core/index.js";
import type { Outgoing } from "../../src/core/types.js";
import { decodeMessage } from "../../src/wire/index.js";
import { enc, hexRandom, identity, prng, unsignedContent } from "./fixtures.js";

// A Status community channel id: the community's compressed public key, then the channel's uuid.
const LONG_CHANNEL = `0x02${"7f3a9c".repeat(11)}/channel/6f1d2a7e-4b3c-4e8a-9d21-0c5b7e3f9a14`;

function overhead(out: Outgoing): number {
  const m = decodeMessage(out.bytes);
  return out.bytes.length - (m.content?.length ?? 0);
}

describe("message overhead", () => {
  test(`stays within ${DEFAULT_PARAMS.overheadBudgetBytes} bytes: long channel id, 1,000 members, gaps, repair requests`, () => {
    assert.ok(LONG_CHANNEL.length >= 100, `channel id is ${LONG_CHANNEL.length} characters`);
    const random = prng(6);
    const start = 1_764_000_000_000; // wall-clock milliseconds: lamport timestamps take 6 varint bytes
    const x = new ChannelEngine({
      channelId: LONG_CHANNEL,
      identity: identity(1),
      random: prng(1),
      now: start,
      verifySignature: () => true,
    });
    const budget = x.params.overheadBudgetBytes;
    let t = start + 20_000;
    const measured: { what: string; bytes: number; requests: number; ack: boolean }[] = [];
    const record = (what: string, outs: readonly Outgoing[]) => {
      for (const o of outs) {
        if (o.kind === "ephemeral" || o.purpose === "repair-response" || o.purpose === "resend") continue;
        const m = decodeMessage(o.bytes);
        measured.push({
          what,
          bytes: overhead(o),
          requests: m.repairRequest.length + m.sequenceRepairRequest.length,
          ack: m.ack !== undefined,
        });
      }
    };
    const senders = Array.from({ length: 1_000 }, () => hexRandom(random, 64));
    // Long-lived senders: sequence numbers in the millions make every mark as large as it gets.
    const base = 3_000_000;
    senders.forEach((s, i) => {
      x.receive(unsignedContent(LONG_CHANNEL, s, base + i, BigInt(t)), t);
      t++;
    });
    assert.equal(x.knownMembers(), 1_000);
    record("after 1,000 senders", x.send(enc("hi"), t++).outgoing);
    // Sequence gaps from 50 senders, and causal histories naming 60 unknown ids.
    for (let i = 0; i < 50; i++) x.receive(unsignedContent(LONG_CHANNEL, senders[i]!, base + i + 5, BigInt(t++)), t);
    for (let i = 50; i < 80; i++) {
      const history = [hexRandom(random, 32), hexRandom(random, 32)];
      x.receive(unsignedContent(LONG_CHANNEL, senders[i]!, base + i + 1, BigInt(t++), history), t);
    }
    for (const size of [1, 100, 1_000, 20_000])
      record(`content of ${size} bytes`, x.send(new Uint8Array(size).fill(65), t++).outgoing);
    // Transport retrieval hints (a Waku message hash is 32 bytes) make every causal-history entry longer.
    for (const m of x.deliveredLog().slice(-4)) x.setRetrievalHint(m.messageId, new Uint8Array(32).fill(7));
    record("with retrieval hints", x.send(enc("hinted"), t++).outgoing);
    // Syncs and repair requests over the next hour.
    for (let i = 0; i < 500; i++) {
      const at = x.nextDeadline();
      if (at === undefined || at > t + 3_600_000) break;
      record("timer", x.tick(at).outgoing);
    }
    const worst = Math.max(...measured.map((m) => m.bytes));
    assert.ok(measured.length >= 7, `measured ${measured.length} messages`);
    assert.ok(
      measured.some((m) => m.requests > 0),
      "some messages carried repair requests",
    );
    assert.ok(
      measured.some((m) => m.ack),
      "some messages carried a summary",
    );
    assert.ok(
      measured.some((m) => m.what === "timer"),
      "sync or repair-request messages were measured",
    );
    const over = measured.filter((m) => m.bytes > budget);
    assert.deepEqual(over, [], `worst overhead ${worst} bytes`);
  });

  test("a summary uses the room: marks up to ackMaxMarks, half of ackMaxFilterBytes kept for the filter", () => {
    const x = new ChannelEngine({
      channelId: "c",
      identity: identity(1),
      random: prng(1),
      now: 0,
      verifySignature: () => true,
    });
    const random = prng(2);
    for (let i = 0; i < 300; i++)
      x.receive(unsignedContent("c", hexRandom(random, 64), 1, BigInt(20_000 + i)), 20_000 + i);
    const out = x.send(enc("hi"), 30_000).outgoing[0]!;
    const ack = decodeMessage(out.bytes).ack;
    assert.ok(ack !== undefined);
    // 300 senders: more than fit. Marks take the room the filter's reserve leaves; the filter fills the rest.
    assert.ok(ack.marks.length >= 8 && ack.marks.length <= DEFAULT_PARAMS.ackMaxMarks, `${ack.marks.length} marks`);
    assert.ok(ack.filter.length >= DEFAULT_PARAMS.ackMaxFilterBytes / 2, `${ack.filter.length} filter bytes`);
    assert.ok(overhead(out) <= DEFAULT_PARAMS.overheadBudgetBytes);
    assert.ok(overhead(out) > DEFAULT_PARAMS.overheadBudgetBytes - 32, `overhead ${overhead(out)}: the room is used`);
  });
});

describe("ack filter", () => {
  const salt = channelSalt("community/general");
  const bytes = DEFAULT_PARAMS.ackMaxFilterBytes;
  const bits = bytes * 8;
  const n = Math.floor(bits / DEFAULT_PARAMS.ackFilterBitsPerId);
  const k = optimalHashCount(bits, n);

  test("default sizing: 1,024 bits, 64 ids, 11 hashes, 0.046 % per filter", () => {
    assert.deepEqual([bits, n, k], [1024, 64, 11]);
    const fpr = falsePositiveRate(bits, n, k);
    assert.ok(fpr > 0.0004 && fpr < 0.0005, `formula gives ${fpr}`);
  });

  test("the empirical false-positive rate matches falsePositiveRate() within a factor of 1.5", () => {
    const random = prng(11);
    // Many filters: one filter's own rate varies around the mean, the mean over filters is what the formula gives.
    const filters = 400;
    const probesPerFilter = 1_500;
    let positives = 0;
    for (let f = 0; f < filters; f++) {
      const ids = Array.from({ length: n }, () => hexRandom(random, 32));
      const nonce = BigInt(Math.floor(random() * 2 ** 32)) * 4_294_967_296n + BigInt(f);
      const filter = buildFilter(salt, nonce, ids, bytes, k);
      for (const id of ids) assert.ok(filterHas(salt, nonce, filter, k, id), "no false negatives");
      for (let p = 0; p < probesPerFilter; p++)
        if (filterHas(salt, nonce, filter, k, hexRandom(random, 32))) positives++;
    }
    const trials = filters * probesPerFilter;
    const empirical = positives / trials;
    const expected = falsePositiveRate(bits, n, k);
    // 600,000 trials at 0.046 %: about 275 positives expected, standard deviation about 17; 1.5x is over 5 of them.
    assert.ok(
      empirical > expected / 1.5 && empirical < expected * 1.5,
      `empirical ${empirical} (${positives}/${trials}), formula ${expected}`,
    );
  });

  test("an engine-built summary filter has the rate its size and hash count predict", () => {
    const x = new ChannelEngine({
      channelId: "c",
      identity: identity(1),
      random: prng(3),
      now: 0,
      verifySignature: () => true,
    });
    const random = prng(4);
    for (let i = 0; i < 400; i++)
      x.receive(unsignedContent("c", hexRandom(random, 64), 1, BigInt(20_000 + i)), 20_000 + i);
    const ack = decodeMessage(x.send(enc("hi"), 30_000).outgoing[0]!.bytes).ack!;
    const m = ack.filter.length * 8;
    const idsIn = Math.floor(m / DEFAULT_PARAMS.ackFilterBitsPerId);
    assert.equal(ack.hashCount, optimalHashCount(m, idsIn));
    let positives = 0;
    const trials = 40_000;
    for (let i = 0; i < trials; i++)
      if (filterHas(channelSalt("c"), ack.nonce, ack.filter, ack.hashCount, hexRandom(random, 32))) positives++;
    const expected = falsePositiveRate(m, idsIn, ack.hashCount);
    const empirical = positives / trials;
    assert.ok(empirical > expected / 2 && empirical < expected * 2, `empirical ${empirical}, formula ${expected}`);
  });

  test("salted per nonce: ids that test positive under one nonce are (almost all) negative under another", () => {
    const random = prng(21);
    const ids = Array.from({ length: n }, () => hexRandom(random, 32));
    const f1 = buildFilter(salt, 1n, ids, bytes, k);
    const f2 = buildFilter(salt, 2n, ids, bytes, k);
    assert.notDeepEqual(f1, f2);
    const falsePositives: string[] = [];
    while (falsePositives.length < 300) {
      const probe = hexRandom(random, 32);
      if (filterHas(salt, 1n, f1, k, probe)) falsePositives.push(probe);
    }
    const stillPositive = falsePositives.filter((id) => filterHas(salt, 2n, f2, k, id)).length;
    // Independent salts: about 0.82 % of them, i.e. 2 or 3 of 300; unsalted it would be all 300.
    assert.ok(stillPositive <= 12, `${stillPositive} of 300 stayed positive under another nonce`);
    // The channel is part of the salt too.
    const other = channelSalt("community/other");
    const f3 = buildFilter(other, 1n, ids, bytes, k);
    assert.ok(falsePositives.filter((id) => filterHas(other, 1n, f3, k, id)).length <= 12);
  });

  test("a member's consecutive summaries use fresh nonces", () => {
    const x = new ChannelEngine({
      channelId: "c",
      identity: identity(1),
      random: prng(5),
      now: 0,
      verifySignature: () => true,
    });
    const random = prng(6);
    const nonces = new Set<bigint>();
    for (let i = 0; i < 20; i++) {
      x.receive(unsignedContent("c", hexRandom(random, 64), 1, BigInt(20_000 + i)), 20_000 + i);
      nonces.add(decodeMessage(x.send(enc(`m${i}`), 20_000 + i).outgoing[0]!.bytes).ack!.nonce);
    }
    assert.equal(nonces.size, 20);
  });
});
