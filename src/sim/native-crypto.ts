import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import type { SenderId, SignatureVerifier } from "../core/index.js";
import { signedPortion } from "../wire/index.js";

/**
 * Ed25519 through Node's OpenSSL for the simulated members: the same deterministic signatures as the
 * engine's portable signer, about ten times faster, which matters when thousands of members sign
 * every sync. (src/node has the same for real nodes; the layers keep src/sim from importing it.)
 */

// DER prefixes that wrap a raw 32-byte ed25519 key as PKCS#8 (secret) and SPKI (public).
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const DOMAIN = Buffer.from("chorus/sig/v1");

export function nativeSigner(secretKey: Uint8Array): (unsigned: Uint8Array) => Uint8Array {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: "der", type: "pkcs8" });
  return (unsigned) => new Uint8Array(sign(null, Buffer.concat([DOMAIN, unsigned]), key));
}

/**
 * Verification done once per publication: one publication reaches every member, so the result is
 * kept on the signature object of the shared decoding (with the bytes and sender it was computed for).
 */
export function cachingVerifier(): SignatureVerifier {
  const keys = new Map<string, KeyObject | null>();
  const results = new WeakMap<Uint8Array, { bytes: Uint8Array; sender: string; ok: boolean }>();
  const check = (bytes: Uint8Array, signature: Uint8Array, senderId: SenderId): boolean => {
    const signed = signedPortion(bytes);
    if (signed === undefined || signature.length !== 64) return false;
    let key = keys.get(senderId);
    if (key === undefined) {
      try {
        key = createPublicKey({
          key: Buffer.concat([SPKI_PREFIX, Buffer.from(senderId, "hex")]),
          format: "der",
          type: "spki",
        });
      } catch {
        key = null;
      }
      keys.set(senderId, key);
    }
    if (key === null) return false;
    try {
      return verify(null, Buffer.concat([DOMAIN, signed]), key, signature);
    } catch {
      return false;
    }
  };
  return (bytes, signature, senderId) => {
    const hit = results.get(signature);
    if (hit !== undefined && hit.bytes === bytes && hit.sender === senderId) return hit.ok;
    const ok = check(bytes, signature, senderId);
    results.set(signature, { bytes, sender: senderId, ok });
    return ok;
  };
}
