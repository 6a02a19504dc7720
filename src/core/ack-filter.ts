import { utf8ToBytes } from "@noble/hashes/utils.js";
import type { AckSummary } from "../wire/index.js";
import { sha256Words } from "./sha256.js";

/**
 * The salted Bloom filter of an acknowledgement summary.
 *
 * Bit positions of an id are derived from SHA-256("chorus/ack/v1" || lp(channel) || u64(nonce) || id):
 * position_i = (big-endian u16 at digest bytes 2i, 2i+1) mod m, for i < k <= 16; filters hold at most
 * 65,536 bits. The nonce is drawn at random by the summary's author for every
 * summary, so nobody can choose ids whose positions cover another id's positions before the summary
 * exists: mined ids do not carry over from one filter to the next.
 *
 * With m bits, n ids and k hashes the false-positive rate is (1 - e^(-k*n/m))^k. At the defaults
 * (16 bits per id, k = 11) one filter answers "maybe" for an absent id with probability 0.046 %.
 * The engine confirms a receipt from filters only after two summaries with different nonces agree. A
 * message is checked against at most `ackFilterCheckDepth` (32) summaries of one member, so a false
 * confirmation needs two false hits among them: at most C(32,2) * 0.00046^2 = 1.0e-4 per member and
 * message. (At 10 bits per id, k = 7, the same bound is 3.3e-2, which measurably skewed "k of N".)
 */

const DOMAIN = utf8ToBytes("chorus/ack/v1");

export function channelSalt(channelId: string): Uint8Array {
  const channel = utf8ToBytes(channelId);
  const out = new Uint8Array(DOMAIN.length + 4 + channel.length);
  out.set(DOMAIN, 0);
  new DataView(out.buffer).setUint32(DOMAIN.length, channel.length);
  out.set(channel, DOMAIN.length + 4);
  return out;
}

// positions() runs for every id of every summary built or read (a hundred per message sent): it writes
// its hash input into one reused buffer and hashes it without allocating (see sha256.ts).
let input = new Uint8Array(128);
const digest = new Int32Array(8);
let inputView = new DataView(input.buffer);

function reserve(length: number): void {
  if (input.length >= length) return;
  input = new Uint8Array(Math.max(length, 2 * input.length));
  inputView = new DataView(input.buffer);
}

/** Writes the k bit positions of `id` into `out` (length >= hashCount). */
function positions(salt: Uint8Array, nonce: bigint, id: string, bits: number, hashCount: number, out: number[]): void {
  const offset = salt.length + 8;
  reserve(offset + id.length);
  input.set(salt, 0);
  inputView.setBigUint64(salt.length, BigInt.asUintN(64, nonce));
  let length = id.length;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c > 0x7f) {
      // Not ASCII (foreign ids may be any string): UTF-8 encode it the slow way.
      const bytes = utf8ToBytes(id);
      reserve(offset + bytes.length);
      input.set(salt, 0);
      inputView.setBigUint64(salt.length, BigInt.asUintN(64, nonce));
      input.set(bytes, offset);
      length = bytes.length;
      break;
    }
    input[offset + i] = c;
  }
  sha256Words(input, offset + length, digest);
  // Position i is the i-th big-endian 16-bit word of the digest, mod m: independent positions, so the
  // false-positive rate is the textbook one (double hashing measured twice as high at k = 11).
  for (let i = 0; i < hashCount; i++) {
    const word = digest[i >> 1]! >>> 0;
    out[i] = ((i & 1) === 0 ? word >>> 16 : word & 0xffff) % bits;
  }
}

const scratch: number[] = [];

export function buildFilter(
  salt: Uint8Array,
  nonce: bigint,
  ids: Iterable<string>,
  byteLength: number,
  hashCount: number,
): Uint8Array {
  const filter = new Uint8Array(byteLength);
  const bits = byteLength * 8;
  for (const id of ids) {
    positions(salt, nonce, id, bits, hashCount, scratch);
    for (let i = 0; i < hashCount; i++) {
      const p = scratch[i]!;
      filter[p >>> 3]! |= 1 << (p & 7);
    }
  }
  return filter;
}

export function filterHas(salt: Uint8Array, nonce: bigint, filter: Uint8Array, hashCount: number, id: string): boolean {
  const bits = filter.length * 8;
  if (bits === 0 || hashCount < 1) return false;
  positions(salt, nonce, id, bits, hashCount, scratch);
  for (let i = 0; i < hashCount; i++) {
    const p = scratch[i]!;
    if ((filter[p >>> 3]! & (1 << (p & 7))) === 0) return false;
  }
  return true;
}

/** Fraction of bits set; a filter far fuller than the rules allow is hostile (an "everything" claim). */
export function fillRatio(filter: Uint8Array): number {
  if (filter.length === 0) return 0;
  let set = 0;
  for (const byte of filter) {
    let b = byte;
    while (b) {
      b &= b - 1;
      set++;
    }
  }
  return set / (filter.length * 8);
}

// A received summary is checked by every member it reaches, and the simulator shares one decoding among
// them: the fill of a decoded (read-only) summary is counted once. A pure memo, keyed weakly.
const fillOfSummary = new WeakMap<AckSummary, number>();

/** `fillRatio` of a summary's filter. */
export function summaryFillRatio(ack: AckSummary): number {
  let ratio = fillOfSummary.get(ack);
  if (ratio === undefined) {
    ratio = fillRatio(ack.filter);
    fillOfSummary.set(ack, ratio);
  }
  return ratio;
}

/** k that minimises the false-positive rate for m bits and n ids, clamped to 1..16. */
export function optimalHashCount(bits: number, ids: number): number {
  if (ids <= 0) return 1;
  return Math.max(1, Math.min(16, Math.round((bits / ids) * Math.LN2)));
}

export function falsePositiveRate(bits: number, ids: number, hashCount: number): number {
  if (bits <= 0) return 1;
  return (1 - Math.exp((-hashCount * ids) / bits)) ** hashCount;
}
