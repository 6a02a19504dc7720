// Encoding and decoding of the owner service's messages (proto/chorus/v1/owner.proto): receipt reports,
// owner news and the roster. Decoding validates every field and names what is wrong.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { appendSignature, SIGNATURE_BYTES } from "./codec.js";
import { DecodeError } from "./errors.js";
import {
  HeadSchema,
  HeldRangeSchema,
  OwnerNewsSchema,
  ReceiptReportSchema,
  ReceiptSchema,
  RosterSchema,
} from "./gen/chorus/v1/owner_pb.js";
import { readNews, readReport } from "./owner-decode.js";
import { writeOwnerNews, writeReportUnsigned } from "./owner-encode.js";

export const KEY_PREFIX_BYTES = 8;
const MAX_ID_CHARS = 256;
/** Sequence numbers fit in JavaScript numbers. */
const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;

/** A run of one sender's sequence numbers, first..last inclusive. */
export interface HeldRange {
  readonly senderPrefix: Uint8Array;
  readonly first: number;
  readonly last: number;
}

export interface ReceiptReport {
  readonly channelId: string;
  readonly reporter: string;
  readonly writtenAt: number;
  readonly held: readonly HeldRange[];
  readonly signature?: Uint8Array;
}

export interface ReceiptNews {
  readonly sequence: number;
  readonly count: number;
  /** Bit i (byte i >> 3, bit i & 7) is the roster's member i. */
  readonly holders: Uint8Array;
}

export interface Head {
  readonly senderPrefix: Uint8Array;
  readonly sequence: number;
}

export interface OwnerNews {
  readonly channelId: string;
  readonly cursor: number;
  readonly rosterSize: number;
  readonly rosterVersion: number;
  readonly receipts: readonly ReceiptNews[];
  readonly heads: readonly Head[];
}

export interface Roster {
  readonly channelId: string;
  readonly version: number;
  readonly members: readonly string[];
  readonly owner: string;
  readonly signature?: Uint8Array;
}

export interface OwnerLimits {
  readonly maxBytes: number;
  readonly maxRanges: number;
  readonly maxReceipts: number;
  readonly maxHeads: number;
  readonly maxRosterMembers: number;
}

export const DEFAULT_OWNER_LIMITS: OwnerLimits = Object.freeze({
  maxBytes: 4 * 1024 * 1024,
  maxRanges: 16_384,
  maxReceipts: 16_384,
  maxHeads: 100_000,
  maxRosterMembers: 100_000,
});

// Field 40, length-delimited (tag 322, varint c2 02), 64 bytes: a signed channel message's trailer, as
// `appendSignature` writes it (test/wire/owner-decode.test.ts checks they agree).
const MESSAGE_TRAILER = Uint8Array.of(0xc2, 0x02, SIGNATURE_BYTES);
/** Bytes `ownerVerifierInput` adds after the domain and the unsigned encoding (the trailer and the signature). */
export const VERIFIER_TRAILER_BYTES = MESSAGE_TRAILER.length + SIGNATURE_BYTES;
// Field 15, length-delimited, 64 bytes: the trailer every signed owner-service message ends with.
const TRAILER = Uint8Array.of((15 << 3) | 2, SIGNATURE_BYTES);

/** Domains that keep a signature on one kind of owner message from verifying as another, or as a channel message. */
export const REPORT_DOMAIN = new TextEncoder().encode("chorus/report/v1");
export const ROSTER_DOMAIN = new TextEncoder().encode("chorus/roster/v1");

/** The bytes a signer signs (and a verifier checks) for a signed owner message: its domain, then its unsigned encoding. */
export function ownerSigningInput(domain: Uint8Array, unsigned: Uint8Array): Uint8Array {
  const out = new Uint8Array(domain.length + unsigned.length);
  out.set(domain, 0);
  out.set(unsigned, domain.length);
  return out;
}

/**
 * `ownerSigningInput` wrapped as a signed channel message's trailer, so that the message verifiers (which check
 * the bytes before a field-40 signature) check an owner message's signature unchanged.
 */
