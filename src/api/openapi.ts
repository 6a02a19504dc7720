// The OpenAPI 3.1 document, built from the routes as fastify registers them (their JSON schemas), and a
// small readable HTML page rendered from it: no UI bundle, nothing fetched from elsewhere.

type Json = Record<string, unknown>;

/** What a route contributes to the document. `responses` overrides the schema's for non-JSON answers. */
export interface DocumentedRoute {
  readonly method: string;
  readonly url: string;
  readonly schema: Json;
  readonly responses?: Record<string, { description: string; contentType: string; schema?: Json }>;
}

export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
  readonly description: string;
}

const ROUTE_KEYS = new Set(["summary", "description", "tags", "params", "querystring", "body", "response"]);

function toOpenApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

/** Strips what is fastify's and not JSON Schema's (nothing today) and the per-response `description`. */
function bodySchema(schema: Json): Json {
  const { description: _description, ...rest } = schema;
  return rest;
}

function parameters(schema: Json | undefined, where: "path" | "query"): Json[] {
  if (schema === undefined) return [];
  const properties = (schema.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === "path" || required.has(name),
      ...(description === undefined ? {} : { description }),
      schema: rest,
    };
  });
}

export function buildOpenApi(info: OpenApiInfo, routes: readonly DocumentedRoute[]): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    for (const key of Object.keys(route.schema)) {
      if (!ROUTE_KEYS.has(key)) throw new Error(`route ${route.method} ${route.url}: unknown schema key ${key}`);
    }
    const s = route.schema;
    const path = toOpenApiPath(route.url);
    const responses: Record<string, Json> = {};
    for (const [code, response] of Object.entries((s.response ?? {}) as Record<string, Json>)) {
      responses[code] = {
        description: (response.description as string | undefined) ?? `HTTP ${code}`,
        content: { "application/json": { schema: bodySchema(response) } },
      };
    }
    for (const [code, response] of Object.entries(route.responses ?? {})) {
      responses[code] = {
        description: response.description,
        content: { [response.contentType]: { schema: response.schema ?? { type: "string" } } },
      };
    }
    const operation: Json = {
      operationId: `${route.method.toLowerCase()}${path.replace(/[{}]/g, "").replace(/(^|[/_.-])(\w)/g, (_m, _p, c) => c.toUpperCase())}`,
      ...(s.summary === undefined ? {} : { summary: s.summary }),
      ...(s.description === undefined ? {} : { description: s.description }),
      ...(s.tags === undefined ? {} : { tags: s.tags }),
      parameters: [...parameters(s.params as Json | undefined, "path"), ...parameters(s.querystring as Json, "query")],
      ...(s.body === undefined
        ? {}
        : { requestBody: { required: true, content: { "application/json": { schema: s.body } } } }),
      responses,
    };
    paths[path] ??= {};
    (paths[path] as Record<string, Json>)[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: "3.1.0",
    info,
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    paths,
  };
}

// ------------------------------------------------------------------------------------------ docs page

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );
}

/** `code` spans for backquoted words, the only markup the descriptions use. */
function prose(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, "<code>$1</code>");
}

function typeLabel(schema: Json): string {
  const type = schema.type;
  let label = Array.isArray(type) ? type.join(" | ") : typeof type === "string" ? type : "any";
  if (type === "array" || (Array.isArray(type) && type.includes("array"))) {
    label = `array of ${typeLabel((schema.items ?? {}) as Json)}`;
  }
  const facts: string[] = [];
  if (schema.enum !== undefined) facts.push((schema.enum as unknown[]).map((v) => JSON.stringify(v)).join(" | "));
  if (schema.minimum !== undefined) facts.push(`≥ ${String(schema.minimum)}`);
  if (schema.maximum !== undefined) facts.push(`≤ ${String(schema.maximum)}`);
  if (schema.minLength !== undefined) facts.push(`length ≥ ${String(schema.minLength)}`);
  if (schema.maxLength !== undefined) facts.push(`length ≤ ${String(schema.maxLength)}`);
  if (schema.default !== undefined) facts.push(`default ${JSON.stringify(schema.default)}`);
  return facts.length === 0 ? label : `${label}, ${facts.join(", ")}`;
}

function renderFields(schema: Json): string {
  const properties = schema.properties as Record<string, Json> | undefined;
  const items = schema.items as Json | undefined;
  if (properties === undefined) {
    return items?.properties === undefined ? "" : renderFields(items);
  }
  const required = new Set((schema.required ?? []) as string[]);
  const rows = Object.entries(properties).map(([name, property]) => {
    const nested = renderFields(property);
    return (
      `<li><code>${escapeHtml(name)}</code>${required.has(name) ? "" : '<span class="opt">optional</span>'} ` +
      `<span class="type">${escapeHtml(typeLabel(property))}</span>` +
      `${property.description === undefined ? "" : ` — ${prose(String(property.description))}`}${nested}</li>`
    );
  });
  return `<ul class="fields">${rows.join("")}</ul>`;
}

