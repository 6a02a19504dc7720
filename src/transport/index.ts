// The libp2p transport is not re-exported here: importing it loads libp2p (and installs a
// Promise polyfill). Import "./libp2p-transport.js" where a real network is wanted.
export * from "./memory-bus.js";
export * from "./transport.js";
