import type { FastifyPluginAsync } from "fastify";
import { ApiError, quote } from "../errors.js";
import { refJson } from "../events.js";
import { equivocationJson, logEntryJson, messageViewJson } from "../messages.js";
import { equivocationsSchema, getMessageSchema, listMessagesSchema, missingSchema, sendSchema } from "../schemas.js";
import { type ApiContext, type ChannelParams, documenter } from "./context.js";

const encoder = new TextEncoder();

/** Messages of one channel: send, the delivered log, one message with its receipts, and what is missing. */
export const messageRoutes: FastifyPluginAsync<
  Pick<ApiContext, "node" | "routes" | "maxContentBytes" | "ownerReceipts">
> = async (app, { node, routes, maxContentBytes, ownerReceipts }) => {
  const route = documenter(app, routes);
  route("POST", "/v1/channels/:channelId/messages", sendSchema, async (request, reply) => {
    const { channelId } = request.params as ChannelParams;
    const { content, ephemeral } = request.body as { content: string; ephemeral?: boolean };
    const runtime = node.channel(channelId);
    const bytes = encoder.encode(content);
    if (bytes.length > maxContentBytes) {
      throw new ApiError(
        413,
        "content_too_large",
        `content is ${bytes.length} bytes of UTF-8, over the limit of ${maxContentBytes}`,
        "content",
      );
    }
    const sent = runtime.send(bytes, ephemeral === true);
    reply.code(201);
    return {
      messageId: sent.messageId,
      lamportTimestamp: sent.lamportTimestamp?.toString() ?? null,
      seq: sent.seq ?? null,
    };
  });
  route("GET", "/v1/channels/:channelId/messages", listMessagesSchema, async (request) => {
    const { channelId } = request.params as ChannelParams;
    const { limit, after } = request.query as { limit: number; after: number };
    const total = node.countDelivered(channelId);
    const entries = node.logEntries(channelId, after, limit);
    const last = entries.at(-1)?.position ?? null;
    return { messages: entries.map(logEntryJson), next: last !== null && last < total ? last : null, total };
  });
  route("GET", "/v1/channels/:channelId/messages/:messageId", getMessageSchema, async (request) => {
    const { channelId, messageId } = request.params as ChannelParams & { messageId: string };
    const view = await node.messageView(channelId, messageId, ownerReceipts);
    if (view === undefined) {
      throw new ApiError(
        404,
        "message_not_found",
        `message ${quote(messageId)} is not known in channel ${quote(channelId)}`,
        "messageId",
      );
    }
    return messageViewJson(view);
  });
  route("GET", "/v1/channels/:channelId/missing", missingSchema, async (request) => {
    const { channelId } = request.params as ChannelParams;
    return { channelId, missing: node.channel(channelId).missing().map(refJson) };
  });
  route("GET", "/v1/channels/:channelId/equivocations", equivocationsSchema, async (request) => {
    const { channelId } = request.params as ChannelParams;
    return { channelId, equivocations: node.channel(channelId).equivocations().map(equivocationJson) };
  });
};
