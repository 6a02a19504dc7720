import { DecodeError } from "./errors.js";

/**
 * The wire-form rules of spec section 5.5.1, checked in one pass over the bytes before the protobuf library parses
 * them. Protobuf parsers differ, or quietly repair, exactly where these rules apply: a field that appears twice (a
 * scalar keeps its last value, an embedded message merges, so two `ack` fields would join their marks), a known
 * field with another wire type, groups, varints wider than their type (a uint32 truncates). Two decoders must
 * accept the same messages from the same signed bytes, so all of these are errors that name the field.
 */

type Scalar = "string" | "bytes" | "uint64" | "uint32" | "fixed64";

interface FieldSpec {
  readonly name: string;
  readonly type: Scalar | Schema;
  readonly repeated?: true;
}

interface Schema {
  readonly fields: ReadonlyMap<number, FieldSpec>;
}

const schema = (fields: Record<number, FieldSpec>): Schema => ({
  fields: new Map(Object.entries(fields).map(([n, f]) => [Number(n), f])),
});

const HISTORY_ENTRY = schema({
  1: { name: "message_id", type: "string" },
  2: { name: "retrieval_hint", type: "bytes" },
  3: { name: "sender_id", type: "string" },
});
const RECEIVED_UP_TO = schema({
  1: { name: "sender_prefix", type: "bytes" },
  2: { name: "sequence", type: "uint64" },
  3: { name: "first", type: "uint64" },
});
const ACK_SUMMARY = schema({
  1: { name: "nonce", type: "fixed64" },
  2: { name: "filter", type: "bytes" },
  3: { name: "hash_count", type: "uint32" },
  4: { name: "marks", type: RECEIVED_UP_TO, repeated: true },
});
const SEQUENCE_RANGE = schema({
  1: { name: "sender_id", type: "string" },
  2: { name: "first", type: "uint64" },
  3: { name: "last", type: "uint64" },
});
/** chorus.v1.Message; the enum `kind` travels as a uint32 varint (its values are 0..3). */
const MESSAGE = schema({
  1: { name: "sender_id", type: "string" },
  2: { name: "message_id", type: "string" },
  3: { name: "channel_id", type: "string" },
  10: { name: "lamport_timestamp", type: "uint64" },
  11: { name: "causal_history", type: HISTORY_ENTRY, repeated: true },
  12: { name: "bloom_filter", type: "bytes" },
  13: { name: "repair_request", type: HISTORY_ENTRY, repeated: true },
  20: { name: "content", type: "bytes" },
  30: { name: "kind", type: "uint32" },
  31: { name: "sequence", type: "uint64" },
  32: { name: "ack", type: ACK_SUMMARY },
  34: { name: "sequence_repair_request", type: SEQUENCE_RANGE, repeated: true },
  40: { name: "signature", type: "bytes" },
});

const WIRE_TYPE: Record<Scalar, number> = { string: 2, bytes: 2, uint64: 0, uint32: 0, fixed64: 1 };
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A schema's fields by number, in an array: the walk looks one up per field. One table per place in the message
 * (a history entry under causal_history and under repair_request), so that its path for errors is made once.
 */
interface Table {
  /** What prefixes field names in errors: "" at the top level, else "causal_history." and so on. */
  readonly path: string;
  readonly byNumber: readonly (FieldSpec | undefined)[];
  readonly expected: readonly number[];
  readonly nested: readonly (Table | undefined)[];
}

function tableOf(s: Schema, path: string): Table {
  const size = Math.max(...s.fields.keys()) + 1;
  const byNumber: (FieldSpec | undefined)[] = new Array(size).fill(undefined);
  const expected: number[] = new Array(size).fill(-1);
  const nested: (Table | undefined)[] = new Array(size).fill(undefined);
  for (const [n, f] of s.fields) {
    byNumber[n] = f;
    expected[n] = typeof f.type === "string" ? WIRE_TYPE[f.type] : 2;
    if (typeof f.type !== "string") nested[n] = tableOf(f.type, `${nameOf(path, f, n)}.`);
  }
  return { path, byNumber, expected, nested };
}

/** The name errors use for field `number` of the message at `path` ("" for the top level). */
function nameOf(path: string, spec: FieldSpec | undefined, number: number): string {
  return spec === undefined ? `${path}field ${number}` : `${path}${spec.name}`;
}

