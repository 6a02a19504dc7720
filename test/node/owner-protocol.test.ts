// The framing of /chorus/owner/1: every request kind and response status round-trips, the bytes are as the
// module's header says, and malformed input is refused with an error naming the field.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { MessageId, MessageRef, SenderId } from "../../src/core/index.js";
import { fetchPlan } from "../../src/node/owner-client.js";
import {
  decodeOwnerRequest,
  decodeOwnerResponse,
  encodeOwnerRequest,
  encodeOwnerResponse,
  MAX_FETCH_IDS,
  MAX_FETCH_SPAN,
  OwnerProtocolError,
  type OwnerRequest,
  type OwnerResponse,
  refusal,
} from "../../src/node/owner-protocol.js";

const A = "a".repeat(64);
const B = "b".repeat(64);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const refusedWith = (field: string) => (err: unknown) =>
  err instanceof OwnerProtocolError && err.field === field && err.message.startsWith(`owner protocol: ${field} `);

describe("owner protocol requests", () => {
  const requests: OwnerRequest[] = [
    { kind: "report", channelId: "general", cursor: 300, report: Uint8Array.of(1, 2, 3) },
    { kind: "watch", channelId: "général", member: A, rosterVersion: 1_700_000_000_000, cursor: 0, holdMs: 20_000 },
    {
      kind: "fetch",
      channelId: "general",
      ranges: [
        { senderId: A, first: 1, last: 3 },
        { senderId: B, first: 7, last: 7 },
      ],
      ids: ["00ff"],
    },
    { kind: "roster", channelId: "general", known: 0 },
  ];

  it("round-trips every kind", () => {
    for (const request of requests) assert.deepEqual(decodeOwnerRequest(encodeOwnerRequest(request)), request);
  });

  it("lays out a REPORT as kind, channel, cursor and the report's bytes", () => {
    const bytes = encodeOwnerRequest({ kind: "report", channelId: "ab", cursor: 300, report: Uint8Array.of(9) });
    // 01 | 02 'a' 'b' | 300 = ac 02 | 01 09
    assert.equal(hex(bytes), "01026162ac020109");
  });

  it("lays out a WATCH and a ROSTER byte for byte", () => {
    const watch = encodeOwnerRequest({
      kind: "watch",
      channelId: "c",
      member: A,
      rosterVersion: 2,
      cursor: 5,
      holdMs: 1_000,
    });
    assert.equal(hex(watch), `020163${"40"}${Buffer.from(A).toString("hex")}0205e807`);
    assert.equal(hex(encodeOwnerRequest({ kind: "roster", channelId: "c", known: 1 })), "04016301");
  });

  it("names the field of a malformed request", () => {
    const cases: [Uint8Array, string][] = [
      [new Uint8Array(), "request"],
      [Uint8Array.of(0x09, 1, 0x63), "kind"],
      [Uint8Array.of(0x04, 0), "channel"],
      [Uint8Array.of(0x04, 5, 0x63), "channel"],
      [Uint8Array.of(0x04, 1, 0x63), "known"],
      [Uint8Array.of(0x04, 1, 0x63, 1, 0), "request"],
      [Uint8Array.of(0x04, 1, 0xff, 1), "channel"],
      [Uint8Array.of(0x04, 1, 0x63, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), "known"],
      [Uint8Array.of(0x03, 1, 0x63, 0, 0), "fetch"],
    ];
    for (const [bytes, field] of cases) assert.throws(() => decodeOwnerRequest(bytes), refusedWith(field), field);
    const badMember = encodeOwnerRequest({ ...(requests[1] as Extract<OwnerRequest, { kind: "watch" }>) });
    badMember[1 + 1 + Buffer.byteLength("général") + 1] = 0x47; // 'G': not lowercase hex
    assert.throws(() => decodeOwnerRequest(badMember), refusedWith("member"));
  });

  it("refuses requests over the limits, when encoding and when decoding", () => {
    const range = { senderId: A, first: 1, last: MAX_FETCH_SPAN + 1 };
    assert.throws(
      () => encodeOwnerRequest({ kind: "fetch", channelId: "c", ranges: [range], ids: [] }),
      refusedWith("ranges[0]"),
    );
    const ids = Array.from({ length: MAX_FETCH_IDS + 1 }, (_, i) => i.toString(16));
    assert.throws(() => encodeOwnerRequest({ kind: "fetch", channelId: "c", ranges: [], ids }), refusedWith("ids"));
    assert.throws(
      () => encodeOwnerRequest({ kind: "watch", channelId: "c", member: A, rosterVersion: 0, cursor: 0, holdMs: 0 }),
      refusedWith("holdMs"),
    );
    assert.throws(
      () => encodeOwnerRequest({ kind: "roster", channelId: "x".repeat(257), known: 0 }),
      refusedWith("channel"),
    );
    // A hand-made FETCH whose range runs backwards.
    const backwards = Uint8Array.from([0x03, 1, 0x63, 1, 64, ...Buffer.from(A), 5, 4, 0]);
    assert.throws(() => decodeOwnerRequest(backwards), refusedWith("ranges[0]"));
  });
});

