import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { Kind, MessageSchema } from "../../src/wire/gen/chorus/v1/message_pb.js";
import {
  DEFAULT_DECODE_LIMITS,
  DecodeError,
  type DecodeLimits,
  decodeMessage,
  encodeMessage,
  MAX_LAMPORT,
} from "../../src/wire/index.js";
import { fullMessage } from "./arbitraries.js";

// Built with the generated schema directly, so that the encoder's own checks cannot prevent an invalid message.
function pb(init: MessageInitShape<typeof MessageSchema>): Uint8Array {
  return toBinary(MessageSchema, create(MessageSchema, { senderId: "s", messageId: "m", channelId: "c", ...init }));
}

function rejects(bytes: Uint8Array, field: string, message: RegExp, limits?: Partial<DecodeLimits>): void {
  assert.throws(
    () => decodeMessage(bytes, limits === undefined ? undefined : { ...DEFAULT_DECODE_LIMITS, ...limits }),
    (err: unknown) => {
      assert.ok(err instanceof DecodeError, `expected DecodeError, got ${err}`);
      assert.equal(err.field, field);
      assert.match(err.message, message);
      assert.ok(err.message.startsWith(`${field}: `), err.message);
      return true;
    },
  );
}

const entries = (n: number, prefix = "h") => Array.from({ length: n }, (_, i) => ({ messageId: `${prefix}${i}` }));
const L = DEFAULT_DECODE_LIMITS;

describe("decodeMessage: size limits", () => {
  test("whole message over maxMessageBytes", () => {
    rejects(new Uint8Array(L.maxMessageBytes + 1), "message", /is 153601 bytes, limit 153600/);
    const small = encodeMessage(fullMessage());
    rejects(small, "message", new RegExp(`is ${small.length} bytes, limit 100$`), { maxMessageBytes: 100 });
    assert.doesNotThrow(() => decodeMessage(small, { ...L, maxMessageBytes: small.length }));
  });

  test("content over maxContentBytes", () => {
    rejects(pb({ content: new Uint8Array(11) }), "content", /is 11 bytes, limit 10/, { maxContentBytes: 10 });
  });

  test("bloom filter over maxBloomFilterBytes", () => {
    rejects(
      pb({ bloomFilter: new Uint8Array(L.maxBloomFilterBytes + 1) }),
      "bloom_filter",
      /is 32769 bytes, limit 32768/,
    );
  });

  test("too many causal history entries", () => {
    assert.doesNotThrow(() => decodeMessage(pb({ causalHistory: entries(L.maxHistoryEntries) })));
    rejects(pb({ causalHistory: entries(257) }), "causal_history", /has 257 entries, limit 256/);
  });

  test("too many repair requests", () => {
    rejects(pb({ repairRequest: entries(65) }), "repair_request", /has 65 entries, limit 64/);
  });

  test("too many sequence ranges", () => {
    const ranges = Array.from({ length: 17 }, () => ({ senderId: "s", first: 1n, last: 1n }));
    rejects(pb({ sequenceRepairRequest: ranges }), "sequence_repair_request", /has 17 entries, limit 16/);
  });

  test("retrieval hint over maxRetrievalHintBytes", () => {
    const causalHistory = [{ messageId: "a" }, { messageId: "b", retrievalHint: new Uint8Array(257) }];
    rejects(pb({ causalHistory }), "causal_history[1].retrieval_hint", /is 257 bytes, limit 256/);
  });

  test("ack filter, hash count and marks", () => {
    const ack = { nonce: 1n, filter: new Uint8Array(4097), hashCount: 3 };
    rejects(pb({ ack }), "ack.filter", /is 4097 bytes, limit 4096/);
    rejects(
      pb({ ack: { ...ack, filter: new Uint8Array(8), hashCount: 0 } }),
      "ack.hash_count",
      /is 0, must be 1\.\.16/,
    );
    rejects(
      pb({ ack: { ...ack, filter: new Uint8Array(8), hashCount: 17 } }),
      "ack.hash_count",
      /is 17, must be 1\.\.16/,
    );
    const marks = Array.from({ length: 65 }, () => ({ senderPrefix: new Uint8Array(8), sequence: 1n }));
    rejects(pb({ ack: { marks } }), "ack.marks", /has 65 entries, limit 64/);
  });
});

describe("decodeMessage: ids", () => {
  test("ids over maxIdLength", () => {
    const long = "x".repeat(L.maxIdLength + 1);
    assert.doesNotThrow(() => decodeMessage(pb({ messageId: "x".repeat(L.maxIdLength) })));
    rejects(pb({ messageId: long }), "message_id", /is 129 characters, limit 128/);
    rejects(pb({ senderId: long }), "sender_id", /is 129 characters, limit 128/);
    rejects(pb({ channelId: "c".repeat(257) }), "channel_id", /is 257 characters, limit 256/);
    rejects(pb({ causalHistory: [{ messageId: long }] }), "causal_history[0].message_id", /limit 128/);
    rejects(pb({ repairRequest: [{ messageId: "r", senderId: long }] }), "repair_request[0].sender_id", /limit 128/);
    rejects(
      pb({ sequenceRepairRequest: [{ senderId: long, first: 1n, last: 1n }] }),
      "sequence_repair_request[0].sender_id",
      /is 129 characters, limit 128/,
    );
  });

  test("empty ids", () => {
    rejects(pb({ senderId: "" }), "sender_id", /must not be empty/);
    rejects(pb({ messageId: "" }), "message_id", /must not be empty/);
    rejects(pb({ channelId: "" }), "channel_id", /must not be empty/);
    rejects(pb({ causalHistory: [{ messageId: "" }] }), "causal_history[0].message_id", /must not be empty/);
  });
});

