// The Waku archive: every non-ephemeral WakuMessage of the node's shards, kept for the store v3 service
// (spec 19.4) in the node's SQLite database, next to the Chorus tables.
//
// A row is one envelope, keyed by its deterministic message hash, with the bytes exactly as they arrived
// (a store answer hands them back unchanged). Queries walk (pubsub topic, content topic, timestamp, hash);
// the order is timestamp, then hash, which is total, so a cursor (a hash) names one position. Retention is
// bounded by count (exact: the oldest go first) and by age (by the message timestamp, checked at most once
// a minute on insert), so an archive never grows without limit whatever the traffic.
//
// Timestamps are sint64 nanoseconds on the wire, the same range as an SQLite integer. A message without one
// is archived under its arrival time, as nwaku does, so that it still sorts and expires.
import Database from "better-sqlite3";
import {
  type ArchivedMessage,
  type ArchiveFilter,
  type ArchivePosition,
  type ArchiveReader,
  STORE_MAX_CONTENT_TOPICS,
} from "./waku-store-query.js";

export interface WakuArchiveOptions {
  /** The most messages kept; the oldest (by timestamp, then hash) go first. Default 1,000,000. */
  readonly maxMessages?: number;
  /** Messages whose timestamp is older than this are dropped. Default 30 days. */
  readonly maxAgeMs?: number;
}

export const DEFAULT_ARCHIVE_MAX_MESSAGES = 1_000_000;
export const DEFAULT_ARCHIVE_MAX_AGE_MS = 30 * 24 * 3600 * 1000;
const AGE_PRUNE_INTERVAL_MS = 60_000;
const HASH_BYTES = 32;
const NS_PER_MS = 1_000_000n;

/** The schema of the archive, one step of the node database's migrations (version 2). */
export function createWakuArchiveTables(db: Database.Database): void {
  db.exec(`
    CREATE TABLE waku_messages (
      hash          BLOB    NOT NULL PRIMARY KEY,
      pubsub_topic  TEXT    NOT NULL,
      content_topic TEXT    NOT NULL,
      timestamp     INTEGER NOT NULL, -- nanoseconds; the arrival time when the message has none
      envelope      BLOB    NOT NULL,
      received_at   INTEGER NOT NULL  -- milliseconds
    ) WITHOUT ROWID;
    CREATE INDEX waku_messages_by_topic ON waku_messages (pubsub_topic, content_topic, timestamp, hash);
    CREATE INDEX waku_messages_by_time ON waku_messages (timestamp, hash);
  `);
}

/** Every fixed statement the archive runs, exported so a test can check that each plan uses an index. */
export const ARCHIVE_QUERIES = {
  insert: `INSERT INTO waku_messages (hash, pubsub_topic, content_topic, timestamp, envelope, received_at)
    VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING`,
  position: "SELECT timestamp, hash FROM waku_messages WHERE hash = ?",
  byHash: "SELECT hash, pubsub_topic, content_topic, timestamp, envelope FROM waku_messages WHERE hash = ?",
  count: "SELECT COUNT(*) AS n FROM waku_messages",
  dropOldest: `DELETE FROM waku_messages WHERE hash IN
    (SELECT hash FROM waku_messages ORDER BY timestamp, hash LIMIT ?)`,
  dropBefore: "DELETE FROM waku_messages WHERE timestamp < ?",
} as const;

interface Row {
  hash: Buffer;
  pubsub_topic: string;
  content_topic: string;
  timestamp: bigint;
  envelope: Buffer;
}

function toArchived(row: Row): ArchivedMessage {
  return {
    hash: new Uint8Array(row.hash),
    pubsubTopic: row.pubsub_topic,
    contentTopic: row.content_topic,
    timestamp: row.timestamp,
    envelope: new Uint8Array(row.envelope),
  };
}

/** One message to archive, as the relay saw it. */
export interface ArchiveInput {
  readonly hash: Uint8Array;
  readonly pubsubTopic: string;
  readonly contentTopic: string;
  /** Nanoseconds, as in the envelope; undefined or 0 when it has none. */
  readonly timestamp: bigint | undefined;
  readonly envelope: Uint8Array;
}

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

export class WakuArchive implements ArchiveReader {
  readonly maxMessages: number;
  readonly maxAgeMs: number;
  private readonly db: Database.Database;
  private readonly stmt: { readonly [K in keyof typeof ARCHIVE_QUERIES]: Database.Statement };
  /** Range statements by shape (direction, cursor, pubsub topic, number of content topics, time bounds). */
  private readonly rangeStatements = new Map<string, Database.Statement>();
  private stored: number;
  private lastAgePrune = Number.NEGATIVE_INFINITY;

