import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import type { MessageKind } from "../wire/index.js";

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
  reserve(ID_DOMAIN.length);
  header.set(ID_DOMAIN, 0);
  let offset = writeLengthPrefixed(fields.channelId, ID_DOMAIN.length);
  offset = writeLengthPrefixed(fields.senderId, offset);
  reserve(offset + 21);
  header[offset] = KIND_CODE[fields.kind];
  headerView.setBigUint64(offset + 1, BigInt(fields.sequence));
  headerView.setBigUint64(offset + 9, fields.lamportTimestamp);
  headerView.setUint32(offset + 17, fields.content.length);
  const digest = sha256
    .create()
    .update(header.subarray(0, offset + 21))
    .update(fields.content)
    .digest();
  return bytesToHex(digest.subarray(0, MESSAGE_ID_BYTES)) as MessageId;
}

const HEX_KEY = /^[0-9a-f]{64}$/;

/** True when `id` has the shape of a Chorus sender id (64 lowercase hex characters). */
export function isChorusSenderId(id: string): id is SenderId {
  return HEX_KEY.test(id);
}

/** The first 8 bytes of a sender's key as hex, used to name senders compactly in ack marks. */
export function senderPrefixHex(senderId: string): string {
  if (isChorusSenderId(senderId)) return senderId.slice(0, SENDER_PREFIX_BYTES * 2);
  // Foreign (SDS) sender ids are arbitrary strings: name them by a hash of the string.
  return bytesToHex(sha256(utf8ToBytes(senderId)).subarray(0, SENDER_PREFIX_BYTES));
}

export function senderPrefixBytes(senderId: string): Uint8Array {
  return hexToBytes(senderPrefixHex(senderId));
}
