import { readFile } from "node:fs/promises";
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import { ApiError, quote } from "../errors.js";

const UI_FILES: Readonly<Record<string, string>> = {
  "app.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
};
const uiDir = new URL("../ui/", import.meta.url);

async function serve(reply: FastifyReply, file: string, type: string) {
  reply.type(type).header("cache-control", "no-cache");
  return readFile(new URL(file, uiDir));
}

/** The web UI: the page at / and its script and style under /ui/ (not in the OpenAPI document). */
export const uiRoutes: FastifyPluginAsync = async (app) => {
  app.get("/", async (_request, reply) => serve(reply, "index.html", "text/html; charset=utf-8"));
  app.get("/ui/:file", async (request, reply) => {
    const { file } = request.params as { file: string };
    const type = UI_FILES[file];
    if (type === undefined) throw new ApiError(404, "not_found", `no UI file ${quote(file)}`);
    return serve(reply, file, type);
  });
};