  /** `db` already holds the archive tables (the node database's migration 3, or `createWakuArchiveTables`). */
  constructor(db: Database.Database, options: WakuArchiveOptions = {}) {
    this.maxMessages = positiveInteger("maxMessages", options.maxMessages ?? DEFAULT_ARCHIVE_MAX_MESSAGES);
    this.maxAgeMs = positiveInteger("maxAgeMs", options.maxAgeMs ?? DEFAULT_ARCHIVE_MAX_AGE_MS);
    this.db = db;
    const prepare = (sql: string) => db.prepare(sql).safeIntegers(true);
    this.stmt = Object.fromEntries(
      Object.entries(ARCHIVE_QUERIES).map(([k, sql]) => [k, prepare(sql)]),
    ) as WakuArchive["stmt"];
    this.stored = Number((this.stmt.count.get() as { n: bigint }).n);
  }

  /** An archive in a database of its own in memory (a node without a SQLite store, tests). */
  static inMemory(options: WakuArchiveOptions = {}): WakuArchive {
    const db = new Database(":memory:");
    createWakuArchiveTables(db);
    return new WakuArchive(db, options);
  }

  /** How many messages the archive holds. */
  size(): number {
    return this.stored;
  }

  /**
   * Keeps one message; false when it was already there (same hash) or is already past the age limit.
   * `receivedAtMs` is the arrival time (Unix ms): it stands in for a missing timestamp and drives expiry.
   */
  add(message: ArchiveInput, receivedAtMs: number): boolean {
    if (!(message.hash instanceof Uint8Array) || message.hash.length !== HASH_BYTES) {
      throw new RangeError(`hash must be ${HASH_BYTES} bytes, got ${String(message.hash?.length)}`);
    }
    if (!Number.isSafeInteger(receivedAtMs))
      throw new RangeError(`receivedAtMs must be an integer, got ${receivedAtMs}`);
    const timestamp =
      message.timestamp === undefined || message.timestamp === 0n
        ? BigInt(receivedAtMs) * NS_PER_MS
        : message.timestamp;
    const horizon = BigInt(receivedAtMs - this.maxAgeMs) * NS_PER_MS;
    if (timestamp < horizon) return false;
    const info = this.stmt.insert.run(
      message.hash,
      message.pubsubTopic,
      message.contentTopic,
      timestamp,
      message.envelope,
      receivedAtMs,
    );
    if (info.changes === 0) return false;
    this.stored++;
    if (this.stored > this.maxMessages) {
      const excess = this.stored - this.maxMessages;
      this.stored -= this.stmt.dropOldest.run(excess).changes;
    }
    if (receivedAtMs - this.lastAgePrune >= AGE_PRUNE_INTERVAL_MS) {
      this.lastAgePrune = receivedAtMs;
      this.stored -= this.stmt.dropBefore.run(horizon).changes;
    }
    return true;
  }

  position(hash: Uint8Array): ArchivePosition | undefined {
    const row = this.stmt.position.get(hash) as { timestamp: bigint; hash: Buffer } | undefined;
    return row === undefined ? undefined : { timestamp: row.timestamp, hash: new Uint8Array(row.hash) };
  }

  byHashes(hashes: readonly Uint8Array[]): ArchivedMessage[] {
    const out: ArchivedMessage[] = [];
    for (const hash of hashes) {
      const row = this.stmt.byHash.get(hash) as Row | undefined;
      if (row !== undefined) out.push(toArchived(row));
    }
    return out;
  }

  range(filter: ArchiveFilter, after: ArchivePosition | undefined, forward: boolean, limit: number): ArchivedMessage[] {
    // The statement cache holds one statement per shape; the bound on content topics bounds the shapes.
    if (filter.contentTopics.length > STORE_MAX_CONTENT_TOPICS) {
      throw new RangeError(
        `filter.contentTopics has ${filter.contentTopics.length} entries, the limit is ${STORE_MAX_CONTENT_TOPICS}`,
      );
    }
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.pubsubTopic !== undefined) {
      where.push("pubsub_topic = ?");
      args.push(filter.pubsubTopic);
    }
    if (filter.contentTopics.length > 0) {
      where.push(`content_topic IN (${filter.contentTopics.map(() => "?").join(", ")})`);
      args.push(...filter.contentTopics);
    }
    if (filter.timeStart !== undefined) {
      where.push("timestamp >= ?");
      args.push(filter.timeStart);
    }
    if (filter.timeEnd !== undefined) {
      where.push("timestamp <= ?");
      args.push(filter.timeEnd);
    }
    if (after !== undefined) {
      where.push(forward ? "(timestamp, hash) > (?, ?)" : "(timestamp, hash) < (?, ?)");
      args.push(after.timestamp, after.hash);
    }
    const order = forward ? "timestamp ASC, hash ASC" : "timestamp DESC, hash DESC";
    const sql = `SELECT hash, pubsub_topic, content_topic, timestamp, envelope FROM waku_messages
      ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY ${order} LIMIT ?`;
    let stmt = this.rangeStatements.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql).safeIntegers(true);
      this.rangeStatements.set(sql, stmt);
    }
    return (stmt.all(...args, limit) as Row[]).map(toArchived);
  }
}
