import type { AckSummary, HistoryEntry, MessageKind, ReceivedUpTo, SequenceRange, WireMessage } from "./types.js";

/**
 * The unsigned encoding of a message (proto/chorus/v1/message.proto), written directly: the bytes protobuf-es's
 * `toBinary` writes for the same message (fields in field-number order, proto3 presence: implicit fields only
 * when not zero, optional ones whenever set), which test/wire/encode.test.ts checks on random messages.
 *
 * Every message a member sends is encoded here, and its size is measured before its acknowledgement summary is
 * chosen: building a reflective message object for that cost a third of a send. `encodedLength` measures
 * without writing, and `ackFieldLength` is what a summary adds (field 32 sits between the fields before it and
 * field 34, so the lengths add up exactly).
 */

const KIND_CODE: Record<MessageKind, number> = { content: 1, sync: 2, ephemeral: 3 };

// Tags: (field number << 3) | wire type, as varints.
const TAG_SENDER = 0x0a;
const TAG_ID = 0x12;
const TAG_CHANNEL = 0x1a;
const TAG_LAMPORT = 0x50;
const TAG_HISTORY = 0x5a;
const TAG_BLOOM = 0x62;
const TAG_REPAIR = 0x6a;
const TAG_CONTENT = [0xa2, 0x01];
const TAG_KIND = [0xf0, 0x01];
const TAG_SEQUENCE = [0xf8, 0x01];
const TAG_ACK = [0x82, 0x02];
const TAG_RANGES = [0x92, 0x02];

const textEncoder = new TextEncoder();
const fixed64Bytes = new Uint8Array(8);
const fixed64View = new DataView(fixed64Bytes.buffer);

/** UTF-8 length of a string. */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        // A surrogate pair: 4 bytes for 2 UTF-16 units.
        n += 2;
        i++;
      } else n += 2;
    } else n += 2;
  }
  return n;
}

