import type { FastifyPluginAsync } from "fastify";
import { ApiError, quote } from "../errors.js";
import { EVENT_TYPES, eventsSchema } from "../schemas.js";
import { type ApiContext, documenter } from "./context.js";

/** GET /v1/events: the node's events as a server-sent event stream, by channel and type. */
export const eventRoutes: FastifyPluginAsync<Pick<ApiContext, "node" | "routes" | "hub">> = async (
  app,
  { node, routes, hub },
) => {
  const route = documenter(app, routes);
  route(
    "GET",
    "/v1/events",
    eventsSchema,
    async (request, reply) => {
      const query = request.query as { channel?: string; types?: string; limit?: number };
      if (query.channel !== undefined) node.channel(query.channel);
      const types = query.types?.split(",");
      const unknown = types?.find((t) => !(EVENT_TYPES as readonly string[]).includes(t));
      if (unknown !== undefined) {
        throw new ApiError(
          400,
          "invalid_request",
          `query parameter types names an unknown event type ${quote(unknown)}; known: ${EVENT_TYPES.join(", ")}`,
          "types",
        );
      }
      reply.hijack();
      hub.attach(reply.raw, {
        ...(query.channel === undefined ? {} : { channel: query.channel }),
        ...(types === undefined ? {} : { types: new Set(types) }),
        ...(query.limit === undefined ? {} : { limit: query.limit }),
      });
    },
    {
      200: {
        description: `text/event-stream of ${EVENT_TYPES.join(", ")} events`,
        contentType: "text/event-stream",
      },
      404: { description: "channel_not_joined", contentType: "application/json", schema: { type: "object" } },
    },
  );
};