describe("decodeMessage: numbers", () => {
  test("lamport timestamp over 2^63-1", () => {
    assert.equal(decodeMessage(pb({ lamportTimestamp: MAX_LAMPORT })).lamportTimestamp, MAX_LAMPORT);
    rejects(
      pb({ lamportTimestamp: MAX_LAMPORT + 1n }),
      "lamport_timestamp",
      /9223372036854775808 exceeds 9223372036854775807/,
    );
    rejects(pb({ lamportTimestamp: (1n << 64n) - 1n }), "lamport_timestamp", /exceeds 9223372036854775807/);
  });

  test("sequence over Number.MAX_SAFE_INTEGER", () => {
    const max = BigInt(Number.MAX_SAFE_INTEGER);
    assert.equal(decodeMessage(pb({ sequence: max })).sequence, Number.MAX_SAFE_INTEGER);
    rejects(pb({ sequence: max + 1n }), "sequence", /9007199254740992 exceeds 9007199254740991/);
    const marks = [{ senderPrefix: new Uint8Array(8), sequence: max + 1n }];
    rejects(pb({ ack: { marks } }), "ack.marks[0].sequence", /exceeds 9007199254740991/);
  });

  test("bad sequence ranges", () => {
    const range = (first: bigint, last: bigint) =>
      pb({ sequenceRepairRequest: [{ senderId: "a".repeat(64), first, last }] });
    const field = "sequence_repair_request[0]";
    rejects(range(0n, 3n), field, /range 0\.\.3 is empty or starts below 1/);
    rejects(range(5n, 4n), field, /range 5\.\.4 is empty or starts below 1/);
    rejects(range(1n, 10_001n), field, /spans 10001 sequence numbers, limit 10000/);
    rejects(range(1n << 60n, 1n << 60n), `${field}.first`, /exceeds 9007199254740991/);
    rejects(range(1n, 1n << 60n), `${field}.last`, /exceeds 9007199254740991/);
    assert.deepEqual(decodeMessage(range(1n, 10_000n)).sequenceRepairRequest, [
      { senderId: "a".repeat(64), first: 1, last: 10_000 },
    ]);
  });
});

describe("decodeMessage: structure", () => {
  test("ack mark with a sender prefix that is not 8 bytes", () => {
    for (const length of [0, 7, 9, 32]) {
      const marks = [
        { senderPrefix: new Uint8Array(8), sequence: 1n },
        { senderPrefix: new Uint8Array(length), sequence: 1n },
      ];
      rejects(pb({ ack: { marks } }), "ack.marks[1].sender_prefix", new RegExp(`is ${length} bytes, must be 8`));
    }
  });

  test("signature of the wrong length", () => {
    rejects(pb({ signature: new Uint8Array(10) }), "signature", /is 10 bytes, must be 64/);
  });

  test("signature that is not the last field", () => {
    const signed = encodeMessage(fullMessage());
    // Field 3 (channel_id) again after the signature: valid protobuf (last value wins), refused as a repeated
    // non-repeated field (spec 5.5.1) before the signature's place is even looked at.
    const trailing = Uint8Array.of(0x1a, 0x01, 0x63);
    const bytes = new Uint8Array([...signed, ...trailing]);
    rejects(bytes, "channel_id", /appears more than once/);
    // Nor is an unknown field after it (a future field 41), which the signature would not cover.
    rejects(new Uint8Array([...signed, 0xc8, 0x02, 0x01]), "signature", /must be the last field/);
  });

  test("kind that disagrees with the fields", () => {
    const content = Uint8Array.of(1);
    rejects(
      pb({ kind: Kind.CONTENT, lamportTimestamp: 1n, sequence: 1n }),
      "content",
      /must be present on a content message/,
    );
    rejects(
      pb({ kind: Kind.CONTENT, content, sequence: 1n }),
      "lamport_timestamp",
      /must be present on a content message/,
    );
    rejects(pb({ kind: Kind.CONTENT, lamportTimestamp: 1n, content }), "sequence", /must be present and at least 1/);
    rejects(pb({ kind: Kind.CONTENT, lamportTimestamp: 1n, content, sequence: 0n }), "sequence", /at least 1/);
    rejects(pb({ kind: Kind.SYNC, lamportTimestamp: 1n, content }), "content", /must be absent on a sync message/);
    rejects(pb({ kind: Kind.SYNC }), "lamport_timestamp", /must be present on a sync message/);
    rejects(
      pb({ kind: Kind.EPHEMERAL, lamportTimestamp: 1n, content }),
      "lamport_timestamp",
      /must be absent on an ephemeral/,
    );
    rejects(pb({ kind: Kind.EPHEMERAL }), "content", /must be present on an ephemeral message/);
    rejects(pb({ kind: 99 as Kind }), "kind", /unknown kind 99/);
  });

  test("garbage bytes", () => {
    rejects(Uint8Array.of(0xff, 0xff, 0xff), "message", /ends inside a varint/);
    // A length prefix that runs past the end.
    rejects(Uint8Array.of(0x0a, 0x05, 0x61), "sender_id", /runs past the end/);
    // sender_id that is not UTF-8.
    rejects(Uint8Array.of(0x0a, 0x02, 0xff, 0xfe, 0x12, 0x01, 0x6d, 0x1a, 0x01, 0x63), "sender_id", /UTF-8/);
    // Wire type 7 does not exist.
    rejects(Uint8Array.of(0x0f), "sender_id", /wire type 7/);
  });

  test("the empty encoding is a message with empty ids", () => {
    rejects(new Uint8Array(0), "sender_id", /must not be empty/);
  });

  test("input that is not a Uint8Array", () => {
    rejects("hello" as unknown as Uint8Array, "message", /expected Uint8Array, got string/);
  });
});
