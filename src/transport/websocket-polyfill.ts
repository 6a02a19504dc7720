// @libp2p/websockets dials with the global WebSocket, which Node 20 lacks (Node 22 has one). The `ws`
// package fills it; listening needs nothing. Import this before dialling a /ws address; it changes
// nothing where a global WebSocket exists.
import { WebSocket } from "ws";

const scope = globalThis as { WebSocket?: unknown };
if (scope.WebSocket === undefined) {
  Object.defineProperty(globalThis, "WebSocket", { configurable: true, writable: true, value: WebSocket });
}
