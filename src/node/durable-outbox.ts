// Output commit for a write-behind store (IndexedDB, src/storage/indexeddb-store.ts): a Transport that lets
// nothing leave the member (published messages, requests such as owner reports, answers to others' requests)
// before everything the store committed until then is durable. Whatever a crash loses of the store's tail
// was therefore never seen outside: an own message lost with it was never published, so its sequence
// number is free again after the reload (reusing one that someone saw would be equivocation); an
// acknowledgement never claims a message the member may lose.
//
// The cost is one wait per outgoing message for the store's current batch, usually a single IndexedDB
// transaction shared by everything the same task wrote. Publishes keep their order: the store's flushes
// resolve in the order they were asked for.
import type { Store } from "../storage/store.js";
import type {
  PeerId,
  PublishOptions,
  PublishResult,
  RequestHandler,
  RequestOptions,
  Transport,
} from "../transport/transport.js";
import { WrappedTransport } from "../transport/wrapped.js";

/** A store whose writes become durable after they return; `flush` resolves once those made so far are. */
export interface WriteBehindStore extends Store {
  flush(): Promise<void>;
}

export function isWriteBehind(store: Store): store is WriteBehindStore {
  return typeof (store as Partial<WriteBehindStore>).flush === "function";
}

export class DurableOutbox extends WrappedTransport {
  constructor(
    inner: Transport,
    private readonly store: WriteBehindStore,
  ) {
    super(inner);
  }

  // biome-ignore lint/suspicious/noConfusingVoidType: as Transport.publish
  override async publish(topic: string, bytes: Uint8Array, options?: PublishOptions): Promise<PublishResult | void> {
    await this.store.flush();
    return this.inner.publish(topic, bytes, options);
  }

  override handle(protocol: string, handler: RequestHandler): void {
    this.inner.handle(protocol, async (bytes, from) => {
      const answer = await handler(bytes, from);
      await this.store.flush();
      return answer;
    });
  }

  override async request(
    peer: PeerId,
    protocol: string,
    bytes: Uint8Array,
    options?: RequestOptions,
  ): Promise<Uint8Array> {
    await this.store.flush();
    return this.inner.request(peer, protocol, bytes, options);
  }
}
