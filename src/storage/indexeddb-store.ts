// A durable Store in a browser, on IndexedDB.
//
// The Store interface is synchronous (store.ts says why: "the message and the snapshot that reflect it are
// written together" holds by construction), and IndexedDB is asynchronous. So this store is an in-memory
// mirror (a MemoryStore: every read is a Map hit or a binary search, as there) loaded whole at `open`, plus a
// write-behind queue: each outermost `transaction` (or single write outside one) that commits in the mirror
// becomes one batch, and the batches go to IndexedDB in order, in readwrite transactions that each hold one
// or more whole batches, one transaction in flight at a time. Hence, after any crash (the tab killed, the
// browser gone, power lost with durability "strict"), the database holds a prefix of the committed batches,
// each batch whole or absent: never a message without the snapshot that reflects it, never a delivered
// position without its message. What is lost is the tail not yet written: usually nothing, since a batch is
// written as soon as the task that committed it ends (`flushDelayMs` 0), at most what `maxBacklogBytes`
// lets wait.
//
// Losing that tail must not be seen from outside: `flush()` resolves once everything committed so far is in
// IndexedDB, and `openChannel` publishes, requests and answers only after it (durable-outbox.ts). So a message
// this member sent, delivered or acknowledged before a crash and lost with the tail was never published,
// never acknowledged to anyone: after the reload its sequence number is simply still free (reusing a
// sequence number someone saw would be equivocation), and the engine restarts from the last durable
// snapshot, as after a crash of the SQLite store.
//
// The whole history lives in memory; this fits a browser member's channels (what a page can show), not an
// owner's archive. A failed IndexedDB transaction (quota exceeded, the database deleted underneath) stops
// the store writing: every later write and `flush()` throws IndexedDbWriteError, so nothing more goes out.
//
// No Node module here: it is in the browser bundle (src/browser.ts). Tests run it in Node on fake-indexeddb.
import { MemoryStore } from "./memory-store.js";
import { compareLamport, type NewMessage, type StoredMessage, StoreNotFoundError } from "./store.js";
import { describe } from "./validate.js";

/** The schema version this code writes; `open` refuses a database at a newer one. */
export const INDEXEDDB_VERSION = 1;
const STORES = ["messages", "delivered", "snapshots", "meta", "channels"];
const IDENTITY_KEY = "identity";
/** Room an op takes in the backlog besides the bytes it carries. */
const OP_OVERHEAD_BYTES = 256;

export interface IndexedDbStoreOptions {
  /** The database's name; one per member (a page keeps its identity and channels there). 1 to 256 characters. */
  readonly name: string;
  /** The IndexedDB factory; `globalThis.indexedDB` when absent (tests pass fake-indexeddb's). */
  readonly indexedDB?: IDBFactory;
  /**
   * How long a committed batch waits before it is written, so that bursts share one IndexedDB transaction.
   * Default 0: written once the current task ends. At most 60,000.
   */
  readonly flushDelayMs?: number;
  /** Bytes of committed writes that may wait for IndexedDB; a write beyond it throws RangeError. Default 64 MiB. */
  readonly maxBacklogBytes?: number;
  /** IndexedDB's transaction durability: "strict" (default) survives power loss, "relaxed" only a crash. */
  readonly durability?: "strict" | "relaxed";
}

/** A write IndexedDB refused (quota, a deleted database): the store writes nothing more. */
export class IndexedDbWriteError extends Error {
  override readonly name = "IndexedDbWriteError";
}

interface MessageRecord {
  readonly channelId: string;
  readonly messageId: string;
  readonly senderId: string;
  readonly seq: number | null;
  /** Decimal: a uint64 does not fit a number, and not every IndexedDB clones a bigint. */
  readonly lamport: string;
  readonly bytes: Uint8Array;
  readonly receivedAt: number;
  readonly retrievalHint?: Uint8Array;
}

interface DeliveredRecord {
  readonly channelId: string;
  readonly pos: number;
  readonly messageId: string;
}

type Op =
  | { readonly kind: "message"; readonly record: MessageRecord }
  | { readonly kind: "delivered"; readonly record: DeliveredRecord }
  | { readonly kind: "snapshot"; readonly channelId: string; readonly json: string }
  | { readonly kind: "identity"; readonly key: Uint8Array }
  | { readonly kind: "join" | "leave"; readonly channelId: string };

interface Waiter {
  readonly upTo: number;
  resolve(): void;
  reject(error: unknown): void;
}

function toRecord(m: NewMessage | StoredMessage): MessageRecord {
  return {
    channelId: m.channelId,
    messageId: m.messageId,
    senderId: m.senderId,
    seq: m.seq,
    lamport: m.lamport.toString(),
    bytes: new Uint8Array(m.bytes),
    receivedAt: m.receivedAt,
    ...(m.retrievalHint === undefined ? {} : { retrievalHint: new Uint8Array(m.retrievalHint) }),
  };
}

