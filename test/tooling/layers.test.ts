import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { checkFile, checkTree } from "../../scripts/check-layers.js";

function rules(file: string, text: string): string[] {
  return checkFile(file, text).map((v) => `${v.line}: ${v.rule}`);
}

describe("check-layers: src/core purity", () => {
  test("a clean core file passes", () => {
    const text = [
      'import { sha256 } from "@noble/hashes/sha2.js";',
      'import { ed25519 } from "@noble/curves/ed25519.js";',
      'import { create } from "@bufbuild/protobuf";',
      'import type { WireMessage } from "../wire/index.js";',
      'import { MessageLog } from "./log.js";',
      'export { kindOf } from "../wire/codec.js";',
      "// Date.now and Math.random are banned here; this comment does not count.",
      'const s = "setTimeout in a string is not a call";',
      "interface Scheduler { setTimeout(ms: number): void }",
      "export function step(now: number, random: () => number) { return now + random(); }",
    ].join("\n");
    assert.deepEqual(rules("src/core/engine.ts", text), []);
  });

  test("imports outside src/core and src/wire are reported with their line", () => {
    const text = ['import { a } from "./a.js";', 'import { Store } from "../storage/store.js";'].join("\n");
    const [v, ...rest] = checkFile("src/core/engine.ts", text);
    assert.equal(rest.length, 0);
    assert.equal(v?.file, "src/core/engine.ts");
    assert.equal(v?.line, 2);
    assert.match(v?.rule ?? "", /src\/core must not import src\/storage/);
  });

  test("relative paths are resolved before the layer is decided", () => {
    assert.deepEqual(rules("src/core/sub/x.ts", 'import "../../wire/codec.js";'), []);
    assert.match(rules("src/core/x.ts", 'import "../../scripts/x.js";')[0] ?? "", /outside its allowed layers/);
    assert.match(rules("src/core/x.ts", 'import "./../node/runtime.js";')[0] ?? "", /must not import src\/node/);
  });

  test("packages outside the allowlist and Node builtins are reported", () => {
    const text = [
      'import { readFileSync } from "node:fs";',
      'import { randomBytes } from "crypto";',
      'import { readFile } from "fs/promises";',
      'import pino from "pino";',
      'const m = await import("@noble/hashes-fake");',
      "const dyn = await import(name);",
    ].join("\n");
    const found = rules("src/core/x.ts", text);
    assert.equal(found.length, 6, found.join("\n"));
    assert.match(found[0] ?? "", /^1: .*Node builtin "node:fs"/);
    assert.match(found[1] ?? "", /^2: .*Node builtin "crypto"/);
    assert.match(found[2] ?? "", /^3: .*Node builtin "fs\/promises"/);
    assert.match(found[3] ?? "", /^4: .*"pino"; allowed packages: @noble\/hashes/);
    assert.match(found[4] ?? "", /^5: .*"@noble\/hashes-fake"/);
    assert.match(found[5] ?? "", /^6: .*computed module specifier/);
  });

  test("clock, randomness, timers and process are reported", () => {
    const text = [
      "const a = Date.now();",
      "const b = new Date();",
      "const c = Math.random();",
      "setTimeout(() => {}, 1);",
      "const d = setInterval;",
      "globalThis.setImmediate(() => {});",
      "const e = performance.now();",
      "const f = process.env.X;",
      "const g = globalThis.Date.now();",
      "crypto.getRandomValues(new Uint8Array(8));",
    ].join("\n");
    const found = rules("src/core/x.ts", text);
    const expected = [
      "1:Date.now",
      "2:new Date(",
      "3:Math.random",
      "4:setTimeout",
      "5:setInterval",
      "6:setImmediate",
      "7:performance.now",
      "8:process.env",
      "9:Date.now",
      "10:crypto.getRandomValues",
    ];
    assert.deepEqual(
      found.map((f) => `${f.split(":")[0]}:${/must not use (.+?); time/.exec(f)?.[1]}`),
      expected,
      found.join("\n"),
    );
  });
});

describe("check-layers: layer arrows", () => {
  test("src/wire imports nothing from other src folders and stays pure", () => {
    assert.deepEqual(rules("src/wire/codec.ts", 'import "./gen/chorus/v1/message_pb.js";'), []);
    assert.match(
      rules("src/wire/codec.ts", 'import "../core/ids.js";')[0] ?? "",
      /src\/wire must not import src\/core/,
    );
    assert.match(rules("src/wire/codec.ts", "Math.random();")[0] ?? "", /must not use Math\.random/);
  });

  test("storage and transport may import core and wire only", () => {
    for (const layer of ["storage", "transport"]) {
      const ok =
        'import "../core/x.js"; import "../wire/x.js"; import "node:fs"; import Database from "better-sqlite3";';
      assert.deepEqual(rules(`src/${layer}/x.ts`, ok), []);
      assert.equal(rules(`src/${layer}/x.ts`, 'import "../node/x.js";').length, 1);
    }
    assert.equal(rules("src/storage/x.ts", 'import "../transport/x.js";').length, 1);
  });

  test("node, api, sim and cli follow their arrows", () => {
    assert.deepEqual(rules("src/node/x.ts", 'import "../storage/x.js"; import "../transport/x.js";'), []);
    assert.equal(rules("src/node/x.ts", 'import "../api/x.js";').length, 1);
    assert.deepEqual(rules("src/api/x.ts", 'import "../node/x.js"; import "../core/x.js";'), []);
    assert.equal(rules("src/api/x.ts", 'import "../sim/x.js";').length, 1);
    assert.deepEqual(rules("src/sim/x.ts", 'import "../core/x.js"; import "../transport/x.js";'), []);
    assert.equal(rules("src/sim/x.ts", 'import "../storage/x.js";').length, 1);
    assert.deepEqual(rules("src/cli/x.ts", 'import "../api/x.js"; import "../sim/x.js"; Date.now();'), []);
  });

  test("only pure layers are held to the clock rules", () => {
    assert.deepEqual(rules("src/node/x.ts", "setTimeout(() => {}, Date.now());"), []);
  });

  test("an unknown src folder is reported so the rules stay complete", () => {
    assert.match(rules("src/util/x.ts", "")[0] ?? "", /src\/util is not a known layer/);
  });
});

describe("check-layers: checkTree", () => {
  test("walks src/ and reports repo-relative paths", () => {
    const root = mkdtempSync(join(tmpdir(), "chorus-layers-"));
    try {
      mkdirSync(join(root, "src/core/sub"), { recursive: true });
      mkdirSync(join(root, "src/wire"), { recursive: true });
      writeFileSync(join(root, "src/core/sub/clock.ts"), "export const t = 1;\nexport const now = Date.now();\n");
      writeFileSync(join(root, "src/core/types.d.ts"), "declare const x: typeof process.env;\n");
      writeFileSync(join(root, "src/wire/codec.ts"), 'import { create } from "@bufbuild/protobuf";\n');
      writeFileSync(join(root, "src/index.ts"), 'import "node:fs";\n');
      assert.deepEqual(checkTree(root), [
        {
          file: "src/core/sub/clock.ts",
          line: 2,
          rule: "src/core must not use Date.now; time, randomness and timers come in through arguments",
        },
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
