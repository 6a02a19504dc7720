export {
  appendSignature,
  decodeMessage,
  encodeMessage,
  encodeUnsigned,
  kindOf,
  SIGNATURE_BYTES,
  signedPortion,
} from "./codec.js";
export { ackFieldLength, encodedLength } from "./encode.js";
export { DecodeError } from "./errors.js";
export * from "./types.js";
