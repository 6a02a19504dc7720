/**
 * Chorus for browsers: the same channel as the package's entry (src/index.ts) on the portable platform, with
 * nothing from Node on its import graph: ed25519 from @noble/curves under the rule of spec section 6.4, an
 * in-memory store (or any `Store` the app brings), and a js-waku light node for a transport. A bundler takes
 * this file as its entry (`npm run build:browser` builds the light-node page from it).
 */
import { type Channel, type OpenChannelOptions, openChannelOn, PORTABLE_PLATFORM } from "./node/open-channel.js";

export * from "./core/index.js";
export type { ChannelEventName, ChannelEvents, ChannelListener, SyncStatus } from "./node/channel-events.js";
export type { HistoryEntry } from "./node/channel-history.js";
export {
  Channel,
  type ChannelCrypto,
  type ChannelPlatform,
  type OpenChannelOptions,
  PORTABLE_CRYPTO,
  PORTABLE_PLATFORM,
} from "./node/open-channel.js";
export type { OwnerPathState } from "./node/owner-client.js";
export type { OwnerPathOptions } from "./node/owner-link.js";
export {
  IndexedDbStore,
  type IndexedDbStoreOptions,
  IndexedDbWriteError,
} from "./storage/indexeddb-store.js";
export { MemoryStore } from "./storage/memory-store.js";
export type { Store } from "./storage/store.js";
export type { Transport } from "./transport/transport.js";
export {
  type LightMessage,
  type LightNodeLike,
  WakuLightTransport,
  type WakuLightTransportOptions,
} from "./transport/waku-light-transport.js";
export * from "./wire/index.js";

/**
 * Opens a reliable channel in a browser: as the Node entry's `openChannel`, with ed25519 from @noble/curves
 * (`options.crypto` may bring another) and no SQLite (`options.store` a `Store`, or memory when absent).
 */
export function openChannel(options: OpenChannelOptions): Promise<Channel> {
  return openChannelOn(PORTABLE_PLATFORM, options);
}