export function ownerVerifierInput(
  domain: Uint8Array,
  unsigned: Uint8Array,
  signature: Uint8Array,
  /** Written into the start of this buffer when it is large enough (the result is then a view of it). */
  into?: Uint8Array,
): Uint8Array {
  // The owner builds one for every report it checks: written in one buffer, not the signing input copied again.
  if (signature.length !== SIGNATURE_BYTES) return appendSignature(ownerSigningInput(domain, unsigned), signature);
  const length = domain.length + unsigned.length + MESSAGE_TRAILER.length + SIGNATURE_BYTES;
  const out = into !== undefined && into.length >= length ? into.subarray(0, length) : new Uint8Array(length);
  out.set(domain, 0);
  out.set(unsigned, domain.length);
  out.set(MESSAGE_TRAILER, domain.length + unsigned.length);
  out.set(signature, domain.length + unsigned.length + MESSAGE_TRAILER.length);
  return out;
}

/**
 * `unsigned` signed with `sign` over `ownerSigningInput(domain, unsigned)`, with the signature appended
 * (`appendOwnerSignature`): one buffer holds the domain, the encoding and the trailer, and the signature is
 * written into it, instead of the signing input and the signed message each copied from the encoding.
 */
export function signOwnerMessage(
  domain: Uint8Array,
  unsigned: Uint8Array,
  sign: (input: Uint8Array) => Uint8Array,
): Uint8Array {
  const body = domain.length + unsigned.length;
  const out = new Uint8Array(body + TRAILER.length + SIGNATURE_BYTES);
  out.set(domain, 0);
  out.set(unsigned, domain.length);
  const signature = sign(out.subarray(0, body));
  if (signature.length !== SIGNATURE_BYTES) {
    throw new RangeError(`signature must be ${SIGNATURE_BYTES} bytes, got ${signature.length}`);
  }
  out.set(TRAILER, body);
  out.set(signature, body + TRAILER.length);
  return out.subarray(domain.length);
}

export function appendOwnerSignature(unsigned: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== SIGNATURE_BYTES) {
    throw new RangeError(`signature must be ${SIGNATURE_BYTES} bytes, got ${signature.length}`);
  }
  const out = new Uint8Array(unsigned.length + TRAILER.length + SIGNATURE_BYTES);
  out.set(unsigned, 0);
  out.set(TRAILER, unsigned.length);
  out.set(signature, unsigned.length + TRAILER.length);
  return out;
}

/** The bytes before the signature trailer, or undefined when the encoding does not end with one. */
export function ownerSignedPortion(bytes: Uint8Array): Uint8Array | undefined {
  const start = bytes.length - TRAILER.length - SIGNATURE_BYTES;
  if (start < 0 || bytes[start] !== TRAILER[0] || bytes[start + 1] !== TRAILER[1]) return undefined;
  return bytes.subarray(0, start);
}

/** A 64-bit field as read: a bigint from protobuf-es, a number (below 2^53) from owner-decode.ts. */
function toNumber(field: string, value: bigint | number): number {
  if (typeof value === "number") return value;
  if (value > BigInt(MAX_SEQUENCE)) throw new DecodeError(field, `${value} exceeds ${MAX_SEQUENCE}`);
  return Number(value);
}

function checkPrefix(field: string, prefix: Uint8Array): void {
  if (prefix.length !== KEY_PREFIX_BYTES) {
    throw new DecodeError(field, `is ${prefix.length} bytes, must be ${KEY_PREFIX_BYTES}`);
  }
}

function checkId(field: string, value: string, allowEmpty = false): void {
  if (value.length === 0 && !allowEmpty) throw new DecodeError(field, "must not be empty");
  if (value.length > MAX_ID_CHARS) throw new DecodeError(field, `is ${value.length} characters, limit ${MAX_ID_CHARS}`);
}

function checkCount(field: string, count: number, max: number): void {
  if (count > max) throw new DecodeError(field, `has ${count} entries, limit ${max}`);
}

function parse<T>(what: string, bytes: Uint8Array, limits: OwnerLimits, decode: () => T): T {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError(what, `expected Uint8Array, got ${typeof bytes}`);
  if (bytes.length > limits.maxBytes) throw new DecodeError(what, `is ${bytes.length} bytes, limit ${limits.maxBytes}`);
  try {
    return decode();
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw new DecodeError(what, `not a valid protobuf encoding (${(err as Error).message})`);
  }
}

function checkSignature(bytes: Uint8Array, signature: Uint8Array | undefined): Uint8Array | undefined {
  if (signature === undefined) return undefined;
  if (signature.length !== SIGNATURE_BYTES) {
    throw new DecodeError("signature", `is ${signature.length} bytes, must be ${SIGNATURE_BYTES}`);
  }
  if (ownerSignedPortion(bytes) === undefined) throw new DecodeError("signature", "must be the last field");
  return signature;
}

