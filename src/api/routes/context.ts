import type { FastifyInstance, RouteHandlerMethod } from "fastify";
import type { ChorusNode } from "../../node/node.js";
import type { OwnerReceipts } from "../../node/owner-receipts.js";
import type { EventHub } from "../events.js";
import type { ApiMetrics } from "../metrics.js";
import type { DocumentedRoute } from "../openapi.js";

/** What the route plugins share: each plugin takes the part it needs as its fastify options. */
export interface ApiContext {
  readonly node: ChorusNode;
  /** Routes for the OpenAPI document, in the order they are registered. */
  readonly routes: DocumentedRoute[];
  readonly metrics: ApiMetrics;
  readonly hub: EventHub;
  /** The owner-query policy of this API instance (timeout, back-off while the owner is away). */
  readonly ownerReceipts: OwnerReceipts;
  readonly maxContentBytes: number;
  /** The addresses /v1/health reports; the transport's own when absent. */
  readonly multiaddrs: (() => string[]) | undefined;
}

/** Registers a route and records it for the OpenAPI document; `responses` documents answers that are not JSON. */
export type Route = (
  method: "GET" | "POST" | "PUT" | "DELETE",
  url: string,
  schema: Record<string, unknown>,
  handler: RouteHandlerMethod,
  responses?: DocumentedRoute["responses"],
) => void;

/** The `route` function of one plugin: its routes go to `app`, their documentation to `routes`. */
export function documenter(app: FastifyInstance, routes: DocumentedRoute[]): Route {
  return (method, url, schema, handler, responses) => {
    routes.push({ method, url, schema, ...(responses === undefined ? {} : { responses }) });
    app.route({ method, url, schema, handler });
  };
}

export interface ChannelParams {
  channelId: string;
}
