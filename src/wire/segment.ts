// The segment message of the segmentation spec (proto/waku/v2/segmentation.proto): one part of a
// payload too large for one message, as a data chunk or a Reed–Solomon parity shard. Decoding applies
// the spec's validation rules, so what comes back is always one of the two shapes and never a mix.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DecodeError } from "./errors.js";
import { SegmentMessageProtoSchema } from "./gen/waku/v2/segmentation_pb.js";

/** Keccak-256 digest length: the only accepted `entire_message_hash` length. */
export const SEGMENT_HASH_BYTES = 32;
/** The spec's bound on one set's segments, data and parity together. */
export const MAX_SEGMENTS = 256;

export interface DataSegment {
  readonly kind: "data";
  readonly hash: Uint8Array;
  readonly index: number;
  readonly count: number;
  readonly payload: Uint8Array;
  /**
   * The set's parity count, when the sender wrote it on data segments too (Chorus does, so that a receiver
   * knows the whole set from any segment; the spec reads the field on parity segments only). 0: not given.
   */
  readonly parityCount?: number;
}

export interface ParitySegment {
  readonly kind: "parity";
  readonly hash: Uint8Array;
  readonly index: number;
  readonly count: number;
  readonly payload: Uint8Array;
}

export type Segment = DataSegment | ParitySegment;

function check(segment: Segment): string | undefined {
  if (segment.hash.length !== SEGMENT_HASH_BYTES) {
    return `entire_message_hash is ${segment.hash.length} bytes, must be ${SEGMENT_HASH_BYTES}`;
  }
  if (!Number.isInteger(segment.count) || !Number.isInteger(segment.index) || segment.index < 0) {
    return `index ${segment.index} / count ${segment.count} must be non-negative integers`;
  }
  const min = segment.kind === "data" ? 2 : 1;
  if (segment.count < min || segment.count > MAX_SEGMENTS) {
    return `${segment.kind} segment count ${segment.count} is outside [${min}, ${MAX_SEGMENTS}]`;
  }
  if (segment.index >= segment.count) {
    return `${segment.kind} segment index ${segment.index} is not below its count ${segment.count}`;
  }
  const parity = segment.kind === "data" ? (segment.parityCount ?? 0) : 0;
  if (!Number.isInteger(parity) || parity < 0 || parity > segment.count || segment.count + parity > MAX_SEGMENTS) {
    return `data segment names ${parity} parity segments for ${segment.count} data segments`;
  }
  return undefined;
}

export function encodeSegment(segment: Segment): Uint8Array {
  const problem = check(segment);
  if (problem !== undefined) throw new RangeError(`encodeSegment: ${problem}`);
  if (!(segment.payload instanceof Uint8Array)) throw new TypeError("encodeSegment: payload must be a Uint8Array");
  const data = segment.kind === "data";
  return toBinary(
    SegmentMessageProtoSchema,
    create(SegmentMessageProtoSchema, {
      entireMessageHash: segment.hash,
      index: data ? segment.index : 0,
      segmentCount: data ? segment.count : 0,
      payload: segment.payload,
      paritySegmentIndex: data ? 0 : segment.index,
      paritySegmentsCount: data ? (segment.parityCount ?? 0) : segment.count,
    }),
  );
}

/** Throws a DecodeError naming the field when `bytes` is not a valid segment message. */
export function decodeSegment(bytes: Uint8Array, maxPayloadBytes: number): Segment {
  let m: ReturnType<typeof fromBinary<typeof SegmentMessageProtoSchema>>;
  try {
    m = fromBinary(SegmentMessageProtoSchema, bytes);
  } catch (e) {
    throw new DecodeError("segment", `not a valid protobuf encoding: ${(e as Error).message}`);
  }
  if (m.payload.length > maxPayloadBytes) {
    throw new DecodeError("segment.payload", `is ${m.payload.length} bytes, limit ${maxPayloadBytes}`);
  }
  const segment: Segment =
    m.segmentCount > 0
      ? {
          kind: "data",
          hash: m.entireMessageHash,
          index: m.index,
          count: m.segmentCount,
          payload: m.payload,
          parityCount: m.paritySegmentsCount,
        }
      : {
          kind: "parity",
          hash: m.entireMessageHash,
          index: m.paritySegmentIndex,
          count: m.paritySegmentsCount,
          payload: m.payload,
        };
  const problem = check(segment);
  if (problem !== undefined) throw new DecodeError("segment", problem);
  return segment;
}

/** The segment `bytes` encode, or undefined when they are not one (then they are a whole payload). */
export function tryDecodeSegment(bytes: Uint8Array, maxPayloadBytes: number): Segment | undefined {
  try {
    return decodeSegment(bytes, maxPayloadBytes);
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}
