// The scenario vectors pin every participant rule of spec sections 7 to 13 and every default parameter of
// section 18 (spec section 21.5): the reference engine with one rule switched off (MUTATIONS, src/core/params.ts),
// or with one other default (test/spec/mutants.ts), must fail at least one scenario of spec/vectors/scenarios.json.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { specParamRows } from "../../scripts/check-spec.js";
import { DEFAULT_PARAMS, resolveParams } from "../../src/core/index.js";
import { MUTATIONS, mutated } from "../../src/core/params.js";
import { EVERY_PARAM, PARAM_MUTANTS } from "./mutants.js";
import { replay, type Scenario, type Variant } from "./replay.js";

const path = join(fileURLToPath(import.meta.url), "../../../spec/vectors/scenarios.json");
const data = JSON.parse(readFileSync(path, "utf8")) as { vectors: Scenario[] };
const spec = readFileSync(join(fileURLToPath(import.meta.url), "../../../spec/chorus.md"), "utf8");

/** The first scenario the variant fails, or undefined when it passes them all (a surviving mutant). */
function killedBy(variant: Variant): string | undefined {
  for (const s of data.vectors) {
    try {
      replay(s, variant);
    } catch (err) {
      if (err instanceof assert.AssertionError) return s.name;
      return `${s.name} (${(err as Error).message})`;
    }
  }
  return undefined;
}

describe("mutation proof: every rule and every default is pinned by a scenario", () => {
  test("the switches are test-only: off unless resolveParams is given them, and checked by name", () => {
    const plain = resolveParams({});
    for (const m of MUTATIONS) assert.equal(mutated(plain, m), false);
    const one = resolveParams({ __mutations: ["resend"] } as never);
    assert.equal(mutated(one, "resend"), true);
    assert.equal(mutated(one, "lacking"), false);
    assert.deepEqual(Object.keys(one), Object.keys(DEFAULT_PARAMS), "no enumerable trace of the switch");
    assert.throws(() => resolveParams({ __mutations: ["no-such-rule"] } as never), /unknown mutation no-such-rule/);
  });

  test("every parameter of the engine and of the table of spec section 18 has a mutant", () => {
    assert.deepEqual(Object.keys(PARAM_MUTANTS).sort(), [...EVERY_PARAM].sort());
    const table = specParamRows(spec).map((row) => row.name);
    assert.ok(table.length >= EVERY_PARAM.length, `the section 18 table parses (${table.length} rows)`);
    const unpinned = table.filter((name) => !(name in PARAM_MUTANTS));
    assert.deepEqual(unpinned, [], "section 18 parameters without a mutant");
    for (const [name, value] of Object.entries(PARAM_MUTANTS)) {
      assert.notEqual(value, DEFAULT_PARAMS[name as keyof typeof DEFAULT_PARAMS], `${name}: the mutant differs`);
      resolveParams({ [name]: value }); // within the allowed range
    }
  });

  test("the reference itself passes every scenario", () => {
    assert.equal(killedBy({}), undefined);
  });

  for (const m of MUTATIONS) {
    test(`rule off: ${m}`, () => {
      assert.ok(killedBy({ mutations: [m] }) !== undefined, `no scenario fails without the rule "${m}"`);
    });
  }

  for (const [name, value] of Object.entries(PARAM_MUTANTS)) {
    test(`default ${name} = ${value}`, () => {
      assert.ok(killedBy({ defaults: { [name]: value } }) !== undefined, `no scenario fails with ${name} = ${value}`);
    });
  }
});
