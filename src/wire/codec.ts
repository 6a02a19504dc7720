import { create, toBinary } from "@bufbuild/protobuf";
import { type RawAck, type RawHistoryEntry, type RawMessage, readMessage } from "./decode.js";
import { encodedLength, outputBuffer, writeUnsigned } from "./encode.js";
import { DecodeError } from "./errors.js";
import { MessageSchema, Kind as PbKind } from "./gen/chorus/v1/message_pb.js";
import {
  type AckSummary,
  DEFAULT_DECODE_LIMITS,
  type DecodeLimits,
  type HistoryEntry,
  MAX_LAMPORT,
  type MessageKind,
  type SequenceRange,
  type WireMessage,
} from "./types.js";
import { checkWireForm } from "./wire-form.js";

const CHORUS_SENDER_ID = /^[0-9a-f]{64}$/;

/** Ed25519 signatures are 64 bytes; the signature field is always the last 67 bytes of a signed encoding. */
export const SIGNATURE_BYTES = 64;
// Field 40, wire type 2 (length-delimited): tag varint 0xC2 0x02, then the length 64.
const SIGNATURE_TRAILER_PREFIX = Uint8Array.of(0xc2, 0x02, SIGNATURE_BYTES);
export const SIGNATURE_TRAILER_BYTES = SIGNATURE_TRAILER_PREFIX.length + SIGNATURE_BYTES;

const KIND_TO_PB: Record<MessageKind, PbKind> = {
  content: PbKind.CONTENT,
  sync: PbKind.SYNC,
  ephemeral: PbKind.EPHEMERAL,
};

function historyToPb(entries: readonly HistoryEntry[]) {
  return entries.map((e) => ({
    messageId: e.messageId,
    retrievalHint: e.retrievalHint,
    senderId: e.senderId,
  }));
}

/**
 * Encodes everything but the signature. These are the bytes a signature covers.
 * Field order is the field-number order, so the output is deterministic for a given message.
 */
export function encodeUnsigned(message: WireMessage): Uint8Array {
  return writeUnsigned(message);
}

/**
 * `encodeUnsigned` through protobuf-es's reflective encoder: the reference the direct encoder (encode.ts) is
 * checked against.
 */
export function encodeUnsignedReference(message: WireMessage): Uint8Array {
  const pb = create(MessageSchema, {
    senderId: message.senderId,
    messageId: message.messageId,
    channelId: message.channelId,
    lamportTimestamp: message.lamportTimestamp,
    causalHistory: historyToPb(message.causalHistory),
    bloomFilter: message.bloomFilter,
    repairRequest: historyToPb(message.repairRequest),
    content: message.content,
    kind: message.kind === undefined ? PbKind.UNSPECIFIED : KIND_TO_PB[message.kind],
    sequence: message.sequence === undefined ? undefined : BigInt(message.sequence),
    ack:
      message.ack === undefined
        ? undefined
        : {
            nonce: message.ack.nonce,
            filter: message.ack.filter,
            hashCount: message.ack.hashCount,
            marks: message.ack.marks.map((m) => ({
              senderPrefix: m.senderPrefix,
              sequence: BigInt(m.sequence),
              first: BigInt(m.first ?? 0),
            })),
          },
    sequenceRepairRequest: message.sequenceRepairRequest.map((r) => ({
      senderId: r.senderId,
      first: BigInt(r.first),
      last: BigInt(r.last),
    })),
  });
  return toBinary(MessageSchema, pb);
}

/**
 * The unsigned encoding of `message` (`length` bytes, when measured already) in a buffer with room for the
 * signature field after it: `unsigned` is what to sign, and `withSignature` writes the field in place, with
 * no second copy of the message.
 */
export function encodeForSigning(
  message: WireMessage,
  length?: number,
): { unsigned: Uint8Array; withSignature: (signature: Uint8Array) => Uint8Array } {
  const buffer = encodeWithSignatureRoom(message, length);
  return {
    unsigned: buffer.subarray(0, buffer.length - SIGNATURE_TRAILER_BYTES),
    withSignature: (signature) => writeSignature(buffer, signature),
  };
}

