// Waku's message envelope (RFC 14/WAKU2-MESSAGE, proto/waku/v2/message.proto), its deterministic hash,
// and the topic names Chorus uses on Waku (spec/chorus.md, "Chorus on Waku").
//
// A relay forwards and a store keeps the envelope's bytes as they arrived: `decodeWakuMessage` returns
// the fields and never asks to re-encode them, since another encoder may order or omit fields otherwise
// and the bytes, not the fields, are what other Waku nodes hash and compare.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { sha256 } from "@noble/hashes/sha2.js";
import { DecodeError } from "./errors.js";
import { type RateLimitProof, RateLimitProofSchema, WakuMessageSchema } from "./gen/waku/v2/message_pb.js";

export interface WakuEnvelope {
  readonly payload: Uint8Array;
  readonly contentTopic: string;
  readonly version?: number;
  /** Unix time in nanoseconds. */
  readonly timestamp?: bigint;
  readonly meta?: Uint8Array;
  readonly rateLimitProof?: RateLimitProof;
  readonly ephemeral?: boolean;
}

export interface WakuDecodeLimits {
  /** Largest payload accepted. Waku relays at most 150 KB per message. */
  readonly maxPayloadBytes: number;
}

/** Waku's network-wide limit on one relayed message (RFC 64/WAKU2-NETWORK). */
export const WAKU_MAX_MESSAGE_BYTES = 150 * 1024;
export const DEFAULT_WAKU_LIMITS: WakuDecodeLimits = { maxPayloadBytes: WAKU_MAX_MESSAGE_BYTES };
/** The longest content topic accepted: "/chorus/1/" + a 256-character channel id + "/proto", with room. */
const MAX_CONTENT_TOPIC_CHARS = 1024;
const MAX_META_BYTES = 64;
/** Timestamps are sint64 on the wire. */
const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

export function encodeWakuMessage(m: WakuEnvelope): Uint8Array {
  if (!(m.payload instanceof Uint8Array)) throw new TypeError("payload must be a Uint8Array");
  checkContentTopic(m.contentTopic, "contentTopic", (field, message) => new RangeError(`${field} ${message}`));
  if (
    m.timestamp !== undefined &&
    (typeof m.timestamp !== "bigint" || m.timestamp < MIN_INT64 || m.timestamp > MAX_INT64)
  ) {
    throw new RangeError(`timestamp must be a bigint in the sint64 range, got ${String(m.timestamp)}`);
  }
  return toBinary(
    WakuMessageSchema,
    create(WakuMessageSchema, {
      payload: m.payload,
      contentTopic: m.contentTopic,
      version: m.version,
      timestamp: m.timestamp,
      meta: m.meta,
      rateLimitProof: m.rateLimitProof === undefined ? undefined : create(RateLimitProofSchema, m.rateLimitProof),
      ephemeral: m.ephemeral,
    }),
  );
}

/** Decodes and checks one envelope; throws DecodeError naming the field for anything that is not a WakuMessage. */
export function decodeWakuMessage(bytes: Uint8Array, limits: WakuDecodeLimits = DEFAULT_WAKU_LIMITS): WakuEnvelope {
  let m: ReturnType<typeof fromBinary<typeof WakuMessageSchema>>;
  try {
    m = fromBinary(WakuMessageSchema, bytes);
  } catch (error) {
    throw new DecodeError("waku_message", `not a WakuMessage protobuf (${(error as Error).message})`);
  }
  checkContentTopic(m.contentTopic, "content_topic", (field, message) => new DecodeError(field, message));
  if (m.payload.length > limits.maxPayloadBytes) {
    throw new DecodeError("payload", `is ${m.payload.length} bytes, over the limit of ${limits.maxPayloadBytes}`);
  }
  if (m.meta !== undefined && m.meta.length > MAX_META_BYTES) {
    throw new DecodeError("meta", `is ${m.meta.length} bytes, over the limit of ${MAX_META_BYTES}`);
  }
  const out: {
    -readonly [K in keyof WakuEnvelope]: WakuEnvelope[K];
  } = { payload: m.payload, contentTopic: m.contentTopic };
  if (m.version !== undefined) out.version = m.version;
  if (m.timestamp !== undefined) out.timestamp = m.timestamp;
  if (m.meta !== undefined) out.meta = m.meta;
  if (m.rateLimitProof !== undefined) out.rateLimitProof = m.rateLimitProof;
  if (m.ephemeral !== undefined) out.ephemeral = m.ephemeral;
  return out;
}

