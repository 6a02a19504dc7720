// `openChannel` for Node: ed25519 through OpenSSL (src/platform/native-crypto.ts, about ten times faster than
// the portable implementation) and SQLite stores by path. The package's entry (src/index.ts) exports it; a
// browser build takes src/browser.ts instead, which opens the same channel on the portable platform.
import { nativeSigner, nativeVerifier } from "../platform/native-crypto.js";
import type { Store } from "../storage/store.js";
import {
  type Channel,
  type ChannelCrypto,
  type ChannelPlatform,
  type OpenChannelOptions,
  openChannelOn,
} from "./open-channel.js";

export const NATIVE_CRYPTO: ChannelCrypto = Object.freeze({
  signer: nativeSigner,
  verifier: () => nativeVerifier(),
});

async function openSqlite(path: string): Promise<Store> {
  // Loaded only when asked for: an app that keeps its channel in memory never loads the native module.
  const { SqliteStore } = await import("../storage/sqlite-store.js");
  return new SqliteStore({ path });
}

export const NODE_PLATFORM: ChannelPlatform = Object.freeze({ crypto: NATIVE_CRYPTO, sqlite: openSqlite });

/**
 * Opens a reliable channel: resolves the store (a `Store`, a SQLite file path, or memory) and the identity,
 * attaches the channel, starts the transport. Events of messages delivered while it opened (replayed from the
 * store) reach listeners the app adds right after the `await`.
 */
export function openChannel(options: OpenChannelOptions): Promise<Channel> {
  return openChannelOn(NODE_PLATFORM, options);
}
