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

  test("web pages import the browser entry and packages, nothing else of src and no Node builtin", () => {
    const ok = 'import { openChannel } from "../../browser.js"; import { createLightNode } from "waku-sdk-036";';
    assert.deepEqual(rules("src/web/light/page.ts", `${ok} setTimeout(() => {}, Date.now());`), []);
    assert.match(
      rules("src/web/light/page.ts", 'import "../../index.js";')[0] ?? "",
      /src\/web must not import "..\/..\/index.js" \(src\/index\.js\), which is outside its allowed layers/,
    );
    assert.equal(rules("src/web/light/page.ts", 'import "../../node/node.js";').length, 1);
    assert.match(
      rules("src/web/light/page.ts", 'import { readFileSync } from "node:fs";')[0] ?? "",
      /src\/web runs in a browser: it must not import the Node builtin "node:fs"/,
    );
  });

  test("only pure layers are held to the clock rules", () => {
    assert.deepEqual(rules("src/node/x.ts", "setTimeout(() => {}, Date.now());"), []);
  });

  test("an unknown src folder is reported so the rules stay complete", () => {
    assert.match(rules("src/util/x.ts", "")[0] ?? "", /src\/util is not a known layer/);
  });
});

describe("check-layers: layers keep to their floor", () => {
  test("only src/node and src/sim reach into a channel's engine", () => {
    const text = [
      "const n = runtime.engine.missingRefs().length;",
      "const m = node.channel(id).engine?.knownMembers();",
      'const p = runtime["engine"].params;',
      "const q = runtime.engine[key];",
    ].join("\n");
    for (const layer of ["api", "cli", "core", "storage"]) {
      const found = rules(`src/${layer}/x.ts`, text);
      assert.deepEqual(
        found.map((f) => `${f.split(":")[0]}:${/reach into the engine \((.+?)\)/.exec(f)?.[1]}`),
        ["1:.engine.missingRefs", "2:.engine.knownMembers", "3:.engine.params", "4:.engine[...]"],
        found.join("\n"),
      );
    }
    for (const layer of ["node", "sim"]) assert.deepEqual(rules(`src/${layer}/x.ts`, text), []);
    // Names that are not a member access of something's engine are not reported.
    const clean = ["const engine = make();", "engine.status(id);", "const o = { engine: 1 };", "x.engineer.y;"];
    assert.deepEqual(rules("src/api/x.ts", clean.join("\n")), []);
  });

  test("src/api reads the node: never the wire format nor the engine, the core's types only", () => {
    assert.match(
      rules("src/api/x.ts", 'import { decodeMessage } from "../wire/index.js";')[0] ?? "",
      /src\/api must not import src\/wire/,
    );
    assert.match(
      rules("src/api/routes/x.ts", 'import type { X } from "../../wire/codec.js";')[0] ?? "",
      /must not import src\/wire/,
    );
    for (const text of [
      'import { ChannelEngine } from "../core/engine.js";',
      'import type { EngineConfig } from "../core/engine.js";',
      'import { ChannelEngine as E } from "../core/index.js";',
      'export { ChannelEngine } from "../core/index.js";',
      'import "../core/engine/repair.js";',
    ]) {
      const found = rules("src/api/x.ts", text);
      assert.equal(found.length, 1, `${text}: ${found.join("; ")}`);
      assert.match(found[0] ?? "", /^1: src\/api must not import the engine \(src\/core\/engine\.ts\)/);
    }
    assert.deepEqual(rules("src/api/x.ts", 'import type { MessageRef, SenderId } from "../core/index.js";'), []);
    assert.equal(rules("src/api/x.ts", 'import "../storage/index.js";').length, 1);
    assert.equal(rules("src/api/x.ts", 'import "../transport/index.js";').length, 1);
  });

  test("the engine's parts, in any folder of src/core, never import the engine", () => {
    const found = [
      ...rules("src/core/repair/scheduler.ts", 'import { ChannelEngine } from "../engine.js";'),
      ...rules("src/core/acks/filter.ts", 'import type { ChannelEngine } from "../engine";'),
      ...rules("src/core/acks/deep/x.ts", 'import "../../engine.ts";'),
      ...rules("src/core/gaps/x.ts", 'import { DEFAULT_PARAMS } from "../index.js";'),
      ...rules("src/core/gaps/y.ts", 'import type { Params } from "../index";'),
    ];
    assert.equal(found.length, 5, found.join("\n"));
    assert.match(
      found[0] ?? "",
      /^1: src\/core\/repair\/scheduler\.ts is a part of the engine and must not import src\/core\/engine\.ts;/,
    );
    assert.match(found[3] ?? "", /must not import src\/core\/index\.js, which re-exports the engine/);
    // Parts may use each other and the core's leaf modules; files directly in src/core may use the engine.
    const parts = [
      'import "./window.js";',
      'import "../acks/filter.js";',
      'import "../types.js";',
      'import "../ids.js";',
    ];
    assert.deepEqual(rules("src/core/repair/x.ts", parts.join("\n")), []);
    assert.deepEqual(rules("src/core/index.ts", 'export { ChannelEngine } from "./engine.js";'), []);
  });

  test("only src/cli parses the command line", () => {
    for (const layer of ["sim", "node", "api", "storage"]) {
      const found = rules(
        `src/${layer}/x.ts`,
        'import { Command } from "commander";\nimport cliProgress from "cli-progress";',
      );
      assert.equal(found.length, 2, found.join("\n"));
      assert.match(found[0] ?? "", new RegExp(`^1: src/${layer} must not import "commander": only src/cli parses`));
    }
    assert.deepEqual(
      rules("src/cli/x.ts", 'import { Command } from "commander"; import cliProgress from "cli-progress";'),
      [],
    );
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
