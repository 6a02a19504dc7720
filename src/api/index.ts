export { type ApiOptions, createApi, DEFAULT_MAX_CONTENT_BYTES } from "./app.js";
export { ApiError, type ErrorBody } from "./errors.js";
export { type ApiEvent, toApiEvent } from "./events.js";
export { buildOpenApi, renderDocs } from "./openapi.js";
