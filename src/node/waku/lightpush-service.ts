// The light push v3 service (`/vac/waku/lightpush/3.0.0`): a light node hands over one WakuMessage and
// this node relays it, unchanged, on the named shard. Status codes are those of nwaku and js-waku 0.0.36
// (`LightPushStatusCode`): 200 relayed (relay_peer_count: how many relay peers it went to, 0 when this node
// is the light node's only link, the message still reaching the archive and filter subscribers here),
// 400 malformed request, 413 too large, 420 not a valid WakuMessage, 421 pubsub topic not served here,
// 429 the peer is over its request bound (the service's rate limit), 500 the relay failed.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DecodeError } from "../../wire/errors.js";
import {
  type LightPushRequestV3,
  LightPushRequestV3Schema,
  LightPushResponseV3Schema,
} from "../../wire/gen/waku/v2/light_push_pb.js";
import { decodeWakuMessage, WAKU_MAX_MESSAGE_BYTES } from "../../wire/waku-message.js";
import { rawField } from "../../wire/waku-rpc.js";
import type { WakuServiceHost } from "./exchange.js";

export const WAKU_LIGHTPUSH_CODEC = "/vac/waku/lightpush/3.0.0";
/** A WakuMessage at Waku's limit and the request around it. */
export const MAX_LIGHTPUSH_REQUEST_BYTES = WAKU_MAX_MESSAGE_BYTES + 4 * 1024;

export const LIGHTPUSH_STATUS = {
  OK: 200,
  BAD_REQUEST: 400,
  PAYLOAD_TOO_LARGE: 413,
  INVALID_MESSAGE: 420,
  UNSUPPORTED_TOPIC: 421,
  TOO_MANY_REQUESTS: 429,
  INTERNAL_ERROR: 500,
} as const;

/** LightPushRequestV3.message */
const MESSAGE_FIELD = 21;

function reply(requestId: string, statusCode: number, statusDesc: string, relayPeerCount?: number): Uint8Array {
  return toBinary(
    LightPushResponseV3Schema,
    create(LightPushResponseV3Schema, {
      requestId,
      statusCode,
      statusDesc,
      ...(relayPeerCount === undefined ? {} : { relayPeerCount }),
    }),
  );
}

/**
 * The encoded LightPushResponseV3 to one encoded request from peer `from`; never rejects. `admit` is asked once
 * the request parsed (so that the refusal carries its request id): false answers 429 and relays nothing.
 */
export async function answerLightPush(
  host: WakuServiceHost,
  bytes: Uint8Array,
  admit: () => boolean = () => true,
  from?: string,
): Promise<Uint8Array> {
  let request: LightPushRequestV3;
  let envelope: Uint8Array | undefined;
  try {
    request = fromBinary(LightPushRequestV3Schema, bytes);
    // The envelope as the light node encoded it: that is what gets hashed and relayed.
    envelope = rawField(bytes, MESSAGE_FIELD, "LightPushRequestV3");
  } catch (error) {
    return reply("", LIGHTPUSH_STATUS.BAD_REQUEST, `not a LightPushRequestV3: ${(error as Error).message}`);
  }
  const id = request.requestId;
  if (!admit()) return reply(id, LIGHTPUSH_STATUS.TOO_MANY_REQUESTS, "rate limit exceeded: too many light pushes");
  if (envelope === undefined) return reply(id, LIGHTPUSH_STATUS.BAD_REQUEST, "message is missing");
  const topic = request.pubsubTopic ?? "";
  if (topic === "") {
    return reply(id, LIGHTPUSH_STATUS.BAD_REQUEST, "pubsub_topic is missing (this node does not autoshard)");
  }
  if (!host.pubsubTopics.includes(topic)) {
    return reply(
      id,
      LIGHTPUSH_STATUS.UNSUPPORTED_TOPIC,
      `pubsub_topic ${topic} is not relayed here (${host.pubsubTopics.join(", ")})`,
    );
  }
  if (envelope.length > WAKU_MAX_MESSAGE_BYTES) {
    return reply(
      id,
      LIGHTPUSH_STATUS.PAYLOAD_TOO_LARGE,
      `message is ${envelope.length} bytes, over Waku's limit of ${WAKU_MAX_MESSAGE_BYTES}`,
    );
  }
  try {
    decodeWakuMessage(envelope);
  } catch (error) {
    const reason = error instanceof DecodeError ? error.message : String(error);
    return reply(id, LIGHTPUSH_STATUS.INVALID_MESSAGE, `not a valid WakuMessage: ${reason}`);
  }
  try {
    const { recipients } = await host.publishEnvelope(topic, envelope, from);
    return reply(id, LIGHTPUSH_STATUS.OK, "OK", recipients);
  } catch (error) {
    return reply(id, LIGHTPUSH_STATUS.INTERNAL_ERROR, `relay failed: ${(error as Error).message}`);
  }
}
