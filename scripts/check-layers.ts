// Enforces the layer arrows of DESIGN.md ("Layout") and the purity of the protocol core:
// src/core and src/wire run unchanged in the simulator and in a browser, so they take time,
// randomness and I/O only through arguments. Each layer keeps to its floor: only the node runtime
// and the simulator reach into a channel's engine, the API reads the node (never the wire format or
// the engine), the engine's parts (src/core/<dir>/) never import the engine that uses them, and only
// src/cli parses the command line.
//
//   npm run check:layers      exits 1 and prints file:line: rule for every violation

import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, posix, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

export interface Violation {
  readonly file: string;
  readonly line: number;
  readonly rule: string;
}

interface LayerRule {
  /** Other src folders this layer may import. Its own folder is always allowed. */
  readonly imports: readonly string[] | "any";
  /** Pure layers: only allowlisted packages, no Node builtins, no clock, randomness or timers. */
  readonly pure: boolean;
  /** Package entries directly in src this layer may import, without extension (`src/browser`). */
  readonly entries?: readonly string[];
  /** Code built for a browser: no Node builtins (clocks and timers are the page's own). */
  readonly browser?: boolean;
}

export const LAYERS: Readonly<Record<string, LayerRule>> = {
  core: { imports: ["wire"], pure: true },
  // core imports wire, so wire must be as pure as core.
  wire: { imports: [], pure: true },
  // Node implementations of what the core takes as arguments (ed25519 through OpenSSL), for real and simulated members.
  platform: { imports: ["core", "wire"], pure: false },
  storage: { imports: ["core", "wire"], pure: false },
  transport: { imports: ["core", "wire"], pure: false },
  node: { imports: ["core", "wire", "platform", "storage", "transport"], pure: false },
  // The API reads the node runtime. It may name the core's types (MessageRef, SenderId: the vocabulary the
  // node's events and views are written in), never the engine itself (ENGINE below) nor the wire format.
  api: { imports: ["node", "core"], pure: false },
  sim: { imports: ["core", "wire", "platform", "transport"], pure: false },
  cli: { imports: "any", pure: false },
  // Pages built for a browser (npm run build:browser): apps on the browser entry, which holds no Node module.
  web: { imports: [], pure: false, entries: ["src/browser"], browser: true },
};

/** Packages a pure layer may import, with any subpath (`@noble/hashes/sha2.js`). */
export const PURE_PACKAGES: readonly string[] = ["@noble/hashes", "@noble/curves", "@bufbuild/protobuf"];

// Global objects and functions that read the clock, draw randomness, schedule work or touch the process.
const FORBIDDEN_MEMBERS: Readonly<Record<string, readonly string[] | "any">> = {
  Date: ["now"],
  Math: ["random"],
  performance: ["now"],
  crypto: ["getRandomValues", "randomUUID"],
  process: "any",
};
const FORBIDDEN_CALLS = new Set(["setTimeout", "setInterval", "setImmediate"]);

/** Layers that may reach into a channel's engine (`runtime.engine.status(...)`): the runtime and the simulator. */
export const ENGINE_USERS: readonly string[] = ["node", "sim"];

/** The engine module (or, once split, its folder), as a repo-relative path without extension. */
const ENGINE = "src/core/engine";
/** The core's public surface re-exports the engine: for the engine's parts it is the engine too. */
const CORE_INDEX = "src/core/index";

/** The command line's packages (argument parsing, terminal progress bars): only src/cli imports them. */
export const CLI_PACKAGES: readonly string[] = ["commander", "cli-progress", "yargs", "minimist"];

const builtins = new Set(builtinModules);

function isBuiltin(specifier: string): boolean {
  return specifier.startsWith("node:") || builtins.has(specifier) || builtins.has(specifier.split("/")[0] ?? "");
}

function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
}

/** The src folder (layer) of a repo-relative posix path, "" for a file directly in src, undefined outside src. */
function layerOf(path: string): string | undefined {
  const parts = path.split("/");
  if (parts[0] !== "src") return undefined;
  return parts.length === 2 ? "" : parts[1];
}

interface Specifier {
  readonly text: string | undefined;
  readonly node: ts.Node;
}

// `globalThis.setTimeout` and `window.Math.random` are the same globals by another path.
const GLOBAL_OBJECTS = new Set(["globalThis", "window", "self", "global"]);

/** The global a reference names: `Date` for `Date` and `globalThis.Date`, undefined otherwise. */
function globalName(expr: ts.Expression): string | undefined {
  if (ts.isIdentifier(expr)) return expr.text;
  if (ts.isPropertyAccessExpression(expr) && ts.isIdentifier(expr.expression)) {
    if (GLOBAL_OBJECTS.has(expr.expression.text)) return expr.name.text;
  }
  return undefined;
}

