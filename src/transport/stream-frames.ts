// Varint-length-prefixed frames on libp2p streams: the framing of Chorus request/response and of the Waku
// request/response protocols (metadata, store, filter, light push), which write one length-prefixed
// protobuf per direction, as `it-length-prefixed` does.
import type { Libp2p } from "libp2p";
import { concatChunks, decodeFrameHeader, encodeFrame } from "./framing.js";
import { TransportError } from "./transport.js";

/** A libp2p 3 stream (the interface package itself is not a direct dependency). */
export type Stream = Awaited<ReturnType<Libp2p["dialProtocol"]>>;

/** One frame: varint(total length of `parts`) followed by the parts (framing.ts, spec section 14.4). */
export const frame = encodeFrame;

/**
 * Reads exactly one length-prefixed frame and returns its body. Rejects (TransportError PROTOCOL_ERROR) as
 * soon as the prefix announces more than `max` bytes, and when the stream ends early or carries bytes after
 * the frame. `what` names the exchange in the error messages.
 */
export function readFrame(stream: Stream, max: number, what: string): Promise<Uint8Array> {
  return readFrameFrom(stream, max, what);
}

/**
 * readFrame over any source of chunks: a libp2p 3 stream, or the `source` of a libp2p 2 stream (js-waku's).
 * With `untilEnd`, it returns only once the source has ended (still refusing any byte after the frame): a
 * libp2p 2 mplex stream whose reader stops early is forgotten, and the peer's close that follows counts
 * against the connection as a message for a missing stream (five a second and the connection is cut).
 */
export async function readFrameFrom(
  source: AsyncIterable<Uint8Array | { subarray(): Uint8Array }>,
  max: number,
  what: string,
  untilEnd = false,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let received = 0;
  let header: { length: number; size: number } | undefined;
  let body: Uint8Array | undefined;
  for await (const chunk of source) {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray();
    if (body !== undefined) {
      if (bytes.length > 0) throw new TransportError("PROTOCOL_ERROR", `${what}: unexpected bytes after the frame`);
      continue;
    }
    chunks.push(bytes);
    received += bytes.length;
    if (header === undefined) {
      header = decodeFrameHeader(chunks, what);
      if (header !== undefined && header.length > max) {
        throw new TransportError(
          "PROTOCOL_ERROR",
          `${what}: frame of ${header.length} bytes is over the limit of ${max}`,
        );
      }
    }
    if (header !== undefined && received >= header.size + header.length) {
      if (received > header.size + header.length) {
        throw new TransportError("PROTOCOL_ERROR", `${what}: unexpected bytes after the frame`);
      }
      // A fresh plain Uint8Array: chunks are often Buffers, whose slice() is a view, not a copy.
      body = new Uint8Array(concatChunks(chunks, received).subarray(header.size));
      if (!untilEnd) return body;
    }
  }
  if (body !== undefined) return body;
  throw new TransportError("PROTOCOL_ERROR", `${what}: stream ended before a complete frame`);
}

/** Writes `bytes`, waiting for the stream to drain when its buffer is full. */
export async function send(stream: Stream, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (!stream.send(bytes)) await stream.onDrain(signal ? { signal } : {});
}
