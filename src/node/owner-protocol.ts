/**
 * The owner protocol, `/chorus/owner/1`: the direct path between a member and its channel's owner node.
 * A member reports what it holds, waits for news of its own messages (receipts, every sender's head), fetches
 * what it misses, and fetches the channel's signed roster. The payloads that carry protocol meaning are the
 * protobuf messages of proto/chorus/v1/owner.proto (ReceiptReport, OwnerNews, Roster) and signed channel
 * messages; this module defines only the envelope around them.
 *
 * ## Exchanges
 *
 * One request and one response per exchange, over the transport's request/response primitive (libp2p: one
 * stream per exchange, each side one varint-length-prefixed frame; src/transport/libp2p-transport.ts). Only
 * an owner node handles the protocol; a peer that does not is not the owner (UNSUPPORTED_PROTOCOL).
 *
 *   request  = kind (1 byte) || body
 *   response = status (1 byte) || body
 *
 * ## Field encodings
 *
 *   uvarint  unsigned LEB128, at most 8 bytes, value at most 2^53 − 1; the shortest form is not required
 *   u8       one byte
 *   bytes    uvarint length || that many bytes
 *   string   bytes holding well-formed UTF-8; each field below states its limit in bytes
 *   id       string of 1..128 bytes (a message id, hex)
 *   sender   string of exactly 64 lowercase hex characters (an ed25519 public key, the Chorus sender id)
 *   channel  string of 1..256 bytes
 *
 * A body is consumed exactly: bytes left over after its last field are an error, and so is a body that
 * ends inside a field. Decoders refuse a whole request or response larger than MAX_FRAME_BYTES (4 MiB).
 *
 * ## Requests
 *
 *   0x01 REPORT  channel || cursor: uvarint || report: bytes
 *       `report` is a signed ReceiptReport (at most 1 MiB). `cursor` is where the reporter's news stands;
 *       a NEWS response carries the reporter's news since it. Reports are unions of holdings: repeating,
 *       reordering or losing one is harmless, its claims go into the next one.
 *   0x02 WATCH   channel || member: sender || roster: uvarint || cursor: uvarint || holdMs: uvarint (1..60,000)
 *       Asks for `member`'s news since `cursor`; `roster` is the roster version the member holds (0 for
 *       none). The owner answers at once when there is news or the roster version is not its own, otherwise
 *       when news appears or after min(holdMs, what its transport allows) with whatever there is (possibly
 *       no receipts and no heads; the cursor still moves). A newer WATCH of the same member and channel
 *       answers the older one at once. News is not confidential (receipts of a public topic's messages),
 *       so a WATCH is not signed.
 *   0x03 FETCH   channel || n: uvarint (0..256) || n × (sender || first: uvarint || last: uvarint)
 *                        || m: uvarint (0..1,000) || m × id
 *       Messages by sender and sequence range (1 ≤ first ≤ last, last − first < 10,000) and by id;
 *       n + m ≥ 1.
 *   0x04 ROSTER  channel || known: uvarint
 *       The channel's signed roster; `known` is the roster version the requester holds (0 for none).
 *
 * ## Responses
 *
 *   0x00 NEWS      news: bytes           an OwnerNews (answers REPORT and WATCH)
 *   0x01 MESSAGES  flags: u8 || count: uvarint (0..10,000) || count × message: bytes
 *       Signed channel messages, exactly as the sender published them (the requester verifies them as if
 *       they came from the topic). Flag bit 0 (TRUNCATED): more matched than fit in the response, ask
 *       again for the rest; without it, what was asked for and is not here, the owner does not hold. Other
 *       flag bits are 0.
 *   0x02 ROSTER    roster: bytes         a signed Roster; the requester checks it against the owner's id
 *   0x03 UNCHANGED (empty body)          answers ROSTER when `known` is the current version
 *   0x04 REFUSED   code: u8 || reason: string (0..1,024 bytes)
 *       1 NOT_KEPT      this node keeps no owner service for the channel (not joined, or no roster)
 *       2 BAD_REPORT    the report does not decode, verify, or name a member of the roster (`reason` says)
 *       3 NOT_A_MEMBER  the WATCH names a sender that is not on the roster
 *       4 MALFORMED     the request does not decode (`reason` names the field)
 *       5 BUSY          the owner is starting (its channels are not open yet) or stopping; ask again soon
 *
 * Which responses answer which request: REPORT → NEWS | REFUSED; WATCH → NEWS | REFUSED;
 * FETCH → MESSAGES | REFUSED; ROSTER → ROSTER | UNCHANGED | REFUSED. Any other pairing is a protocol error
 * on the requester's side. FETCH is answered from the owner's store for any channel it keeps, with or
 * without a roster; REPORT, WATCH and ROSTER only for channels with a roster (NOT_KEPT otherwise).
 *
 * ## How the two sides use it (this implementation: owner-server.ts, owner-client.ts)
 *
 * Member. Finds the owner by sending ROSTER to its peers (the last owner peer first, with `known` set; the
 * others with 0): the first peer that serves a roster signed by the owner's sender id (configured; without
 * one, the roster's own `owner` field the first time, then that id) is the owner. It keeps one WATCH open
 * (holdMs 20,000, its own timeout holdMs + 5 s) and sends another as soon as one is answered; sends a REPORT
 * when the engine has something new to report, at most every 250 ms, or every N / 2,000 s on a roster of N
 * members when that is longer (2 s after a failed or refused one);
 * sends a FETCH 20 ms after the engine detects a gap, for everything missing that the owner did not lack in
 * the last 10 s, and tells the engine what the owner lacked. It applies a NEWS's receipts at once and its
 * heads 1 s later (a message the owner just got is usually still on its way over the topic). NEWS for another
 * roster version (or a refused REPORT) makes it fetch the roster again. The owner path is up from the first
 * exchange that succeeds and down after 2 consecutive failed ones (a failed exchange: a transport error, a
 * malformed or unexpected response); while it is down, receipts and repair go over the topic.
 *
 * Owner. Signs one roster per channel from its member list (itself first); the roster version is the
 * owner's clock in ms when it signed it, at least one more than the last, and is also the epoch of its
 * receipt ledger: a restarted owner publishes a new version, and members start their reports and cursors
 * over. A REPORT is answered at once and wakes the WATCH of every sender it names; a sender's new head wakes
 * every WATCH, at most once per second; a WATCH is held at most 20 s and 1 s less than the transport lets an
 * inbound exchange last. The owner's own holdings enter the ledger as its own signed reports.
 */

