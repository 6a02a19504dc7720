// Shared fixtures and fast-check arbitraries for wire tests.
import fc from "fast-check";
import {
  type AckSummary,
  type HistoryEntry,
  MAX_LAMPORT,
  type SequenceRange,
  type WireMessage,
} from "../../src/wire/index.js";

/** A content message with every field set, signature included. */
export function fullMessage(): WireMessage {
  return {
    senderId: "sender-1",
    messageId: "a1b2c3d4",
    channelId: "community/general",
    lamportTimestamp: 42n,
    causalHistory: [
      { messageId: "prev-1", retrievalHint: Uint8Array.of(1, 2, 3), senderId: "sender-2" },
      { messageId: "prev-2" },
      { messageId: "prev-3", retrievalHint: new Uint8Array(0) },
    ],
    bloomFilter: Uint8Array.of(0xff, 0, 0x0f),
    repairRequest: [{ messageId: "lost-1", retrievalHint: Uint8Array.of(9), senderId: "sender-3" }],
    content: new TextEncoder().encode("hello"),
    kind: "content",
    sequence: 7,
    ack: {
      nonce: 0xfedcba9876543210n,
      filter: Uint8Array.of(1, 2, 4, 8),
      hashCount: 5,
      marks: [
        { senderPrefix: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), sequence: 12 },
        { senderPrefix: new Uint8Array(8), sequence: Number.MAX_SAFE_INTEGER },
      ],
    },
    sequenceRepairRequest: [
      // Ranges name Chorus senders (spec 5.5.1): 64 lowercase hex characters.
      { senderId: "b".repeat(64), first: 3, last: 5 },
      { senderId: "c".repeat(64), first: 1, last: 1 },
    ],
    signature: new Uint8Array(64).fill(0xab),
  };
}

const hexDigit = fc.constantFrom(..."0123456789abcdef");
// SDS ids are 64 hex digits; "binary" adds non-ASCII code points (at most 2 UTF-16 units each, so within the limit).
const id = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.string({ unit: hexDigit, minLength: 64, maxLength: 64 }),
  fc.string({ unit: "binary", minLength: 1, maxLength: 40 }),
);
const smallBytes = (maxLength: number) => fc.uint8Array({ maxLength });
const safeSequence = fc.maxSafeNat().map((n) => Math.max(1, n));

// Plain objects, so that deepEqual against decoded messages compares values only.
const plain = { noNullPrototype: true } as const;

const historyEntry: fc.Arbitrary<HistoryEntry> = fc.record(
  { messageId: id, retrievalHint: smallBytes(32), senderId: id },
  { requiredKeys: ["messageId"], noNullPrototype: true },
);

const mark = fc.record({ senderPrefix: fc.uint8Array({ minLength: 8, maxLength: 8 }), sequence: safeSequence }, plain);

const ack: fc.Arbitrary<AckSummary> = fc
  .record(
    {
      nonce: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      filter: smallBytes(64),
      hashCount: fc.integer({ min: 1, max: 16 }),
      marks: fc.array(mark, { maxLength: 4 }),
    },
    plain,
  )
  .map((a) => (a.filter.length === 0 ? { ...a, hashCount: 0 } : a));

const sequenceRange: fc.Arbitrary<SequenceRange> = fc
  .record({
    senderId: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex")),
    first: fc.integer({ min: 1, max: 1_000_000 }),
    span: fc.integer({ min: 1, max: 10_000 }),
  })
  .map(({ senderId, first, span }) => ({ senderId, first, last: first + span - 1 }));

const lamport = fc.bigInt({ min: 0n, max: MAX_LAMPORT });
const content = fc.uint8Array({ minLength: 1, maxLength: 64 });

/** Fields that every kind may carry. */
const common = fc.record(
  {
    senderId: id,
    messageId: id,
    channelId: id,
    causalHistory: fc.array(historyEntry, { maxLength: 5 }),
    bloomFilter: smallBytes(64),
    repairRequest: fc.array(historyEntry, { maxLength: 3 }),
    ack,
    sequenceRepairRequest: fc.array(sequenceRange, { maxLength: 3 }),
    signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
  },
  {
    requiredKeys: ["senderId", "messageId", "channelId", "causalHistory", "repairRequest", "sequenceRepairRequest"],
    noNullPrototype: true,
  },
);

/** Fields a kind requires or forbids, per the kind/field agreement rules of decodeMessage. */
const kindFields = fc.oneof(
  fc.record(
    { kind: fc.constant("content" as const), lamportTimestamp: lamport, content, sequence: safeSequence },
    plain,
  ),
  fc.record(
    { kind: fc.constant("sync" as const), lamportTimestamp: lamport, sequence: safeSequence },
    { requiredKeys: ["kind", "lamportTimestamp"], noNullPrototype: true },
  ),
  fc.record({ kind: fc.constant("ephemeral" as const), content }, plain),
  // An SDS peer states no kind; any combination is accepted and kindOf infers one.
  fc.record({ lamportTimestamp: lamport, content: smallBytes(64) }, { requiredKeys: [], noNullPrototype: true }),
);

/** Any message that decodeMessage accepts with the default limits. */
export const validMessage: fc.Arbitrary<WireMessage> = fc
  .tuple(common, kindFields)
  .map(([c, k]) => ({ ...c, ...k }) as WireMessage);