function opBytes(op: Op): number {
  switch (op.kind) {
    case "message":
      return OP_OVERHEAD_BYTES + op.record.bytes.length + (op.record.retrievalHint?.length ?? 0);
    case "snapshot":
      return OP_OVERHEAD_BYTES + op.json.length * 2;
    default:
      return OP_OVERHEAD_BYTES;
  }
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function checkOptions(options: IndexedDbStoreOptions): Required<Omit<IndexedDbStoreOptions, "name">> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  }
  const { name } = options;
  if (typeof name !== "string" || name.length === 0 || name.length > 256) {
    throw new TypeError(`options.name must be a string of 1 to 256 characters, got ${describe(name)}`);
  }
  const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (factory === undefined || typeof factory.open !== "function") {
    throw new TypeError("no IndexedDB here: pass options.indexedDB (an IDBFactory)");
  }
  const flushDelayMs = options.flushDelayMs ?? 0;
  if (!Number.isSafeInteger(flushDelayMs) || flushDelayMs < 0 || flushDelayMs > 60_000) {
    throw new RangeError(`options.flushDelayMs must be an integer from 0 to 60000, got ${describe(flushDelayMs)}`);
  }
  const maxBacklogBytes = options.maxBacklogBytes ?? 64 * 1024 * 1024;
  if (!Number.isSafeInteger(maxBacklogBytes) || maxBacklogBytes < 1) {
    throw new RangeError(`options.maxBacklogBytes must be a positive integer, got ${describe(maxBacklogBytes)}`);
  }
  const durability = options.durability ?? "strict";
  if (durability !== "strict" && durability !== "relaxed") {
    throw new RangeError(`options.durability must be "strict" or "relaxed", got ${describe(durability)}`);
  }
  return { indexedDB: factory, flushDelayMs, maxBacklogBytes, durability };
}

function openDatabase(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = factory.open(name, INDEXEDDB_VERSION);
    req.onupgradeneeded = (event) => {
      const db = req.result;
      // Version 0 to 1: the only migration so far. Later versions add theirs after this one.
      if (event.oldVersion < 1) {
        db.createObjectStore("messages", { keyPath: ["channelId", "messageId"] });
        db.createObjectStore("delivered", { keyPath: ["channelId", "pos"] });
        db.createObjectStore("snapshots", { keyPath: "channelId" });
        db.createObjectStore("meta");
        db.createObjectStore("channels", { keyPath: "channelId" });
      }
    };
    req.onblocked = () =>
      reject(new Error(`IndexedDB ${JSON.stringify(name)}: another tab holds an older version open; close it`));
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => {
      const error = req.error;
      reject(
        error?.name === "VersionError"
          ? new RangeError(
              `IndexedDB ${JSON.stringify(name)} is at a newer schema than version ${INDEXEDDB_VERSION}; upgrade chorus`,
            )
          : error,
      );
    };
  });
}

/** See the file comment. Open with `IndexedDbStore.open`; `flush()` waits for durability. */
export class IndexedDbStore extends MemoryStore {
  readonly name: string;
  /** Ops of the transaction in progress (outermost and nested); moved to `pending` when the outermost commits. */
  private ops: Op[] = [];
  private opsBytes = 0;
  private depth = 0;
  /** Committed ops not yet handed to IndexedDB, and their bytes; those of the transaction in flight. */
  private pending: Op[] = [];
  private pendingBytes = 0;
  private inFlightBytes = 0;
  /** Ops committed since open, and how many of them IndexedDB has: counters that `flush` compares. */
  private committedOps = 0;
  private durableOps = 0;
  private writing = false;
  private scheduled: ReturnType<typeof setTimeout> | "microtask" | undefined;
  private waiters: Waiter[] = [];
  private failure: IndexedDbWriteError | undefined;
  private shut = false;

  private constructor(
    private readonly db: IDBDatabase,
    name: string,
    private readonly settings: Required<Omit<IndexedDbStoreOptions, "name" | "indexedDB">>,
  ) {
    super();
    this.name = name;
    // Another tab upgrading the schema: let it, this store cannot write on the old one any more.
    db.onversionchange = () => db.close();
  }

