// Shared by test/core/fuzz-engine.test.ts, test/core/fuzz-corpus.test.ts and scripts/fuzz.ts: a warm target
// engine (restored from one deterministic snapshot), a pool of valid messages around it, hostile inputs built
// from small integer records (so that fast-check can generate and shrink them cheaply), and the checks that
// every input must pass.
import fc from "fast-check";
import {
  ChannelEngine,
  computeMessageId,
  type EngineConfig,
  type EngineSnapshot,
  type Identity,
  senderPrefixHex,
} from "../../src/core/index.js";
import type { Step } from "../../src/core/types.js";
import {
  type AckSummary,
  appendSignature,
  DEFAULT_DECODE_LIMITS,
  DecodeError,
  decodeMessage,
  encodeUnsigned,
  MAX_LAMPORT,
  type MessageKind,
  type WireMessage,
} from "../../src/wire/index.js";
import { CHANNEL, enc, hexRandom, identity, prng } from "./fixtures.js";
import { limitViolations } from "./harness.js";

export const TARGET = identity(1);
export const HONEST: readonly Identity[] = [identity(2), identity(3)];
/** Signs validly as itself; it is a member. */
export const ATTACKER = identity(66);
/** Refused by the warm engine's membership hook. */
export const OUTSIDER = identity(99);

export interface Warm {
  readonly snapshot: EngineSnapshot;
  /** Valid messages seen around the target: content, sync with summaries and requests, repairs, ephemeral, SDS. */
  readonly pool: readonly Uint8Array[];
  readonly decoded: readonly WireMessage[];
  /** Local time after the warm-up; inputs arrive from here on. */
  readonly now: number;
}

export interface Crypto {
  readonly verifySignature?: EngineConfig["verifySignature"];
  /** Signs for the attacker; defaults to the engine's portable signer. */
  readonly attackerSign: (unsigned: Uint8Array) => Uint8Array;
  readonly sign?: (secretKey: Uint8Array) => (unsigned: Uint8Array) => Uint8Array;
}

const isMember = (id: string): boolean => id !== OUTSIDER.senderId;

let cachedWarm: Warm | undefined;

/**
 * Three members talk for a while; the target misses some messages (so it has gaps, pending messages and
 * repair requests) and everyone sends summaries. Deterministic: the same snapshot and pool every time.
 */
export function warmUp(): Warm {
  if (cachedWarm !== undefined) return cachedWarm;
  const ids = [TARGET, ...HONEST];
  const engines = ids.map(
    (id, i) => new ChannelEngine({ channelId: CHANNEL, identity: id, random: prng(1_000 + i), now: 0, isMember }),
  );
  const pool: Uint8Array[] = [];
  let t = 20_000;
  const publish = (from: number, step: Step, dropForTarget: boolean) => {
    for (const out of step.outgoing) {
      pool.push(out.bytes);
      for (let to = 0; to < engines.length; to++) {
        if (to === from || (to === 0 && dropForTarget)) continue;
        engines[to]!.receive(out.bytes, t);
      }
    }
  };
  for (let i = 0; i < 24; i++) {
    const from = i % 3;
    publish(from, engines[from]!.send(enc(`warm ${i} from ${from}`), t), i % 5 === 3);
    t += 700;
    if (i % 6 === 5) {
      // Timers: repair requests, answers, syncs. The target misses one of the answers.
      for (let k = 0; k < 3; k++) {
        t += 2_500;
        for (let e = 0; e < engines.length; e++) publish(e, engines[e]!.tick(t), k === 1);
      }
    }
  }
  publish(1, engines[1]!.sendEphemeral(enc("typing..."), t), false);
  t += 130_000;
  for (let e = 0; e < engines.length; e++) publish(e, engines[e]!.tick(t), false);
  // An SDS peer's unsigned message (refused: interop is off).
  pool.push(
    encodeUnsigned({
      senderId: "sds-peer",
      messageId: "ab".repeat(32),
      channelId: CHANNEL,
      lamportTimestamp: BigInt(t),
      causalHistory: [{ messageId: "cd".repeat(32) }],
      bloomFilter: new Uint8Array(32),
      repairRequest: [],
      sequenceRepairRequest: [],
      content: enc("hello from sds"),
    }),
  );
  // Messages still to come from the honest members, which the target has not seen.
  for (let i = 0; i < 4; i++) pool.push(engines[1 + (i % 2)]!.send(enc(`later ${i}`), t + i).outgoing[0]!.bytes);
  cachedWarm = {
    snapshot: JSON.parse(JSON.stringify(engines[0]!.snapshot())) as EngineSnapshot,
    pool,
    decoded: pool.map((b) => decodeMessage(b)),
    now: t + 10,
  };
  return cachedWarm;
}

