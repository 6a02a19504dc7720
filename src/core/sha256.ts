/**
 * SHA-256 (FIPS 180-4) of short inputs, without allocation, for the ack filter: building one summary
 * hashes ~100 ids of ~70 bytes, and @noble/hashes's one-shot `sha256()` spends more time setting up a
 * hasher object (buffers, views) than compressing two blocks. Same function, same output; the test
 * checks it against @noble/hashes and the FIPS examples. Everything else uses @noble/hashes.
 */

// biome-ignore format: the round constants read best as a table
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

const W = new Int32Array(64);
const tail = new Uint8Array(128);

function compress(state: Int32Array, block: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++, offset += 4) {
    W[i] = (block[offset]! << 24) | (block[offset + 1]! << 16) | (block[offset + 2]! << 8) | block[offset + 3]!;
  }
  compressW(state);
}

/** Compresses the block whose 16 big-endian words are `W[0..16)` into `state`. */
// Long because the 64 rounds are written out eight to a pass (see the loop below).
function compressW(state: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const a = W[i - 15]!;
    const b = W[i - 2]!;
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    W[i] = (s1 + W[i - 7]! + s0 + W[i - 16]!) | 0;
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  let f = state[5]!;
  let g = state[6]!;
  let h = state[7]!;
  // Eight rounds per pass with the working variables renamed instead of shifted (h = g, g = f, ...): the same
  // rounds, a sixth faster (most of a summary's cost is these rounds, ~100 ids hashed per message sent).
  let t1 = 0;
  for (let i = 0; i < 64; i += 8) {
    t1 =
      (h +
        (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
        ((e & f) ^ (~e & g)) +
        K[i + 0]! +
        W[i + 0]!) |
      0;
    d = (d + t1) | 0;
    h =
      (t1 +
        (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
        ((a & b) ^ (a & c) ^ (b & c))) |
      0;
    t1 =
      (g +
        (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) +
        ((d & e) ^ (~d & f)) +
        K[i + 1]! +
        W[i + 1]!) |
      0;
    c = (c + t1) | 0;
    g =
      (t1 +
        (((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) +
        ((h & a) ^ (h & b) ^ (a & b))) |
      0;
    t1 =
      (f +
        (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) +
        ((c & d) ^ (~c & e)) +
        K[i + 2]! +
        W[i + 2]!) |
      0;
    b = (b + t1) | 0;
    f =
      (t1 +
        (((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) +
        ((g & h) ^ (g & a) ^ (h & a))) |
      0;
    t1 =
      (e +
        (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) +
        ((b & c) ^ (~b & d)) +
        K[i + 3]! +
        W[i + 3]!) |
      0;
    a = (a + t1) | 0;
    e =
      (t1 +
        (((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) +
        ((f & g) ^ (f & h) ^ (g & h))) |
      0;
    t1 =
      (d +
        (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) +
        ((a & b) ^ (~a & c)) +
        K[i + 4]! +
        W[i + 4]!) |
      0;
    h = (h + t1) | 0;
    d =
      (t1 +
        (((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) +
        ((e & f) ^ (e & g) ^ (f & g))) |
      0;
    t1 =
      (c +
        (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) +
        ((h & a) ^ (~h & b)) +
        K[i + 5]! +
        W[i + 5]!) |
      0;
    g = (g + t1) | 0;
    c =
      (t1 +
        (((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) +
        ((d & e) ^ (d & f) ^ (e & f))) |
      0;
    t1 =
      (b +
        (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) +
        ((g & h) ^ (~g & a)) +
        K[i + 6]! +
        W[i + 6]!) |
      0;
    f = (f + t1) | 0;
    b =
      (t1 +
        (((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) +
        ((c & d) ^ (c & e) ^ (d & e))) |
      0;
    t1 =
      (a +
        (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) +
        ((f & g) ^ (~f & h)) +
        K[i + 7]! +
        W[i + 7]!) |
      0;
    e = (e + t1) | 0;
    a =
      (t1 +
        (((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) +
        ((b & c) ^ (b & d) ^ (c & d))) |
      0;
  }

  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/**
 * Writes into `out` the SHA-256 of an input that fits one block, given as that block already padded: its 16
 * big-endian 32-bit words (`words[0..16)`, the input, then 0x80, zeros and the input's length in bits). A caller
 * that hashes many inputs differing in a few bytes (summary keys: a fixed salt and a fresh nonce) keeps the padded
 * block and rewrites only the words that change.
 */
export function sha256PaddedBlock(words: Int32Array, out: Int32Array): void {
  if (words.length < 16) throw new RangeError(`a padded block is 16 words, got ${words.length}`);
  for (let i = 0; i < 16; i++) W[i] = words[i]!;
  for (let i = 0; i < 8; i++) out[i] = IV[i]!;
  compressW(out);
}

/**
 * Writes SHA-256(input[0..length)) into `out` as eight big-endian 32-bit words (as signed int32:
 * `out[0] >>> 0` is the first four digest bytes read as an unsigned big-endian number).
 */
export function sha256Words(input: Uint8Array, length: number, out: Int32Array): void {
  checkLength(input, length);
  for (let i = 0; i < 8; i++) out[i] = IV[i]!;
  finish(out, input, 0, length);
}

/**
 * Writes into `out` the state after the first `from` bytes of an input (a multiple of 64: whole blocks), which
 * `sha256Resume` continues from: a caller whose inputs share a prefix of whole blocks (message ids: the domain,
 * channel and sender) compresses it once.
 */
export function sha256Midstate(input: Uint8Array, from: number, out: Int32Array): void {
  checkLength(input, from);
  if (from % 64 !== 0) throw new RangeError(`a midstate covers whole 64-byte blocks, got ${from} bytes`);
  for (let i = 0; i < 8; i++) out[i] = IV[i]!;
  for (let offset = 0; offset < from; offset += 64) compress(out, input, offset);
}

/**
 * `sha256Words(input, length, out)` where `state` is `sha256Midstate` of `input`'s first `from` bytes (which are
 * not read again). `state` is not changed.
 */
export function sha256Resume(
  state: Int32Array,
  input: Uint8Array,
  from: number,
  length: number,
  out: Int32Array,
): void {
  checkLength(input, length);
  if (from % 64 !== 0 || from > length) {
    throw new RangeError(`a midstate covers whole 64-byte blocks of the input, got ${from} of ${length} bytes`);
  }
  for (let i = 0; i < 8; i++) out[i] = state[i]!;
  finish(out, input, from, length);
}

function checkLength(input: Uint8Array, length: number): void {
  if (length > input.length || length < 0 || !Number.isSafeInteger(length)) {
    throw new RangeError(`length must be in 0..${input.length}, got ${length}`);
  }
}

/** Compresses `input[from .. length)` into `out` (the state after `from` bytes), then the padding of `length` bytes. */
function finish(out: Int32Array, input: Uint8Array, from: number, length: number): void {
  const full = length - (length % 64);
  for (let offset = from; offset < full; offset += 64) compress(out, input, offset);
  const rest = length - full;
  const end = rest < 56 ? 64 : 128;
  for (let i = 0; i < rest; i++) tail[i] = input[full + i]!;
  tail[rest] = 0x80;
  for (let i = rest + 1; i < end - 8; i++) tail[i] = 0;
  const bits = length * 8;
  const high = Math.floor(bits / 0x1_0000_0000);
  tail[end - 8] = high >>> 24;
  tail[end - 7] = high >>> 16;
  tail[end - 6] = high >>> 8;
  tail[end - 5] = high;
  tail[end - 4] = bits >>> 24;
  tail[end - 3] = bits >>> 16;
  tail[end - 2] = bits >>> 8;
  tail[end - 1] = bits;
  compress(out, tail, 0);
  if (end === 128) compress(out, tail, 64);
}
