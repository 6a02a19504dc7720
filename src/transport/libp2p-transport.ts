// A Transport over libp2p 3: TCP, noise, yamux, identify and gossipsub (one pubsub topic per
// Chorus channel), plus request/response on libp2p protocol streams.
//
// Request/response framing, one exchange per stream: framing.ts (spec section 14.4).
import "./polyfill.js";
import { setMaxListeners } from "node:events";
import { privateKeyFromRaw } from "@libp2p/crypto/keys";
import { type GossipSub, type GossipsubOpts, gossipsub, type Message, TopicValidatorResult } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import { noise } from "@libp2p/noise";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import { tcp } from "@libp2p/tcp";
import { yamux } from "@libp2p/yamux";
import { multiaddr } from "@multiformats/multiaddr";
import { ed25519 } from "@noble/curves/ed25519.js";
import { createLibp2p, type Libp2p } from "libp2p";
import {
  concatChunks,
  decodeFrameHeader,
  encodeFrame,
  STATUS_HANDLER_FAILED,
  STATUS_OK,
  splitResponse,
} from "./framing.js";
import {
  checkHandle,
  checkName,
  checkPublish,
  checkRequest,
  checkSubscribe,
  checkTransportOptions,
  type MessageHandler,
  type PeerId,
  type RequestHandler,
  type RequestOptions,
  type Transport,
  TransportError,
} from "./transport.js";

export interface Libp2pTransportOptions {
  /**
   * 32-byte ed25519 secret key (the same key format as a Chorus identity). The peer id derives
   * from it, so a node keeps its peer id across restarts. A random key when omitted.
   */
  readonly secretKey?: Uint8Array;
  /** Multiaddrs to listen on. Default: an ephemeral TCP port on 127.0.0.1. */
  readonly listen?: readonly string[];
  /** Multiaddrs, each ending in /p2p/<peer id>, dialled at start. A peer that cannot be reached is skipped. */
  readonly bootstrap?: readonly string[];
  readonly maxMessageBytes?: number;
  readonly maxFrameBytes?: number;
  readonly requestTimeoutMs?: number;
  /** How long an inbound exchange may take before it is aborted (a long poll needs more). Default: requestTimeoutMs. */
  readonly inboundTimeoutMs?: number;
  /** Overrides for gossipsub's options, on top of the defaults below. */
  readonly gossipsub?: Partial<GossipsubOpts>;
}

type Node = Libp2p<{ identify: ReturnType<ReturnType<typeof identify>>; pubsub: GossipSub }>;
type Stream = Awaited<ReturnType<Node["dialProtocol"]>>;

/** gossipsub drops inbound RPCs over 4 MiB; keep a message with its RPC framing below that. */
const MAX_MESSAGE_LIMIT = 4 * 1024 * 1024 - 64 * 1024;
const MAX_REASON_BYTES = 1024;
const MAX_INBOUND_REQUEST_STREAMS = 32;
const REDIAL_INTERVAL_MS = 3_000;
/**
 * Request streams open at once towards one peer; more wait their turn. A yamux muxer that has
 * not finished setting up an inbound connection buffers at most `maxEarlyStreams` (default 10)
 * new streams and kills the whole connection on the next one, and a burst of requests right
 * after a dial hits exactly that.
 */
const MAX_REQUESTS_PER_PEER = 8;
/** Our own side of the same yamux limit, raised so that other peers' bursts do not kill connections. */
const MAX_EARLY_STREAMS = 256;

