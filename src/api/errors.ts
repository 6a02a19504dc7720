import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ChannelNotJoinedError } from "../node/node.js";

/** The body of every error response: `{"error": {"code", "message"}}`, plus the offending field for a 400. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly field?: string };
}

/** An error a handler throws to answer with a given status; the error handler turns it into an ErrorBody. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** One Ajv error as fastify attaches it to a validation failure (with `verbose`, the offending value too). */
interface AjvError {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
  readonly data?: unknown;
}

const WHERE: Readonly<Record<string, string>> = {
  body: "body field",
  querystring: "query parameter",
  params: "path parameter",
  headers: "header",
};

const ARTICLE_TYPE: Readonly<Record<string, string>> = {
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "a boolean",
  object: "an object",
  array: "an array",
  null: "null",
};

/** A value as an error message quotes it: short, and JSON so that "" and " " are visible. */
export function quote(value: unknown): string {
  if (value === undefined) return "nothing";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function typeName(type: unknown): string {
  const types = Array.isArray(type) ? type : [type];
  return types.map((t) => ARTICLE_TYPE[String(t)] ?? String(t)).join(" or ");
}

/** Turns the first Ajv error of a fastify validation failure into a sentence naming the field and the problem. */
export function describeValidation(context: string, error: AjvError): { field: string; message: string } {
  const path = error.instancePath.split("/").filter((p) => p.length > 0);
  const where = WHERE[context] ?? context;
  const named = (extra?: unknown) => [...path, ...(extra === undefined ? [] : [String(extra)])].join(".");
  const got = error.data === undefined ? "" : `, got ${quote(error.data)}`;
  const p = error.params;
  switch (error.keyword) {
    case "required": {
      const field = named(p.missingProperty);
      return { field, message: `${where} ${field} is required` };
    }
    case "additionalProperties": {
      const field = named(p.additionalProperty);
      return { field, message: `${where} ${field} is not allowed here` };
    }
    case "type": {
      const field = named();
      if (field === "" && context === "body") {
        return {
          field: "",
          message: error.data == null ? "a JSON object body is required" : `body must be a JSON object${got}`,
        };
      }
      return { field, message: `${where} ${field} must be ${typeName(p.type)}${got}` };
    }
    case "minLength": {
      const field = named();
      const limit = Number(p.limit);
      const problem = limit === 1 ? "must not be empty" : `must be at least ${limit} characters`;
      return { field, message: `${where} ${field} ${problem}` };
    }
    case "maxLength":
      return { field: named(), message: `${where} ${named()} must be at most ${String(p.limit)} characters` };
    case "minimum":
      return { field: named(), message: `${where} ${named()} must be at least ${String(p.limit)}${got}` };
    case "maximum":
      return { field: named(), message: `${where} ${named()} must be at most ${String(p.limit)}${got}` };
    case "enum":
      return {
        field: named(),
        message: `${where} ${named()} must be one of ${(p.allowedValues as unknown[]).map((v) => quote(v)).join(", ")}${got}`,
      };
    default:
      return { field: named(), message: `${where} ${named()} ${error.message ?? "is invalid"}${got}` };
  }
}

export function errorBody(code: string, message: string, field?: string): ErrorBody {
  return { error: { code, message, ...(field === undefined || field === "" ? {} : { field }) } };
}

/** Fastify's own error codes that reach the error handler, as ours. */
const FASTIFY_CODES: Readonly<Record<string, { status: number; code: string }>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: "invalid_json" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: "invalid_json" },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: "body_too_large" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: "unsupported_media_type" },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: "invalid_request" },
};

/** The one place where any thrown error becomes a response: `{"error": {"code", "message"}}`. */
export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply, bodyLimit: number): void {
  if (err instanceof ApiError) {
    reply.code(err.statusCode).send(errorBody(err.code, err.message, err.field));
    return;
  }
  if (err instanceof ChannelNotJoinedError) {
    reply.code(404).send(errorBody("channel_not_joined", err.message));
    return;
  }
  if (!(err instanceof Error)) {
    reply.code(500).send(errorBody("internal_error", `unexpected ${quote(err)}`));
    return;
  }
  const fastifyError = err as FastifyError & { validationContext?: string; validation?: AjvError[] };
  if (Array.isArray(fastifyError.validation) && fastifyError.validation.length > 0) {
    const { field, message } = describeValidation(
      fastifyError.validationContext ?? "body",
      fastifyError.validation[0] as AjvError,
    );
    reply.code(400).send(errorBody("invalid_request", message, field));
    return;
  }
  const known = fastifyError.code === undefined ? undefined : FASTIFY_CODES[fastifyError.code];
  if (known !== undefined) {
    const message =
      known.code === "body_too_large"
        ? `request body is over the limit of ${bodyLimit} bytes`
        : known.code === "unsupported_media_type"
          ? `content type ${quote(request.headers["content-type"] ?? "")} is not supported; send application/json`
          : known.code === "invalid_json"
            ? `request body is not valid JSON: ${fastifyError.message}`
            : fastifyError.message;
    reply.code(known.status).send(errorBody(known.code, message));
    return;
  }
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    reply.code(status).send(errorBody("invalid_request", fastifyError.message));
    return;
  }
  request.log.error({ err }, "unhandled error");
  reply.code(500).send(errorBody("internal_error", err.message));
}
