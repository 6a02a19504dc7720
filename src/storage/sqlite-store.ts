// A durable Store on SQLite (better-sqlite3).
//
// Journal mode WAL: readers (a CLI inspecting a running node) do not block the writer.
// synchronous=FULL by default. In WAL mode NORMAL survives a process crash (kill -9) but may lose
// the last commits on power loss or an OS crash. Chorus promises "a received message is stored
// before it is delivered; after a crash nothing is lost and nothing delivered twice": a commit
// that disappears after the node already showed the message and advertised it in its
// acknowledgements would break both halves (the sender stops repairing a message the node no
// longer has, and the message is delivered again when it comes back). FULL costs one fsync per
// commit, which `transaction` amortises over a batch. NORMAL is an option for simulations and
// benchmarks that do not need power-loss durability.
//
// Lamport timestamps are uint64 on the wire but SQLite integers are int64, so the column holds
// `lamport - 2^63`: the shift keeps the order and covers the whole uint64 range.
import Database from "better-sqlite3";
import { type NewMessage, type StoredMessage, StoreNotFoundError } from "./store.js";
import {
  type CheckedDeliveredRange,
  type CheckedLamportRange,
  type CheckedSenderRange,
  CheckedStore,
  describe,
} from "./validate.js";
import { createWakuArchiveTables, WakuArchive, type WakuArchiveOptions } from "./waku-archive.js";

const LAMPORT_SHIFT = 1n << 63n;

