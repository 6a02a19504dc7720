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

function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

function u64(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value);
  return out;
}

/**
 * id = hex(SHA-256("chorus/id/v1" || lp(channel) || lp(sender) || kind || u64(seq) || u64(lamport) || lp(content)))[0..16 bytes]
 * where lp(x) is x prefixed by its length as a big-endian u32. Everything that makes a message
 * distinct goes in, so two members sending the same text get different ids.
 */
export function computeMessageId(fields: IdFields): MessageId {
  const parts = [
    ID_DOMAIN,
    lengthPrefixed(utf8ToBytes(fields.channelId)),
    lengthPrefixed(utf8ToBytes(fields.senderId)),
    Uint8Array.of(KIND_CODE[fields.kind]),
    u64(BigInt(fields.sequence)),
    u64(fields.lamportTimestamp),
    lengthPrefixed(fields.content),
  ];
  let total = 0;
  for (const p of parts) total += p.length;
  const input = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    input.set(p, offset);
    offset += p.length;
  }
  return bytesToHex(sha256(input).subarray(0, MESSAGE_ID_BYTES)) as MessageId;
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
