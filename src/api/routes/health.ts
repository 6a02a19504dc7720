import type { FastifyPluginAsync } from "fastify";
import type { ChorusNode } from "../../node/node.js";
import { healthSchema, peersSchema } from "../schemas.js";
import { type ApiContext, documenter } from "./context.js";

function transportAddresses(node: ChorusNode): string[] {
  const transport = node.transport as { multiaddrs?: () => string[] };
  const suffix = `/p2p/${node.transport.peerId}`;
  try {
    // Each address ends in the peer id, so that another node can bootstrap from it as it is.
    return (transport.multiaddrs?.() ?? []).map((a) => (a.endsWith(suffix) ? a : `${a}${suffix}`));
  } catch {
    return [];
  }
}

/** Which transport runs, told by what it exposes (the API does not load libp2p to ask). */
function transportFacts(node: ChorusNode): { transport: string; pubsubTopic: string | null; pubsubTopics?: string[] } {
  const t = node.transport as { kind?: unknown; pubsubTopics?: readonly string[] };
  const kind = t.kind === "waku" || t.kind === "libp2p" ? t.kind : "memory";
  if (kind !== "waku" || t.pubsubTopics === undefined) return { transport: kind, pubsubTopic: null };
  return { transport: kind, pubsubTopic: t.pubsubTopics[0] ?? null, pubsubTopics: [...t.pubsubTopics] };
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
    ...transportFacts(node),
    contentTopics: Object.fromEntries(node.listChannels().map((id) => [id, node.topicOf(id)])),
    channels: node.listChannels(),
    ownerPeerId: node.ownerPeerId() ?? null,
    startChannel: node.startChannel ?? null,
    wakuServices: node.wakuServices?.report() ?? null,
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
