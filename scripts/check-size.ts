// Keeps every module a room one can live in: no file in src over MAX_FILE_LINES lines, and no function over
// MAX_FUNCTION_LINES lines unless the comment right above it says why ("Long because ...").
//
//   npm run check:size      exits 1 and prints file:line: what is too long

import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

export const MAX_FILE_LINES = 700;
export const MAX_FUNCTION_LINES = 80;
const EXCUSE = /long because/i;

export interface SizeViolation {
  readonly file: string;
  readonly line: number;
  readonly what: string;
}

function isFunctionLike(n: ts.Node): n is ts.FunctionLikeDeclaration {
  return (
    ts.isFunctionDeclaration(n) ||
    ts.isMethodDeclaration(n) ||
    ts.isArrowFunction(n) ||
    ts.isFunctionExpression(n) ||
    ts.isConstructorDeclaration(n) ||
    ts.isGetAccessorDeclaration(n) ||
    ts.isSetAccessorDeclaration(n)
  );
}

function nameOf(n: ts.FunctionLikeDeclaration): string {
  return n.name !== undefined && "text" in n.name
    ? String(n.name.text)
    : ts.isConstructorDeclaration(n)
      ? "constructor"
      : "(anonymous)";
}

/** Size violations in one file's text (`file` is only used in the report). */
export function checkSource(file: string, text: string): SizeViolation[] {
  const out: SizeViolation[] = [];
  const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
  if (lines > MAX_FILE_LINES) out.push({ file, line: 1, what: `${lines} lines, limit ${MAX_FILE_LINES}` });
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const visit = (n: ts.Node): void => {
    if (isFunctionLike(n) && n.body !== undefined) {
      const start = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(n.end).line;
      const length = end - start + 1;
      // The comment that says why sits above the declaration (or above the statement holding an arrow function).
      const holder = ts.isArrowFunction(n) || ts.isFunctionExpression(n) ? n.parent : n;
      const comments = ts.getLeadingCommentRanges(text, holder.getFullStart()) ?? [];
      const excused = comments.some((c) => EXCUSE.test(text.slice(c.pos, c.end)));
      if (length > MAX_FUNCTION_LINES && !excused) {
        out.push({
          file,
          line: start + 1,
          what: `function ${nameOf(n)} is ${length} lines, limit ${MAX_FUNCTION_LINES}`,
        });
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

function main(): void {
  const root = resolve(fileURLToPath(import.meta.url), "../..");
  const src = join(root, "src");
  const files = readdirSync(src, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".ts") && !f.split(/[\\/]/).includes("gen"))
    .sort();
  const violations = files.flatMap((f) => {
    const path = join(src, f);
    return checkSource(relative(root, path), readFileSync(path, "utf8"));
  });
  for (const v of violations) console.error(`${v.file}:${v.line}: ${v.what}`);
  if (violations.length > 0) process.exit(1);
  console.log(`check-size: ok (${files.length} files)`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