/** A fresh copy of the warm target. */
export function targetEngine(warm: Warm, seed: number, crypto?: Partial<Crypto>): ChannelEngine {
  return ChannelEngine.restore(warm.snapshot, {
    channelId: CHANNEL,
    identity: TARGET,
    random: prng(seed),
    isMember,
    ...(crypto?.verifySignature === undefined ? {} : { verifySignature: crypto.verifySignature }),
    ...(crypto?.sign === undefined ? {} : { sign: crypto.sign(TARGET.secretKey) }),
  });
}

// ------------------------------------------------------------------------------------------ inputs

/** One input, as integers that select and parametrise a mutation of the pool (and raw bytes for op 0). */
export interface FuzzInput {
  readonly op: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
  readonly e: number;
  readonly raw: Uint8Array;
}

const u32 = fc.nat({ max: 0xffff_ffff });
export const fuzzInput: fc.Arbitrary<FuzzInput> = fc.record({
  op: fc.nat({ max: 99 }),
  a: u32,
  b: u32,
  c: u32,
  d: u32,
  e: u32,
  raw: fc.uint8Array({ maxLength: 96 }),
});

/** A batch of inputs for one fresh target, with a seed for its randomness. */
export const fuzzBatch = (size: number) =>
  fc.record({ seed: fc.nat(), inputs: fc.array(fuzzInput, { minLength: 1, maxLength: size }) });

interface Field {
  readonly number: number;
  readonly start: number;
  readonly end: number;
}

