// createSigner and createVerifier are faster paths to signEncoding and verifyEncoding: they must sign
// byte for byte alike and accept and reject exactly the same inputs.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import {
  createSigner,
  createVerifier,
  identityFromSecretKey,
  type SenderId,
  signEncoding,
  verifyEncoding,
} from "../../src/core/index.js";
import { appendSignature } from "../../src/wire/index.js";

const seeded = (label: string, length = 32) => sha256(new TextEncoder().encode(label)).subarray(0, length);
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function message(i: number): Uint8Array {
  const out = new Uint8Array(i * 7);
  for (let j = 0; j < out.length; j++) out[j] = (i * 31 + j * 17) & 0xff;
  return out;
}

function toLE(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

function fromLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

describe("createSigner", () => {
  test("signs exactly as signEncoding", () => {
    for (let k = 0; k < 8; k++) {
      const secretKey = seeded(`key-${k}`);
      const sign = createSigner(secretKey);
      for (let i = 0; i < 10; i++) {
        const unsigned = message(k * 10 + i);
        assert.deepEqual(sign(unsigned), signEncoding(unsigned, secretKey), `key ${k}, message ${i}`);
      }
    }
  });
});

describe("createVerifier", () => {
  const identity = identityFromSecretKey(seeded("alice"));
  const other = identityFromSecretKey(seeded("bob"));
  const unsigned = message(20);
  const signature = signEncoding(unsigned, identity.secretKey);

  // Builds a multiplication table for a key on its first use: every check below also runs on the table path.
  const tabled = createVerifier({ tableAfter: 1 });

  /** The verifiers must answer alike; returns their answer. */
  function agree(bytes: Uint8Array, sig: Uint8Array, senderId: string, verify = createVerifier()): boolean {
    const expected = verifyEncoding(bytes, sig, senderId as SenderId);
    const what = `sig ${bytesToHex(sig)} key ${senderId}`;
    assert.equal(verify(bytes, sig, senderId as SenderId), expected, what);
    // Again, now with the key cached.
    assert.equal(verify(bytes, sig, senderId as SenderId), expected, what);
    assert.equal(tabled(bytes, sig, senderId as SenderId), expected, `${what} (table)`);
    return expected;
  }

  test("accepts valid signatures", () => {
    assert.equal(agree(appendSignature(unsigned, signature), signature, identity.senderId), true);
    const verify = createVerifier();
    for (let i = 0; i < 20; i++) {
      const m = message(i);
      const sig = signEncoding(m, other.secretKey);
      assert.equal(agree(appendSignature(m, sig), sig, other.senderId, verify), true);
    }
  });

  test("rejects what verifyEncoding rejects", () => {
    const bytes = appendSignature(unsigned, signature);
    assert.equal(agree(bytes, signature, other.senderId), false, "wrong key");
    const tampered = bytes.slice();
    tampered[3]! ^= 1;
    assert.equal(agree(tampered, signature, identity.senderId), false, "tampered message");
    for (const at of [0, 31, 32, 63]) {
      const sig = signature.slice();
      sig[at]! ^= 0x40;
      assert.equal(agree(appendSignature(unsigned, sig), sig, identity.senderId), false, `flipped byte ${at}`);
    }
    // S + L encodes the same scalar but is not canonical: rejected by both.
    const s = fromLE(signature.subarray(32));
    const highS = new Uint8Array(64);
    highS.set(signature.subarray(0, 32));
    highS.set(toLE(s + L), 32);
    assert.equal(agree(appendSignature(unsigned, highS), highS, identity.senderId), false, "S >= L");
    const zero = new Uint8Array(64);
    assert.equal(agree(appendSignature(unsigned, zero), zero, identity.senderId), false, "zero signature");
    const random = seeded("random signature", 32);
    const sig64 = new Uint8Array([...random, ...random]);
    assert.equal(agree(appendSignature(unsigned, sig64), sig64, identity.senderId), false, "random signature");
    assert.equal(agree(unsigned, signature, identity.senderId), false, "no signature trailer");
    assert.equal(agree(bytes, signature.subarray(0, 63), identity.senderId), false, "short signature");
  });

  test("odd keys: small order, non-canonical, off the curve, not hex", () => {
    const bytes = appendSignature(unsigned, signature);
    const identityPoint = `01${"00".repeat(31)}`;
    const nonCanonical = `ed${"ff".repeat(30)}7f`; // y = p: non-canonical encoding of 0
    const offCurve = `02${"00".repeat(31)}`;
    for (const key of [identityPoint, nonCanonical, offCurve, "not a key", "", "A".repeat(64)]) {
      assert.equal(agree(bytes, signature, key), false, key);
    }
    // With a small-order key, R = 5B and S = 5 make the equation hold; ZIP-215 would accept it, the rule of spec
    // section 6.4 refuses small-order keys.
    const R = ed25519.Point.BASE.multiply(5n).toBytes();
    const sig = new Uint8Array([...R, ...toLE(5n)]);
    assert.equal(agree(appendSignature(unsigned, sig), sig, identityPoint), false);
  });

  test("keeps a bounded number of keys and stays correct past the bound", () => {
    const verify = createVerifier({ keys: 2, tables: 1, tableAfter: 2 });
    const ids = [0, 1, 2, 3].map((i) => identityFromSecretKey(seeded(`member-${i}`)));
    for (let round = 0; round < 3; round++) {
      for (const id of ids) {
        const sig = signEncoding(unsigned, id.secretKey);
        assert.equal(verify(appendSignature(unsigned, sig), sig, id.senderId), true);
        assert.equal(
          verify(appendSignature(unsigned, sig), sig, ids[0] === id ? ids[1]!.senderId : ids[0]!.senderId),
          false,
        );
      }
    }
  });
});
