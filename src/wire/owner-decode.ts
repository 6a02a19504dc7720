/**
 * Receipt reports and owner news (proto/chorus/v1/owner.proto) read directly, into the values protobuf-es's
 * `fromBinary` gives for them: the owner reads a report from every member every few hundred milliseconds and
 * every member reads the news that answers it, and the reflective reader was half of their cost (issue 17).
 *
 * Only the plain encodings these messages have in practice are read here: known field numbers with their wire
 * types, varints that fit their type (64-bit ones below 2^53), lengths within the input, well-formed UTF-8. On
 * anything else (an unknown field, a wire type or value outside that) these return undefined and the caller reads
 * the bytes through protobuf-es, which decides what they are. A field given twice keeps its last value, as
 * protobuf-es does. test/wire/owner-decode.test.ts checks both readers agree on random and on mangled encodings.
 */

/** The fields of chorus.v1.HeldRange, the 64-bit ones as numbers (below 2^53). */
export interface RawHeldRange {
  senderPrefix: Uint8Array;
  first: number;
  last: number;
}

/** chorus.v1.ReceiptReport. */
export interface RawReport {
  channelId: string;
  reporter: string;
  writtenAt: number;
  held: RawHeldRange[];
  signature: Uint8Array | undefined;
}

/** chorus.v1.Receipt. */
export interface RawReceipt {
  sequence: number;
  count: number;
  holders: Uint8Array;
}

/** chorus.v1.Head. */
export interface RawHead {
  senderPrefix: Uint8Array;
  sequence: number;
}

/** chorus.v1.OwnerNews. */
export interface RawNews {
  channelId: string;
  cursor: number;
  rosterSize: number;
  rosterVersion: number;
  receipts: RawReceipt[];
  heads: RawHead[];
}

const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder("utf-8", { fatal: true });
/** Thrown inside this module only: the encoding is not one read here (the caller falls back). */
const NOT_PLAIN = new Error("not a plain encoding");

// Channel ids and reporters' ids come back in every report: the same ASCII bytes give the same string object, built
// once (not from 64 char codes each time, and then hashed again by every map the owner looks the reporter up in).
// Kept by a 30-bit hash of the bytes, the last string with a hash wins, checked character by character: bounded
// (forgotten all at once when full), and sized for a roster of 10,000 members and more (a table of 4,096 slots
// missed on half of the reports there).
const MAX_INTERNED_STRINGS = 32_768;
const MAX_INTERNED = 128;
const internedStrings = new Map<number, string>();

/** The string of ASCII bytes buf[start .. end), the same object as last time; undefined when not ASCII. */
function interned(buf: Uint8Array, start: number, end: number): string | undefined {
  // FNV-1a over the bytes, with the length.
  let h = 0x811c9dc5 ^ (end - start);
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b >= 0x80) return undefined;
    h = Math.imul(h ^ b, 0x01000193);
  }
  const key = (h ^ (h >>> 15)) & 0x3fff_ffff;
  const known = internedStrings.get(key);
  if (known !== undefined && known.length === end - start) {
    let i = 0;
    while (i < known.length && known.charCodeAt(i) === buf[start + i]) i++;
    if (i === known.length) return known;
  }
  const made = String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
  if (known === undefined && internedStrings.size >= MAX_INTERNED_STRINGS) internedStrings.clear();
  internedStrings.set(key, made);
  return made;
}

const VARINT = 0;
const LENGTH = 2;

class Reader {
  pos: number;
  constructor(
    private readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  get more(): boolean {
    return this.pos < this.end;
  }

  /** A varint below 2^53 (any longer one is left to protobuf-es). */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) throw NOT_PLAIN;
      const byte = this.buf[this.pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (value > Number.MAX_SAFE_INTEGER) throw NOT_PLAIN;
        return value;
      }
      scale *= 128;
    }
    throw NOT_PLAIN;
  }

  uint32(): number {
    const v = this.varint();
    if (v > 0xffff_ffff) throw NOT_PLAIN;
    return v;
  }

  /** The end of a length-delimited field starting here. */
  delimited(): number {
    const length = this.varint();
    const end = this.pos + length;
    if (end > this.end) throw NOT_PLAIN;
    return end;
  }

  /** A length-delimited field's bytes: a view into the input, as protobuf-es returns them. */
  bytes(): Uint8Array {
    const end = this.delimited();
    const out = this.buf.subarray(this.pos, end);
    this.pos = end;
    return out;
  }

  string(): string {
    const end = this.delimited();
    const start = this.pos;
    this.pos = end;
    if (end - start <= MAX_INTERNED) {
      const known = interned(this.buf, start, end);
      if (known !== undefined) return known;
    }
    try {
      return utf8.decode(this.buf.subarray(start, end));
    } catch {
      throw NOT_PLAIN;
    }
  }

  nested(): Reader {
    const end = this.delimited();
    const inner = new Reader(this.buf, this.pos, end);
    this.pos = end;
    return inner;
  }
}

