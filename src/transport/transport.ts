// How a Chorus node reaches other nodes: a topic-based publish/subscribe network plus a
// request/response primitive to one named peer. The node layer runs Chorus over any
// implementation: the in-memory lossy bus (tests, simulation) or libp2p gossipsub.
//
// Delivery semantics of publish/subscribe, which the Chorus protocol exists to repair:
// - best effort: a published message may never arrive at some or all subscribers;
// - it may arrive more than once (gossip relays it along several paths);
// - there is no ordering, neither between publishers nor for one publisher's messages;
// - a publisher does not receive its own messages;
// - a message reaches only peers subscribed to the topic when it travels, so a peer that
//   subscribes, or comes online, later does not see earlier messages.
// Handlers are never called synchronously from inside `publish`, and never after `unsubscribe`
// or `stop` returned.
//
// Request/response is a reliable exchange with one connected peer: it either returns the
// complete response or rejects with a TransportError. It is for pull-style queries (history,
// repair) that the requester can retry.

/** A peer's transport address, as printed by the implementation (a libp2p peer id string). */
export type PeerId = string;

/**
 * Receives one message. `from` is the peer that published it, as far as the transport can tell
 * (libp2p: the signed gossipsub author). It identifies a network peer, not a Chorus sender, whose
 * identity is the signature inside the message. `bytes` is the handler's own copy.
 * A handler must not throw: the exception would escape to the event loop as an uncaught error.
 */
export type MessageHandler = (bytes: Uint8Array, from: PeerId, info?: ReceiveInfo) => void;

/** What a transport knows about a received message besides its bytes. */
export interface ReceiveInfo {
  /**
   * A handle the network can find the message by again (Waku: the deterministic message hash, which a
   * store node answers queries by). Chorus carries it as the retrieval hint of the message in later
   * causal histories. Absent where the transport has none (plain gossipsub, the memory bus).
   */
  readonly retrievalHint?: Uint8Array;
}

/** How to send one message; transports that have no use for an option ignore it. */
export interface PublishOptions {
  /** A message not worth keeping in history (Waku: the envelope's `ephemeral` flag, so stores skip it). */
  readonly ephemeral?: boolean;
}

/** What a transport tells about a message it published. */
export interface PublishResult {
  /** The published message's retrieval hint (Waku: its message hash); see ReceiveInfo. */
  readonly retrievalHint?: Uint8Array;
}

/** Answers one request. A thrown error or rejection reaches the requester as HANDLER_FAILED. */
export type RequestHandler = (bytes: Uint8Array, from: PeerId) => Uint8Array | Promise<Uint8Array>;

export interface RequestOptions {
  /** Give up after this many milliseconds; the implementation's default when omitted. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface Transport {
  /** This node's peer id, known from construction. */
  readonly peerId: PeerId;
  /** Largest message `publish` accepts; larger ones received from others are dropped. */
  readonly maxMessageBytes: number;
  /** Largest request or response body; a history service must page its answers below it. */
  readonly maxFrameBytes: number;
  /**
   * How long this transport lets a request handler take before it aborts the exchange; undefined when it sets
   * no limit. A handler that holds a request open on purpose (a long poll) must answer sooner.
   */
  readonly inboundTimeoutMs?: number;

  /** Joins the network. Subscriptions and handlers registered before start take effect here. */
  start(): Promise<void>;
  /**
   * Leaves the network and releases every socket and timer. Idempotent. A stopped transport
   * cannot be started again: create a new one.
   */
  stop(): Promise<void>;

  /** Starts delivering the topic's messages to `handler`. One handler per topic; a second subscribe throws. */
  subscribe(topic: string, handler: MessageHandler): void;
  /** Stops delivery for the topic. Idempotent. */
  unsubscribe(topic: string): void;
  /**
   * Sends to the topic's subscribers, best effort. Resolves once handed to the network, also
   * when no subscriber is known. Rejects (RangeError) when `bytes` exceeds the transport's
   * message limit and (TransportError NOT_STARTED) when the transport is not running. Resolves with
   * the message's retrieval hint where the transport has one, else with nothing.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: transports without retrieval hints resolve with nothing
  publish(topic: string, bytes: Uint8Array, options?: PublishOptions): Promise<PublishResult | void>;
  /** Peers this node is connected to, or, with a topic, those known to be subscribed to it. */
  peers(topic?: string): PeerId[];

