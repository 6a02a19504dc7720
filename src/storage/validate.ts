// The argument checks of every Store implementation, in one place: `CheckedStore` runs them before
// handing a backend its already checked (and normalised) arguments, so that all backends reject the same
// inputs with the same messages and none repeats them. Wrong types are TypeErrors; values of the right
// type outside what the store accepts are RangeErrors.
import {
  type DeliveredRange,
  type LamportCursor,
  type LamportRange,
  MAX_HINT_BYTES,
  MAX_ID_LENGTH,
  MAX_LAMPORT,
  MAX_PAGE,
  type NewMessage,
  SECRET_KEY_BYTES,
  type SenderRange,
  type Store,
  StoreClosedError,
  type StoredMessage,
} from "./store.js";

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number" || typeof value === "boolean" || value === undefined) return String(value);
  return typeof value;
}

const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** A non-empty, well-formed string of at most MAX_ID_LENGTH code units. */
function checkId(name: string, value: unknown): string {
  if (typeof value !== "string") throw new TypeError(`${name} must be a string, got ${describe(value)}`);
  if (value.length === 0) throw new RangeError(`${name} must not be empty`);
  if (value.length > MAX_ID_LENGTH) {
    throw new RangeError(`${name} must be at most ${MAX_ID_LENGTH} characters, got ${value.length}`);
  }
  // SQLite stores text as UTF-8, which cannot hold a lone surrogate: it would come back altered.
  if (LONE_SURROGATE.test(value)) throw new RangeError(`${name} must be well-formed UTF-16, got ${describe(value)}`);
  return value;
}

function checkSeq(name: string, value: unknown): number {
  if (typeof value !== "number") throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${describe(value)}`);
  }
  return value;
}

function checkLamport(name: string, value: unknown): bigint {
  if (typeof value !== "bigint") throw new TypeError(`${name} must be a bigint, got ${describe(value)}`);
  if (value < 0n || value > MAX_LAMPORT) throw new RangeError(`${name} must fit in uint64, got ${value}n`);
  return value;
}

function checkMessage(message: unknown): NewMessage {
  if (typeof message !== "object" || message === null) {
    throw new TypeError(`message must be an object, got ${describe(message)}`);
  }
  const m = message as Record<string, unknown>;
  checkId("message.channelId", m.channelId);
  checkId("message.messageId", m.messageId);
  checkId("message.senderId", m.senderId);
  if (m.seq !== null) checkSeq("message.seq", m.seq);
  checkLamport("message.lamport", m.lamport);
  if (!(m.bytes instanceof Uint8Array)) {
    throw new TypeError(`message.bytes must be a Uint8Array, got ${describe(m.bytes)}`);
  }
  if (typeof m.receivedAt !== "number") {
    throw new TypeError(`message.receivedAt must be a number, got ${describe(m.receivedAt)}`);
  }
  if (!Number.isSafeInteger(m.receivedAt) || m.receivedAt < 0) {
    throw new RangeError(`message.receivedAt must be non-negative integer milliseconds, got ${m.receivedAt}`);
  }
  if (m.retrievalHint !== undefined) checkHint("message.retrievalHint", m.retrievalHint);
  return message as NewMessage;
}

function checkHint(name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array, got ${describe(value)}`);
  if (value.length === 0 || value.length > MAX_HINT_BYTES) {
    throw new RangeError(`${name} must be 1 to ${MAX_HINT_BYTES} bytes, got ${value.length}`);
  }
  return value;
}

function checkLimit(name: string, value: unknown): number {
  if (typeof value !== "number") throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 1 || value > MAX_PAGE) {
    throw new RangeError(`${name} must be an integer from 1 to ${MAX_PAGE}, got ${value}`);
  }
  return value;
}

/** A LamportRange after its checks: the cursor rebuilt from checked fields. */
export interface CheckedLamportRange {
  readonly after: LamportCursor | undefined;
  readonly limit: number;
}

export interface CheckedSenderRange {
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly limit: number;
}