/** Top-level protobuf fields of `bytes`, or undefined when they do not parse. */
export function topLevelFields(bytes: Uint8Array): Field[] | undefined {
  const out: Field[] = [];
  let i = 0;
  const varint = (): number | undefined => {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (i >= bytes.length) return undefined;
      const byte = bytes[i++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    return undefined;
  };
  while (i < bytes.length) {
    const start = i;
    const tag = varint();
    if (tag === undefined) return undefined;
    const wire = tag & 7;
    if (wire === 0) {
      if (varint() === undefined) return undefined;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) {
      const length = varint();
      if (length === undefined) return undefined;
      i += length;
    } else return undefined;
    if (i > bytes.length) return undefined;
    out.push({ number: Math.floor(tag / 8), start, end: i });
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const pick = <T>(items: readonly T[], n: number): T => items[n % items.length]!;

/** Ids, sequence numbers and timestamps an attacker would try. */
function hostileMessage(warm: Warm, x: FuzzInput, sign: (unsigned: Uint8Array) => Uint8Array): Uint8Array {
  const base = pick(warm.decoded, x.a);
  const random = prng(x.e);
  const now = BigInt(warm.now);
  const knownIds = warm.decoded.map((m) => m.messageId);
  const prefixes = [TARGET, ...HONEST, ATTACKER].map((id) =>
    Uint8Array.from(Buffer.from(senderPrefixHex(id.senderId), "hex")),
  );
  const sender = pick([ATTACKER, ATTACKER, ATTACKER, OUTSIDER, pick(HONEST, x.b)], x.b >>> 3);
  const kind = pick<MessageKind | undefined>(["content", "content", "sync", "ephemeral", base.kind], x.b >>> 6);
  const sequence = pick(
    [1, base.sequence ?? 1, (base.sequence ?? 1) + 1, 1_000 + (x.c % 5), 1_000_000, 2 ** 53 - 1],
    x.c,
  );
  const lamport = pick([0n, base.lamportTimestamp ?? now, now, now + 300_000n, now + 300_001n, MAX_LAMPORT], x.c >>> 4);
  const historyChoice = (x.c >>> 8) % 5;
  const causalHistory =
    historyChoice === 0
      ? base.causalHistory
      : historyChoice === 1
        ? []
        : historyChoice === 2
          ? Array.from({ length: 1 + (x.d % 256) }, () => ({ messageId: hexRandom(random, 32) }))
          : historyChoice === 3
            ? knownIds.slice(0, 1 + (x.d % knownIds.length)).map((messageId) => ({ messageId }))
            : [{ messageId: pick(knownIds, x.d) }, { messageId: "" }];
  const ackChoice = (x.c >>> 12) % 6;
  const filterBytes = 1 + (x.d % 256);
  const filter = new Uint8Array(filterBytes);
  for (let i = 0; i < filterBytes; i++) filter[i] = ackChoice === 2 ? 0xff : Math.floor(random() * 256);
  const marks = Array.from({ length: x.d % 8 }, (_, i) => ({
    senderPrefix: pick(prefixes, x.e + i),
    sequence: pick([1, 2, 5, 1_000, 1_000_000, 2 ** 53 - 1], x.e + 3 * i),
    ...(i % 3 === 2 ? { first: 2 } : {}),
  }));
  const ack: AckSummary | undefined =
    ackChoice === 0
      ? undefined
      : ackChoice === 1
        ? base.ack
        : { nonce: BigInt(x.e) * 0x1_0001n, filter, hashCount: 1 + (x.e % 32), marks };
  const repairChoice = (x.c >>> 16) % 4;
  const repairRequest = repairChoice === 1 ? knownIds.slice(0, 1 + (x.d % 64)).map((messageId) => ({ messageId })) : [];
  const sequenceRepairRequest =
    repairChoice === 2
      ? [TARGET, ...HONEST]
          .slice(0, 1 + (x.d % 3))
          .map((id, i) => ({ senderId: id.senderId, first: 1 + i, last: 1 + i + (x.e % 10_000) }))
      : [];
  const content =
    kind === "sync"
      ? undefined
      : pick([enc("x"), base.content ?? enc("y"), new Uint8Array(1 + (x.d % 2_000))], x.e >>> 5);
  const fields: WireMessage = {
    senderId: sender.senderId,
    messageId: "",
    channelId: (x.c >>> 20) % 16 === 0 ? "community/other" : CHANNEL,
    causalHistory,
    repairRequest,
    sequenceRepairRequest,
    ...(kind === undefined ? {} : { kind }),
    ...(kind === "ephemeral" ? {} : { lamportTimestamp: lamport }),
    ...(content === undefined ? {} : { content }),
    ...(kind === "content" ? { sequence } : {}),
    ...(ack === undefined || kind === "ephemeral" ? {} : { ack }),
  };
  const messageId =
    (x.c >>> 24) % 8 === 0
      ? pick(knownIds, x.e)
      : computeMessageId({
          channelId: fields.channelId,
          senderId: fields.senderId,
          kind: kind ?? "content",
          sequence: fields.sequence ?? 0,
          lamportTimestamp: fields.lamportTimestamp ?? 0n,
          content: fields.content ?? new Uint8Array(),
        });
  const unsigned = encodeUnsigned({ ...fields, messageId });
  return appendSignature(unsigned, sign(unsigned));
}

/** A pool message with one field just over its decode limit (or out of range). */
function oversized(warm: Warm, x: FuzzInput): Uint8Array {
  const base = pick(warm.decoded, x.a);
  const L = DEFAULT_DECODE_LIMITS;
  const over = 1 + (x.d % 4);
  const text = (n: number) => "z".repeat(n + over);
  const entries = (n: number) => Array.from({ length: n + over }, (_, i) => ({ messageId: `${i}` }));
  const ack = (a: Partial<AckSummary>): AckSummary => ({
    nonce: 1n,
    filter: new Uint8Array(8),
    hashCount: 3,
    marks: [],
    ...a,
  });
  const mark = { senderPrefix: new Uint8Array(8), sequence: 1 };
  const choices: (() => Partial<WireMessage>)[] = [
    () => ({ senderId: text(L.maxIdLength) }),
    () => ({ messageId: text(L.maxIdLength) }),
    () => ({ channelId: text(L.maxChannelIdLength) }),
    () => ({ causalHistory: entries(L.maxHistoryEntries) }),
    () => ({ causalHistory: [{ messageId: text(L.maxIdLength) }] }),
    () => ({ causalHistory: [{ messageId: "h", retrievalHint: new Uint8Array(L.maxRetrievalHintBytes + over) }] }),
    () => ({ causalHistory: [{ messageId: "h", senderId: text(L.maxIdLength) }] }),
    () => ({ repairRequest: entries(L.maxRepairRequests) }),
    () => ({
      sequenceRepairRequest: Array.from({ length: L.maxSequenceRanges + over }, () => ({
        senderId: "s",
        first: 1,
        last: 1,
      })),
    }),
    () => ({ sequenceRepairRequest: [{ senderId: "s", first: 1, last: L.maxSequenceRangeSpan + over }] }),
    () => ({ sequenceRepairRequest: [{ senderId: text(L.maxIdLength), first: 1, last: 1 }] }),
    () => ({ sequenceRepairRequest: [{ senderId: "s", first: 2 ** 53 + over, last: 2 ** 53 + over }] }),
    () => ({ ack: ack({ filter: new Uint8Array(L.maxFilterBytes + over) }) }),
    () => ({ ack: ack({ hashCount: L.maxHashCount + over }) }),
    () => ({ ack: ack({ marks: Array.from({ length: L.maxMarks + over }, () => mark) }) }),
    () => ({ ack: ack({ marks: [{ ...mark, sequence: 2 ** 53 + over }] }) }),
    () => ({ ack: ack({ marks: [{ ...mark, sequence: 5, first: 2 ** 53 + over }] }) }),
    () => ({ sequence: 2 ** 53 + over }),
    () => ({ lamportTimestamp: MAX_LAMPORT + BigInt(over) }),
    () => ({ bloomFilter: new Uint8Array(L.maxBloomFilterBytes + over) }),
    () => ({ content: new Uint8Array(L.maxMessageBytes + over) }),
  ];
  const unsigned = encodeUnsigned({ ...base, ...pick(choices, x.b)(), signature: undefined });
  if (x.c % 5 !== 0) return appendSignature(unsigned, new Uint8Array(64));
  // A signature field of the wrong length.
  const length = x.c % 2 === 0 ? 63 : 65;
  return concat([unsigned, Uint8Array.of(0xc2, 0x02, length), new Uint8Array(length)]);
}

/** The bytes an input stands for. `sign` signs for the attacker (any key may sign: only ATTACKER's verifies). */
export function materialise(warm: Warm, x: FuzzInput, sign: (unsigned: Uint8Array) => Uint8Array): Uint8Array {
  const pool = warm.pool;
  const m = pick(pool, x.a);
  const op = x.op;
  if (op < 8) return x.raw;
  if (op < 26) {
    // Bit flips: one to four.
    const out = m.slice();
    for (let i = 0; i <= x.d % 4; i++) {
      const at = (x.b + i * x.c) % out.length;
      out[at]! ^= 1 << ((x.c >>> (3 * i)) & 7);
    }
    return out;
  }
  if (op < 32) return m.subarray(0, x.b % (m.length + 1));
  if (op < 38) {
    const at = x.b % (m.length + 1);
    return concat([m.subarray(0, at), x.raw, m.subarray(at)]);
  }
  if (op < 52) {
    // Field splicing: fields of one message replaced by or mixed with fields of another.
    const other = pick(pool, x.b);
    const fa = topLevelFields(m);
    const fb = topLevelFields(other);
    if (fa === undefined || fb === undefined || fa.length === 0 || fb.length === 0) return m;
    const donor = pick(fb, x.c);
    const mode = x.d % 3;
    if (mode === 0) {
      // Replace every field with the donor's number by the donor field, in place.
      return concat(
        fa.map((f) =>
          f.number === donor.number ? other.subarray(donor.start, donor.end) : m.subarray(f.start, f.end),
        ),
      );
    }
    if (mode === 1) {
      // Insert the donor field somewhere (before the signature, or after it).
      const at = x.e % (fa.length + 1);
      return concat([
        ...fa.slice(0, at).map((f) => m.subarray(f.start, f.end)),
        other.subarray(donor.start, donor.end),
        ...fa.slice(at).map((f) => m.subarray(f.start, f.end)),
      ]);
    }
    // Drop one field.
    const drop = x.e % fa.length;
    return concat(fa.filter((_, i) => i !== drop).map((f) => m.subarray(f.start, f.end)));
  }
  if (op < 58) return concat([m, pick(pool, x.b)]);
  if (op < 64) return oversized(warm, x);
  if (op < 88) return hostileMessage(warm, x, sign);
  // Valid traffic: a pool message as it was (a duplicate, or one the target has not seen).
  return m;
}

// ----------------------------------------------------------------------------------------- checks

/** Outcome of decoding and of receiving one input, normalised so that similar ones share a key. */
export interface Outcome {
  readonly decode: string;
  readonly engine: string | undefined;
}

/** Replaces the variable parts of a reason (numbers, hex, quoted text, indices) so that similar reasons share a key. */
export function normalise(reason: string): string {
  return (
    reason
      // Quoted text (a channel id) may itself hold quotes and line breaks: everything between the first and last quote.
      .replace(/"[\s\S]*"/g, '"…"')
      .replace(/\p{Cc}/gu, "?")
      .replace(/\[\d+\]/g, "[]")
      // Hex ids (with a letter in them, so that long decimal numbers stay numbers).
      .replace(/\b(?=[0-9]*[a-f])[0-9a-f]{16,}\b/g, "H")
      .replace(/\d+/g, "N")
      .slice(0, 160)
  );
}

/** Rejections that happen after some state changed (buffer refusals); every other one changes nothing. */
export function changesState(reason: string): boolean {
  return /buffer is full/.test(reason);
}

export function decodeOutcome(bytes: Uint8Array): string {
  try {
    const m = decodeMessage(bytes);
    return `ok:${m.kind ?? "sds"}`;
  } catch (err) {
    if (!(err instanceof DecodeError))
      throw new Error(`decodeMessage threw ${String(err)}, not a DecodeError`, { cause: err });
    if (err.field.length === 0) throw new Error("DecodeError without a field");
    return `decode:${normalise(err.message)}`;
  }
}

function assertStep(step: unknown): asserts step is Step {
  const s = step as Step;
  if (s === null || typeof s !== "object" || !Array.isArray(s.outgoing) || !Array.isArray(s.events)) {
    throw new Error(`receive returned ${String(step)}, not a Step`);
  }
  for (const out of s.outgoing) if (!(out.bytes instanceof Uint8Array)) throw new Error("outgoing without bytes");
}

/**
 * Feeds one input to `engine` and checks it: decode gives a message or a DecodeError; receive returns a Step;
 * a refusal changes nothing (`full` compares the whole snapshot, otherwise buffer sizes); buffers stay in bounds.
 * Throws on any violation.
 */
export function checkInput(engine: ChannelEngine, bytes: Uint8Array, now: number, full: boolean): Outcome {
  const decode = decodeOutcome(bytes);
  const sizes = JSON.stringify(engine.bufferSizes());
  const before = full ? JSON.stringify(engine.snapshot()) : undefined;
  const logBefore = full ? engine.deliveredLog().map((m) => m.messageId) : undefined;
  let step: Step;
  try {
    step = engine.receive(bytes, now);
  } catch (err) {
    throw new Error(`receive threw: ${(err as Error)?.stack ?? String(err)}`, { cause: err });
  }
  assertStep(step);
  const rejected = step.events.filter((e) => e.type === "rejected");
  let engineOutcome: string | undefined;
  if (rejected.length > 0) {
    const reason = rejected[0]!.type === "rejected" ? rejected[0]!.reason : "";
    engineOutcome = `reject:${normalise(reason)}`;
    if (decode.startsWith("decode:") !== reason.startsWith("undecodable:")) {
      throw new Error(`decode said ${decode}, receive said ${reason}`);
    }
    if (!changesState(reason)) {
      if (step.outgoing.length > 0 || step.events.length !== 1)
        throw new Error(`a refusal (${reason}) did more than refuse`);
      if (JSON.stringify(engine.bufferSizes()) !== sizes) throw new Error(`a refusal (${reason}) changed buffer sizes`);
      if (full) {
        const logAfter = engine.deliveredLog().map((m) => m.messageId);
        if (JSON.stringify(logAfter) !== JSON.stringify(logBefore))
          throw new Error(`a refusal (${reason}) changed the log`);
        if (JSON.stringify(engine.snapshot()) !== before)
          throw new Error(`a refusal (${reason}) changed the engine state`);
      }
    }
  } else if (decode.startsWith("decode:")) {
    throw new Error(`undecodable input (${decode}) was not refused`);
  }
  const violations = limitViolations(engine);
  if (violations.length > 0) throw new Error(`buffers beyond their limits: ${violations.join(", ")}`);
  return { decode, engine: engineOutcome };
}

/** Runs a batch against a fresh warm target; ticks now and then. Returns the outcomes, one per input. */
export function runBatch(
  warm: Warm,
  batch: { readonly seed: number; readonly inputs: readonly FuzzInput[] },
  crypto: Crypto,
  full: boolean,
  onInput?: (bytes: Uint8Array, outcome: Outcome) => void,
  beforeInput?: (bytes: Uint8Array) => void,
): void {
  const engine = targetEngine(warm, batch.seed, crypto);
  let now = warm.now;
  for (const [i, x] of batch.inputs.entries()) {
    const bytes = materialise(warm, x, crypto.attackerSign);
    beforeInput?.(bytes);
    const outcome = checkInput(engine, bytes, now, full);
    onInput?.(bytes, outcome);
    now += 50 + (x.e % 5_000);
    if (i % 20 === 19) {
      const step = engine.tick(now);
      assertStep(step);
      const violations = limitViolations(engine);
      if (violations.length > 0) throw new Error(`after tick: ${violations.join(", ")}`);
    }
  }
}
