import { utf8ToBytes } from "@noble/hashes/utils.js";
import type { AckSummary } from "../wire/index.js";
import { halfSipHash64, halfSipHash64Of16 } from "./halfsiphash.js";
import { sha256PaddedBlock, sha256Words } from "./sha256.js";

/**
 * The salted Bloom filter of an acknowledgement summary.
 *
 * Each summary has its own key: SHA-256("chorus/ack/v2" || lp(channel) || u64(nonce)), one hash per summary.
 * An id's positions come from HalfSipHash-2-4-64 under that key (halfsiphash.ts) of the id's 16 bytes (ids
 * of another form, SDS peers', hash their UTF-8 under a second key from the same digest), expanded to k
 * 16-bit words by a fixed mixer (spec section 7.2). The nonce is drawn at random by the summary's author for
 * every summary, so nobody can choose ids whose positions cover another id's positions before the summary
 * exists: mined ids do not carry over from one filter to the next, and no pair of ids collides in every
 * filter short of a 64-bit collision of a keyed pseudo-random function.
 *
 * With m bits, n ids and k hashes the false-positive rate is (1 - e^(-k*n/m))^k. At the defaults
 * (16 bits per id, k = 11) one filter answers "maybe" for an absent id with probability 0.046 %.
 * The engine confirms a receipt from filters only after two summaries with different nonces agree. A
 * message is checked against at most `ackFilterCheckDepth` (32) summaries of one member, so a false
 * confirmation needs two false hits among them: at most C(32,2) * 0.00046^2 = 1.0e-4 per member and
 * message. (At 10 bits per id, k = 7, the same bound is 3.3e-2, which measurably skewed "k of N".)
 */

const DOMAIN = utf8ToBytes("chorus/ack/v2");

export function channelSalt(channelId: string): Uint8Array {
  const channel = utf8ToBytes(channelId);
  const out = new Uint8Array(DOMAIN.length + 4 + channel.length);
  out.set(DOMAIN, 0);
  new DataView(out.buffer).setUint32(DOMAIN.length, channel.length);
  out.set(channel, DOMAIN.length + 4);
  return out;
}

/** A summary's HalfSipHash keys, as little-endian 32-bit words: [k0, k1] for hex ids, [k2, k3] for others. */
export type SummaryKey = Int32Array;

// Every member that reads a summary derives the same key from it (the simulator reads one decoded summary in
// hundreds of engines), and a reader queries it for up to ackFilterCheckDepth ids: a pure memo by nonce, the
// salt compared byte by byte. Direct-mapped (a slot per nonce hash, the last key there wins): a look-up is an
// array read and a bigint comparison, where a Map keyed by bigints cost a seventh of reading a summary.
const KEY_SLOTS = 4_093;
const slotNonce: (bigint | undefined)[] = new Array(KEY_SLOTS).fill(undefined);
const slotSalt: (Uint8Array | undefined)[] = new Array(KEY_SLOTS).fill(undefined);
const slotKey: (SummaryKey | undefined)[] = new Array(KEY_SLOTS).fill(undefined);
let keyInput = new Uint8Array(128);
let keyInputView = new DataView(keyInput.buffer);
const digest = new Int32Array(8);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Digest word `w` (four big-endian bytes) read as little-endian: HalfSipHash reads its key bytes that way. */
function littleEndian(w: number): number {
  return (w >>> 24) | ((w >>> 8) & 0xff00) | ((w << 8) & 0xff0000) | (w << 24) | 0;
}

/** key = SHA-256(salt || u64(nonce)); HalfSipHash keys are its bytes 0..7 (hex ids) and 8..15 (other ids). */
export function summaryKey(salt: Uint8Array, nonce: bigint): SummaryKey {
  // The nonce as a double (its top 53 bits) spreads random nonces over the slots; small ones share slot 0.
  const slot = Math.abs(Number(nonce) % KEY_SLOTS);
  if (slotNonce[slot] === nonce && sameBytes(slotSalt[slot]!, salt)) return slotKey[slot]!;
  const key = deriveSummaryKey(salt, nonce);
  slotNonce[slot] = nonce;
  slotSalt[slot] = salt;
  slotKey[slot] = key;
  return key;
}

