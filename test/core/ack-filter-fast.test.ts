// The ack filter's bit positions are part of the wire format (spec 7.2: a per-summary key from SHA-256, then
// HalfSipHash-2-4 per id). ack-filter.ts computes them with reused buffers; this checks it against a plain
// transcription of the rule (test/support/ack-filter-reference.ts).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { deriveSummaryKey } from "../../src/core/ack-filter.js";
import { halfSipHash64, halfSipHash64Of16 } from "../../src/core/halfsiphash.js";
import { buildFilter, channelSalt, filterHas } from "../../src/core/index.js";
import { halfSipHash64Reference, specFilterPositions } from "../support/ack-filter-reference.js";

function referenceFilter(salt: Uint8Array, nonce: bigint, ids: string[], byteLength: number, k: number): Uint8Array {
  const filter = new Uint8Array(byteLength);
  for (const id of ids) {
    for (const p of specFilterPositions(salt, nonce, id, byteLength * 8, k)) filter[p >>> 3]! |= 1 << (p & 7);
  }
  return filter;
}

// The reference implementation's published vectors (github.com/veorq/SipHash, vectors_hsip64): key bytes 0..7,
// message bytes 0..len-1.
const HSIP64 = new Map([
  [0, "218d1f59b9b83cc8"],
  [1, "be552412f8387315"],
  [3, "ce0f1a45f7060679"],
  [4, "d5e78a175be52ea1"],
  [5, "cb9d7c3f2f3db580"],
  [8, "edfee820bce4858c"],
  [9, "5b51cccc13888307"],
  [15, "217d0bcb4e81c902"],
  [16, "7336aad25f7bf3b5"],
]);

test("HalfSipHash-2-4-64 gives the reference implementation's vectors, fast and plain", () => {
  const key = Uint8Array.from({ length: 8 }, (_, i) => i);
  const message = Uint8Array.from({ length: 64 }, (_, i) => i);
  for (const [length, expected] of HSIP64) {
    assert.equal(Buffer.from(halfSipHash64Reference(key, message.subarray(0, length))).toString("hex"), expected);
    const words = halfSipHash64(0x03020100, 0x07060504, message, length);
    const tag = Buffer.alloc(8);
    tag.writeInt32LE(words[0]!, 0);
    tag.writeInt32LE(words[1]!, 4);
    assert.equal(tag.toString("hex"), expected, `length ${length}`);
  }
});

test("filter bits match the specified derivation for any channel, nonce and id", () => {
  const channels = ["general", "", "ünïcödé/канал", "x".repeat(300)];
  const nonces = [0n, 1n, 0xfedcba9876543210n, -5n, (1n << 64n) - 1n];
  const ids = [
    "00112233445566778899aabbccddeeff",
    "00112233445566778899AABBCCDDEEFF",
    "a".repeat(64),
    "a".repeat(31),
    "",
    "sds-message-é",
    "😀 emoji id",
    "y".repeat(500),
  ];
  for (const channel of channels) {
    const salt = channelSalt(channel);
    for (const nonce of nonces) {
      for (const [bytes, k] of [
        [128, 7],
        [3, 1],
        [64, 16],
      ] as const) {
        assert.deepEqual(
          buildFilter(salt, nonce, ids, bytes, k),
          referenceFilter(salt, nonce, ids, bytes, k),
          `${channel.slice(0, 20)} ${nonce} ${bytes}/${k}`,
        );
        for (const id of ids) {
          const single = referenceFilter(salt, nonce, [id], bytes, k);
          assert.equal(filterHas(salt, nonce, single, k, id), true);
        }
      }
    }
  }
});

test("an author's summary key is SHA-256(salt || u64(nonce)) at every salt length around one block, salts alternating", () => {
  const expected = (salt: Uint8Array, nonce: bigint) => {
    const n = Buffer.alloc(8);
    n.writeBigUInt64BE(BigInt.asUintN(64, nonce));
    const d = createHash("sha256").update(salt).update(n).digest();
    return [0, 4, 8, 12].map((at) => d.readInt32LE(at));
  };
  const nonces = [0n, 1n, 0xfedcba9876543210n, -5n, (1n << 64n) - 1n, 1n << 70n];
  const out = new Int32Array(4);
  // 38..57 salt bytes: salt || nonce fits one padded block up to 55 bytes, two past it.
  for (let length = 21; length <= 40; length++) {
    const salt = channelSalt("c".repeat(length));
    const other = channelSalt("d".repeat(length));
    const copy = salt.slice();
    for (const nonce of nonces) {
      // The kept block must follow the salt: another salt, then an equal one in a new buffer, then a changed byte.
      for (const s of [salt, other, copy]) {
        assert.deepEqual([...deriveSummaryKey(s, nonce, out)], expected(s, nonce), `${s.length} bytes, nonce ${nonce}`);
      }
      copy[copy.length - 1]! ^= 1;
      assert.deepEqual([...deriveSummaryKey(copy, nonce, out)], expected(copy, nonce), `changed byte, ${nonce}`);
      copy[copy.length - 1]! ^= 1;
    }
  }
});

test("HalfSipHash of a 16-byte id: the specialised function is the general one", () => {
  const data = new Uint8Array(64 * 16 + 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 151 + 29) & 0xff;
  for (let j = 0; j < 64; j++) {
    const k0 = Math.imul(j, 0x9e3779b1);
    const k1 = ~k0 ^ (j << 9);
    const at = j * 16 + (j % 4);
    const general = [...halfSipHash64(k0, k1, data, 16, at)];
    assert.deepEqual([...halfSipHash64Of16(k0, k1, data, at)], general, `key ${j}, offset ${at}`);
  }
});
