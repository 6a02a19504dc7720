// The WakuMessage envelope and its deterministic hash: the vectors in spec/vectors/waku.json, checked against
// our encoder and hash and against js-waku's own @waku/message-hash, plus decoding limits and round trips.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { bytesToHex } from "@noble/hashes/utils.js";
import { messageHash } from "@waku/message-hash";
import fc from "fast-check";
import { DecodeError } from "../../src/wire/errors.js";
import {
  channelOfContentTopic,
  chorusContentTopic,
  decodeWakuMessage,
  encodeWakuMessage,
  parseShardPubsubTopic,
  shardPubsubTopic,
  type WakuEnvelope,
  wakuMessageHash,
} from "../../src/wire/waku-message.js";

interface HashVector {
  name: string;
  pubsubTopic: string;
  payload: string;
  contentTopic: string;
  timestamp?: string;
  meta?: string;
  ephemeral?: boolean;
  envelope: string;
  hash: string;
}

const VECTORS = "waku.json";
const vectors: { vectors: HashVector[] } = JSON.parse(
  readFileSync(new URL(`../../spec/vectors/${VECTORS}`, import.meta.url), "utf8"),
);
const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (b) => Number.parseInt(b, 16));

describe("waku.json hash vectors", () => {
  for (const v of vectors.vectors) {
    test(v.name, () => {
      const decoded = decodeWakuMessage(fromHex(v.envelope));
      assert.equal(bytesToHex(decoded.payload), v.payload);
      assert.equal(decoded.contentTopic, v.contentTopic);
      assert.equal(decoded.timestamp?.toString(), v.timestamp);
      assert.equal(decoded.meta === undefined ? undefined : bytesToHex(decoded.meta), v.meta);
      assert.equal(decoded.ephemeral, v.ephemeral);
      assert.equal(bytesToHex(encodeWakuMessage(decoded)), v.envelope);
      assert.equal(bytesToHex(wakuMessageHash(v.pubsubTopic, decoded)), v.hash);
      // js-waku's implementation of the same RFC gives the same hash.
      const theirs = messageHash(v.pubsubTopic, {
        payload: decoded.payload,
        contentTopic: decoded.contentTopic,
        meta: decoded.meta,
        timestamp: decoded.timestamp,
      } as Parameters<typeof messageHash>[1]);
      assert.equal(bytesToHex(theirs), v.hash);
    });
  }
});

const envelope = fc.record(
  {
    payload: fc.uint8Array({ maxLength: 300 }),
    contentTopic: fc.string({ minLength: 1, maxLength: 80 }),
    version: fc.nat(0xffffffff),
    timestamp: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    meta: fc.uint8Array({ maxLength: 64 }),
    ephemeral: fc.boolean(),
  },
  { requiredKeys: ["payload", "contentTopic"] },
);

describe("WakuMessage codec", () => {
  test("decode(encode(m)) gives m back, and the hash agrees with @waku/message-hash", () => {
    fc.assert(
      fc.property(envelope, fc.string({ minLength: 1, maxLength: 40 }), (m: WakuEnvelope, topic) => {
        const back = decodeWakuMessage(encodeWakuMessage(m));
        assert.deepEqual(back, { ...m });
        const theirs = messageHash(topic, back as Parameters<typeof messageHash>[1]);
        assert.equal(bytesToHex(wakuMessageHash(topic, back)), bytesToHex(theirs));
      }),
    );
  });

  test("refuses bytes that are not a WakuMessage, naming the field", () => {
    assert.throws(
      () => decodeWakuMessage(fromHex("ffff")),
      (e: unknown) => e instanceof DecodeError && e.field === "waku_message",
    );
    // A payload but no content topic.
    assert.throws(
      () => decodeWakuMessage(fromHex("0a0101")),
      (e: unknown) => e instanceof DecodeError && e.field === "content_topic",
    );
    const big = encodeWakuMessage({ payload: new Uint8Array(2000), contentTopic: "/a/1/b/proto" });
    assert.throws(
      () => decodeWakuMessage(big, { maxPayloadBytes: 1000 }),
      (e: unknown) => e instanceof DecodeError && e.field === "payload" && /2000 bytes/.test(e.message),
    );
    const meta = encodeWakuMessage({
      payload: new Uint8Array(1),
      contentTopic: "/a/1/b/proto",
      meta: new Uint8Array(65),
    });
    assert.throws(
      () => decodeWakuMessage(meta),
      (e: unknown) => e instanceof DecodeError && e.field === "meta",
    );
  });

  test("refuses to encode what it could not decode", () => {
    assert.throws(() => encodeWakuMessage({ payload: new Uint8Array(1), contentTopic: "" }), /contentTopic/);
    assert.throws(
      () => encodeWakuMessage({ payload: new Uint8Array(1), contentTopic: "/a/1/b/proto", timestamp: 2n ** 63n }),
      /timestamp/,
    );
  });
});

describe("topics", () => {
  test("shard pubsub topics round trip and refuse what is out of range", () => {
    assert.equal(shardPubsubTopic(42, 0), "/waku/2/rs/42/0");
    assert.deepEqual(parseShardPubsubTopic("/waku/2/rs/42/0"), { cluster: 42, shard: 0 });
    assert.equal(parseShardPubsubTopic("/waku/2/rs/042/0"), undefined);
    assert.equal(parseShardPubsubTopic("/waku/2/rs/70000/0"), undefined);
    assert.equal(parseShardPubsubTopic("/waku/2/default-waku/proto"), undefined);
    assert.throws(() => shardPubsubTopic(-1, 0), /cluster must be an integer from 0 to 65535, got -1/);
    assert.throws(() => shardPubsubTopic(1, 1.5), /shard/);
  });

  test("a channel's content topic maps back to the channel", () => {
    assert.equal(chorusContentTopic("qa"), "/chorus/1/qa/proto");
    for (const id of ["qa", "community/general", "a/b/proto"])
      assert.equal(channelOfContentTopic(chorusContentTopic(id)), id);
    assert.equal(channelOfContentTopic("/sds/1/qa/proto"), undefined);
    assert.equal(channelOfContentTopic("/chorus/1//proto"), undefined);
    assert.throws(() => chorusContentTopic(""), /channelId/);
  });
});