function varintLength(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function varintLength64(v: bigint): number {
  if (v >= 0n && v <= MAX_SAFE) return varintLength(Number(v));
  let n = 1;
  for (let x = BigInt.asUintN(64, v); x >= 0x80n; x >>= 7n) n++;
  return n;
}

/** A length-delimited field of `length` bytes after a one- or two-byte tag. */
function delimited(tagBytes: number, length: number): number {
  return tagBytes + varintLength(length) + length;
}

function entryLength(e: HistoryEntry): number {
  let n = 0;
  if (e.messageId.length > 0) n += delimited(1, utf8Length(e.messageId));
  if (e.retrievalHint !== undefined) n += delimited(1, e.retrievalHint.length);
  if (e.senderId !== undefined) n += delimited(1, utf8Length(e.senderId));
  return n;
}

function markLength(m: ReceivedUpTo): number {
  let n = 0;
  if (m.senderPrefix.length > 0) n += delimited(1, m.senderPrefix.length);
  if (m.sequence !== 0) n += 1 + varintLength(m.sequence);
  const first = m.first ?? 0;
  if (first !== 0) n += 1 + varintLength(first);
  return n;
}

function ackLength(a: AckSummary): number {
  let n = 0;
  if (a.nonce !== 0n) n += 9;
  if (a.filter.length > 0) n += delimited(1, a.filter.length);
  if (a.hashCount !== 0) n += 1 + varintLength(a.hashCount);
  for (let i = 0; i < a.marks.length; i++) n += delimited(1, markLength(a.marks[i]!));
  return n;
}

function rangeLength(r: SequenceRange): number {
  let n = 0;
  if (r.senderId.length > 0) n += delimited(1, utf8Length(r.senderId));
  if (r.first !== 0) n += 1 + varintLength(r.first);
  if (r.last !== 0) n += 1 + varintLength(r.last);
  return n;
}

/** Bytes the acknowledgement summary field adds to an encoding. */
export function ackFieldLength(ack: AckSummary): number {
  return delimited(2, ackLength(ack));
}

/** Length of `encodeUnsigned(message)`, without writing it. */
export function encodedLength(message: WireMessage): number {
  let n = 0;
  if (message.senderId.length > 0) n += delimited(1, utf8Length(message.senderId));
  if (message.messageId.length > 0) n += delimited(1, utf8Length(message.messageId));
  if (message.channelId.length > 0) n += delimited(1, utf8Length(message.channelId));
  if (message.lamportTimestamp !== undefined) n += 1 + varintLength64(message.lamportTimestamp);
  const { causalHistory, repairRequest, sequenceRepairRequest } = message;
  for (let i = 0; i < causalHistory.length; i++) n += delimited(1, entryLength(causalHistory[i]!));
  if (message.bloomFilter !== undefined) n += delimited(1, message.bloomFilter.length);
  for (let i = 0; i < repairRequest.length; i++) n += delimited(1, entryLength(repairRequest[i]!));
  if (message.content !== undefined) n += delimited(2, message.content.length);
  if (message.kind !== undefined) n += 2 + varintLength(KIND_CODE[message.kind]);
  if (message.sequence !== undefined) n += 2 + varintLength(message.sequence);
  if (message.ack !== undefined) n += ackFieldLength(message.ack);
  for (let i = 0; i < sequenceRepairRequest.length; i++) n += delimited(2, rangeLength(sequenceRepairRequest[i]!));
  return n;
}

/**
 * Writes into a buffer of the exact length measured first. Lists are walked by index here and in the measuring
 * functions: a `for...of` over a message's arrays made an iterator per list per message.
 */
class Writer {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  tag(t: number | readonly number[]): void {
    if (typeof t === "number") this.buf[this.pos++] = t;
    else for (let i = 0; i < t.length; i++) this.buf[this.pos++] = t[i]!;
  }

  varint(v: number): void {
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  varint64(v: bigint): void {
    if (v >= 0n && v <= MAX_SAFE) {
      this.varint(Number(v));
      return;
    }
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }

  bytes(tag: number | readonly number[], b: Uint8Array): void {
    this.tag(tag);
    this.varint(b.length);
    // A call to `set` costs more than copying a mark's 8-byte prefix by hand.
    if (b.length <= 32) for (let i = 0; i < b.length; i++) this.buf[this.pos + i] = b[i]!;
    else this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  string(tag: number | readonly number[], s: string): void {
    this.tag(tag);
    const start = this.pos;
    this.varint(s.length);
    // ASCII (ids, most channel names): one byte per character, the length already right.
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.pos = start;
        const encoded = textEncoder.encode(s);
        this.varint(encoded.length);
        this.buf.set(encoded, this.pos);
        this.pos += encoded.length;
        return;
      }
      this.buf[this.pos++] = c;
    }
  }

  fixed64(v: bigint): void {
    // Through a scratch view (which wraps v modulo 2^64 as BigInt.asUintN does): masking and shifting made three
    // bigints and an array per summary.
    fixed64View.setBigUint64(0, v, true);
    for (let i = 0; i < 8; i++) this.buf[this.pos++] = fixed64Bytes[i]!;
  }

  entry(tag: number, e: HistoryEntry): void {
    this.tag(tag);
    this.varint(entryLength(e));
    if (e.messageId.length > 0) this.string(0x0a, e.messageId);
    if (e.retrievalHint !== undefined) this.bytes(0x12, e.retrievalHint);
    if (e.senderId !== undefined) this.string(0x1a, e.senderId);
  }

  ack(a: AckSummary): void {
    this.tag(TAG_ACK);
    this.varint(ackLength(a));
    if (a.nonce !== 0n) {
      this.byte(0x09);
      this.fixed64(a.nonce);
    }
    if (a.filter.length > 0) this.bytes(0x12, a.filter);
    if (a.hashCount !== 0) {
      this.byte(0x18);
      this.varint(a.hashCount);
    }
    for (let i = 0; i < a.marks.length; i++) {
      const m = a.marks[i]!;
      this.byte(0x22);
      this.varint(markLength(m));
      if (m.senderPrefix.length > 0) this.bytes(0x0a, m.senderPrefix);
      if (m.sequence !== 0) {
        this.byte(0x10);
        this.varint(m.sequence);
      }
      const first = m.first ?? 0;
      if (first !== 0) {
        this.byte(0x18);
        this.varint(first);
      }
    }
  }

  range(r: SequenceRange): void {
    this.tag(TAG_RANGES);
    this.varint(rangeLength(r));
    if (r.senderId.length > 0) this.string(0x0a, r.senderId);
    if (r.first !== 0) {
      this.byte(0x10);
      this.varint(r.first);
    }
    if (r.last !== 0) {
      this.byte(0x18);
      this.varint(r.last);
    }
  }
}

/**
 * Slabs outgoing encodings are cut from, and the largest encoding cut from one (larger ones get their own). One
 * long-lived encoding (a cached message) keeps its whole slab alive, but the encodings a slab holds are mostly of
 * that kind (our content messages, which the repair cache keeps), so a larger slab keeps little more alive. A new
 * ArrayBuffer costs 2-7 µs with its share of collections (Node 20): at 8 KB (13 chat messages) that was up to
 * 0.5 µs per send; at 32 KB a quarter of it.
 */
const SLAB_BYTES = 32 * 1024;
const MAX_SLICE_BYTES = 1024;
let slab = new ArrayBuffer(0);
let slabUsed = 0;

/**
 * A fresh buffer of `length` zero bytes for an outgoing encoding, cut from a shared slab: a Uint8Array of its own
 * costs ~0.7 µs (an off-heap backing store and its accounting, and the collections that it brings on sooner),
 * a few percent of a send; a view into a slab ~0.2 µs. No byte of a slab is handed out twice and a full slab is
 * never written again (the next encoding starts a new one), so the caller owns its bytes as if they were its
 * own buffer; only `.buffer` (the slab) is larger than they are, and a slab lives while any of its encodings
 * does. Whoever transfers or stores a whole ArrayBuffer (postMessage, structured clone) must `slice()` first.
 */
export function outputBuffer(length: number): Uint8Array {
  if (length > MAX_SLICE_BYTES) return new Uint8Array(length);
  if (slabUsed + length > slab.byteLength) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  // A view made directly: `subarray` looks up a species constructor first.
  const out = new Uint8Array(slab, slabUsed, length);
  slabUsed += length;
  return out;
}

/**
 * Encodes everything but the signature (the bytes a signature covers) at the start of a buffer `spare` bytes
 * longer, where the signature field goes. `length` is `encodedLength(message)` when the caller measured it already.
 * `ack`, when given, is written as the message's summary (the composer measures a summary before it builds the
 * message that carries it, and writes the message once). `out`, when given, is the buffer to write (exactly
 * `length + spare` bytes, e.g. from `outputBuffer`).
 */
export function writeUnsigned(
  message: WireMessage,
  spare = 0,
  length = encodedLength(message),
  ack: AckSummary | undefined = message.ack,
  out: Uint8Array = new Uint8Array(length + spare),
): Uint8Array {
  if (out.length !== length + spare)
    throw new RangeError(`output buffer is ${out.length} bytes, need ${length + spare}`);
  const w = new Writer(out);
  if (message.senderId.length > 0) w.string(TAG_SENDER, message.senderId);
  if (message.messageId.length > 0) w.string(TAG_ID, message.messageId);
  if (message.channelId.length > 0) w.string(TAG_CHANNEL, message.channelId);
  if (message.lamportTimestamp !== undefined) {
    w.byte(TAG_LAMPORT);
    w.varint64(message.lamportTimestamp);
  }
  const { causalHistory, repairRequest, sequenceRepairRequest } = message;
  for (let i = 0; i < causalHistory.length; i++) w.entry(TAG_HISTORY, causalHistory[i]!);
  if (message.bloomFilter !== undefined) w.bytes(TAG_BLOOM, message.bloomFilter);
  for (let i = 0; i < repairRequest.length; i++) w.entry(TAG_REPAIR, repairRequest[i]!);
  if (message.content !== undefined) w.bytes(TAG_CONTENT, message.content);
  if (message.kind !== undefined) {
    w.tag(TAG_KIND);
    w.varint(KIND_CODE[message.kind]);
  }
  if (message.sequence !== undefined) {
    w.tag(TAG_SEQUENCE);
    w.varint(message.sequence);
  }
  if (ack !== undefined) w.ack(ack);
  for (let i = 0; i < sequenceRepairRequest.length; i++) w.range(sequenceRepairRequest[i]!);
  if (w.pos !== length) {
    throw new RangeError(`encodeUnsigned wrote ${w.pos} bytes, measured ${length}`);
  }
  return w.buf;
}
