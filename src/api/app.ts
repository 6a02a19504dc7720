import { readFile } from "node:fs/promises";
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  type RouteHandlerMethod,
} from "fastify";
import type { NodeEvent } from "../node/channel.js";
import type { ReceiptSummary } from "../node/history-protocol.js";
import type { ChorusNode } from "../node/node.js";
import { ApiError, errorBody, handleError, quote } from "./errors.js";
import { EventHub, refJson } from "./events.js";
import { localReceipts, logEntry, mergedOwnState, mergeReceipts } from "./messages.js";
import { createMetrics } from "./metrics.js";
import { buildOpenApi, type DocumentedRoute, renderDocs } from "./openapi.js";
import {
  docsSchema,
  EVENT_TYPES,
  eventsSchema,
  getMessageSchema,
  healthSchema,
  joinChannelSchema,
  listChannelsSchema,
  listMessagesSchema,
  membersSchema,
  metricsSchema,
  missingSchema,
  openapiSchema,
  peersSchema,
  sendSchema,
} from "./schemas.js";

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
const UI_FILES: Readonly<Record<string, string>> = {
  "app.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
};
const uiDir = new URL("./ui/", import.meta.url);

type Json = Record<string, unknown>;
interface ChannelParams {
  channelId: string;
}

/**
 * The REST API, event stream, metrics, docs and web UI of one node, as a fastify instance that is not
 * listening yet: `await app.listen({host, port})` serves it, `app.inject()` calls it without a socket.
 * Closing the app ends its event streams and detaches it from the node; it does not stop the node.
 */
