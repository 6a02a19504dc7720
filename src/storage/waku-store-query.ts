// The store v3 query engine (spec 19.4): pure functions from a StoreQueryRequest to the answer, over any
// ArchiveReader. No I/O of its own, so the same code answers the network service and the unit tests.
//
// What a client may rely on, as nwaku and js-waku 0.0.36 use it:
// - Two kinds of query. By content: pubsub_topic with up to 10 content topics (or none: every content
//   topic of the pubsub topic, or of every pubsub topic without one) and an optional inclusive time range.
//   By hash: message_hashes (up to 100), nothing else but pubsub_topic, which is ignored since the hash
//   already covers it.
// - Order: timestamp, then hash (bytewise), in both directions; a page lists its messages in that order,
//   also when walking backward.
// - Cursor: the hash of the message the previous page ended on, walking in the query's direction (the last
//   of the page forward, the first backward). A page holds the messages strictly after (forward) or before
//   (backward) it. The cursor of the last message gives an empty page, which is where js-waku stops.
// - Limit: absent or 0 means 20; above 100 means 100. A page never holds more.
// - pagination_cursor in the answer is set only when more messages may follow.
// - Status: 200 "OK"; 400 with a status_desc naming the field for a malformed query; 404 when the cursor
//   is not a message the archive holds (it may have expired). js-waku treats anything from 300 as an error.
import type { StoreQueryRequest } from "../wire/gen/waku/v2/store_pb.js";
import type { StoreEntry, StoreResponseHead } from "../wire/waku-rpc.js";

export const STORE_DEFAULT_PAGE_SIZE = 20;
export const STORE_MAX_PAGE_SIZE = 100;
export const STORE_MAX_CONTENT_TOPICS = 10;
export const STORE_MAX_HASHES = 100;
/**
 * The most envelope bytes one page carries: js-waku reads a response of at most 4 MiB (it-length-prefixed's
 * default), and 100 envelopes of up to 150 KiB would not fit. A page cut short by it still sets the cursor.
 */
export const STORE_MAX_PAGE_BYTES = 3 * 1024 * 1024;
const HASH_BYTES = 32;

export const STORE_STATUS = { OK: 200, BAD_REQUEST: 400, NOT_FOUND: 404, SERVICE_UNAVAILABLE: 503 } as const;

/** One archived message. */
export interface ArchivedMessage {
  readonly hash: Uint8Array;
  readonly pubsubTopic: string;
  readonly contentTopic: string;
  /** Nanoseconds: the envelope's timestamp, or its arrival time when it had none. */
  readonly timestamp: bigint;
  /** The WakuMessage bytes as received. */
  readonly envelope: Uint8Array;
}

/** A place in the archive's order. */
export interface ArchivePosition {
  readonly timestamp: bigint;
  readonly hash: Uint8Array;
}

export interface ArchiveFilter {
  readonly pubsubTopic?: string;
  /** Empty: every content topic. */
  readonly contentTopics: readonly string[];
  readonly timeStart?: bigint;
  readonly timeEnd?: bigint;
}

/** What the engine needs from an archive. */
export interface ArchiveReader {
  /** Where the message with this hash sits, or undefined when it is not held. */
  position(hash: Uint8Array): ArchivePosition | undefined;
  /** The held messages among `hashes`, in any order. */
  byHashes(hashes: readonly Uint8Array[]): ArchivedMessage[];
  /** Up to `limit` messages matching `filter`, strictly after `after` in the walking direction, in walking order. */
  range(filter: ArchiveFilter, after: ArchivePosition | undefined, forward: boolean, limit: number): ArchivedMessage[];
}

interface Paging {
  readonly cursor?: Uint8Array;
  readonly forward: boolean;
  readonly limit: number;
  readonly includeData: boolean;
}

export type StoreQuery =
  | ({ readonly kind: "content"; readonly filter: ArchiveFilter } & Paging)
  | ({ readonly kind: "hashes"; readonly hashes: readonly Uint8Array[] } & Paging);

export type Parsed = { readonly query: StoreQuery } | { readonly status: number; readonly description: string };

type Request = Omit<StoreQueryRequest, "$typeName" | "$unknown">;

function bad(description: string): Parsed {
  return { status: STORE_STATUS.BAD_REQUEST, description };
}

