import { ed25519 } from "@noble/curves/ed25519.js";
import { bytesToNumberLE } from "@noble/curves/utils.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes } from "@noble/hashes/utils.js";
import { signedPortion } from "../wire/index.js";
import type { SenderId } from "./ids.js";
import { keyRefusal, signatureRefusal } from "./signature-rule.js";

/** A member's signing identity. The sender id is the hex public key. */
export interface Identity {
  readonly senderId: SenderId;
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** Builds an identity from a 32-byte ed25519 secret key (the caller supplies the randomness). */
export function identityFromSecretKey(secretKey: Uint8Array): Identity {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) {
    throw new TypeError(`secretKey must be a 32-byte Uint8Array, got ${describe(secretKey)}`);
  }
  const publicKey = ed25519.getPublicKey(secretKey);
  return { senderId: bytesToHex(publicKey) as SenderId, publicKey, secretKey: secretKey.slice() };
}

function describe(value: unknown): string {
  return value instanceof Uint8Array ? `${value.length} bytes` : typeof value;
}

const SIGNING_DOMAIN = new TextEncoder().encode("chorus/sig/v1");

function signingInput(unsigned: Uint8Array): Uint8Array {
  const out = new Uint8Array(SIGNING_DOMAIN.length + unsigned.length);
  out.set(SIGNING_DOMAIN, 0);
  out.set(unsigned, SIGNING_DOMAIN.length);
  return out;
}

/** Signs the unsigned encoding of a message: ed25519 over "chorus/sig/v1" || bytes. */
export function signEncoding(unsigned: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed25519.sign(signingInput(unsigned), secretKey);
}

const Point = ed25519.Point;
const Fn = Point.Fn;
type EdPoint = InstanceType<typeof Point>;

/** SHA-512 of the concatenation, as a little-endian integer mod the group order (RFC 8032's hash-to-scalar). */
function hashToScalar(...parts: Uint8Array[]): bigint {
  return Fn.create(bytesToNumberLE(sha512(concatBytes(...parts))));
}

/**
 * `signEncoding` bound to one secret key. ed25519.sign derives the expanded key (a SHA-512 and a
 * base-point multiplication, as costly as the signature itself) on every call; this derives it once.
 * The steps are those of RFC 8032 5.1.6 as @noble/curves performs them, so the signatures are
 * byte-for-byte those of `signEncoding` (Ed25519 signing is deterministic).
 */
export function createSigner(secretKey: Uint8Array): (unsigned: Uint8Array) => Uint8Array {
  const { prefix, scalar, pointBytes } = ed25519.utils.getExtendedPublicKey(secretKey);
  return (unsigned) => {
    const message = signingInput(unsigned);
    const r = hashToScalar(prefix, message);
    const R = Point.BASE.multiply(r).toBytes();
    const s = Fn.create(r + hashToScalar(R, pointBytes, message) * scalar);
    return concatBytes(R, Fn.toBytes(s));
  };
}

interface VerifierKey {
  readonly bytes: Uint8Array;
  point: EdPoint;
  /** Recent verifications of this key: halved every AGING_PERIOD verifications of any key. */
  uses: number;
  period: number;
  tabled: boolean;
}

export interface VerifierOptions {
  /** Senders whose decoded public key is kept (a point: a few hundred bytes each). */
  readonly keys?: number;
  /** Senders whose key also gets a precomputed multiplication table (~105 KB each). */
  readonly tables?: number;
  /**
   * Recent verifications of one sender after which its key gets a table. Building one costs about as
   * much as 7 verifications save; counts halve every 1,024 verifications, so only senders with about 1 %
   * of the traffic or more qualify.
   */
  readonly tableAfter?: number;
}

// Width 4 is the smallest table with most of the gain: A·k costs a third of the table-less
// multiplication, for 5.6 ms to build and ~105 KB to keep (width 6: a quarter, 11 ms, 180 KB).
const TABLE_WINDOW = 4;
const AGING_PERIOD = 1024;

/**
 * A `SignatureVerifier` that remembers what it learnt about recent senders. A verification is mostly
 * two scalar multiplications, S·B (B has a precomputed table in @noble/curves) and k·A for the sender's
 * key A. This keeps A decoded for the last `keys` senders and, for up to `tables` senders that sent at
 * least `tableAfter` of the recent messages, a precomputed table of A's multiples, with which a
 * verification costs less than half.
 *
 * It accepts and rejects exactly what `verifyEncoding` does, under the rule of spec section 6.4
 * (signature-rule.ts, then the cofactorless equation), with the key decoded once.
 */