// ------------------------------------------------------------------------------------ receipt report

export function encodeReportUnsigned(report: ReceiptReport): Uint8Array {
  const writtenAt = Math.max(0, Math.floor(report.writtenAt));
  return writeReportUnsigned(report, writtenAt) ?? encodeReportReference(report);
}

/**
 * A report signed with `sign` over `ownerSigningInput(REPORT_DOMAIN, unsigned)`, with the signature appended: what
 * `signOwnerMessage(REPORT_DOMAIN, encodeReportUnsigned(report), sign)` returns, written in one buffer (the domain,
 * the encoding, then the trailer) instead of the encoding copied into another. Every member signs one every few
 * hundred milliseconds.
 */
export function encodeSignedReport(report: ReceiptReport, sign: (input: Uint8Array) => Uint8Array): Uint8Array {
  const writtenAt = Math.max(0, Math.floor(report.writtenAt));
  const domain = REPORT_DOMAIN.length;
  const out = writeReportUnsigned(report, writtenAt, domain, TRAILER.length + SIGNATURE_BYTES);
  if (out === undefined) return signOwnerMessage(REPORT_DOMAIN, encodeReportReference(report), sign);
  out.set(REPORT_DOMAIN, 0);
  const body = out.length - TRAILER.length - SIGNATURE_BYTES;
  const signature = sign(out.subarray(0, body));
  if (signature.length !== SIGNATURE_BYTES) {
    throw new RangeError(`signature must be ${SIGNATURE_BYTES} bytes, got ${signature.length}`);
  }
  out.set(TRAILER, body);
  out.set(signature, body + TRAILER.length);
  return out.subarray(domain);
}

/** `encodeReportUnsigned` through protobuf-es: the reference owner-encode.ts is checked against. */
export function encodeReportReference(report: ReceiptReport): Uint8Array {
  return toBinary(
    ReceiptReportSchema,
    create(ReceiptReportSchema, {
      channelId: report.channelId,
      reporter: report.reporter,
      writtenAt: BigInt(Math.max(0, Math.floor(report.writtenAt))),
      held: report.held.map((h) =>
        create(HeldRangeSchema, { senderPrefix: h.senderPrefix, first: BigInt(h.first), last: BigInt(h.last) }),
      ),
    }),
  );
}

/** A report as either reader gives it (owner-decode.ts, or protobuf-es for the encodings that one leaves). */
interface ReadReport {
  readonly channelId: string;
  readonly reporter: string;
  readonly writtenAt: bigint | number;
  readonly held: readonly { senderPrefix: Uint8Array; first: bigint | number; last: bigint | number }[];
  readonly signature?: Uint8Array | undefined;
}

export function decodeReport(bytes: Uint8Array, limits: OwnerLimits = DEFAULT_OWNER_LIMITS): ReceiptReport {
  const pb: ReadReport = parse(
    "report",
    bytes,
    limits,
    () => readReport(bytes) ?? fromBinary(ReceiptReportSchema, bytes),
  );
  checkId("channel_id", pb.channelId);
  checkId("reporter", pb.reporter);
  checkCount("held", pb.held.length, limits.maxRanges);
  // Field names are built only for an error: the owner decodes a report from every member every few hundred ms.
  const held = pb.held.map((h, i) => {
    if (h.senderPrefix.length !== KEY_PREFIX_BYTES) checkPrefix(`held[${i}].sender_prefix`, h.senderPrefix);
    const first = typeof h.first === "number" ? h.first : toNumber(`held[${i}].first`, h.first);
    const last = typeof h.last === "number" ? h.last : toNumber(`held[${i}].last`, h.last);
    if (first < 1 || last < first)
      throw new DecodeError(`held[${i}]`, `range ${first}..${last} is empty or starts below 1`);
    return { senderPrefix: h.senderPrefix, first, last };
  });
  const signature = checkSignature(bytes, pb.signature);
  return {
    channelId: pb.channelId,
    reporter: pb.reporter,
    writtenAt: toNumber("written_at", pb.writtenAt),
    held,
    ...(signature === undefined ? {} : { signature }),
  };
}

// ------------------------------------------------------------------------------------ owner news

export function encodeOwnerNews(news: OwnerNews): Uint8Array {
  return writeOwnerNews(news) ?? encodeOwnerNewsReference(news);
}

