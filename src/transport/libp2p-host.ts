// What every libp2p-based Transport shares: the peer key, the start/stop life cycle, bootstrap dialling
// and redialling, and request/response on libp2p protocol streams. Subclasses bring the libp2p
// configuration and the publish/subscribe part (plain gossipsub, or Waku relay).
//
// Request/response framing, one exchange per stream: framing.ts (spec section 14.4). Both sides refuse a
// frame over `maxFrameBytes` as soon as its length prefix arrives.
import "./polyfill.js";
import { setMaxListeners } from "node:events";
import { privateKeyFromRaw } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { ed25519 } from "@noble/curves/ed25519.js";
import type { Libp2p } from "libp2p";
import { responseBody, STATUS_HANDLER_FAILED, STATUS_OK } from "./framing.js";
import { frame, readFrame, type Stream, send } from "./stream-frames.js";
import {
  checkHandle,
  checkName,
  checkRequest,
  checkTransportOptions,
  type PeerId,
  type RequestHandler,
  type RequestOptions,
  TransportError,
} from "./transport.js";

/** The options every libp2p-based transport takes. */
export interface Libp2pHostOptions {
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
}

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

export function checkAddresses(name: string, value: unknown): string[] {
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

export type Libp2pPrivateKey = ReturnType<typeof libp2pKey>;

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "";
}

function checkInboundTimeout(value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`options.inboundTimeoutMs must be a positive number, got ${String(value)}`);
  }
  return value;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type State = "new" | "starting" | "running" | "stopped";

/** A libp2p node with any services; the host only uses what every node has. */
// biome-ignore lint/suspicious/noExplicitAny: the services differ per subclass
export type AnyLibp2p = Libp2p<any>;

export abstract class Libp2pHost<Node extends AnyLibp2p> {
  readonly peerId: PeerId;
  readonly maxMessageBytes: number;
  readonly maxFrameBytes: number;
  readonly requestTimeoutMs: number;
  readonly inboundTimeoutMs: number;
  protected readonly privateKey: Libp2pPrivateKey;
  protected readonly listen: string[];
  private readonly bootstrap: string[];
  private readonly handlers = new Map<string, RequestHandler>();
  /** Aborts the node's in-flight requests on stop. */
  protected readonly lifetime = new AbortController();
  private node: Node | undefined;
  private state: State = "new";
  private readonly requestSlots = new Map<PeerId, { active: number; waiting: (() => void)[] }>();
  private starting: Promise<void> | undefined;
  private redial: ReturnType<typeof setInterval> | undefined;

  /** `maxMessageLimit`: the largest `maxMessageBytes` this kind of transport can carry. */
  protected constructor(options: Libp2pHostOptions, maxMessageLimit: number) {
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
    const limits = checkTransportOptions(options, { messageBytes: maxMessageLimit, frameBytes: 2 ** 31 });
    this.maxMessageBytes = limits.maxMessageBytes;
    this.maxFrameBytes = limits.maxFrameBytes;
    this.requestTimeoutMs = limits.requestTimeoutMs;
    this.inboundTimeoutMs =
      options.inboundTimeoutMs === undefined ? limits.requestTimeoutMs : checkInboundTimeout(options.inboundTimeoutMs);
    // Every in-flight request and inbound exchange listens here; Node would warn past 10.
    setMaxListeners(Number.POSITIVE_INFINITY, this.lifetime.signal);
  }

