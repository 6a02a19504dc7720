// Every signature verifier of the project follows the one rule of spec section 6.4, on the edge cases of
// spec/vectors/signature-rule.json: the noble-based createVerifier (the engine's default) and verifyEncoding, and
// the OpenSSL-based nativeVerifier (real nodes and the simulator). The byte checks of src/core/signature-rule.ts
// must refuse each case at the check the vector names.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ed25519 } from "@noble/curves/ed25519.js";
import { createVerifier, keyRefusal, type SenderId, signatureRefusal, verifyEncoding } from "../../src/core/index.js";
import { nativeVerifier } from "../../src/platform/native-crypto.js";
import { appendSignature } from "../../src/wire/index.js";

const FILE = "signature-rule.json";
const path = join(fileURLToPath(import.meta.url), "../../../spec/vectors", FILE);

interface Case {
  name: string;
  publicKey: string;
  unsigned: string;
  signature: string;
  valid: boolean;
  failsAt: string;
  zip215: boolean;
}

const unhex = (text: string) => Uint8Array.from(Buffer.from(text, "hex"));
const data = JSON.parse(readFileSync(path, "utf8")) as { description: string; vectors: Case[] };
const verifiers = {
  "createVerifier (noble, cached keys)": createVerifier(),
  "createVerifier (noble, with tables)": createVerifier({ tableAfter: 1 }),
  verifyEncoding,
  "nativeVerifier (OpenSSL)": nativeVerifier(),
};

describe(`the signature rule (spec/vectors/${FILE})`, () => {
  test("the vectors cover every check of the rule, and cases where ZIP-215 answers otherwise", () => {
    const checks = new Set(data.vectors.map((v) => v.failsAt));
    for (const c of ["", "s-not-canonical", "r-not-canonical", "r-small-order", "key-not-canonical", "key-small-order"])
      assert.ok(checks.has(c), `a case for "${c || "valid"}"`);
    assert.ok(checks.has("equation"), "a case only the cofactorless equation refuses");
    assert.ok(
      data.vectors.some((v) => v.zip215 !== v.valid),
      "the rule differs from ZIP-215 somewhere",
    );
    assert.ok(
      data.vectors.some((v) => v.name.includes("mixed order") && v.valid),
      "a valid mixed-order key",
    );
  });

  for (const v of data.vectors) {
    test(v.name, () => {
      const signature = unhex(v.signature);
      const key = unhex(v.publicKey);
      const wire = appendSignature(unhex(v.unsigned), signature);
      for (const [name, verify] of Object.entries(verifiers)) {
        assert.equal(verify(wire, signature, v.publicKey as SenderId), v.valid, `${name}`);
        // Twice: a cached key must give the same answer as a fresh one.
        assert.equal(verify(wire, signature, v.publicKey as SenderId), v.valid, `${name}, key cached`);
      }
      const byBytes = signatureRefusal(signature) ?? keyRefusal(key);
      assert.equal(byBytes ?? (v.valid ? "" : "equation"), v.failsAt, "the check that refuses it");
      let zip215: boolean;
      try {
        zip215 = ed25519.verify(signature, Buffer.concat([Buffer.from("chorus/sig/v1"), unhex(v.unsigned)]), key);
      } catch {
        zip215 = false;
      }
      assert.equal(zip215, v.zip215, "the informative ZIP-215 answer");
    });
  }

  test("a flipped bit of R, S or the key is refused by every verifier", () => {
    const honest = data.vectors.find((v) => v.failsAt === "" && !v.name.includes("mixed"))!;
    for (const at of [0, 31, 32, 63]) {
      const signature = unhex(honest.signature);
      signature[at]! ^= 0x01;
      const wire = appendSignature(unhex(honest.unsigned), signature);
      for (const [name, verify] of Object.entries(verifiers))
        assert.equal(verify(wire, signature, honest.publicKey as SenderId), false, `${name}, byte ${at}`);
    }
  });
});