/** A field's tag: its number times 8 plus its wire type. */
function tag(number: number, wireType: number): number {
  return (number << 3) | wireType;
}

function plain<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (err) {
    if (err === NOT_PLAIN) return undefined;
    throw err;
  }
}

const PREFIX = tag(1, LENGTH);
const SECOND = tag(2, VARINT);
const THIRD = tag(3, VARINT);

/** A HeldRange: sender prefix (1), first (2), last (3). */
function readHeld(r: Reader): RawHeldRange {
  const held: RawHeldRange = { senderPrefix: EMPTY, first: 0, last: 0 };
  while (r.more) {
    const t = r.uint32();
    if (t === PREFIX) held.senderPrefix = r.bytes();
    else if (t === SECOND) held.first = r.varint();
    else if (t === THIRD) held.last = r.varint();
    else throw NOT_PLAIN;
  }
  return held;
}

/** A Head: sender prefix (1), sequence (2). */
function readHead(r: Reader): RawHead {
  const head: RawHead = { senderPrefix: EMPTY, sequence: 0 };
  while (r.more) {
    const t = r.uint32();
    if (t === PREFIX) head.senderPrefix = r.bytes();
    else if (t === SECOND) head.sequence = r.varint();
    else throw NOT_PLAIN;
  }
  return head;
}

/** A ReceiptReport as protobuf-es reads it, or undefined when its encoding is not a plain one. */
export function readReport(bytes: Uint8Array): RawReport | undefined {
  return plain(() => {
    const r = new Reader(bytes, 0, bytes.length);
    const report: RawReport = { channelId: "", reporter: "", writtenAt: 0, held: [], signature: undefined };
    while (r.more) {
      const t = r.uint32();
      if (t === tag(1, LENGTH)) report.channelId = r.string();
      else if (t === tag(2, LENGTH)) report.reporter = r.string();
      else if (t === tag(3, VARINT)) report.writtenAt = r.varint();
      else if (t === tag(4, LENGTH)) report.held.push(readHeld(r.nested()));
      else if (t === tag(15, LENGTH)) report.signature = r.bytes();
      else throw NOT_PLAIN;
    }
    return report;
  });
}

function readReceipt(r: Reader): RawReceipt {
  const receipt: RawReceipt = { sequence: 0, count: 0, holders: EMPTY };
  while (r.more) {
    const t = r.uint32();
    if (t === tag(1, VARINT)) receipt.sequence = r.varint();
    else if (t === tag(2, VARINT)) receipt.count = r.uint32();
    else if (t === tag(3, LENGTH)) receipt.holders = r.bytes();
    else throw NOT_PLAIN;
  }
  return receipt;
}

/** An OwnerNews as protobuf-es reads it, or undefined when its encoding is not a plain one. */
export function readNews(bytes: Uint8Array): RawNews | undefined {
  return plain(() => {
    const r = new Reader(bytes, 0, bytes.length);
    const news: RawNews = { channelId: "", cursor: 0, rosterSize: 0, rosterVersion: 0, receipts: [], heads: [] };
    while (r.more) {
      const t = r.uint32();
      if (t === tag(1, LENGTH)) news.channelId = r.string();
      else if (t === tag(2, VARINT)) news.cursor = r.varint();
      else if (t === tag(3, VARINT)) news.rosterSize = r.uint32();
      else if (t === tag(4, VARINT)) news.rosterVersion = r.varint();
      else if (t === tag(5, LENGTH)) news.receipts.push(readReceipt(r.nested()));
      else if (t === tag(6, LENGTH)) news.heads.push(readHead(r.nested()));
      else throw NOT_PLAIN;
    }
    return news;
  });
}