  /** Builds (and starts) the libp2p node. */
  protected abstract createNode(): Promise<Node>;
  /** Called once the node runs, before request handlers are registered: join topics, add listeners. */
  protected abstract attach(node: Node): void | Promise<void>;
  /** Called at stop before the node stops: remove listeners. */
  protected abstract detach(node: Node): void;

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
      node = await this.createNode();
    } catch (error) {
      this.state = "stopped";
      throw error;
    }
    this.node = node;
    try {
      await this.attach(node);
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

  protected isStopped(): boolean {
    return this.state === "stopped";
  }

  protected isRunning(): boolean {
    return this.state === "running" && this.node !== undefined;
  }

  /** The libp2p node while it runs (after start resolved, until stop), else undefined. */
  protected get running(): Node | undefined {
    return this.state === "running" ? this.node : undefined;
  }

  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    if (this.redial !== undefined) clearInterval(this.redial);
    const wasStarting = this.state === "starting";
    this.state = "stopped";
    // launch() sees the state and stops the node itself once libp2p has started.
    if (wasStarting) await this.starting?.catch(() => {});
    this.lifetime.abort(new TransportError("NOT_STARTED", `${this.peerId} stopped`));
    this.handlers.clear();
    this.clearState();
    const node = this.node;
    if (node === undefined || wasStarting) return;
    this.detach(node);
    await node.stop();
  }

  /** Forgets subscriptions and listeners at stop. */
  protected abstract clearState(): void;

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

  /** Every connected peer. */
  protected connectedPeers(): PeerId[] {
    const node = this.running;
    if (node === undefined) return [];
    return node
      .getPeers()
      .map((id) => id.toString())
      .sort();
  }

  handle(protocol: string, handler: RequestHandler): void {
    checkHandle(protocol, handler);
    this.notStopped("handle");
    if (this.handlers.has(protocol))
      throw new Error(`handle: ${this.peerId} already handles ${JSON.stringify(protocol)}`);
    const node = this.running;
    if (node !== undefined) {
      // libp2p's own protocols (identify, gossipsub) cannot be taken over; say so now, not never.
      if (node.getProtocols().includes(protocol)) {
        throw new Error(`handle: ${JSON.stringify(protocol)} is already handled by libp2p on ${this.peerId}`);
      }
      this.handlers.set(protocol, handler);
      this.register(node, protocol).catch(() => this.handlers.delete(protocol));
      return;
    }
    this.handlers.set(protocol, handler);
  }

  unhandle(protocol: string): void {
    checkName("protocol", protocol);
    if (!this.handlers.delete(protocol)) return;
    this.running?.unhandle(protocol).catch(() => {});
  }

  // long because the request's timeout, abort sources, per-peer slot and stream clean-up belong together
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
      const open = stream as Stream;
      await send(open, frame([bytes]), signal);
      await open.close({ signal });
      const response = await readFrame(open, this.maxFrameBytes + 1, `${what}: response`);
      return responseBody(response, what);
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
          const reply = await this.answer(protocol, request, connection.remotePeer.toString());
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

  /** Runs the handler and frames its answer, or its failure. */
  private async answer(protocol: string, request: Uint8Array, from: PeerId): Promise<Uint8Array> {
    const handler = this.handlers.get(protocol);
    try {
      if (handler === undefined) throw new Error(`no handler for ${protocol}`);
      const response = await handler(request, from);
      if (!(response instanceof Uint8Array)) {
        throw new TypeError(`the handler returned ${typeof response}, not a Uint8Array`);
      }
      if (response.length > this.maxFrameBytes) {
        throw new RangeError(`response of ${response.length} bytes is over the frame limit of ${this.maxFrameBytes}`);
      }
      return frame([Uint8Array.of(STATUS_OK), response]);
    } catch (error) {
      const reason = new TextEncoder().encode(errorMessage(error)).slice(0, MAX_REASON_BYTES);
      return frame([Uint8Array.of(STATUS_HANDLER_FAILED), reason]);
    }
  }

  protected notStopped(operation: string): void {
    if (this.state === "stopped") throw new TransportError("NOT_STARTED", `${operation}: ${this.peerId} was stopped`);
  }

  protected mustRun(operation: string): Node {
    if (this.state !== "running" || this.node === undefined) {
      throw new TransportError(
        "NOT_STARTED",
        `${operation}: ${this.peerId} is ${this.state === "stopped" ? "stopped" : "not started"}`,
      );
    }
    return this.node;
  }
}
