// The direct reader (src/wire/decode.ts) reads what protobuf-es's fromBinary reads from every encoding the wire-form
// check accepts: valid messages, and valid messages with bits flipped, bytes cut or junk inserted.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { readMessage } from "../../src/wire/decode.js";
import { MessageSchema } from "../../src/wire/gen/chorus/v1/message_pb.js";
import { encodeMessage } from "../../src/wire/index.js";
import { checkWireForm } from "../../src/wire/wire-form.js";
import { fullMessage, validMessage } from "./arbitraries.js";

/** protobuf-es's reading, as plain data: no type names, no unknown fields, the enum as its number. */
function reference(bytes: Uint8Array): unknown {
  return JSON.parse(
    JSON.stringify(fromBinary(MessageSchema, bytes), (key, value) => {
      if (key === "$typeName" || key === "$unknown") return undefined;
      if (typeof value === "bigint") return `${value}n`;
      if (value instanceof Uint8Array) return `bytes:${[...value].join(",")}`;
      return value;
    }),
  );
}

function plain(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v) => {
      if (typeof v === "bigint") return `${v}n`;
      // The reader gives a sequence number (a message's, a mark's, a mark's first) below 2^49 as a number: its value.
      if (typeof v === "number" && (key === "sequence" || key === "first")) return `${v}n`;
      if (v instanceof Uint8Array) return `bytes:${[...v].join(",")}`;
      return v;
    }),
  );
}

/** True when the bytes pass the wire-form rules (the only bytes readMessage is given). */
function wellFormed(bytes: Uint8Array): boolean {
  try {
    checkWireForm(bytes);
    return true;
  } catch {
    return false;
  }
}

function check(bytes: Uint8Array): void {
  if (!wellFormed(bytes)) return;
  assert.deepEqual(plain(readMessage(bytes)), reference(bytes));
}

test("a message with every field set reads as protobuf-es reads it", () => {
  check(encodeMessage(fullMessage()));
});

test("random valid messages read as protobuf-es reads them", () => {
  fc.assert(
    fc.property(validMessage, (m) => check(encodeMessage(m))),
    { numRuns: 1_000 },
  );
});

test("damaged messages that keep the wire form read as protobuf-es reads them", () => {
  const damaged = validMessage.chain((message) => {
    const bytes = encodeMessage(message);
    return fc.oneof(
      fc.record({ index: fc.nat(bytes.length - 1), bit: fc.integer({ min: 0, max: 7 }) }).map(({ index, bit }) => {
        const out = bytes.slice();
        out[index] = (out[index] ?? 0) ^ (1 << bit);
        return out;
      }),
      fc.nat(bytes.length).map((end) => bytes.subarray(0, end)),
      fc.tuple(fc.nat(bytes.length), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([at, junk]) => {
        return new Uint8Array([...bytes.subarray(0, at), ...junk, ...bytes.subarray(at)]);
      }),
    );
  });
  let read = 0;
  fc.assert(
    fc.property(damaged, (bytes) => {
      if (wellFormed(bytes)) read++;
      check(bytes);
    }),
    { numRuns: 3_000 },
  );
  assert.ok(read > 300, `only ${read} damaged encodings kept the wire form`);
});

test("edge values: unknown fields, 64-bit varints, a negative enum, non-ASCII and long strings", () => {
  const accepted = (bytes: Uint8Array) => {
    assert.ok(wellFormed(bytes), `not well-formed: ${bytes.join(",")}`);
    check(bytes);
  };
  // Fields 100..103 with wire types 0, 5, 1 and 2.
  const unknown = Uint8Array.of(0xa0, 6, 5, 0xad, 6, 1, 2, 3, 4, 0xb1, 6, 1, 2, 3, 4, 5, 6, 7, 8, 0xba, 6, 1, 9);
  const full = encodeMessage(fullMessage());
  accepted(new Uint8Array([...unknown, ...full]));
  const max64 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
  accepted(Uint8Array.of(0x50, ...max64, 0xf8, 0x01, ...max64));
  accepted(Uint8Array.of(0x50, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01));
  accepted(Uint8Array.of(0xf0, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f));
  const text = new TextEncoder().encode(`\ufeffch\u00e9\u{1f600}${"x".repeat(300)}`);
  accepted(Uint8Array.of(0x1a, (text.length & 0x7f) | 0x80, text.length >> 7, ...text));
  const ascii = new TextEncoder().encode("a".repeat(200));
  accepted(Uint8Array.of(0x1a, 0xc8, 0x01, ...ascii));
});

test("sender ids and channel names read right whatever the interning table holds (more names than slots, repeats)", () => {
  // 20,000 distinct names overflow the decoder's 8,192 slots; each is read twice, far apart and in a row, and
  // names that differ in one character or only in length come next to each other.
  const names: string[] = [];
  for (let i = 0; i < 20_000; i++) names.push(i.toString(16).padStart(64, "0"));
  names.push("a", "aa", "ab", "b".repeat(128), "b".repeat(127));
  const order = [...names, ...names.slice().reverse(), ...names.slice(0, 50).flatMap((n) => [n, n])];
  for (const name of order) {
    const bytes = encodeMessage({
      senderId: name,
      messageId: "00112233445566778899aabbccddeeff",
      channelId: `c-${name}`.slice(0, 128),
      causalHistory: [],
      repairRequest: [],
      sequenceRepairRequest: [{ senderId: name, first: 1, last: 2 }],
    });
    const read = readMessage(bytes);
    assert.equal(read.senderId, name);
    assert.equal(read.channelId, `c-${name}`.slice(0, 128));
    assert.equal(read.sequenceRepairRequest[0]!.senderId, name);
  }
});
