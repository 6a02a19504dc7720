import type { OwnerNews, ReceiptReport } from "./owner-codec.js";

/**
 * Receipt reports and owner news (proto/chorus/v1/owner.proto) written directly: the bytes protobuf-es's `toBinary`
 * writes for them (fields in number order, proto3 implicit fields only when not zero), which
 * test/wire/owner-encode.test.ts checks on random values. Every member sends a report every few hundred
 * milliseconds and the owner answers each with news: building reflective message objects for them was most of
 * their cost. Values outside what these write (a sequence that is no safe non-negative integer, a count beyond
 * 32 bits) return undefined, and the caller falls back to protobuf-es, which decides what they become.
 */

const utf8 = new TextEncoder();

/** Lengths first, then bytes: `parts` are written in order into one buffer of their total length. */
class Out {
  private readonly parts: (number | Uint8Array)[] = [];
  private length = 0;

  varint(v: number): void {
    this.parts.push(v);
    this.length += varintLength(v);
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.parts.push(b);
    this.length += b.length;
  }

  /** Appends a nested message's encoding as a length-delimited field. */
  nested(tag: number, inner: Out): void {
    this.varint(tag);
    this.varint(inner.length);
    this.parts.push(...inner.parts);
    this.length += inner.length;
  }

  finish(): Uint8Array {
    const buf = new Uint8Array(this.length);
    let pos = 0;
    for (const p of this.parts) {
      if (typeof p === "number") {
        let v = p;
        while (v >= 0x80) {
          buf[pos++] = (v % 128) | 0x80;
          v = Math.floor(v / 128);
        }
        buf[pos++] = v;
      } else {
        buf.set(p, pos);
        pos += p.length;
      }
    }
    return buf;
  }
}

function varintLength(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

const isUint64 = (v: number) => Number.isSafeInteger(v) && v >= 0;
const isUint32 = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;

// A member writes its own id and its channel's into every report: their UTF-8 is kept, not encoded each time
// (bounded: forgotten all at once when full; the bytes are only read, into the output buffer).
const MAX_ENCODED = 4_096;
const encoded = new Map<string, Uint8Array>();

function string(out: Out, tag: number, s: string): void {
  if (s.length === 0) return;
  out.varint(tag);
  let b = encoded.get(s);
  if (b === undefined) {
    if (encoded.size >= MAX_ENCODED) encoded.clear();
    b = utf8.encode(s);
    if (s.length <= 256) encoded.set(s, b);
  }
  out.bytes(b);
}

function bytesField(out: Out, tag: number, b: Uint8Array): void {
  if (b.length === 0) return;
  out.varint(tag);
  out.bytes(b);
}

function uint(out: Out, tag: number, v: number): void {
  if (v === 0) return;
  out.varint(tag);
  out.varint(v);
}

/** `encodeReportUnsigned` for reports whose numbers are safe non-negative integers; undefined otherwise. */
export function writeReportUnsigned(report: ReceiptReport, writtenAt: number): Uint8Array | undefined {
  if (!isUint64(writtenAt)) return undefined;
  const out = new Out();
  string(out, 0x0a, report.channelId);
  string(out, 0x12, report.reporter);
  uint(out, 0x18, writtenAt);
  for (const h of report.held) {
    if (!isUint64(h.first) || !isUint64(h.last)) return undefined;
    const inner = new Out();
    bytesField(inner, 0x0a, h.senderPrefix);
    uint(inner, 0x10, h.first);
    uint(inner, 0x18, h.last);
    out.nested(0x22, inner);
  }
  return out.finish();
}

/** `encodeOwnerNews` for news whose numbers are in range; undefined otherwise. */
export function writeOwnerNews(news: OwnerNews): Uint8Array | undefined {
  if (!isUint64(news.cursor) || !isUint32(news.rosterSize) || !isUint64(news.rosterVersion)) return undefined;
  const out = new Out();
  string(out, 0x0a, news.channelId);
  uint(out, 0x10, news.cursor);
  uint(out, 0x18, news.rosterSize);
  uint(out, 0x20, news.rosterVersion);
  for (const r of news.receipts) {
    if (!isUint64(r.sequence) || !isUint32(r.count)) return undefined;
    const inner = new Out();
    uint(inner, 0x08, r.sequence);
    uint(inner, 0x10, r.count);
    bytesField(inner, 0x1a, r.holders);
    out.nested(0x2a, inner);
  }
  for (const h of news.heads) {
    if (!isUint64(h.sequence)) return undefined;
    const inner = new Out();
    bytesField(inner, 0x0a, h.senderPrefix);
    uint(inner, 0x10, h.sequence);
    out.nested(0x32, inner);
  }
  return out.finish();
}