/**
 * `encodeForSigning` without the closure (a send's hot path): the unsigned encoding of `message` (with `ack` as
 * its summary when given) then room for the signature field, which `writeSignature` fills. What a signature
 * covers is the buffer but its last `SIGNATURE_TRAILER_BYTES` bytes. The buffer is a view into a shared slab
 * (encode.ts `outputBuffer`): its bytes are the caller's, its `.buffer` is not.
 */
export function encodeWithSignatureRoom(
  message: WireMessage,
  length = encodedLength(message),
  ack: AckSummary | undefined = message.ack,
): Uint8Array {
  return writeUnsigned(message, SIGNATURE_TRAILER_BYTES, length, ack, outputBuffer(length + SIGNATURE_TRAILER_BYTES));
}

/** Writes the signature field into the room `encodeWithSignatureRoom` left; returns the signed encoding. */
export function writeSignature(buffer: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== SIGNATURE_BYTES) {
    throw new RangeError(`signature must be ${SIGNATURE_BYTES} bytes, got ${signature.length}`);
  }
  const start = buffer.length - SIGNATURE_TRAILER_BYTES;
  // Written by hand: 67 bytes, where two calls to `set` cost more than the copy.
  for (let i = 0; i < SIGNATURE_TRAILER_PREFIX.length; i++) buffer[start + i] = SIGNATURE_TRAILER_PREFIX[i]!;
  const at = start + SIGNATURE_TRAILER_PREFIX.length;
  for (let i = 0; i < SIGNATURE_BYTES; i++) buffer[at + i] = signature[i]!;
  return buffer;
}

/** Appends the signature field to an unsigned encoding. */
export function appendSignature(unsigned: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== SIGNATURE_BYTES) {
    throw new RangeError(`signature must be ${SIGNATURE_BYTES} bytes, got ${signature.length}`);
  }
  const out = new Uint8Array(unsigned.length + SIGNATURE_TRAILER_BYTES);
  out.set(unsigned, 0);
  out.set(SIGNATURE_TRAILER_PREFIX, unsigned.length);
  out.set(signature, unsigned.length + SIGNATURE_TRAILER_PREFIX.length);
  return out;
}

/**
 * The part of a signed encoding that its signature covers: every byte before the signature field.
 * Returns undefined when the encoding does not end with a signature field.
 */
export function signedPortion(bytes: Uint8Array): Uint8Array | undefined {
  const start = bytes.length - SIGNATURE_TRAILER_BYTES;
  if (start < 0) return undefined;
  for (let i = 0; i < SIGNATURE_TRAILER_PREFIX.length; i++) {
    if (bytes[start + i] !== SIGNATURE_TRAILER_PREFIX[i]) return undefined;
  }
  return bytes.subarray(0, start);
}

/** Encodes a message; a present `signature` is written as the last field. */
export function encodeMessage(message: WireMessage): Uint8Array {
  const unsigned = encodeUnsigned(message);
  return message.signature === undefined ? unsigned : appendSignature(unsigned, message.signature);
}

function checkString(field: string, value: string, max: number, allowEmpty = false): void {
  if (!allowEmpty && value.length === 0) throw new DecodeError(field, "must not be empty");
  if (value.length > max) {
    throw new DecodeError(field, `is ${value.length} characters, limit ${max}`);
  }
}

function checkBytes(field: string, value: Uint8Array | undefined, max: number): void {
  if (value !== undefined && value.length > max) {
    throw new DecodeError(field, `is ${value.length} bytes, limit ${max}`);
  }
}

function checkCount(field: string, count: number, max: number): void {
  if (count > max) throw new DecodeError(field, `has ${count} entries, limit ${max}`);
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function toSafeNumber(field: string, value: bigint): number {
  if (value > MAX_SAFE) {
    throw new DecodeError(field, `${value} exceeds ${Number.MAX_SAFE_INTEGER}`);
  }
  return Number(value);
}

function historyFromPb(
  field: string,
  entries: readonly RawHistoryEntry[],
  max: number,
  limits: DecodeLimits,
): HistoryEntry[] {
  checkCount(field, entries.length, max);
  // Every message has entries: a field's name is built only for the error that names it.
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const id = e.messageId;
    if (id.length === 0 || id.length > limits.maxIdLength)
      checkString(`${field}[${i}].message_id`, id, limits.maxIdLength);
    const hint = e.retrievalHint;
    if (hint !== undefined && hint.length > limits.maxRetrievalHintBytes) {
      checkBytes(`${field}[${i}].retrieval_hint`, hint, limits.maxRetrievalHintBytes);
    }
    if (e.senderId !== undefined) checkString(`${field}[${i}].sender_id`, e.senderId, limits.maxIdLength);
  }
  // The reader's entries have a history entry's shape (a field only when present), and nothing else holds them.
  return entries as HistoryEntry[];
}

