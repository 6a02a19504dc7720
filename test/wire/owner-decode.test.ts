// The direct owner-message readers give what protobuf-es reads, or leave the bytes to it; decoding through
// owner-codec.ts gives the same values and the same errors either way. Signing and verifier inputs written in
// one buffer are the bytes of the copies they replace.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { appendSignature } from "../../src/wire/codec.js";
import { OwnerNewsSchema, ReceiptReportSchema } from "../../src/wire/gen/chorus/v1/owner_pb.js";
import {
  appendOwnerSignature,
  decodeOwnerNews,
  decodeReport,
  encodeOwnerNewsReference,
  encodeReportReference,
  type OwnerNews,
  ownerSigningInput,
  ownerVerifierInput,
  REPORT_DOMAIN,
  type ReceiptReport,
  signOwnerMessage,
} from "../../src/wire/owner-codec.js";
import { readNews, readReport } from "../../src/wire/owner-decode.js";
import { ownerMessages } from "./owner-arbitraries.js";

const { report, news } = ownerMessages(9);

/** An encoding with some bytes changed, cut short or extended: most are not plain, some not protobuf at all. */
const mangle = (bytes: Uint8Array) =>
  fc
    .record({
      edits: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 3 }),
      cut: fc.nat(),
      tail: fc.uint8Array({ maxLength: 12 }),
    })
    .map(({ edits, cut, tail }) => {
      const out = new Uint8Array([...bytes.subarray(0, bytes.length - (cut % 4 === 0 ? cut % 7 : 0)), ...tail]);
      for (const e of edits) if (out.length > 0) out[e.at % out.length] = e.value;
      return out;
    });

/** protobuf-es's values with 64-bit fields as numbers, when they fit (the direct reader leaves the rest). */
function big(value: unknown): unknown {
  if (typeof value === "bigint") return Number(value);
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map(big);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (!k.startsWith("$")) out[k] = big(v);
    return out;
  }
  return value;
}

/** Either the direct reader agrees with protobuf-es, or it left the bytes to it. */
function agreesOnReport(bytes: Uint8Array): void {
  const direct = readReport(bytes);
  if (direct === undefined) return;
  const pb = fromBinary(ReceiptReportSchema, bytes);
  assert.deepEqual({ ...direct, signature: direct.signature ?? undefined }, big({ ...pb, signature: pb.signature }));
}

function agreesOnNews(bytes: Uint8Array): void {
  const direct = readNews(bytes);
  if (direct === undefined) return;
  assert.deepEqual(direct, big(fromBinary(OwnerNewsSchema, bytes)));
}

/** The codec's answer: a value, or the error's message. */
function outcome(decode: () => unknown): unknown {
  try {
    return decode();
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
}

test("random receipt reports read as protobuf-es reads them, signed or not", () => {
  fc.assert(
    fc.property(report, fc.boolean(), (r, signed) => {
      const unsigned = encodeReportReference(r);
      const bytes = signed ? appendOwnerSignature(unsigned, new Uint8Array(64).fill(9)) : unsigned;
      assert.notEqual(readReport(bytes), undefined);
      agreesOnReport(bytes);
    }),
    { numRuns: 1_000 },
  );
});

test("random owner news read as protobuf-es reads them", () => {
  fc.assert(
    fc.property(news, (n) => {
      const bytes = encodeOwnerNewsReference(n);
      assert.notEqual(readNews(bytes), undefined);
      agreesOnNews(bytes);
    }),
    { numRuns: 1_000 },
  );
});

test("mangled reports and news: the direct readers agree with protobuf-es or leave the bytes to it", () => {
  const reports = report.chain((r) => mangle(encodeReportReference(r)));
  fc.assert(
    fc.property(reports, (bytes) => {
      let valid = true;
      try {
        fromBinary(ReceiptReportSchema, bytes);
      } catch {
        valid = false;
      }
      if (!valid) assert.equal(readReport(bytes), undefined, "bytes protobuf-es refuses are left to it");
      else agreesOnReport(bytes);
    }),
    { numRuns: 2_000 },
  );
  const newses = news.chain((n) => mangle(encodeOwnerNewsReference(n)));
  fc.assert(
    fc.property(newses, (bytes) => {
      let valid = true;
      try {
        fromBinary(OwnerNewsSchema, bytes);
      } catch {
        valid = false;
      }
      if (!valid) assert.equal(readNews(bytes), undefined, "bytes protobuf-es refuses are left to it");
      else agreesOnNews(bytes);
    }),
    { numRuns: 2_000 },
  );
});

test("decodeReport and decodeOwnerNews give the same values and errors as through protobuf-es alone", () => {
  // Values beyond 2^53, a field given twice, an unknown field: what the direct reader leaves or must get right.
  const r: ReceiptReport = { channelId: "c", reporter: "r", writtenAt: 5, held: [] };
  const twice = new Uint8Array([...encodeReportReference(r), ...encodeReportReference({ ...r, channelId: "d" })]);
  assert.equal(decodeReport(twice).channelId, "d");
  const huge = encodeReportReference({ ...r, writtenAt: Number.MAX_SAFE_INTEGER });
  assert.equal(readReport(huge)?.writtenAt, Number.MAX_SAFE_INTEGER);
  const beyond = new Uint8Array([...encodeReportReference(r), 0x18, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]);
  assert.equal(readReport(beyond), undefined);
  assert.match(String(outcome(() => decodeReport(beyond))), /written_at/);
  const unknown = new Uint8Array([...encodeReportReference(r), 0x28, 0x01]);
  assert.equal(readReport(unknown), undefined);
  assert.equal(decodeReport(unknown).reporter, "r");
  const n: OwnerNews = { channelId: "c", cursor: 1, rosterSize: 3, rosterVersion: 1, receipts: [], heads: [] };
  const bad = encodeOwnerNewsReference({ ...n, receipts: [{ sequence: 0, count: 1, holders: new Uint8Array(1) }] });
  assert.match(String(outcome(() => decodeOwnerNews(bad))), /receipts\[0\]\.sequence/);
});

test("owner signing and verifier inputs written in one buffer are the bytes of the copies they replace", () => {
  fc.assert(
    fc.property(report, fc.uint8Array({ minLength: 64, maxLength: 64 }), (r, signature) => {
      const unsigned = encodeReportReference(r);
      const signed = signOwnerMessage(REPORT_DOMAIN, unsigned, (input) => {
        assert.deepEqual(input, ownerSigningInput(REPORT_DOMAIN, unsigned));
        return signature;
      });
      assert.deepEqual(signed, appendOwnerSignature(unsigned, signature));
      assert.deepEqual(
        ownerVerifierInput(REPORT_DOMAIN, unsigned, signature),
        appendSignature(ownerSigningInput(REPORT_DOMAIN, unsigned), signature),
      );
    }),
    { numRuns: 300 },
  );
  assert.throws(() => signOwnerMessage(REPORT_DOMAIN, new Uint8Array(3), () => new Uint8Array(63)), /64 bytes, got 63/);
});
