// Known-answer vectors (spec/vectors/*.json, written by scripts/make-vectors.ts) against the implementation,
// and, where cheap, against an independent computation from the spec's formulas with node:crypto.
import assert from "node:assert/strict";
import { createHash, createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type JsonHistory, type JsonMessage, messageJson } from "../../scripts/vector-json.js";
import {
  buildFilter,
  channelSalt,
  computeMessageId,
  filterHas,
  identityFromSecretKey,
  type SenderId,
  signEncoding,
  verifyEncoding,
} from "../../src/core/index.js";
import {
  appendSignature,
  DecodeError,
  decodeMessage,
  encodeMessage,
  type HistoryEntry,
  type MessageKind,
  type WireMessage,
} from "../../src/wire/index.js";
import { specFilterPositions } from "../support/ack-filter-reference.js";

const dir = join(fileURLToPath(import.meta.url), "../../../spec/vectors");
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const unhex = (text: string) => Uint8Array.from(Buffer.from(text, "hex"));
const utf8 = (text: string) => Buffer.from(text, "utf8");

function load<T>(name: string): { description: string; vectors: T[] } {
  const data = JSON.parse(readFileSync(join(dir, name), "utf8"));
  assert.equal(typeof data.description, "string");
  assert.ok(Array.isArray(data.vectors) && data.vectors.length > 0, `${name} has vectors`);
  return data;
}

// ---------------------------------------------------------------------------------------------- ids

interface IdVector {
  name: string;
  channelId: string;
  senderId: string;
  kind: MessageKind;
  sequence: number;
  lamportTimestamp: string;
  content: string;
  messageId: string;
}

/** The id straight from spec section 6.2, with node's SHA-256. */
function specId(v: IdVector): string {
  const lp = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const u64 = (n: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(n);
    return b;
  };
  const input = Buffer.concat([
    utf8("chorus/id/v1"),
    lp(utf8(v.channelId)),
    lp(utf8(v.senderId)),
    Buffer.of({ content: 1, sync: 2, ephemeral: 3 }[v.kind]),
    u64(BigInt(v.sequence)),
    u64(BigInt(v.lamportTimestamp)),
    lp(Buffer.from(v.content, "hex")),
  ]);
  return createHash("sha256").update(input).digest("hex").slice(0, 32);
}

function checkIds(): void {
  const { vectors } = load<IdVector>("ids.json");
  const seen = new Set<string>();
  for (const v of vectors) {
    const got = computeMessageId({
      channelId: v.channelId,
      senderId: v.senderId,
      kind: v.kind,
      sequence: v.sequence,
      lamportTimestamp: BigInt(v.lamportTimestamp),
      content: unhex(v.content),
    });
    assert.equal(got, v.messageId, v.name);
    assert.equal(specId(v), v.messageId, `${v.name}: spec formula`);
    seen.add(v.messageId);
  }
  assert.equal(seen.size, vectors.length, "every vector has its own id");
}

// ---------------------------------------------------------------------------------------------- encoding

function historyFromJson(entries: JsonHistory[]): HistoryEntry[] {
  return entries.map((e) => ({
    messageId: e.messageId,
    ...(e.retrievalHint === undefined ? {} : { retrievalHint: unhex(e.retrievalHint) }),
    ...(e.senderId === undefined ? {} : { senderId: e.senderId }),
  }));
}

function fromJson(j: JsonMessage): WireMessage {
  return {
    senderId: j.senderId,
    messageId: j.messageId,
    channelId: j.channelId,
    ...(j.lamportTimestamp === undefined ? {} : { lamportTimestamp: BigInt(j.lamportTimestamp) }),
    causalHistory: historyFromJson(j.causalHistory),
    ...(j.bloomFilter === undefined ? {} : { bloomFilter: unhex(j.bloomFilter) }),
    repairRequest: historyFromJson(j.repairRequest),
    ...(j.content === undefined ? {} : { content: unhex(j.content) }),
    ...(j.kind === undefined ? {} : { kind: j.kind }),
    ...(j.sequence === undefined ? {} : { sequence: j.sequence }),
    ...(j.ack === undefined
      ? {}
      : {
          ack: {
            nonce: BigInt(j.ack.nonce),
            filter: unhex(j.ack.filter),
            hashCount: j.ack.hashCount,
            marks: j.ack.marks.map((k) => ({
              senderPrefix: unhex(k.senderPrefix),
              ...(k.first === undefined ? {} : { first: k.first }),
              sequence: k.sequence,
            })),
          },
        }),
    sequenceRepairRequest: j.sequenceRepairRequest.map((r) => ({ ...r })),
    ...(j.signature === undefined ? {} : { signature: unhex(j.signature) }),
  };
}