export function renderDocs(doc: Json): string {
  const info = doc.info as OpenApiInfo;
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const sections: string[] = [];
  const toc: string[] = [];
  for (const [path, operations] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const anchor = String(op.operationId);
      toc.push(
        `<li><a href="#${anchor}"><span class="m m-${method}">${method.toUpperCase()}</span> ${escapeHtml(path)}</a></li>`,
      );
      const params = (op.parameters ?? []) as Json[];
      const paramRows = params.map(
        (p) =>
          `<li><code>${escapeHtml(String(p.name))}</code> <span class="in">${String(p.in)}</span>` +
          `${p.required ? "" : '<span class="opt">optional</span>'} <span class="type">${escapeHtml(typeLabel(p.schema as Json))}</span>` +
          `${p.description === undefined ? "" : ` — ${prose(String(p.description))}`}</li>`,
      );
      const body = (op.requestBody as Json | undefined)?.content as Record<string, { schema: Json }> | undefined;
      const responses = Object.entries((op.responses ?? {}) as Record<string, Json>).map(([code, r]) => {
        const content = (r.content ?? {}) as Record<string, { schema: Json }>;
        const [type, media] = Object.entries(content)[0] ?? ["", { schema: {} }];
        const isError = (media.schema.properties as Json | undefined)?.error !== undefined;
        return (
          `<li><span class="code c${code[0]}">${code}</span> ${prose(String(r.description))}` +
          `${type === "" || type === "application/json" ? "" : ` <span class="type">${escapeHtml(type)}</span>`}` +
          `${isError ? ' <a class="type" href="#errors">error body</a>' : renderFields(media.schema)}</li>`
        );
      });
      sections.push(
        `<section id="${anchor}"><h2><span class="m m-${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h2>` +
          `${op.summary === undefined ? "" : `<p class="summary">${prose(String(op.summary))}</p>`}` +
          `${op.description === undefined ? "" : `<p>${prose(String(op.description))}</p>`}` +
          `${paramRows.length === 0 ? "" : `<h3>Parameters</h3><ul class="fields">${paramRows.join("")}</ul>`}` +
          `${body === undefined ? "" : `<h3>Request body (application/json)</h3>${renderFields(body["application/json"]!.schema)}`}` +
          `<h3>Responses</h3><ul class="responses">${responses.join("")}</ul></section>`,
      );
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(info.title)} — API</title>
<style>
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2430;margin:0;background:#f6f7f9}
main{max-width:920px;margin:0 auto;padding:24px 20px 60px}
h1{font-size:26px;margin:8px 0}h2{font-size:18px;margin:0 0 6px}h3{font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:#667;margin:14px 0 4px}
section{background:#fff;border:1px solid #e3e6eb;border-radius:10px;padding:16px 18px;margin:16px 0}
code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f0f2f5;padding:1px 4px;border-radius:4px}
.m{display:inline-block;font:600 12px ui-monospace,monospace;padding:2px 6px;border-radius:4px;color:#fff;min-width:44px;text-align:center}
.m-get{background:#2f7d4f}.m-post{background:#2b5fb4}.m-put{background:#a2691c}.m-delete{background:#b43b3b}
ul.fields,ul.responses{margin:4px 0;padding-left:20px}ul.fields ul.fields{margin-top:2px}
.type{color:#6a5acd;font-size:13px}.in{color:#888;font-size:12px}.opt{color:#999;font-size:12px;margin-left:6px}
.code{font:600 13px ui-monospace,monospace}.c2{color:#2f7d4f}.c4{color:#b43b3b}.c5{color:#b43b3b}
.summary{font-weight:600;margin:4px 0}.toc{columns:2;padding-left:18px}.toc a{text-decoration:none;color:inherit}
a{color:#2b5fb4}
</style></head><body><main>
<h1>${escapeHtml(info.title)} <small style="color:#888;font-weight:400">${escapeHtml(info.version)}</small></h1>
<p>${prose(info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Web UI: <a href="/">/</a>.</p>
<ul class="toc">${toc.join("")}</ul>
<section id="errors"><h2>Errors</h2><p>Every error answers with a JSON body
<code>{"error": {"code": "...", "message": "...", "field": "..."}}</code>: <code>code</code> is stable and
machine-readable, <code>message</code> says what was wrong and with which value, <code>field</code> names the
request field at fault (400 only). Codes: <code>invalid_request</code>, <code>invalid_json</code> (400),
<code>channel_not_joined</code>, <code>message_not_found</code>, <code>not_found</code> (404),
<code>uri_too_long</code> (414), <code>content_too_large</code>, <code>body_too_large</code> (413),
<code>unsupported_media_type</code> (415), <code>internal_error</code> (500). Joining a channel twice is not an
error (200).</p></section>
${sections.join("\n")}
</main></body></html>
`;
}
