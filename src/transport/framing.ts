// Request/response framing of the libp2p transport (spec section 14.4), one exchange per stream:
//   requester -> responder: uvarint(n) || request (n bytes), then the requester closes its write side
//   responder -> requester: uvarint(n) || status (1 byte) || body (n - 1 bytes), then it closes
//   status 0: body is the response; status 1: the handler failed, body is a UTF-8 reason (at most 1,024 bytes).
// The length prefix is unsigned LEB128 of at most 8 bytes; both sides refuse a frame over their limit as soon as
// its prefix arrives, and a stream that ends early or carries bytes after the frame.
import { encodeUvarint } from "../wire/varint.js";
import { TransportError } from "./transport.js";

export const STATUS_OK = 0;
export const STATUS_HANDLER_FAILED = 1;
/** The longest length prefix accepted: 8 bytes of LEB128 (56 bits). */
export const MAX_PREFIX_BYTES = 8;

/** One frame: the total length of `parts` as a uvarint, then the parts. */
export function encodeFrame(parts: readonly Uint8Array[]): Uint8Array {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const header = encodeUvarint(length);
  const out = new Uint8Array(header.length + length);
  out.set(header, 0);
  let offset = header.length;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The length prefix at the start of `chunks`: the announced length and the prefix's size, or undefined if incomplete. */
export function decodeFrameHeader(
  chunks: readonly Uint8Array[],
  what: string,
): { length: number; size: number } | undefined {
  let value = 0;
  let scale = 1;
  let size = 0;
  for (const chunk of chunks) {
    for (const byte of chunk) {
      value += (byte & 0x7f) * scale;
      size++;
      if ((byte & 0x80) === 0) return { length: value, size };
      scale *= 0x80;
      if (size >= MAX_PREFIX_BYTES) throw new TransportError("PROTOCOL_ERROR", `${what}: malformed length prefix`);
    }
  }
  return undefined;
}

export function concatChunks(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * The payload of the one frame `bytes` must hold exactly, with the checks the stream reader applies: a prefix of
 * at most 8 bytes, a length of at most `max`, no missing and no extra bytes.
 */
export function decodeFrame(bytes: Uint8Array, max: number, what: string): Uint8Array {
  const header = decodeFrameHeader([bytes], what);
  if (header === undefined) throw new TransportError("PROTOCOL_ERROR", `${what}: stream ended before a complete frame`);
  if (header.length > max) {
    throw new TransportError("PROTOCOL_ERROR", `${what}: frame of ${header.length} bytes is over the limit of ${max}`);
  }
  const end = header.size + header.length;
  if (bytes.length < end) throw new TransportError("PROTOCOL_ERROR", `${what}: stream ended before a complete frame`);
  if (bytes.length > end) throw new TransportError("PROTOCOL_ERROR", `${what}: unexpected bytes after the frame`);
  return bytes.slice(header.size, end);
}

/** A response frame's payload split into status and body; an empty payload is a protocol error. */
export function splitResponse(payload: Uint8Array, what: string): { status: number; body: Uint8Array } {
  if (payload.length === 0) throw new TransportError("PROTOCOL_ERROR", `${what}: empty response frame`);
  return { status: payload[0]!, body: payload.subarray(1) };
}

/** A response frame's body when its status is OK; a handler's failure or an unknown status as a TransportError. */
export function responseBody(payload: Uint8Array, what: string): Uint8Array {
  const { status, body } = splitResponse(payload, what);
  if (status === STATUS_OK) return body;
  if (status === STATUS_HANDLER_FAILED) {
    throw new TransportError("HANDLER_FAILED", `${what}: ${new TextDecoder().decode(body)}`);
  }
  throw new TransportError("PROTOCOL_ERROR", `${what}: unknown response status ${status}`);
}