function checkEncoding(): void {
  const { vectors } = load<{ name: string; message: JsonMessage; hex: string }>("encoding.json");
  const kinds = new Set<string>();
  for (const v of vectors) {
    const message = fromJson(v.message);
    assert.equal(hex(encodeMessage(message)), v.hex, `${v.name}: encode`);
    const decoded = decodeMessage(unhex(v.hex));
    assert.deepEqual(messageJson(decoded), v.message, `${v.name}: decode`);
    kinds.add(v.message.kind ?? "sds");
    if (v.message.kind !== undefined) {
      // A Chorus message: its id matches its fields and its signature verifies, as a receiver checks.
      const id = computeMessageId({
        channelId: decoded.channelId,
        senderId: decoded.senderId,
        kind: v.message.kind,
        sequence: decoded.sequence ?? 0,
        lamportTimestamp: decoded.lamportTimestamp ?? 0n,
        content: decoded.content ?? new Uint8Array(),
      });
      assert.equal(id, decoded.messageId, `${v.name}: id`);
      assert.ok(decoded.signature !== undefined);
      assert.ok(verifyEncoding(unhex(v.hex), decoded.signature, decoded.senderId as SenderId), `${v.name}: signature`);
      assert.equal(v.hex.slice(-134, -128), "c20240", `${v.name}: the signature is the last field`);
    }
  }
  assert.deepEqual([...kinds].sort(), ["content", "ephemeral", "sds", "sync"]);
  const full = vectors.find(
    (v) => v.message.kind === "content" && v.message.ack !== undefined && v.message.bloomFilter !== undefined,
  );
  assert.ok(full, "one vector sets every field");
  for (const field of ["lamportTimestamp", "content", "sequence", "signature"] as const)
    assert.ok(full.message[field] !== undefined);
  assert.ok(full.message.causalHistory.length > 0 && full.message.repairRequest.length > 0);
  assert.ok(full.message.sequenceRepairRequest.length > 0 && full.message.ack!.marks.length > 0);
  assert.ok(
    full.message.ack!.marks.some((k) => k.first !== undefined),
    "a mark with a start",
  );
}

/**
 * encoding.json's `rejected` payloads (spec 5.5.1): each is refused with a DecodeError naming the recorded field,
 * and a receiving engine reports it as `undecodable` and changes nothing.
 */
function checkRejectedEncodings(): void {
  const data = JSON.parse(readFileSync(join(dir, "encoding.json"), "utf8")) as {
    rejected: { name: string; hex: string; field: string }[];
  };
  assert.ok(data.rejected.length >= 20, "rejected inputs");
  for (const v of data.rejected) {
    assert.throws(
      () => decodeMessage(unhex(v.hex)),
      (err: unknown) => err instanceof DecodeError && err.field === v.field,
      `${v.name}: refused, naming ${v.field}`,
    );
  }
  // Removing the offending part gives back a message that decodes: the inputs break one rule each.
  const base = data.rejected.find((v) => v.name.startsWith("a non-repeated field twice: channel_id"))!;
  assert.doesNotThrow(() => decodeMessage(unhex(base.hex).subarray(0, unhex(base.hex).length - 3)));
}

// ---------------------------------------------------------------------------------------------- filter

interface FilterVector {
  name: string;
  channelId: string;
  salt: string;
  nonce: string;
  byteLength: number;
  hashCount: number;
  ids: string[];
  filter: string;
  positive: string[];
  negative: string[];
}

/** Bit positions straight from spec section 7.2, with node's SHA-256. */
function specPositions(salt: Buffer, nonce: bigint, id: string, bits: number, k: number): number[] {
  return specFilterPositions(salt, nonce, id, bits, k);
}

