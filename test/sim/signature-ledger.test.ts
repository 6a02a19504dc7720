// The ledger answers for signatures the simulated members made exactly as ed25519 verification would.
import assert from "node:assert/strict";
import { test } from "node:test";
import { identityFromSecretKey, type SenderId } from "../../src/core/index.js";
import { nativeVerifier } from "../../src/platform/native-crypto.js";
import { calibrateVerification, SignatureLedger } from "../../src/sim/signature-ledger.js";
import { appendSignature } from "../../src/wire/index.js";
import { ownerSigningInput, REPORT_DOMAIN } from "../../src/wire/owner-codec.js";

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

test("a receipt report's signature is a token: accepted for the signer's key over the same bytes only", () => {
  const ledger = new SignatureLedger(5);
  const sign = ledger.signer(alice.secretKey, alice.senderId);
  ledger.signer(bob.secretKey, bob.senderId);
  const verify = ledger.verifier(nativeVerifier());
  const report = ownerSigningInput(REPORT_DOMAIN, new TextEncoder().encode("held 1..7"));
  const token = sign(report);
  assert.equal(token.length, 64);
  // No ed25519 signature: the real verifier refuses it, the ledger accepts it as often as it is asked.
  assert.equal(nativeVerifier()(appendSignature(report, token), token, alice.senderId), false);
  ledger.charging = true;
  for (let i = 0; i < 2; i++) assert.equal(verify(appendSignature(report, token), token, alice.senderId), true);
  assert.deepEqual(ledger.counts, { recognised: 2, verified: 0 });
  assert.equal(ledger.chargedUs, 10);
  // Another claimed signer, other bytes, another member's token: refused, as ed25519 would refuse them.
  assert.equal(verify(appendSignature(report, token), token, bob.senderId), false);
  const tampered = report.slice();
  tampered[tampered.length - 1]! ^= 1;
  assert.equal(verify(appendSignature(tampered, token), token, alice.senderId), false);
  assert.deepEqual(ledger.counts, { recognised: 2, verified: 2 });
  // Channel messages keep real signatures, which any verifier accepts.
  const message = new TextEncoder().encode("message");
  const signature = sign(message);
  assert.equal(nativeVerifier()(appendSignature(message, signature), signature, alice.senderId), true);
  assert.equal(ledger.size, 1);
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

test("a signature made in another ledger (another worker) is verified once, then recognised for the same bytes and signer", () => {
  const there = new SignatureLedger();
  const here = new SignatureLedger();
  const sign = there.signer(alice.secretKey, alice.senderId);
  const verify = here.verifier(nativeVerifier());
  const unsigned = new TextEncoder().encode("message 7");
  const signature = sign(unsigned);
  const bytes = appendSignature(unsigned, signature);
  // A publication, then the same message in two fetch answers (each a copy of its own, as cloned across threads).
  for (let i = 0; i < 3; i++) assert.equal(verify(bytes.slice(), signature.slice(), alice.senderId), true);
  assert.deepEqual(here.counts, { recognised: 2, verified: 1 });
  // The same signature claimed by another sender, or over other bytes: verified, and refused.
  assert.equal(verify(bytes, signature, bob.senderId as SenderId), false);
  const tampered = bytes.slice();
  tampered[0]! ^= 1;
  assert.equal(verify(tampered, signature, alice.senderId), false);
  assert.deepEqual(here.counts, { recognised: 2, verified: 3 });
});
