// A Transport over a js-waku light node (`@waku/sdk` 0.0.36 `LightNode`, which the app brings and starts):
// publish by light push v3, receive by filter v2, request/response (the Chorus history service and owner path)
// on streams of the light node's own libp2p connections to its service nodes. This is how a browser app, or
// any app that uses `ReliableChannel` today, runs a Chorus member without relaying: its service node (a Chorus
// owner with Waku services, or any Waku node serving light push and filter) carries its traffic.
//
// What differs from relaying, and why:
// - a filter service pushes every message on a subscribed content topic, this node's own included; those are
//   recognised by their message hash and dropped, as the Transport contract says a publisher gets nothing back;
// - `from` is the service node the push came through (Waku is anonymous; a light node hears only its service
//   nodes), and `peers()` lists those service nodes;
// - each published envelope's timestamp is set here, in whole milliseconds and strictly increasing, so that the
//   hash returned as retrieval hint is the hash of exactly what the service node relays and stores (js-waku would
//   otherwise stamp the message itself, after the hash was taken);
// - a subscription, once a service node accepts it, first reads the last hour (`catchUpMs`) from a store
//   service: what was sent while the app was away, which relaying nodes would have heard;
// - a light push that no service node accepted rejects `publish` (TransportError PEER_UNREACHABLE) with the
//   statuses the service nodes gave: the message never left, which the app may want to show.
//
// js-waku is not a dependency of this package: the node is typed by the few members used here.
import { bytesToHex } from "@noble/hashes/utils.js";
import { type WakuEnvelope, wakuMessageHash } from "../wire/waku-message.js";
import { encodeFrame, responseBody, STATUS_HANDLER_FAILED, STATUS_OK } from "./framing.js";
import { readFrameFrom } from "./stream-frames.js";
import {
  checkHandle,
  checkName,
  checkPublish,
  checkRequest,
  checkSubscribe,
  checkTransportOptions,
  type MessageHandler,
  type PeerId,
  type PublishOptions,
  type RequestHandler,
  type RequestOptions,
  type Transport,
  TransportError,
  type TransportLimits,
} from "./transport.js";

/** A libp2p 2 stream as js-waku's libp2p hands it out: a sink to write to, a source to read from. */
export interface LightStream {
  sink(source: Iterable<Uint8Array>): Promise<void>;
  readonly source: AsyncIterable<Uint8Array | { subarray(): Uint8Array }>;
  abort(error: Error): void;
}

interface LightPeerId {
  toString(): string;
}

interface LightConnection {
  readonly remotePeer: LightPeerId;
}

/** A message as a js-waku decoder hands it over. */
export interface LightMessage {
  readonly payload: Uint8Array;
  readonly hash: Uint8Array;
  readonly contentTopic: string;
}

/** The members of a js-waku 0.0.36 `LightNode` this transport uses. */
export interface LightNodeLike {
  readonly libp2p: {
    readonly peerId: LightPeerId;
    getConnections(): LightConnection[];
    dialProtocol(peer: LightPeerId, protocol: string, options?: { signal?: AbortSignal }): Promise<LightStream>;
    handle(
      protocol: string,
      handler: (data: { stream: LightStream; connection: LightConnection }) => void,
    ): Promise<void>;
    unhandle(protocol: string): Promise<void>;
  };
  readonly lightPush: {
    send(
      encoder: unknown,
      message: { payload: Uint8Array; timestamp?: Date },
    ): Promise<{ successes: readonly unknown[]; failures: readonly { error: unknown }[] }>;
  };
  readonly filter: {
    subscribe(decoder: unknown, callback: (message: LightMessage) => void): Promise<boolean>;
    unsubscribe(decoder: unknown): Promise<boolean>;
    /** Ends every subscription at once, timers included (js-waku's unsubscribe leaves them when its request fails). */
    unsubscribeAll?(): void;
  };
  /** js-waku's store client; without it (or with `catchUpMs` 0) a subscription reads no past. */
  readonly store?: {
    queryGenerator(
      decoders: unknown[],
      options: { timeStart: Date; timeEnd: Date },
    ): AsyncGenerator<Promise<LightMessage | undefined>[]>;
  };
  createEncoder(params: { contentTopic: string; shardId?: number; ephemeral?: boolean }): unknown;
  createDecoder(params: { contentTopic: string; shardId?: number }): unknown;
  stop(): Promise<void>;
}