function ackFromPb(ack: RawAck, limits: DecodeLimits): AckSummary {
  checkBytes("ack.filter", ack.filter, limits.maxFilterBytes);
  if (ack.filter.length > 0 && (ack.hashCount < 1 || ack.hashCount > limits.maxHashCount)) {
    throw new DecodeError("ack.hash_count", `is ${ack.hashCount}, must be 1..${limits.maxHashCount}`);
  }
  checkCount("ack.marks", ack.marks.length, limits.maxMarks);
  const marks = ack.marks.map((m, i) => {
    if (m.senderPrefix.length !== 8) {
      throw new DecodeError(`ack.marks[${i}].sender_prefix`, `is ${m.senderPrefix.length} bytes, must be 8`);
    }
    // Ten or so marks a message: a field's name is built only for the error that names it.
    const sequence = typeof m.sequence === "number" ? m.sequence : toSafeNumber(`ack.marks[${i}].sequence`, m.sequence);
    if (sequence === 0) throw new DecodeError(`ack.marks[${i}].sequence`, "is 0: a run ends at sequence 1 or later");
    if (m.first === 0) return { senderPrefix: m.senderPrefix, sequence };
    const first = typeof m.first === "number" ? m.first : toSafeNumber(`ack.marks[${i}].first`, m.first);
    if (first > sequence) throw new DecodeError(`ack.marks[${i}].first`, `${first} is after sequence ${sequence}`);
    return { senderPrefix: m.senderPrefix, sequence, first };
  });
  return { nonce: ack.nonce, filter: ack.filter, hashCount: ack.hashCount, marks };
}

function kindFromPb(kind: PbKind): MessageKind | undefined {
  switch (kind) {
    case PbKind.UNSPECIFIED:
      return undefined;
    case PbKind.CONTENT:
      return "content";
    case PbKind.SYNC:
      return "sync";
    case PbKind.EPHEMERAL:
      return "ephemeral";
    default:
      throw new DecodeError("kind", `unknown kind ${kind}`);
  }
}

/**
 * The kind a message has: the stated one, or for SDS messages (kind unspecified) the one SDS
 * infers: no lamport timestamp is ephemeral, no content is sync, otherwise content.
 */
export function kindOf(message: Pick<WireMessage, "kind" | "lamportTimestamp" | "content">): MessageKind {
  if (message.kind !== undefined) return message.kind;
  if (message.lamportTimestamp === undefined) return "ephemeral";
  if (message.content === undefined || message.content.length === 0) return "sync";
  return "content";
}

function checkKindAgreesWithFields(m: WireMessage): void {
  if (m.kind === undefined) return;
  const hasContent = m.content !== undefined && m.content.length > 0;
  if (m.kind === "ephemeral") {
    if (m.lamportTimestamp !== undefined) {
      throw new DecodeError("lamport_timestamp", "must be absent on an ephemeral message");
    }
    if (!hasContent) throw new DecodeError("content", "must be present on an ephemeral message");
    if (m.sequence !== undefined) throw new DecodeError("sequence", "must be absent on an ephemeral message");
    return;
  }
  if (m.lamportTimestamp === undefined) {
    throw new DecodeError("lamport_timestamp", `must be present on a ${m.kind} message`);
  }
  if (m.kind === "content") {
    if (!hasContent) throw new DecodeError("content", "must be present on a content message");
    if (m.sequence === undefined || m.sequence < 1) {
      throw new DecodeError("sequence", "must be present and at least 1 on a content message");
    }
  } else if (hasContent) {
    throw new DecodeError("content", "must be absent on a sync message");
  }
}

