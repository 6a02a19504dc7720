// A Transport over a js-waku light node (`@waku/sdk` 0.0.36 `createLightNode`, which the app brings and
// starts): publish is a light push to the node's service peers, subscribe is a filter subscription, and a
// subscription started late first reads the recent past from a store service (what was sent while the app
// was away). So an app that runs js-waku today, in a browser too, can run a Chorus channel over it
// (`openChannel({ transport: new WakuLightTransport(node, { shard }), topic: contentTopic })`).
//
// The light node is described by the few members used here, so that Chorus does not depend on `@waku/sdk`.
// A light node answers no requests: Chorus's history and owner streams need a full node; repair runs on
// the topic, and catch-up through the store.
import { WAKU_MAX_MESSAGE_BYTES } from "../wire/waku-message.js";
import {
  checkHandle,
  checkName,
  checkPublish,
  type MessageHandler,
  type PeerId,
  type PublishOptions,
  type PublishResult,
  type RequestHandler,
  type Transport,
  TransportError,
  type TransportLimits,
} from "./transport.js";

/** What a js-waku 0.0.36 decoded message carries that is used here. */
export interface LightMessage {
  readonly payload: Uint8Array;
  readonly hash: Uint8Array;
}

/** The members of a js-waku 0.0.36 `LightNode` this transport uses. */
export interface LightNodeLike {
  readonly libp2p: { readonly peerId: { toString(): string } };
  createEncoder(params: { contentTopic: string; shardId?: number; ephemeral?: boolean }): unknown;
  createDecoder(params: { contentTopic: string; shardId?: number }): unknown;
  readonly lightPush: {
    send(
      encoder: never,
      message: { payload: Uint8Array },
    ): Promise<{ successes: readonly unknown[]; failures?: readonly { error?: unknown }[] }>;
  };
  readonly filter: {
    subscribe(decoder: never, callback: (message: never) => void | Promise<void>): Promise<boolean>;
    unsubscribe(decoder: never): Promise<boolean>;
  };
  readonly store: {
    queryGenerator(
      decoders: never[],
      options: { timeStart: Date; timeEnd: Date },
    ): AsyncGenerator<Promise<LightMessage | undefined>[]>;
  };
}

export interface WakuLightTransportOptions {
  /** The static shard the content topics are on (the service node's). */
  readonly shard: number;
  /** How far back a subscription reads the store when it starts; 0 reads nothing. Default one hour. */
  readonly catchUpMs?: number;
  readonly clock?: () => number;
}

/** Room the WakuMessage envelope takes around the payload (content topic, timestamp, flags). */
const ENVELOPE_BYTES = 2_048;
const DEFAULT_CATCH_UP_MS = 3_600_000;

interface Subscription {
  readonly handler: MessageHandler;
  readonly decoder: unknown;
}

export class WakuLightTransport implements Transport {
  readonly peerId: PeerId;
  readonly maxMessageBytes = WAKU_MAX_MESSAGE_BYTES - ENVELOPE_BYTES;
  readonly maxFrameBytes = WAKU_MAX_MESSAGE_BYTES;
  private readonly limits: TransportLimits;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly encoders = new Map<string, unknown>();
  private readonly catchUpMs: number;
  private readonly clock: () => number;
  private state: "new" | "started" | "stopped" = "new";

  constructor(
    private readonly node: LightNodeLike,
    private readonly options: WakuLightTransportOptions,
  ) {
    if (typeof node !== "object" || node === null || typeof node.createEncoder !== "function") {
      throw new TypeError("node must be a js-waku light node (createLightNode of @waku/sdk 0.0.36)");
    }
    if (!Number.isSafeInteger(options.shard) || options.shard < 0 || options.shard > 1023) {
      throw new RangeError(`options.shard must be an integer in 0..1023, got ${String(options.shard)}`);
    }
    this.catchUpMs = options.catchUpMs ?? DEFAULT_CATCH_UP_MS;
    if (!Number.isFinite(this.catchUpMs) || this.catchUpMs < 0) {
      throw new RangeError(`options.catchUpMs must be a non-negative number of ms, got ${String(this.catchUpMs)}`);
    }
    this.clock = options.clock ?? Date.now;
    this.peerId = node.libp2p.peerId.toString();
    this.limits = { maxMessageBytes: this.maxMessageBytes, maxFrameBytes: this.maxFrameBytes, requestTimeoutMs: 0 };
  }

