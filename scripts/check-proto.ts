// Fails when src/wire/gen is not what `buf generate` makes of proto/: someone edited the schema
// without regenerating, or edited generated code by hand.
//
//   npm run check:proto

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const GEN_DIR = "src/wire/gen";

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split("\\").join("/"))
    .sort();
}

/** Files that differ between two trees, as "path (reason)". */
function diffTrees(expectedDir: string, actualDir: string): string[] {
  const expected = listFiles(expectedDir);
  const actual = new Set(listFiles(actualDir));
  const problems: string[] = [];
  for (const file of expected) {
    if (!actual.has(file)) problems.push(`${file} (missing)`);
    else if (!readFileSync(join(expectedDir, file)).equals(readFileSync(join(actualDir, file)))) {
      problems.push(`${file} (differs)`);
    }
    actual.delete(file);
  }
  for (const file of actual) problems.push(`${file} (not generated from proto/)`);
  return problems;
}

function main(): number {
  const root = resolve(fileURLToPath(import.meta.url), "../..");
  const out = mkdtempSync(join(tmpdir(), "chorus-proto-"));
  try {
    // `-o` prefixes the template's `out` (src/wire/gen), so buf.gen.yaml stays the only template.
    // protoc-gen-es is a local plugin, found on PATH.
    const result = spawnSync(join(root, "node_modules/.bin/buf"), ["generate", "-o", out], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, PATH: `${join(root, "node_modules/.bin")}${delimiter}${process.env.PATH ?? ""}` },
    });
    if (result.error || result.status !== 0) {
      console.error(`check-proto: buf generate failed: ${result.error?.message ?? result.stderr.trim()}`);
      return 1;
    }
    const problems = diffTrees(join(out, GEN_DIR), join(root, GEN_DIR));
    if (problems.length > 0) {
      for (const p of problems) console.error(`  ${GEN_DIR}/${p}`);
      console.error("check-proto: generated code is stale, run npm run generate");
      return 1;
    }
    console.log("check-proto: ok");
    return 0;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

process.exit(main());