/**
 * Decodes and validates one message. Throws `DecodeError` naming the field and the limit for any
 * invalid input; never returns a partial object.
 */
export function decodeMessage(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): WireMessage {
  if (!(bytes instanceof Uint8Array)) {
    throw new DecodeError("message", `expected Uint8Array, got ${typeof bytes}`);
  }
  if (bytes.length > limits.maxMessageBytes) {
    throw new DecodeError("message", `is ${bytes.length} bytes, limit ${limits.maxMessageBytes}`);
  }
  checkWireForm(bytes);
  let pb: RawMessage;
  try {
    pb = readMessage(bytes);
  } catch (err) {
    throw new DecodeError("message", `not a valid protobuf encoding (${(err as Error).message})`);
  }
  checkString("sender_id", pb.senderId, limits.maxIdLength);
  checkString("message_id", pb.messageId, limits.maxIdLength);
  checkString("channel_id", pb.channelId, limits.maxChannelIdLength);
  if (pb.lamportTimestamp !== undefined && pb.lamportTimestamp > MAX_LAMPORT) {
    throw new DecodeError("lamport_timestamp", `${pb.lamportTimestamp} exceeds ${MAX_LAMPORT}`);
  }
  checkBytes("content", pb.content, limits.maxContentBytes);
  checkBytes("bloom_filter", pb.bloomFilter, limits.maxBloomFilterBytes);
  const causalHistory = historyFromPb("causal_history", pb.causalHistory, limits.maxHistoryEntries, limits);
  const repairRequest = historyFromPb("repair_request", pb.repairRequest, limits.maxRepairRequests, limits);
  checkCount("sequence_repair_request", pb.sequenceRepairRequest.length, limits.maxSequenceRanges);
  const sequenceRepairRequest: SequenceRange[] = pb.sequenceRepairRequest.map((r, i) => {
    const field = `sequence_repair_request[${i}]`;
    checkString(`${field}.sender_id`, r.senderId, limits.maxIdLength);
    // Only signed messages carry ranges (spec 5.7), and they name the Chorus senders whose sequences they ask for.
    if (!CHORUS_SENDER_ID.test(r.senderId)) {
      throw new DecodeError(`${field}.sender_id`, "is not a Chorus sender id (64 lowercase hex characters)");
    }
    const first = toSafeNumber(`${field}.first`, r.first);
    const last = toSafeNumber(`${field}.last`, r.last);
    if (first < 1 || last < first) throw new DecodeError(field, `range ${first}..${last} is empty or starts below 1`);
    if (last - first + 1 > limits.maxSequenceRangeSpan) {
      throw new DecodeError(field, `spans ${last - first + 1} sequence numbers, limit ${limits.maxSequenceRangeSpan}`);
    }
    return { senderId: r.senderId, first, last };
  });
  let signature: Uint8Array | undefined;
  if (pb.signature !== undefined) {
    if (pb.signature.length !== SIGNATURE_BYTES) {
      throw new DecodeError("signature", `is ${pb.signature.length} bytes, must be ${SIGNATURE_BYTES}`);
    }
    if (signedPortion(bytes) === undefined) throw new DecodeError("signature", "must be the last field");
    signature = pb.signature;
  }
  const message: {
    -readonly [K in keyof WireMessage]: WireMessage[K];
  } = {
    senderId: pb.senderId,
    messageId: pb.messageId,
    channelId: pb.channelId,
    causalHistory,
    repairRequest,
    sequenceRepairRequest,
  };
  if (pb.lamportTimestamp !== undefined) message.lamportTimestamp = pb.lamportTimestamp;
  if (pb.bloomFilter !== undefined) message.bloomFilter = pb.bloomFilter;
  if (pb.content !== undefined) message.content = pb.content;
  const kind = kindFromPb(pb.kind);
  if (kind !== undefined) message.kind = kind;
  if (pb.sequence !== undefined)
    message.sequence = typeof pb.sequence === "number" ? pb.sequence : toSafeNumber("sequence", pb.sequence);
  if (pb.ack !== undefined) message.ack = ackFromPb(pb.ack, limits);
  if (signature !== undefined) message.signature = signature;
  checkKindAgreesWithFields(message);
  return message;
}
