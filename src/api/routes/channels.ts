import type { FastifyPluginAsync } from "fastify";
import type { ChorusNode } from "../../node/node.js";
import { joinChannelSchema, listChannelsSchema, membersSchema, rosterSchema } from "../schemas.js";
import { type ApiContext, type ChannelParams, documenter } from "./context.js";

function summary(node: ChorusNode, channelId: string) {
  const runtime = node.channel(channelId);
  return {
    channelId,
    delivered: node.countDelivered(channelId),
    missing: runtime.missingCount(),
    members: runtime.knownMembers(),
  };
}

/** Channels: list, join, the members of one and its roster. */
export const channelRoutes: FastifyPluginAsync<Pick<ApiContext, "node" | "routes">> = async (app, { node, routes }) => {
  const route = documenter(app, routes);
  route("GET", "/v1/channels", listChannelsSchema, async () => ({
    channels: node.listChannels().map((id) => summary(node, id)),
  }));
  route("POST", "/v1/channels", joinChannelSchema, async (request, reply) => {
    const { channelId } = request.body as { channelId: string };
    const existed = node.listChannels().includes(channelId);
    node.join(channelId);
    if (!existed && node.role === "member") {
      node.catchUp(channelId).catch(() => {
        // No owner reachable: the engine's repair from peers covers what the member sees missing.
      });
    }
    reply.code(existed ? 200 : 201);
    return summary(node, channelId);
  });
  route("GET", "/v1/channels/:channelId/members", membersSchema, async (request) => {
    const { channelId } = request.params as ChannelParams;
    // The members the engine counts in its receipts' "of N", most recently heard first.
    return { channelId, self: node.senderId, members: node.channel(channelId).members() };
  });
  route("GET", "/v1/channels/:channelId/roster", rosterSchema, async (request) => {
    const { channelId } = request.params as ChannelParams;
    const roster = node.rosterOf(channelId);
    return {
      channelId,
      denominator: roster === undefined ? "heard-from" : "roster",
      ownerPath: node.ownerPath(channelId),
      roster:
        roster === undefined ? null : { version: roster.version, owner: roster.owner, members: [...roster.members] },
    };
  });
};
