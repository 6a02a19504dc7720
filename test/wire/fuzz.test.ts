import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { DecodeError, decodeMessage, encodeMessage } from "../../src/wire/index.js";
import { validMessage } from "./arbitraries.js";

// On failure fast-check prints the seed and path; replay with fc.assert(..., { seed, path }).
const NUM_RUNS = 2000;

/** Decodes, and requires any failure to be a DecodeError. A successful decode must be stable. */
function decodeOrDecodeError(bytes: Uint8Array): void {
  let decoded: ReturnType<typeof decodeMessage>;
  try {
    decoded = decodeMessage(bytes);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw new Error(`expected DecodeError, got ${err}`, { cause: err });
    assert.ok(err.field.length > 0);
    return;
  }
  // Whatever is accepted re-encodes to something that decodes to the same value (unknown fields aside).
  assert.deepEqual(decodeMessage(encodeMessage(decoded)), decoded);
}

const mutated = validMessage.chain((message) => {
  const bytes = encodeMessage(message);
  return fc.oneof(
    fc.record({ index: fc.nat(bytes.length - 1), bit: fc.integer({ min: 0, max: 7 }) }).map(({ index, bit }) => {
      const out = bytes.slice();
      out[index] = (out[index] ?? 0) ^ (1 << bit);
      return out;
    }),
    fc.nat(bytes.length).map((end) => bytes.subarray(0, end)),
    fc.tuple(fc.nat(bytes.length), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([at, junk]) => {
      return new Uint8Array([...bytes.subarray(0, at), ...junk, ...bytes.subarray(at)]);
    }),
  );
});

describe("decodeMessage: fuzz", () => {
  test("arbitrary bytes decode or throw DecodeError", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), decodeOrDecodeError), { numRuns: NUM_RUNS });
  });

  test("bit-flipped, truncated and spliced valid encodings decode or throw DecodeError", () => {
    fc.assert(fc.property(mutated, decodeOrDecodeError), { numRuns: NUM_RUNS });
  });
});
