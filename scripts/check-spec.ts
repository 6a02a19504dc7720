// Checks that spec/chorus.md keeps up with the code it specifies:
//   - every field of proto/chorus/v1/message.proto (name, number, type) and every enum value has a row in the
//     spec's field table for its message, and the tables list nothing the .proto lacks;
//   - every file in spec/vectors/ is written by scripts/make-vectors.ts, named in the spec, non-empty, and
//     consumed by some test (a test consumes a file when its source names it as a string literal, "x.json");
//   - every engine parameter has a row in the spec's parameter table with the engine's default and the
//     range `resolveParams` accepts, and the table lists nothing else;
//   - the owner column of the Communities profile's parameter table matches the reference's OWNER_PARAMS.
//
//   npx tsx scripts/check-spec.ts      prints the problems, exit 1 if any
//
// test/spec/coverage.test.ts runs these checks on the real files and on doctored copies, so that each check
// is shown to fail when it should.
//
// Conventions the spec follows (section 5 and 16 say so too):
//   - a field table sits under a heading that names its protobuf message or enum in backticks, e.g.
//     "#### 5.2.1 `Message`", and has one row per field: | 1 | `sender_id` | string | ... |, where the type is
//     the .proto's label and type ("optional uint64", "repeated HistoryEntry"); an enum row is
//     | 1 | `KIND_CONTENT` | ... |;
//   - the parameter table's header row starts with "| Parameter | Meaning | Default | Allowed range |"; a row is
//     | `name` | meaning | default | range | cost and benefit |; numbers may have thousands separators; a range
//     is "min … max" with ", integer" for integers, "true or false" for booleans, and anything in
//     parentheses is a comment.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface ProtoField {
  readonly name: string;
  readonly number: number;
  /** Label and type as written: "string", "optional uint64", "repeated HistoryEntry". */
  readonly type: string;
}

export interface ProtoMessage {
  readonly name: string;
  readonly kind: "message" | "enum";
  readonly fields: readonly ProtoField[];
}

/** Messages and enums of a .proto file (top level only, which is all message.proto has). */
export function parseProto(text: string): ProtoMessage[] {
  const clean = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/[^\n]*/g, "");
  const out: ProtoMessage[] = [];
  const block = /\b(message|enum)\s+(\w+)\s*\{([^{}]*)\}/g;
  for (let m = block.exec(clean); m !== null; m = block.exec(clean)) {
    const [, kind, name, body] = m as unknown as [string, "message" | "enum", string, string];
    const fields: ProtoField[] = [];
    if (kind === "message") {
      const field = /(?:^|;)\s*((?:optional|repeated)\s+)?([\w.]+)\s+(\w+)\s*=\s*(\d+)\s*(?:\[[^\]]*\])?\s*(?=;)/g;
      for (let f = field.exec(body); f !== null; f = field.exec(body)) {
        const label = (f[1] ?? "").trim();
        if (f[2] === "reserved" || f[2] === "option") continue;
        fields.push({ name: f[3]!, number: Number(f[4]), type: label ? `${label} ${f[2]}` : f[2]! });
      }
    } else {
      const value = /(\w+)\s*=\s*(-?\d+)\s*;/g;
      for (let f = value.exec(body); f !== null; f = value.exec(body)) {
        if (f[1] === "option") continue;
        fields.push({ name: f[1]!, number: Number(f[2]), type: "enum value" });
      }
    }
    out.push({ name, kind, fields });
  }
  return out;
}

interface SpecRow {
  readonly table: string;
  readonly number: number;
  readonly name: string;
  readonly type: string;
  readonly line: number;
}