  async start(): Promise<void> {
    if (this.state === "stopped") throw new TransportError("NOT_STARTED", "a stopped transport cannot start again");
    if (this.state === "started") return;
    this.state = "started";
    await Promise.all([...this.subscriptions].map(([topic, s]) => this.listen(topic, s)));
  }

  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    const was = this.state;
    this.state = "stopped";
    const subscriptions = [...this.subscriptions.values()];
    this.subscriptions.clear();
    // The light node is the app's: it stays up; only our filter subscriptions end.
    if (was === "started")
      await Promise.allSettled(subscriptions.map((s) => this.node.filter.unsubscribe(s.decoder as never)));
  }

  subscribe(topic: string, handler: MessageHandler): void {
    checkName("topic", topic);
    if (typeof handler !== "function") throw new TypeError("handler must be a function");
    if (this.subscriptions.has(topic)) throw new Error(`topic ${JSON.stringify(topic)} already has a handler`);
    const subscription = {
      handler,
      decoder: this.node.createDecoder({ contentTopic: topic, shardId: this.options.shard }),
    };
    this.subscriptions.set(topic, subscription);
    if (this.state === "started") {
      this.listen(topic, subscription).catch(() => {
        // The filter service refused: nothing arrives; the channel's repair asks again on the topic.
      });
    }
  }

  unsubscribe(topic: string): void {
    const s = this.subscriptions.get(topic);
    if (s === undefined) return;
    this.subscriptions.delete(topic);
    if (this.state === "started") this.node.filter.unsubscribe(s.decoder as never).catch(() => undefined);
  }

  async publish(topic: string, bytes: Uint8Array, options: PublishOptions = {}): Promise<PublishResult | undefined> {
    checkPublish(topic, bytes, this.limits);
    if (this.state !== "started") throw new TransportError("NOT_STARTED", "publish before start or after stop");
    const key = `${options.ephemeral === true ? "e" : "p"}:${topic}`;
    let encoder = this.encoders.get(key);
    if (encoder === undefined) {
      encoder = this.node.createEncoder({
        contentTopic: topic,
        shardId: this.options.shard,
        ephemeral: options.ephemeral === true,
      });
      this.encoders.set(key, encoder);
    }
    const result = await this.node.lightPush.send(encoder as never, { payload: bytes });
    if (result.successes.length === 0) {
      const why = result.failures?.map((f) => String(f.error)).join(", ") || "no light push service peer";
      throw new TransportError("PEER_UNREACHABLE", `light push of ${bytes.length} bytes failed: ${why}`);
    }
    return undefined;
  }

  /** Service peers are the light node's business: none relays with us. */
  peers(): PeerId[] {
    return [];
  }

  /** Accepted and never called: a light node is not dialled for requests. */
  handle(protocol: string, handler: RequestHandler): void {
    checkHandle(protocol, handler);
  }

  unhandle(_protocol: string): void {}

  async request(peer: PeerId, protocol: string): Promise<Uint8Array> {
    throw new TransportError(
      "UNSUPPORTED_PROTOCOL",
      `${protocol} to ${peer}: a js-waku light node has no request streams (history comes from the store)`,
    );
  }

  /** Filter first (nothing new is missed), then the store's recent past (duplicates are the channel's to drop). */
  private async listen(topic: string, s: Subscription): Promise<void> {
    const deliver = (m: LightMessage) => {
      if (this.subscriptions.get(topic) !== s || m.payload.length === 0) return;
      s.handler(new Uint8Array(m.payload), "filter", { retrievalHint: m.hash });
    };
    await this.node.filter.subscribe(s.decoder as never, deliver as never);
    if (this.catchUpMs === 0) return;
    const end = this.clock();
    const pages = this.node.store.queryGenerator([s.decoder as never], {
      timeStart: new Date(end - this.catchUpMs),
      timeEnd: new Date(end),
    });
    for await (const page of pages) {
      for (const m of await Promise.all(page)) if (m !== undefined) deliver(m);
    }
  }
}
