import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { kindOf, type MessageKind, type ReceivedUpTo, type WireMessage } from "../wire/index.js";
import { sha256Midstate, sha256Resume } from "./sha256.js";

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A message id: lowercase hex of the first 16 bytes of the id hash (see `computeMessageId`). */
export type MessageId = Brand<string, "MessageId">;
/** A sender id: lowercase hex of the sender's 32-byte ed25519 public key. */
export type SenderId = Brand<string, "SenderId">;
export type ChannelId = Brand<string, "ChannelId">;

export const MESSAGE_ID_BYTES = 16;
export const SENDER_PREFIX_BYTES = 8;

const ID_DOMAIN = utf8ToBytes("chorus/id/v1");
const KIND_CODE: Record<MessageKind, number> = { content: 1, sync: 2, ephemeral: 3 };

export interface IdFields {
  readonly channelId: string;
  readonly senderId: string;
  readonly kind: MessageKind;
  /** 0 for sync and ephemeral messages. */
  readonly sequence: number;
  /** 0n for ephemeral messages, which carry no timestamp. */
  readonly lamportTimestamp: bigint;
  readonly content: Uint8Array;
}

// computeMessageId runs for every message sent and received: the fixed-size part of its hash input is
// written into one reused buffer, and ASCII strings (hex sender ids, most channel names) without TextEncoder.
let header = new Uint8Array(256);
let headerView = new DataView(header.buffer);

/** Grows the buffer, keeping what is written. */
function reserve(length: number): void {
  if (header.length >= length) return;
  const grown = new Uint8Array(Math.max(length, 2 * header.length));
  grown.set(header);
  header = grown;
  headerView = new DataView(header.buffer);
}

/** Writes lp(utf8(text)) at `offset`; returns the offset after it. */
function writeLengthPrefixed(text: string, offset: number): number {
  reserve(offset + 4 + text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) {
      const bytes = utf8ToBytes(text);
      reserve(offset + 4 + bytes.length);
      headerView.setUint32(offset, bytes.length);
      header.set(bytes, offset + 4);
      return offset + 4 + bytes.length;
    }
    header[offset + 4 + i] = c;
  }
  headerView.setUint32(offset, text.length);
  return offset + 4 + text.length;
}

/**
 * id = hex(SHA-256("chorus/id/v1" || lp(channel) || lp(sender) || kind || u64(seq) || u64(lamport) || lp(content)))[0..16 bytes]
 * where lp(x) is x prefixed by its length as a big-endian u32. Everything that makes a message
 * distinct goes in, so two members sending the same text get different ids.
 */
export function computeMessageId(fields: IdFields): MessageId {
  const length = writeIdInput(fields);
  if (length < 0) return longContentId(fields);
  hashIdInput(fields, length);
  return hexOfDigest() as MessageId;
}

/**
 * Writes the id hash's input into the reused buffer and returns its length; with content longer than
 * INLINE_CONTENT_BYTES only the part before the content is written, and -1 returned.
 */
function writeIdInput(fields: IdFields): number {
  reserve(ID_DOMAIN.length);
  header.set(ID_DOMAIN, 0);
  let offset = writeLengthPrefixed(fields.channelId, ID_DOMAIN.length);
  offset = writeLengthPrefixed(fields.senderId, offset);
  prefixLength = offset;
  reserve(offset + 21);
  header[offset] = KIND_CODE[fields.kind];
  // A sequence is a safe integer: its u64 written as two u32 halves, with no BigInt made per message.
  headerView.setUint32(offset + 1, Math.floor(fields.sequence / 0x1_0000_0000));
  headerView.setUint32(offset + 5, fields.sequence >>> 0);
  headerView.setBigUint64(offset + 9, fields.lamportTimestamp);
  headerView.setUint32(offset + 17, fields.content.length);
  headerLength = offset + 21;
  if (fields.content.length > INLINE_CONTENT_BYTES) return -1;
  // Short content goes into the same buffer: one allocation-free hash (sha256.ts) instead of a hasher object.
  const length = offset + 21 + fields.content.length;
  reserve(length);
  header.set(fields.content, offset + 21);
  return length;
}

/** Bytes of the reused buffer before the content, as `writeIdInput` last wrote them. */
let headerLength = 0;
/** Bytes of the reused buffer that depend on the channel and sender alone (domain, lp(channel), lp(sender)). */
let prefixLength = 0;