/**
 * `summaryKey` without the memo: for the summary's author, the only one who knows the nonce before it is sent.
 * Written into `out` when given.
 */
export function deriveSummaryKey(salt: Uint8Array, nonce: bigint, out: SummaryKey = new Int32Array(4)): SummaryKey {
  if (salt.length + 8 <= MAX_ONE_BLOCK_INPUT) {
    sha256PaddedBlock(keyBlockWith(salt, nonce), digest);
    for (let i = 0; i < 4; i++) out[i] = littleEndian(digest[i]!);
    return out;
  }
  if (keyInput.length < salt.length + 8) {
    keyInput = new Uint8Array(2 * (salt.length + 8));
    keyInputView = new DataView(keyInput.buffer);
  }
  keyInput.set(salt, 0);
  keyInputView.setBigUint64(salt.length, BigInt.asUintN(64, nonce));
  sha256Words(keyInput, salt.length + 8, digest);
  for (let i = 0; i < 4; i++) out[i] = littleEndian(digest[i]!);
  return out;
}

// Every summary sent derives a key: with a channel name short enough (salt || nonce within one SHA-256 block), the
// padded block of the last salt is kept and only the words holding the nonce are rewritten.
const MAX_ONE_BLOCK_INPUT = 55;
const keyBlock = new Uint8Array(64);
const keyBlockView = new DataView(keyBlock.buffer);
const keyBlockWords = new Int32Array(16);
/** Length of the salt at the start of `keyBlock`; -1 before the first. */
let keyBlockSaltLength = -1;

/** The padded SHA-256 block of `salt || u64(nonce)` (at most 55 bytes), as big-endian words. */
function keyBlockWith(salt: Uint8Array, nonce: bigint): Int32Array {
  let from = salt.length >>> 2;
  let to = (salt.length + 7) >>> 2;
  // Compared with the block's own copy, not by reference: the key is a function of the salt's bytes.
  if (!keyBlockHolds(salt)) {
    keyBlock.fill(0);
    keyBlock.set(salt, 0);
    keyBlock[salt.length + 8] = 0x80;
    keyBlockView.setUint32(60, (salt.length + 8) * 8);
    keyBlockSaltLength = salt.length;
    from = 0;
    to = 15;
  }
  // Big-endian, wrapped modulo 2^64 as BigInt.asUintN(64, nonce) is.
  keyBlockView.setBigUint64(salt.length, nonce);
  for (let i = from; i <= to; i++) keyBlockWords[i] = keyBlockView.getInt32(4 * i);
  return keyBlockWords;
}

function keyBlockHolds(salt: Uint8Array): boolean {
  if (salt.length !== keyBlockSaltLength) return false;
  for (let i = 0; i < salt.length; i++) if (keyBlock[i] !== salt[i]) return false;
  return true;
}

// positions() runs for every id of every summary built or read: the id's bytes go into one reused buffer.
let input = new Uint8Array(64);

/** Value of a lowercase hex digit, or -1 (uppercase is not the id form: such an id hashes as text). */
function nibble(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Writes the 16 bytes a 32-character lowercase hex id denotes into `out` at `at`; false for any other id. A
 * caller that checks or adds one id many times keeps its bytes (`addIdBytes`, `filterHasBytes`).
 */
export function hexIdBytes(id: string, out: Uint8Array, at = 0): boolean {
  if (id.length !== 32) return false;
  for (let i = 0; i < 16; i++) {
    const hi = nibble(id.charCodeAt(2 * i));
    const lo = nibble(id.charCodeAt(2 * i + 1));
    if ((hi | lo) < 0) return false;
    out[at + i] = (hi << 4) | lo;
  }
  return true;
}

/** lowbias32 (Wellons, hash-prospector): a 32-bit bijective mixer with low bias. */
function mix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  return x ^ (x >>> 16);
}

/** The HalfSipHash tag an id's positions come from (in the reused tag array). */
function tagOf(key: SummaryKey, id: string): Int32Array {
  if (hexIdBytes(id, input)) return halfSipHash64Of16(key[0]!, key[1]!, input, 0);
  const bytes = utf8ToBytes(id);
  if (input.length < bytes.length) input = new Uint8Array(2 * bytes.length);
  input.set(bytes, 0);
  return halfSipHash64(key[2]!, key[3]!, input, bytes.length);
}

