/** Chorus: end-to-end reliability for group channels over lossy pub/sub. */
export * from "./core/index.js";
export type { ChannelEventName, ChannelEvents, ChannelListener, SyncStatus } from "./node/channel-events.js";
export { Channel, type ChannelHost, type OpenChannelOptions, openChannel } from "./node/open-channel.js";
export * from "./wire/index.js";
