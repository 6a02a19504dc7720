/**
 * The owner's history service over the transport's request/response primitive ("/chorus/history/1").
 *
 * Request: UTF-8 JSON, one of the `HistoryRequest` shapes. Response: a u32 (big-endian) length, a UTF-8
 * JSON header (`HistoryHeader`), then `count` messages, each a u32 length and the message's original
 * signed bytes. Messages stay in their signed form, so a member verifies them exactly as if they had
 * arrived on the topic: the owner cannot forge or alter them, only withhold them.
 */

export const HISTORY_PROTOCOL = "/chorus/history/1";
/** Keeps a response page under the transport's 4 MiB frame limit. */
export const MAX_PAGE_BYTES = 3 * 1024 * 1024;
export const MAX_PAGE_MESSAGES = 10_000;
export const MAX_IDS_PER_REQUEST = 1_000;

export interface Cursor {
  /** Lamport timestamp as a decimal string (JSON has no 64-bit integers). */
  readonly lamport: string;
  readonly messageId: string;
}

export type HistoryRequest =
  | { readonly type: "range"; readonly channelId: string; readonly after?: Cursor; readonly limit?: number }
  | { readonly type: "ids"; readonly channelId: string; readonly ids: readonly string[] }
  | {
      readonly type: "sequence";
      readonly channelId: string;
      readonly senderId: string;
      readonly first: number;
      readonly last: number;
    }
  | { readonly type: "receipts"; readonly channelId: string; readonly ids: readonly string[] };

export interface ReceiptSummary {
  readonly count: number;
  readonly members: number;
  readonly ackedBy: readonly string[];
}

export interface HistoryHeader {
  /** The answering node's Chorus sender id; members prefer the owner's as a repair responder. */
  readonly senderId: string;
  /** Every node answers from its store; only the owner keeps everything and aggregates receipts. */
  readonly role: "owner" | "member";
  readonly count: number;
  /** Where the next page starts; absent on the last page. */
  readonly next?: Cursor;
  readonly receipts?: Readonly<Record<string, ReceiptSummary>>;
  readonly error?: string;
}

export class HistoryProtocolError extends Error {
  override readonly name = "HistoryProtocolError";
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeRequest(request: HistoryRequest): Uint8Array {
  return encoder.encode(JSON.stringify(request));
}

function isString(v: unknown): v is string {
  return typeof v === "string" && v.length > 0 && v.length <= 512;
}

function checkIds(ids: unknown): readonly string[] {
  if (!Array.isArray(ids) || ids.length > MAX_IDS_PER_REQUEST || !ids.every(isString)) {
    throw new HistoryProtocolError(`ids must be an array of at most ${MAX_IDS_PER_REQUEST} non-empty strings`);
  }
  return ids;
}

/** Parses and validates a request; throws HistoryProtocolError naming what is wrong. */
export function decodeRequest(bytes: Uint8Array): HistoryRequest {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new HistoryProtocolError("request is not valid JSON");
  }
  if (typeof value !== "object" || value === null) throw new HistoryProtocolError("request must be a JSON object");
  const r = value as Record<string, unknown>;
  if (!isString(r.channelId)) throw new HistoryProtocolError("channelId must be a non-empty string");
  switch (r.type) {
    case "range": {
      const limit = r.limit === undefined ? MAX_PAGE_MESSAGES : r.limit;
      if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_MESSAGES) {
        throw new HistoryProtocolError(`limit must be an integer in 1..${MAX_PAGE_MESSAGES}`);
      }
      let after: Cursor | undefined;
      if (r.after !== undefined) {
        const a = r.after as Record<string, unknown>;
        if (typeof a !== "object" || a === null || typeof a.lamport !== "string" || !/^\d{1,20}$/.test(a.lamport)) {
          throw new HistoryProtocolError("after.lamport must be a decimal string");
        }
        if (typeof a.messageId !== "string") throw new HistoryProtocolError("after.messageId must be a string");
        after = { lamport: a.lamport, messageId: a.messageId };
      }
      return after === undefined
        ? { type: "range", channelId: r.channelId, limit }
        : { type: "range", channelId: r.channelId, after, limit };
    }
    case "ids":
      return { type: "ids", channelId: r.channelId, ids: checkIds(r.ids) };
    case "receipts":
      return { type: "receipts", channelId: r.channelId, ids: checkIds(r.ids) };
    case "sequence": {
      const { first, last } = r;
      if (!isString(r.senderId)) throw new HistoryProtocolError("senderId must be a non-empty string");
      if (
        typeof first !== "number" ||
        typeof last !== "number" ||
        !Number.isInteger(first) ||
        !Number.isInteger(last)
      ) {
        throw new HistoryProtocolError("first and last must be integers");
      }
      if (first < 1 || last < first || last - first >= MAX_PAGE_MESSAGES) {
        throw new HistoryProtocolError(`first..last must be a non-empty range of at most ${MAX_PAGE_MESSAGES}, from 1`);
      }
      return { type: "sequence", channelId: r.channelId, senderId: r.senderId, first, last };
    }
    default:
      throw new HistoryProtocolError(`unknown request type ${JSON.stringify(r.type)}`);
  }
}

export function encodeResponse(header: HistoryHeader, messages: readonly Uint8Array[]): Uint8Array {
  const head = encoder.encode(JSON.stringify(header));
  let total = 4 + head.length;
  for (const m of messages) total += 4 + m.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, head.length);
  out.set(head, 4);
  let offset = 4 + head.length;
  for (const m of messages) {
    view.setUint32(offset, m.length);
    out.set(m, offset + 4);
    offset += 4 + m.length;
  }
  return out;
}

export function decodeResponse(bytes: Uint8Array): { header: HistoryHeader; messages: Uint8Array[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (what: string): never => {
    throw new HistoryProtocolError(`malformed history response: ${what}`);
  };
  if (bytes.length < 4) fail("shorter than its header length");
  const headLength = view.getUint32(0);
  if (4 + headLength > bytes.length) fail("header runs past the end");
  let header: HistoryHeader;
  try {
    header = JSON.parse(decoder.decode(bytes.subarray(4, 4 + headLength))) as HistoryHeader;
  } catch {
    return fail("header is not JSON");
  }
  if (typeof header.count !== "number" || header.count < 0 || header.count > MAX_PAGE_MESSAGES) fail("bad count");
  const messages: Uint8Array[] = [];
  let offset = 4 + headLength;
  for (let i = 0; i < header.count; i++) {
    if (offset + 4 > bytes.length) fail(`message ${i} length runs past the end`);
    const length = view.getUint32(offset);
    if (offset + 4 + length > bytes.length) fail(`message ${i} runs past the end`);
    messages.push(bytes.slice(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  if (offset !== bytes.length) fail("trailing bytes");
  return { header, messages };
}
