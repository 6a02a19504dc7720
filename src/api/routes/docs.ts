import type { FastifyPluginAsync } from "fastify";
import { buildOpenApi, renderDocs } from "../openapi.js";
import { docsSchema, openapiSchema } from "../schemas.js";
import { type ApiContext, documenter } from "./context.js";

const INFO = {
  title: "Chorus node API",
  version: "1",
  description:
    "REST API of one Chorus node (owner or member): join channels, send, read the delivered log, follow " +
    'receipts, gaps and repairs. Errors are `{"error": {"code", "message"}}`. Lamport timestamps ' +
    "are decimal strings (uint64); times are Unix milliseconds.",
};

/**
 * GET /openapi.json and GET /docs. The document is built at the first request, once every plugin has
 * registered its routes.
 */
export const docsRoutes: FastifyPluginAsync<Pick<ApiContext, "routes">> = async (app, { routes }) => {
  let openapi: Record<string, unknown> | undefined;
  const document = () => {
    openapi ??= buildOpenApi(INFO, routes);
    return openapi;
  };
  const route = documenter(app, routes);
  route("GET", "/openapi.json", openapiSchema, async () => document(), {
    200: { description: "OpenAPI 3.1 document.", contentType: "application/json", schema: { type: "object" } },
  });
  route(
    "GET",
    "/docs",
    docsSchema,
    async (_request, reply) => {
      reply.type("text/html; charset=utf-8");
      return renderDocs(document());
    },
    { 200: { description: "HTML page.", contentType: "text/html" } },
  );
};
