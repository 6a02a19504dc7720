import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  appendSignature,
  decodeMessage,
  encodeMessage,
  encodeUnsigned,
  kindOf,
  SIGNATURE_BYTES,
  signedPortion,
  type WireMessage,
} from "../../src/wire/index.js";
import { fullMessage, validMessage } from "./arbitraries.js";

describe("wire codec: round trips", () => {
  test("a message with every field decodes to the same value", () => {
    const message = fullMessage();
    assert.deepEqual(decodeMessage(encodeMessage(message)), message);
  });

  test("sequence numbers round-trip on both sides of 2^49, where the reader switches from numbers to bigints", () => {
    const full = fullMessage();
    for (const n of [1, 2 ** 49 - 1, 2 ** 49, 2 ** 49 + 1, Number.MAX_SAFE_INTEGER]) {
      const marks = [{ senderPrefix: new Uint8Array(8).fill(1), sequence: n, first: Math.max(1, n - 5) }];
      const message: WireMessage = { ...full, sequence: n, ack: { ...full.ack!, marks } };
      assert.deepEqual(decodeMessage(encodeMessage(message)), message, `sequence ${n}`);
    }
  });

  test("each optional field round-trips on its own", () => {
    const base: WireMessage = {
      senderId: "s",
      messageId: "m",
      channelId: "c",
      causalHistory: [],
      repairRequest: [],
      sequenceRepairRequest: [],
    };
    const full = fullMessage();
    const variants: Record<string, Partial<WireMessage>> = {
      "no optional field (SDS ephemeral without content)": {},
      lamport_timestamp: { lamportTimestamp: full.lamportTimestamp },
      "lamport_timestamp 0": { lamportTimestamp: 0n },
      causal_history: { causalHistory: full.causalHistory },
      bloom_filter: { bloomFilter: full.bloomFilter },
      "empty bloom_filter": { bloomFilter: new Uint8Array(0) },
      repair_request: { repairRequest: full.repairRequest },
      content: { content: full.content },
      "kind sync": { kind: "sync", lamportTimestamp: 1n },
      "kind ephemeral": { kind: "ephemeral", content: Uint8Array.of(1) },
      "kind content": { kind: "content", lamportTimestamp: 1n, content: Uint8Array.of(1), sequence: 1 },
      sequence: { sequence: Number.MAX_SAFE_INTEGER },
      ack: { ack: full.ack },
      "ack without filter": { ack: { nonce: 0n, filter: new Uint8Array(0), hashCount: 0, marks: [] } },
      sequence_repair_request: { sequenceRepairRequest: full.sequenceRepairRequest },
      signature: { signature: full.signature },
    };
    for (const [name, fields] of Object.entries(variants)) {
      const message = { ...base, ...fields };
      assert.deepEqual(decodeMessage(encodeMessage(message)), message, name);
    }
  });

  test("any valid message round-trips", () => {
    fc.assert(
      fc.property(validMessage, (message) => {
        assert.deepEqual(decodeMessage(encodeMessage(message)), message);
      }),
      { numRuns: 500 },
    );
  });

  test("encoding is deterministic and the signature is its last 67 bytes", () => {
    const message = fullMessage();
    const bytes = encodeMessage(message);
    assert.deepEqual(encodeMessage(fullMessage()), bytes);
    const unsigned = encodeUnsigned(message);
    assert.deepEqual(signedPortion(bytes), unsigned);
    assert.deepEqual(appendSignature(unsigned, message.signature ?? new Uint8Array()), bytes);
    assert.equal(bytes.length, unsigned.length + 3 + SIGNATURE_BYTES);
  });

  test("signedPortion is undefined without a trailing signature", () => {
    const { signature: _, ...unsignedMessage } = fullMessage();
    assert.equal(signedPortion(encodeMessage(unsignedMessage)), undefined);
    assert.equal(signedPortion(new Uint8Array(3)), undefined);
  });

  test("appendSignature rejects a signature of the wrong length", () => {
    assert.throws(() => appendSignature(new Uint8Array(0), new Uint8Array(63)), {
      name: "RangeError",
      message: "signature must be 64 bytes, got 63",
    });
  });
});

describe("wire codec: kindOf", () => {
  test("a stated kind wins", () => {
    assert.equal(kindOf({ kind: "sync", lamportTimestamp: 1n, content: Uint8Array.of(1) }), "sync");
  });

  test("SDS messages get the kind SDS infers from their fields", () => {
    assert.equal(kindOf({ lamportTimestamp: 1n, content: Uint8Array.of(1) }), "content");
    assert.equal(kindOf({ lamportTimestamp: 1n }), "sync");
    assert.equal(kindOf({ lamportTimestamp: 1n, content: new Uint8Array(0) }), "sync");
    assert.equal(kindOf({ content: Uint8Array.of(1) }), "ephemeral");
  });
});
