// A Transport over libp2p 3: TCP, noise, yamux, identify and gossipsub (one pubsub topic per
// Chorus channel), plus request/response on libp2p protocol streams (src/transport/libp2p-host.ts).
import { type GossipSub, type GossipsubOpts, gossipsub, type Message, TopicValidatorResult } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import { noise } from "@libp2p/noise";
import { tcp } from "@libp2p/tcp";
import { yamux } from "@libp2p/yamux";
import { createLibp2p, type Libp2p } from "libp2p";
import { Libp2pHost, type Libp2pHostOptions } from "./libp2p-host.js";
import {
  checkName,
  checkPublish,
  checkSubscribe,
  type MessageHandler,
  type PeerId,
  type Transport,
} from "./transport.js";

export interface Libp2pTransportOptions extends Libp2pHostOptions {
  /** Overrides for gossipsub's options, on top of the defaults below. */
  readonly gossipsub?: Partial<GossipsubOpts>;
}

type Node = Libp2p<{ identify: ReturnType<ReturnType<typeof identify>>; pubsub: GossipSub }>;

/** gossipsub drops inbound RPCs over 4 MiB; keep a message with its RPC framing below that. */
const MAX_MESSAGE_LIMIT = 4 * 1024 * 1024 - 64 * 1024;
/** Our own side of yamux's early-stream limit, raised so that other peers' bursts do not kill connections. */
export const MAX_EARLY_STREAMS = 256;

export class Libp2pTransport extends Libp2pHost<Node> implements Transport {
  /** Tells the API which transport runs. */
  readonly kind = "libp2p";
  private readonly gossipsubOverrides: Partial<GossipsubOpts>;
  private readonly subscriptions = new Map<string, MessageHandler>();

  constructor(options: Libp2pTransportOptions = {}) {
    super(options, MAX_MESSAGE_LIMIT);
    this.gossipsubOverrides = options.gossipsub ?? {};
  }

  protected createNode(): Promise<Node> {
    return createLibp2p({
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
  }

  protected attach(node: Node): void {
    node.services.pubsub.addEventListener("message", this.onMessage);
    for (const topic of this.subscriptions.keys()) this.joinTopic(node, topic);
  }

  protected detach(node: Node): void {
    node.services.pubsub.removeEventListener("message", this.onMessage);
  }

  protected clearState(): void {
    this.subscriptions.clear();
  }

  /** Peers in this node's gossipsub mesh for the topic (a subset of peers(topic)). */
  meshPeers(topic: string): PeerId[] {
    checkName("topic", topic);
    const pubsub = this.running?.services.pubsub as
      | (GossipSub & { getMeshPeers?: (t: string) => string[] })
      | undefined;
    return [...(pubsub?.getMeshPeers?.(topic) ?? [])].sort();
  }

  subscribe(topic: string, handler: MessageHandler): void {
    checkSubscribe(topic, handler);
    this.notStopped("subscribe");
    if (this.subscriptions.has(topic))
      throw new Error(`subscribe: ${this.peerId} is already subscribed to ${JSON.stringify(topic)}`);
    this.subscriptions.set(topic, handler);
    const node = this.running;
    if (node !== undefined) this.joinTopic(node, topic);
  }

  unsubscribe(topic: string): void {
    checkName("topic", topic);
    if (!this.subscriptions.delete(topic)) return;
    const node = this.running;
    if (node === undefined) return;
    node.services.pubsub.unsubscribe(topic);
    node.services.pubsub.topicValidators.delete(topic);
  }

  async publish(topic: string, bytes: Uint8Array): Promise<void> {
    checkPublish(topic, bytes, this);
    const node = this.mustRun("publish");
    // gossipsub encodes after an await; the copy keeps later changes to the caller's buffer out.
    await node.services.pubsub.publish(topic, new Uint8Array(bytes));
  }

  peers(topic?: string): PeerId[] {
    if (topic === undefined) return this.connectedPeers();
    checkName("topic", topic);
    const node = this.running;
    if (node === undefined) return [];
    return node.services.pubsub
      .getSubscribers(topic)
      .map((id) => id.toString())
      .sort();
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
}
