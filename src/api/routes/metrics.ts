import type { FastifyPluginAsync } from "fastify";
import { metricsSchema } from "../schemas.js";
import { type ApiContext, documenter } from "./context.js";

/** GET /metrics: this API instance's registry in the Prometheus text format. */
export const metricsRoutes: FastifyPluginAsync<Pick<ApiContext, "routes" | "metrics">> = async (
  app,
  { routes, metrics },
) => {
  const route = documenter(app, routes);
  route(
    "GET",
    "/metrics",
    metricsSchema,
    async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    },
    { 200: { description: "Prometheus text exposition format.", contentType: "text/plain" } },
  );
};
