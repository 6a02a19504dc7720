// computeMessageId writes its hash input into a reused buffer; this checks it against a plain
// transcription of the rule (ids.ts's doc comment and spec/chorus.md), including non-ASCII strings and
// inputs larger than the buffer's first size.
import assert from "node:assert/strict";
import { test } from "node:test";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { carriesExpectedId, expectedMessageId } from "../../src/core/ids.js";
import { computeMessageId, type IdFields } from "../../src/core/index.js";

function referenceId(f: IdFields): string {
  const lp = (b: Uint8Array) => {
    const out = new Uint8Array(4 + b.length);
    new DataView(out.buffer).setUint32(0, b.length);
    out.set(b, 4);
    return out;
  };
  const u64 = (v: bigint) => {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, v);
    return out;
  };
  const kind = { content: 1, sync: 2, ephemeral: 3 }[f.kind];
  const parts = [
    utf8ToBytes("chorus/id/v1"),
    lp(utf8ToBytes(f.channelId)),
    lp(utf8ToBytes(f.senderId)),
    Uint8Array.of(kind),
    u64(BigInt(f.sequence)),
    u64(f.lamportTimestamp),
    lp(f.content),
  ];
  const input = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    input.set(p, o);
    o += p.length;
  }
  return bytesToHex(sha256(input).subarray(0, 16));
}

test("message ids match the specified derivation", () => {
  const channels = ["general", "ünïcödé/канал", "c".repeat(1000), "😀"];
  const senders = ["ab".repeat(32), "sds-peer-é", "s".repeat(700)];
  const contents = [new Uint8Array(0), new TextEncoder().encode("hello"), new Uint8Array(5000).fill(7)];
  for (const channelId of channels) {
    for (const senderId of senders) {
      for (const content of contents) {
        for (const [kind, sequence, lamportTimestamp] of [
          ["content", 1, 1_700_000_000_000n],
          ["sync", 0, (1n << 63n) - 1n],
          ["ephemeral", 0, 0n],
          ["content", Number.MAX_SAFE_INTEGER, 5n],
        ] as const) {
          const fields: IdFields = { channelId, senderId, kind, sequence, lamportTimestamp, content };
          assert.equal(computeMessageId(fields), referenceId(fields));
        }
      }
    }
  }
});

test("a message's id is checked in place against its fields (no memo), short and long content alike", () => {
  const senderId = "ab".repeat(32);
  for (const content of [new TextEncoder().encode("hello"), new Uint8Array(5000).fill(7)]) {
    const fields: IdFields = {
      channelId: "general",
      senderId,
      kind: "content",
      sequence: 3,
      lamportTimestamp: 9n,
      content,
    };
    const message = {
      senderId,
      messageId: referenceId(fields),
      channelId: "general",
      lamportTimestamp: 9n,
      causalHistory: [],
      repairRequest: [],
      sequenceRepairRequest: [],
      content,
      kind: "content" as const,
      sequence: 3,
    };
    assert.equal(carriesExpectedId(message), true);
    assert.equal(expectedMessageId(message), message.messageId);
    const id = message.messageId;
    for (const wrong of [
      `${id.slice(0, 31)}${id[31] === "0" ? "1" : "0"}`,
      `${id[0] === "f" ? "e" : "f"}${id.slice(1)}`,
      id.toUpperCase(),
      id.slice(0, 30),
      `${id}00`,
    ]) {
      if (wrong === id) continue;
      assert.equal(carriesExpectedId({ ...message, messageId: wrong }), false, wrong);
    }
    assert.equal(carriesExpectedId({ ...message, sequence: 4 }), false);
  }
});

test("the kept state of an id's channel-and-sender prefix is that pair's: senders sharing a memo slot, channels alike", () => {
  // The memo is direct-mapped by a sender's first characters: these senders share a slot and a first block
  // ("chorus/id/v1", the channel, then the sender's first characters), and differ in a later block.
  const a = `abcd${"0".repeat(60)}`;
  const b = `abcd${"1".repeat(60)}`;
  const c = `abcd${"0".repeat(140)}`; // three blocks of prefix, two of them whole
  const content = new TextEncoder().encode("hello, channel");
  for (let round = 0; round < 3; round++) {
    for (const [channelId, senderId] of [
      ["general", a],
      ["general", b],
      ["random", a],
      ["general", c],
      [`x${"y".repeat(40)}`, a],
      ["general", a],
    ] as const) {
      const fields: IdFields = {
        channelId,
        senderId,
        kind: "content",
        sequence: round + 1,
        lamportTimestamp: 5n,
        content,
      };
      assert.equal(computeMessageId(fields), referenceId(fields), `${channelId} / ${senderId.slice(0, 8)}…`);
      const message = {
        senderId,
        messageId: referenceId(fields),
        channelId,
        lamportTimestamp: 5n,
        causalHistory: [],
        repairRequest: [],
        sequenceRepairRequest: [],
        content,
        kind: "content" as const,
        sequence: round + 1,
      };
      assert.equal(carriesExpectedId(message), true);
    }
  }
});