/** `encodeOwnerNews` through protobuf-es: the reference owner-encode.ts is checked against. */
export function encodeOwnerNewsReference(news: OwnerNews): Uint8Array {
  return toBinary(
    OwnerNewsSchema,
    create(OwnerNewsSchema, {
      channelId: news.channelId,
      cursor: BigInt(news.cursor),
      rosterSize: news.rosterSize,
      rosterVersion: BigInt(news.rosterVersion),
      receipts: news.receipts.map((r) =>
        create(ReceiptSchema, { sequence: BigInt(r.sequence), count: r.count, holders: r.holders }),
      ),
      heads: news.heads.map((h) => create(HeadSchema, { senderPrefix: h.senderPrefix, sequence: BigInt(h.sequence) })),
    }),
  );
}

/** News as either reader gives it (owner-decode.ts, or protobuf-es for the encodings that one leaves). */
interface ReadNews {
  readonly channelId: string;
  readonly cursor: bigint | number;
  readonly rosterSize: number;
  readonly rosterVersion: bigint | number;
  readonly receipts: readonly { sequence: bigint | number; count: number; holders: Uint8Array }[];
  readonly heads: readonly { senderPrefix: Uint8Array; sequence: bigint | number }[];
}

export function decodeOwnerNews(bytes: Uint8Array, limits: OwnerLimits = DEFAULT_OWNER_LIMITS): OwnerNews {
  const pb: ReadNews = parse("owner news", bytes, limits, () => readNews(bytes) ?? fromBinary(OwnerNewsSchema, bytes));
  checkId("channel_id", pb.channelId);
  checkCount("receipts", pb.receipts.length, limits.maxReceipts);
  checkCount("heads", pb.heads.length, limits.maxHeads);
  const maxBitmap = Math.ceil(pb.rosterSize / 8);
  const receipts = pb.receipts.map((r, i) => {
    if (r.holders.length > maxBitmap) {
      throw new DecodeError(
        `receipts[${i}].holders`,
        `is ${r.holders.length} bytes, a roster of ${pb.rosterSize} needs ${maxBitmap}`,
      );
    }
    if (r.count > pb.rosterSize)
      throw new DecodeError(`receipts[${i}].count`, `${r.count} exceeds the roster size ${pb.rosterSize}`);
    const sequence = typeof r.sequence === "number" ? r.sequence : toNumber(`receipts[${i}].sequence`, r.sequence);
    if (sequence < 1) throw new DecodeError(`receipts[${i}].sequence`, "must be at least 1");
    return { sequence, count: r.count, holders: r.holders };
  });
  const heads = pb.heads.map((h, i) => {
    if (h.senderPrefix.length !== KEY_PREFIX_BYTES) checkPrefix(`heads[${i}].sender_prefix`, h.senderPrefix);
    const sequence = typeof h.sequence === "number" ? h.sequence : toNumber(`heads[${i}].sequence`, h.sequence);
    return { senderPrefix: h.senderPrefix, sequence };
  });
  return {
    channelId: pb.channelId,
    cursor: toNumber("cursor", pb.cursor),
    rosterSize: pb.rosterSize,
    rosterVersion: toNumber("roster_version", pb.rosterVersion),
    receipts,
    heads,
  };
}

// ------------------------------------------------------------------------------------ roster

export function encodeRosterUnsigned(roster: Roster): Uint8Array {
  return toBinary(
    RosterSchema,
    create(RosterSchema, {
      channelId: roster.channelId,
      version: BigInt(roster.version),
      members: [...roster.members],
      owner: roster.owner,
    }),
  );
}

export function decodeRoster(bytes: Uint8Array, limits: OwnerLimits = DEFAULT_OWNER_LIMITS): Roster {
  const pb = parse("roster", bytes, limits, () => fromBinary(RosterSchema, bytes));
  checkId("channel_id", pb.channelId);
  checkId("owner", pb.owner);
  checkCount("members", pb.members.length, limits.maxRosterMembers);
  pb.members.forEach((m, i) => {
    checkId(`members[${i}]`, m);
  });
  const signature = checkSignature(bytes, pb.signature);
  return {
    channelId: pb.channelId,
    version: toNumber("version", pb.version),
    members: pb.members,
    owner: pb.owner,
    ...(signature === undefined ? {} : { signature }),
  };
}
