/** Chorus: end-to-end reliability for group channels over lossy pub/sub. */
export * from "./core/index.js";
export * from "./wire/index.js";
