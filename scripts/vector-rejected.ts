// The `rejected` list of spec/vectors/encoding.json: payloads every decoder must refuse (spec section 5.5), each
// with the field its error names. Built from a valid unsigned content message by appending or prepending one
// offending field, so that each input breaks exactly one rule.
import { bytesToHex } from "@noble/hashes/utils.js";
import { encodeUvarint } from "../src/wire/varint.js";

const cat = (...parts: (Uint8Array | readonly number[])[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
/** A length-delimited field: tag bytes, uvarint length, payload. */
const ld = (tag: readonly number[], payload: Uint8Array | readonly number[]) =>
  cat(tag, encodeUvarint(payload.length), payload);
const hex64 = (byte: number) => new Uint8Array(64).fill(byte);

/**
 * `base` is the unsigned encoding of a content message with kind, lamport and sequence and no ack, ranges or
 * signature; `prefix` an 8-byte sender prefix for otherwise valid marks.
 */
export function rejectedEncodings(base: Uint8Array, prefix: Uint8Array) {
  const utf8 = new TextEncoder();
  const signatureField = cat([0xc2, 0x02, 0x40], hex64(0x11));
  const mark = (sequence: number) => ld([0x22], cat(ld([0x0a], prefix), [0x10], encodeUvarint(sequence)));
  const ack = (...fields: (Uint8Array | readonly number[])[]) => ld([0x82, 0x02], cat(...fields));
  const range = (id: string) => ld([0x92, 0x02], cat(ld([0x0a], utf8.encode(id)), [0x10, 0x01, 0x18, 0x01]));
  const cases: [string, Uint8Array, string][] = [
    [
      "a known field with another wire type (lamport_timestamp as bytes)",
      cat(base, ld([0x52], [0x01])),
      "lamport_timestamp",
    ],
    ["a group (wire type 3) of an unknown field", cat(base, [0x93, 0x03, 0x94, 0x03]), "field 50"],
    ["a group (wire type 3) where a known field is", cat(base, [0x5b, 0x5c]), "causal_history"],
    ["wire type 7", cat(base, [0xbf, 0x03, 0x00]), "field 55"],
    ["field number 0", cat(base, [0x00, 0x00]), "field 0"],
    ["a non-repeated field twice: channel_id", cat(base, ld([0x1a], utf8.encode("c"))), "channel_id"],
    ["a non-repeated field twice: kind", cat(base, [0xf0, 0x01, 0x01]), "kind"],
    ["two ack fields (a merging parser would join their marks)", cat(base, ack(mark(1)), ack(mark(2))), "ack"],
    ["hash_count twice inside ack", cat(base, ack([0x18, 0x01], [0x18, 0x02])), "ack.hash_count"],
    ["two signature fields", cat(base, signatureField, signatureField), "signature"],
    ["invalid UTF-8 in channel_id", cat(ld([0x1a], [0xff]), base), "channel_id"],
    [
      "invalid UTF-8 in a causal-history id",
      cat(base, ld([0x5a], ld([0x0a], [0xc3, 0x28]))),
      "causal_history.message_id",
    ],
    [
      "hash_count above 2^32 − 1",
      cat(base, ack(ld([0x12], [0x01]), [0x18, 0x81, 0x80, 0x80, 0x80, 0x10])),
      "ack.hash_count",
    ],
    ["kind above 2^32 − 1 (would truncate to content)", cat([0xf0, 0x01, 0x81, 0x80, 0x80, 0x80, 0x10], base), "kind"],
    ["a varint longer than 10 bytes", cat([0x50], new Array(10).fill(0x80), [0x01], base), "lamport_timestamp"],
    ["a varint above 2^64 − 1", cat([0x50], new Array(9).fill(0xff), [0x7f], base), "lamport_timestamp"],
    ["a length running past the end", cat(base, [0x5a, 0x05, 0x0a]), "causal_history"],
    ["an empty SequenceRange.sender_id", cat(base, range("")), "sequence_repair_request[0].sender_id"],
    [
      "a SequenceRange.sender_id that is not a key",
      cat(base, range("sds-peer")),
      "sequence_repair_request[0].sender_id",
    ],
    ["a mark with sequence 0", cat(base, ack(mark(0))), "ack.marks[0].sequence"],
    [
      "the signature's length written with two bytes (c0 00)",
      cat(base, [0xc2, 0x02, 0xc0, 0x00], hex64(0x11)),
      "signature",
    ],
    ["the signature's tag written with three bytes", cat(base, [0xc2, 0x82, 0x00, 0x40], hex64(0x11)), "signature"],
    ["the signature before another field", cat(base, signatureField, [0x90, 0x03, 0x01]), "signature"],
    ["a signature of 63 bytes", cat(base, ld([0xc2, 0x02], new Uint8Array(63))), "signature"],
  ];
  return cases.map(([name, bytes, field]) => ({ name, hex: bytesToHex(bytes), field }));
}