/** A schema change. `up` runs inside a transaction together with the version bump. */
export interface Migration {
  readonly version: number;
  readonly description: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "messages, delivered log, snapshots, identity, joined channels",
    up(db) {
      db.exec(`
        CREATE TABLE messages (
          channel_id    TEXT    NOT NULL,
          message_id    TEXT    NOT NULL,
          sender_id     TEXT    NOT NULL,
          seq           INTEGER,
          lamport       INTEGER NOT NULL, -- lamport - 2^63, see the file comment
          bytes         BLOB    NOT NULL,
          received_at   INTEGER NOT NULL,
          delivered_pos INTEGER,          -- 1-based position in the channel's delivered log
          UNIQUE (channel_id, message_id)
        );
        CREATE INDEX messages_by_sender ON messages (channel_id, sender_id, seq, message_id)
          WHERE seq IS NOT NULL;
        CREATE INDEX messages_by_lamport ON messages (channel_id, lamport, message_id);
        CREATE INDEX messages_undelivered ON messages (channel_id, lamport, message_id)
          WHERE delivered_pos IS NULL;
        CREATE UNIQUE INDEX messages_delivered ON messages (channel_id, delivered_pos)
          WHERE delivered_pos IS NOT NULL;
        CREATE TABLE snapshots (channel_id TEXT PRIMARY KEY, json TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE identity (id INTEGER PRIMARY KEY CHECK (id = 1), secret_key BLOB NOT NULL);
        CREATE TABLE channels (channel_id TEXT PRIMARY KEY) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 2,
    description: "retrieval hints (Waku message hashes) of messages",
    up(db) {
      // Existing rows keep everything and get no hint: they were stored before the transport gave any.
      db.exec("ALTER TABLE messages ADD COLUMN retrieval_hint BLOB");
    },
  },
  {
    version: 3,
    description: "Waku archive: every non-ephemeral WakuMessage of the node's shards, for the store v3 service",
    up: createWakuArchiveTables,
  },
];

export interface SqliteStoreOptions {
  /** File path, or ":memory:". */
  readonly path: string;
  /** Default "FULL"; see the file comment before choosing "NORMAL". */
  readonly synchronous?: "FULL" | "NORMAL";
  /** Schema migrations, versions 1, 2, 3, ... Defaults to MIGRATIONS; tests append to it. */
  readonly migrations?: readonly Migration[];
}

const COLUMNS = "channel_id, message_id, sender_id, seq, lamport, bytes, received_at, delivered_pos, retrieval_hint";

/** Every query the store runs on messages, exported so a test can check each one's plan uses an index. */
export const QUERIES = {
  insert: `INSERT INTO messages (channel_id, message_id, sender_id, seq, lamport, bytes, received_at, retrieval_hint)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel_id, message_id) DO NOTHING`,
  get: `SELECT ${COLUMNS} FROM messages WHERE channel_id = ? AND message_id = ?`,
  has: "SELECT 1 FROM messages WHERE channel_id = ? AND message_id = ?",
  count: "SELECT COUNT(*) AS n FROM messages WHERE channel_id = ?",
  bySender: `SELECT ${COLUMNS} FROM messages
    WHERE channel_id = ? AND sender_id = ? AND seq IS NOT NULL AND seq >= ? AND seq <= ?
    ORDER BY seq, message_id LIMIT ?`,
  byLamportFirst: `SELECT ${COLUMNS} FROM messages WHERE channel_id = ?
    ORDER BY lamport, message_id LIMIT ?`,
  byLamportAfter: `SELECT ${COLUMNS} FROM messages WHERE channel_id = ? AND (lamport, message_id) > (?, ?)
    ORDER BY lamport, message_id LIMIT ?`,
  undeliveredFirst: `SELECT ${COLUMNS} FROM messages WHERE channel_id = ? AND delivered_pos IS NULL
    ORDER BY lamport, message_id LIMIT ?`,
  undeliveredAfter: `SELECT ${COLUMNS} FROM messages
    WHERE channel_id = ? AND delivered_pos IS NULL AND (lamport, message_id) > (?, ?)
    ORDER BY lamport, message_id LIMIT ?`,
  deliveredPos: "SELECT delivered_pos FROM messages WHERE channel_id = ? AND message_id = ?",
  lastDelivered: "SELECT MAX(delivered_pos) AS n FROM messages WHERE channel_id = ? AND delivered_pos IS NOT NULL",
  setDelivered: "UPDATE messages SET delivered_pos = ? WHERE channel_id = ? AND message_id = ?",
  setHint: `UPDATE messages SET retrieval_hint = ?
    WHERE channel_id = ? AND message_id = ? AND retrieval_hint IS NULL`,
  delivered: `SELECT ${COLUMNS} FROM messages WHERE channel_id = ? AND delivered_pos IS NOT NULL AND delivered_pos > ?
    ORDER BY delivered_pos LIMIT ?`,
} as const;

interface MessageRow {
  channel_id: string;
  message_id: string;
  sender_id: string;
  seq: bigint | null;
  lamport: bigint;
  bytes: Buffer;
  received_at: bigint;
  delivered_pos: bigint | null;
  retrieval_hint: Buffer | null;
}

function toMessage(row: MessageRow): StoredMessage {
  return {
    channelId: row.channel_id,
    messageId: row.message_id,
    senderId: row.sender_id,
    seq: row.seq === null ? null : Number(row.seq),
    lamport: row.lamport + LAMPORT_SHIFT,
    // A plain Uint8Array over its own memory: callers compare and keep it without Buffer's quirks.
    bytes: new Uint8Array(row.bytes),
    receivedAt: Number(row.received_at),
    deliveredPos: row.delivered_pos === null ? null : Number(row.delivered_pos),
    ...(row.retrieval_hint === null ? {} : { retrievalHint: new Uint8Array(row.retrieval_hint) }),
  };
}

function checkMigrations(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new RangeError(`migrations[${i}].version must be ${i + 1} (versions count up from 1), got ${m.version}`);
    }
  });
}

export class SqliteStore extends CheckedStore {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly stmt: { readonly [K in keyof typeof QUERIES]: Database.Statement };
  private readonly stmtSnapshotGet: Database.Statement;
  private readonly stmtSnapshotPut: Database.Statement;
  private readonly stmtIdentityGet: Database.Statement;
  private readonly stmtIdentityPut: Database.Statement;
  private readonly stmtJoin: Database.Statement;
  private readonly stmtLeave: Database.Statement;
  private readonly stmtChannels: Database.Statement;
  private readonly runInTransaction: Database.Transaction<(fn: () => unknown) => unknown>;

  constructor(options: SqliteStoreOptions) {
    super();
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`options must be an object, got ${describe(options)}`);
    }
    if (typeof options.path !== "string" || options.path.length === 0) {
      throw new TypeError(`options.path must be a non-empty string, got ${describe(options.path)}`);
    }
    const synchronous = options.synchronous ?? "FULL";
    if (synchronous !== "FULL" && synchronous !== "NORMAL") {
      throw new RangeError(`options.synchronous must be "FULL" or "NORMAL", got ${describe(synchronous)}`);
    }
    const migrations = options.migrations ?? MIGRATIONS;
    checkMigrations(migrations);
    this.path = options.path;

    this.db = new Database(options.path);
    try {
      this.db.pragma("journal_mode = WAL");
      this.db.pragma(`synchronous = ${synchronous}`);
      this.migrate(migrations);
    } catch (error) {
      this.db.close();
      throw error;
    }

    const prepare = (sql: string) => this.db.prepare(sql).safeIntegers(true);
    this.stmt = Object.fromEntries(Object.entries(QUERIES).map(([k, sql]) => [k, prepare(sql)])) as SqliteStore["stmt"];
    this.stmtSnapshotGet = prepare("SELECT json FROM snapshots WHERE channel_id = ?");
    this.stmtSnapshotPut = prepare(
      "INSERT INTO snapshots (channel_id, json) VALUES (?, ?) ON CONFLICT (channel_id) DO UPDATE SET json = excluded.json",
    );
    this.stmtIdentityGet = prepare("SELECT secret_key FROM identity WHERE id = 1");
    this.stmtIdentityPut = prepare(
      "INSERT INTO identity (id, secret_key) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET secret_key = excluded.secret_key",
    );
    this.stmtJoin = prepare("INSERT INTO channels (channel_id) VALUES (?) ON CONFLICT DO NOTHING");
    this.stmtLeave = prepare("DELETE FROM channels WHERE channel_id = ?");
    this.stmtChannels = prepare("SELECT channel_id FROM channels ORDER BY channel_id");
    this.runInTransaction = this.db.transaction((fn: () => unknown) => fn());
  }

  /** The Waku archive in this store's database (same file, same connection). */
  wakuArchive(options: WakuArchiveOptions = {}): WakuArchive {
    this.open("wakuArchive");
    return new WakuArchive(this.db, options);
  }

  /** The schema version the database is at. */
  schemaVersion(): number {
    this.open("schemaVersion");
    return this.currentVersion();
  }

  protected doPutMessage(message: NewMessage): boolean {
    const info = this.stmt.insert.run(
      message.channelId,
      message.messageId,
      message.senderId,
      message.seq,
      message.lamport - LAMPORT_SHIFT,
      message.bytes,
      message.receivedAt,
      message.retrievalHint ?? null,
    );
    return info.changes === 1;
  }

  protected doGetMessage(channelId: string, messageId: string): StoredMessage | undefined {
    const row = this.stmt.get.get(channelId, messageId) as MessageRow | undefined;
    return row === undefined ? undefined : toMessage(row);
  }

  protected doHasMessage(channelId: string, messageId: string): boolean {
    return this.stmt.has.get(channelId, messageId) !== undefined;
  }

  protected doCountMessages(channelId: string): number {
    return Number((this.stmt.count.get(channelId) as { n: bigint }).n);
  }

  protected doListBySender(
    channelId: string,
    senderId: string,
    { fromSeq, toSeq, limit }: CheckedSenderRange,
  ): StoredMessage[] {
    return (this.stmt.bySender.all(channelId, senderId, fromSeq, toSeq, limit) as MessageRow[]).map(toMessage);
  }

  protected doListByLamport(channelId: string, range: CheckedLamportRange): StoredMessage[] {
    return this.lamportPage(this.stmt.byLamportFirst, this.stmt.byLamportAfter, channelId, range);
  }

  protected doListUndelivered(channelId: string, range: CheckedLamportRange): StoredMessage[] {
    return this.lamportPage(this.stmt.undeliveredFirst, this.stmt.undeliveredAfter, channelId, range);
  }

  /** One page in (lamport, messageId) order: `first` starts at the beginning, `next` after a cursor. */
  private lamportPage(
    first: Database.Statement,
    next: Database.Statement,
    channelId: string,
    { after, limit }: CheckedLamportRange,
  ): StoredMessage[] {
    const rows =
      after === undefined
        ? first.all(channelId, limit)
        : next.all(channelId, after.lamport - LAMPORT_SHIFT, after.messageId, limit);
    return (rows as MessageRow[]).map(toMessage);
  }

  protected doMarkDelivered(channelId: string, messageId: string): number {
    return this.transaction(() => {
      const row = this.stmt.deliveredPos.get(channelId, messageId) as { delivered_pos: bigint | null } | undefined;
      if (row === undefined) throw new StoreNotFoundError(channelId, messageId, "markDelivered");
      if (row.delivered_pos !== null) return Number(row.delivered_pos);
      const last = (this.stmt.lastDelivered.get(channelId) as { n: bigint | null }).n ?? 0n;
      const position = Number(last) + 1;
      this.stmt.setDelivered.run(position, channelId, messageId);
      return position;
    });
  }

  protected doSetRetrievalHint(channelId: string, messageId: string, hint: Uint8Array): boolean {
    if (this.stmt.setHint.run(hint, channelId, messageId).changes === 1) return true;
    if (!this.doHasMessage(channelId, messageId))
      throw new StoreNotFoundError(channelId, messageId, "setRetrievalHint");
    return false;
  }

  protected doListDelivered(channelId: string, { after, limit }: CheckedDeliveredRange): StoredMessage[] {
    return (this.stmt.delivered.all(channelId, after, limit) as MessageRow[]).map(toMessage);
  }

  protected doCountDelivered(channelId: string): number {
    return Number((this.stmt.lastDelivered.get(channelId) as { n: bigint | null }).n ?? 0n);
  }

  protected doGetSnapshot(channelId: string): string | undefined {
    return (this.stmtSnapshotGet.get(channelId) as { json: string } | undefined)?.json;
  }

  protected doPutSnapshot(channelId: string, json: string): void {
    this.stmtSnapshotPut.run(channelId, json);
  }

  protected doGetIdentity(): Uint8Array | undefined {
    const row = this.stmtIdentityGet.get() as { secret_key: Buffer } | undefined;
    return row === undefined ? undefined : new Uint8Array(row.secret_key);
  }

  protected doSetIdentity(secretKey: Uint8Array): void {
    this.stmtIdentityPut.run(secretKey);
  }

  protected doJoinChannel(channelId: string): void {
    this.stmtJoin.run(channelId);
  }

  protected doLeaveChannel(channelId: string): void {
    this.stmtLeave.run(channelId);
  }

  protected doListChannels(): string[] {
    return (this.stmtChannels.all() as { channel_id: string }[]).map((r) => r.channel_id);
  }

  protected doTransaction<T>(fn: () => T): T {
    // IMMEDIATE takes the write lock up front, so a read-then-write transaction cannot fail with
    // SQLITE_BUSY halfway when another process (a CLI) holds the database. Nested calls use savepoints.
    return this.runInTransaction.immediate(fn) as T;
  }

  protected doClose(): void {
    this.db.close();
  }

  private currentVersion(): number {
    const row = this.db.prepare("SELECT MAX(version) AS v FROM schema_version").get() as { v: number | null };
    return row.v ?? 0;
  }

  private migrate(migrations: readonly Migration[]): void {
    this.db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
      version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    const current = this.currentVersion();
    if (current > migrations.length) {
      throw new RangeError(
        `${this.path}: database schema version ${current} is newer than this software knows (${migrations.length}); upgrade chorus`,
      );
    }
    const record = this.db.prepare("INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)");
    for (const migration of migrations.slice(current)) {
      this.db
        .transaction(() => {
          migration.up(this.db);
          record.run(migration.version, migration.description, Date.now());
        })
        .immediate();
    }
  }
}