import { encodeUvarint } from "../wire/varint.js";

export const OWNER_PROTOCOL = "/chorus/owner/1";

export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
export const MAX_CHANNEL_BYTES = 256;
export const MAX_ID_BYTES = 128;
export const MAX_REPORT_BYTES = 1024 * 1024;
export const MAX_HOLD_MS = 60_000;
export const MAX_FETCH_RANGES = 256;
export const MAX_FETCH_IDS = 1_000;
/** A fetched range spans at most this many sequence numbers, and a response holds at most this many messages. */
export const MAX_FETCH_SPAN = 10_000;
export const MAX_REASON_BYTES = 1_024;
const MAX_UVARINT_BYTES = 8;

export const RequestKind = { report: 0x01, watch: 0x02, fetch: 0x03, roster: 0x04 } as const;
export const ResponseStatus = { news: 0x00, messages: 0x01, roster: 0x02, unchanged: 0x03, refused: 0x04 } as const;
export const RefusalCode = { notKept: 1, badReport: 2, notAMember: 3, malformed: 4, busy: 5 } as const;
export type RefusalName = keyof typeof RefusalCode;
/** Flag bit 0 of MESSAGES: more matched than the response holds. */
export const TRUNCATED = 0x01;

export interface SeqRange {
  readonly senderId: string;
  readonly first: number;
  readonly last: number;
}

export type OwnerRequest =
  | { readonly kind: "report"; readonly channelId: string; readonly cursor: number; readonly report: Uint8Array }
  | {
      readonly kind: "watch";
      readonly channelId: string;
      readonly member: string;
      readonly rosterVersion: number;
      readonly cursor: number;
      readonly holdMs: number;
    }
  | {
      readonly kind: "fetch";
      readonly channelId: string;
      readonly ranges: readonly SeqRange[];
      readonly ids: readonly string[];
    }
  | { readonly kind: "roster"; readonly channelId: string; readonly known: number };

export type OwnerResponse =
  | { readonly status: "news"; readonly news: Uint8Array }
  | { readonly status: "messages"; readonly truncated: boolean; readonly messages: readonly Uint8Array[] }
  | { readonly status: "roster"; readonly roster: Uint8Array }
  | { readonly status: "unchanged" }
  | { readonly status: "refused"; readonly code: RefusalName; readonly reason: string };