/** A DeliveredRange after its checks: `after` defaults to 0. */
export interface CheckedDeliveredRange {
  readonly after: number;
  readonly limit: number;
}

function checkRangeObject(name: string, value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null) {
    throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function checkLamportRange(value: unknown): CheckedLamportRange {
  const r = checkRangeObject("range", value) as Partial<LamportRange>;
  const limit = checkLimit("range.limit", r.limit);
  if (r.after === undefined) return { after: undefined, limit };
  const a = checkRangeObject("range.after", r.after);
  return {
    after: {
      lamport: checkLamport("range.after.lamport", a.lamport),
      messageId: checkId("range.after.messageId", a.messageId),
    },
    limit,
  };
}

function checkSenderRange(value: unknown): CheckedSenderRange {
  const r = checkRangeObject("range", value) as Partial<SenderRange>;
  const fromSeq = checkSeq("range.fromSeq", r.fromSeq);
  const toSeq = checkSeq("range.toSeq", r.toSeq);
  if (toSeq < fromSeq) throw new RangeError(`range.toSeq (${toSeq}) must not be below range.fromSeq (${fromSeq})`);
  return { fromSeq, toSeq, limit: checkLimit("range.limit", r.limit) };
}

function checkDeliveredRange(value: unknown): CheckedDeliveredRange {
  const r = checkRangeObject("range", value) as Partial<DeliveredRange>;
  const after = r.after === undefined ? 0 : checkSeq("range.after", r.after);
  return { after, limit: checkLimit("range.limit", r.limit) };
}

function checkSnapshot(value: unknown): string {
  if (typeof value !== "string") throw new TypeError(`json must be a string, got ${describe(value)}`);
  return value;
}

function checkSecretKey(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`secretKey must be a Uint8Array, got ${describe(value)}`);
  if (value.length !== SECRET_KEY_BYTES) {
    throw new RangeError(`secretKey must be ${SECRET_KEY_BYTES} bytes, got ${value.length}`);
  }
  return value;
}

function checkTransactionFn(value: unknown): () => unknown {
  if (typeof value !== "function") throw new TypeError(`fn must be a function, got ${describe(value)}`);
  return value as () => unknown;
}

