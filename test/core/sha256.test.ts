// src/core/sha256.ts must be SHA-256: the FIPS 180-4 examples, and @noble/hashes on every length around
// the block and padding boundaries.
import assert from "node:assert/strict";
import { test } from "node:test";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { sha256Midstate, sha256Resume, sha256Words } from "../../src/core/sha256.js";

function hex(input: Uint8Array, length = input.length): string {
  const words = new Int32Array(8);
  sha256Words(input, length, words);
  return Array.from(words, (w) => (w >>> 0).toString(16).padStart(8, "0")).join("");
}

test("FIPS 180-4 examples", () => {
  const ascii = (s: string) => new TextEncoder().encode(s);
  assert.equal(hex(ascii("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert.equal(hex(ascii("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(
    hex(ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  assert.equal(
    hex(new Uint8Array(1_000_000).fill(0x61)),
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  );
});

test("agrees with @noble/hashes for lengths 0..300 and on a prefix of a longer buffer", () => {
  const data = new Uint8Array(400);
  for (let i = 0; i < data.length; i++) data[i] = (i * 167 + 13) & 0xff;
  for (let n = 0; n <= 300; n++) {
    assert.equal(hex(data.subarray(0, n)), bytesToHex(sha256(data.subarray(0, n))), `length ${n}`);
    assert.equal(hex(data, n), bytesToHex(sha256(data.subarray(0, n))), `prefix ${n}`);
  }
  assert.throws(() => hex(data, 401), RangeError);
});

test("resuming from the midstate of whole blocks gives the same digest; the midstate is left unchanged", () => {
  const data = new Uint8Array(400);
  for (let i = 0; i < data.length; i++) data[i] = (i * 89 + 5) & 0xff;
  const state = new Int32Array(8);
  const out = new Int32Array(8);
  for (const from of [0, 64, 128, 256]) {
    sha256Midstate(data, from, state);
    const kept = state.slice();
    for (let n = from; n <= 330; n++) {
      sha256Resume(state, data, from, n, out);
      const hex = Array.from(out, (w) => (w >>> 0).toString(16).padStart(8, "0")).join("");
      assert.equal(hex, bytesToHex(sha256(data.subarray(0, n))), `from ${from}, length ${n}`);
    }
    assert.deepEqual(state, kept);
  }
  assert.throws(() => sha256Midstate(data, 100, state), RangeError);
  assert.throws(() => sha256Resume(state, data, 128, 100, out), RangeError);
  assert.throws(() => sha256Resume(state, data, 0, 401, out), RangeError);
});
