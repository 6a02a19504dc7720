// Wire compatibility with @waku/sds 0.0.8: Chorus reads SDS messages, and SDS reads the SDS subset of
// Chorus messages (it skips Chorus's fields 30 and up as unknown).
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import {
  ContentMessage,
  EphemeralMessage,
  Message,
  MessageChannel,
  MessageChannelEvent,
  type HistoryEntry as SdsHistoryEntry,
  SyncMessage,
} from "@waku/sds";
import { decodeMessage, encodeMessage, kindOf, type WireMessage } from "../../src/wire/index.js";
import { fullMessage } from "./arbitraries.js";

// SDS's default filter: capacity 10,000 at 0.1 % false positives.
const SDS_BLOOM_FILTER_BYTES = 18_752;
const bytes = (text: string) => new TextEncoder().encode(text);

const history: SdsHistoryEntry[] = [
  { messageId: MessageChannel.getMessageId(bytes("one")), retrievalHint: Uint8Array.of(0xaa, 0xbb), senderId: "alice" },
  { messageId: MessageChannel.getMessageId(bytes("two")), senderId: "bob" },
  { messageId: MessageChannel.getMessageId(bytes("three")) },
];
const repair: SdsHistoryEntry[] = [
  { messageId: MessageChannel.getMessageId(bytes("lost")), retrievalHint: Uint8Array.of(1, 2, 3), senderId: "carol" },
];

/**
 * The SDS fields of a message: an SDS message as its decoder or constructor holds them, or a Chorus message
 * with absent ones undefined as in SDS.
 */
function sdsFields(m: Message | WireMessage) {
  return {
    senderId: m.senderId,
    messageId: m.messageId,
    channelId: m.channelId,
    lamportTimestamp: m.lamportTimestamp,
    causalHistory: m.causalHistory,
    bloomFilter: m.bloomFilter,
    repairRequest: m.repairRequest,
    content: m.content,
  };
}

function assertNoChorusFields(m: WireMessage): void {
  assert.equal(m.kind, undefined);
  assert.equal(m.sequence, undefined);
  assert.equal(m.ack, undefined);
  assert.equal(m.signature, undefined);
  assert.deepEqual(m.sequenceRepairRequest, []);
}

describe("interop: @waku/sds messages decode in Chorus", () => {
  let bloomFilter: Uint8Array;

  before(async () => {
    // A real filter: bob's channel after receiving one message from alice.
    const alice = new MessageChannel("general", "alice");
    const bob = new MessageChannel("general", "bob");
    let sent: ContentMessage | undefined;
    alice.pushOutgoingMessage(bytes("hi bob"), async (m) => {
      sent = m;
      return { success: true };
    });
    await alice.processTasks();
    assert.ok(sent);
    bob.pushIncomingMessage(sent, Uint8Array.of(7));
    await bob.processTasks();
    let reply: ContentMessage | undefined;
    bob.pushOutgoingMessage(bytes("hi alice"), async (m) => {
      reply = m;
      return { success: true };
    });
    await bob.processTasks();
    assert.ok(reply?.bloomFilter);
    bloomFilter = reply.bloomFilter;
    assert.equal(bloomFilter.length, SDS_BLOOM_FILTER_BYTES);
    assert.ok(
      bloomFilter.some((b) => b !== 0),
      "bob's filter holds alice's message",
    );
  });

  test("ContentMessage", () => {
    const sds = new ContentMessage(
      MessageChannel.getMessageId(bytes("hello")),
      "general",
      "alice",
      history,
      1_700_000_000_123n,
      bloomFilter,
      bytes("hello"),
      repair,
    );
    const decoded = decodeMessage(sds.encode());
    assert.deepEqual(sdsFields(decoded), sdsFields(sds));
    assertNoChorusFields(decoded);
    assert.equal(kindOf(decoded), "content");
  });

  test("SyncMessage", () => {
    const sds = new SyncMessage("sync-k3j4h5", "general", "bob", history, 9n, bloomFilter, undefined, repair);
    const decoded = decodeMessage(sds.encode());
    assert.deepEqual(sdsFields(decoded), sdsFields(sds));
    assertNoChorusFields(decoded);
    assert.equal(kindOf(decoded), "sync");
  });

  test("EphemeralMessage", () => {
    const payload = bytes("typing...");
    const sds = new EphemeralMessage(
      MessageChannel.getMessageId(payload),
      "general",
      "carol",
      [],
      undefined,
      undefined,
      payload,
    );
    const decoded = decodeMessage(sds.encode());
    assert.deepEqual(sdsFields(decoded), sdsFields(sds));
    assertNoChorusFields(decoded);
    assert.equal(kindOf(decoded), "ephemeral");
  });

  test("messages sent by a MessageChannel", async () => {
    const alice = new MessageChannel("general", "alice");
    const out: Message[] = [];
    const send = async (m: ContentMessage) => {
      out.push(m);
      return { success: true, retrievalHint: Uint8Array.of(out.length) };
    };
    alice.pushOutgoingMessage(bytes("first"), send);
    alice.pushOutgoingMessage(bytes("second"), send);
    await alice.processTasks();
    await alice.pushOutgoingSyncMessage(async (m) => {
      out.push(m);
      return true;
    });
    // Unlike sync messages, ephemeral ones are queued as a task.
    await alice.pushOutgoingEphemeralMessage(bytes("typing"), async (m) => {
      out.push(m);
      return true;
    });
    await alice.processTasks();
    assert.deepEqual(
      out.map((m) => kindOf(decodeMessage(m.encode()))),
      ["content", "content", "sync", "ephemeral"],
    );
    for (const m of out) assert.deepEqual(sdsFields(decodeMessage(m.encode())), sdsFields(m));
    // The second message names the first, with the hint the transport returned for it.
    assert.deepEqual(decodeMessage(out[1]?.encode() ?? new Uint8Array()).causalHistory, [
      { messageId: out[0]?.messageId, retrievalHint: Uint8Array.of(1), senderId: "alice" },
    ]);
  });
});