function checkContentTopic(topic: unknown, field: string, fail: (field: string, message: string) => Error): void {
  if (typeof topic !== "string" || topic.length === 0) throw fail(field, "must be a non-empty string");
  if (topic.length > MAX_CONTENT_TOPIC_CHARS) {
    throw fail(field, `is ${topic.length} characters, over the limit of ${MAX_CONTENT_TOPIC_CHARS}`);
  }
}

const utf8 = new TextEncoder();

/**
 * The deterministic message hash of RFC 14/WAKU2-MESSAGE: SHA-256 over the pubsub topic, the payload, the
 * content topic, the meta field and the timestamp as 8 bytes big-endian (each part left out when absent, a
 * zero timestamp included). Store v3 indexes messages by it, and Chorus uses it as the retrieval hint.
 */
export function wakuMessageHash(pubsubTopic: string, m: WakuEnvelope): Uint8Array {
  const topic = utf8.encode(pubsubTopic);
  const content = utf8.encode(m.contentTopic);
  const meta = m.meta ?? new Uint8Array(0);
  const hasTimestamp = m.timestamp !== undefined && m.timestamp !== 0n;
  const length = topic.length + m.payload.length + content.length + meta.length + (hasTimestamp ? 8 : 0);
  const input = new Uint8Array(length);
  let offset = 0;
  for (const part of [topic, m.payload, content, meta]) {
    input.set(part, offset);
    offset += part.length;
  }
  if (hasTimestamp) new DataView(input.buffer).setBigUint64(offset, BigInt.asUintN(64, m.timestamp as bigint));
  return sha256(input);
}

/** The pubsub topic of a static shard: "/waku/2/rs/<cluster>/<shard>". */
export function shardPubsubTopic(cluster: number, shard: number): string {
  checkUint16("cluster", cluster);
  checkUint16("shard", shard);
  return `/waku/2/rs/${cluster}/${shard}`;
}

/** Cluster and shard of "/waku/2/rs/<cluster>/<shard>", or undefined for any other pubsub topic. */
export function parseShardPubsubTopic(topic: string): { cluster: number; shard: number } | undefined {
  const match = /^\/waku\/2\/rs\/(0|[1-9]\d{0,4})\/(0|[1-9]\d{0,4})$/.exec(topic);
  if (match === null) return undefined;
  const cluster = Number(match[1]);
  const shard = Number(match[2]);
  return cluster <= 0xffff && shard <= 0xffff ? { cluster, shard } : undefined;
}

function checkUint16(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new RangeError(`${name} must be an integer from 0 to 65535, got ${String(value)}`);
  }
}

const CHORUS_TOPIC_PREFIX = "/chorus/1/";
const CHORUS_TOPIC_SUFFIX = "/proto";

/**
 * The content topic of a Chorus channel, "/chorus/1/<channel id>/proto" (spec 19.4). A channel id is
 * used as it is; one with a "/" still maps to exactly one topic, and `channelOfContentTopic` reverses it.
 */
export function chorusContentTopic(channelId: string): string {
  if (typeof channelId !== "string" || channelId.length === 0) {
    throw new RangeError("channelId must be a non-empty string");
  }
  return `${CHORUS_TOPIC_PREFIX}${channelId}${CHORUS_TOPIC_SUFFIX}`;
}

/** The channel id of a Chorus content topic, or undefined for a topic of another application. */
export function channelOfContentTopic(contentTopic: string): string | undefined {
  if (!contentTopic.startsWith(CHORUS_TOPIC_PREFIX) || !contentTopic.endsWith(CHORUS_TOPIC_SUFFIX)) return undefined;
  const id = contentTopic.slice(CHORUS_TOPIC_PREFIX.length, contentTopic.length - CHORUS_TOPIC_SUFFIX.length);
  return id.length === 0 ? undefined : id;
}