  /** Answers requests for `protocol` (a string such as "/chorus/history/1"). One handler per protocol. */
  handle(protocol: string, handler: RequestHandler): void;
  /** Stops answering `protocol`. Idempotent. */
  unhandle(protocol: string): void;
  /** Sends one request to one peer and resolves with its response. */
  request(peer: PeerId, protocol: string, bytes: Uint8Array, options?: RequestOptions): Promise<Uint8Array>;
}

export type TransportErrorCode =
  /** The transport was not started, or was stopped. */
  | "NOT_STARTED"
  /** The peer is unknown, offline, partitioned away or could not be dialled. */
  | "PEER_UNREACHABLE"
  /** The peer does not handle the protocol. */
  | "UNSUPPORTED_PROTOCOL"
  /** The peer's handler threw. */
  | "HANDLER_FAILED"
  /** No response within the timeout, or the request was aborted. */
  | "TIMEOUT"
  /** A frame exceeded the size limit, or the peer broke the framing. */
  | "PROTOCOL_ERROR";

export class TransportError extends Error {
  override readonly name = "TransportError";
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
  }
}

/**
 * Default limit on a published message. Waku's hard limit is 150 KB; gossipsub drops inbound RPCs
 * over 4 MiB, and an RPC may carry several messages, so implementations cap this well below that.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
/** Default limit on one request or response frame; history responses must be paged below it. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  return value === null ? "null" : typeof value;
}

export function checkName(name: string, value: unknown): string {
  if (typeof value !== "string") throw new TypeError(`${name} must be a string, got ${describe(value)}`);
  if (value.length === 0) throw new RangeError(`${name} must not be empty`);
  if (value.length > 1024) throw new RangeError(`${name} must be at most 1024 characters, got ${value.length}`);
  return value;
}

export function checkBytes(name: string, value: unknown, max: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array, got ${describe(value)}`);
  if (value.length > max) throw new RangeError(`${name} is ${value.length} bytes, over the limit of ${max}`);
  return value;
}

export function checkFunction(name: string, value: unknown): void {
  if (typeof value !== "function") throw new TypeError(`${name} must be a function, got ${describe(value)}`);
}

export function checkTimeout(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`options.timeoutMs must be a positive number, got ${String(value)}`);
  }
  return value;
}

/** Size limits and the request timeout of a transport, after the checks of `checkTransportOptions`. */
export interface TransportLimits {
  readonly maxMessageBytes: number;
  readonly maxFrameBytes: number;
  readonly requestTimeoutMs: number;
}

function checkLimit(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    const range = max === Number.POSITIVE_INFINITY ? "a positive integer" : `an integer from 1 to ${max}`;
    throw new RangeError(`${name} must be ${range}, got ${String(value)}`);
  }
  return value;
}

/**
 * The options every transport takes, checked, with the defaults filled in. `max` bounds the two sizes
 * where the implementation cannot go beyond some value.
 */
export function checkTransportOptions(
  options: Partial<TransportLimits>,
  max: { readonly messageBytes: number; readonly frameBytes: number } = {
    messageBytes: Number.POSITIVE_INFINITY,
    frameBytes: Number.POSITIVE_INFINITY,
  },
): TransportLimits {
  return {
    maxMessageBytes: checkLimit(
      "options.maxMessageBytes",
      options.maxMessageBytes,
      DEFAULT_MAX_MESSAGE_BYTES,
      max.messageBytes,
    ),
    maxFrameBytes: checkLimit("options.maxFrameBytes", options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, max.frameBytes),
    requestTimeoutMs: checkTimeout(options.requestTimeoutMs) ?? DEFAULT_REQUEST_TIMEOUT_MS,
  };
}

// The argument checks each Transport method starts with, so that every implementation rejects the same
// arguments with the same errors (the transport contract suite checks them).

export function checkSubscribe(topic: unknown, handler: unknown): void {
  checkName("topic", topic);
  checkFunction("handler", handler);
}

export function checkHandle(protocol: unknown, handler: unknown): void {
  checkName("protocol", protocol);
  checkFunction("handler", handler);
}

export function checkPublish(topic: unknown, bytes: unknown, limits: TransportLimits): void {
  checkName("topic", topic);
  checkBytes("bytes", bytes, limits.maxMessageBytes);
}

/** Returns the request's timeout: `options.timeoutMs`, or the transport's default. */
export function checkRequest(
  peer: unknown,
  protocol: unknown,
  bytes: unknown,
  options: RequestOptions,
  limits: TransportLimits,
): number {
  checkName("peer", peer);
  checkName("protocol", protocol);
  checkBytes("bytes", bytes, limits.maxFrameBytes);
  return checkTimeout(options.timeoutMs) ?? limits.requestTimeoutMs;
}
