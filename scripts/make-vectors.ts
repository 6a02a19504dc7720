// Generates the known-answer test vectors in spec/vectors/ from the reference implementation.
//
//   npx tsx scripts/make-vectors.ts            write the files
//   npx tsx scripts/make-vectors.ts --check    exit 1 if a file differs from what would be written
//
// Deterministic: fixed keys, fixed inputs, seeded randomness. test/core/vectors.test.ts checks ids, encodings,
// filters and signatures; test/spec/scenarios.test.ts replays the end-to-end traces (vector-scenarios.ts);
// test/spec/coverage.test.ts fails when a file here is consumed by no test. Once published, a vector changes
// only with the protocol version.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import {
  buildFilter,
  channelSalt,
  computeMessageId,
  filterHas,
  type IdFields,
  identityFromSecretKey,
  signEncoding,
} from "../src/core/index.js";
import { appendSignature, encodeMessage, encodeUnsigned, MAX_LAMPORT, type WireMessage } from "../src/wire/index.js";
import { messageJson } from "./vector-json.js";
import { buildOwnerVectors } from "./vector-owner.js";
import { rejectedEncodings } from "./vector-rejected.js";
import { buildScenarios } from "./vector-scenarios.js";
import { buildSegmentVectors } from "./vector-segments.js";
import { buildSignatureRuleVectors } from "./vector-signature-rule.js";
import { buildStreamVectors } from "./vector-streams.js";
import { buildWakuVectors } from "./vector-waku.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(root, "spec", "vectors");

const key = (byte: number) => new Uint8Array(32).fill(byte);
const alice = identityFromSecretKey(key(0x01));
const bob = identityFromSecretKey(key(0x02));
const hi = utf8ToBytes("hi");
const LAMPORT = 1_700_000_000_000n;

// ------------------------------------------------------------------------------------------ ids

interface IdVector {
  name: string;
  channelId: string;
  senderId: string;
  kind: IdFields["kind"];
  sequence: number;
  lamportTimestamp: string;
  content: string;
  messageId: string;
}

function idVector(name: string, f: IdFields): IdVector {
  return {
    name,
    channelId: f.channelId,
    senderId: f.senderId,
    kind: f.kind,
    sequence: f.sequence,
    lamportTimestamp: f.lamportTimestamp.toString(),
    content: bytesToHex(f.content),
    messageId: computeMessageId(f),
  };
}

const worked: IdFields = {
  channelId: "c",
  senderId: alice.senderId,
  kind: "content",
  sequence: 1,
  lamportTimestamp: LAMPORT,
  content: hi,
};

const ids = {
  description:
    "computeMessageId: hex(SHA-256(utf8('chorus/id/v1') || lp(channel) || lp(sender) || kind || u64(seq) || u64(lamport) || lp(content)))[0..32]; lp = u32 big-endian length prefix; kind content 1, sync 2, ephemeral 3; content is hex",
  vectors: [
    idVector("spec 6.2 worked example", worked),
    idVector("same text, another sender", { ...worked, senderId: bob.senderId }),
    idVector("same text, same sender, next sequence", { ...worked, sequence: 2, lamportTimestamp: LAMPORT + 1n }),
    idVector("sync: sequence 0, empty content", { ...worked, kind: "sync", sequence: 0, content: new Uint8Array() }),
    idVector("ephemeral: sequence 0, lamport 0", { ...worked, kind: "ephemeral", sequence: 0, lamportTimestamp: 0n }),
    idVector("non-ASCII channel and content", {
      ...worked,
      channelId: "0x02f1c3/канал/💬",
      content: utf8ToBytes("grüße 👋"),
    }),
    idVector("largest sequence and lamport", {
      ...worked,
      sequence: Number.MAX_SAFE_INTEGER,
      lamportTimestamp: MAX_LAMPORT,
    }),
    idVector("foreign (SDS) sender id string", { ...worked, senderId: "sds-peer-1" }),
    idVector("Status-length channel id", {
      ...worked,
      channelId: `0x02${"7f3a9c".repeat(11)}/channel/6f1d2a7e-4b3c-4e8a-9d21-0c5b7e3f9a14`,
    }),
  ],
};

// ------------------------------------------------------------------------------------------ encoding

function signed(m: WireMessage, secretKey: Uint8Array): WireMessage {
  return { ...m, signature: signEncoding(encodeUnsigned(m), secretKey) };
}

const workedId = computeMessageId(worked);
const prefix = (senderId: string) => Uint8Array.from(Buffer.from(senderId.slice(0, 16), "hex"));

