import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from "fastify";
import type { NodeEvent } from "../node/channel.js";
import type { ChorusNode } from "../node/node.js";
import { ApiError, errorBody, handleError, quote } from "./errors.js";
import { EventHub } from "./events.js";
import { createMetrics } from "./metrics.js";
import { channelRoutes } from "./routes/channels.js";
import type { ApiContext } from "./routes/context.js";
import { docsRoutes } from "./routes/docs.js";
import { eventRoutes } from "./routes/events.js";
import { faultRoutes } from "./routes/faults.js";
import { healthRoutes } from "./routes/health.js";
import { messageRoutes } from "./routes/messages.js";
import { metricsRoutes } from "./routes/metrics.js";
import { uiRoutes } from "./routes/ui.js";

export interface ApiOptions {
  /** Largest message content, in UTF-8 bytes; larger ones are refused with 413. Default 64 KiB. */
  readonly maxContentBytes?: number;
  /** Largest request body, in bytes; larger ones are refused with 413. Default 1 MiB. */
  readonly bodyLimit?: number;
  /** How long a GET of one message waits for the owner's receipt counts. Default 1,500 ms. */
  readonly ownerTimeoutMs?: number;
  /** After the owner failed to answer, how long to stop asking it (answers are local-only meanwhile). Default 5 s. */
  readonly ownerRetryMs?: number;
  /** Interval of the comment lines that keep event streams open through proxies. Default 15 s; 0 disables. */
  readonly heartbeatMs?: number;
  /** The addresses /v1/health reports. Default: the transport's `multiaddrs()` when it has one. */
  readonly multiaddrs?: () => string[];
  /** Also export Node process metrics (CPU, memory, event loop). Default true. */
  readonly processMetrics?: boolean;
  readonly logger?: FastifyServerOptions["logger"];
}

export const DEFAULT_MAX_CONTENT_BYTES = 64 * 1024;

/** One plugin per resource, registered in this order (it is the order of the OpenAPI document). */
const ROUTES: readonly FastifyPluginAsync<ApiContext>[] = [
  healthRoutes,
  channelRoutes,
  messageRoutes,
  eventRoutes,
  faultRoutes,
  metricsRoutes,
  docsRoutes,
  uiRoutes,
];

type Json = Record<string, unknown>;

/** Malformed or over-long URLs are answered before routing; they get our error shape too. */
function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const tooLong = error.code === "FST_ERR_MAX_PARAM_LENGTH";
  const path = String(request.raw.url ?? "").split("?")[0] ?? "";
  reply
    .code(tooLong ? 414 : 400)
    .send(
      errorBody(
        tooLong ? "uri_too_long" : "invalid_request",
        tooLong
          ? `a path parameter is over the limit of 4096 characters in ${quote(path)}`
          : `the path ${quote(path)} is not valid percent-encoding`,
      ),
    );
}

/**
 * Ajv coerces types (query strings need it), so `{"content": 5}` would pass as "5": the body's declared
 * scalar types are checked here first, on the parsed JSON.
 */
async function checkBodyTypes(request: FastifyRequest): Promise<void> {
  const schema = request.routeOptions.schema?.body as Json | undefined;
  const body = request.body;
  if (schema === undefined || typeof body !== "object" || body === null || Array.isArray(body)) return;
  for (const [name, property] of Object.entries((schema.properties ?? {}) as Record<string, Json>)) {
    const value = (body as Json)[name];
    if (value === undefined) continue;
    const type = property.type;
    if (
      (type === "string" && typeof value !== "string") ||
      (type === "boolean" && typeof value !== "boolean") ||
      (type === "integer" && !Number.isInteger(value))
    ) {
      const article = type === "integer" ? "an integer" : `a ${String(type)}`;
      throw new ApiError(400, "invalid_request", `body field ${name} must be ${article}, got ${quote(value)}`, name);
    }
  }
}

/**
 * The REST API, event stream, metrics, docs and web UI of one node, as a fastify instance that is not
 * listening yet: `await app.listen({host, port})` serves it, `app.inject()` calls it without a socket.
 * Closing the app ends its event streams and detaches it from the node; it does not stop the node.
 */
export function createApi(node: ChorusNode, options: ApiOptions = {}): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit,
    // A channel id of 256 characters takes up to 3,072 once percent-encoded.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 4_096 },
    // Unknown fields are errors, not silently dropped; `verbose` lets error messages quote the value.
    ajv: { customOptions: { removeAdditional: false, verbose: true } },
    frameworkErrors: (error, request, reply) => frameworkErrors(error, request, reply as unknown as FastifyReply),
  });

  const hub = new EventHub(options.heartbeatMs ?? 15_000);
  const metrics = createMetrics(
    { node, sseClients: () => hub.size },
    { processMetrics: options.processMetrics ?? true },
  );
  const unsubscribe = node.on((event: NodeEvent) => {
    metrics.observe(event);
    hub.publish(event);
  });
  app.addHook("preClose", async () => hub.close());
  app.addHook("onClose", async () => {
    unsubscribe();
  });

  app.setErrorHandler((err, request, reply) => handleError(err, request, reply, bodyLimit));
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody("not_found", `no route for ${request.method} ${request.url.split("?")[0]}`));
  });
  app.addHook("onResponse", async (request, reply) => {
    metrics.request({
      method: request.method,
      route: request.routeOptions.url ?? "unmatched",
      status: String(reply.statusCode),
    });
  });
  app.addHook("preValidation", checkBodyTypes);

  const context: ApiContext = {
    node,
    routes: [],
    metrics,
    hub,
    ownerReceipts: node.ownerQuery({ timeoutMs: options.ownerTimeoutMs, retryMs: options.ownerRetryMs }),
    maxContentBytes: options.maxContentBytes ?? DEFAULT_MAX_CONTENT_BYTES,
    multiaddrs: options.multiaddrs,
  };
  for (const routes of ROUTES) app.register(routes, context);
  return app;
}
