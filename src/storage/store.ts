// The durable state of a Chorus node: every channel message it has seen, the order in which it
// delivered them, the engine's snapshot per channel, its identity and the channels it has joined.
//
// The interface is synchronous. better-sqlite3 is synchronous, and a transaction there must not
// span an `await`: an async `transaction(fn)` would either commit before `fn` finished or let other
// callers' writes interleave with it. With a synchronous `transaction(fn)` the rule "the message
// and the snapshot that reflects it are written together" holds by construction, in both
// implementations. A future asynchronous backend (IndexedDB) would sit behind the node layer's own
// write queue rather than change this interface.

/** A message as the node hands it to the store. Ids are opaque strings (hex in practice). */
export interface NewMessage {
  readonly channelId: string;
  readonly messageId: string;
  readonly senderId: string;
  /** The sender's sequence number; null for messages that carry none (SDS interop, sync messages). */
  readonly seq: number | null;
  /** Lamport timestamp, an unsigned 64-bit integer on the wire. */
  readonly lamport: bigint;
  /** The encoded message exactly as received; the store never looks inside. */
  readonly bytes: Uint8Array;
  /** Local receive time in Unix milliseconds. */
  readonly receivedAt: number;
  /**
   * Where the network can find the message again (Waku: its message hash), when the transport gave one;
   * at most MAX_HINT_BYTES bytes.
   */
  readonly retrievalHint?: Uint8Array;
}

export interface StoredMessage extends NewMessage {
  /** 1-based position in the channel's delivered log, or null while the message waits undelivered. */
  readonly deliveredPos: number | null;
}

/** A position in (lamport, messageId) order; a range query returns what comes strictly after it. */
export interface LamportCursor {
  readonly lamport: bigint;
  readonly messageId: string;
}

export interface Page {
  /** At most this many results; a positive integer, at most `MAX_PAGE`. */
  readonly limit: number;
}

export interface LamportRange extends Page {
  /** Start strictly after this position; omit to start at the beginning. */
  readonly after?: LamportCursor;
}

export interface SenderRange extends Page {
  /** Inclusive bounds on the sender sequence number. */
  readonly fromSeq: number;
  readonly toSeq: number;
}

export interface DeliveredRange extends Page {
  /** Start strictly after this delivered position; 0 (the default) starts at the first delivery. */
  readonly after?: number;
}

export interface Store {
  /**
   * Stores a message. Returns true when it was new, false when a message with this id was already
   * stored in the channel (the stored copy is kept unchanged, whatever the new one holds).
   */
  putMessage(message: NewMessage): boolean;
  getMessage(channelId: string, messageId: string): StoredMessage | undefined;
  hasMessage(channelId: string, messageId: string): boolean;
  /** Number of messages stored for the channel, delivered or not. */
  countMessages(channelId: string): number;
  /** One sender's messages with `fromSeq <= seq <= toSeq`, ordered by (seq, messageId). */
  listBySender(channelId: string, senderId: string, range: SenderRange): StoredMessage[];
  /** Messages ordered by (lamport, messageId), for catch-up; page with the last result as `after`. */
  listByLamport(channelId: string, range: LamportRange): StoredMessage[];
  /** Stored but not yet delivered messages, ordered by (lamport, messageId): what to re-buffer after a restart. */
  listUndelivered(channelId: string, range: LamportRange): StoredMessage[];

  /**
   * Appends a stored message to the channel's delivered log and returns its position. Idempotent:
   * a message already delivered keeps its position. Throws StoreNotFoundError when it is not stored.
   */
  markDelivered(channelId: string, messageId: string): number;
  /**
   * Records the retrieval hint of a stored message that has none (an own message learns its hint once
   * published). Returns true when recorded, false when the message already had one, which is kept.
   * Throws StoreNotFoundError when the message is not stored.
   */
  setRetrievalHint(channelId: string, messageId: string, hint: Uint8Array): boolean;
  /** The delivered log in delivery order. */
  listDelivered(channelId: string, range: DeliveredRange): StoredMessage[];
  /** Length of the delivered log, which is also the position of the last delivery. */
  countDelivered(channelId: string): number;

  /** The engine's last snapshot (JSON text) for the channel. */
  getSnapshot(channelId: string): string | undefined;
  putSnapshot(channelId: string, json: string): void;

  /** The node's 32-byte ed25519 secret key, if one was stored. */
  getIdentity(): Uint8Array | undefined;
  setIdentity(secretKey: Uint8Array): void;

  /** Idempotent. Joining does not touch stored messages; neither does leaving. */
  joinChannel(channelId: string): void;
  leaveChannel(channelId: string): void;
  /** Joined channels in ascending id order. */
  listChannels(): string[];

  /**
   * Runs `fn` atomically: all of its writes happen, or, if it throws, none do and the error
   * propagates. Nesting is allowed (an inner throw caught by the outer `fn` rolls back only the
   * inner writes). `fn` must be synchronous; returning a promise is a TypeError and rolls back.
   */
  transaction<T>(fn: () => T): T;

  /** Releases resources. Idempotent; every other method throws StoreClosedError afterwards. */
  close(): void;
}

/** Largest page a single query may return, so one request cannot make the store load a whole channel. */
export const MAX_PAGE = 10_000;
/** Longest id accepted, in UTF-16 code units. Chorus ids are 32 or 64 hex characters. */
export const MAX_ID_LENGTH = 512;
/** Largest Lamport timestamp: the wire carries uint64. */
export const MAX_LAMPORT = (1n << 64n) - 1n;
export const SECRET_KEY_BYTES = 32;
/** Longest retrieval hint kept: a Waku message hash is 32 bytes; SDS leaves the size open. */
export const MAX_HINT_BYTES = 256;

export class StoreNotFoundError extends Error {
  override readonly name = "StoreNotFoundError";
  constructor(
    readonly channelId: string,
    readonly messageId: string,
    operation: string,
  ) {
    super(`${operation}: message ${JSON.stringify(messageId)} is not stored in channel ${JSON.stringify(channelId)}`);
  }
}

export class StoreClosedError extends Error {
  override readonly name = "StoreClosedError";
  constructor(operation: string) {
    super(`${operation}: the store is closed`);
  }
}

/**
 * Orders ids by Unicode code point, which is the UTF-8 byte order SQLite's BINARY collation uses.
 * Plain `<` compares UTF-16 code units and disagrees for characters above U+FFFF.
 */
export function compareIds(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

// Surrogates (U+D800..DFFF, which encode code points above U+FFFF) must sort after U+E000..FFFF.
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  if (unit <= 0xdfff) return unit + 0x2000;
  return unit - 0x800;
}

/** Orders (lamport, messageId) pairs, the catch-up order. */
export function compareLamport(a: LamportCursor, b: LamportCursor): number {
  if (a.lamport !== b.lamport) return a.lamport < b.lamport ? -1 : 1;
  return compareIds(a.messageId, b.messageId);
}
