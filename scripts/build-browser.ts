// Builds the light-node page (src/web/light): a Chorus member in a browser tab on a js-waku light node. The
// page's script and everything it imports (the browser entry src/browser.ts, js-waku 0.0.36 and its libp2p 2)
// become one ES module, page.js, beside index.html. The build targets a browser: a Node module anywhere on the
// import graph fails it.
//
//   npm run build:browser                       writes dist/web/light/
//   npm run build:browser -- --out DIR          writes DIR/
//   npm run build:browser -- --serve 8090       and serves it on http://127.0.0.1:8090/ until stopped
//   then open index.html?service=<a service node's /ws multiaddr>
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = resolve(fileURLToPath(import.meta.url), "../..");
const PAGE = join(ROOT, "src/web/light");
export const DEFAULT_OUT = join(ROOT, "dist/web/light");

export interface BuiltPage {
  readonly dir: string;
  /** Bytes of page.js. */
  readonly scriptBytes: number;
  /** Source files and packages bundled, as esbuild names them. */
  readonly inputs: readonly string[];
}

/** Bundles src/web/light/page.ts into `outDir`/page.js and copies index.html beside it. */
export async function buildLightPage(outDir: string = DEFAULT_OUT, options: { minify?: boolean } = {}) {
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(PAGE, "page.ts")],
    outfile: join(outDir, "page.js"),
    bundle: true,
    platform: "browser",
    format: "esm",
    // Chromium 119+, Firefox 121+, Safari 17.4+: js-waku's libp2p uses Promise.withResolvers.
    target: ["es2022"],
    minify: options.minify ?? true,
    sourcemap: "linked",
    metafile: true,
    logLevel: "warning",
    // Libraries that test process.env.NODE_ENV (logging, debug checks) read "production"; js-waku's test mode
    // (NODE_ENV "test", which would let it dial ws://) is not needed: member.ts asks for ws:// with
    // `filterMultiaddrs: false` instead.
    define: { "process.env.NODE_ENV": '"production"' },
  });
  copyFileSync(join(PAGE, "index.html"), join(outDir, "index.html"));
  const output = result.metafile.outputs[Object.keys(result.metafile.outputs).find((p) => p.endsWith("page.js")) ?? ""];
  return {
    dir: outDir,
    scriptBytes: output?.bytes ?? 0,
    inputs: Object.keys(result.metafile.inputs),
  } satisfies BuiltPage;
}

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json",
};

/** Serves the files of one folder on 127.0.0.1 (`port` 0: an ephemeral one), GET only, nothing outside it. */
export function serveFolder(dir: string, port = 0): Promise<{ server: Server; url: string }> {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    const file = join(root, path === sep || path === "/" ? "index.html" : path);
    if (req.method !== "GET" || !file.startsWith(root + sep)) return void res.writeHead(403).end();
    try {
      const body = readFileSync(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolveServer, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      resolveServer({
        server,
        url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : port}`,
      });
    });
  });
}

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  if (at === -1) return undefined;
  const value = process.argv[at + 1];
  if (value === undefined || value.startsWith("--")) throw new RangeError(`${name} needs a value`);
  return value;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = argument("--out");
  const port = argument("--serve");
  if (port !== undefined && !/^\d{1,5}$/.test(port)) throw new RangeError(`--serve takes a port number, got ${port}`);
  const built = await buildLightPage(out === undefined ? DEFAULT_OUT : resolve(out));
  console.log(
    `${built.dir}: index.html, page.js (${(built.scriptBytes / 1024).toFixed(0)} KiB, ${built.inputs.length} modules)`,
  );
  if (port === undefined) {
    console.log("open index.html?service=<the service node's /ws multiaddr>&channel=<id> over HTTP (--serve PORT)");
  } else {
    const { url } = await serveFolder(built.dir, Number(port));
    console.log(`serving on ${url}/index.html?service=<the service node's /ws multiaddr>&channel=<id> (Ctrl-C stops)`);
  }
}
