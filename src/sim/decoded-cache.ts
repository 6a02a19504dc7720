import { equalBytes } from "../core/bytes.js";
import type { WireMessage } from "../wire/index.js";

/** A decoding kept with the bytes it was made from. */
export interface Decoded {
  readonly bytes: Uint8Array;
  readonly decoded: WireMessage;
}

/** Bytes hashed for the look-up key: a signed message's tail is its signature, as good as random. */
const KEY_BYTES = 32;

/**
 * Decodings of content messages, shared by every member that receives the same bytes, as one publication's
 * decoding already is (a decoding is a function of the bytes, and engines only read it). Found by the very buffer
 * (a resend or repair answer re-publishes the bytes it holds) or by equal bytes: in a run split across workers a
 * message crosses as a copy, in a publication and again in every fetch or range answer that carries it, one per
 * member, and each copy was decoded again.
 *
 * Bounded: engines hold messages for hours (own messages, repair caches), so a cache that lived as long as its
 * keys would keep a decoding of nearly every message of the run (about 0.5 MB a virtual hour in the soak). An
 * older one sent again is decoded again, to the same value.
 */
export class DecodedCache {
  private readonly byBuffer = new WeakMap<Uint8Array, WireMessage>();
  /** By a hash of the bytes (`keyOf`), oldest first; equal hashes of different bytes: the newer replaces. */
  private readonly byContent = new Map<number, Decoded>();

  constructor(private readonly kept: number) {}

  /** The decoding of this very buffer, if kept. */
  ofBuffer(bytes: Uint8Array): WireMessage | undefined {
    return this.byBuffer.get(bytes);
  }

  /** The decoding of these bytes (this buffer or an equal one), with the buffer it was made from. */
  find(bytes: Uint8Array): Decoded | undefined {
    const decoded = this.byBuffer.get(bytes);
    if (decoded !== undefined) return { bytes, decoded };
    const hit = this.byContent.get(keyOf(bytes));
    return hit !== undefined && equalBytes(hit.bytes, bytes) ? hit : undefined;
  }

  keep(bytes: Uint8Array, decoded: WireMessage): void {
    this.byBuffer.set(bytes, decoded);
    const key = keyOf(bytes);
    const old = this.byContent.get(key);
    if (old !== undefined) {
      this.byBuffer.delete(old.bytes);
      this.byContent.delete(key);
    } else if (this.byContent.size >= this.kept) {
      const [oldestKey, oldest] = this.byContent.entries().next().value as [number, Decoded];
      this.byBuffer.delete(oldest.bytes);
      this.byContent.delete(oldestKey);
    }
    this.byContent.set(key, { bytes, decoded });
  }
}

/** FNV-1a over the length and the last KEY_BYTES bytes. */
function keyOf(bytes: Uint8Array): number {
  let h = Math.imul(0x811c9dc5 ^ bytes.length, 0x01000193);
  for (let i = Math.max(0, bytes.length - KEY_BYTES); i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h;
}
