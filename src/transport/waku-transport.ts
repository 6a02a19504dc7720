// A Transport over Waku relay (RFC 11/WAKU2-RELAY) on one libp2p 3 host: TCP and WebSocket listeners,
// noise, yamux and mplex, identify, gossipsub speaking `/vac/waku/relay/2.0.0` (StrictNoSign, message id =
// SHA-256 of the data, no floodsub) on the static-shard pubsub topics `/waku/2/rs/<cluster>/<shard>`, and
// the metadata protocol. Request/response (Chorus history and owner path) runs on the same host
// (src/transport/libp2p-host.ts).
//
// The Transport topic is the Waku content topic: a Chorus node passes `/chorus/1/<channel>/proto`, or an
// application's content topic when a channel joins one. Each publish wraps the bytes in a WakuMessage
// (timestamp in ns, strictly increasing per node) on the first shard; received WakuMessages are handed to
// the subscriber of their content topic with their message hash as retrieval hint. Relaying follows Waku:
// every valid WakuMessage on the shards is forwarded whatever its content topic, subscribed here or not.
import "./websocket-polyfill.js";
import {
  type GossipSub,
  type GossipsubMessage,
  type GossipsubOpts,
  gossipsub,
  TopicValidatorResult,
} from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import { mplex } from "@libp2p/mplex";
import { noise } from "@libp2p/noise";
import { peerIdFromString } from "@libp2p/peer-id";
import { tcp } from "@libp2p/tcp";
import { webSockets } from "@libp2p/websockets";
import { yamux } from "@libp2p/yamux";
import { sha256 } from "@noble/hashes/sha2.js";
import { createLibp2p, type Libp2p } from "libp2p";
import { DecodeError } from "../wire/errors.js";
import {
  decodeWakuMessage,
  encodeWakuMessage,
  shardPubsubTopic,
  WAKU_MAX_MESSAGE_BYTES,
  type WakuEnvelope,
  wakuMessageHash,
} from "../wire/waku-message.js";
import { errorMessage, Libp2pHost, type Libp2pHostOptions } from "./libp2p-host.js";
import { MAX_EARLY_STREAMS } from "./libp2p-transport.js";
import {
  checkName,
  checkPublish,
  checkSubscribe,
  type MessageHandler,
  type PeerId,
  type PublishOptions,
  type Transport,
} from "./transport.js";
import { answerMetadata, askMetadata, type ShardInfo, WAKU_METADATA_CODEC } from "./waku-metadata.js";

export const WAKU_RELAY_CODEC = "/vac/waku/relay/2.0.0";
/** The cluster used when none is given: not one of the public Waku clusters (1, The Waku Network; 16, Status). */
export const DEFAULT_WAKU_CLUSTER = 42;
export const DEFAULT_WAKU_SHARD = 0;

export interface WakuTransportOptions extends Libp2pHostOptions {
  /** The Waku cluster id (0..65535). Default 42. */
  readonly cluster?: number;
  /** Static shards to relay (each 0..65535, at least one). Chorus publishes on the first. Default [0]. */
  readonly shards?: readonly number[];
  /** Overrides for gossipsub's options, on top of Waku's. */
  readonly gossipsub?: Partial<GossipsubOpts>;
}

/** One valid WakuMessage seen on this node's shards: received from a peer, or published by this node. */
export interface EnvelopeEvent {
  readonly pubsubTopic: string;
  /** The envelope exactly as it travelled (what Waku nodes hash, store and forward). */
  readonly bytes: Uint8Array;
  readonly envelope: WakuEnvelope;
  /** The deterministic message hash (RFC 14/WAKU2-MESSAGE). */
  readonly hash: Uint8Array;
  /** The peer it came from (the last hop, Waku relay being anonymous), or this node's peer id. */
  readonly from: PeerId;
}

type Node = Libp2p<{ identify: ReturnType<ReturnType<typeof identify>>; pubsub: GossipSub }>;

/** Room left in Waku's 150 KiB message limit for the envelope's fields around the payload. */
const ENVELOPE_ROOM = 2 * 1024;
const MAX_PAYLOAD_LIMIT = WAKU_MAX_MESSAGE_BYTES - ENVELOPE_ROOM;
/** js-waku opens a stream per protocol per peer at once; mplex's default (5 a second over the limit) cuts it off. */
const MPLEX_DISCONNECT_THRESHOLD = 1_000;
const METADATA_TIMEOUT_MS = 5_000;
/** Peers whose metadata is remembered; a node has far fewer connections. */
const MAX_PEER_METADATA = 4_096;

