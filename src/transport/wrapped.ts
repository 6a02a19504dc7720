// A Transport that wraps another and hands every call to it: wrappers (faults on demand, a durable outbox)
// extend it and override only what they change.
import type {
  MessageHandler,
  PeerId,
  PublishOptions,
  PublishResult,
  RequestHandler,
  RequestOptions,
  Transport,
} from "./transport.js";

export abstract class WrappedTransport implements Transport {
  constructor(protected readonly inner: Transport) {}

  get peerId(): PeerId {
    return this.inner.peerId;
  }
  get maxMessageBytes(): number {
    return this.inner.maxMessageBytes;
  }
  get maxFrameBytes(): number {
    return this.inner.maxFrameBytes;
  }
  get inboundTimeoutMs(): number | undefined {
    return this.inner.inboundTimeoutMs;
  }

  start(): Promise<void> {
    return this.inner.start();
  }
  stop(): Promise<void> {
    return this.inner.stop();
  }
  subscribe(topic: string, handler: MessageHandler): void {
    this.inner.subscribe(topic, handler);
  }
  unsubscribe(topic: string): void {
    this.inner.unsubscribe(topic);
  }
  // biome-ignore lint/suspicious/noConfusingVoidType: as Transport.publish
  publish(topic: string, bytes: Uint8Array, options?: PublishOptions): Promise<PublishResult | void> {
    return this.inner.publish(topic, bytes, options);
  }
  peers(topic?: string): PeerId[] {
    return this.inner.peers(topic);
  }
  handle(protocol: string, handler: RequestHandler): void {
    this.inner.handle(protocol, handler);
  }
  unhandle(protocol: string): void {
    this.inner.unhandle(protocol);
  }
  request(peer: PeerId, protocol: string, bytes: Uint8Array, options?: RequestOptions): Promise<Uint8Array> {
    return this.inner.request(peer, protocol, bytes, options);
  }
}
