// nativeIdentity and nativeSigner (OpenSSL, what the simulator makes its members' identities and signatures with)
// against identityFromSecretKey and createSigner (the portable implementation the engine uses): the same public
// key, sender id and signatures for every secret key.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createSigner, identityFromSecretKey } from "../../src/core/identity.js";
import { Sfc32 } from "../../src/core/prng.js";
import { nativeIdentity, nativeSigner, nativeVerifier } from "../../src/platform/native-crypto.js";
import { appendSignature } from "../../src/wire/index.js";

test("nativeIdentity derives the public key identityFromSecretKey derives", () => {
  const rng = new Sfc32("17", "native-identity");
  const keys = [new Uint8Array(32), new Uint8Array(32).fill(0xff), ...Array.from({ length: 200 }, () => rng.bytes(32))];
  for (const secretKey of keys) {
    const native = nativeIdentity(secretKey);
    const portable = identityFromSecretKey(secretKey);
    assert.equal(native.senderId, portable.senderId);
    assert.deepEqual(native.publicKey, portable.publicKey);
    assert.deepEqual(native.secretKey, secretKey);
    assert.notEqual(native.secretKey, secretKey, "the secret key is copied");
  }
  // A view into a larger buffer reads only its own 32 bytes.
  const big = rng.bytes(64);
  assert.equal(nativeIdentity(big.subarray(16, 48)).senderId, identityFromSecretKey(big.slice(16, 48)).senderId);
});

test("nativeIdentity names a secret key of the wrong size", () => {
  assert.throws(() => nativeIdentity(new Uint8Array(31)), /secretKey must be a 32-byte Uint8Array, got 31 bytes/);
  assert.throws(() => nativeIdentity("key" as unknown as Uint8Array), /got string/);
});

test("nativeSigner signs as the portable signer does, and its signatures verify under the derived key", () => {
  const rng = new Sfc32("17", "native-signer");
  const verify = nativeVerifier();
  for (let i = 0; i < 20; i++) {
    const secretKey = rng.bytes(32);
    const unsigned = rng.bytes(1 + rng.int(300));
    const signature = nativeSigner(secretKey)(unsigned);
    assert.deepEqual(signature, createSigner(secretKey)(unsigned));
    const { senderId } = nativeIdentity(secretKey);
    assert.equal(verify(appendSignature(unsigned, signature), signature, senderId), true);
  }
});
