// Argument checks shared by every Store implementation, so that all of them reject the same inputs
// with the same messages. Wrong types are TypeErrors; values of the right type outside what the
// store accepts are RangeErrors.
import {
  type DeliveredRange,
  type LamportCursor,
  type LamportRange,
  MAX_ID_LENGTH,
  MAX_LAMPORT,
  MAX_PAGE,
  type NewMessage,
  SECRET_KEY_BYTES,
  type SenderRange,
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
export function checkId(name: string, value: unknown): string {
  if (typeof value !== "string") throw new TypeError(`${name} must be a string, got ${describe(value)}`);
  if (value.length === 0) throw new RangeError(`${name} must not be empty`);
  if (value.length > MAX_ID_LENGTH) {
    throw new RangeError(`${name} must be at most ${MAX_ID_LENGTH} characters, got ${value.length}`);
  }
  // SQLite stores text as UTF-8, which cannot hold a lone surrogate: it would come back altered.
  if (LONE_SURROGATE.test(value)) throw new RangeError(`${name} must be well-formed UTF-16, got ${describe(value)}`);
  return value;
}

export function checkSeq(name: string, value: unknown): number {
  if (typeof value !== "number") throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${describe(value)}`);
  }
  return value;
}

export function checkLamport(name: string, value: unknown): bigint {
  if (typeof value !== "bigint") throw new TypeError(`${name} must be a bigint, got ${describe(value)}`);
  if (value < 0n || value > MAX_LAMPORT) throw new RangeError(`${name} must fit in uint64, got ${value}n`);
  return value;
}

export function checkMessage(message: unknown): NewMessage {
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
  return message as NewMessage;
}

export function checkLimit(name: string, value: unknown): number {
  if (typeof value !== "number") throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 1 || value > MAX_PAGE) {
    throw new RangeError(`${name} must be an integer from 1 to ${MAX_PAGE}, got ${value}`);
  }
  return value;
}

function checkRangeObject(name: string, value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null) {
    throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

export function checkLamportRange(value: unknown): { after: LamportCursor | undefined; limit: number } {
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

export function checkSenderRange(value: unknown): { fromSeq: number; toSeq: number; limit: number } {
  const r = checkRangeObject("range", value) as Partial<SenderRange>;
  const fromSeq = checkSeq("range.fromSeq", r.fromSeq);
  const toSeq = checkSeq("range.toSeq", r.toSeq);
  if (toSeq < fromSeq) throw new RangeError(`range.toSeq (${toSeq}) must not be below range.fromSeq (${fromSeq})`);
  return { fromSeq, toSeq, limit: checkLimit("range.limit", r.limit) };
}

export function checkDeliveredRange(value: unknown): { after: number; limit: number } {
  const r = checkRangeObject("range", value) as Partial<DeliveredRange>;
  const after = r.after === undefined ? 0 : checkSeq("range.after", r.after);
  return { after, limit: checkLimit("range.limit", r.limit) };
}

export function checkSnapshot(value: unknown): string {
  if (typeof value !== "string") throw new TypeError(`json must be a string, got ${describe(value)}`);
  return value;
}

export function checkSecretKey(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`secretKey must be a Uint8Array, got ${describe(value)}`);
  if (value.length !== SECRET_KEY_BYTES) {
    throw new RangeError(`secretKey must be ${SECRET_KEY_BYTES} bytes, got ${value.length}`);
  }
  return value;
}

export function checkTransactionFn(value: unknown): () => unknown {
  if (typeof value !== "function") throw new TypeError(`fn must be a function, got ${describe(value)}`);
  return value as () => unknown;
}

export function isThenable(value: unknown): boolean {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

export const PROMISE_IN_TRANSACTION = "transaction: fn must be synchronous, but it returned a promise (rolled back)";
