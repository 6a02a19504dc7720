export {
  appendSignature,
  decodeMessage,
  encodeForSigning,
  encodeMessage,
  encodeUnsigned,
  encodeWithSignatureRoom,
  kindOf,
  SIGNATURE_BYTES,
  SIGNATURE_TRAILER_BYTES,
  signedPortion,
  writeSignature,
} from "./codec.js";
export { ackFieldLength, encodedLength, outputBuffer } from "./encode.js";
export { DecodeError } from "./errors.js";
export {
  type DataSegment,
  decodeSegment,
  encodeSegment,
  MAX_SEGMENTS,
  type ParitySegment,
  SEGMENT_HASH_BYTES,
  type Segment,
  tryDecodeSegment,
} from "./segment.js";
export * from "./types.js";
