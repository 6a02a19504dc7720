import type { FastifyPluginAsync } from "fastify";
import type { ChorusNode } from "../../node/node.js";
import { healthSchema, peersSchema } from "../schemas.js";
import { type ApiContext, documenter } from "./context.js";

function transportAddresses(node: ChorusNode): string[] {
  const transport = node.transport as { multiaddrs?: () => string[] };
  try {
    return transport.multiaddrs?.() ?? [];
  } catch {
    return [];
  }
}

/** The node itself: GET /v1/health and GET /v1/peers. */
export const healthRoutes: FastifyPluginAsync<Pick<ApiContext, "node" | "routes" | "multiaddrs">> = async (
  app,
  { node, routes, multiaddrs },
) => {
  const addresses = multiaddrs ?? (() => transportAddresses(node));
  const route = documenter(app, routes);
  route("GET", "/v1/health", healthSchema, async () => ({
    status: "ok",
    senderId: node.senderId,
    peerId: node.transport.peerId,
    role: node.role,
    multiaddrs: addresses(),
    channels: node.listChannels(),
    ownerPeerId: node.ownerPeerId() ?? null,
    startChannel: node.startChannel ?? null,
  }));
  route("GET", "/v1/peers", peersSchema, async () => {
    const owner = node.ownerPeerId();
    return {
      peerId: node.transport.peerId,
      ownerPeerId: owner ?? null,
      peers: node.transport.peers().map((peerId) => ({ peerId, owner: peerId === owner })),
    };
  });
};
