// Adversarial tests (issue 6): acknowledgement poisoning measured with and without the salted filter,
// replays, altered duplicates, forged senders, oversized fields, deep causal chains, floods, non-members,
// far-future clocks, and the stated limitation of a member that acknowledges everything.
//
// Lines starting with "# " are measurements, printed so that they appear in the test output.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import {
  buildFilter,
  ChannelEngine,
  channelSalt,
  computeMessageId,
  createSigner,
  DEFAULT_PARAMS,
  falsePositiveRate,
  filterHas,
  type Params,
} from "../../src/core/index.js";
import type { Step } from "../../src/core/types.js";
import {
  type AckSummary,
  appendSignature,
  decodeMessage,
  encodeUnsigned,
  MAX_LAMPORT,
  type WireMessage,
} from "../../src/wire/index.js";
import {
  CHANNEL,
  craft,
  deliveredIds,
  enc,
  eventsOf,
  hexRandom,
  identity,
  makeEngine,
  prefixOf,
  prng,
  runTimers,
  stateOf,
  unsignedContent,
} from "./fixtures.js";

const T = 20_000;
const SALT = channelSalt(CHANNEL);
// A full default summary filter: ackMaxFilterBytes bytes, 10 bits per id, 7 hashes.
const FILTER_BYTES = 128;
const BITS = FILTER_BYTES * 8;
const HASHES = 7;
const CAPACITY = 102;

function nonceSource(seed: number): () => bigint {
  const random = prng(seed);
  return () => (BigInt(Math.floor(random() * 2 ** 32)) << 32n) | BigInt(Math.floor(random() * 2 ** 32));
}

function bitsOf(filter: Uint8Array): number[] {
  const out: number[] = [];
  for (let p = 0; p < filter.length * 8; p++) if (filter[p >>> 3]! & (1 << (p & 7))) out.push(p);
  return out;
}

/** Bit positions of `id` under `nonce`, read back from a one-id filter built by the engine's own function. */
function saltedPositions(nonce: bigint, id: string): number[] {
  return bitsOf(buildFilter(SALT, nonce, [id], FILTER_BYTES, HASHES));
}

