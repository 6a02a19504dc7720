export {
  type DataDirLock,
  DataDirLockedError,
  HOLDER_FILE,
  LOCK_FILE,
  type LockHolder,
  lockDataDir,
} from "./data-lock.js";
export {
  INDEXEDDB_VERSION,
  IndexedDbStore,
  type IndexedDbStoreOptions,
  IndexedDbWriteError,
} from "./indexeddb-store.js";
export { MemoryStore } from "./memory-store.js";
export { MIGRATIONS, type Migration, SqliteStore, type SqliteStoreOptions } from "./sqlite-store.js";
export * from "./store.js";
export * from "./waku-archive.js";
export * from "./waku-store-query.js";
