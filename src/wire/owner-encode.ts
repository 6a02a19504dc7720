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

// Each message is measured first and then written into one buffer of exactly its size: building a list of parts
// (and one per nested message) to join at the end was as costly as the rest of the encoding.

/** A buffer being written from `pos` on. */
class Writer {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }

  varint(v: number): void {
    const buf = this.buf;
    while (v >= 0x80) {
      buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[this.pos++] = v;
  }

  /** A length-delimited field of `b`, omitted when empty (proto3 implicit presence). */
  bytes(tag: number, b: Uint8Array): void {
    if (b.length === 0) return;
    this.buf[this.pos++] = tag;
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A varint field, omitted when 0. */
  uint(tag: number, v: number): void {
    if (v === 0) return;
    this.buf[this.pos++] = tag;
    this.varint(v);
  }

  /** The tag and length of a nested message. */
  nested(tag: number, length: number): void {
    this.buf[this.pos++] = tag;
    this.varint(length);
  }
}

function varintLength(v: number): number {
  if (v < 0x80) return 1;
  let n = 2;
  for (v = Math.floor(v / 0x4000); v > 0; v = Math.floor(v / 128)) n++;
  return n;
}

/** Encoded size of a length-delimited field of `length` bytes with a one-byte tag (0 when omitted). */
const bytesSize = (length: number) => (length === 0 ? 0 : 1 + varintLength(length) + length);
/** Encoded size of a varint field with a one-byte tag (0 when omitted). */
const uintSize = (v: number) => (v === 0 ? 0 : 1 + varintLength(v));

const isUint64 = (v: number) => Number.isSafeInteger(v) && v >= 0;
const isUint32 = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;

// A member writes its own id and its channel's into every report: their UTF-8 is kept, not encoded each time
// (bounded: forgotten all at once when full; the bytes are only read, into the output buffer). Sized for a
// simulated channel of 10,000 members and more in one process: with 4,096 it was emptied every few hundred reports.
const MAX_ENCODED = 32_768;
const encoded = new Map<string, Uint8Array>();

function utf8Of(s: string): Uint8Array {
  let b = encoded.get(s);
  if (b === undefined) {
    if (encoded.size >= MAX_ENCODED) encoded.clear();
    b = utf8.encode(s);
    if (s.length <= 256) encoded.set(s, b);
  }
  return b;
}

const heldSize = (h: { senderPrefix: Uint8Array; first: number; last: number }) =>
  bytesSize(h.senderPrefix.length) + uintSize(h.first) + uintSize(h.last);

/**
 * `encodeReportUnsigned` for reports whose numbers are safe non-negative integers; undefined otherwise. The
 * encoding starts `before` bytes into the buffer returned, and `after` bytes follow it: a signed report is written
 * with its signing domain before and its signature after, in the one buffer.
 */
export function writeReportUnsigned(
  report: ReceiptReport,
  writtenAt: number,
  before = 0,
  after = 0,
): Uint8Array | undefined {
  if (!isUint64(writtenAt)) return undefined;
  const channel = utf8Of(report.channelId);
  const reporter = utf8Of(report.reporter);
  let length = bytesSize(channel.length) + bytesSize(reporter.length) + uintSize(writtenAt);
  for (const h of report.held) {
    if (!isUint64(h.first) || !isUint64(h.last)) return undefined;
    const inner = heldSize(h);
    length += 1 + varintLength(inner) + inner;
  }
  const out = new Writer(new Uint8Array(before + length + after), before);
  out.bytes(0x0a, channel);
  out.bytes(0x12, reporter);
  out.uint(0x18, writtenAt);
  for (const h of report.held) {
    out.nested(0x22, heldSize(h));
    out.bytes(0x0a, h.senderPrefix);
    out.uint(0x10, h.first);
    out.uint(0x18, h.last);
  }
  return out.buf;
}

const receiptSize = (r: { sequence: number; count: number; holders: Uint8Array }) =>
  uintSize(r.sequence) + uintSize(r.count) + bytesSize(r.holders.length);
const headSize = (h: { senderPrefix: Uint8Array; sequence: number }) =>
  bytesSize(h.senderPrefix.length) + uintSize(h.sequence);

/** `encodeOwnerNews` for news whose numbers are in range; undefined otherwise. */
export function writeOwnerNews(news: OwnerNews): Uint8Array | undefined {
  if (!isUint64(news.cursor) || !isUint32(news.rosterSize) || !isUint64(news.rosterVersion)) return undefined;
  const channel = utf8Of(news.channelId);
  let length =
    bytesSize(channel.length) + uintSize(news.cursor) + uintSize(news.rosterSize) + uintSize(news.rosterVersion);
  for (const r of news.receipts) {
    if (!isUint64(r.sequence) || !isUint32(r.count)) return undefined;
    const inner = receiptSize(r);
    length += 1 + varintLength(inner) + inner;
  }
  for (const h of news.heads) {
    if (!isUint64(h.sequence)) return undefined;
    const inner = headSize(h);
    length += 1 + varintLength(inner) + inner;
  }
  const out = new Writer(new Uint8Array(length), 0);
  out.bytes(0x0a, channel);
  out.uint(0x10, news.cursor);
  out.uint(0x18, news.rosterSize);
  out.uint(0x20, news.rosterVersion);
  for (const r of news.receipts) {
    out.nested(0x2a, receiptSize(r));
    out.uint(0x08, r.sequence);
    out.uint(0x10, r.count);
    out.bytes(0x1a, r.holders);
  }
  for (const h of news.heads) {
    out.nested(0x32, headSize(h));
    out.bytes(0x0a, h.senderPrefix);
    out.uint(0x10, h.sequence);
  }
  return out.buf;
}
