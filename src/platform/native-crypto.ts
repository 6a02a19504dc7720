import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { type Identity, keyRefusal, type SenderId, type SignatureVerifier, signatureRefusal } from "../core/index.js";
import { signedPortion } from "../wire/index.js";

/**
 * Ed25519 through Node's OpenSSL, about ten times faster than the portable implementation the engine uses
 * by default. Both produce the same (deterministic) signatures, and both verify under the one rule of spec
 * section 6.4: the byte checks of src/core/signature-rule.ts (canonical S, R and key; no small-order R or key)
 * first, then OpenSSL's cofactorless equation, which compares the encoding of [S]B − [k]A with R's bytes. Real
 * nodes (src/node) and simulated members (src/sim) sign and verify with these.
 */

// The DER prefix that wraps a raw 32-byte ed25519 public key as SPKI.
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const DOMAIN = Buffer.from("chorus/sig/v1");
const MAX_KEYS = 16_384;

/** A JWK's `x` for `privateKey`: Node requires one, and OpenSSL derives the real one from `d`. */
const PLACEHOLDER_X = Buffer.alloc(32).toString("base64url");

/**
 * The OpenSSL key of an ed25519 secret key (32 bytes, checked by the caller), its public part derived from it. It goes
 * in as a JWK: a PKCS#8 import goes through OpenSSL's decoders and cost about 0.6 ms a key, more than the
 * arithmetic itself. Node requires the JWK's public part `x` but hands OpenSSL only `d`, from which the public key is
 * derived; a placeholder `x` coming back would mean it was taken instead, and is refused
 * (test/sim/native-identity.test.ts checks keys and signatures against the portable implementation).
 */
function privateKey(secretKey: Uint8Array): { key: KeyObject; x: string } {
  const d = Buffer.from(secretKey.buffer, secretKey.byteOffset, 32).toString("base64url");
  const key = createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", d, x: PLACEHOLDER_X }, format: "jwk" });
  const x = createPublicKey(key).export({ format: "jwk" }).x;
  if (x === undefined || x === PLACEHOLDER_X) throw new Error("OpenSSL did not derive an ed25519 public key");
  return { key, x };
}

/**
 * `identityFromSecretKey` through OpenSSL: the same public key (ed25519 derives it from the secret key alone), for a
 * tenth of the portable arithmetic's cost, which a simulated channel paid for each of its thousands of members
 * before its first event (about half a millisecond a key).
 */
export function nativeIdentity(secretKey: Uint8Array): Identity {
  checkSecretKey(secretKey);
  const raw = Buffer.from(privateKey(secretKey).x, "base64url");
  return { senderId: raw.toString("hex") as SenderId, publicKey: new Uint8Array(raw), secretKey: secretKey.slice() };
}

function checkSecretKey(secretKey: Uint8Array): void {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) {
    const got = secretKey instanceof Uint8Array ? `${secretKey.length} bytes` : typeof secretKey;
    throw new TypeError(`secretKey must be a 32-byte Uint8Array, got ${got}`);
  }
}

export function nativeSigner(secretKey: Uint8Array): (unsigned: Uint8Array) => Uint8Array {
  // Made at the first signature: a simulated channel has a signer per member, and most members of a large one
  // never sign (about a millisecond each for a thousand keys on a loaded machine).
  if (secretKey.length !== 32) throw new RangeError(`an ed25519 secret key is 32 bytes, got ${secretKey.length}`);
  let key: KeyObject | undefined;
  const copy = secretKey.slice();
  return (unsigned) => {
    key ??= privateKey(copy).key;
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
