// Varint-length-prefixed frames on libp2p streams: the framing of Chorus request/response and of the Waku
// request/response protocols (metadata, store, filter, light push), which write one length-prefixed
// protobuf per direction, as `it-length-prefixed` does.
import type { Libp2p } from "libp2p";
import { encodeUvarint } from "../wire/varint.js";
import { TransportError } from "./transport.js";

/** A libp2p 3 stream (the interface package itself is not a direct dependency). */
export type Stream = Awaited<ReturnType<Libp2p["dialProtocol"]>>;

/** One frame: varint(total length of `parts`) followed by the parts. */
export function frame(parts: readonly Uint8Array[]): Uint8Array {
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

/**
 * Reads exactly one length-prefixed frame and returns its body. Rejects (TransportError PROTOCOL_ERROR) as
 * soon as the prefix announces more than `max` bytes, and when the stream ends early or carries bytes after
 * the frame. `what` names the exchange in the error messages.
 */
export async function readFrame(stream: Stream, max: number, what: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let received = 0;
  let header: { length: number; size: number } | undefined;
  for await (const chunk of stream) {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray();
    chunks.push(bytes);
    received += bytes.length;
    if (header === undefined) {
      header = decodeHeader(chunks, what);
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
      return new Uint8Array(concat(chunks, received).subarray(header.size));
    }
  }
  throw new TransportError("PROTOCOL_ERROR", `${what}: stream ended before a complete frame`);
}

function decodeHeader(chunks: readonly Uint8Array[], what: string): { length: number; size: number } | undefined {
  let value = 0;
  let scale = 1;
  let size = 0;
  for (const chunk of chunks) {
    for (const byte of chunk) {
      value += (byte & 0x7f) * scale;
      size++;
      if ((byte & 0x80) === 0) return { length: value, size };
      scale *= 0x80;
      if (size >= 8) throw new TransportError("PROTOCOL_ERROR", `${what}: malformed length prefix`);
    }
  }
  return undefined;
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Writes `bytes`, waiting for the stream to drain when its buffer is full. */
export async function send(stream: Stream, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (!stream.send(bytes)) await stream.onDrain(signal ? { signal } : {});
}