function checkAddresses(name: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array of multiaddr strings`);
  return value.map((addr, i) => {
    checkName(`${name}[${i}]`, addr);
    try {
      multiaddr(addr as string);
    } catch (error) {
      throw new RangeError(`${name}[${i}] is not a valid multiaddr: ${JSON.stringify(addr)}`, { cause: error });
    }
    return addr as string;
  });
}

/** libp2p's 64-byte ed25519 private key (seed || public key), built without an await so the peer id is known at once. */
function libp2pKey(secretKey: Uint8Array) {
  const raw = new Uint8Array(64);
  raw.set(secretKey, 0);
  raw.set(ed25519.getPublicKey(secretKey), 32);
  return privateKeyFromRaw(raw);
}

/**
 * Reads exactly one length-prefixed frame. Rejects as soon as the prefix announces more than
 * `max` bytes, and when the stream ends early or carries bytes after the frame.
 */
async function readFrame(stream: Stream, max: number, what: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let received = 0;
  let header: { length: number; size: number } | undefined;
  for await (const chunk of stream) {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray();
    chunks.push(bytes);
    received += bytes.length;
    if (header === undefined) {
      header = decodeFrameHeader(chunks, what);
      if (header !== undefined && header.length > max) {
        throw new TransportError(
          "PROTOCOL_ERROR",
          `${what}: frame of ${header.length} bytes is over the limit of ${max}`,
        );
      }
    }
    if (header !== undefined && received >= header.size + header.length) {
      if (received > header.size + header.length) {
        throw new TransportError("PROTOCOL_ERROR", `${what}: unexpected bytes after the frame`);
      }
      // A fresh plain Uint8Array: chunks are often Buffers, whose slice() is a view, not a copy.
      return new Uint8Array(concatChunks(chunks, received).subarray(header.size));
    }
  }
  throw new TransportError("PROTOCOL_ERROR", `${what}: stream ended before a complete frame`);
}

async function send(stream: Stream, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (!stream.send(bytes)) await stream.onDrain(signal ? { signal } : {});
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "";
}

function checkInboundTimeout(value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`options.inboundTimeoutMs must be a positive number, got ${String(value)}`);
  }
  return value;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type State = "new" | "starting" | "running" | "stopped";

export class Libp2pTransport implements Transport {
  readonly peerId: PeerId;
  readonly maxMessageBytes: number;
  readonly maxFrameBytes: number;
  readonly requestTimeoutMs: number;
  readonly inboundTimeoutMs: number;
  private readonly privateKey: ReturnType<typeof libp2pKey>;
  private readonly listen: string[];
  private readonly bootstrap: string[];
  private readonly gossipsubOverrides: Partial<GossipsubOpts>;
  private readonly subscriptions = new Map<string, MessageHandler>();
  private readonly handlers = new Map<string, RequestHandler>();
  /** Aborts the node's in-flight requests on stop. */
  private readonly lifetime = new AbortController();
  private node: Node | undefined;
  private state: State = "new";
  private readonly requestSlots = new Map<PeerId, { active: number; waiting: (() => void)[] }>();
  private starting: Promise<void> | undefined;
  private redial: ReturnType<typeof setInterval> | undefined;

  constructor(options: Libp2pTransportOptions = {}) {
    if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
    let secretKey = options.secretKey;
    if (secretKey === undefined) {
      secretKey = crypto.getRandomValues(new Uint8Array(32));
    } else if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) {
      throw new TypeError(
        `options.secretKey must be a 32-byte Uint8Array, got ${secretKey instanceof Uint8Array ? `${secretKey.length} bytes` : typeof secretKey}`,
      );
    }
    this.privateKey = libp2pKey(secretKey);
    this.peerId = peerIdFromPrivateKey(this.privateKey).toString();
    this.listen = checkAddresses("options.listen", options.listen ?? ["/ip4/127.0.0.1/tcp/0"]);
    this.bootstrap = checkAddresses("options.bootstrap", options.bootstrap);
    const limits = checkTransportOptions(options, { messageBytes: MAX_MESSAGE_LIMIT, frameBytes: 2 ** 31 });
    this.maxMessageBytes = limits.maxMessageBytes;
    this.maxFrameBytes = limits.maxFrameBytes;
    this.requestTimeoutMs = limits.requestTimeoutMs;
    this.inboundTimeoutMs =
      options.inboundTimeoutMs === undefined ? limits.requestTimeoutMs : checkInboundTimeout(options.inboundTimeoutMs);
    this.gossipsubOverrides = options.gossipsub ?? {};
    // Every in-flight request and inbound exchange listens here; Node would warn past 10.
    setMaxListeners(Number.POSITIVE_INFINITY, this.lifetime.signal);
  }

  start(): Promise<void> {
    if (this.state !== "new") {
      return Promise.reject(
        new TransportError("NOT_STARTED", `start: ${this.peerId} was already started; create a new transport`),
      );
    }
    this.state = "starting";
    this.starting = this.launch();
    return this.starting;
  }

  private async launch(): Promise<void> {
    let node: Node;
    try {
      node = await createLibp2p({
        privateKey: this.privateKey,
        addresses: { listen: this.listen },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux({ maxEarlyStreams: MAX_EARLY_STREAMS })],
        services: {
          identify: identify(),
          pubsub: gossipsub({
            // Chorus publishes whether or not anyone listens; delivery is its own business.
            allowPublishToZeroTopicPeers: true,
            emitSelf: false,
            // Send own messages to every known subscriber, not only mesh peers: in the small meshes
            // of a channel this reaches everyone one hop earlier.
            floodPublish: true,
            // Interoperate with peers that only speak floodsub.
            fallbackToFloodsub: true,
            // Signed: the `from` handed to handlers is authenticated by the publisher's libp2p key.
            globalSignaturePolicy: "StrictSign",
            ...this.gossipsubOverrides,
          }),
        },
      });
    } catch (error) {
      this.state = "stopped";
      throw error;
    }
    this.node = node;
    try {
      node.services.pubsub.addEventListener("message", this.onMessage);
      for (const topic of this.subscriptions.keys()) this.joinTopic(node, topic);
      await Promise.all([...this.handlers.keys()].map((protocol) => this.register(node, protocol)));
    } catch (error) {
      this.state = "stopped";
      await node.stop();
      throw error;
    }
    if (this.isStopped()) {
      // stop() was called while libp2p was starting; it waits for this.
      await node.stop();
      throw new TransportError("NOT_STARTED", `start: ${this.peerId} was stopped while starting`);
    }
    this.state = "running";
    await this.dialBootstrap(node);
    // A bootstrap peer that restarts (or was not up yet) is dialled again: nodes find each other after a crash.
    this.redial = setInterval(() => {
      if (this.state === "running") void this.dialBootstrap(node);
    }, REDIAL_INTERVAL_MS);
    this.redial.unref?.();
  }

  /** Dials the bootstrap peers this node is not connected to. */
  private async dialBootstrap(node: Node): Promise<void> {
    const connected = new Set(node.getConnections().map((c) => c.remotePeer.toString()));
    const missing = this.bootstrap.filter((addr) => !connected.has(addr.slice(addr.lastIndexOf("/p2p/") + 5)));
    await Promise.allSettled(
      missing.map((addr) => node.dial(multiaddr(addr), { signal: AbortSignal.timeout(this.requestTimeoutMs) })),
    );
  }

  private isStopped(): boolean {
    return this.state === "stopped";
  }

  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    if (this.redial !== undefined) clearInterval(this.redial);
    const wasStarting = this.state === "starting";
    this.state = "stopped";
    // launch() sees the state and stops the node itself once libp2p has started.
    if (wasStarting) await this.starting?.catch(() => {});
    this.lifetime.abort(new TransportError("NOT_STARTED", `${this.peerId} stopped`));
    this.subscriptions.clear();
    this.handlers.clear();
    const node = this.node;
    if (node === undefined || wasStarting) return;
    node.services.pubsub.removeEventListener("message", this.onMessage);
    await node.stop();
  }

  /** Addresses other nodes can dial, each ending in /p2p/<peer id>. */
  multiaddrs(): string[] {
    return (this.node?.getMultiaddrs() ?? []).map((ma) => ma.toString());
  }

  /** Connects to one more peer (a multiaddr ending in /p2p/<peer id>). */
  async dial(address: string): Promise<void> {
    checkAddresses("address", [address]);
    const node = this.mustRun("dial");
    try {
      await node.dial(multiaddr(address), { signal: AbortSignal.timeout(this.requestTimeoutMs) });
    } catch (error) {
      throw new TransportError("PEER_UNREACHABLE", `dial ${address}: ${errorMessage(error)}`, { cause: error });
    }
  }

  /** Peers in this node's gossipsub mesh for the topic (a subset of peers(topic)). */
  meshPeers(topic: string): PeerId[] {
    checkName("topic", topic);
    if (this.state !== "running" || this.node === undefined) return [];
    const pubsub = this.node.services.pubsub as GossipSub & { getMeshPeers?: (topic: string) => string[] };
    return [...(pubsub.getMeshPeers?.(topic) ?? [])].sort();
  }

  subscribe(topic: string, handler: MessageHandler): void {
    checkSubscribe(topic, handler);
    this.notStopped("subscribe");
    if (this.subscriptions.has(topic))
      throw new Error(`subscribe: ${this.peerId} is already subscribed to ${JSON.stringify(topic)}`);
    this.subscriptions.set(topic, handler);
    if (this.state === "running" && this.node) this.joinTopic(this.node, topic);
  }

  unsubscribe(topic: string): void {
    checkName("topic", topic);
    if (!this.subscriptions.delete(topic)) return;
    if (this.state !== "running" || this.node === undefined) return;
    this.node.services.pubsub.unsubscribe(topic);
    this.node.services.pubsub.topicValidators.delete(topic);
  }

  async publish(topic: string, bytes: Uint8Array): Promise<void> {
    checkPublish(topic, bytes, this);
    const node = this.mustRun("publish");
    // gossipsub encodes after an await; the copy keeps later changes to the caller's buffer out.
    await node.services.pubsub.publish(topic, new Uint8Array(bytes));
  }

  peers(topic?: string): PeerId[] {
    if (topic !== undefined) checkName("topic", topic);
    if (this.state !== "running" || this.node === undefined) return [];
    const ids = topic === undefined ? this.node.getPeers() : this.node.services.pubsub.getSubscribers(topic);
    return ids.map((id) => id.toString()).sort();
  }

  handle(protocol: string, handler: RequestHandler): void {
    checkHandle(protocol, handler);
    this.notStopped("handle");
    if (this.handlers.has(protocol))
      throw new Error(`handle: ${this.peerId} already handles ${JSON.stringify(protocol)}`);
    if (this.state === "running" && this.node) {
      // libp2p's own protocols (identify, gossipsub) cannot be taken over; say so now, not never.
      if (this.node.getProtocols().includes(protocol)) {
        throw new Error(`handle: ${JSON.stringify(protocol)} is already handled by libp2p on ${this.peerId}`);
      }
      this.handlers.set(protocol, handler);
      this.register(this.node, protocol).catch(() => this.handlers.delete(protocol));
      return;
    }
    this.handlers.set(protocol, handler);
  }

  unhandle(protocol: string): void {
    checkName("protocol", protocol);
    if (!this.handlers.delete(protocol)) return;
    if (this.state === "running" && this.node) this.node.unhandle(protocol).catch(() => {});
  }

  async request(peer: PeerId, protocol: string, bytes: Uint8Array, options: RequestOptions = {}): Promise<Uint8Array> {
    const timeoutMs = checkRequest(peer, protocol, bytes, options, this);
    const node = this.mustRun("request");
    const what = `request ${JSON.stringify(protocol)} to ${peer}`;
    let target: ReturnType<typeof peerIdFromString>;
    try {
      target = peerIdFromString(peer);
    } catch (error) {
      throw new TransportError("PEER_UNREACHABLE", `${what}: not a libp2p peer id`, { cause: error });
    }

    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new TransportError("TIMEOUT", `${what}: no response within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onAbort = (source: AbortSignal) => () => controller.abort(source.reason);
    const sources = [this.lifetime.signal, options.signal].filter((s): s is AbortSignal => s !== undefined);
    const listeners = sources.map((s) => {
      const listener = onAbort(s);
      if (s.aborted) listener();
      else s.addEventListener("abort", listener);
      return { s, listener };
    });
    const { signal } = controller;
    let stream: Stream | undefined;
    const abortStream = () => stream?.abort(new Error(`${what} aborted`));
    signal.addEventListener("abort", abortStream);

    let slot = false;
    try {
      await this.acquireSlot(peer, signal);
      slot = true;
      try {
        stream = await node.dialProtocol(target, protocol, { signal });
      } catch (error) {
        if (signal.aborted) throw error;
        if (errorName(error) === "UnsupportedProtocolError") {
          throw new TransportError("UNSUPPORTED_PROTOCOL", `${what}: the peer does not handle this protocol`, {
            cause: error,
          });
        }
        throw new TransportError("PEER_UNREACHABLE", `${what}: ${errorMessage(error)}`, { cause: error });
      }
      if (signal.aborted) abortStream();
      await send(stream, encodeFrame([bytes]), signal);
      await stream.close({ signal });
      const response = await readFrame(stream, this.maxFrameBytes + 1, `${what}: response`);
      const { status, body } = splitResponse(response, what);
      if (status === STATUS_OK) return body;
      if (status === STATUS_HANDLER_FAILED) {
        throw new TransportError("HANDLER_FAILED", `${what}: ${new TextDecoder().decode(body)}`);
      }
      throw new TransportError("PROTOCOL_ERROR", `${what}: unknown response status ${status}`);
    } catch (error) {
      stream?.abort(error instanceof Error ? error : new Error(String(error)));
      if (signal.aborted) {
        const reason = signal.reason;
        if (reason instanceof TransportError) throw reason;
        throw new TransportError("TIMEOUT", `${what} aborted`, { cause: reason });
      }
      if (error instanceof TransportError) throw error;
      throw new TransportError("PEER_UNREACHABLE", `${what}: ${errorMessage(error)}`, { cause: error });
    } finally {
      if (slot) this.releaseSlot(peer);
      clearTimeout(timer);
      signal.removeEventListener("abort", abortStream);
      for (const { s, listener } of listeners) s.removeEventListener("abort", listener);
    }
  }

  /** Waits until fewer than MAX_REQUESTS_PER_PEER requests to `peer` are open; rejects when `signal` aborts. */
  private acquireSlot(peer: PeerId, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    let slots = this.requestSlots.get(peer);
    if (slots === undefined) {
      slots = { active: 0, waiting: [] };
      this.requestSlots.set(peer, slots);
    }
    if (slots.active < MAX_REQUESTS_PER_PEER) {
      slots.active++;
      return Promise.resolve();
    }
    const queue = slots;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = queue.waiting.indexOf(grant);
        if (i >= 0) queue.waiting.splice(i, 1);
        reject(signal.reason);
      };
      // releaseSlot hands its slot over directly, so `active` stays counted.
      const grant = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      queue.waiting.push(grant);
      signal.addEventListener("abort", onAbort);
    });
  }

  private releaseSlot(peer: PeerId): void {
    const slots = this.requestSlots.get(peer);
    if (slots === undefined) return;
    const next = slots.waiting.shift();
    if (next !== undefined) {
      next();
      return;
    }
    slots.active--;
    if (slots.active === 0) this.requestSlots.delete(peer);
  }

  private readonly onMessage = (event: CustomEvent<Message>): void => {
    const message = event.detail;
    const handler = this.subscriptions.get(message.topic);
    if (handler === undefined || message.data.length > this.maxMessageBytes) return;
    const from = message.type === "signed" ? message.from.toString() : "";
    // A plain copy: the decoded data is a Buffer view into the whole RPC it arrived in.
    handler(new Uint8Array(message.data), from);
  };

  private joinTopic(node: Node, topic: string): void {
    // Oversized messages are rejected before gossipsub forwards them, and penalise their sender.
    node.services.pubsub.topicValidators.set(topic, (_peer, message) =>
      message.data.length > this.maxMessageBytes ? TopicValidatorResult.Reject : TopicValidatorResult.Accept,
    );
    node.services.pubsub.subscribe(topic);
  }

  private async register(node: Node, protocol: string): Promise<void> {
    await node.handle(
      protocol,
      async (stream, connection) => {
        const what = `${protocol} request from ${connection.remotePeer.toString()}`;
        // Bounds how long one exchange may hold the stream; stop() ends it early, so that a handler
        // that never settles leaves no timer behind.
        const timer = setTimeout(() => stream.abort(new Error(`${what}: timed out`)), this.inboundTimeoutMs);
        const onStop = () => {
          clearTimeout(timer);
          stream.abort(new Error(`${what}: transport stopped`));
        };
        this.lifetime.signal.addEventListener("abort", onStop);
        try {
          const request = await readFrame(stream, this.maxFrameBytes, what);
          const handler = this.handlers.get(protocol);
          let reply: Uint8Array;
          try {
            if (handler === undefined) throw new Error(`no handler for ${protocol}`);
            const response = await handler(request, connection.remotePeer.toString());
            if (!(response instanceof Uint8Array)) {
              throw new TypeError(`the handler returned ${typeof response}, not a Uint8Array`);
            }
            if (response.length > this.maxFrameBytes) {
              throw new RangeError(
                `response of ${response.length} bytes is over the frame limit of ${this.maxFrameBytes}`,
              );
            }
            reply = encodeFrame([Uint8Array.of(STATUS_OK), response]);
          } catch (error) {
            const reason = new TextEncoder().encode(errorMessage(error)).slice(0, MAX_REASON_BYTES);
            reply = encodeFrame([Uint8Array.of(STATUS_HANDLER_FAILED), reason]);
          }
          await send(stream, reply);
          await stream.close();
        } catch (error) {
          stream.abort(error instanceof Error ? error : new Error(String(error)));
        } finally {
          clearTimeout(timer);
          this.lifetime.signal.removeEventListener("abort", onStop);
        }
      },
      { maxInboundStreams: MAX_INBOUND_REQUEST_STREAMS },
    );
  }

  private notStopped(operation: string): void {
    if (this.state === "stopped") throw new TransportError("NOT_STARTED", `${operation}: ${this.peerId} was stopped`);
  }

  private mustRun(operation: string): Node {
    if (this.state !== "running" || this.node === undefined) {
      throw new TransportError(
        "NOT_STARTED",
        `${operation}: ${this.peerId} is ${this.state === "stopped" ? "stopped" : "not started"}`,
      );
    }
    return this.node;
  }
}