// Every id hashes "chorus/id/v1" || lp(channel) || lp(sender) first: 97 bytes with a hex sender id, so its first
// block (of the three a short chat message's input takes) is the same for every message of one sender in one
// channel. The state after the prefix's whole blocks is kept per (channel, sender): a pure memo, direct-mapped by
// the sender's first characters (the last pair there wins), both strings compared on every look-up.
const MIDSTATE_SLOTS = 256;
const midstateChannel: (string | undefined)[] = new Array(MIDSTATE_SLOTS).fill(undefined);
const midstateSender: (string | undefined)[] = new Array(MIDSTATE_SLOTS).fill(undefined);
const midstates = Array.from({ length: MIDSTATE_SLOTS }, () => new Int32Array(8));
/** Bytes each slot's midstate covers (whole blocks of its prefix). */
const midstateBytes = new Int32Array(MIDSTATE_SLOTS);

function midstateSlot(senderId: string): number {
  const n = senderId.length;
  if (n < 4) return n === 0 ? 0 : senderId.charCodeAt(0) & (MIDSTATE_SLOTS - 1);
  const h = Math.imul(
    senderId.charCodeAt(0) ^
      (senderId.charCodeAt(1) << 7) ^
      (senderId.charCodeAt(2) << 14) ^
      (senderId.charCodeAt(3) << 21),
    0x9e3779b1,
  );
  return h >>> 24;
}

/** SHA-256 of the id input `writeIdInput` wrote (`length` bytes) into `digest`, from the prefix's kept midstate. */
function hashIdInput(fields: IdFields, length: number): void {
  const slot = midstateSlot(fields.senderId);
  const state = midstates[slot]!;
  if (midstateSender[slot] !== fields.senderId || midstateChannel[slot] !== fields.channelId) {
    midstateBytes[slot] = prefixLength - (prefixLength % 64);
    sha256Midstate(header, midstateBytes[slot]!, state);
    midstateSender[slot] = fields.senderId;
    midstateChannel[slot] = fields.channelId;
  }
  sha256Resume(state, header, midstateBytes[slot]!, length, digest);
}

/** The id of a message with long content, hashed where the content lies after `writeIdInput`. */
function longContentId(fields: IdFields): MessageId {
  const d = sha256.create().update(header.subarray(0, headerLength)).update(fields.content).digest();
  return bytesToHex(d.subarray(0, MESSAGE_ID_BYTES)) as MessageId;
}

/** Longer content is hashed where it lies, so that the reused buffer stays small. */
const INLINE_CONTENT_BYTES = 4_096;
const digest = new Int32Array(8);

/** Character codes of the id being written (reused). */
const hexCodes: number[] = new Array(2 * MESSAGE_ID_BYTES).fill(0);

/**
 * Lowercase hex of the first MESSAGE_ID_BYTES bytes of `digest`: one flat string made from character codes, where
 * concatenating byte pairs made some twenty intermediate strings per message.
 */
function hexOfDigest(): string {
  for (let i = 0; i < MESSAGE_ID_BYTES; i++) {
    const byte = (digest[i >>> 2]! >>> (24 - 8 * (i & 3))) & 0xff;
    hexCodes[2 * i] = HEX_CHAR[byte >>> 4]!;
    hexCodes[2 * i + 1] = HEX_CHAR[byte & 0xf]!;
  }
  return String.fromCharCode.apply(null, hexCodes);
}

// One decoded message can reach every member of a channel (the simulator decodes each publication once
// for all its receivers), so what follows from it alone is computed once per decoded object. Decoded
// messages are read-only; these are pure memos, keyed weakly so that they never hold a message alive.
const idOfDecoded = new WeakMap<WireMessage, MessageId>();

/**
 * Whether `message` carries the id its fields hash to, without a memo: for a decoded object only one engine sees.
 * The digest is compared with the id's hex in place, with no string built.
 */
export function carriesExpectedId(message: WireMessage): boolean {
  const fields = idFieldsOf(message);
  const length = writeIdInput(fields);
  if (length < 0) return longContentId(fields) === message.messageId;
  hashIdInput(fields, length);
  const id = message.messageId;
  if (id.length !== 2 * MESSAGE_ID_BYTES) return false;
  for (let i = 0; i < MESSAGE_ID_BYTES; i++) {
    const byte = (digest[i >>> 2]! >>> (24 - 8 * (i & 3))) & 0xff;
    if (id.charCodeAt(2 * i) !== HEX_CHAR[byte >>> 4] || id.charCodeAt(2 * i + 1) !== HEX_CHAR[byte & 0xf]) {
      return false;
    }
  }
  return true;
}