  /** Opens (or creates) the database and loads it into memory. */
  static async open(options: IndexedDbStoreOptions): Promise<IndexedDbStore> {
    const { indexedDB, ...settings } = checkOptions(options);
    const db = await openDatabase(indexedDB, options.name);
    try {
      const store = new IndexedDbStore(db, options.name, settings);
      await store.load();
      return store;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * Resolves once everything committed before the call is in IndexedDB (rejects with IndexedDbWriteError when
   * IndexedDB refused a write). Also after `close`, for the writes `close` started.
   */
  flush(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const upTo = this.committedOps;
    if (this.durableOps >= upTo) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ upTo, resolve, reject });
      this.writeNow();
    });
  }

  /** Bytes committed in memory and not yet in IndexedDB. */
  get backlog(): number {
    return this.pendingBytes + this.inFlightBytes;
  }

  // ------------------------------------------------------------------------------------------ writes

  protected override doPutMessage(message: NewMessage): boolean {
    const op: Op = { kind: "message", record: toRecord(message) };
    this.roomFor(op);
    if (!super.doPutMessage(message)) return false;
    this.record(op);
    return true;
  }

  protected override doMarkDelivered(channelId: string, messageId: string): number {
    const op: Op = { kind: "delivered", record: { channelId, pos: 0, messageId } };
    this.roomFor(op);
    const before = super.doCountDelivered(channelId);
    const pos = super.doMarkDelivered(channelId, messageId);
    if (pos > before) this.record({ kind: "delivered", record: { channelId, pos, messageId } });
    return pos;
  }

  protected override doSetRetrievalHint(channelId: string, messageId: string, hint: Uint8Array): boolean {
    const held = super.doGetMessage(channelId, messageId);
    if (held === undefined) throw new StoreNotFoundError(channelId, messageId, "setRetrievalHint");
    const op: Op = { kind: "message", record: toRecord({ ...held, retrievalHint: hint }) };
    this.roomFor(op);
    if (!super.doSetRetrievalHint(channelId, messageId, hint)) return false;
    this.record(op);
    return true;
  }

  protected override doPutSnapshot(channelId: string, json: string): void {
    const op: Op = { kind: "snapshot", channelId, json };
    this.roomFor(op);
    super.doPutSnapshot(channelId, json);
    this.record(op);
  }

  protected override doSetIdentity(secretKey: Uint8Array): void {
    const op: Op = { kind: "identity", key: new Uint8Array(secretKey) };
    this.roomFor(op);
    super.doSetIdentity(secretKey);
    this.record(op);
  }

  protected override doJoinChannel(channelId: string): void {
    const op: Op = { kind: "join", channelId };
    this.roomFor(op);
    super.doJoinChannel(channelId);
    this.record(op);
  }

  protected override doLeaveChannel(channelId: string): void {
    const op: Op = { kind: "leave", channelId };
    this.roomFor(op);
    super.doLeaveChannel(channelId);
    this.record(op);
  }

  protected override doTransaction<T>(fn: () => T): T {
    const mark = this.ops.length;
    const markBytes = this.opsBytes;
    this.depth++;
    try {
      return super.doTransaction(fn);
    } catch (error) {
      // The mirror undid these writes; IndexedDB never hears of them.
      this.ops.length = mark;
      this.opsBytes = markBytes;
      throw error;
    } finally {
      this.depth--;
      if (this.depth === 0) this.commit();
    }
  }

  protected override doClose(): void {
    this.shut = true;
    // Everything committed goes out before the connection closes (IndexedDB finishes started transactions).
    this.flush().then(
      () => this.db.close(),
      () => this.db.close(),
    );
    super.doClose();
  }

  /** Refuses a write the backlog has no room for, or any write once IndexedDB failed, before the mirror changes. */
  private roomFor(op: Op): void {
    if (this.failure !== undefined) throw this.failure;
    const size = opBytes(op);
    const behind = this.backlog + this.opsBytes;
    // One write larger than the bound is taken when nothing waits: otherwise it could never be stored.
    if (behind > 0 && behind + size > this.settings.maxBacklogBytes) {
      throw new RangeError(
        `IndexedDB ${JSON.stringify(this.name)} is ${behind} bytes behind; ` +
          `${size} more exceed maxBacklogBytes ${this.settings.maxBacklogBytes}`,
      );
    }
  }

  private record(op: Op): void {
    this.ops.push(op);
    this.opsBytes += opBytes(op);
    if (this.depth === 0) this.commit();
  }

  /** The outermost transaction (or a lone write) committed in the mirror: its ops become one batch. */
  private commit(): void {
    if (this.ops.length === 0) return;
    for (const op of this.ops) this.pending.push(op);
    this.committedOps += this.ops.length;
    this.pendingBytes += this.opsBytes;
    this.ops = [];
    this.opsBytes = 0;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled !== undefined || this.writing) return;
    if (this.settings.flushDelayMs === 0) {
      this.scheduled = "microtask";
      queueMicrotask(() => {
        if (this.scheduled !== "microtask") return;
        this.scheduled = undefined;
        this.write();
      });
      return;
    }
    this.scheduled = setTimeout(() => {
      this.scheduled = undefined;
      this.write();
    }, this.settings.flushDelayMs);
  }

  private writeNow(): void {
    if (this.scheduled !== undefined && this.scheduled !== "microtask") clearTimeout(this.scheduled);
    this.scheduled = undefined;
    this.write();
  }

  /** Writes every pending batch in one IndexedDB transaction; the next waits for it to complete. */
  private write(): void {
    if (this.writing || this.pending.length === 0 || this.failure !== undefined) return;
    const batch = this.pending;
    this.inFlightBytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.writing = true;
    let tx: IDBTransaction;
    try {
      tx = this.db.transaction(STORES, "readwrite", { durability: this.settings.durability });
      for (const op of batch) apply(tx, op);
    } catch (error) {
      this.fail(error);
      return;
    }
    tx.oncomplete = () => {
      this.writing = false;
      this.durableOps += batch.length;
      this.inFlightBytes = 0;
      this.settle();
      if (this.pending.length > 0) {
        if (this.waiters.length > 0 || this.shut) this.write();
        else this.schedule();
      }
    };
    tx.onabort = () => this.fail(tx.error);
  }

  private settle(): void {
    const done = this.waiters.filter((w) => w.upTo <= this.durableOps);
    this.waiters = this.waiters.filter((w) => w.upTo > this.durableOps);
    for (const w of done) w.resolve();
  }

  private fail(cause: unknown): void {
    this.writing = false;
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : "the transaction aborted";
    this.failure = new IndexedDbWriteError(
      `IndexedDB ${JSON.stringify(this.name)} refused a write (${reason}); this store writes nothing more`,
      { cause },
    );
    for (const w of this.waiters) w.reject(this.failure);
    this.waiters = [];
  }

  // -------------------------------------------------------------------------------------------- load

  /** Reads every record into the mirror, checking that the delivered log is whole. */
  private async load(): Promise<void> {
    const tx = this.db.transaction(STORES, "readonly");
    const all = <T>(store: string) => request(tx.objectStore(store).getAll() as IDBRequest<T[]>);
    const [messages, delivered, snapshots, identity, channels] = await Promise.all([
      all<MessageRecord>("messages"),
      all<DeliveredRecord>("delivered"),
      all<{ channelId: string; json: string }>("snapshots"),
      request(tx.objectStore("meta").get(IDENTITY_KEY) as IDBRequest<Uint8Array | undefined>),
      all<{ channelId: string }>("channels"),
    ]);
    const damaged = (what: string) => new Error(`IndexedDB ${JSON.stringify(this.name)} is damaged: ${what}`);
    const loaded: NewMessage[] = messages.map((r) => ({
      channelId: r.channelId,
      messageId: r.messageId,
      senderId: r.senderId,
      seq: r.seq,
      lamport: BigInt(r.lamport),
      bytes: r.bytes,
      receivedAt: r.receivedAt,
      ...(r.retrievalHint === undefined ? {} : { retrievalHint: r.retrievalHint }),
    }));
    // In catch-up order, every insert into the mirror's sorted indexes is an append (keys come in id order).
    loaded.sort(compareLamport);
    for (const m of loaded) super.doPutMessage(m);
    // Keys sort by (channel, position): each channel's log in order, which markDelivered numbers 1, 2, 3 again.
    for (const d of delivered) {
      if (!super.doHasMessage(d.channelId, d.messageId)) {
        throw damaged(`delivered position ${d.pos} of channel ${JSON.stringify(d.channelId)} names a missing message`);
      }
      const pos = super.doMarkDelivered(d.channelId, d.messageId);
      if (pos !== d.pos) {
        throw damaged(`channel ${JSON.stringify(d.channelId)} has delivered position ${d.pos} where ${pos} was due`);
      }
    }
    for (const s of snapshots) super.doPutSnapshot(s.channelId, s.json);
    if (identity !== undefined) super.doSetIdentity(identity);
    for (const c of channels) super.doJoinChannel(c.channelId);
  }
}

function apply(tx: IDBTransaction, op: Op): void {
  switch (op.kind) {
    case "message":
      tx.objectStore("messages").put(op.record);
      return;
    case "delivered":
      tx.objectStore("delivered").put(op.record);
      return;
    case "snapshot":
      tx.objectStore("snapshots").put({ channelId: op.channelId, json: op.json });
      return;
    case "identity":
      tx.objectStore("meta").put(op.key, IDENTITY_KEY);
      return;
    case "join":
      tx.objectStore("channels").put({ channelId: op.channelId });
      return;
    case "leave":
      tx.objectStore("channels").delete(op.channelId);
      return;
  }
}