/** True when an identifier is a value reference, not a declared name or a member name. */
function isReference(node: ts.Identifier): boolean {
  const parent = node.parent as ts.Node & { name?: ts.Node };
  return parent.name !== node || ts.isShorthandPropertyAssignment(parent);
}

/** `x.engine.member`, `x.engine?.member`, `x.engine[...]` (and `x["engine"]...`): the member's name, or "[]". */
function engineMember(node: ts.Node): string | undefined {
  const named =
    (ts.isPropertyAccessExpression(node) && node.name.text === "engine") ||
    (ts.isElementAccessExpression(node) &&
      ts.isStringLiteralLike(node.argumentExpression) &&
      node.argumentExpression.text === "engine");
  if (!named) return undefined;
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.expression === node) return parent.name.text;
  if (ts.isElementAccessExpression(parent) && parent.expression === node) return "[]";
  return undefined;
}

interface Collected {
  readonly specifiers: Specifier[];
  readonly globals: { name: string; node: ts.Node }[];
  readonly engineAccesses: { member: string; node: ts.Node }[];
}

function collect(source: ts.SourceFile): Collected {
  const specifiers: Specifier[] = [];
  const globals: { name: string; node: ts.Node }[] = [];
  const engineAccesses: { member: string; node: ts.Node }[] = [];
  const visit = (node: ts.Node): void => {
    const member = engineMember(node);
    if (member !== undefined) engineAccesses.push({ member, node });
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      specifiers.push({ text: (node.moduleSpecifier as ts.StringLiteral).text, node });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expr = node.moduleReference.expression;
      specifiers.push({ text: ts.isStringLiteral(expr) ? expr.text : undefined, node });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const lit = node.argument.literal;
      specifiers.push({ text: ts.isStringLiteral(lit) ? lit.text : undefined, node });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      specifiers.push({ text: arg && ts.isStringLiteralLike(arg) ? arg.text : undefined, node });
    } else if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "require") {
      const arg = node.arguments[0];
      specifiers.push({ text: arg && ts.isStringLiteralLike(arg) ? arg.text : undefined, node });
    } else if (ts.isPropertyAccessExpression(node)) {
      const owner = globalName(node.expression);
      const member = node.name.text;
      const rule = owner === undefined ? undefined : FORBIDDEN_MEMBERS[owner];
      if (rule === "any" || rule?.includes(member)) globals.push({ name: `${owner}.${member}`, node });
      else if (ts.isIdentifier(node.expression) && GLOBAL_OBJECTS.has(node.expression.text)) {
        if (FORBIDDEN_CALLS.has(member)) globals.push({ name: member, node });
      }
    } else if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && globalName(node.expression) === "Date") {
      globals.push({ name: ts.isNewExpression(node) ? "new Date(" : "Date()", node });
    } else if (ts.isIdentifier(node) && FORBIDDEN_CALLS.has(node.text) && isReference(node)) {
      globals.push({ name: node.text, node });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { specifiers, globals, engineAccesses };
}

/** The module an import resolves to, without extension: "src/core/engine" for "../core/engine.js". */
function moduleOf(target: string): string {
  return target.replace(/\.(ts|tsx|mts|cts|js|mjs|cjs)$/, "");
}

function isEngine(module: string): boolean {
  return module === ENGINE || module.startsWith(`${ENGINE}/`);
}

/** The names an import or export declaration binds (`ChannelEngine` in `import { ChannelEngine as E }`). */
function importedNames(node: ts.Node): string[] {
  const bindings =
    ts.isImportDeclaration(node) && node.importClause?.namedBindings !== undefined
      ? node.importClause.namedBindings
      : ts.isExportDeclaration(node)
        ? node.exportClause
        : undefined;
  if (bindings === undefined || ts.isNamespaceImport(bindings) || ts.isNamespaceExport(bindings)) return [];
  return bindings.elements.map((e) => (e.propertyName ?? e.name).text);
}

