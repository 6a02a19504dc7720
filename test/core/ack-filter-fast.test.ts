// The ack filter's bit positions are part of the wire format (spec: SHA-256 over salt || u64 nonce || id).
// ack-filter.ts computes them with reused buffers; this checks it against a plain transcription of the rule.
import assert from "node:assert/strict";
import { test } from "node:test";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import { buildFilter, channelSalt, filterHas } from "../../src/core/index.js";

function referenceFilter(salt: Uint8Array, nonce: bigint, ids: string[], byteLength: number, k: number): Uint8Array {
  const filter = new Uint8Array(byteLength);
  const bits = byteLength * 8;
  for (const id of ids) {
    const idBytes = utf8ToBytes(id);
    const input = new Uint8Array(salt.length + 8 + idBytes.length);
    input.set(salt, 0);
    new DataView(input.buffer).setBigUint64(salt.length, BigInt.asUintN(64, nonce));
    input.set(idBytes, salt.length + 8);
    const d = new DataView(sha256(input).buffer);
    for (let i = 0; i < k; i++) {
      const p = d.getUint16(2 * i) % bits;
      filter[p >>> 3]! |= 1 << (p & 7);
    }
  }
  return filter;
}

test("filter bits match the specified derivation for any channel, nonce and id", () => {
  const channels = ["general", "", "ünïcödé/канал", "x".repeat(300)];
  const nonces = [0n, 1n, 0xfedcba9876543210n, -5n, (1n << 64n) - 1n];
  const ids = ["00112233445566778899aabbccddeeff", "a".repeat(64), "", "sds-message-é", "😀 emoji id", "y".repeat(500)];
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