const everyField: WireMessage = signed(
  {
    senderId: alice.senderId,
    messageId: workedId,
    channelId: "c",
    lamportTimestamp: LAMPORT,
    causalHistory: [
      { messageId: "00112233445566778899aabbccddeeff", retrievalHint: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) },
      { messageId: "ffeeddccbbaa99887766554433221100", senderId: bob.senderId },
    ],
    bloomFilter: Uint8Array.of(0x01, 0x80),
    repairRequest: [{ messageId: "0123456789abcdef0123456789abcdef", retrievalHint: Uint8Array.of(7) }],
    content: hi,
    kind: "content",
    sequence: 1,
    ack: {
      nonce: 0x0123456789abcdefn,
      filter: buildFilter(channelSalt("c"), 0x0123456789abcdefn, ["00112233445566778899aabbccddeeff"], 8, 5),
      hashCount: 5,
      marks: [
        { senderPrefix: prefix(bob.senderId), sequence: 41 },
        { senderPrefix: prefix(alice.senderId), first: 2_999_990, sequence: 3_000_000 },
      ],
    },
    sequenceRepairRequest: [
      { senderId: bob.senderId, first: 7, last: 9 },
      { senderId: bob.senderId, first: 12, last: 12 },
    ],
  },
  alice.secretKey,
);

const syncFields = {
  channelId: "c",
  senderId: bob.senderId,
  kind: "sync" as const,
  sequence: 0,
  lamportTimestamp: LAMPORT + 5n,
  content: new Uint8Array(),
};
const sync: WireMessage = signed(
  {
    senderId: bob.senderId,
    messageId: computeMessageId(syncFields),
    channelId: "c",
    lamportTimestamp: LAMPORT + 5n,
    causalHistory: [{ messageId: workedId }],
    repairRequest: [],
    kind: "sync",
    ack: {
      nonce: 1n,
      filter: new Uint8Array(),
      hashCount: 1,
      marks: [{ senderPrefix: prefix(alice.senderId), sequence: 1 }],
    },
    sequenceRepairRequest: [],
  },
  bob.secretKey,
);

const ephemeralContent = utf8ToBytes("typing");
const ephemeral: WireMessage = signed(
  {
    senderId: alice.senderId,
    messageId: computeMessageId({
      channelId: "c",
      senderId: alice.senderId,
      kind: "ephemeral",
      sequence: 0,
      lamportTimestamp: 0n,
      content: ephemeralContent,
    }),
    channelId: "c",
    causalHistory: [],
    repairRequest: [],
    content: ephemeralContent,
    kind: "ephemeral",
    sequenceRepairRequest: [],
  },
  alice.secretKey,
);

