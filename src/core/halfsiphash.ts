/**
 * HalfSipHash-2-4 with a 64-bit output (Aumasson and Bernstein's SipHash family, the 32-bit-word variant of the
 * reference implementation, github.com/veorq/SipHash): a keyed pseudo-random function of short inputs. The ack
 * filter keys it once per summary and runs it once per id (ack-filter.ts), where SHA-256 per id cost ten times
 * more. The test checks it against the reference implementation's published vectors.
 */

const out = new Int32Array(2);

/**
 * HalfSipHash-2-4-64 of `input[offset .. offset + length)` under the key whose little-endian 32-bit halves are `k0`
 * and `k1`. Returns the two little-endian 32-bit words of the tag (bytes 0..3, then 4..7) in a reused array: read
 * them before the next call.
 */
// Long because the SipRounds are written out in place: a function call per round costs as much as the round.
export function halfSipHash64(k0: number, k1: number, input: Uint8Array, length: number, offset = 0): Int32Array {
  let v0 = k0 | 0;
  let v1 = k1 ^ 0xee;
  let v2 = 0x6c796765 ^ k0;
  let v3 = 0x74656462 ^ k1;
  const whole = length - (length & 3);
  let m = 0;
  for (let i = offset, end = offset + whole; i <= end; i += 4) {
    if (i < end) {
      m = input[i]! | (input[i + 1]! << 8) | (input[i + 2]! << 16) | (input[i + 3]! << 24);
    } else {
      // The last block: the 0..3 remaining bytes, and the length's low byte on top.
      m = length << 24;
      const rest = length & 3;
      if (rest >= 3) m |= input[i + 2]! << 16;
      if (rest >= 2) m |= input[i + 1]! << 8;
      if (rest >= 1) m |= input[i]!;
    }
    v3 ^= m;
    for (let r = 0; r < 2; r++) {
      v0 = (v0 + v1) | 0;
      v1 = (v1 << 5) | (v1 >>> 27);
      v1 ^= v0;
      v0 = (v0 << 16) | (v0 >>> 16);
      v2 = (v2 + v3) | 0;
      v3 = (v3 << 8) | (v3 >>> 24);
      v3 ^= v2;
      v0 = (v0 + v3) | 0;
      v3 = (v3 << 7) | (v3 >>> 25);
      v3 ^= v0;
      v2 = (v2 + v1) | 0;
      v1 = (v1 << 13) | (v1 >>> 19);
      v1 ^= v2;
      v2 = (v2 << 16) | (v2 >>> 16);
    }
    v0 ^= m;
  }
  v2 ^= 0xee;
  for (let half = 0; half < 2; half++) {
    if (half === 1) v1 ^= 0xdd;
    for (let r = 0; r < 4; r++) {
      v0 = (v0 + v1) | 0;
      v1 = (v1 << 5) | (v1 >>> 27);
      v1 ^= v0;
      v0 = (v0 << 16) | (v0 >>> 16);
      v2 = (v2 + v3) | 0;
      v3 = (v3 << 8) | (v3 >>> 24);
      v3 ^= v2;
      v0 = (v0 + v3) | 0;
      v3 = (v3 << 7) | (v3 >>> 25);
      v3 ^= v0;
      v2 = (v2 + v1) | 0;
      v1 = (v1 << 13) | (v1 >>> 19);
      v1 ^= v2;
      v2 = (v2 << 16) | (v2 >>> 16);
    }
    out[half] = v1 ^ v3;
  }
  return out;
}

/**
 * `halfSipHash64` of the 16 bytes `input[offset .. offset + 16)` (a message id, hashed into every summary's filter
 * and checked against every summary read): the same function with the block loop and rounds laid out for that one
 * length, about a fifth faster.
 */
// Long because the SipRounds are written out in place, as in halfSipHash64.
export function halfSipHash64Of16(k0: number, k1: number, input: Uint8Array, offset: number): Int32Array {
  let v0 = k0 | 0;
  let v1 = k1 ^ 0xee;
  let v2 = 0x6c796765 ^ k0;
  let v3 = 0x74656462 ^ k1;
  // Four blocks of the id, then the last block: no bytes left, the length (16) in its top byte.
  for (let b = 0; b < 5; b++) {
    const i = offset + 4 * b;
    const m = b < 4 ? input[i]! | (input[i + 1]! << 8) | (input[i + 2]! << 16) | (input[i + 3]! << 24) : 16 << 24;
    v3 ^= m;
    v0 = (v0 + v1) | 0;
    v1 = (v1 << 5) | (v1 >>> 27);
    v1 ^= v0;
    v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0;
    v3 = (v3 << 8) | (v3 >>> 24);
    v3 ^= v2;
    v0 = (v0 + v3) | 0;
    v3 = (v3 << 7) | (v3 >>> 25);
    v3 ^= v0;
    v2 = (v2 + v1) | 0;
    v1 = (v1 << 13) | (v1 >>> 19);
    v1 ^= v2;
    v2 = (v2 << 16) | (v2 >>> 16);
    v0 = (v0 + v1) | 0;
    v1 = (v1 << 5) | (v1 >>> 27);
    v1 ^= v0;
    v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0;
    v3 = (v3 << 8) | (v3 >>> 24);
    v3 ^= v2;
    v0 = (v0 + v3) | 0;
    v3 = (v3 << 7) | (v3 >>> 25);
    v3 ^= v0;
    v2 = (v2 + v1) | 0;
    v1 = (v1 << 13) | (v1 >>> 19);
    v1 ^= v2;
    v2 = (v2 << 16) | (v2 >>> 16);
    v0 ^= m;
  }
  v2 ^= 0xee;
  // Finalization: four rounds per output word, as two passes of two.
  for (let r = 0; r < 4; r++) {
    if (r === 2) {
      out[0] = v1 ^ v3;
      v1 ^= 0xdd;
    }
    v0 = (v0 + v1) | 0;
    v1 = (v1 << 5) | (v1 >>> 27);
    v1 ^= v0;
    v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0;
    v3 = (v3 << 8) | (v3 >>> 24);
    v3 ^= v2;
    v0 = (v0 + v3) | 0;
    v3 = (v3 << 7) | (v3 >>> 25);
    v3 ^= v0;
    v2 = (v2 + v1) | 0;
    v1 = (v1 << 13) | (v1 >>> 19);
    v1 ^= v2;
    v2 = (v2 << 16) | (v2 >>> 16);
    v0 = (v0 + v1) | 0;
    v1 = (v1 << 5) | (v1 >>> 27);
    v1 ^= v0;
    v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0;
    v3 = (v3 << 8) | (v3 >>> 24);
    v3 ^= v2;
    v0 = (v0 + v3) | 0;
    v3 = (v3 << 7) | (v3 >>> 25);
    v3 ^= v0;
    v2 = (v2 + v1) | 0;
    v1 = (v1 << 13) | (v1 >>> 19);
    v1 ^= v2;
    v2 = (v2 << 16) | (v2 >>> 16);
  }
  out[1] = v1 ^ v3;
  return out;
}
