// Byte vectors of the stream protocols (spec section 14.4, spec/vectors/streams.json): the transport's
// request/response framing, the history service /chorus/history/1 and the owner protocol /chorus/owner/1.
// Each vector gives a request or response as a value, its payload bytes and the whole frame on the stream;
// rejected vectors give bytes the decoder must refuse and the field its error names. Written from the real
// encoders; test/spec/streams-vectors.test.ts checks them against the real encoders and decoders.
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { ChannelEngine, identityFromSecretKey } from "../src/core/index.js";
import { seededRandom } from "../src/core/prng.js";
import {
  encodeRequest as encodeHistoryRequest,
  encodeResponse as encodeHistoryResponse,
  type HistoryHeader,
  type HistoryRequest,
} from "../src/node/history-protocol.js";
import {
  encodeOwnerRequest,
  encodeOwnerResponse,
  type OwnerRequest,
  type OwnerResponse,
} from "../src/node/owner-protocol.js";
import { encodeFrame, STATUS_HANDLER_FAILED, STATUS_OK } from "../src/transport/framing.js";
import { buildOwnerVectors } from "./vector-owner.js";

const CHANNEL = "community/general";
const T0 = 1_700_000_000_000;

/** A value as JSON: bytes become hex strings (the test turns the fields it knows back into bytes). */
export function streamJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return bytesToHex(value);
  if (Array.isArray(value)) return value.map(streamJson);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, streamJson(v)]));
  }
  return value;
}

const requestFrame = (payload: Uint8Array) => bytesToHex(encodeFrame([payload]));
const responseFrame = (payload: Uint8Array) => bytesToHex(encodeFrame([Uint8Array.of(STATUS_OK), payload]));

function historyRequest(name: string, request: HistoryRequest) {
  const payload = encodeHistoryRequest(request);
  return {
    name,
    protocol: "/chorus/history/1",
    direction: "request",
    value: request,
    payload: bytesToHex(payload),
    frame: requestFrame(payload),
  };
}

function historyResponse(name: string, header: HistoryHeader, messages: Uint8Array[]) {
  const payload = encodeHistoryResponse(header, messages);
  return {
    name,
    protocol: "/chorus/history/1",
    direction: "response",
    value: { header, messages: messages.map(bytesToHex) },
    payload: bytesToHex(payload),
    frame: responseFrame(payload),
  };
}

function ownerRequest(name: string, request: OwnerRequest) {
  const payload = encodeOwnerRequest(request);
  return {
    name,
    protocol: "/chorus/owner/1",
    direction: "request",
    value: streamJson(request),
    payload: bytesToHex(payload),
    frame: requestFrame(payload),
  };
}

function ownerResponse(name: string, response: OwnerResponse) {
  const payload = encodeOwnerResponse(response);
  return {
    name,
    protocol: "/chorus/owner/1",
    direction: "response",
    value: streamJson(response),
    payload: bytesToHex(payload),
    frame: responseFrame(payload),
  };
}

function rejected(name: string, protocol: string, direction: string, payload: string, field: string) {
  return { name, protocol, direction, payload, rejected: true, field };
}

