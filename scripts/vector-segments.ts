// Known-answer vectors of segmentation (spec section 19.7): payloads cut into SegmentMessageProto messages
// with Leopard-RS parity, exactly as Chorus sends them. Used by scripts/make-vectors.ts and
// test/core/segments.test.ts; the parity code itself is cross-checked against the C++ Leopard-RS library
// in test/core/leopard8.test.ts.
import { bytesToHex } from "@noble/hashes/utils.js";
import { segmentPayload } from "../src/core/segments/segmenter.js";

export interface SegmentVector {
  name: string;
  segmentSize: number;
  parityRate: number;
  payload: string;
  /** Keccak-256 of the payload; absent when the payload goes out whole. */
  hash?: string;
  dataCount: number;
  parityCount: number;
  /** Every message, data segments in index order then parity segments. */
  messages: string[];
}

/** Deterministic bytes: a 32-bit LCG, so that any implementation can rebuild the payload from its description. */
function lcgBytes(length: number, seed: number): Uint8Array {
  let s = seed >>> 0;
  return Uint8Array.from({ length }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 24;
  });
}

function vector(name: string, payload: Uint8Array, segmentSize: number, parityRate: number): SegmentVector {
  const out = segmentPayload(payload, { segmentSize, parityRate });
  const v: SegmentVector = {
    name,
    segmentSize,
    parityRate,
    payload: bytesToHex(payload),
    dataCount: out.dataCount,
    parityCount: out.parityCount,
    messages: out.messages.map(bytesToHex),
  };
  if (out.hash !== undefined) v.hash = bytesToHex(out.hash);
  return v;
}

export function buildSegmentVectors() {
  return {
    description:
      "segmentPayload: Keccak-256 of the payload; data segments of segmentSize bytes (the last short), parity = Leopard-RS " +
      "8-bit field over the data zero-padded to segmentSize, ceil(parityRate × data) shards; each message a " +
      "SegmentMessageProto (data segments also name the parity count in field 6); bytes are lowercase hex",
    vectors: [
      vector("fits one segment: sent whole", lcgBytes(200, 1), 256, 0.125),
      vector("1,000 bytes in 256-byte segments: 4 data + 1 parity", lcgBytes(1_000, 2), 256, 0.125),
      vector("1,024 bytes: the last data segment is full", lcgBytes(1_024, 3), 256, 0.125),
      vector("3,000 bytes in 128-byte segments: 24 data + 3 parity", lcgBytes(3_000, 4), 128, 0.125),
      vector("parity off: 3 data segments", lcgBytes(600, 5), 256, 0),
      vector("a payload ending in zeros, 5 data + 2 parity at 25 %", new Uint8Array(1_200).fill(7, 0, 900), 256, 0.25),
    ],
  };
}
