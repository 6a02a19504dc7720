// Builds the light-node page (src/web/light): a Chorus member in a browser tab on a js-waku light node. The
// page's script and everything it imports (the browser entry src/browser.ts, js-waku 0.0.36 and its libp2p 2)
// become one ES module, page.js, beside index.html. The build targets a browser: a Node module anywhere on the
// import graph fails it.
//
//   npm run build:browser                       writes dist/web/light/
//   npm run build:browser -- --out DIR          writes DIR/
//   then open index.html?service=<a service node's /ws multiaddr> through any static HTTP server
import { copyFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
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

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf("--out");
  const out = at === -1 ? DEFAULT_OUT : resolve(process.argv[at + 1] ?? "");
  if (at !== -1 && process.argv[at + 1] === undefined) throw new RangeError("--out needs a directory");
  const built = await buildLightPage(out);
  console.log(
    `${built.dir}: index.html, page.js (${(built.scriptBytes / 1024).toFixed(0)} KiB, ${built.inputs.length} modules)`,
  );
  console.log("open index.html?service=<the service node's /ws multiaddr>&channel=<id> over HTTP");
}