/** The floor rules of one relative import that resolves to `target` (posix, repo-relative). */
function floorRules(file: string, layer: string, target: string, node: ts.Node): string[] {
  const module = moduleOf(target);
  const found: string[] = [];
  if (layer === "api") {
    if (isEngine(module) || (layerOf(target) === "core" && importedNames(node).includes("ChannelEngine"))) {
      found.push(
        `src/api must not import the engine (${ENGINE}.ts); the node runtime (src/node) gives what the API needs`,
      );
    }
  }
  // A part of the engine lives in a folder of src/core (src/core/repair/, src/core/acks/, ...).
  const dir = posix.dirname(file);
  if (layer === "core" && dir !== "src/core" && !isEngine(dir)) {
    if (isEngine(module) || module === CORE_INDEX) {
      const what =
        module === CORE_INDEX ? `${target}, which re-exports the engine` : module === ENGINE ? `${ENGINE}.ts` : target;
      found.push(
        `${file} is a part of the engine and must not import ${what}; the engine uses its parts, not the reverse`,
      );
    }
  }
  return found;
}

/**
 * Checks one source file against the rules of its layer. `file` is the repo-relative posix path
 * (`src/core/engine.ts`); relative imports are resolved against it.
 */
export function checkFile(file: string, text: string): Violation[] {
  const layer = layerOf(file);
  if (layer === undefined || layer === "") return [];
  const rule = LAYERS[layer];
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const lineOf = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  if (rule === undefined) {
    return [
      {
        file,
        line: 1,
        rule: `src/${layer} is not a known layer; add it to LAYERS in scripts/check-layers.ts (see DESIGN.md, "Layout")`,
      },
    ];
  }
  const violations: Violation[] = [];
  const report = (node: ts.Node, message: string) => violations.push({ file, line: lineOf(node), rule: message });
  const { specifiers, globals, engineAccesses } = collect(source);

  for (const { text: spec, node } of specifiers) {
    if (spec === undefined) {
      if (rule.pure) report(node, `src/${layer} must not import a computed module specifier`);
      continue;
    }
    if (spec.startsWith(".") || spec.startsWith("/")) {
      const target = posix.normalize(posix.join(posix.dirname(file), spec));
      for (const message of floorRules(file, layer, target, node)) report(node, message);
      const targetLayer = layerOf(target);
      if (rule.imports === "any" || targetLayer === layer) continue;
      if (targetLayer === "" && rule.entries?.includes(moduleOf(target))) continue;
      if (targetLayer === undefined || targetLayer === "") {
        report(node, `src/${layer} must not import "${spec}" (${target}), which is outside its allowed layers`);
      } else if (!rule.imports.includes(targetLayer)) {
        const allowed = [layer, ...rule.imports].map((l) => `src/${l}`).join(", ");
        report(node, `src/${layer} must not import src/${targetLayer} ("${spec}"); it may import only ${allowed}`);
      }
    } else if (!rule.pure) {
      if (rule.browser === true && isBuiltin(spec)) {
        report(node, `src/${layer} runs in a browser: it must not import the Node builtin "${spec}"`);
      }
      if (layer !== "cli" && CLI_PACKAGES.includes(packageName(spec))) {
        report(
          node,
          `src/${layer} must not import "${spec}": only src/cli parses the command line and draws on the terminal`,
        );
      }
    } else {
      if (isBuiltin(spec)) {
        report(node, `src/${layer} must not import the Node builtin "${spec}"; pass I/O in through arguments`);
      } else if (!PURE_PACKAGES.includes(packageName(spec))) {
        report(node, `src/${layer} must not import "${spec}"; allowed packages: ${PURE_PACKAGES.join(", ")}`);
      }
    }
  }
  if (!ENGINE_USERS.includes(layer)) {
    for (const { member, node } of engineAccesses) {
      const access = member === "[]" ? ".engine[...]" : `.engine.${member}`;
      report(
        node,
        `src/${layer} must not reach into the engine (${access}); only src/node and src/sim do, and src/node exposes what others need`,
      );
    }
  }
  if (rule.pure) {
    for (const { name, node } of globals) {
      report(node, `src/${layer} must not use ${name}; time, randomness and timers come in through arguments`);
    }
  }
  return violations;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|tsx|mts|cts|js|mjs|cjs)$/.test(e.name) && !e.name.endsWith(".d.ts"))
    .map((e) => join(e.parentPath, e.name));
}

export function checkTree(root: string): Violation[] {
  return sourceFiles(join(root, "src")).flatMap((path) => {
    const file = relative(root, path).split("\\").join("/");
    return checkFile(file, readFileSync(path, "utf8"));
  });
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(fileURLToPath(import.meta.url), "../..");
  const violations = checkTree(root);
  for (const v of violations) console.error(`${v.file}:${v.line}: ${v.rule}`);
  if (violations.length > 0) {
    console.error(`check-layers: ${violations.length} violation(s)`);
    process.exit(1);
  }
  console.log("check-layers: ok");
}