/** A request or response that breaks the framing; `field` names where, the message says how. */
export class OwnerProtocolError extends Error {
  override readonly name = "OwnerProtocolError";
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`owner protocol: ${field} ${problem}`);
  }
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const SENDER = /^[0-9a-f]{64}$/;

// ------------------------------------------------------------------------------------------ writing

class Writer {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  u8(value: number): this {
    return this.raw(Uint8Array.of(value));
  }

  uvarint(field: string, value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new OwnerProtocolError(field, `must be an integer in 0..${Number.MAX_SAFE_INTEGER}, got ${value}`);
    }
    return this.raw(encodeUvarint(value));
  }

  bytes(field: string, value: Uint8Array, max: number): this {
    if (!(value instanceof Uint8Array)) throw new OwnerProtocolError(field, "must be a Uint8Array");
    if (value.length > max) throw new OwnerProtocolError(field, `is ${value.length} bytes, limit ${max}`);
    return this.uvarint(field, value.length).raw(value);
  }

  string(field: string, value: string, min: number, max: number): this {
    if (typeof value !== "string") throw new OwnerProtocolError(field, `must be a string, got ${typeof value}`);
    const bytes = utf8.encode(value);
    if (bytes.length < min) throw new OwnerProtocolError(field, `must be at least ${min} bytes`);
    return this.bytes(field, bytes, max);
  }

  sender(field: string, value: string): this {
    if (typeof value !== "string" || !SENDER.test(value)) {
      throw new OwnerProtocolError(field, `must be 64 lowercase hex characters, got ${JSON.stringify(value)}`);
    }
    return this.string(field, value, 64, 64);
  }

  private raw(value: Uint8Array): this {
    this.parts.push(value);
    this.size += value.length;
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let offset = 0;
    for (const p of this.parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }
}

// ------------------------------------------------------------------------------------------ reading

class Reader {
  private offset = 1;

  constructor(
    private readonly input: Uint8Array,
    private readonly what: "request" | "response",
  ) {}

  u8(field: string): number {
    if (this.offset >= this.input.length) throw new OwnerProtocolError(field, `runs past the end of the ${this.what}`);
    return this.input[this.offset++]!;
  }

