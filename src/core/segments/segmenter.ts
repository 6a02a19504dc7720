// Sending side of segmentation (spec/chorus.md, "Segmentation"): a payload larger than one segment is cut
// into data segments of `segmentSize` bytes (the last may be short) plus Reed–Solomon parity segments
// computed over the data zero-padded to `segmentSize`, each encoded as a SegmentMessageProto. Parity is
// Leopard-RS's 8-bit code, so an anchor app decodes it with nim-leopard and the other way round.
import { keccak_256 } from "@noble/hashes/sha3.js";
import { encodeSegment, MAX_SEGMENTS, tryDecodeSegment } from "../../wire/index.js";
import { fitsLeopard8, leopard8Encode } from "./leopard8.js";

/** The anchor's fixed parity rate: one parity segment per eight data segments (rounded up here). */
export const DEFAULT_PARITY_RATE = 0.125;
/** Leopard requires shard lengths that are a multiple of 64 bytes; parity sets keep to it. */
export const SHARD_ALIGNMENT = 64;
/** Rates are carried in millionths so that two implementations agree on ceil(rate × k) exactly. */
const RATE_SCALE = 1_000_000;

export interface SegmentationOptions {
  /** Largest data chunk of one segment, in bytes; a multiple of 64 when parity is on. */
  readonly segmentSize: number;
  /** Parity segments per data segment, in [0, 1). 0 sends no parity. */
  readonly parityRate?: number;
}

export interface SegmentedPayload {
  /** Keccak-256 of the payload; undefined when the payload goes out whole. */
  readonly hash: Uint8Array | undefined;
  readonly dataCount: number;
  readonly parityCount: number;
  /** What to send, one content message each: data segments in index order, then parity in index order. */
  readonly messages: readonly Uint8Array[];
}

/** ceil(rate × dataCount) in integer arithmetic, never more than dataCount. */
export function parityCountFor(dataCount: number, parityRate: number): number {
  const scaled = Math.round(parityRate * RATE_SCALE);
  if (dataCount < 1 || scaled <= 0) return 0;
  return Math.min(dataCount, Math.ceil((dataCount * scaled) / RATE_SCALE));
}

function checkOptions(o: SegmentationOptions): number {
  const rate = o.parityRate ?? DEFAULT_PARITY_RATE;
  if (!Number.isFinite(rate) || rate < 0 || rate >= 1) {
    throw new RangeError(`parityRate must be in [0, 1), got ${rate}`);
  }
  if (!Number.isSafeInteger(o.segmentSize) || o.segmentSize < SHARD_ALIGNMENT) {
    throw new RangeError(`segmentSize must be an integer of at least ${SHARD_ALIGNMENT} bytes, got ${o.segmentSize}`);
  }
  if (rate > 0 && o.segmentSize % SHARD_ALIGNMENT !== 0) {
    throw new RangeError(
      `segmentSize must be a multiple of ${SHARD_ALIGNMENT} when parity is on (Leopard's shard rule), got ${o.segmentSize}`,
    );
  }
  return rate;
}

/** The most payload bytes one set can carry with these options. */
export function maxSegmentedBytes(options: SegmentationOptions): number {
  const rate = checkOptions(options);
  let k = MAX_SEGMENTS;
  while (k > 2 && !shapeFits(k, parityCountFor(k, rate))) k--;
  return k * options.segmentSize;
}

function shapeFits(dataCount: number, parityCount: number): boolean {
  if (dataCount + parityCount > MAX_SEGMENTS) return false;
  return parityCount === 0 || fitsLeopard8(dataCount, parityCount);
}

/**
 * The messages that carry `payload`. A payload up to `segmentSize` goes out whole, unless its bytes would
 * read as a segment message: then it is segmented too, so a receiver never mistakes it for a segment.
 */
export function segmentPayload(payload: Uint8Array, options: SegmentationOptions): SegmentedPayload {
  if (!(payload instanceof Uint8Array)) throw new TypeError("segmentPayload: payload must be a Uint8Array");
  const rate = checkOptions(options);
  const size = options.segmentSize;
  const ambiguous = tryDecodeSegment(payload, Number.MAX_SAFE_INTEGER) !== undefined;
  if (payload.length <= size && !ambiguous) {
    return { hash: undefined, dataCount: 1, parityCount: 0, messages: [payload] };
  }
  // An ambiguous short payload goes out as two data segments (the spec's minimum), without parity.
  const short = payload.length <= size;
  const chunk = short ? Math.ceil(payload.length / 2) : size;
  const dataCount = short ? 2 : Math.ceil(payload.length / chunk);
  const parityCount = short ? 0 : parityCountFor(dataCount, rate);
  if (!shapeFits(dataCount, parityCount)) {
    throw new RangeError(
      `segmentPayload: ${payload.length} bytes need ${dataCount} data + ${parityCount} parity segments of ` +
        `${size} bytes; one set carries at most ${maxSegmentedBytes(options)} bytes`,
    );
  }
  const hash = keccak_256(payload);
  const chunks = Array.from({ length: dataCount }, (_, i) => payload.subarray(i * chunk, (i + 1) * chunk));
  const messages = chunks.map((c, index) =>
    encodeSegment({ kind: "data", hash, index, count: dataCount, payload: c, parityCount }),
  );
  if (parityCount > 0) {
    const shards = chunks.map((c) => {
      const padded = new Uint8Array(size);
      padded.set(c);
      return padded;
    });
    leopard8Encode(shards, parityCount).forEach((p, index) => {
      messages.push(encodeSegment({ kind: "parity", hash, index, count: parityCount, payload: p }));
    });
  }
  return { hash, dataCount, parityCount, messages };
}