describe("owner protocol responses", () => {
  const responses: OwnerResponse[] = [
    { status: "news", news: Uint8Array.of(8, 1) },
    { status: "messages", truncated: true, messages: [Uint8Array.of(1), Uint8Array.of(2, 3)] },
    { status: "messages", truncated: false, messages: [] },
    { status: "roster", roster: Uint8Array.of(10, 1, 0x63) },
    { status: "unchanged" },
    { status: "refused", code: "notAMember", reason: "not on the roster" },
  ];

  it("round-trips every status", () => {
    for (const response of responses) assert.deepEqual(decodeOwnerResponse(encodeOwnerResponse(response)), response);
  });

  it("lays out MESSAGES as status, flags, count and each message", () => {
    const bytes = encodeOwnerResponse({ status: "messages", truncated: true, messages: [Uint8Array.of(7)] });
    assert.equal(hex(bytes), "0101010107");
    assert.equal(hex(refusal("notKept", "no")), "0401026e6f");
  });

  it("names the field of a malformed response", () => {
    const cases: [Uint8Array, string][] = [
      [Uint8Array.of(0x09), "status"],
      [Uint8Array.of(0x01, 0x02, 0), "flags"],
      [Uint8Array.of(0x01, 0, 2, 1, 7), "messages[1] length"],
      [Uint8Array.of(0x04, 9, 0), "code"],
      [Uint8Array.of(0x03, 0), "response"],
      [Uint8Array.of(0x00, 3, 1), "news"],
    ];
    for (const [bytes, field] of cases) assert.throws(() => decodeOwnerResponse(bytes), refusedWith(field), field);
  });

  it("cuts a long refusal reason at a character boundary", () => {
    const decoded = decodeOwnerResponse(refusal("busy", "é".repeat(600)));
    assert.ok(decoded.status === "refused" && decoded.reason.length === 512);
  });
});

describe("fetchPlan", () => {
  it("turns missing sequence numbers into ranges per sender, and refs without one into ids", () => {
    const [a, b] = [A as SenderId, B as SenderId];
    const refs: MessageRef[] = [
      { senderId: a, sequence: 4 },
      { senderId: a, sequence: 2 },
      { senderId: a, sequence: 3 },
      { senderId: a, sequence: 9 },
      { senderId: b, sequence: 1, messageId: "m1" as MessageId },
      { messageId: "m2" as MessageId },
    ];
    const plan = fetchPlan(refs);
    assert.deepEqual(plan, {
      ranges: [
        { senderId: A, first: 2, last: 4 },
        { senderId: A, first: 9, last: 9 },
        { senderId: B, first: 1, last: 1 },
      ],
      ids: ["m2"],
    });
  });
});
