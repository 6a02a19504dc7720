// Replays test/fuzz-corpus/: inputs that `npm run fuzz` (scripts/fuzz.ts) found interesting, one file each
// (first line "# <outcome when found>", then the bytes as hex; failure-*.hex are inputs that once failed).
// Each must still pass every check of the campaign against the same warm engine, and still be refused the
// way it was: by the decoder (a DecodeError), or by the engine.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { checkInput, targetEngine, warmUp } from "./fuzz-support.js";

const CORPUS = resolve(fileURLToPath(import.meta.url), "../../fuzz-corpus");

function read(file: string): { key: string; bytes: Uint8Array } {
  const lines = readFileSync(join(CORPUS, file), "utf8").split("\n");
  const key = (lines[0] ?? "").replace(/^# /, "");
  const hex = lines
    .filter((l) => !l.startsWith("#"))
    .join("")
    .trim();
  assert.match(hex, /^([0-9a-f]{2})*$/, `${file}: hex`);
  return { key, bytes: Uint8Array.from(Buffer.from(hex, "hex")) };
}

test("the fuzz corpus replays: no exception, refusals change nothing, refused as when found", () => {
  const files = readdirSync(CORPUS)
    .filter((f) => f.endsWith(".hex"))
    .sort();
  assert.ok(files.length >= 20, `${files.length} corpus files`);
  const warm = warmUp();
  for (const file of files) {
    const { key, bytes } = read(file);
    const engine = targetEngine(warm, 1);
    let outcome: ReturnType<typeof checkInput>;
    try {
      outcome = checkInput(engine, bytes, warm.now, true);
    } catch (err) {
      assert.fail(`${file}: ${(err as Error).message}`);
    }
    if (key.startsWith("decode:")) assert.ok(outcome.decode.startsWith("decode:"), `${file}: ${outcome.decode}`);
    if (key.startsWith("reject:"))
      assert.ok(outcome.engine?.startsWith("reject:"), `${file}: ${JSON.stringify(outcome)}`);
  }
});
