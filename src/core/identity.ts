import { ed25519 } from "@noble/curves/ed25519.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { signedPortion } from "../wire/index.js";
import type { SenderId } from "./ids.js";

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

/**
 * Checks the signature of an encoded message against its sender id (the hex public key).
 * Returns false for any malformed input rather than throwing.
 */
export function verifyEncoding(bytes: Uint8Array, signature: Uint8Array, senderId: SenderId): boolean {
  const signed = signedPortion(bytes);
  if (signed === undefined) return false;
  try {
    return ed25519.verify(signature, signingInput(signed), hexToKey(senderId));
  } catch {
    return false;
  }
}

function hexToKey(senderId: string): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number.parseInt(senderId.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Signature check that the engine calls; injectable so that a simulator can cache results. */
export type SignatureVerifier = (bytes: Uint8Array, signature: Uint8Array, senderId: SenderId) => boolean;
