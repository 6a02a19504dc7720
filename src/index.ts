/** Chorus: end-to-end reliability for group channels over lossy pub/sub. */
export * from "./core/index.js";
export type { ChannelEventName, ChannelEvents, ChannelListener, SyncStatus } from "./node/channel-events.js";
export type { HistoryEntry } from "./node/channel-history.js";
export { NATIVE_CRYPTO, openChannel } from "./node/native-channel.js";
export {
  Channel,
  type ChannelCrypto,
  type ChannelHost,
  type OpenChannelOptions,
  PORTABLE_CRYPTO,
} from "./node/open-channel.js";
export type { OwnerPathOptions } from "./node/owner-link.js";
export * from "./wire/index.js";
