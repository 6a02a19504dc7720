// The ledger answers for signatures the simulated members made exactly as ed25519 verification would.
import assert from "node:assert/strict";
import { test } from "node:test";
import { identityFromSecretKey, type SenderId } from "../../src/core/index.js";
import { nativeVerifier } from "../../src/platform/native-crypto.js";
import { calibrateVerification, SignatureLedger } from "../../src/sim/signature-ledger.js";
import { appendSignature } from "../../src/wire/index.js";

const alice = identityFromSecretKey(new Uint8Array(32).fill(1));
const bob = identityFromSecretKey(new Uint8Array(32).fill(2));

test("a signature made here is recognised for the same bytes and signer, and verified otherwise", () => {
  const ledger = new SignatureLedger();
  const sign = ledger.signer(alice.secretKey, alice.senderId);
  const verify = ledger.verifier(nativeVerifier());
  const unsigned = new TextEncoder().encode("report: held 1..7");
  const signature = sign(unsigned);
  const bytes = appendSignature(unsigned, signature);

  // The same bytes, in a buffer of their own, from the signer: recognised, true as verification says.
  assert.equal(nativeVerifier()(bytes, signature, alice.senderId), true);
  assert.equal(verify(bytes.slice(), signature.slice(), alice.senderId), true);
  assert.deepEqual(ledger.counts, { recognised: 1, verified: 0 });
  // Recognised once: a second check verifies for real (still true).
  assert.equal(verify(bytes, signature, alice.senderId), true);
  assert.deepEqual(ledger.counts, { recognised: 1, verified: 1 });
  // Another claimed sender, or other bytes under a signature made here: verified, and refused, as ed25519 refuses them.
  const other = sign(unsigned.slice(1));
  assert.equal(verify(appendSignature(unsigned.slice(1), other), other, bob.senderId as SenderId), false);
  const again = sign(unsigned.slice(2));
  const tampered = appendSignature(unsigned.slice(2), again);
  tampered[0]! ^= 1;
  assert.equal(verify(tampered, again, alice.senderId), false);
  assert.deepEqual(ledger.counts, { recognised: 1, verified: 3 });
});

test("while strict, every check is a real verification", () => {
  const ledger = new SignatureLedger();
  const sign = ledger.signer(alice.secretKey, alice.senderId);
  const verify = ledger.verifier(nativeVerifier());
  const unsigned = new TextEncoder().encode("message");
  const signature = sign(unsigned);
  ledger.strict = true;
  assert.equal(verify(appendSignature(unsigned, signature), signature, alice.senderId), true);
  assert.deepEqual(ledger.counts, { recognised: 0, verified: 1 });
  // Checked, so forgotten: the ledger holds only signatures not yet checked.
  assert.equal(ledger.size, 0);
});

test("while charging, a recognised signature costs the measured verification instead of the arithmetic", () => {
  const cost = calibrateVerification(nativeVerifier(), 3, 4);
  assert.ok(cost > 0 && Number.isFinite(cost), `verification cost ${cost} µs`);
  const ledger = new SignatureLedger(cost);
  const sign = ledger.signer(alice.secretKey, alice.senderId);
  const verify = ledger.verifier(nativeVerifier());
  const first = new TextEncoder().encode("report 1");
  const second = new TextEncoder().encode("report 2");
  const signed = [first, second].map((u) => ({ u, s: sign(u) }));
  ledger.charging = true;
  for (const { u, s } of signed) assert.equal(verify(appendSignature(u, s), s, alice.senderId), true);
  assert.deepEqual(ledger.counts, { recognised: 2, verified: 0 });
  assert.equal(ledger.chargedUs, 2 * cost);
  // Not charged when not asked to, and a signature not made here is verified (and refused) whatever the mode.
  ledger.charging = false;
  const again = sign(first);
  assert.equal(verify(appendSignature(first, again), again, alice.senderId), true);
  assert.equal(ledger.chargedUs, 2 * cost);
  ledger.charging = true;
  const forged = new Uint8Array(64).fill(9);
  assert.equal(verify(appendSignature(first, forged), forged, alice.senderId), false);
  assert.deepEqual(ledger.counts, { recognised: 3, verified: 1 });
  assert.equal(ledger.chargedUs, 2 * cost);
});