export interface WakuLightTransportOptions extends Partial<TransportLimits> {
  /** A started js-waku light node; its service nodes carry this transport's traffic. */
  readonly node: LightNodeLike;
  /** The Waku cluster of the node's network config; with `shard`, names the pubsub topic hashes are taken on. */
  readonly cluster: number;
  /** The static shard to publish and subscribe on. Default 0. */
  readonly shard?: number;
  /** Whether `stop()` also stops the light node. Default false: the app that made the node stops it. */
  readonly stopNode?: boolean;
  /** How often a filter subscription that no service node accepted yet is tried again. Default 1 s. */
  readonly resubscribeMs?: number;
  /**
   * How far back a subscription reads a store service once its filter subscription is accepted: what was sent
   * while the app was away, from any Waku store (a Chorus owner's history protocol works as well, through
   * `request`). 0 reads nothing. Default one hour.
   */
  readonly catchUpMs?: number;
}

/** Own messages remembered to drop their filter echo; a node never has this many in flight. */
const MAX_OWN_HASHES = 4_096;
/** Waku's 150 KiB per message, less room for the envelope's other fields. */
const MAX_PAYLOAD_LIMIT = 150 * 1024 - 2 * 1024;
const DEFAULT_CATCH_UP_MS = 3_600_000;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface Subscription {
  readonly handler: MessageHandler;
  readonly decoder: unknown;
  /** Whether a service node accepted the filter subscription. */
  subscribed: boolean;
  retry?: ReturnType<typeof setTimeout>;
}

export class WakuLightTransport implements Transport {
  readonly kind = "waku-light";
  readonly peerId: PeerId;
  readonly maxMessageBytes: number;
  readonly maxFrameBytes: number;
  readonly requestTimeoutMs: number;
  readonly pubsubTopic: string;
  private readonly node: LightNodeLike;
  private readonly shard: number;
  private readonly stopNode: boolean;
  private readonly resubscribeMs: number;
  private readonly catchUpMs: number;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly handlers = new Map<string, RequestHandler>();
  private readonly encoders = new Map<string, unknown>();
  private readonly ownHashes = new Set<string>();
  private state: "new" | "running" | "stopped" = "new";
  private lifetime = new AbortController();
  private lastTimestampMs = 0;
  /**
   * js-waku 0.0.36 filter calls, one at a time: two subscribes on one shard at once each make a subscription and
   * the first, never stored, keeps its timers forever; one stopped while it subscribes does the same.
   */
  private filterCalls: Promise<void> = Promise.resolve();

  constructor(options: WakuLightTransportOptions) {
    if (options === null || typeof options !== "object" || typeof options.node !== "object" || options.node === null) {
      throw new TypeError("options.node must be a started js-waku light node");
    }
    const limits = checkTransportOptions(options, {
      messageBytes: MAX_PAYLOAD_LIMIT,
      frameBytes: Number.POSITIVE_INFINITY,
    });
    this.maxMessageBytes = Math.min(limits.maxMessageBytes, MAX_PAYLOAD_LIMIT);
    this.maxFrameBytes = limits.maxFrameBytes;
    this.requestTimeoutMs = limits.requestTimeoutMs;
    this.node = options.node;
    this.shard = options.shard ?? 0;
    if (!Number.isInteger(options.cluster) || options.cluster < 0 || options.cluster > 65_535) {
      throw new RangeError(`options.cluster must be an integer from 0 to 65535, got ${String(options.cluster)}`);
    }
    if (!Number.isInteger(this.shard) || this.shard < 0 || this.shard > 65_535) {
      throw new RangeError(`options.shard must be an integer from 0 to 65535, got ${String(options.shard)}`);
    }
    this.pubsubTopic = `/waku/2/rs/${options.cluster}/${this.shard}`;
    this.stopNode = options.stopNode ?? false;
    this.resubscribeMs = options.resubscribeMs ?? 1_000;
    this.catchUpMs = options.catchUpMs ?? DEFAULT_CATCH_UP_MS;
    if (typeof this.catchUpMs !== "number" || !Number.isFinite(this.catchUpMs) || this.catchUpMs < 0) {
      throw new RangeError(`options.catchUpMs must be a non-negative number of ms, got ${String(options.catchUpMs)}`);
    }
    this.peerId = this.node.libp2p.peerId.toString();
  }