function checkShardList(value: unknown): number[] {
  if (value === undefined) return [DEFAULT_WAKU_SHARD];
  if (!Array.isArray(value) || value.length === 0) {
    throw new RangeError(`options.shards must be a non-empty array of shard numbers, got ${JSON.stringify(value)}`);
  }
  const shards = [...new Set(value as number[])];
  for (const shard of shards) shardPubsubTopic(0, shard);
  return shards;
}

function nowNanoseconds(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export class WakuTransport extends Libp2pHost<Node> implements Transport {
  /** Tells the API which transport runs. */
  readonly kind = "waku";
  readonly cluster: number;
  readonly shards: readonly number[];
  /** `/waku/2/rs/<cluster>/<shard>` of every shard, the first being where Chorus publishes. */
  readonly pubsubTopics: readonly string[];
  private readonly topicSet: ReadonlySet<string>;
  private readonly gossipsubOverrides: Partial<GossipsubOpts>;
  private readonly subscriptions = new Map<string, MessageHandler>();
  private readonly envelopeListeners = new Set<(e: EnvelopeEvent) => void>();
  /** Envelopes decoded by the validator, so that the message event does not decode them again. */
  private readonly validated = new WeakMap<Uint8Array, WakuEnvelope>();
  private readonly peerInfo = new Map<PeerId, ShardInfo>();
  private lastTimestamp = 0n;

  constructor(options: WakuTransportOptions = {}) {
    super(options, MAX_PAYLOAD_LIMIT);
    this.cluster = options.cluster ?? DEFAULT_WAKU_CLUSTER;
    this.shards = checkShardList(options.shards);
    // shardPubsubTopic checks the cluster's range as well.
    this.pubsubTopics = this.shards.map((shard) => shardPubsubTopic(this.cluster, shard));
    this.topicSet = new Set(this.pubsubTopics);
    this.gossipsubOverrides = options.gossipsub ?? {};
  }

  /** The libp2p host, for the Waku service protocols (store, filter, light push); undefined until started. */
  get libp2p(): Node | undefined {
    return this.running;
  }

  /** Where this node publishes Chorus messages. */
  get pubsubTopic(): string {
    return this.pubsubTopics[0] as string;
  }

  protected createNode(): Promise<Node> {
    const relay = gossipsub({
      allowPublishToZeroTopicPeers: true,
      emitSelf: false,
      floodPublish: true,
      ...this.gossipsubOverrides,
      // What makes it Waku relay; not overridable.
      fallbackToFloodsub: false,
      // relay() tells a repeated envelope by this error.
      ignoreDuplicatePublishError: false,
      globalSignaturePolicy: "StrictNoSign",
      msgIdFn: (message) => sha256(message.data),
    });
    return createLibp2p({
      privateKey: this.privateKey,
      addresses: { listen: this.listen },
      // @libp2p/websockets resolves its own copy of @libp2p/interface: the same types under another symbol.
      transports: [tcp(), webSockets() as unknown as ReturnType<typeof tcp>],
      connectionEncrypters: [noise()],
      streamMuxers: [
        yamux({ maxEarlyStreams: MAX_EARLY_STREAMS }),
        mplex({ disconnectThreshold: MPLEX_DISCONNECT_THRESHOLD }),
      ],
      services: {
        identify: identify(),
        pubsub: (components: Parameters<typeof relay>[0]) => {
          const pubsub = relay(components);
          // gossipsub 17 declares a `protocols` option but does not read it.
          pubsub.protocols = [WAKU_RELAY_CODEC];
          return pubsub;
        },
      },
    });
  }

  protected async attach(node: Node): Promise<void> {
    const pubsub = node.services.pubsub;
    pubsub.addEventListener("gossipsub:message", this.onMessage);
    for (const topic of this.pubsubTopics) {
      pubsub.topicValidators.set(topic, (_peer, message) => this.validate(message.data));
      pubsub.subscribe(topic);
    }
    await node.handle(WAKU_METADATA_CODEC, (stream, connection) => {
      const peer = connection.remotePeer.toString();
      answerMetadata(stream, this, `metadata request from ${peer}`).then(
        (theirs) => {
          if (theirs !== undefined) this.notePeer(node, peer, theirs);
        },
        (error) => stream.abort(error instanceof Error ? error : new Error(errorMessage(error))),
      );
    });
    node.addEventListener("peer:identify", this.onIdentify);
  }

  protected detach(node: Node): void {
    node.services.pubsub.removeEventListener("gossipsub:message", this.onMessage);
    node.removeEventListener("peer:identify", this.onIdentify);
  }

  protected clearState(): void {
    this.subscriptions.clear();
    this.envelopeListeners.clear();
    this.peerInfo.clear();
  }

  /** The cluster and shards a peer told in the metadata exchange, once it did. */
  peerShards(peer: PeerId): ShardInfo | undefined {
    return this.peerInfo.get(peer);
  }

  /** Peers in this node's relay mesh for a pubsub topic (default: the publishing shard's). */
  meshPeers(pubsubTopic: string = this.pubsubTopic): PeerId[] {
    checkName("pubsubTopic", pubsubTopic);
    const pubsub = this.running?.services.pubsub as
      | (GossipSub & { getMeshPeers?: (t: string) => string[] })
      | undefined;
    return [...(pubsub?.getMeshPeers?.(pubsubTopic) ?? [])].sort();
  }

  /** Starts handing the messages of a content topic to `handler`, with their message hash as retrieval hint. */
  subscribe(topic: string, handler: MessageHandler): void {
    checkSubscribe(topic, handler);
    this.notStopped("subscribe");
    if (this.subscriptions.has(topic))
      throw new Error(`subscribe: ${this.peerId} is already subscribed to ${JSON.stringify(topic)}`);
    // Relay membership is per shard and does not change: a content topic is only a filter on receipt.
    this.subscriptions.set(topic, handler);
  }

  unsubscribe(topic: string): void {
    checkName("topic", topic);
    this.subscriptions.delete(topic);
  }

  /** Wraps `bytes` in a WakuMessage on content topic `topic` and relays it on the first shard. */
  async publish(
    topic: string,
    bytes: Uint8Array,
    options: PublishOptions = {},
  ): Promise<{ retrievalHint: Uint8Array }> {
    checkPublish(topic, bytes, this);
    const node = this.mustRun("publish");
    const envelope: WakuEnvelope = {
      payload: new Uint8Array(bytes),
      contentTopic: topic,
      version: 0,
      timestamp: this.nextTimestamp(),
      ...(options.ephemeral === true ? { ephemeral: true } : {}),
    };
    const encoded = encodeWakuMessage(envelope);
    const hash = wakuMessageHash(this.pubsubTopic, envelope);
    await this.relay(node, this.pubsubTopic, encoded, envelope, hash);
    return { retrievalHint: hash };
  }

  /**
   * Relays an already encoded WakuMessage unchanged (light push). Rejects with a RangeError when the pubsub
   * topic is not one of this node's shards, and with a DecodeError when the bytes are not a valid WakuMessage.
   * `recipients`: how many peers it was sent to; 0 as well when the network had already seen it.
   * The first time an envelope is seen, this node's own subscriber of its content topic gets it as well, as a
   * message from `from` (the light node that pushed it; default this node): gossipsub does not deliver what a
   * node publishes to the node itself, and a light node's message is news here.
   */
  async publishEnvelope(
    pubsubTopic: string,
    envelopeBytes: Uint8Array,
    from: PeerId = this.peerId,
  ): Promise<{ recipients: number }> {
    checkName("pubsubTopic", pubsubTopic);
    if (!this.topicSet.has(pubsubTopic)) {
      throw new RangeError(
        `pubsubTopic ${JSON.stringify(pubsubTopic)} is not relayed here (shards: ${this.pubsubTopics.join(", ")})`,
      );
    }
    if (!(envelopeBytes instanceof Uint8Array)) throw new TypeError("envelopeBytes must be a Uint8Array");
    if (envelopeBytes.length > WAKU_MAX_MESSAGE_BYTES) {
      throw new RangeError(`envelope is ${envelopeBytes.length} bytes, over Waku's limit of ${WAKU_MAX_MESSAGE_BYTES}`);
    }
    const node = this.mustRun("publishEnvelope");
    const bytes = new Uint8Array(envelopeBytes);
    const envelope = decodeWakuMessage(bytes);
    const hash = wakuMessageHash(pubsubTopic, envelope);
    const result = await this.relay(node, pubsubTopic, bytes, envelope, hash);
    if (result.fresh) this.deliver(envelope, from, hash);
    return { recipients: result.recipients };
  }

  /**
   * Calls `listener` for every valid WakuMessage on this node's shards, received or published here, whatever
   * its content topic (the store archive and filter pushes hang off it). Returns the function that removes it.
   * A listener must not throw.
   */
  onEnvelope(listener: (e: EnvelopeEvent) => void): () => void {
    if (typeof listener !== "function") throw new TypeError("listener must be a function");
    this.envelopeListeners.add(listener);
    return () => this.envelopeListeners.delete(listener);
  }

  /** Peers relaying with this node: with a topic, those on the shard it is published on (content topics are not announced). */
  peers(topic?: string): PeerId[] {
    if (topic === undefined) return this.connectedPeers();
    checkName("topic", topic);
    const node = this.running;
    if (node === undefined) return [];
    return node.services.pubsub
      .getSubscribers(this.pubsubTopic)
      .map((id) => id.toString())
      .sort();
  }

  private async relay(
    node: Node,
    pubsubTopic: string,
    bytes: Uint8Array,
    envelope: WakuEnvelope,
    hash: Uint8Array,
  ): Promise<{ recipients: number; fresh: boolean }> {
    let recipients: number;
    try {
      const result = await node.services.pubsub.publish(pubsubTopic, bytes);
      recipients = result.recipients.length;
    } catch (error) {
      // The same envelope again (a repeated light push): the network has it, and so have the listeners.
      if (errorMessage(error) === "PublishError.Duplicate") return { recipients: 0, fresh: false };
      throw error;
    }
    this.emitEnvelope({ pubsubTopic, bytes, envelope, hash, from: this.peerId });
    return { recipients, fresh: true };
  }

  /** Nanoseconds since the epoch, strictly increasing: two messages of this node never share a timestamp. */
  private nextTimestamp(): bigint {
    const now = nowNanoseconds();
    this.lastTimestamp = now > this.lastTimestamp ? now : this.lastTimestamp + 1n;
    return this.lastTimestamp;
  }

  /** Accepts exactly the valid WakuMessages; anything else is rejected and penalises the peer that sent it. */
  private validate(data: Uint8Array): TopicValidatorResult {
    if (data.length > WAKU_MAX_MESSAGE_BYTES) return TopicValidatorResult.Reject;
    try {
      this.validated.set(data, decodeWakuMessage(data));
      return TopicValidatorResult.Accept;
    } catch (error) {
      if (error instanceof DecodeError) return TopicValidatorResult.Reject;
      throw error;
    }
  }

  private readonly onMessage = (event: CustomEvent<GossipsubMessage>): void => {
    const { msg, propagationSource } = event.detail;
    if (!this.topicSet.has(msg.topic)) return;
    const envelope = this.validated.get(msg.data);
    if (envelope === undefined) return;
    // A plain copy: the decoded data is a Buffer view into the whole RPC it arrived in.
    const bytes = new Uint8Array(msg.data);
    const hash = wakuMessageHash(msg.topic, envelope);
    const from = propagationSource.toString();
    this.emitEnvelope({ pubsubTopic: msg.topic, bytes, envelope, hash, from });
    this.deliver(envelope, from, hash);
  };

  /** Hands a message to the subscriber of its content topic, if any. */
  private deliver(envelope: WakuEnvelope, from: PeerId, hash: Uint8Array): void {
    if (from === this.peerId) return;
    const handler = this.subscriptions.get(envelope.contentTopic);
    if (handler === undefined || envelope.payload.length > this.maxMessageBytes) return;
    handler(new Uint8Array(envelope.payload), from, { retrievalHint: hash });
  }

  private emitEnvelope(event: EnvelopeEvent): void {
    for (const listener of this.envelopeListeners) listener(event);
  }

  private readonly onIdentify = (event: CustomEvent<{ peerId: { toString(): string }; protocols: string[] }>) => {
    const node = this.running;
    const { peerId, protocols } = event.detail;
    const peer = peerId.toString();
    if (node === undefined || !protocols.includes(WAKU_METADATA_CODEC) || this.peerInfo.has(peer)) return;
    void this.askPeer(node, peer);
  };

  /** Asks a peer for its metadata; a peer that does not answer keeps its connection (it may be a plain relay). */
  private async askPeer(node: Node, peer: PeerId): Promise<void> {
    const what = `metadata request to ${peer}`;
    const signal = AbortSignal.any([this.lifetime.signal, AbortSignal.timeout(METADATA_TIMEOUT_MS)]);
    try {
      const stream = await node.dialProtocol(peerIdFromString(peer), WAKU_METADATA_CODEC, { signal });
      this.notePeer(node, peer, await askMetadata(stream, this, what, signal));
    } catch {
      // Metadata is advisory for relaying; the peer stays, and may ask us instead.
    }
  }

  /** Remembers a peer's shard info; a peer of another cluster is hung up on, as Waku nodes do. */
  private notePeer(node: Node, peer: PeerId, info: ShardInfo): void {
    if (info.cluster !== this.cluster) {
      void node.hangUp(peerIdFromString(peer)).catch(() => {});
      return;
    }
    if (this.peerInfo.size >= MAX_PEER_METADATA) this.peerInfo.delete(this.peerInfo.keys().next().value as PeerId);
    this.peerInfo.set(peer, info);
  }
}