const HEX_CHAR = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));

function idFieldsOf(message: WireMessage): IdFields {
  return {
    channelId: message.channelId,
    senderId: message.senderId,
    kind: kindOf(message),
    sequence: message.sequence ?? 0,
    lamportTimestamp: message.lamportTimestamp ?? 0n,
    content: message.content ?? EMPTY,
  };
}

const EMPTY = new Uint8Array(0);

/** The id `message`'s fields hash to (`computeMessageId`), which a valid message must carry. */
export function expectedMessageId(message: WireMessage): MessageId {
  let id = idOfDecoded.get(message);
  if (id === undefined) {
    id = computeMessageId(idFieldsOf(message));
    idOfDecoded.set(message, id);
  }
  return id;
}

// Every member reads every mark of every summary it receives (ten or so a message): the hex of an 8-byte prefix is
// found by its bytes as two numbers, with no string built and no per-object memo (a WeakMap insertion cost more
// than the look-up it saved). Bounded, and emptied when full, as the canonical prefixes below.
const prefixByHead = new Map<number, { readonly tail: number; readonly hex: string }>();

/** The sender key prefix of an ack mark as hex, the form `senderPrefixHex` gives. */
export function markPrefixHex(mark: ReceivedUpTo): string {
  const b = mark.senderPrefix;
  if (b.length !== SENDER_PREFIX_BYTES) return canonicalPrefix(bytesToHex(b));
  // 6 bytes exactly in a double, 2 more beside them.
  const head = (b[0]! * 0x1_0000 + b[1]! * 0x100 + b[2]!) * 0x100_0000 + b[3]! * 0x1_0000 + b[4]! * 0x100 + b[5]!;
  const tail = b[6]! * 0x100 + b[7]!;
  const known = prefixByHead.get(head);
  if (known !== undefined && known.tail === tail) return known.hex;
  const hex = canonicalPrefix(bytesToHex(b));
  if (prefixByHead.size >= MAX_CANONICAL_PREFIXES) prefixByHead.clear();
  prefixByHead.set(head, { tail, hex });
  return hex;
}

// Every engine indexes senders by prefix and looks up the prefix of every mark it reads. When both sides
// are the same string object, a Map look-up compares pointers and never reads the stored key: with a
// thousand engines in one process (the simulator), those reads are cache misses and cost more than all
// the rest of reading a mark. Equal strings only; bounded, and emptied when full.
const MAX_CANONICAL_PREFIXES = 65_536;
const canonicalPrefixes = new Map<string, string>();

function canonicalPrefix(hex: string): string {
  const known = canonicalPrefixes.get(hex);
  if (known !== undefined) return known;
  if (canonicalPrefixes.size >= MAX_CANONICAL_PREFIXES) canonicalPrefixes.clear();
  canonicalPrefixes.set(hex, hex);
  return hex;
}

const HEX_KEY = /^[0-9a-f]{64}$/;

/** True when `id` has the shape of a Chorus sender id (64 lowercase hex characters). */
export function isChorusSenderId(id: string): id is SenderId {
  return HEX_KEY.test(id);
}

/** The first 8 bytes of a sender's key as hex, used to name senders compactly in ack marks. */
export function senderPrefixHex(senderId: string): string {
  if (isChorusSenderId(senderId)) return canonicalPrefix(senderId.slice(0, SENDER_PREFIX_BYTES * 2));
  // Foreign (SDS) sender ids are arbitrary strings: name them by a hash of the string.
  return canonicalPrefix(bytesToHex(sha256(utf8ToBytes(senderId)).subarray(0, SENDER_PREFIX_BYTES)));
}

// Every summary a member sends names up to ackMaxMarks senders by prefix: the bytes are kept per sender id
// (bounded, emptied when full, as above). Callers only read them: they go into encodings.
const prefixBytes = new Map<string, Uint8Array>();

export function senderPrefixBytes(senderId: string): Uint8Array {
  let bytes = prefixBytes.get(senderId);
  if (bytes === undefined) {
    if (prefixBytes.size >= MAX_CANONICAL_PREFIXES) prefixBytes.clear();
    bytes = hexToBytes(senderPrefixHex(senderId));
    prefixBytes.set(senderId, bytes);
  }
  return bytes;
}