export function buildStreamVectors() {
  const alice = identityFromSecretKey(new Uint8Array(32).fill(0x01));
  const engine = new ChannelEngine({ channelId: CHANNEL, identity: alice, random: seededRandom(71), now: T0 });
  const m1 = engine.send(utf8ToBytes("one"), T0 + 1_000).outgoing[0]!;
  const m2 = engine.send(utf8ToBytes("two"), T0 + 2_000).outgoing[0]!;
  const owner = buildOwnerVectors().vectors;
  const rosterWire = hexToBytes((owner[0] as { wire: string }).wire);
  const reportWire = hexToBytes((owner[1] as { wire: string }).wire);
  const newsWire = hexToBytes((owner[3] as { wire: string }).wire);
  const ownerId = (owner[0] as { owner: string }).owner;
  const cursor = { lamport: m1.message.lamportTimestamp!.toString(), messageId: m1.messageId };
  const handlerFailed = encodeFrame([Uint8Array.of(STATUS_HANDLER_FAILED), utf8ToBytes("no handler")]);
  const big = new Uint8Array(300).fill(0x61);
  return {
    description:
      "Stream protocols (spec section 14.4). Transport frames: a request is uvarint(n) || payload; a response " +
      "is uvarint(n) || status (0 ok, 1 handler failed) || body. History (/chorus/history/1): the request " +
      "payload is UTF-8 JSON; the response payload is u32(len(header)) || header (UTF-8 JSON) || " +
      "(u32(len(m)) || m)*. Owner (/chorus/owner/1): kind or status byte || body. Bytes are hex; in owner " +
      "values, byte fields (report, news, roster, messages) are hex. A rejected vector's payload must be " +
      "refused, naming `field`.",
    vectors: [
      {
        name: "transport: request frame of 300 bytes (two-byte length prefix ac 02)",
        protocol: "transport",
        direction: "request",
        payload: bytesToHex(big),
        frame: requestFrame(big),
      },
      {
        name: "transport: handler failed",
        protocol: "transport",
        direction: "response",
        status: STATUS_HANDLER_FAILED,
        body: bytesToHex(utf8ToBytes("no handler")),
        frame: bytesToHex(handlerFailed),
      },
      rejected("transport: frame with a byte after it", "transport", "request", "0161ff", "frame"),
      rejected("transport: frame shorter than its prefix says", "transport", "request", "0361", "frame"),
      rejected("transport: length prefix over 8 bytes", "transport", "request", "ffffffffffffffff01", "prefix"),
      historyRequest("history: range from the start", { type: "range", channelId: CHANNEL, limit: 100 }),
      historyRequest("history: range after a cursor", { type: "range", channelId: CHANNEL, after: cursor, limit: 2 }),
      historyRequest("history: ids", { type: "ids", channelId: CHANNEL, ids: [m1.messageId, m2.messageId] }),
      historyRequest("history: sequence", {
        type: "sequence",
        channelId: CHANNEL,
        senderId: alice.senderId,
        first: 1,
        last: 2,
      }),
      historyRequest("history: receipts", { type: "receipts", channelId: CHANNEL, ids: [m1.messageId] }),
      historyResponse(
        "history: a page of two messages, with the cursor to continue from",
        {
          senderId: ownerId,
          role: "owner",
          count: 2,
          next: { lamport: m2.message.lamportTimestamp!.toString(), messageId: m2.messageId },
        },
        [m1.bytes, m2.bytes],
      ),
      historyResponse(
        "history: receipts",
        {
          senderId: ownerId,
          role: "owner",
          count: 0,
          receipts: { [m1.messageId]: { count: 1, members: 3, ackedBy: [ownerId] } },
        },
        [],
      ),
      historyResponse(
        "history: error",
        { senderId: alice.senderId, role: "member", count: 0, error: "unknown channel" },
        [],
      ),
      rejected("history: request not JSON", "/chorus/history/1", "request", bytesToHex(utf8ToBytes("{")), "request"),
      rejected(
        "history: limit out of range",
        "/chorus/history/1",
        "request",
        bytesToHex(utf8ToBytes(`{"type":"range","channelId":"c","limit":0}`)),
        "limit",
      ),
      rejected(
        "history: response with a trailing byte",
        "/chorus/history/1",
        "response",
        `${bytesToHex(encodeHistoryResponse({ senderId: ownerId, role: "owner", count: 0 }, []))}00`,
        "trailing bytes",
      ),
      ownerRequest("owner: REPORT", { kind: "report", channelId: CHANNEL, cursor: 0, report: reportWire }),
      ownerRequest("owner: WATCH", {
        kind: "watch",
        channelId: CHANNEL,
        member: alice.senderId,
        rosterVersion: 1,
        cursor: 5,
        holdMs: 20_000,
      }),
      ownerRequest("owner: FETCH", {
        kind: "fetch",
        channelId: CHANNEL,
        ranges: [{ senderId: alice.senderId, first: 1, last: 2 }],
        ids: [m2.messageId],
      }),
      ownerRequest("owner: ROSTER", { kind: "roster", channelId: CHANNEL, known: 0 }),
      ownerResponse("owner: NEWS", { status: "news", news: newsWire }),
      ownerResponse("owner: MESSAGES", { status: "messages", truncated: false, messages: [m1.bytes, m2.bytes] }),
      ownerResponse("owner: MESSAGES, truncated", { status: "messages", truncated: true, messages: [] }),
      ownerResponse("owner: ROSTER", { status: "roster", roster: rosterWire }),
      ownerResponse("owner: UNCHANGED", { status: "unchanged" }),
      ownerResponse("owner: REFUSED", { status: "refused", code: "malformed", reason: "holdMs out of range" }),
      rejected("owner: unknown request kind", "/chorus/owner/1", "request", "09", "kind"),
      rejected("owner: ROSTER with a byte left over", "/chorus/owner/1", "request", "0401630000", "request"),
      rejected("owner: ROSTER ending inside a field", "/chorus/owner/1", "request", "040163", "known"),
      rejected("owner: FETCH asking for nothing", "/chorus/owner/1", "request", "030163000000", "fetch"),
      rejected("owner: channel not UTF-8", "/chorus/owner/1", "request", "0401ff00", "channel"),
    ],
  };
}