export function createVerifier(options: VerifierOptions = {}): SignatureVerifier {
  const maxKeys = options.keys ?? 1024;
  const maxTables = options.tables ?? 32;
  const tableAfter = options.tableAfter ?? 16;
  // Least recently used first, in both.
  const keys = new Map<string, VerifierKey | null>();
  const tabled = new Set<VerifierKey>();
  let verifications = 0;

  function lookup(senderId: string): VerifierKey | null {
    const period = Math.floor(verifications++ / AGING_PERIOD);
    let key = keys.get(senderId);
    if (key === undefined) {
      key = decodeKey(senderId, period);
      if (keys.size >= maxKeys) {
        const [oldestId, oldest] = keys.entries().next().value as [string, VerifierKey | null];
        keys.delete(oldestId);
        if (oldest !== null) tabled.delete(oldest);
      }
    } else {
      keys.delete(senderId);
    }
    keys.set(senderId, key);
    if (key === null) return null;
    if (key.period !== period) {
      key.uses = Math.floor(key.uses / 2 ** Math.min(31, period - key.period));
      key.period = period;
    }
    key.uses++;
    if (key.tabled) {
      tabled.delete(key);
      tabled.add(key);
    } else if (key.uses >= tableAfter && maxTables > 0) {
      addTable(key);
    }
    return key;
  }

  function addTable(key: VerifierKey): void {
    if (tabled.size >= maxTables) {
      const coldest = tabled.values().next().value as VerifierKey;
      tabled.delete(coldest);
      coldest.point = Point.fromBytes(coldest.bytes, false); // a fresh point: its table can be collected
      coldest.tabled = false;
      coldest.uses = 0;
    }
    key.point = Point.fromBytes(key.bytes, false).precompute(TABLE_WINDOW, false);
    key.tabled = true;
    tabled.add(key);
  }

  return (bytes, signature, senderId) => {
    const signed = signedPortion(bytes);
    if (signed === undefined || signatureRefusal(signature) !== undefined) return false;
    const key = lookup(senderId);
    return key !== null && equationHolds(signed, signature, key.bytes, key.point);
  };
}

/**
 * The cofactorless equation [S]B = R + [k]A of RFC 8032, k = SHA-512(R || A || message) mod L, for a signature and
 * key that passed signature-rule.ts (so S < L, and R and A are canonical points of large order, or R fails to
 * decode here). Cofactorless, as OpenSSL and libsodium check it: the cofactored form would also accept signatures
 * that differ by a small-order component, which OpenSSL rejects.
 */
function equationHolds(signed: Uint8Array, signature: Uint8Array, keyBytes: Uint8Array, A: EdPoint): boolean {
  const r = signature.subarray(0, 32);
  let R: EdPoint;
  try {
    R = Point.fromBytes(r, false);
  } catch {
    return false;
  }
  const SB = Point.BASE.multiplyUnsafe(bytesToNumberLE(signature.subarray(32, 64)));
  const k = hashToScalar(r, keyBytes, signingInput(signed));
  return R.add(A.multiplyUnsafe(k)).equals(SB);
}

/** The decoded key, or null when the rule of spec section 6.4 refuses it (not canonical, small order, no point). */
function decodeKey(senderId: string, period: number): VerifierKey | null {
  const bytes = hexToKey(senderId);
  if (keyRefusal(bytes) !== undefined) return null;
  try {
    return { bytes, point: Point.fromBytes(bytes, false), uses: 0, period, tabled: false };
  } catch {
    return null;
  }
}

/**
 * Checks the signature of an encoded message against its sender id (the hex public key), under the rule of spec
 * section 6.4. Returns false for any malformed input rather than throwing.
 */
export function verifyEncoding(bytes: Uint8Array, signature: Uint8Array, senderId: SenderId): boolean {
  const signed = signedPortion(bytes);
  if (signed === undefined || signatureRefusal(signature) !== undefined) return false;
  const key = decodeKey(senderId, 0);
  return key !== null && equationHolds(signed, signature, key.bytes, key.point);
}

function hexToKey(senderId: string): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number.parseInt(senderId.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Signature check that the engine calls; injectable so that a simulator can cache results. */
export type SignatureVerifier = (bytes: Uint8Array, signature: Uint8Array, senderId: SenderId) => boolean;
