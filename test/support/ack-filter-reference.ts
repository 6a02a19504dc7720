// A plain transcription of spec section 7.2 (ack filter positions), written apart from src/core/ack-filter.ts and
// src/core/halfsiphash.ts (which reuse buffers and write the rounds out in place) so that tests compare the two.
import { createHash } from "node:crypto";

const rotl = (x: number, b: number): number => ((x << b) | (x >>> (32 - b))) >>> 0;

function sipRound(v: number[]): void {
  v[0] = (v[0]! + v[1]!) >>> 0;
  v[1] = rotl(v[1]!, 5) ^ v[0]!;
  v[0] = rotl(v[0]!, 16);
  v[2] = (v[2]! + v[3]!) >>> 0;
  v[3] = rotl(v[3]!, 8) ^ v[2]!;
  v[0] = (v[0]! + v[3]!) >>> 0;
  v[3] = rotl(v[3]!, 7) ^ v[0]!;
  v[2] = (v[2]! + v[1]!) >>> 0;
  v[1] = rotl(v[1]!, 13) ^ v[2]!;
  v[2] = rotl(v[2]!, 16);
}

/** HalfSipHash-2-4 with a 64-bit tag (reference implementation, outlen 8) under an 8-byte key. */
export function halfSipHash64Reference(key: Uint8Array, message: Uint8Array): Uint8Array {
  const k = Buffer.from(key);
  const k0 = k.readUInt32LE(0);
  const k1 = k.readUInt32LE(4);
  const v = [k0, (k1 ^ 0xee) >>> 0, (0x6c796765 ^ k0) >>> 0, (0x74656462 ^ k1) >>> 0];
  const blocks: number[] = [];
  const m = Buffer.from(message);
  for (let i = 0; i + 4 <= m.length; i += 4) blocks.push(m.readUInt32LE(i));
  let last = (m.length & 0xff) << 24;
  const rest = m.length % 4;
  for (let j = 0; j < rest; j++) last |= m[m.length - rest + j]! << (8 * j);
  blocks.push(last >>> 0);
  for (const b of blocks) {
    v[3] = (v[3]! ^ b) >>> 0;
    sipRound(v);
    sipRound(v);
    v[0] = (v[0]! ^ b) >>> 0;
  }
  v[2] = (v[2]! ^ 0xee) >>> 0;
  const out = Buffer.alloc(8);
  for (let r = 0; r < 4; r++) sipRound(v);
  out.writeUInt32LE((v[1]! ^ v[3]!) >>> 0, 0);
  v[1] = (v[1]! ^ 0xdd) >>> 0;
  for (let r = 0; r < 4; r++) sipRound(v);
  out.writeUInt32LE((v[1]! ^ v[3]!) >>> 0, 4);
  return out;
}

function lowbias32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** The k positions of `id` in a filter of `bits` bits for the summary with `nonce`, as section 7.2 says. */
export function specFilterPositions(salt: Uint8Array, nonce: bigint, id: string, bits: number, k: number): number[] {
  const n = Buffer.alloc(8);
  n.writeBigUInt64BE(BigInt.asUintN(64, nonce));
  const digest = createHash("sha256").update(salt).update(n).digest();
  const hexForm = /^[0-9a-f]{32}$/.test(id);
  const tag = hexForm
    ? halfSipHash64Reference(digest.subarray(0, 8), Buffer.from(id, "hex"))
    : halfSipHash64Reference(digest.subarray(8, 16), Buffer.from(id, "utf8"));
  const words = [Buffer.from(tag).readUInt32LE(0), Buffer.from(tag).readUInt32LE(4)];
  while (words.length * 2 < k) words.push(lowbias32((words[words.length - 2]! + 0x9e3779b9) >>> 0));
  return Array.from({ length: k }, (_, i) => {
    const w = words[i >> 1]!;
    return (i % 2 === 0 ? w >>> 16 : w & 0xffff) % bits;
  });
}
