import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkSource, MAX_FILE_LINES, MAX_FUNCTION_LINES } from "../../scripts/check-size.js";

const body = (lines: number): string => Array.from({ length: lines }, (_, i) => `  const x${i} = ${i};`).join("\n");

describe("check-size", () => {
  it("flags a function longer than the limit, by name and line", () => {
    const text = `// header\nexport function big(): void {\n${body(MAX_FUNCTION_LINES)}\n}\n`;
    const found = checkSource("src/x.ts", text);
    assert.equal(found.length, 1);
    assert.equal(found[0]!.line, 2);
    assert.match(found[0]!.what, /function big is \d+ lines, limit 80/);
  });

  it("accepts a long function whose comment says why", () => {
    const text = `/** Long because one table reads best in one place. */\nexport function big(): void {\n${body(MAX_FUNCTION_LINES)}\n}\n`;
    assert.deepEqual(checkSource("src/x.ts", text), []);
  });

  it("flags long methods and arrow functions too", () => {
    const text = `class A {\n  m(): void {\n${body(MAX_FUNCTION_LINES)}\n  }\n}\nconst f = () => {\n${body(MAX_FUNCTION_LINES)}\n};\n`;
    assert.deepEqual(
      checkSource("src/x.ts", text).map((v) => v.what.split(" ")[1]),
      ["m", "(anonymous)"],
    );
  });

  it("flags a file over the line limit", () => {
    const text = `${Array.from({ length: MAX_FILE_LINES + 1 }, (_, i) => `export const v${i} = ${i};`).join("\n")}\n`;
    const found = checkSource("src/x.ts", text);
    assert.deepEqual(found, [
      { file: "src/x.ts", line: 1, what: `${MAX_FILE_LINES + 1} lines, limit ${MAX_FILE_LINES}` },
    ]);
  });
});