export function createApi(node: ChorusNode, options: ApiOptions = {}): FastifyInstance {
  const maxContentBytes = options.maxContentBytes ?? DEFAULT_MAX_CONTENT_BYTES;
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const ownerTimeoutMs = options.ownerTimeoutMs ?? 1_500;
  const ownerRetryMs = options.ownerRetryMs ?? 5_000;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit,
    // A channel id of 256 characters takes up to 3,072 once percent-encoded.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 4_096 },
    // Unknown fields are errors, not silently dropped; `verbose` lets error messages quote the value.
    ajv: { customOptions: { removeAdditional: false, verbose: true } },
    // Malformed or over-long URLs are answered before routing; they get our error shape too.
    frameworkErrors: (error, request, reply) => {
      const tooLong = error.code === "FST_ERR_MAX_PARAM_LENGTH";
      const path = String(request.raw.url ?? "").split("?")[0] ?? "";
      (reply as unknown as FastifyReply)
        .code(tooLong ? 414 : 400)
        .send(
          errorBody(
            tooLong ? "uri_too_long" : "invalid_request",
            tooLong
              ? `a path parameter is over the limit of 4096 characters in ${quote(path)}`
              : `the path ${quote(path)} is not valid percent-encoding`,
          ),
        );
    },
  });

  const metrics = createMetrics(node, { processMetrics: options.processMetrics ?? true });
  const hub = new EventHub(options.heartbeatMs ?? 15_000, (n) => metrics.sseClients.set(n));
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
    metrics.requests.inc({
      method: request.method,
      route: request.routeOptions.url ?? "unmatched",
      status: String(reply.statusCode),
    });
  });

  // Ajv coerces types (query strings need it), so `{"content": 5}` would pass as "5": the body's declared
  // scalar types are checked here first, on the parsed JSON.
  app.addHook("preValidation", async (request) => {
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
  });

  const documented: DocumentedRoute[] = [];
  const route = (
    method: "GET" | "POST",
    url: string,
    schema: Json,
    handler: RouteHandlerMethod,
    responses?: DocumentedRoute["responses"],
  ) => {
    documented.push({ method, url, schema, ...(responses === undefined ? {} : { responses }) });
    app.route({ method, url, schema, handler });
  };

  // ----------------------------------------------------------------------------------------- node

  const multiaddrs =
    options.multiaddrs ??
    (() => {
      const transport = node.transport as { multiaddrs?: () => string[] };
      try {
        return transport.multiaddrs?.() ?? [];
      } catch {
        return [];
      }
    });

  route("GET", "/v1/health", healthSchema, async () => ({
    status: "ok",
    senderId: node.senderId,
    peerId: node.transport.peerId,
    role: node.role,
    multiaddrs: multiaddrs(),
    channels: node.listChannels(),
    ownerPeerId: node.ownerPeerId() ?? null,
  }));

  route("GET", "/v1/peers", peersSchema, async () => {
    const owner = node.ownerPeerId();
    return {
      peerId: node.transport.peerId,
      ownerPeerId: owner ?? null,
      peers: node.transport.peers().map((peerId) => ({ peerId, owner: peerId === owner })),
    };
  });

  // ------------------------------------------------------------------------------------- channels

  const summary = (channelId: string) => {
    const runtime = node.channel(channelId);
    return {
      channelId,
      delivered: node.countDelivered(channelId),
      missing: runtime.engine.missingRefs().length,
      members: runtime.engine.knownMembers(),
    };
  };

  route("GET", "/v1/channels", listChannelsSchema, async () => ({ channels: node.listChannels().map(summary) }));

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
    return summary(channelId);
  });

  route("GET", "/v1/channels/:channelId/members", membersSchema, async (request) => {
    const { channelId } = request.params as ChannelParams;
    // The members the engine counts in its receipts' "of N", most recently heard first.
    return { channelId, self: node.senderId, members: node.channel(channelId).engine.memberList() };
  });

  // ------------------------------------------------------------------------------------- messages

  const encoder = new TextEncoder();

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
    const messages = node.listDelivered(channelId, after, limit).map((m) => logEntry(m, node.senderId));
    const last = messages.at(-1)?.position ?? null;
    return { messages, next: last !== null && last < total ? last : null, total };
  });

  // The owner's aggregate needs a round trip; while the owner is away, answers are local and immediate.
  let ownerAwayUntil = 0;
  const askOwner = async (channelId: string, messageId: string): Promise<ReceiptSummary | undefined> => {
    if (node.role !== "member" || Date.now() < ownerAwayUntil) return undefined;
    const pending = node.ownerReceipts(channelId, [messageId]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), ownerTimeoutMs);
    });
    try {
      const answer = await Promise.race([pending, timeout]);
      if (answer === "timeout" || node.ownerPeerId() === undefined) {
        ownerAwayUntil = Date.now() + ownerRetryMs;
        pending.catch(() => {
          // Answered too late, or failed after we stopped waiting: nobody is listening any more.
        });
        return undefined;
      }
      return answer[messageId];
    } catch {
      ownerAwayUntil = Date.now() + ownerRetryMs;
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  };

  route("GET", "/v1/channels/:channelId/messages/:messageId", getMessageSchema, async (request) => {
    const { channelId, messageId } = request.params as ChannelParams & { messageId: string };
    const runtime = node.channel(channelId);
    const status = runtime.status(messageId);
    const stored = node.getMessage(channelId, messageId);
    if (status === undefined && stored === undefined) {
      throw new ApiError(
        404,
        "message_not_found",
        `message ${quote(messageId)} is not known in channel ${quote(channelId)}`,
        "messageId",
      );
    }
    const entry = stored === undefined ? undefined : logEntry(stored, node.senderId);
    const own = status?.own ?? entry?.own ?? false;
    const ref =
      status?.state === "missing" ? runtime.engine.missingRefs().find((r) => r.messageId === messageId) : undefined;
    const senderId = entry?.senderId ?? (own ? node.senderId : (ref?.senderId ?? null));
    // Own messages older than the engine tracks, and others' messages it forgot, are still in the log.
    const state = status?.state ?? (stored?.deliveredPos === null ? "pending" : "delivered");
    const local = own ? localReceipts(status) : node.role === "owner" ? runtime.engine.receipts(messageId) : undefined;
    const owner = await askOwner(channelId, messageId);
    const receipts = mergeReceipts(local, owner, senderId ?? undefined);
    return {
      messageId,
      senderId,
      state: status?.own ? mergedOwnState(status.state, receipts, runtime.engine.params.ackQuorum) : state,
      own,
      seq: entry?.seq ?? (status?.own ? status.sequence : (ref?.sequence ?? null)),
      lamportTimestamp: entry?.lamportTimestamp ?? null,
      position: entry?.position ?? null,
      content: entry?.content ?? null,
      receivedAt: entry?.receivedAt ?? null,
      ...(status?.own ? { resends: status.resends } : {}),
      receipts,
    };
  });

  route("GET", "/v1/channels/:channelId/missing", missingSchema, async (request) => {
    const { channelId } = request.params as ChannelParams;
    return { channelId, missing: node.channel(channelId).engine.missingRefs().map(refJson) };
  });

  // --------------------------------------------------------------------------------------- events

  route(
    "GET",
    "/v1/events",
    eventsSchema,
    async (request: FastifyRequest, reply: FastifyReply) => {
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

  // ----------------------------------------------------------------------------------------- docs

  let openapi: Json | undefined;
  const document = () => {
    openapi ??= buildOpenApi(
      {
        title: "Chorus node API",
        version: "1",
        description:
          "REST API of one Chorus node (owner or member): join channels, send, read the delivered log, follow " +
          'receipts, gaps and repairs. Errors are `{"error": {"code", "message"}}`. Lamport timestamps ' +
          "are decimal strings (uint64); times are Unix milliseconds.",
      },
      documented,
    );
    return openapi;
  };
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

  // ------------------------------------------------------------------------------------------- UI

  const serve = async (reply: FastifyReply, file: string, type: string) => {
    reply.type(type).header("cache-control", "no-cache");
    return readFile(new URL(file, uiDir));
  };
  app.get("/", async (_request, reply) => serve(reply, "index.html", "text/html; charset=utf-8"));
  app.get("/ui/:file", async (request, reply) => {
    const { file } = request.params as { file: string };
    const type = UI_FILES[file];
    if (type === undefined) throw new ApiError(404, "not_found", `no UI file ${quote(file)}`);
    return serve(reply, file, type);
  });

  return app;
}
