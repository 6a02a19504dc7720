// The direct encoder writes exactly the bytes protobuf-es writes for the same message, and measures them exactly.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { encodeUnsignedReference } from "../../src/wire/codec.js";
import { ackFieldLength, encodedLength, outputBuffer, writeUnsigned } from "../../src/wire/encode.js";
import type { WireMessage } from "../../src/wire/index.js";
import { fullMessage, validMessage } from "./arbitraries.js";

function check(m: WireMessage): void {
  const direct = writeUnsigned(m);
  assert.deepEqual(direct, encodeUnsignedReference(m));
  assert.equal(encodedLength(m), direct.length);
  if (m.ack !== undefined) {
    const { ack, ...rest } = m;
    assert.equal(encodedLength(rest) + ackFieldLength(ack), direct.length);
  }
}

test("a message with every field set encodes as protobuf-es encodes it", () => {
  check(fullMessage());
});

test("random valid messages encode as protobuf-es encodes them", () => {
  fc.assert(
    fc.property(validMessage, (m) => check(m)),
    { numRuns: 2_000 },
  );
});

test("edge values: empty strings and bytes, zero sequence, large lamport and nonce, non-ASCII ids", () => {
  const base = fullMessage();
  check({ ...base, senderId: "", messageId: "", content: new Uint8Array(0), sequence: 0, lamportTimestamp: 0n });
  check({ ...base, lamportTimestamp: (1n << 63n) - 1n, ack: { ...base.ack!, nonce: (1n << 64n) - 1n } });
  check({ ...base, ack: { nonce: 0n, filter: new Uint8Array(0), hashCount: 0, marks: [] } });
  check({ ...base, channelId: "ch\u00e9\u{1f600}".repeat(40), messageId: "\u00ff".repeat(200) });
  check({ ...base, kind: undefined, sequence: undefined, ack: undefined, lamportTimestamp: undefined });
  check({
    ...base,
    causalHistory: [
      { messageId: "x", senderId: "" },
      { messageId: "y".repeat(300), retrievalHint: new Uint8Array(200) },
    ],
    sequenceRepairRequest: [{ senderId: "", first: 0, last: 0 }],
  });
});

test("outgoing buffers from the slab never overlap, start zeroed, and the large ones are their own", () => {
  const taken: Uint8Array[] = [];
  for (let i = 0; i < 200; i++) {
    const b = outputBuffer(97 + (i % 5) * 211);
    assert.equal(b.length, 97 + (i % 5) * 211);
    assert.ok(b.every((x) => x === 0));
    b.fill(i + 1);
    taken.push(b);
  }
  taken.forEach((b, i) => {
    assert.ok(
      b.every((x) => x === i + 1),
      `buffer ${i} was written by a later one`,
    );
  });
  const large = outputBuffer(10_000);
  assert.equal(large.byteOffset, 0);
  assert.equal(large.buffer.byteLength, 10_000);
});