describe("interop: Chorus messages decode in @waku/sds", () => {
  test("a content message with every Chorus field", () => {
    const chorus = fullMessage();
    const sds = Message.decode(encodeMessage(chorus));
    assert.ok(sds instanceof ContentMessage, `expected ContentMessage, got ${sds?.constructor.name}`);
    assert.deepEqual(sdsFields(sds), sdsFields(chorus));
  });

  test("a sync message", () => {
    const { content: _, ...rest } = fullMessage();
    const chorus: WireMessage = { ...rest, kind: "sync" };
    const bytes = encodeMessage(chorus);
    assert.equal(kindOf(decodeMessage(bytes)), "sync");
    const sds = Message.decode(bytes);
    assert.ok(sds instanceof SyncMessage, `expected SyncMessage, got ${sds?.constructor.name}`);
    assert.deepEqual(sdsFields(sds), sdsFields(chorus));
  });

  test("an ephemeral message", () => {
    const { lamportTimestamp: _, sequence: __, ...rest } = fullMessage();
    const chorus: WireMessage = { ...rest, kind: "ephemeral" };
    const sds = Message.decode(encodeMessage(chorus));
    assert.ok(sds instanceof EphemeralMessage, `expected EphemeralMessage, got ${sds?.constructor.name}`);
    assert.deepEqual(sdsFields(sds), sdsFields(chorus));
  });

  /** Feeds one Chorus message to an SDS MessageChannel; returns what it delivered and the task errors it raised. */
  async function receiveInSds(chorus: WireMessage) {
    const bob = new MessageChannel(chorus.channelId, "bob");
    const delivered: string[] = [];
    const errors: unknown[] = [];
    bob.addEventListener(MessageChannelEvent.InMessageDelivered, (e) => delivered.push(e.detail));
    bob.addEventListener(MessageChannelEvent.ErrorTask, (e) => errors.push((e.detail as { error: unknown }).error));
    const sds = Message.decode(encodeMessage(chorus));
    assert.ok(sds);
    bob.pushIncomingMessage(sds, undefined);
    await bob.processTasks();
    return { delivered, errors };
  }

  test("an SDS MessageChannel delivers a Chorus content message without a bloom filter", async () => {
    const { bloomFilter: _, ...chorus } = { ...fullMessage(), causalHistory: [] };
    assert.deepEqual(await receiveInSds(chorus), { delivered: [chorus.messageId], errors: [] });
  });

  // @waku/sds 0.0.8 parses a received bloom filter with its own default parameters and throws
  // (caught as a task error, message not delivered) when the filter has another size. A Chorus
  // message meant for SDS peers must carry no bloom filter or one of exactly 18,752 bytes.
  test("an SDS MessageChannel fails on a bloom filter that is not its default size", async () => {
    const chorus = { ...fullMessage(), causalHistory: [], bloomFilter: new Uint8Array(16) };
    const { delivered, errors } = await receiveInSds(chorus);
    assert.deepEqual(delivered, []);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof RangeError, String(errors[0]));
  });
});