function isThenable(value: unknown): boolean {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

const PROMISE_IN_TRANSACTION = "transaction: fn must be synchronous, but it returned a promise (rolled back)";

/**
 * A Store whose public methods check that it is open and check their arguments, then call the backend's
 * `do…` method with the checked ones. A backend implements only those: it never sees a closed store, an
 * invalid argument or a transaction function that returned a promise.
 */
export abstract class CheckedStore implements Store {
  private closed = false;

  putMessage(message: NewMessage): boolean {
    this.open("putMessage");
    return this.doPutMessage(checkMessage(message));
  }

  getMessage(channelId: string, messageId: string): StoredMessage | undefined {
    this.open("getMessage");
    return this.doGetMessage(checkId("channelId", channelId), checkId("messageId", messageId));
  }

  hasMessage(channelId: string, messageId: string): boolean {
    this.open("hasMessage");
    return this.doHasMessage(checkId("channelId", channelId), checkId("messageId", messageId));
  }

  countMessages(channelId: string): number {
    this.open("countMessages");
    return this.doCountMessages(checkId("channelId", channelId));
  }

  listBySender(channelId: string, senderId: string, range: SenderRange): StoredMessage[] {
    this.open("listBySender");
    checkId("channelId", channelId);
    checkId("senderId", senderId);
    return this.doListBySender(channelId, senderId, checkSenderRange(range));
  }

  listByLamport(channelId: string, range: LamportRange): StoredMessage[] {
    this.open("listByLamport");
    checkId("channelId", channelId);
    return this.doListByLamport(channelId, checkLamportRange(range));
  }

  listUndelivered(channelId: string, range: LamportRange): StoredMessage[] {
    this.open("listUndelivered");
    checkId("channelId", channelId);
    return this.doListUndelivered(channelId, checkLamportRange(range));
  }

  markDelivered(channelId: string, messageId: string): number {
    this.open("markDelivered");
    return this.doMarkDelivered(checkId("channelId", channelId), checkId("messageId", messageId));
  }

  setRetrievalHint(channelId: string, messageId: string, hint: Uint8Array): boolean {
    this.open("setRetrievalHint");
    return this.doSetRetrievalHint(
      checkId("channelId", channelId),
      checkId("messageId", messageId),
      checkHint("hint", hint),
    );
  }

  listDelivered(channelId: string, range: DeliveredRange): StoredMessage[] {
    this.open("listDelivered");
    checkId("channelId", channelId);
    return this.doListDelivered(channelId, checkDeliveredRange(range));
  }

  countDelivered(channelId: string): number {
    this.open("countDelivered");
    return this.doCountDelivered(checkId("channelId", channelId));
  }

  getSnapshot(channelId: string): string | undefined {
    this.open("getSnapshot");
    return this.doGetSnapshot(checkId("channelId", channelId));
  }

  putSnapshot(channelId: string, json: string): void {
    this.open("putSnapshot");
    checkId("channelId", channelId);
    this.doPutSnapshot(channelId, checkSnapshot(json));
  }

  getIdentity(): Uint8Array | undefined {
    this.open("getIdentity");
    return this.doGetIdentity();
  }

  setIdentity(secretKey: Uint8Array): void {
    this.open("setIdentity");
    this.doSetIdentity(checkSecretKey(secretKey));
  }

  joinChannel(channelId: string): void {
    this.open("joinChannel");
    this.doJoinChannel(checkId("channelId", channelId));
  }

  leaveChannel(channelId: string): void {
    this.open("leaveChannel");
    this.doLeaveChannel(checkId("channelId", channelId));
  }

  listChannels(): string[] {
    this.open("listChannels");
    return this.doListChannels();
  }

  transaction<T>(fn: () => T): T {
    this.open("transaction");
    checkTransactionFn(fn);
    // Thrown inside the backend's transaction, so that what fn wrote before returning is rolled back.
    return this.doTransaction(() => {
      const result = fn();
      if (isThenable(result)) throw new TypeError(PROMISE_IN_TRANSACTION);
      return result;
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.doClose();
  }

  /** Throws StoreClosedError once the store is closed; for a backend's own extra methods. */
  protected open(operation: string): void {
    if (this.closed) throw new StoreClosedError(operation);
  }

  protected abstract doPutMessage(message: NewMessage): boolean;
  protected abstract doGetMessage(channelId: string, messageId: string): StoredMessage | undefined;
  protected abstract doHasMessage(channelId: string, messageId: string): boolean;
  protected abstract doCountMessages(channelId: string): number;
  protected abstract doListBySender(channelId: string, senderId: string, range: CheckedSenderRange): StoredMessage[];
  protected abstract doListByLamport(channelId: string, range: CheckedLamportRange): StoredMessage[];
  protected abstract doListUndelivered(channelId: string, range: CheckedLamportRange): StoredMessage[];
  protected abstract doMarkDelivered(channelId: string, messageId: string): number;
  protected abstract doSetRetrievalHint(channelId: string, messageId: string, hint: Uint8Array): boolean;
  protected abstract doListDelivered(channelId: string, range: CheckedDeliveredRange): StoredMessage[];
  protected abstract doCountDelivered(channelId: string): number;
  protected abstract doGetSnapshot(channelId: string): string | undefined;
  protected abstract doPutSnapshot(channelId: string, json: string): void;
  protected abstract doGetIdentity(): Uint8Array | undefined;
  protected abstract doSetIdentity(secretKey: Uint8Array): void;
  protected abstract doJoinChannel(channelId: string): void;
  protected abstract doLeaveChannel(channelId: string): void;
  protected abstract doListChannels(): string[];
  /** Runs `fn` atomically (see Store.transaction); `fn` is a checked function that returns no promise. */
  protected abstract doTransaction<T>(fn: () => T): T;
  /** Releases resources; called once. */
  protected abstract doClose(): void;
}
