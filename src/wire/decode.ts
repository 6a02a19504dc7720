/**
 * Reads a message (proto/chorus/v1/message.proto) into the shape protobuf-es's `fromBinary` gives, directly: every
 * member decodes every message it receives, and the reflective reader (default values looked up field by field, a
 * message object built through the registry) cost a third of receiving one.
 *
 * It runs only on bytes `checkWireForm` accepted, so it trusts their structure: each known field at most once (the
 * repeated ones aside) and with its wire type, lengths within their message, varints within their type, strings
 * well-formed UTF-8. Unknown fields are skipped, as protobuf-es skips them. Validation of the values (limits, kinds)
 * stays in codec.ts; test/wire/decode.test.ts checks this reader against protobuf-es on random messages.
 */

/** The fields of chorus.v1.HistoryEntry as protobuf-es reads them. */
export interface RawHistoryEntry {
  messageId: string;
  retrievalHint?: Uint8Array;
  senderId?: string;
}

/**
 * chorus.v1.ReceivedUpTo. Its numbers are numbers below 2^49 (exact; every sequence number in practice) and bigints
 * from there, as protobuf-es gives them: ten or so marks a message, two BigInts each, cost more than the rest of a mark.
 */
export interface RawMark {
  senderPrefix: Uint8Array;
  sequence: number | bigint;
  first: number | bigint;
}

/** chorus.v1.AckSummary. */
export interface RawAck {
  nonce: bigint;
  filter: Uint8Array;
  hashCount: number;
  marks: RawMark[];
}

/** chorus.v1.SequenceRange. */
export interface RawRange {
  senderId: string;
  first: bigint;
  last: bigint;
}

/** chorus.v1.Message; `kind` is the enum's number (an int32, as protobuf-es reads open enums). */
export interface RawMessage {
  senderId: string;
  messageId: string;
  channelId: string;
  lamportTimestamp?: bigint;
  causalHistory: RawHistoryEntry[];
  bloomFilter?: Uint8Array;
  repairRequest: RawHistoryEntry[];
  content?: Uint8Array;
  kind: number;
  /** A number below 2^49, a bigint from there (as `RawMark`'s). */
  sequence?: number | bigint;
  ack?: RawAck;
  sequenceRepairRequest: RawRange[];
  signature?: Uint8Array;
}

const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder();

let buf: Uint8Array = EMPTY;
let pos = 0;

/** A varint below 2^32 (tags, lengths, 32-bit fields: checkWireForm bounds them). */
function varint32(): number {
  let value = 0;
  let scale = 1;
  for (;;) {
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 128;
  }
}

/** A varint of up to 64 bits: a number when below 2^49, else a bigint (`varint64`). */
function varintNumber(): number | bigint {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    const byte = buf[pos + i]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      pos += i + 1;
      return value;
    }
    scale *= 128;
  }
  return varint64();
}

/** A varint of up to 64 bits. */
function varint64(): bigint {
  let low = 0;
  let scale = 1;
  let i = 0;
  // The first 49 bits as a number (exact), the rest as a bigint only when present.
  for (; i < 7; i++) {
    const byte = buf[pos++]!;
    low += (byte & 0x7f) * scale;
    if (byte < 0x80) return BigInt(low);
    scale *= 128;
  }
  let high = 0n;
  let shift = 0n;
  for (;;) {
    const byte = buf[pos++]!;
    high |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return BigInt.asUintN(64, (high << 49n) | BigInt(low));
    shift += 7n;
  }
}

function fixed64(): bigint {
  const lo = (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16) | (buf[pos + 3]! << 24)) >>> 0;
  const hi = (buf[pos + 4]! | (buf[pos + 5]! << 8) | (buf[pos + 6]! << 16) | (buf[pos + 7]! << 24)) >>> 0;
  pos += 8;
  return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
}

/** A length-delimited field's bytes, a view into the input (as protobuf-es returns them). */
function bytes(): Uint8Array {
  const length = varint32();
  const start = pos;
  pos += length;
  return buf.subarray(start, pos);
}