  uvarint(field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (i >= MAX_UVARINT_BYTES)
        throw new OwnerProtocolError(field, `is a varint longer than ${MAX_UVARINT_BYTES} bytes`);
      const byte = this.u8(field);
      value += (byte & 0x7f) * scale;
      scale *= 0x80;
      if ((byte & 0x80) === 0) break;
    }
    if (value > Number.MAX_SAFE_INTEGER) throw new OwnerProtocolError(field, `exceeds ${Number.MAX_SAFE_INTEGER}`);
    if (value < min || value > max) throw new OwnerProtocolError(field, `is ${value}, must be in ${min}..${max}`);
    return value;
  }

  bytes(field: string, max: number): Uint8Array {
    const length = this.uvarint(`${field} length`);
    if (length > max) throw new OwnerProtocolError(field, `is ${length} bytes, limit ${max}`);
    if (this.offset + length > this.input.length) {
      throw new OwnerProtocolError(field, `runs past the end of the ${this.what}`);
    }
    const out = this.input.slice(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  string(field: string, min: number, max: number): string {
    const bytes = this.bytes(field, max);
    if (bytes.length < min) throw new OwnerProtocolError(field, `must be at least ${min} bytes, got ${bytes.length}`);
    try {
      return strictUtf8.decode(bytes);
    } catch {
      throw new OwnerProtocolError(field, "is not well-formed UTF-8");
    }
  }

  sender(field: string): string {
    const value = this.string(field, 64, 64);
    if (!SENDER.test(value)) throw new OwnerProtocolError(field, "must be 64 lowercase hex characters");
    return value;
  }

  end(): void {
    const left = this.input.length - this.offset;
    if (left !== 0) throw new OwnerProtocolError(this.what, `has ${left} trailing byte${left === 1 ? "" : "s"}`);
  }
}

function start(bytes: Uint8Array, what: "request" | "response"): number {
  if (!(bytes instanceof Uint8Array)) throw new OwnerProtocolError(what, "must be a Uint8Array");
  if (bytes.length === 0) throw new OwnerProtocolError(what, "is empty");
  if (bytes.length > MAX_FRAME_BYTES) {
    throw new OwnerProtocolError(what, `is ${bytes.length} bytes, limit ${MAX_FRAME_BYTES}`);
  }
  return bytes[0]!;
}

// ------------------------------------------------------------------------------------------ requests

function writeFetch(w: Writer, request: Extract<OwnerRequest, { kind: "fetch" }>): void {
  const { ranges, ids } = request;
  if (ranges.length > MAX_FETCH_RANGES)
    throw new OwnerProtocolError("ranges", `has ${ranges.length}, limit ${MAX_FETCH_RANGES}`);
  if (ids.length > MAX_FETCH_IDS) throw new OwnerProtocolError("ids", `has ${ids.length}, limit ${MAX_FETCH_IDS}`);
  if (ranges.length + ids.length === 0) throw new OwnerProtocolError("fetch", "asks for nothing");
  w.uvarint("ranges", ranges.length);
  ranges.forEach((r, i) => {
    checkRange(`ranges[${i}]`, r.first, r.last);
    w.sender(`ranges[${i}].sender`, r.senderId)
      .uvarint(`ranges[${i}].first`, r.first)
      .uvarint(`ranges[${i}].last`, r.last);
  });
  w.uvarint("ids", ids.length);
  ids.forEach((id, i) => {
    w.string(`ids[${i}]`, id, 1, MAX_ID_BYTES);
  });
}

function checkRange(field: string, first: number, last: number): void {
  if (first < 1 || last < first || last - first >= MAX_FETCH_SPAN) {
    throw new OwnerProtocolError(
      field,
      `${first}..${last} must start at 1 or later and span 1..${MAX_FETCH_SPAN} numbers`,
    );
  }
}

export function encodeOwnerRequest(request: OwnerRequest): Uint8Array {
  const w = new Writer().u8(RequestKind[request.kind]);
  w.string("channel", request.channelId, 1, MAX_CHANNEL_BYTES);
  switch (request.kind) {
    case "report":
      return w.uvarint("cursor", request.cursor).bytes("report", request.report, MAX_REPORT_BYTES).finish();
    case "watch":
      if (!Number.isInteger(request.holdMs) || request.holdMs < 1 || request.holdMs > MAX_HOLD_MS) {
        throw new OwnerProtocolError("holdMs", `is ${request.holdMs}, must be in 1..${MAX_HOLD_MS}`);
      }
      return w
        .sender("member", request.member)
        .uvarint("roster", request.rosterVersion)
        .uvarint("cursor", request.cursor)
        .uvarint("holdMs", request.holdMs)
        .finish();
    case "fetch":
      writeFetch(w, request);
      return w.finish();
    case "roster":
      return w.uvarint("known", request.known).finish();
  }
}

function readFetch(r: Reader, channelId: string): OwnerRequest {
  const n = r.uvarint("ranges", 0, MAX_FETCH_RANGES);
  const ranges: SeqRange[] = [];
  for (let i = 0; i < n; i++) {
    const senderId = r.sender(`ranges[${i}].sender`);
    const first = r.uvarint(`ranges[${i}].first`, 1);
    const last = r.uvarint(`ranges[${i}].last`, 1);
    checkRange(`ranges[${i}]`, first, last);
    ranges.push({ senderId, first, last });
  }
  const m = r.uvarint("ids", 0, MAX_FETCH_IDS);
  const ids: string[] = [];
  for (let i = 0; i < m; i++) ids.push(r.string(`ids[${i}]`, 1, MAX_ID_BYTES));
  if (n + m === 0) throw new OwnerProtocolError("fetch", "asks for nothing");
  return { kind: "fetch", channelId, ranges, ids };
}

/** Decodes and validates a request; throws OwnerProtocolError naming the field at fault. */
export function decodeOwnerRequest(bytes: Uint8Array): OwnerRequest {
  const kind = start(bytes, "request");
  const r = new Reader(bytes, "request");
  let request: OwnerRequest;
  switch (kind) {
    case RequestKind.report: {
      const channelId = r.string("channel", 1, MAX_CHANNEL_BYTES);
      request = { kind: "report", channelId, cursor: r.uvarint("cursor"), report: r.bytes("report", MAX_REPORT_BYTES) };
      break;
    }
    case RequestKind.watch: {
      const channelId = r.string("channel", 1, MAX_CHANNEL_BYTES);
      const member = r.sender("member");
      const rosterVersion = r.uvarint("roster");
      const cursor = r.uvarint("cursor");
      const holdMs = r.uvarint("holdMs", 1, MAX_HOLD_MS);
      request = { kind: "watch", channelId, member, rosterVersion, cursor, holdMs };
      break;
    }
    case RequestKind.fetch:
      request = readFetch(r, r.string("channel", 1, MAX_CHANNEL_BYTES));
      break;
    case RequestKind.roster: {
      const channelId = r.string("channel", 1, MAX_CHANNEL_BYTES);
      request = { kind: "roster", channelId, known: r.uvarint("known") };
      break;
    }
    default:
      throw new OwnerProtocolError("kind", `0x${kind.toString(16).padStart(2, "0")} is not a request kind`);
  }
  r.end();
  return request;
}

// ----------------------------------------------------------------------------------------- responses

export function encodeOwnerResponse(response: OwnerResponse): Uint8Array {
  const w = new Writer().u8(ResponseStatus[response.status]);
  switch (response.status) {
    case "news":
      return w.bytes("news", response.news, MAX_FRAME_BYTES).finish();
    case "messages":
      if (response.messages.length > MAX_FETCH_SPAN) {
        throw new OwnerProtocolError("messages", `has ${response.messages.length}, limit ${MAX_FETCH_SPAN}`);
      }
      w.u8(response.truncated ? TRUNCATED : 0).uvarint("count", response.messages.length);
      response.messages.forEach((m, i) => {
        w.bytes(`messages[${i}]`, m, MAX_FRAME_BYTES);
      });
      return w.finish();
    case "roster":
      return w.bytes("roster", response.roster, MAX_FRAME_BYTES).finish();
    case "unchanged":
      return w.finish();
    case "refused": {
      const reason = utf8.encode(response.reason).slice(0, MAX_REASON_BYTES);
      // Cutting may split a character: drop the broken tail rather than send malformed UTF-8.
      const text = new TextDecoder().decode(reason).replace(/\uFFFD+$/, "");
      return w.u8(RefusalCode[response.code]).string("reason", text, 0, MAX_REASON_BYTES).finish();
    }
  }
}

const REFUSAL_NAMES = new Map<number, RefusalName>(
  Object.entries(RefusalCode).map(([name, code]) => [code, name as RefusalName]),
);

/** Decodes and validates a response; throws OwnerProtocolError naming the field at fault. */
export function decodeOwnerResponse(bytes: Uint8Array): OwnerResponse {
  const status = start(bytes, "response");
  const r = new Reader(bytes, "response");
  let response: OwnerResponse;
  switch (status) {
    case ResponseStatus.news:
      response = { status: "news", news: r.bytes("news", MAX_FRAME_BYTES) };
      break;
    case ResponseStatus.messages: {
      const flags = r.u8("flags");
      if ((flags & ~TRUNCATED) !== 0) throw new OwnerProtocolError("flags", `has unknown bits 0x${flags.toString(16)}`);
      const count = r.uvarint("count", 0, MAX_FETCH_SPAN);
      const messages: Uint8Array[] = [];
      for (let i = 0; i < count; i++) messages.push(r.bytes(`messages[${i}]`, MAX_FRAME_BYTES));
      response = { status: "messages", truncated: (flags & TRUNCATED) !== 0, messages };
      break;
    }
    case ResponseStatus.roster:
      response = { status: "roster", roster: r.bytes("roster", MAX_FRAME_BYTES) };
      break;
    case ResponseStatus.unchanged:
      response = { status: "unchanged" };
      break;
    case ResponseStatus.refused: {
      const code = r.u8("code");
      const name = REFUSAL_NAMES.get(code);
      if (name === undefined) throw new OwnerProtocolError("code", `${code} is not a refusal code`);
      response = { status: "refused", code: name, reason: r.string("reason", 0, MAX_REASON_BYTES) };
      break;
    }
    default:
      throw new OwnerProtocolError("status", `0x${status.toString(16).padStart(2, "0")} is not a response status`);
  }
  r.end();
  return response;
}

/** A REFUSED response. */
export function refusal(code: RefusalName, reason: string): Uint8Array {
  return encodeOwnerResponse({ status: "refused", code, reason });
}