function fail(path: string, spec: FieldSpec | undefined, number: number, problem: string): never {
  throw new DecodeError(nameOf(path, spec, number), problem);
}

let pos = 0;

function varintName(path: string, spec: FieldSpec | undefined, number: number): string {
  return number < 0 ? (path === "" ? "message" : path.slice(0, -1)) : nameOf(path, spec, number);
}

/**
 * Reads the varint at `pos`: at most 10 bytes and at most 2^64 − 1, or at most 2^32 − 1 when `narrow`. Returns its
 * value when below 2^32 (tags and lengths), else -1. Errors name field `number` of `path`, or for a tag (number
 * -1) the message itself.
 */
function varint(
  bytes: Uint8Array,
  end: number,
  narrow: boolean,
  path: string,
  spec: FieldSpec | undefined,
  number: number,
): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new DecodeError(varintName(path, spec, number), "ends inside a varint");
    const byte = bytes[pos++]!;
    if (byte < 0x80 && i === 0) return byte;
    const payload = byte & 0x7f;
    if (i === 9 && payload > 1) throw new DecodeError(varintName(path, spec, number), "varint exceeds 2^64 − 1");
    if (narrow && ((i === 4 && payload > 0x0f) || (i > 4 && payload !== 0))) {
      throw new DecodeError(varintName(path, spec, number), "exceeds 2^32 − 1 (a 32-bit field)");
    }
    if (i < 5) value += payload * scale;
    else if (payload !== 0) value = -1;
    scale *= 128;
    if ((byte & 0x80) === 0) return value >= 2 ** 32 ? -1 : value;
  }
  throw new DecodeError(varintName(path, spec, number), "varint is longer than 10 bytes");
}

function isUtf8(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    if (bytes[i]! >= 0x80) {
      try {
        strictUtf8.decode(bytes.subarray(start, end));
        return true;
      } catch {
        return false;
      }
    }
  }
  return true;
}

/** Walks one message (or embedded message) from `pos` to `end`. */
function walk(bytes: Uint8Array, end: number, table: Table): void {
  const path = table.path;
  // Field numbers seen, for the at-most-once rule; known fields are all below 64.
  let seenLow = 0;
  let seenHigh = 0;
  while (pos < end) {
    const tag = varint(bytes, end, true, path, undefined, -1);
    const number = Math.floor(tag / 8);
    const wireType = tag & 7;
    const spec = number < table.byNumber.length ? table.byNumber[number] : undefined;
    if (number === 0) fail(path, spec, number, "field number 0 is not allowed");
    if (wireType === 3 || wireType === 4)
      fail(path, spec, number, `uses wire type ${wireType} (groups are not allowed)`);
    if (wireType > 5) fail(path, spec, number, `uses wire type ${wireType}, which does not exist`);
    if (spec !== undefined) {
      const expected = table.expected[number]!;
      if (wireType !== expected) fail(path, spec, number, `has wire type ${wireType}, expected ${expected}`);
      if (spec.repeated !== true) {
        const bit = 1 << (number % 32);
        if (number < 32 ? seenLow & bit : seenHigh & bit) fail(path, spec, number, "appears more than once");
        if (number < 32) seenLow |= bit;
        else seenHigh |= bit;
      }
    }
    if (wireType === 0) varint(bytes, end, spec !== undefined && spec.type === "uint32", path, spec, number);
    else if (wireType === 1 || wireType === 5) {
      const size = wireType === 1 ? 8 : 4;
      if (size > end - pos) fail(path, spec, number, "runs past the end of its message");
      pos += size;
    } else {
      const length = varint(bytes, end, false, path, spec, number);
      const start = pos;
      if (length < 0 || length > end - pos) fail(path, spec, number, "runs past the end of its message");
      pos += length;
      if (spec === undefined) continue;
      if (spec.type === "string" && !isUtf8(bytes, start, pos)) fail(path, spec, number, "is not well-formed UTF-8");
      const inner = table.nested[number];
      if (inner !== undefined) {
        const after = pos;
        pos = start;
        walk(bytes, after, inner);
        pos = after;
      }
    }
  }
}

const MESSAGE_TABLE = tableOf(MESSAGE, "");

/** Throws DecodeError, naming the field, when `bytes` break a wire-form rule of spec section 5.5.1. */
export function checkWireForm(bytes: Uint8Array): void {
  pos = 0;
  walk(bytes, bytes.length, MESSAGE_TABLE);
}