function string(): string {
  const length = varint32();
  const start = pos;
  pos += length;
  // Ids and channel names are short ASCII: built from char codes, without a TextDecoder call.
  if (length <= 128) {
    let ascii = true;
    for (let i = start; i < pos; i++) {
      if (buf[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return asciiString(start, pos);
  }
  return utf8.decode(buf.subarray(start, pos));
}

/**
 * The string of the ASCII bytes buf[start .. end). A message id (32 hex characters, three or more in every message)
 * is made by a call with its codes as arguments: a quarter of the time of `apply` over a view of the bytes.
 */
function asciiString(start: number, end: number): string {
  if (end - start !== 32) return String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
  const b = buf;
  const i = start;
  // biome-ignore format: one row per 8 codes
  return String.fromCharCode(
    b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!, b[i + 6]!, b[i + 7]!,
    b[i + 8]!, b[i + 9]!, b[i + 10]!, b[i + 11]!, b[i + 12]!, b[i + 13]!, b[i + 14]!, b[i + 15]!,
    b[i + 16]!, b[i + 17]!, b[i + 18]!, b[i + 19]!, b[i + 20]!, b[i + 21]!, b[i + 22]!, b[i + 23]!,
    b[i + 24]!, b[i + 25]!, b[i + 26]!, b[i + 27]!, b[i + 28]!, b[i + 29]!, b[i + 30]!, b[i + 31]!,
  );
}

// Sender ids and channel names come back in every message, and every part of a receiving engine looks them up
// (senders, members, quotas, receipts): the same bytes give the same string object, so that those look-ups
// compare pointers, not 64 characters, and decoding builds no new string. Direct-mapped by a hash of the bytes
// (the last string in a slot wins), checked character by character: bounded, and a channel of more senders
// than slots only misses more often.
const INTERNED_SLOTS = 8_192;
const interned: (string | undefined)[] = new Array(INTERNED_SLOTS).fill(undefined);

/** The string of the ASCII bytes buf[start .. end) (end - start <= 128), the same object as last time. */
function internedAscii(start: number, end: number): string {
  // FNV-1a over the bytes, with the length.
  let h = 0x811c9dc5 ^ (end - start);
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  const slot = (h ^ (h >>> 15)) & (INTERNED_SLOTS - 1);
  const known = interned[slot];
  if (known !== undefined && known.length === end - start) {
    let same = true;
    for (let i = 0; i < known.length; i++) {
      if (known.charCodeAt(i) !== buf[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return known;
  }
  const text = String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
  interned[slot] = text;
  return text;
}

/** A sender id or channel name: `string()`, interned when short ASCII. */
function name(): string {
  const length = varint32();
  const start = pos;
  if (length <= 128) {
    let ascii = true;
    for (let i = start; i < start + length; i++) {
      if (buf[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      pos += length;
      return internedAscii(start, pos);
    }
  }
  pos = start + length;
  return utf8.decode(buf.subarray(start, pos));
}

/** Skips a field of `wireType` (0, 1, 2 or 5 after checkWireForm). */
function skip(wireType: number): void {
  if (wireType === 0) while (buf[pos++]! >= 0x80);
  else if (wireType === 1) pos += 8;
  else if (wireType === 5) pos += 4;
  else {
    const length = varint32();
    pos += length;
  }
}

/** The end of the embedded message whose length is at `pos`; `pos` moves to its first field. */
function embedded(): number {
  const length = varint32();
  return pos + length;
}

function historyEntry(): RawHistoryEntry {
  const end = embedded();
  const entry: RawHistoryEntry = { messageId: "" };
  while (pos < end) {
    const tag = varint32();
    if (tag === 0x0a) entry.messageId = string();
    else if (tag === 0x12) entry.retrievalHint = bytes();
    else if (tag === 0x1a) entry.senderId = name();
    else skip(tag & 7);
  }
  return entry;
}

function mark(): RawMark {
  const end = embedded();
  const m: RawMark = { senderPrefix: EMPTY, sequence: 0, first: 0 };
  while (pos < end) {
    const tag = varint32();
    if (tag === 0x0a) m.senderPrefix = bytes();
    else if (tag === 0x10) m.sequence = varintNumber();
    else if (tag === 0x18) m.first = varintNumber();
    else skip(tag & 7);
  }
  return m;
}

function ack(): RawAck {
  const end = embedded();
  const a: RawAck = { nonce: 0n, filter: EMPTY, hashCount: 0, marks: [] };
  while (pos < end) {
    const tag = varint32();
    if (tag === 0x09) a.nonce = fixed64();
    else if (tag === 0x12) a.filter = bytes();
    else if (tag === 0x18) a.hashCount = varint32();
    else if (tag === 0x22) a.marks.push(mark());
    else skip(tag & 7);
  }
  return a;
}

function range(): RawRange {
  const end = embedded();
  const r: RawRange = { senderId: "", first: 0n, last: 0n };
  while (pos < end) {
    const tag = varint32();
    if (tag === 0x0a) r.senderId = name();
    else if (tag === 0x10) r.first = varint64();
    else if (tag === 0x18) r.last = varint64();
    else skip(tag & 7);
  }
  return r;
}

/** Reads a message `checkWireForm` accepted. */
export function readMessage(input: Uint8Array): RawMessage {
  buf = input;
  pos = 0;
  const m: RawMessage = {
    senderId: "",
    messageId: "",
    channelId: "",
    causalHistory: [],
    repairRequest: [],
    kind: 0,
    sequenceRepairRequest: [],
  };
  try {
    while (pos < input.length) {
      const tag = varint32();
      switch (tag) {
        case 0x0a:
          m.senderId = name();
          break;
        case 0x12:
          m.messageId = string();
          break;
        case 0x1a:
          m.channelId = name();
          break;
        case 0x50:
          m.lamportTimestamp = varint64();
          break;
        case 0x5a:
          m.causalHistory.push(historyEntry());
          break;
        case 0x62:
          m.bloomFilter = bytes();
          break;
        case 0x6a:
          m.repairRequest.push(historyEntry());
          break;
        case 0xa2: // field 20, wire type 2
          m.content = bytes();
          break;
        case 0xf0: // field 30, wire type 0: an enum, read as an int32
          m.kind = varint32() | 0;
          break;
        case 0xf8:
          m.sequence = varintNumber();
          break;
        case 0x102:
          m.ack = ack();
          break;
        case 0x112:
          m.sequenceRepairRequest.push(range());
          break;
        case 0x142:
          m.signature = bytes();
          break;
        default:
          skip(tag & 7);
      }
    }
  } finally {
    buf = EMPTY;
  }
  return m;
}