  async start(): Promise<void> {
    if (this.state === "stopped") throw new TransportError("NOT_STARTED", "start: a stopped transport cannot restart");
    if (this.state === "running") return;
    this.state = "running";
    for (const [topic, sub] of this.subscriptions) this.filterSubscribe(topic, sub);
    await Promise.all([...this.handlers.keys()].map((protocol) => this.register(protocol)));
  }

  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    const wasRunning = this.state === "running";
    this.state = "stopped";
    this.lifetime.abort(new TransportError("NOT_STARTED", "the transport stopped"));
    const subs = [...this.subscriptions.values()];
    this.subscriptions.clear();
    for (const sub of subs) clearTimeout(sub.retry);
    if (wasRunning) {
      await this.filterCalls;
      await Promise.all([
        // Every one, accepted or not: js-waku keeps a subscription's timers from the first attempt on.
        ...subs.map((s) => this.node.filter.unsubscribe(s.decoder).catch(() => false)),
        ...[...this.handlers.keys()].map((p) => this.node.libp2p.unhandle(p).catch(() => {})),
      ]);
    }
    this.handlers.clear();
    if (this.stopNode) {
      this.node.filter.unsubscribeAll?.();
      await this.node.stop();
    }
  }

  subscribe(topic: string, handler: MessageHandler): void {
    checkSubscribe(topic, handler);
    this.notStopped("subscribe");
    if (this.subscriptions.has(topic)) {
      throw new Error(`subscribe: ${this.peerId} is already subscribed to ${JSON.stringify(topic)}`);
    }
    const sub: Subscription = {
      handler,
      decoder: this.node.createDecoder({ contentTopic: topic, shardId: this.shard }),
      subscribed: false,
    };
    this.subscriptions.set(topic, sub);
    if (this.state === "running") this.filterSubscribe(topic, sub);
  }

  unsubscribe(topic: string): void {
    checkName("topic", topic);
    const sub = this.subscriptions.get(topic);
    if (sub === undefined) return;
    this.subscriptions.delete(topic);
    clearTimeout(sub.retry);
    void this.node.filter.unsubscribe(sub.decoder).catch(() => false);
  }

  /** Light-pushes `bytes` in a WakuMessage on content topic `topic`; resolves with its message hash. */
  async publish(
    topic: string,
    bytes: Uint8Array,
    options: PublishOptions = {},
  ): Promise<{ retrievalHint: Uint8Array }> {
    checkPublish(topic, bytes, this);
    this.mustRun("publish");
    const ephemeral = options.ephemeral === true;
    const timestampMs = this.nextTimestampMs();
    const payload = new Uint8Array(bytes);
    const envelope: WakuEnvelope = {
      payload,
      contentTopic: topic,
      version: 0,
      timestamp: BigInt(timestampMs) * 1_000_000n,
      ...(ephemeral ? { ephemeral: true } : {}),
    };
    const hash = wakuMessageHash(this.pubsubTopic, envelope);
    this.rememberOwn(bytesToHex(hash));
    const result = await this.node.lightPush.send(this.encoderFor(topic, ephemeral), {
      payload,
      timestamp: new Date(timestampMs),
    });
    if (result.successes.length === 0) {
      const why = result.failures.map((f) => errorText(f.error)).join("; ") || "no service node for light push";
      throw new TransportError("PEER_UNREACHABLE", `publish to ${JSON.stringify(topic)}: light push failed: ${why}`);
    }
    return { retrievalHint: hash };
  }

  /** Whether a service node has accepted the filter subscription of `topic`: from then on its messages arrive. */
  isSubscribed(topic: string): boolean {
    return this.subscriptions.get(topic)?.subscribed === true;
  }

  /** The service nodes this light node is connected to (topics are content topics, not announced). */
  peers(topic?: string): PeerId[] {
    if (topic !== undefined) checkName("topic", topic);
    if (this.state !== "running") return [];
    return [...new Set(this.node.libp2p.getConnections().map((c) => c.remotePeer.toString()))].sort();
  }

  handle(protocol: string, handler: RequestHandler): void {
    checkHandle(protocol, handler);
    this.notStopped("handle");
    if (this.handlers.has(protocol)) {
      throw new Error(`handle: ${this.peerId} already handles ${JSON.stringify(protocol)}`);
    }
    this.handlers.set(protocol, handler);
    if (this.state === "running") {
      this.register(protocol).catch(() => this.handlers.delete(protocol));
    }
  }

  unhandle(protocol: string): void {
    checkName("protocol", protocol);
    if (!this.handlers.delete(protocol)) return;
    if (this.state === "running") void this.node.libp2p.unhandle(protocol).catch(() => {});
  }

  // long because the request's timeout, abort sources and stream clean-up belong together
  async request(peer: PeerId, protocol: string, bytes: Uint8Array, options: RequestOptions = {}): Promise<Uint8Array> {
    const timeoutMs = checkRequest(peer, protocol, bytes, options, this);
    this.mustRun("request");
    const what = `request ${JSON.stringify(protocol)} to ${peer}`;
    // A light node reaches only the peers it is connected to (its service nodes): it is not a relay and is
    // usually not dialable itself.
    const connection = this.node.libp2p.getConnections().find((c) => c.remotePeer.toString() === peer);
    if (connection === undefined) {
      throw new TransportError(
        "PEER_UNREACHABLE",
        `${what}: not connected to this peer (a light node reaches only its service nodes)`,
      );
    }
    const signals = [this.lifetime.signal, AbortSignal.timeout(timeoutMs)];
    if (options.signal !== undefined) signals.push(options.signal);
    const signal = AbortSignal.any(signals);
    let stream: LightStream | undefined;
    const onAbort = () => stream?.abort(new Error(`${what} aborted`));
    signal.addEventListener("abort", onAbort);
    try {
      try {
        stream = await this.node.libp2p.dialProtocol(connection.remotePeer, protocol, { signal });
      } catch (error) {
        if (signal.aborted) throw error;
        const name = error instanceof Error ? error.name : "";
        if (name === "UnsupportedProtocolError") {
          throw new TransportError("UNSUPPORTED_PROTOCOL", `${what}: the peer does not handle this protocol`, {
            cause: error,
          });
        }
        throw new TransportError("PEER_UNREACHABLE", `${what}: ${errorText(error)}`, { cause: error });
      }
      await stream.sink([encodeFrame([bytes])]);
      const response = await readFrameFrom(stream.source, this.maxFrameBytes + 1, `${what}: response`, true);
      return responseBody(response, what);
    } catch (error) {
      stream?.abort(error instanceof Error ? error : new Error(String(error)));
      if (signal.aborted) {
        if (this.lifetime.signal.aborted) throw new TransportError("NOT_STARTED", `${what}: the transport stopped`);
        throw new TransportError("TIMEOUT", `${what}: no response within ${timeoutMs} ms, or aborted`, {
          cause: signal.reason,
        });
      }
      if (error instanceof TransportError) throw error;
      throw new TransportError("PEER_UNREACHABLE", `${what}: ${errorText(error)}`, { cause: error });
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Subscribes with the service nodes, trying again while none accepts (no filter peer yet, say). */
  private filterSubscribe(topic: string, sub: Subscription): void {
    const attempt = () => {
      if (this.subscriptions.get(topic) !== sub) return;
      this.filterCalls = this.filterCalls
        .then(() => this.node.filter.subscribe(sub.decoder, (message) => this.onPush(topic, sub, message)))
        .then(
          (ok) => {
            if (this.subscriptions.get(topic) !== sub) {
              if (ok) void this.node.filter.unsubscribe(sub.decoder).catch(() => false);
              return;
            }
            sub.subscribed = ok;
            if (!ok) sub.retry = setTimeout(attempt, this.resubscribeMs);
            // The store is a best-effort extra: repair and the owner's history still fill what is missing.
            else this.catchUp(topic, sub).catch(() => {});
          },
          () => {
            if (this.subscriptions.get(topic) === sub) sub.retry = setTimeout(attempt, this.resubscribeMs);
          },
        )
        .then(() => undefined);
    };
    attempt();
  }

  /** Hands over what a store service kept of the last `catchUpMs` on the topic; duplicates are the channel's to drop. */
  private async catchUp(topic: string, sub: Subscription): Promise<void> {
    const store = this.node.store;
    if (store === undefined || this.catchUpMs === 0) return;
    const end = Date.now();
    const pages = store.queryGenerator([sub.decoder], {
      timeStart: new Date(end - this.catchUpMs),
      timeEnd: new Date(end),
    });
    for await (const page of pages) {
      for (const message of await Promise.all(page)) {
        if (message !== undefined) this.onPush(topic, sub, message);
      }
    }
  }

  private onPush(topic: string, sub: Subscription, message: LightMessage): void {
    if (this.state !== "running" || this.subscriptions.get(topic) !== sub) return;
    if (message.contentTopic !== topic || message.payload.length > this.maxMessageBytes) return;
    const hash = new Uint8Array(message.hash);
    if (this.ownHashes.has(bytesToHex(hash))) return;
    const from = this.peers()[0] ?? "";
    sub.handler(new Uint8Array(message.payload), from, { retrievalHint: hash });
  }

  private async register(protocol: string): Promise<void> {
    await this.node.libp2p.handle(protocol, ({ stream, connection }) => {
      const from = connection.remotePeer.toString();
      const what = `${protocol} request from ${from}`;
      this.serve(protocol, stream, from, what).catch((error) =>
        stream.abort(error instanceof Error ? error : new Error(what)),
      );
    });
  }

  private async serve(protocol: string, stream: LightStream, from: PeerId, what: string): Promise<void> {
    const request = await readFrameFrom(stream.source, this.maxFrameBytes, what, true);
    const handler = this.handlers.get(protocol);
    let reply: Uint8Array;
    try {
      if (handler === undefined) throw new Error(`${JSON.stringify(protocol)} is no longer handled`);
      const body = await handler(request, from);
      reply = encodeFrame([Uint8Array.of(STATUS_OK), body]);
    } catch (error) {
      const reason = new TextEncoder().encode(errorText(error)).subarray(0, 1_024);
      reply = encodeFrame([Uint8Array.of(STATUS_HANDLER_FAILED), reason]);
    }
    await stream.sink([reply]);
  }

  private encoderFor(topic: string, ephemeral: boolean): unknown {
    const key = `${ephemeral ? "e" : "p"}${topic}`;
    let encoder = this.encoders.get(key);
    if (encoder === undefined) {
      encoder = this.node.createEncoder({ contentTopic: topic, shardId: this.shard, ephemeral });
      if (this.encoders.size >= MAX_OWN_HASHES) this.encoders.clear();
      this.encoders.set(key, encoder);
    }
    return encoder;
  }

  private rememberOwn(key: string): void {
    if (this.ownHashes.size >= MAX_OWN_HASHES) this.ownHashes.delete(this.ownHashes.values().next().value as string);
    this.ownHashes.add(key);
  }

  /** Milliseconds (what js-waku's message timestamp holds), strictly increasing for this node's messages. */
  private nextTimestampMs(): number {
    const now = Date.now();
    this.lastTimestampMs = now > this.lastTimestampMs ? now : this.lastTimestampMs + 1;
    return this.lastTimestampMs;
  }

  private notStopped(what: string): void {
    if (this.state === "stopped") throw new TransportError("NOT_STARTED", `${what}: the transport was stopped`);
  }

  private mustRun(what: string): void {
    if (this.state !== "running") throw new TransportError("NOT_STARTED", `${what}: the transport is not running`);
  }
}