/** Checks a request and turns it into a query, or says (status 400) which field is wrong. */
export function parseStoreQuery(request: Request): Parsed {
  if (request.paginationCursor !== undefined && request.paginationCursor.length !== HASH_BYTES) {
    return bad(
      `pagination_cursor is ${request.paginationCursor.length} bytes, must be a ${HASH_BYTES}-byte message hash`,
    );
  }
  const asked = request.paginationLimit ?? 0n;
  const max = BigInt(STORE_MAX_PAGE_SIZE);
  const paging: Paging = {
    forward: request.paginationForward,
    limit: asked === 0n ? STORE_DEFAULT_PAGE_SIZE : Number(asked > max ? max : asked),
    includeData: request.includeData,
    ...(request.paginationCursor === undefined ? {} : { cursor: request.paginationCursor }),
  };
  if (request.messageHashes.length > 0) {
    if (request.contentTopics.length > 0 || request.timeStart !== undefined || request.timeEnd !== undefined) {
      return bad("a query by message_hashes takes no content_topics, time_start or time_end");
    }
    if (request.messageHashes.length > STORE_MAX_HASHES) {
      return bad(`message_hashes has ${request.messageHashes.length} entries, the limit is ${STORE_MAX_HASHES}`);
    }
    const wrong = request.messageHashes.findIndex((h) => h.length !== HASH_BYTES);
    if (wrong >= 0) {
      return bad(`message_hashes[${wrong}] is ${request.messageHashes[wrong]?.length} bytes, must be ${HASH_BYTES}`);
    }
    return { query: { kind: "hashes", hashes: request.messageHashes, ...paging } };
  }
  if (request.contentTopics.length > STORE_MAX_CONTENT_TOPICS) {
    return bad(`content_topics has ${request.contentTopics.length} entries, the limit is ${STORE_MAX_CONTENT_TOPICS}`);
  }
  if (request.contentTopics.length > 0 && (request.pubsubTopic ?? "") === "") {
    return bad("content_topics needs a pubsub_topic");
  }
  if (request.contentTopics.some((t) => t.length === 0)) return bad("content_topics has an empty topic");
  const { timeStart, timeEnd } = request;
  if (timeStart !== undefined && timeEnd !== undefined && timeStart > timeEnd) {
    return bad(`time_start ${timeStart} is after time_end ${timeEnd}`);
  }
  const filter: ArchiveFilter = {
    contentTopics: [...new Set(request.contentTopics)],
    ...(request.pubsubTopic === undefined || request.pubsubTopic === "" ? {} : { pubsubTopic: request.pubsubTopic }),
    ...(timeStart === undefined ? {} : { timeStart }),
    ...(timeEnd === undefined ? {} : { timeEnd }),
  };
  return { query: { kind: "content", filter, ...paging } };
}

/** The answer to a request: the response fields and the entries to splice in (see encodeStoreQueryResponse). */
export interface StoreAnswer {
  readonly head: StoreResponseHead;
  readonly entries: readonly StoreEntry[];
}

/** Answers one request from `reader`. Never throws for bad input: that is a 400 answer. */
export function answerStoreQuery(reader: ArchiveReader, request: Request): StoreAnswer {
  const requestId = request.requestId;
  const parsed = parseStoreQuery(request);
  if ("status" in parsed)
    return { head: { requestId, statusCode: parsed.status, statusDesc: parsed.description }, entries: [] };
  const { query } = parsed;
  let after: ArchivePosition | undefined;
  if (query.cursor !== undefined) {
    after = reader.position(query.cursor);
    if (after === undefined) {
      return {
        head: {
          requestId,
          statusCode: STORE_STATUS.NOT_FOUND,
          statusDesc: `pagination_cursor ${hex(query.cursor)} is not a message this store holds`,
        },
        entries: [],
      };
    }
  }
  // One more than the page tells whether anything follows it.
  const walked =
    query.kind === "content"
      ? reader.range(query.filter, after, query.forward, query.limit + 1)
      : walkHashes(reader.byHashes(query.hashes), after, query.forward, query.limit + 1);
  const page = walked.slice(0, query.limit);
  if (query.includeData) {
    let bytes = 0;
    // At least one message, or a client could never get past a large one.
    for (let i = 0; i < page.length; i++) {
      bytes += (page[i] as ArchivedMessage).envelope.length;
      if (i > 0 && bytes > STORE_MAX_PAGE_BYTES) {
        page.length = i;
        break;
      }
    }
  }
  const more = walked.length > page.length;
  const last = page[page.length - 1];
  if (!query.forward) page.reverse();
  const entries = page.map((m) => ({
    hash: m.hash,
    pubsubTopic: m.pubsubTopic,
    ...(query.includeData ? { envelope: m.envelope } : {}),
  }));
  const head: StoreResponseHead = {
    requestId,
    statusCode: STORE_STATUS.OK,
    statusDesc: "OK",
    ...(more && last !== undefined ? { paginationCursor: last.hash } : {}),
  };
  return { head, entries };
}

/** The order of the archive: timestamp, then hash bytewise. */
export function compareArchived(a: ArchivePosition, b: ArchivePosition): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  return compareBytes(a.hash, b.hash);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  }
  return a.length - b.length;
}

/** The messages of a hash query in walking order, strictly past `after`, at most `limit`. */
function walkHashes(
  found: ArchivedMessage[],
  after: ArchivePosition | undefined,
  forward: boolean,
  limit: number,
): ArchivedMessage[] {
  const sign = forward ? 1 : -1;
  const unique = new Map(found.map((m) => [hex(m.hash), m]));
  return [...unique.values()]
    .filter((m) => after === undefined || sign * compareArchived(m, after) > 0)
    .sort((a, b) => sign * compareArchived(a, b))
    .slice(0, limit);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