const sds: WireMessage = {
  senderId: "sds-peer-1",
  messageId: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
  channelId: "c",
  lamportTimestamp: 42n,
  causalHistory: [
    { messageId: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", retrievalHint: Uint8Array.of(1) },
  ],
  bloomFilter: new Uint8Array(16).fill(0x5a),
  repairRequest: [],
  content: utf8ToBytes("hello from SDS"),
  sequenceRepairRequest: [],
};

const extremes: WireMessage = signed(
  {
    senderId: alice.senderId,
    messageId: computeMessageId({
      ...worked,
      sequence: Number.MAX_SAFE_INTEGER,
      lamportTimestamp: MAX_LAMPORT,
    }),
    channelId: "c",
    lamportTimestamp: MAX_LAMPORT,
    causalHistory: [],
    repairRequest: [],
    content: hi,
    kind: "content",
    sequence: Number.MAX_SAFE_INTEGER,
    ack: {
      nonce: 0xffff_ffff_ffff_ffffn,
      filter: new Uint8Array(0),
      hashCount: 0,
      marks: [{ senderPrefix: prefix(bob.senderId), sequence: Number.MAX_SAFE_INTEGER }],
    },
    sequenceRepairRequest: [
      { senderId: bob.senderId, first: Number.MAX_SAFE_INTEGER - 9_999, last: Number.MAX_SAFE_INTEGER },
    ],
  },
  alice.secretKey,
);

const encoding = {
  description:
    "encodeMessage / decodeMessage: the message as JSON (bytes as lowercase hex, lamportTimestamp and ack.nonce as decimal strings, absent optional fields omitted) and its exact encoding in hex; signature, when present, is the last field. `rejected`: payloads every decoder must refuse (spec 5.5.1), each built from the unsigned content message of spec 6.2 (no ack, no ranges) with one offending field, and the field the error names",
  vectors: [
    { name: "content message with every field, signed", message: everyField },
    { name: "sync message: marks only, signed", message: sync },
    { name: "ephemeral message, signed", message: ephemeral },
    { name: "SDS message (no kind, no signature)", message: sds },
    { name: "largest values", message: extremes },
  ].map((v) => ({ name: v.name, message: messageJson(v.message), hex: bytesToHex(encodeMessage(v.message)) })),
  rejected: rejectedEncodings(
    encodeUnsigned({
      senderId: alice.senderId,
      messageId: workedId,
      channelId: "c",
      lamportTimestamp: LAMPORT,
      causalHistory: [],
      repairRequest: [],
      content: hi,
      kind: "content",
      sequence: 1,
      sequenceRepairRequest: [],
    }),
    prefix(bob.senderId),
  ),
};

// ------------------------------------------------------------------------------------------ filter

function filterVector(
  name: string,
  channelId: string,
  nonce: bigint,
  members: string[],
  byteLength: number,
  hashCount: number,
) {
  const salt = channelSalt(channelId);
  const filter = buildFilter(salt, nonce, members, byteLength, hashCount);
  // Deterministic probes; keep the first five that the filter answers "no" for.
  const negatives: string[] = [];
  for (let i = 0; negatives.length < 5; i++) {
    const probe = computeMessageId({ ...worked, channelId, sequence: 1_000 + i });
    if (!members.includes(probe) && !filterHas(salt, nonce, filter, hashCount, probe)) negatives.push(probe);
  }
  return {
    name,
    channelId,
    salt: bytesToHex(salt),
    nonce: nonce.toString(),
    byteLength,
    hashCount,
    ids: members,
    filter: bytesToHex(filter),
    positive: members,
    negative: negatives,
  };
}

const manyIds = Array.from({ length: 102 }, (_, i) => computeMessageId({ ...worked, sequence: i + 1 }));

const filter = {
  description:
    "Ack filter: salt = utf8('chorus/ack/v2') || lp(utf8(channel)); key = SHA-256(salt || u64(nonce)); tag = HalfSipHash-2-4-64 under key[0..8] of the 16 bytes of a 32-char lowercase hex id (key[8..16] and utf8(id) for any other id); w_0, w_1 = tag as two little-endian u32, w_j = lowbias32(w_{j-2} + 0x9e3779b9); pos_i = (high u16 of w_{i/2} for even i, low u16 for odd i) mod (8*byteLength), i < hashCount <= 16; bit pos lives in byte pos>>3 at 1<<(pos&7). Every id in 'positive' must test 'maybe', every id in 'negative' must test 'no'",
  vectors: [
    filterVector("spec 7.2 example: one id, 1,024 bits, k = 11", "c", 1n, [workedId], 128, 11),
    filterVector(
      "default sizing: 64 ids at 16 bits each, 128 bytes, k = 11",
      "community/general",
      0x0123456789abcdefn,
      manyIds.slice(0, 64),
      128,
      11,
    ),
    filterVector("same ids, another nonce", "community/general", 0xfedcba9876543210n, manyIds.slice(0, 64), 128, 11),
    filterVector("old sizing: 102 ids at 10 bits each, 128 bytes, k = 7", "c", 7n, manyIds, 128, 7),
    filterVector("small filter, few hashes", "c", 2n ** 64n - 1n, manyIds.slice(0, 5), 8, 3),
  ],
};

// ------------------------------------------------------------------------------------------ signatures

function signatureVector(name: string, secretKey: Uint8Array, message: WireMessage) {
  const unsigned = encodeUnsigned(message);
  const signature = signEncoding(unsigned, secretKey);
  return {
    name,
    secretKey: bytesToHex(secretKey),
    publicKey: identityFromSecretKey(secretKey).senderId,
    unsigned: bytesToHex(unsigned),
    signature: bytesToHex(signature),
    wire: bytesToHex(appendSignature(unsigned, signature)),
  };
}

const signatures = {
  description:
    "Ed25519 (RFC 8032) over utf8('chorus/sig/v1') || unsigned; publicKey is the sender id (hex); wire = unsigned || c2 02 40 || signature",
  vectors: [
    signatureVector("secret key 32 x 01: spec 6.2 message", key(0x01), { ...everyField, signature: undefined }),
    signatureVector("secret key 32 x 02: sync", key(0x02), { ...sync, signature: undefined }),
    signatureVector("secret key 32 x 01: ephemeral", key(0x01), { ...ephemeral, signature: undefined }),
  ],
};

// ------------------------------------------------------------------------------------------ write

const files: Record<string, unknown> = {
  "ids.json": ids,
  "encoding.json": encoding,
  "filter.json": filter,
  "signatures.json": signatures,
  "scenarios.json": buildScenarios(),
  "owner.json": buildOwnerVectors(),
  "waku.json": buildWakuVectors(),
  "streams.json": buildStreamVectors(),
  "signature-rule.json": buildSignatureRuleVectors(),
  "segmentation.json": buildSegmentVectors(),
};

const check = process.argv.includes("--check");
let stale = 0;
for (const [name, content] of Object.entries(files)) {
  const path = join(outDir, name);
  const text = `${JSON.stringify(content, null, 2)}\n`;
  if (check) {
    let current = "";
    try {
      current = readFileSync(path, "utf8");
    } catch {
      // missing counts as stale
    }
    if (current !== text) {
      console.error(`stale: spec/vectors/${name}`);
      stale++;
    }
  } else {
    writeFileSync(path, text);
    console.log(`wrote spec/vectors/${name}`);
  }
}
if (stale > 0) process.exit(1);