// The "without" baseline, only here: positions from the id alone (same domain, channel and double hashing,
// no nonce), so that an id sets the same bits in every summary of every member.
function unsaltedPositions(id: string): number[] {
  const d = sha256(concatBytes(SALT, utf8ToBytes(id)));
  const h1 = ((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0;
  const h2 = (d[4]! << 24) | (d[5]! << 16) | (d[6]! << 8) | d[7]! | 1;
  return Array.from({ length: HASHES }, (_, i) => ((h1 + Math.imul(i, h2)) >>> 0) % BITS);
}

function unsaltedFilter(ids: readonly string[]): Uint8Array {
  const filter = new Uint8Array(FILTER_BYTES);
  for (const id of ids) for (const p of unsaltedPositions(id)) filter[p >>> 3]! |= 1 << (p & 7);
  return filter;
}

function unsaltedHas(filter: Uint8Array, id: string): boolean {
  return unsaltedPositions(id).every((p) => (filter[p >>> 3]! & (1 << (p & 7))) !== 0);
}

/** The attacker's own message ids: all it controls is its content (and sequence, timestamp). */
function attackerIds(attacker: string): () => string {
  let n = 0;
  return () => {
    n++;
    return computeMessageId({
      channelId: CHANNEL,
      senderId: attacker,
      kind: "content",
      sequence: n,
      lamportTimestamp: BigInt(T + n),
      content: enc(`spam ${n}`),
    });
  };
}

/**
 * Mines attacker ids whose bit positions together cover every position of every victim: once a member
 * has received them, its filter "contains" the victims. Greedy: an id must cover two uncovered positions
 * while many are left, one towards the end.
 */
function mine(
  victims: readonly string[],
  positionsOf: (id: string) => number[],
  candidate: () => string,
  onMined?: (id: string) => void,
): string[] {
  const uncovered = new Set(victims.flatMap(positionsOf));
  const mined: string[] = [];
  for (let tries = 0; uncovered.size > 0; tries++) {
    if (tries > 1_000_000) throw new Error("mining did not finish");
    const id = candidate();
    const covers = new Set(positionsOf(id).filter((p) => uncovered.has(p)));
    if (covers.size < (uncovered.size > 40 ? 2 : 1)) continue;
    mined.push(id);
    onMined?.(id);
    for (const p of covers) uncovered.delete(p);
  }
  return mined;
}

/** Ids of A's messages, which the members under test never received. */
function victimIds(count: number, from: number): string[] {
  const a = identity(1).senderId;
  return Array.from({ length: count }, (_, i) =>
    computeMessageId({
      channelId: CHANNEL,
      senderId: a,
      kind: "content",
      sequence: from + i,
      lamportTimestamp: BigInt(T + from + i),
      content: enc(`victim ${from + i}`),
    }),
  );
}

function fmt(rate: number): string {
  return rate === 0 ? "0" : rate.toExponential(2);
}

function assertUnchanged(engine: ChannelEngine, before: string, step: Step, reason: RegExp): void {
  const rejected = eventsOf(step, "rejected");
  assert.equal(rejected.length, 1, `one rejection, got ${JSON.stringify(step.events)}`);
  assert.match(rejected[0]!.reason, reason);
  assert.equal(step.events.length, 1);
  assert.deepEqual(step.outgoing, []);
  assert.equal(stateOf(engine), before, "a refused message changes nothing");
}

describe("acknowledgement poisoning", () => {
  test("mined ids: salted per-summary nonces make them worthless; positions from the id alone let them confirm anything (1,000,000+ filter checks)", () => {
    const p = falsePositiveRate(BITS, CAPACITY, HASHES);
    const nextNonce = nonceSource(11);
    const honest = prng(12);

    // Salted (the design). Per group the attacker targets 12 of A's messages, mining ids under the nonce of
    // the victim member's last summary (the best guess it has); the member receives the mined ids and fills
    // the rest of its filter with honest traffic; then it writes 1,000 summaries, each with a fresh nonce.
    // Every summary is checked for the 12 targeted messages and 238 untargeted ones, none of which it holds.
    const GROUPS = 4;
    const TARGETED = 12;
    const VICTIMS = 250;
    const SUMMARIES = 1_000;
    const WINDOW = DEFAULT_PARAMS.ackFilterCheckDepth;
    let checks = 0;
    const hits = { targeted: 0, untargeted: 0 };
    const checked = { targeted: 0, untargeted: 0 };
    // A false acknowledgement by the engine's rule: two summaries with different nonces both claim the message.
    let pairs = 0;
    let falseAcks = 0;
    let targetedFalseAcks = 0;
    // Per member and message over a window of 32 consecutive summaries (the check depth).
    let windows = 0;
    let windowsTwoAny = 0;
    let windowsTwoInARow = 0;
    let minedTotal = 0;
    for (let g = 0; g < GROUPS; g++) {
      const victims = victimIds(VICTIMS, 1 + g * VICTIMS);
      const guess = nextNonce();
      const mined = mine(victims.slice(0, TARGETED), (id) => saltedPositions(guess, id), attackerIds(`x${g}`));
      minedTotal += mined.length;
      assert.ok(mined.length <= CAPACITY, `${mined.length} mined ids fit in one filter`);
      const received = [...mined];
      while (received.length < CAPACITY) received.push(hexRandom(honest, 32));
      // Had the member used the guessed nonce, the attack would work: every targeted message tests positive.
      const known = buildFilter(SALT, guess, received, FILTER_BYTES, HASHES);
      for (const v of victims.slice(0, TARGETED)) assert.ok(filterHas(SALT, guess, known, HASHES, v));

      const hitAt = new Uint8Array(VICTIMS * SUMMARIES);
      let previousNonce = guess;
      for (let s = 0; s < SUMMARIES; s++) {
        const nonce = nextNonce();
        assert.notEqual(nonce, previousNonce);
        previousNonce = nonce;
        const filter = buildFilter(SALT, nonce, received, FILTER_BYTES, HASHES);
        for (let v = 0; v < VICTIMS; v++) {
          const hit = filterHas(SALT, nonce, filter, HASHES, victims[v]!);
          checks++;
          const kind = v < TARGETED ? "targeted" : "untargeted";
          checked[kind]++;
          if (!hit) continue;
          hits[kind]++;
          hitAt[v * SUMMARIES + s] = 1;
        }
      }
      for (let v = 0; v < VICTIMS; v++) {
        const row = hitAt.subarray(v * SUMMARIES, (v + 1) * SUMMARIES);
        for (let s = 1; s < SUMMARIES; s += 2) {
          pairs++;
          if (row[s - 1] && row[s]) {
            falseAcks++;
            if (v < TARGETED) targetedFalseAcks++;
          }
        }
        for (let w = 0; w + WINDOW <= SUMMARIES; w += WINDOW) {
          windows++;
          let count = 0;
          let inARow = false;
          for (let s = w; s < w + WINDOW; s++) {
            count += row[s]!;
            if (s > w && row[s] && row[s - 1]) inARow = true;
          }
          if (count >= 2) windowsTwoAny++;
          if (inARow) windowsTwoInARow++;
        }
      }
    }

    // Without salt: the same attack; the member's honest traffic changes from summary to summary, the mined ids
    // stay among its recent ones. Two summaries claiming a message confirm it (there is no nonce to differ).
    const U_SUMMARIES = 50;
    let uChecks = 0;
    let uTargetedHits = 0;
    let uTargetedChecks = 0;
    let uUntargetedHits = 0;
    let uPairs = 0;
    let uFalseAcks = 0;
    for (let g = 0; g < GROUPS; g++) {
      const victims = victimIds(VICTIMS, 10_000 + g * VICTIMS);
      const mined = mine(victims.slice(0, TARGETED), unsaltedPositions, attackerIds(`u${g}`));
      assert.ok(mined.length <= CAPACITY);
      const previous = new Uint8Array(VICTIMS);
      for (let s = 0; s < U_SUMMARIES; s++) {
        const received = [...mined];
        while (received.length < CAPACITY) received.push(hexRandom(honest, 32));
        const filter = unsaltedFilter(received);
        for (let v = 0; v < VICTIMS; v++) {
          const hit = unsaltedHas(filter, victims[v]!);
          uChecks++;
          if (v < TARGETED) {
            uTargetedChecks++;
            if (hit) uTargetedHits++;
            if (s % 2 === 1) {
              uPairs++;
              if (hit && previous[v]) uFalseAcks++;
            }
          } else if (hit) uUntargetedHits++;
          previous[v] = hit ? 1 : 0;
        }
      }
    }

    const rate = falseAcks / pairs;
    const uRate = uFalseAcks / uPairs;
    const pct = (x: number) => `${(100 * x).toFixed(3)} %`;
    console.log(
      `# ack poisoning, salted per summary (the design): ${checks.toLocaleString("en")} filter checks against members that never got the messages; ` +
        `${minedTotal} mined ids; per-check hit rate targeted ${pct(hits.targeted / checked.targeted)}, untargeted ${pct(hits.untargeted / checked.untargeted)} (predicted ${pct(p)})`,
    );
    console.log(
      `# ack poisoning, salted: false acknowledgements (two summaries with different nonces both claim the message) ${falseAcks} of ${pairs.toLocaleString("en")} = ${fmt(rate)} ` +
        `(targeted ${targetedFalseAcks} of ${(GROUPS * TARGETED * (SUMMARIES / 2)).toLocaleString("en")}; predicted p^2 = ${fmt(p * p)})`,
    );
    console.log(
      `# ack poisoning, salted: per member and message over ${WINDOW} summaries: confirmed by 2 hits in any order ${fmt(windowsTwoAny / windows)}, ` +
        `by 2 hits in a row ${fmt(windowsTwoInARow / windows)} (${windows.toLocaleString("en")} windows)`,
    );
    console.log(
      `# ack poisoning, positions from the id alone (no salt): ${uChecks.toLocaleString("en")} filter checks; false acknowledgements ${uFalseAcks} of ${uPairs} = ${fmt(uRate)}; ` +
        `per-check hit rate targeted ${pct(uTargetedHits / uTargetedChecks)}, untargeted ${pct(uUntargetedHits / (uChecks - uTargetedChecks))}`,
    );

    assert.ok(checks + uChecks >= 1_000_000);
    // Without salt the attack confirms every targeted message.
    assert.equal(uFalseAcks, uPairs);
    // With salt, mining gains nothing: targeted messages test positive no more often than untargeted ones,
    // and both at about the rate a filter of this size predicts for ids it does not hold (measured ~10 % above
    // the formula, which assumes independent hashes; the positions are an arithmetic progression mod m).
    const targetedRate = hits.targeted / checked.targeted;
    const untargetedRate = hits.untargeted / checked.untargeted;
    assert.ok(targetedRate < 1.2 * untargetedRate, `targeted hit rate ${targetedRate} vs untargeted ${untargetedRate}`);
    assert.ok(untargetedRate < 1.3 * p && untargetedRate > 0.8 * p, `untargeted hit rate ${untargetedRate} vs ${p}`);
    assert.ok(rate < 2 * p * p, `false acknowledgement rate ${rate} vs p^2 ${p * p}`);
    assert.ok(rate < 1e-3 * uRate, "the salt divides the poisoning rate by more than 1,000");
    console.log(
      `# ack poisoning vs the 1e-6 target: with salt, mined ids add nothing measurable; the filters' own false positives ` +
        `confirm ${fmt(rate)} per pair of summaries and ${fmt(windowsTwoAny / windows)} per member and message over ${WINDOW} summaries ` +
        `(above the target); without salt the attack confirms ${fmt(uRate)}`,
    );
  });

  test("engine level: members flooded with ids mined against their last nonce do not confirm messages they never got", () => {
    // Marks are off, so every receipt here rests on filters: the worst case for this attack. Signatures are
    // not what is tested here (see "forged sender"): every engine accepts any, and the attacker signs nothing.
    // The attacker's rate is not what is tested here either (see "per-sender rate quota"): no quota.
    const params: Partial<Params> = { ackMaxMarks: 0, senderQuotaPer600s: 0 };
    const verify = () => true;
    const a = makeEngine({ n: 1, seed: 1, params, verifySignature: verify });
    const members = [2, 3, 4, 5].map((n) => makeEngine({ n, seed: n, params, verifySignature: verify }));
    const x = identity(66);
    const ROUNDS = 100;
    const WINDOW = DEFAULT_PARAMS.ackFilterCheckDepth;
    let xSequence = 0;
    let lastNonce = 0n;
    let minedMessages = 0;
    let checks = 0;
    const own: string[] = [];
    const exposures = new Map<string, number>(); // "message|member" -> summaries it was checked against
    let t = T;
    for (let round = 0; round < ROUNDS; round++) {
      t += 5_000;
      // A sends; nothing of A's reaches the members. The attacker knows the id.
      const m = a.send(enc(`a${round}`), t);
      own.push(m.messageId);
      // The attacker mines messages whose ids cover m's positions under member 0's last nonce, and sends them.
      let content: Uint8Array = new Uint8Array();
      let tries = 0;
      const candidate = () => {
        content = enc(`spam ${round}.${tries++}`);
        return computeMessageId({
          channelId: CHANNEL,
          senderId: x.senderId,
          kind: "content",
          sequence: xSequence + 1,
          lamportTimestamp: BigInt(t),
          content,
        });
      };
      const sendMined = (id: string) => {
        xSequence++;
        minedMessages++;
        const unsigned = encodeUnsigned({
          senderId: x.senderId,
          messageId: id,
          channelId: CHANNEL,
          lamportTimestamp: BigInt(t),
          causalHistory: [],
          repairRequest: [],
          sequenceRepairRequest: [],
          content,
          kind: "content",
          sequence: xSequence,
        });
        const bytes = appendSignature(unsigned, new Uint8Array(64));
        for (const member of members) assert.deepEqual(deliveredIds(member.receive(bytes, t)), [id]);
      };
      mine([m.messageId], (id) => saltedPositions(lastNonce, id), candidate, sendMined);
      // Each member chats; its message carries its summary to A and to the other members.
      for (const [i, member] of members.entries()) {
        const sent = member.send(enc(`member ${i} round ${round}`), t + 1 + i);
        const bytes = sent.outgoing[0]!.bytes;
        const ack = decodeMessage(bytes).ack;
        if (i === 0 && ack !== undefined) lastNonce = ack.nonce;
        for (const other of members) if (other !== member) other.receive(bytes, t + 1 + i);
        if (ack !== undefined && ack.filter.length > 0) {
          for (const id of own.slice(-WINDOW)) {
            const key = `${id}|${member.senderId}`;
            const s = a.status(id);
            if (s?.own && !s.receipts.ackedBy.includes(member.senderId)) {
              checks++;
              exposures.set(key, (exposures.get(key) ?? 0) + 1);
            }
          }
        }
        a.receive(bytes, t + 1 + i);
      }
    }
    let falseAcks = 0;
    let possibly = 0;
    for (const id of own) {
      const s = a.status(id);
      assert.ok(s?.own);
      falseAcks += s.receipts.count;
      possibly += s.receipts.possiblyBy.length;
    }
    // What two hits in a summary-by-summary check predict, at a full filter's false-positive rate.
    const p = falsePositiveRate(BITS, CAPACITY, HASHES);
    let expected = 0;
    for (const n of exposures.values()) expected += 1 - (1 - p) ** n - n * p * (1 - p) ** (n - 1);
    const pairs = own.length * members.length;
    console.log(
      `# ack poisoning, engine level (salted): ${minedMessages} mined messages, ${checks.toLocaleString("en")} filter checks, ` +
        `${falseAcks} false acknowledgements of ${pairs} (message, member) pairs = ${fmt(falseAcks / pairs)} ` +
        `(predicted from filter false positives alone ${expected.toFixed(1)}); ${possibly} left at "possibly"`,
    );
    // Every receipt is false here (no member got anything of A's). Mining against the last nonce gains nothing
    // over the filters' own false positives; with predictable positions every pair would be confirmed.
    assert.ok(falseAcks <= 2 * expected + 3, `${falseAcks} false acknowledgements, ${expected} expected`);
    assert.ok(falseAcks < 0.1 * pairs);
  });

  test("replayed old summaries of an honest member cannot confirm messages sent after them", () => {
    const a = makeEngine({ n: 1 });
    const c = identity(2);
    const nextNonce = nonceSource(21);
    const random = prng(22);
    // 200 summaries that C really signed, over ids C really received, collected from the topic by an attacker.
    const old = Array.from({ length: 200 }, (_, i) => {
      const nonce = nextNonce();
      const ids = Array.from({ length: CAPACITY }, () => hexRandom(random, 32));
      const ack: AckSummary = {
        nonce,
        filter: buildFilter(SALT, nonce, ids, FILTER_BYTES, HASHES),
        hashCount: HASHES,
        marks: [],
      };
      return craft(c, { kind: "sync", lamport: BigInt(T + i), ack }).bytes;
    });
    // A writes 32 messages, which C never gets; the attacker then replays all of C's old summaries to A.
    const ms = Array.from({ length: 32 }, (_, i) => a.send(enc(`m${i}`), T + 1_000 + i).messageId);
    for (const [i, bytes] of old.entries()) a.receive(bytes, T + 2_000 + i);
    const claimed = ms.filter((id) => {
      const s = a.status(id);
      return s?.own && (s.receipts.count > 0 || s.receipts.possiblyBy.length > 0);
    });
    // Each replayed filter answers "maybe" for ~0.9 % of ids: 200 of them would confirm about half of the messages.
    assert.deepEqual(claimed, [], "a summary written before a message existed says nothing about it");

    // Summaries C writes after it got the message still count.
    const got = ms[31]!;
    for (const [i, nonce] of [5n, 6n].entries()) {
      const ack: AckSummary = {
        nonce,
        filter: buildFilter(SALT, nonce, [got], FILTER_BYTES, HASHES),
        hashCount: HASHES,
        marks: [],
      };
      a.receive(craft(c, { kind: "sync", lamport: BigInt(T + 3_000 + i), ack }).bytes, T + 3_000 + i);
    }
    const status = a.status(got);
    assert.ok(status?.own);
    assert.deepEqual(status.receipts.ackedBy, [c.senderId]);
  });

  test("hostile filters: all ones and fills above ackMaxFillRatio are ignored; one just under it speaks only for its author", () => {
    const a = makeEngine({ n: 1 });
    const honest = identity(2);
    const liar = identity(7);
    a.receive(craft(honest, { kind: "content", sequence: 1, lamport: BigInt(T) }).bytes, T);
    const ms = Array.from({ length: 32 }, (_, i) => a.send(enc(`m${i}`), T + 10 + i).messageId);
    const random = prng(31);
    const filledTo = (setBits: number): Uint8Array => {
      const filter = new Uint8Array(FILTER_BYTES);
      const order = Array.from({ length: BITS }, (_, i) => i).sort(() => random() - 0.5);
      for (const p of order.slice(0, setBits)) filter[p >>> 3]! |= 1 << (p & 7);
      return filter;
    };
    let t = T + 100;
    const summary = (filter: Uint8Array, hashCount: number, nonce: bigint) =>
      craft(liar, { kind: "sync", lamport: BigInt(t++), ack: { nonce, filter, hashCount, marks: [] } }).bytes;
    const threshold = Math.floor(DEFAULT_PARAMS.ackMaxFillRatio * BITS);
    for (const [i, filter] of [new Uint8Array(FILTER_BYTES).fill(0xff), filledTo(threshold + 1)].entries()) {
      for (const nonce of [1n, 2n, 3n]) {
        const step = a.receive(summary(filter, 1, nonce + BigInt(10 * i)), t);
        assert.deepEqual(eventsOf(step, "acknowledged"), []);
      }
    }
    for (const id of ms) assert.equal(a.status(id)?.own && a.status(id)?.state, "pending", "ignored outright");
    // At the threshold with one hash per id, each summary claims ~70 % of everything: the liar's own receipt only.
    for (const nonce of [4n, 5n, 6n, 7n]) a.receive(summary(filledTo(threshold), 1, nonce), t);
    let confirmed = 0;
    for (const id of ms) {
      const s = a.status(id);
      assert.ok(s?.own);
      assert.ok(s.receipts.ackedBy.every((m) => m === liar.senderId));
      assert.ok(s.receipts.possiblyBy.every((m) => m === liar.senderId));
      confirmed += s.receipts.count;
    }
    assert.ok(confirmed > 16, `the liar confirmed ${confirmed} of 32 for itself`);
  });
});

describe("replays, altered duplicates, forged senders", () => {
  test("a replayed content message is not delivered again and changes no state, even after its id left the seen set", () => {
    const a = makeEngine({ n: 1, params: { maxSeenIds: 10, repairCacheSize: 10 } });
    const c = identity(2);
    const first = craft(c, { kind: "content", sequence: 1, lamport: BigInt(T) });
    assert.deepEqual(deliveredIds(a.receive(first.bytes, T)), [first.id]);
    let before = stateOf(a);
    for (const at of [T, T + 5_000, T + 600_000]) {
      const step = a.receive(first.bytes, at);
      assert.deepEqual(step, { outgoing: [], events: [] });
      assert.equal(stateOf(a), before, `replay at ${at}`);
    }
    // 30 later messages push the first one out of the seen set and the cache (both hold 10).
    for (let i = 2; i <= 31; i++)
      a.receive(craft(c, { kind: "content", sequence: i, lamport: BigInt(T + i) }).bytes, T + i);
    assert.equal(a.status(first.id), undefined, "forgotten");
    before = stateOf(a);
    const step = a.receive(first.bytes, T + 700_000);
    assert.deepEqual(deliveredIds(step), [], "its sequence number is below the sender's delivered run");
    assert.equal(stateOf(a), before);
    // A replay of our own message is ignored too.
    const own = a.send(enc("mine"), T + 800_000);
    before = stateOf(a);
    assert.deepEqual(a.receive(own.outgoing[0]!.bytes, T + 800_001), { outgoing: [], events: [] });
    assert.equal(stateOf(a), before);
  });

  test("a duplicate with altered content is rejected (id mismatch) and cannot displace or block the original", () => {
    const c = identity(2);
    const original = craft(c, { kind: "content", sequence: 1, lamport: BigInt(T), content: enc("pay alice") });
    const unsigned = encodeUnsigned({ ...original.message, signature: undefined });
    const signature = original.bytes.subarray(original.bytes.length - 64);
    // Same id, other content, signed by the sender's own key: the id no longer matches the fields.
    const resigned = craft(c, {
      kind: "content",
      sequence: 1,
      lamport: BigInt(T),
      content: enc("pay mallory"),
      messageId: original.id,
    });
    // Same length content altered in place, original signature.
    const inPlace = original.bytes.slice();
    const at = Buffer.from(inPlace).indexOf(Buffer.from("alice"));
    inPlace.set(enc("eve!!"), at);
    // Content altered with its id recomputed: the id matches, the signature does not.
    const altered = { ...original.message, content: enc("pay mallory"), signature: undefined };
    const recomputed = appendSignature(
      encodeUnsigned({
        ...altered,
        messageId: computeMessageId({
          channelId: CHANNEL,
          senderId: c.senderId,
          kind: "content",
          sequence: 1,
          lamportTimestamp: BigInt(T),
          content: altered.content,
        }),
      }),
      signature,
    );
    // Fields outside the id (causal history) altered under the original signature.
    const history = appendSignature(
      encodeUnsigned({ ...original.message, causalHistory: [{ messageId: "ff".repeat(16) }], signature: undefined }),
      signature,
    );
    assert.notDeepEqual(unsigned, history);
    const forgeries: [Uint8Array, RegExp][] = [
      [resigned.bytes, /message id does not match/],
      [inPlace, /message id does not match/],
      [recomputed, /bad signature/],
      [history, /bad signature/],
    ];
    // Before the original: refused, and the original is still delivered afterwards.
    const early = makeEngine({ n: 1 });
    for (const [bytes, reason] of forgeries) assertUnchanged(early, stateOf(early), early.receive(bytes, T), reason);
    assert.deepEqual(deliveredIds(early.receive(original.bytes, T)), [original.id]);
    // After the original: refused, the log keeps the original content.
    const before = stateOf(early);
    for (const [bytes, reason] of forgeries) assertUnchanged(early, before, early.receive(bytes, T + 1), reason);
    assert.deepEqual(
      early.deliveredLog().map((m) => new TextDecoder().decode(m.content)),
      ["pay alice"],
    );
  });

  test("a forged sender is rejected: another key's signature, a key that is not hex, a signature from another channel", () => {
    const a = makeEngine({ n: 1 });
    const victim = identity(2);
    const attacker = identity(66);
    const before = stateOf(a);
    // The attacker signs a message that names the victim as its sender.
    const claimed: WireMessage = {
      senderId: victim.senderId,
      messageId: computeMessageId({
        channelId: CHANNEL,
        senderId: victim.senderId,
        kind: "content",
        sequence: 1,
        lamportTimestamp: BigInt(T),
        content: enc("I resign"),
      }),
      channelId: CHANNEL,
      lamportTimestamp: BigInt(T),
      causalHistory: [],
      repairRequest: [],
      sequenceRepairRequest: [],
      content: enc("I resign"),
      kind: "content",
      sequence: 1,
    };
    const unsigned = encodeUnsigned(claimed);
    assertUnchanged(
      a,
      before,
      a.receive(appendSignature(unsigned, createSigner(attacker.secretKey)(unsigned)), T),
      /bad signature/,
    );
    // The victim's real signature over another message.
    const other = craft(victim, { kind: "content", sequence: 1, lamport: BigInt(T), content: enc("hello") });
    assertUnchanged(
      a,
      before,
      a.receive(appendSignature(unsigned, other.bytes.subarray(other.bytes.length - 64)), T),
      /bad signature/,
    );
    // A signed sync in the victim's name, carrying a mark and repair requests.
    const sync = craft(victim, {
      kind: "sync",
      lamport: BigInt(T),
      ack: {
        nonce: 1n,
        filter: new Uint8Array(),
        hashCount: 0,
        marks: [{ senderPrefix: prefixOf(a.senderId), sequence: 5 }],
      },
    });
    const syncForged = appendSignature(
      encodeUnsigned({ ...sync.message, signature: undefined }),
      createSigner(attacker.secretKey)(encodeUnsigned({ ...sync.message, signature: undefined })),
    );
    assertUnchanged(a, before, a.receive(syncForged, T), /bad signature/);
    // Sender ids that are not a lowercase hex ed25519 key.
    for (const senderId of [victim.senderId.toUpperCase(), `${victim.senderId.slice(0, 62)}zz`, "alice"]) {
      const m = {
        ...claimed,
        senderId,
        messageId: computeMessageId({
          channelId: CHANNEL,
          senderId,
          kind: "content",
          sequence: 1,
          lamportTimestamp: BigInt(T),
          content: enc("I resign"),
        }),
      };
      const u = encodeUnsigned(m);
      assertUnchanged(
        a,
        before,
        a.receive(appendSignature(u, createSigner(attacker.secretKey)(u)), T),
        /not an ed25519 public key/,
      );
    }
    // A genuine message of the victim in another channel, re-sent here.
    const elsewhere = craft(victim, { kind: "content", sequence: 1, lamport: BigInt(T), channelId: "community/other" });
    assertUnchanged(a, before, a.receive(elsewhere.bytes, T), /wrong channel/);
  });

  test("oversized and out-of-range fields are rejected through receive as events, never thrown", () => {
    const a = makeEngine({ n: 1 });
    a.receive(craft(identity(2), { kind: "content", sequence: 1, lamport: BigInt(T) }).bytes, T);
    const before = stateOf(a);
    const base: WireMessage = craft(identity(2), { kind: "content", sequence: 2, lamport: BigInt(T + 1) }).message;
    const ack = (over: Partial<AckSummary>): AckSummary => ({
      nonce: 1n,
      filter: new Uint8Array(8),
      hashCount: 3,
      marks: [],
      ...over,
    });
    const mark = { senderPrefix: new Uint8Array(8), sequence: 1 };
    const cases: [string, Partial<WireMessage>][] = [
      ["message", { content: new Uint8Array(200 * 1024) }],
      ["sender_id", { senderId: "a".repeat(129) }],
      ["message_id", { messageId: "b".repeat(129) }],
      ["channel_id", { channelId: "c".repeat(257) }],
      ["causal_history", { causalHistory: Array.from({ length: 257 }, (_, i) => ({ messageId: `${i}` })) }],
      ["causal_history[0].message_id", { causalHistory: [{ messageId: "d".repeat(129) }] }],
      ["causal_history[0].retrieval_hint", { causalHistory: [{ messageId: "e", retrievalHint: new Uint8Array(257) }] }],
      ["repair_request", { repairRequest: Array.from({ length: 65 }, (_, i) => ({ messageId: `${i}` })) }],
      [
        "sequence_repair_request",
        { sequenceRepairRequest: Array.from({ length: 17 }, () => ({ senderId: "a".repeat(64), first: 1, last: 1 })) },
      ],
      ["sequence_repair_request[0]", { sequenceRepairRequest: [{ senderId: "a".repeat(64), first: 1, last: 10_001 }] }],
      ["sequence_repair_request[0].sender_id", { sequenceRepairRequest: [{ senderId: "s", first: 1, last: 1 }] }],
      ["bloom_filter", { bloomFilter: new Uint8Array(32 * 1024 + 1) }],
      ["ack.filter", { ack: ack({ filter: new Uint8Array(4097) }) }],
      ["ack.hash_count", { ack: ack({ hashCount: 33 }) }],
      ["ack.marks", { ack: ack({ marks: Array.from({ length: 65 }, () => mark) }) }],
      ["ack.marks[0].sequence", { ack: ack({ marks: [{ ...mark, sequence: 2 ** 53 }] }) }],
      ["ack.marks[0].sender_prefix", { ack: ack({ marks: [{ ...mark, senderPrefix: new Uint8Array(9) }] }) }],
      ["sequence", { sequence: 2 ** 53 }],
      ["lamport_timestamp", { lamportTimestamp: MAX_LAMPORT + 1n }],
    ];
    for (const [field, over] of cases) {
      const bytes = appendSignature(encodeUnsigned({ ...base, ...over, signature: undefined }), new Uint8Array(64));
      let step: Step | undefined;
      assert.doesNotThrow(() => {
        step = a.receive(bytes, T + 2);
      }, field);
      assertUnchanged(a, before, step!, new RegExp(`^undecodable: ${field.replace(/[[\]().]/g, "\\$&")}: `));
    }
  });
});

describe("limits under hostile traffic", () => {
  test("a causal chain of 5,000 messages delivered in reverse: no stack overflow, pending within maxPending, delivered in chain order", () => {
    const random = prng(41);
    const senders = Array.from({ length: 50 }, () => hexRandom(random, 64));
    const chain: { id: string; bytes: Uint8Array }[] = [];
    for (let i = 0; i < 5_000; i++) {
      const sender = senders[i % senders.length]!;
      const sequence = Math.floor(i / senders.length) + 1;
      const bytes = unsignedContent(CHANNEL, sender, sequence, BigInt(T + i), i === 0 ? [] : [chain[i - 1]!.id]);
      chain.push({ id: decodeMessage(bytes).messageId, bytes });
    }
    for (const maxPending of [DEFAULT_PARAMS.maxPending, 1_000]) {
      const x = new ChannelEngine({
        channelId: CHANNEL,
        identity: identity(1),
        random: prng(42),
        now: 0,
        params: { maxPending },
        verifySignature: () => true,
      });
      const delivered: string[] = [];
      let peak = 0;
      let refused = 0;
      for (let i = chain.length - 1; i >= 0; i--) {
        const step = x.receive(chain[i]!.bytes, T + 5_000 + (chain.length - i));
        delivered.push(...deliveredIds(step));
        refused += eventsOf(step, "rejected").length;
        peak = Math.max(peak, x.bufferSizes().pending);
        assert.ok(x.bufferSizes().missing <= x.params.maxMissing);
      }
      assert.ok(peak <= maxPending, `pending peaked at ${peak}`);
      if (maxPending >= chain.length) {
        // The root arrived last and released the whole chain in one call, in order.
        assert.equal(refused, 0);
        assert.deepEqual(
          delivered,
          chain.map((c) => c.id),
        );
        assert.equal(x.bufferSizes().pending, 0);
        assert.equal(x.bufferSizes().waiters, 0);
      } else {
        assert.equal(refused, chain.length - 1 - maxPending, "the rest was refused, to come back through repair");
        assert.deepEqual(delivered, [chain[0]!.id]);
        // Nothing waits forever: the pending messages are given up and delivered.
        for (const s of runTimers(x, T + 10_000 + 2 * x.params.dependencyTimeoutMs + 10_000))
          delivered.push(...deliveredIds(s.step));
        assert.equal(x.bufferSizes().pending, 0);
        assert.equal(delivered.length, maxPending + 1);
      }
    }
  });

  test("a member citing thousands of non-existent ids and jumping its sequence by millions: buffers within params, honest members unaffected", () => {
    // The rate quota would refuse these jumps outright (test/core/quota.test.ts): off, to test the bounds beneath it.
    const params: Partial<Params> = { maxMissing: 3_000, maxPendingPerSender: 50, senderQuotaPer600s: 0 };
    const x = new ChannelEngine({
      channelId: CHANNEL,
      identity: identity(1),
      random: prng(51),
      now: 0,
      params,
      verifySignature: () => true,
    });
    const p = x.params;
    const random = prng(52);
    const flooder = hexRandom(random, 64);
    const honest = [hexRandom(random, 64), hexRandom(random, 64)];
    const honestSeq = [0, 0];
    let lastHonest: string | undefined;
    let sequence = 1;
    let t = T;
    for (let round = 0; round < 100; round++) {
      sequence += 1_000_000 + Math.floor(random() * 1_000_000);
      const history = Array.from({ length: 256 }, () => hexRandom(random, 32));
      x.receive(unsignedContent(CHANNEL, flooder, sequence, BigInt(t), history), t++);
      // Honest traffic in between is delivered at once.
      const who = round % 2;
      honestSeq[who]!++;
      const bytes = unsignedContent(
        CHANNEL,
        honest[who]!,
        honestSeq[who]!,
        BigInt(t),
        lastHonest === undefined ? [] : [lastHonest],
      );
      const id = decodeMessage(bytes).messageId;
      assert.deepEqual(deliveredIds(x.receive(bytes, t++)), [id], `honest message in round ${round}`);
      lastHonest = id;
      const s = x.bufferSizes();
      assert.ok(s.missing <= p.maxMissing, `missing ${s.missing}`);
      assert.ok(s.pending <= p.maxPendingPerSender, `pending ${s.pending}`);
      assert.ok(s.waiters <= p.maxMissing + p.maxPending);
      assert.ok(s.seen <= p.maxSeenIds && s.cache <= p.repairCacheSize && s.members <= p.maxMembers);
    }
    assert.equal(x.bufferSizes().missing, p.maxMissing, "the flood filled the missing set, and no further");
    // Everything it made us wait for is given up in time; memory drains. Sequence numbers its own messages
    // vouch for, whose requests the spent control budget held back, may wait up to five timeouts once the
    // missing set is back under half full (section 10.7).
    runTimers(x, t + 5 * p.dependencyTimeoutMs + 60_000);
    const after = x.bufferSizes();
    assert.deepEqual([after.missing, after.pending, after.waiters], [0, 0, 0]);
  });

  test("a member's mark claiming another member's far-future sequence numbers does not switch off gap detection for that member", () => {
    const params: Partial<Params> = { dependencyTimeoutMs: 10_000 };
    const [a, b, c, d] = [1, 2, 3, 4].map((n) => makeEngine({ n, seed: n, params }));
    const all = [a!, b!, c!, d!];
    const liar = identity(66);
    let t = T;
    const pass = (from: ChannelEngine, sent: Step, to: ChannelEngine[]) => {
      for (const out of sent.outgoing) for (const e of to) if (e !== from) e.receive(out.bytes, t);
    };
    for (const e of all) pass(e, e.send(enc("hello"), ++t), all);
    // The liar claims to hold B's messages up to 1,000,000. Nobody has them: A gives them up.
    const lie = craft(liar, {
      kind: "sync",
      lamport: BigInt(++t),
      ack: {
        nonce: 1n,
        filter: new Uint8Array(),
        hashCount: 0,
        marks: [{ senderPrefix: prefixOf(b!.senderId), sequence: 1_000_000 }],
      },
    });
    assert.equal(eventsOf(a!.receive(lie.bytes, t), "missing").length, DEFAULT_PARAMS.maxGapPerDetection);
    runTimers(a!, t + 60_000);
    t += 60_000;
    assert.deepEqual(a!.missingRefs(), []);
    // B's next message is lost on its way to A; C gets it. Then D speaks twice, so that neither B's nor C's
    // causal history names b2 any more, and C and B speak: A can tell b2 is missing only by sequence numbers.
    const b2 = b!.send(enc("b2"), ++t);
    pass(b!, b2, [c!]);
    pass(d!, d!.send(enc("d1"), ++t), all);
    pass(d!, d!.send(enc("d2"), ++t), all);
    const c1 = c!.send(enc("c1"), ++t);
    const b3 = b!.send(enc("b3"), ++t);
    for (const m of [c1, b3]) {
      assert.ok(!decodeMessage(m.outgoing[0]!.bytes).causalHistory.some((e) => e.messageId === b2.messageId));
    }
    pass(c!, c1, all);
    pass(b!, b3, all);
    assert.ok(
      a!.missingRefs().some((r) => r.senderId === b!.senderId && r.sequence === 2),
      `A misses ${JSON.stringify(a!.missingRefs())}`,
    );
  });

  test("a member's mark for a sender we have no content from yet cannot push that sender's first sequence number to the end of time", () => {
    const params: Partial<Params> = { dependencyTimeoutMs: 10_000 };
    const a = makeEngine({ n: 1, params });
    const b = identity(2);
    const liar = identity(66);
    // A has heard B only through a sync so far.
    a.receive(craft(b, { kind: "sync", lamport: BigInt(T) }).bytes, T);
    const lie = craft(liar, {
      kind: "sync",
      lamport: BigInt(T + 1),
      ack: {
        nonce: 1n,
        filter: new Uint8Array(),
        hashCount: 0,
        marks: [{ senderPrefix: prefixOf(b.senderId), sequence: 1_000_000 }],
      },
    });
    a.receive(lie.bytes, T + 1);
    runTimers(a, T + 60_000);
    // B's real messages: 1 arrives, 2 is lost, 3 arrives without naming 2.
    const m = (sequence: number) =>
      craft(b, { kind: "content", sequence, lamport: BigInt(T + 60_000 + sequence), content: enc(`b${sequence}`) });
    assert.deepEqual(deliveredIds(a.receive(m(1).bytes, T + 60_001)), [m(1).id]);
    a.receive(m(3).bytes, T + 60_003);
    assert.ok(
      a.missingRefs().some((r) => r.senderId === b.senderId && r.sequence === 2),
      `A misses ${JSON.stringify(a.missingRefs())}`,
    );
  });

  test("an owner tracking everyone's receipts does bounded work for marks claiming huge sequence numbers", () => {
    // A small missing set: the marks' gaps (a cost every member pays, bounded by the set) stay cheap to open.
    const owner = makeEngine({
      n: 9,
      params: { trackAllReceipts: true, maxMissing: 1_000 },
      verifySignature: () => true,
    });
    const senders = Array.from({ length: 64 }, (_, i) => identity(200 + i));
    let t = T;
    const firsts: string[] = [];
    for (const s of senders) {
      for (const sequence of [1, 2]) {
        const m = craft(s, { kind: "content", sequence, lamport: BigInt(t++) });
        if (sequence === 1) firsts.push(m.id);
        owner.receive(m.bytes, t);
      }
    }
    // 1.2 KB each: 64 marks, one per sender, each claiming 20,000 more messages than the last.
    const liar = identity(66);
    const lies = Array.from(
      { length: 20 },
      (_, k) =>
        craft(liar, {
          kind: "sync",
          lamport: BigInt(t + k),
          ack: {
            nonce: BigInt(k),
            filter: new Uint8Array(),
            hashCount: 0,
            marks: senders.map((s) => ({ senderPrefix: prefixOf(s.senderId), sequence: 20_000 * (k + 1) })),
          },
        }).bytes,
    );
    const started = performance.now();
    for (const [k, bytes] of lies.entries()) owner.receive(bytes, t + k);
    const ms = performance.now() - started;
    // Before the cap, each such message cost the owner close to a second (1.3 million look-ups).
    assert.ok(ms < 2_000, `20 hostile messages took ${ms.toFixed(0)} ms`);
    console.log(`# owner: 20 messages of 64 lying marks each took ${ms.toFixed(0)} ms`);
    // What the liar claims about messages that exist counts for itself only (see the stated limitation).
    for (const id of firsts)
      assert.deepEqual(owner.receipts(id)?.ackedBy.sort(), [owner.senderId, liar.senderId].sort());
  });

  test("non-members (isMember hook) are rejected before any state changes", () => {
    const members = new Set<string>([identity(1).senderId, identity(2).senderId]);
    const a = new ChannelEngine({
      channelId: CHANNEL,
      identity: identity(1),
      random: prng(61),
      now: 0,
      isMember: (id) => members.has(id),
    });
    const own = a.send(enc("hello"), T);
    const member = craft(identity(2), { kind: "content", sequence: 1, lamport: BigInt(T + 1) });
    a.receive(member.bytes, T + 1);
    const before = stateOf(a);
    const sizes = a.bufferSizes();
    const outsider = identity(66);
    const hostile = [
      craft(outsider, {
        kind: "content",
        sequence: 1,
        lamport: BigInt(T + 2),
        causalHistory: [{ messageId: "ab".repeat(16) }],
      }),
      craft(outsider, { kind: "content", sequence: 5_000_000, lamport: BigInt(T + 3) }),
      craft(outsider, {
        kind: "sync",
        lamport: BigInt(T + 4),
        causalHistory: [{ messageId: own.messageId }],
        repairRequest: [{ messageId: member.id }],
        sequenceRepairRequest: [{ senderId: identity(2).senderId, first: 1, last: 1 }],
        ack: {
          nonce: 9n,
          filter: new Uint8Array(16).fill(0xff),
          hashCount: 1,
          marks: [
            { senderPrefix: prefixOf(identity(1).senderId), sequence: 1 },
            { senderPrefix: prefixOf(identity(2).senderId), sequence: 99 },
          ],
        },
      }),
      craft(outsider, { kind: "ephemeral", content: enc("typing...") }),
    ];
    for (const m of hostile) assertUnchanged(a, before, a.receive(m.bytes, T + 5), /not a member/);
    assert.deepEqual(a.bufferSizes(), sizes);
    assert.equal(a.status(own.messageId)?.own && a.status(own.messageId)?.state, "pending");
    // A member's message is still accepted.
    const next = craft(identity(2), { kind: "content", sequence: 2, lamport: BigInt(T + 6) });
    assert.deepEqual(deliveredIds(a.receive(next.bytes, T + 6)), [next.id]);
  });

  test("lamport timestamps far in the future are rejected and do not move the clock", () => {
    const a = makeEngine({ n: 1 });
    const now = T;
    const before = stateOf(a);
    const skew = BigInt(DEFAULT_PARAMS.maxFutureSkewMs);
    for (const lamport of [BigInt(now) + skew + 1n, 10n ** 15n, MAX_LAMPORT]) {
      for (const kind of ["content", "sync"] as const) {
        const m = craft(identity(2), {
          kind,
          lamport,
          ack: {
            nonce: 1n,
            filter: new Uint8Array(),
            hashCount: 0,
            marks: [{ senderPrefix: prefixOf(identity(3).senderId), sequence: 1_000 }],
          },
        });
        assertUnchanged(a, before, a.receive(m.bytes, now), /lamport timestamp .* ahead/);
      }
    }
    assert.equal(a.send(enc("next"), now + 1).lamportTimestamp, BigInt(now + 1), "our clock did not jump");
  });
});

describe("a member that acknowledges everything", () => {
  test("limitation: a liar adds one receipt per message (its own) to 'k of N'; it cannot make other members' receipts appear", () => {
    const [a, b, c] = [1, 2, 3].map((n) => makeEngine({ n, seed: n }));
    const liar = identity(7);
    let t = T;
    // Everyone says hello to everyone: A knows B, C and the liar.
    for (const e of [a!, b!, c!]) {
      const hello = e.send(enc("hello"), t++).outgoing[0]!.bytes;
      for (const other of [a!, b!, c!]) if (other !== e) other.receive(hello, t);
    }
    const liarHello = craft(liar, { kind: "content", sequence: 1, lamport: BigInt(t++) }).bytes;
    for (const e of [a!, b!, c!]) e.receive(liarHello, t);
    assert.equal(a!.knownMembers(), 3);
    // A sends 5 messages; B gets them, C and the liar do not.
    const ms = Array.from({ length: 5 }, (_, i) => a!.send(enc(`m${i}`), t++));
    for (const m of ms) b!.receive(m.outgoing[0]!.bytes, t);
    a!.receive(b!.send(enc("got them"), t++).outgoing[0]!.bytes, t);
    const ids = ms.map((m) => m.messageId);
    // The liar claims everything, every way it can: a mark to the end of time, a causal history of every id,
    // a filter with every bit set (ignored) and one at the fill threshold, under two nonces.
    const threshold = new Uint8Array(FILTER_BYTES);
    for (let p = 0; p < Math.floor(DEFAULT_PARAMS.ackMaxFillRatio * BITS); p++) threshold[p >>> 3]! |= 1 << (p & 7);
    for (const [i, filter] of [new Uint8Array(FILTER_BYTES).fill(0xff), threshold].entries()) {
      a!.receive(
        craft(liar, {
          kind: "sync",
          lamport: BigInt(t++),
          causalHistory: ids.map((messageId) => ({ messageId })),
          ack: {
            nonce: BigInt(i + 1),
            filter,
            hashCount: 1,
            marks: [{ senderPrefix: prefixOf(a!.senderId), sequence: Number.MAX_SAFE_INTEGER }],
          },
        }).bytes,
        t,
      );
    }
    // What it cannot do: speak for C. A signature in C's name is refused; C's genuine summaries from before the
    // messages existed are ignored; ids mined into C's filter do not survive C's fresh nonce (see above).
    const forgedAck: AckSummary = {
      nonce: 3n,
      filter: new Uint8Array(),
      hashCount: 0,
      marks: [{ senderPrefix: prefixOf(a!.senderId), sequence: 5 }],
    };
    const forged = {
      ...craft(identity(3), { kind: "sync", lamport: BigInt(t++), ack: forgedAck }).message,
      signature: undefined,
    };
    const u = encodeUnsigned(forged);
    const step = a!.receive(appendSignature(u, createSigner(liar.secretKey)(u)), t);
    assert.match(eventsOf(step, "rejected")[0]?.reason ?? "", /bad signature/);
    for (const id of ids) {
      const s = a!.status(id);
      assert.ok(s?.own);
      assert.deepEqual([...s.receipts.ackedBy].sort(), [b!.senderId, liar.senderId].sort());
      assert.equal(s.receipts.count, 2, "k of N: B, and the liar");
      assert.equal(s.receipts.members, 3);
      assert.ok(!s.receipts.possiblyBy.includes(c!.senderId));
    }
    // The owner's aggregation for other senders' messages is per member too: the liar adds one.
    const owner = makeEngine({ n: 9, params: { trackAllReceipts: true } });
    const bMessage = craft(identity(2), { kind: "content", sequence: 1, lamport: BigInt(t++) });
    owner.receive(bMessage.bytes, t);
    owner.receive(
      craft(liar, { kind: "content", sequence: 2, lamport: BigInt(t++), causalHistory: [{ messageId: bMessage.id }] })
        .bytes,
      t,
    );
    assert.deepEqual(owner.receipts(bMessage.id)?.ackedBy.sort(), [owner.senderId, liar.senderId].sort());
  });
});