function checkFilter(): void {
  const { vectors } = load<FilterVector>("filter.json");
  // The worked example of spec section 7.2 is the first vector: its bits are the positions the text lists.
  const example = vectors.find((v) => v.name.startsWith("spec 7.2 example"));
  assert.ok(example, "the spec 7.2 example");
  const bytes = unhex(example.filter);
  const set = [...Array(bytes.length * 8).keys()].filter((p) => (bytes[p >> 3]! >> (p & 7)) & 1);
  assert.deepEqual(
    set,
    [325, 1002, 599, 415, 649, 720, 716, 87, 639, 194, 798].sort((a, b) => a - b),
  );
  for (const v of vectors) {
    const salt = channelSalt(v.channelId);
    assert.equal(hex(salt), v.salt, `${v.name}: salt`);
    assert.deepEqual(
      hex(salt),
      hex(Buffer.concat([utf8("chorus/ack/v2"), Buffer.from([0, 0, 0, utf8(v.channelId).length]), utf8(v.channelId)])),
    );
    const nonce = BigInt(v.nonce);
    const built = buildFilter(salt, nonce, v.ids, v.byteLength, v.hashCount);
    assert.equal(hex(built), v.filter, `${v.name}: filter bytes`);
    const filter = unhex(v.filter);
    assert.equal(filter.length, v.byteLength);
    for (const id of v.positive)
      assert.ok(filterHas(salt, nonce, filter, v.hashCount, id), `${v.name}: ${id} positive`);
    for (const id of v.negative)
      assert.ok(!filterHas(salt, nonce, filter, v.hashCount, id), `${v.name}: ${id} negative`);
    // Rebuild from the spec's formula.
    const expected = new Uint8Array(v.byteLength);
    for (const id of v.ids) {
      for (const p of specPositions(Buffer.from(salt), nonce, id, v.byteLength * 8, v.hashCount))
        expected[p >> 3]! |= 1 << (p & 7);
    }
    assert.equal(hex(expected), v.filter, `${v.name}: spec formula`);
  }
}

// ---------------------------------------------------------------------------------------------- signatures

interface SignatureVector {
  name: string;
  secretKey: string;
  publicKey: string;
  unsigned: string;
  signature: string;
  wire: string;
}

function checkSignatures(): void {
  const { vectors } = load<SignatureVector>("signatures.json");
  for (const v of vectors) {
    const sk = unhex(v.secretKey);
    const identity = identityFromSecretKey(sk);
    assert.equal(identity.senderId, v.publicKey, `${v.name}: public key`);
    const unsigned = unhex(v.unsigned);
    const signature = signEncoding(unsigned, sk);
    assert.equal(hex(signature), v.signature, `${v.name}: signature`);
    const wire = appendSignature(unsigned, signature);
    assert.equal(hex(wire), v.wire, `${v.name}: wire`);
    assert.ok(verifyEncoding(wire, signature, identity.senderId), `${v.name}: verifies`);
    const tampered = wire.slice();
    tampered[0]! ^= 1;
    assert.ok(!verifyEncoding(tampered, signature, identity.senderId), `${v.name}: tampered bytes fail`);
    // Independently, with node's Ed25519 (RFC 8032) over the domain-separated input.
    const signed = Buffer.concat([utf8("chorus/sig/v1"), Buffer.from(unsigned)]);
    const privateKey = createPrivateKey({
      key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), Buffer.from(sk)]),
      format: "der",
      type: "pkcs8",
    });
    assert.equal(nodeSign(null, signed, privateKey).toString("hex"), v.signature, `${v.name}: node:crypto`);
    const publicKey = createPublicKey({
      key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), Buffer.from(v.publicKey, "hex")]),
      format: "der",
      type: "spki",
    });
    assert.ok(nodeVerify(null, signed, publicKey, unhex(v.signature)));
  }
}

// ---------------------------------------------------------------------------------------------- every file

const CHECKS: Record<string, () => void> = {
  "ids.json": checkIds,
  "encoding.json": checkEncoding,
  "encoding.json (rejected)": checkRejectedEncodings,
  "filter.json": checkFilter,
  "signatures.json": checkSignatures,
};

describe("known-answer vectors (spec/vectors)", () => {
  // That every file in spec/vectors is read by some test (this one or test/spec/scenarios.test.ts) is
  // checked by test/spec/coverage.test.ts.
  test("every file this test checks exists", () => {
    const files = readdirSync(dir).filter((f) => !f.startsWith("."));
    const absent = Object.keys(CHECKS)
      .map((f) => f.split(" ")[0]!)
      .filter((f) => !files.includes(f));
    assert.deepEqual(absent, [], "vector files missing");
  });

  for (const [file, check] of Object.entries(CHECKS)) test(file, check);
});