/** Field-table rows of the spec, each attributed to the message named by the nearest heading above it. */
export function specFieldRows(markdown: string, names: ReadonlySet<string>): SpecRow[] {
  const rows: SpecRow[] = [];
  let current: string | undefined;
  markdown.split("\n").forEach((line, i) => {
    if (/^#{1,6}\s/.test(line)) {
      const named = [...line.matchAll(/`([A-Za-z_]\w*)`/g)].map((m) => m[1]!).find((n) => names.has(n));
      current = named;
      return;
    }
    if (current === undefined) return;
    const row = /^\|\s*(\d+)\s*\|\s*`(\w+)`\s*\|([^|]*)\|/.exec(line);
    if (row === null) return;
    rows.push({ table: current, number: Number(row[1]), name: row[2]!, type: row[3]!.trim(), line: i + 1 });
  });
  return rows;
}

/** Problems with the spec's field tables against the .proto; empty when every field is described. */
export function checkProtoFields(protoText: string, markdown: string): string[] {
  const proto = parseProto(protoText);
  const problems: string[] = [];
  if (proto.length === 0) problems.push("the .proto has no message: the parser found nothing");
  const rows = specFieldRows(markdown, new Set(proto.map((m) => m.name)));
  for (const message of proto) {
    const mine = rows.filter((r) => r.table === message.name);
    if (mine.length === 0) {
      problems.push(`${message.kind} ${message.name}: no field table under a heading naming \`${message.name}\``);
      continue;
    }
    for (const field of message.fields) {
      const row = mine.find((r) => r.name === field.name);
      if (row === undefined) {
        problems.push(`${message.name}.${field.name} = ${field.number}: not described in the spec`);
        continue;
      }
      if (row.number !== field.number) {
        problems.push(
          `${message.name}.${field.name}: spec line ${row.line} says ${row.number}, the .proto ${field.number}`,
        );
      }
      if (message.kind === "message" && row.type !== field.type) {
        problems.push(
          `${message.name}.${field.name}: spec line ${row.line} gives type "${row.type}", the .proto "${field.type}"`,
        );
      }
    }
    for (const row of mine) {
      if (!message.fields.some((f) => f.name === row.name)) {
        problems.push(`${message.name}.${row.name}: spec line ${row.line} describes a field the .proto does not have`);
      }
    }
  }
  return problems;
}

/** Problems with spec/vectors: files no test consumes, files nobody generates, files the spec does not name. */
export function checkVectorFiles(
  vectors: readonly { name: string; text: string }[],
  tests: readonly { path: string; text: string }[],
  markdown: string,
  makeVectors: string,
): string[] {
  const problems: string[] = [];
  if (vectors.length === 0) problems.push("spec/vectors is empty");
  for (const v of vectors) {
    const literal = new RegExp(`["'\`]${v.name.replace(/[.]/g, "\\.")}["'\`]`);
    const users = tests.filter((t) => literal.test(t.text)).map((t) => t.path);
    if (users.length === 0) problems.push(`spec/vectors/${v.name}: no test names "${v.name}" (no test consumes it)`);
    if (!literal.test(makeVectors)) problems.push(`spec/vectors/${v.name}: scripts/make-vectors.ts does not write it`);
    if (!markdown.includes(v.name)) problems.push(`spec/vectors/${v.name}: the spec does not mention it`);
    try {
      const data = JSON.parse(v.text) as { vectors?: unknown };
      if (!Array.isArray(data.vectors) || data.vectors.length === 0) {
        problems.push(`spec/vectors/${v.name}: has no "vectors" array with at least one case`);
      }
    } catch (err) {
      problems.push(`spec/vectors/${v.name}: not JSON (${(err as Error).message})`);
    }
  }
  return problems;
}

export interface ParamRow {
  readonly name: string;
  readonly defaultText: string;
  readonly rangeText: string;
  readonly line: number;
}

/** Rows of the table whose header starts "| Parameter | Meaning | Default | Allowed range |". */
export function specParamRows(markdown: string): ParamRow[] {
  const lines = markdown.split("\n");
  const header = lines.findIndex((l) =>
    /^\|\s*Parameter\s*\|\s*Meaning\s*\|\s*Default\s*\|\s*Allowed range\s*\|/.test(l),
  );
  if (header < 0) return [];
  const rows: ParamRow[] = [];
  for (let i = header + 2; i < lines.length && lines[i]!.startsWith("|"); i++) {
    const cells = lines[i]!.split("|").map((c) => c.trim());
    const name = /^`(\w+)`$/.exec(cells[1] ?? "")?.[1];
    if (name === undefined) continue;
    rows.push({ name, defaultText: cells[3] ?? "", rangeText: cells[4] ?? "", line: i + 1 });
  }
  return rows;
}

