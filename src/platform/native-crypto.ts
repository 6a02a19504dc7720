import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { keyRefusal, type SenderId, type SignatureVerifier, signatureRefusal } from "../core/index.js";
import { signedPortion } from "../wire/index.js";

/**
 * Ed25519 through Node's OpenSSL, about ten times faster than the portable implementation the engine uses
 * by default. Both produce the same (deterministic) signatures, and both verify under the one rule of spec
 * section 6.4: the byte checks of src/core/signature-rule.ts (canonical S, R and key; no small-order R or key)
 * first, then OpenSSL's cofactorless equation, which compares the encoding of [S]B − [k]A with R's bytes. Real
 * nodes (src/node) and simulated members (src/sim) sign and verify with these.
 */

// DER prefixes that wrap a raw 32-byte ed25519 key as PKCS#8 (secret) and SPKI (public).
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const DOMAIN = Buffer.from("chorus/sig/v1");
const MAX_KEYS = 16_384;

export function nativeSigner(secretKey: Uint8Array): (unsigned: Uint8Array) => Uint8Array {
  // Made at the first signature: a simulated channel has a signer per member, and most members of a large one
  // never sign (about a millisecond each for a thousand keys on a loaded machine).
  if (secretKey.length !== 32) throw new RangeError(`an ed25519 secret key is 32 bytes, got ${secretKey.length}`);
  let key: KeyObject | undefined;
  const copy = secretKey.slice();
  return (unsigned) => {
    key ??= createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, copy]), format: "der", type: "pkcs8" });
    return new Uint8Array(sign(null, Buffer.concat([DOMAIN, unsigned]), key));
  };
}

/**
 * A verifier with the decoded public keys of recent senders cached: up to `maxKeys` (decoding a key costs about
 * as much as a verification, so an owner that verifies every member's reports keeps one per roster member).
 */
/** The OpenSSL key for a sender id, or null when it is no key or the rule of spec section 6.4 refuses it. */
function publicKeyOf(senderId: string): KeyObject | null {
  const raw = Buffer.from(senderId, "hex");
  if (raw.length !== 32 || keyRefusal(raw) !== undefined) return null;
  try {
    return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
  } catch {
    return null;
  }
}

export function nativeVerifier(maxKeys = MAX_KEYS): SignatureVerifier {
  const keys = new Map<string, KeyObject | null>();
  return (bytes: Uint8Array, signature: Uint8Array, senderId: SenderId) => {
    const signed = signedPortion(bytes);
    if (signed === undefined || signatureRefusal(signature) !== undefined) return false;
    let key = keys.get(senderId);
    if (key === undefined) {
      key = publicKeyOf(senderId);
      if (keys.size >= maxKeys) keys.delete(keys.keys().next().value as string);
      keys.set(senderId, key);
    }
    if (key === null) return false;
    try {
      return verify(null, Buffer.concat([DOMAIN, signed]), key, signature);
    } catch {
      return false;
    }
  };
}