/**
 * Sets (`set`) or tests the k bit positions of the id whose tag is `tag` in `filter`; a test is false at the first
 * clear bit. Words 0 and 1 are the tag's; word j >= 2 is mix(word j-2 + golden ratio): two lanes of a keyed
 * 64-bit value, each position 16 bits of a word (high half first), mod m.
 */
function positions(tag: Int32Array, filter: Uint8Array, hashCount: number, set: boolean): boolean {
  const bits = filter.length * 8;
  let even = tag[0]!;
  let odd = tag[1]!;
  for (let i = 0; i < hashCount; i++) {
    const w = i & 2 ? odd : even;
    const p = ((i & 1) === 0 ? w >>> 16 : w & 0xffff) % bits;
    if (set) filter[p >>> 3]! |= 1 << (p & 7);
    else if ((filter[p >>> 3]! & (1 << (p & 7))) === 0) return false;
    if ((i & 3) === 1) even = mix((even + 0x9e3779b9) | 0);
    else if ((i & 3) === 3) odd = mix((odd + 0x9e3779b9) | 0);
  }
  return true;
}

export function buildFilter(
  salt: Uint8Array,
  nonce: bigint,
  ids: Iterable<string>,
  byteLength: number,
  hashCount: number,
): Uint8Array {
  const filter = new Uint8Array(byteLength);
  if (byteLength === 0) return filter;
  const key = summaryKey(salt, nonce);
  for (const id of ids) addId(key, filter, hashCount, id);
  return filter;
}

/** Adds `id` to a filter being built under `key` (non-empty filter). */
export function addId(key: SummaryKey, filter: Uint8Array, hashCount: number, id: string): void {
  positions(tagOf(key, id), filter, hashCount, true);
}

/** `addId` for a hex id whose 16 bytes (`hexIdBytes`) are `bytes[at .. at + 16)`. */
export function addIdBytes(
  key: SummaryKey,
  filter: Uint8Array,
  hashCount: number,
  bytes: Uint8Array,
  at: number,
): void {
  positions(halfSipHash64Of16(key[0]!, key[1]!, bytes, at), filter, hashCount, true);
}

export function filterHas(salt: Uint8Array, nonce: bigint, filter: Uint8Array, hashCount: number, id: string): boolean {
  if (filter.length === 0 || hashCount < 1) return false;
  return filterHasKeyed(summaryKey(salt, nonce), filter, hashCount, id);
}

/** `filterHas` with the summary's key already derived (`summaryKey`): a reader queries one summary many times. */
export function filterHasKeyed(key: SummaryKey, filter: Uint8Array, hashCount: number, id: string): boolean {
  if (filter.length === 0 || hashCount < 1) return false;
  return positions(tagOf(key, id), filter, hashCount, false);
}

/** `filterHasKeyed` for a hex id whose 16 bytes (`hexIdBytes`) are `bytes[at .. at + 16)`. */
export function filterHasBytes(
  key: SummaryKey,
  filter: Uint8Array,
  hashCount: number,
  bytes: Uint8Array,
  at: number,
): boolean {
  if (filter.length === 0 || hashCount < 1) return false;
  return positions(halfSipHash64Of16(key[0]!, key[1]!, bytes, at), filter, hashCount, false);
}

/** Set bits of each byte value. */
const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let x = b; x !== 0; x &= x - 1) n++;
  return n;
});

/** Fraction of bits set; a filter far fuller than the rules allow is hostile (an "everything" claim). */
export function fillRatio(filter: Uint8Array): number {
  if (filter.length === 0) return 0;
  let set = 0;
  for (let i = 0; i < filter.length; i++) set += POPCOUNT[filter[i]!]!;
  return set / (filter.length * 8);
}

/**
 * `fillRatio` of a summary's filter. Counted where it is read: a table look-up per byte costs less than the
 * per-object memo it once had (a WeakMap insertion per received summary).
 */
export function summaryFillRatio(ack: AckSummary): number {
  return fillRatio(ack.filter);
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