/** A number as the spec writes it: "120,000", "0.7", "2^53 − 1". */
export function parseSpecNumber(text: string): number | undefined {
  const t = text
    .replace(/\([^)]*\)/g, "")
    .replace(/,/g, "")
    .replace(/[−–]/g, "-")
    .replace(/\s+/g, "");
  if (t === "2^53-1") return Number.MAX_SAFE_INTEGER;
  if (!/^-?\d+(\.\d+)?$/.test(t)) return undefined;
  return Number(t);
}

function parseSpecValue(text: string): number | boolean | undefined {
  const t = text.replace(/`/g, "").trim();
  if (t === "true") return true;
  if (t === "false") return false;
  return parseSpecNumber(t);
}

/**
 * Problems with the parameter table against the engine's defaults and the ranges `resolve` accepts
 * (it must throw for a value outside the range or a fraction where an integer is required).
 */
export function checkParamTable(
  markdown: string,
  defaults: Readonly<Record<string, number | boolean>>,
  resolve: (overrides: Record<string, number | boolean>) => unknown,
): string[] {
  const rows = specParamRows(markdown);
  const problems: string[] = [];
  if (rows.length === 0)
    problems.push('no parameter table (header "| Parameter | Meaning | Default | Allowed range |")');
  const accepts = (name: string, value: number): boolean => {
    try {
      resolve({ [name]: value });
      return true;
    } catch {
      return false;
    }
  };
  for (const [name, value] of Object.entries(defaults)) {
    const row = rows.find((r) => r.name === name);
    if (row === undefined) {
      problems.push(`parameter ${name} (default ${value}) is missing from the spec's parameter table`);
      continue;
    }
    const stated = parseSpecValue(row.defaultText);
    if (stated !== value) {
      problems.push(`parameter ${name}: spec line ${row.line} gives default "${row.defaultText}", the engine ${value}`);
    }
    if (typeof value === "boolean") {
      if (!/true or false/.test(row.rangeText)) problems.push(`parameter ${name}: range must read "true or false"`);
      continue;
    }
    const range = row.rangeText.replace(/\([^)]*\)/g, "");
    const [lowText, highText] = range.split("…");
    const low = parseSpecNumber(lowText ?? "");
    const high = parseSpecNumber((highText ?? "").replace(/,\s*integer.*$/, ""));
    const integer = /integer/.test(range);
    if (low === undefined || high === undefined) {
      problems.push(`parameter ${name}: spec line ${row.line} has an unreadable range "${row.rangeText}"`);
      continue;
    }
    const wrong = (what: string) =>
      problems.push(`parameter ${name}: spec line ${row.line} range "${row.rangeText}" is wrong: ${what}`);
    if (!accepts(name, low)) wrong(`the engine refuses ${low}`);
    if (!accepts(name, high)) wrong(`the engine refuses ${high}`);
    const below = integer ? low - 1 : low - Math.max(1e-9, Math.abs(low) * 1e-9);
    const above = integer ? high + 1 : high + Math.max(1e-9, Math.abs(high) * 1e-9);
    if (accepts(name, below)) wrong(`the engine accepts ${below}`);
    if (high < Number.MAX_SAFE_INTEGER && accepts(name, above)) wrong(`the engine accepts ${above}`);
    if (low + 0.5 <= high && accepts(name, low + 0.5) === integer) {
      wrong(
        integer ? `the engine accepts ${low + 0.5}: not integer-only` : `the engine refuses ${low + 0.5}: integer-only`,
      );
    }
    if (value < low || value > high) wrong(`the default ${value} lies outside it`);
  }
  for (const row of rows) {
    if (!(row.name in defaults))
      problems.push(`parameter ${row.name}: spec line ${row.line} lists a parameter the engine lacks`);
  }
  return problems;
}

