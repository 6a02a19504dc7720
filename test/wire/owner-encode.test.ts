// The direct owner-message encoders write exactly the bytes protobuf-es writes for the same report or news.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import fc from "fast-check";
import {
  encodeOwnerNews,
  encodeOwnerNewsReference,
  encodeReportReference,
  encodeReportUnsigned,
  encodeSignedReport,
  type OwnerNews,
  ownerSigningInput,
  REPORT_DOMAIN,
  type ReceiptReport,
  signOwnerMessage,
} from "../../src/wire/owner-codec.js";
import { writeOwnerNews, writeReportUnsigned } from "../../src/wire/owner-encode.js";
import { ownerMessages, uint } from "./owner-arbitraries.js";

const { report, news } = ownerMessages(8, fc.oneof(uint, fc.double({ min: -10, max: 1e15, noNaN: true })));

test("random receipt reports encode as protobuf-es encodes them", () => {
  fc.assert(
    fc.property(report, (r) => {
      const writtenAt = Math.max(0, Math.floor(r.writtenAt));
      assert.deepEqual(writeReportUnsigned(r, writtenAt), encodeReportReference(r));
      assert.deepEqual(encodeReportUnsigned(r), encodeReportReference(r));
    }),
    { numRuns: 1_000 },
  );
});

test("a report signed in one buffer is the reference encoding signed over its domain", () => {
  // A signature that depends on every byte it signs: two encodings agree only if they signed the same input.
  const sign = (input: Uint8Array) => new Uint8Array(createHash("sha512").update(input).digest());
  fc.assert(
    fc.property(report, (r) => {
      const inputs: Uint8Array[] = [];
      const signed = encodeSignedReport(r, (input) => {
        inputs.push(input.slice());
        return sign(input);
      });
      assert.deepEqual(inputs, [ownerSigningInput(REPORT_DOMAIN, encodeReportReference(r))]);
      assert.deepEqual(signed, signOwnerMessage(REPORT_DOMAIN, encodeReportReference(r), sign));
    }),
    { numRuns: 500 },
  );
  const one: ReceiptReport = { channelId: "c", reporter: "r", writtenAt: 5, held: [] };
  assert.throws(() => encodeSignedReport(one, () => new Uint8Array(63)), /64 bytes, got 63/);
});

test("random owner news encode as protobuf-es encodes them", () => {
  fc.assert(
    fc.property(news, (n) => {
      assert.deepEqual(writeOwnerNews(n), encodeOwnerNewsReference(n));
      assert.deepEqual(encodeOwnerNews(n), encodeOwnerNewsReference(n));
    }),
    { numRuns: 1_000 },
  );
});

test("values the direct encoders do not write go to protobuf-es, which decides", () => {
  const base: OwnerNews = { channelId: "c", cursor: 1, rosterSize: 3, rosterVersion: 1, receipts: [], heads: [] };
  assert.equal(writeOwnerNews({ ...base, rosterSize: 2 ** 32 }), undefined);
  assert.equal(writeOwnerNews({ ...base, heads: [{ senderPrefix: new Uint8Array(8), sequence: 1.5 }] }), undefined);
  assert.throws(() => encodeOwnerNews({ ...base, heads: [{ senderPrefix: new Uint8Array(8), sequence: 1.5 }] }));
  const r: ReceiptReport = { channelId: "c", reporter: "r", writtenAt: 5, held: [] };
  assert.equal(
    writeReportUnsigned({ ...r, held: [{ senderPrefix: new Uint8Array(8), first: -1, last: 2 }] }, 5),
    undefined,
  );
});
