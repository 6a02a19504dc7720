// The Waku service messages that carry a WakuMessage inside (store v3 responses, filter pushes, light push
// requests), read and written so that the envelope's bytes pass through unchanged.
//
// The generated schemas (src/wire/gen/waku/v2) decode a nested WakuMessage into fields and encode it again
// from them; another encoder may order or omit fields differently, and what Waku nodes hash and compare is
// the envelope as its author wrote it. So a service node splices stored envelope bytes into its answers
// (`encodeStoreQueryResponse`, `encodeMessagePush`) and takes a pushed envelope out of a request as it came
// (`rawField`), and uses the generated schemas only for everything around it.
import { create, toBinary } from "@bufbuild/protobuf";
import { DecodeError } from "./errors.js";
import { type StoreQueryResponse, StoreQueryResponseSchema } from "./gen/waku/v2/store_pb.js";
import { encodeUvarint } from "./varint.js";

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** One stored message in a store answer: its hash, the envelope bytes as stored, its pubsub topic. */
export interface StoreEntry {
  readonly hash: Uint8Array;
  /** The WakuMessage bytes, or undefined when the query did not ask for data. */
  readonly envelope?: Uint8Array;
  readonly pubsubTopic: string;
}

/** Everything of a StoreQueryResponse except its messages, which are `entries`. */
export type StoreResponseHead = Omit<Partial<StoreQueryResponse>, "messages" | "$typeName">;

/** A StoreQueryResponse whose `messages` (field 20) carry `entries` with their envelopes spliced in as they are. */
export function encodeStoreQueryResponse(head: StoreResponseHead, entries: readonly StoreEntry[]): Uint8Array {
  const base = toBinary(StoreQueryResponseSchema, create(StoreQueryResponseSchema, head));
  const parts: Uint8Array[] = [base];
  for (const entry of entries) {
    const inner: Uint8Array[] = [lenField(1, entry.hash)];
    if (entry.envelope !== undefined) inner.push(lenField(2, entry.envelope));
    inner.push(lenField(3, new TextEncoder().encode(entry.pubsubTopic)));
    parts.push(lenField(20, concat(inner)));
  }
  return concat(parts);
}

/** A filter v2 MessagePush: waku_message 1 (the envelope as it is), pubsub_topic 2. */
export function encodeMessagePush(envelope: Uint8Array, pubsubTopic: string): Uint8Array {
  return concat([lenField(1, envelope), lenField(2, new TextEncoder().encode(pubsubTopic))]);
}

/**
 * The bytes of the last occurrence of length-delimited field `field` at the top level of the protobuf
 * `bytes` (protobuf's rule: for a singular field the last one wins), or undefined when absent. Throws
 * DecodeError naming `what` when `bytes` is not a well-formed protobuf encoding.
 */
export function rawField(bytes: Uint8Array, field: number, what: string): Uint8Array | undefined {
  let found: Uint8Array | undefined;
  let pos = 0;
  while (pos < bytes.length) {
    const [tag, afterTag] = readVarint(bytes, pos, what);
    const number = Math.floor(tag / 8);
    const wire = tag % 8;
    if (number === 0) throw new DecodeError(what, `field number 0 at byte ${pos}`);
    pos = afterTag;
    if (wire === WIRE_VARINT) {
      pos = readVarint(bytes, pos, what)[1];
    } else if (wire === WIRE_I64 || wire === WIRE_I32) {
      pos += wire === WIRE_I64 ? 8 : 4;
    } else if (wire === WIRE_LEN) {
      const [length, start] = readVarint(bytes, pos, what);
      pos = start + length;
      if (pos > bytes.length) throw new DecodeError(what, `field ${number} runs past the end (${length} bytes)`);
      if (number === field) found = bytes.subarray(start, pos);
    } else {
      throw new DecodeError(what, `field ${number} has unsupported wire type ${wire}`);
    }
    if (pos > bytes.length) throw new DecodeError(what, `field ${number} runs past the end`);
  }
  return found;
}

function readVarint(bytes: Uint8Array, start: number, what: string): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let pos = start; pos < bytes.length && pos - start < 10; pos++) {
    const byte = bytes[pos] as number;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      if (!Number.isSafeInteger(value)) throw new DecodeError(what, `varint at byte ${start} is too large`);
      return [value, pos + 1];
    }
    scale *= 0x80;
  }
  throw new DecodeError(what, `truncated or overlong varint at byte ${start}`);
}

function lenField(field: number, value: Uint8Array): Uint8Array {
  return concat([encodeUvarint(field * 8 + WIRE_LEN), encodeUvarint(value.length), value]);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
