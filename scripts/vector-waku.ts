// Known-answer vectors of Chorus on Waku (spec section 19.4): WakuMessage envelopes as Chorus writes them and
// their deterministic message hashes (RFC 14/WAKU2-MESSAGE). Used by scripts/make-vectors.ts and
// test/wire/waku-message.test.ts, which also checks every hash against js-waku's @waku/message-hash.
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import {
  chorusContentTopic,
  encodeWakuMessage,
  shardPubsubTopic,
  type WakuEnvelope,
  wakuMessageHash,
} from "../src/wire/waku-message.js";

export interface WakuHashVector {
  name: string;
  pubsubTopic: string;
  payload: string;
  contentTopic: string;
  /** Nanoseconds, decimal; absent when the envelope has no timestamp. */
  timestamp?: string;
  meta?: string;
  ephemeral?: boolean;
  /** The envelope as Chorus encodes it. */
  envelope: string;
  hash: string;
}

function vector(name: string, pubsubTopic: string, m: WakuEnvelope): WakuHashVector {
  const out: WakuHashVector = {
    name,
    pubsubTopic,
    payload: bytesToHex(m.payload),
    contentTopic: m.contentTopic,
  } as WakuHashVector;
  if (m.timestamp !== undefined) out.timestamp = m.timestamp.toString();
  if (m.meta !== undefined) out.meta = bytesToHex(m.meta);
  if (m.ephemeral !== undefined) out.ephemeral = m.ephemeral;
  out.envelope = bytesToHex(encodeWakuMessage(m));
  out.hash = bytesToHex(wakuMessageHash(pubsubTopic, m));
  return out;
}

const hexBytes = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (b) => Number.parseInt(b, 16));

export function buildWakuVectors() {
  const rfcPayload = hexBytes("010203045445535405060708");
  const rfcTopic = "/waku/2/default-waku/proto";
  const rfcContent = "/waku/2/default-content/proto";
  const rfcTime = 0x175789bfa23f8400n;
  const qa = shardPubsubTopic(42, 0);
  return {
    description:
      "Deterministic Waku message hashes (RFC 14/WAKU2-MESSAGE): SHA-256 over pubsub topic, payload, content topic, meta and the timestamp as 8 bytes big-endian. The first four are RFC 14's own examples.",
    vectors: [
      vector("RFC 14 example: meta", rfcTopic, {
        payload: rfcPayload,
        contentTopic: rfcContent,
        meta: utf8ToBytes("super-secret"),
        timestamp: rfcTime,
      }),
      vector("RFC 14 example: no meta", rfcTopic, {
        payload: rfcPayload,
        contentTopic: rfcContent,
        timestamp: rfcTime,
      }),
      vector("RFC 14 example: empty payload", rfcTopic, {
        payload: new Uint8Array(0),
        contentTopic: rfcContent,
        meta: utf8ToBytes("super-secret"),
        timestamp: rfcTime,
      }),
      vector("RFC 14 example: empty meta", rfcTopic, {
        payload: rfcPayload,
        contentTopic: rfcContent,
        meta: new Uint8Array(0),
        timestamp: rfcTime,
      }),
      vector("Chorus channel qa on cluster 42 shard 0", qa, {
        payload: utf8ToBytes("a signed Chorus message goes here"),
        contentTopic: chorusContentTopic("qa"),
        version: 0,
        timestamp: 1_700_000_000_123_456_789n,
      }),
      vector("Chorus ephemeral message", qa, {
        payload: hexBytes("0a0b0c"),
        contentTopic: chorusContentTopic("qa"),
        version: 0,
        timestamp: 1_700_000_000_123_456_790n,
        ephemeral: true,
      }),
      vector("no timestamp", qa, { payload: hexBytes("ff"), contentTopic: chorusContentTopic("community/general") }),
    ],
  };
}