/**
 * Problems with the owner column of the profile's table (header "| Parameter | Member | Owner node |") against
 * the reference owner parameters: every owner override has a row with the same value, and every number in
 * the column is an owner override ("same" or "–" means the member value).
 */
export function checkOwnerParams(markdown: string, owner: Readonly<Record<string, number | boolean>>): string[] {
  const lines = markdown.split("\n");
  const header = lines.findIndex((l) => /^\|\s*Parameter\s*\|\s*Member\s*\|\s*Owner node\s*\|/.test(l));
  if (header < 0) return ['no owner parameter table (header "| Parameter | Member | Owner node |")'];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (let i = header + 2; i < lines.length && lines[i]!.startsWith("|"); i++) {
    const cells = lines[i]!.split("|").map((c) => c.trim());
    const name = /^`(\w+)`$/.exec(cells[1] ?? "")?.[1];
    if (name === undefined) continue;
    const text = cells[3] ?? "";
    seen.set(name, text);
    if (text === "same" || text === "–" || text === "-") {
      if (name in owner)
        problems.push(`owner parameter ${name}: spec line ${i + 1} says "${text}", the reference ${owner[name]}`);
      continue;
    }
    const value = parseSpecValue(text);
    if (!(name in owner))
      problems.push(`owner parameter ${name}: spec line ${i + 1} gives ${text}, the reference does not override it`);
    else if (value !== owner[name])
      problems.push(`owner parameter ${name}: spec line ${i + 1} gives ${text}, the reference ${owner[name]}`);
  }
  for (const [name, value] of Object.entries(owner)) {
    if (!seen.has(name)) problems.push(`owner parameter ${name} (${value}) is missing from the profile's table`);
  }
  return problems;
}

// ------------------------------------------------------------------------------------ files

export const ROOT = resolve(fileURLToPath(import.meta.url), "../..");

export function readSpecInputs(root = ROOT): {
  proto: string;
  spec: string;
  makeVectors: string;
  vectors: { name: string; text: string }[];
  tests: { path: string; text: string }[];
} {
  const read = (p: string) => readFileSync(join(root, p), "utf8");
  const vectorDir = join(root, "spec/vectors");
  const vectors = readdirSync(vectorDir)
    .filter((f) => !f.startsWith("."))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(vectorDir, name), "utf8") }));
  const tests = readdirSync(join(root, "test"), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".ts"))
    // The coverage test names every vector file in its own doctored inputs: it does not consume them.
    .filter((f) => !f.endsWith("coverage.test.ts"))
    .map((f) => ({ path: relative(root, join(root, "test", f)), text: readFileSync(join(root, "test", f), "utf8") }));
  return {
    proto: ["message", "owner"].map((f) => read(`proto/chorus/v1/${f}.proto`)).join("\n"),
    spec: read("spec/chorus.md"),
    makeVectors: read("scripts/make-vectors.ts"),
    vectors,
    tests,
  };
}

async function main(): Promise<number> {
  const { DEFAULT_PARAMS, OWNER_PARAMS, resolveParams } = await import("../src/core/index.js");
  const inputs = readSpecInputs();
  const problems = [
    ...checkProtoFields(inputs.proto, inputs.spec),
    ...checkVectorFiles(inputs.vectors, inputs.tests, inputs.spec, inputs.makeVectors),
    ...checkParamTable(inputs.spec, DEFAULT_PARAMS as unknown as Record<string, number | boolean>, resolveParams),
    ...checkOwnerParams(inputs.spec, OWNER_PARAMS as Record<string, number | boolean>),
  ];
  for (const p of problems) console.error(`check-spec: ${p}`);
  if (problems.length === 0) console.log("check-spec: ok");
  return problems.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then((code) => process.exit(code));
}
