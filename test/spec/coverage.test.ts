// The RFC keeps up with the code: every .proto field is described, every vector file is consumed by a test,
// every engine parameter is in the parameter table with its default and range, and the profile's owner
// parameters are the reference's (scripts/check-spec.ts). Each check also runs on a doctored copy of its
// input, to show that it fails when it should: a check that cannot fail checks nothing.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  checkOwnerParams,
  checkParamTable,
  checkProtoFields,
  checkVectorFiles,
  parseProto,
  parseSpecNumber,
  readSpecInputs,
  specFieldRows,
  specParamRows,
} from "../../scripts/check-spec.js";
import { DEFAULT_PARAMS, OWNER_PARAMS, resolveParams } from "../../src/core/index.js";

const inputs = readSpecInputs();
const defaults = DEFAULT_PARAMS as unknown as Record<string, number | boolean>;
const owner = OWNER_PARAMS as Record<string, number | boolean>;
const resolve = (o: Record<string, number | boolean>) => resolveParams(o);

/** The spec without the first line that matches `pattern` (which must match exactly one line). */
function withoutLine(text: string, pattern: RegExp): string {
  const lines = text.split("\n");
  const hits = lines.filter((l) => pattern.test(l));
  assert.equal(hits.length, 1, `exactly one line matches ${pattern}`);
  return lines.filter((l) => !pattern.test(l)).join("\n");
}

function replaceLine(text: string, pattern: RegExp, edit: (line: string) => string): string {
  let hits = 0;
  const out = text
    .split("\n")
    .map((l) => {
      if (!pattern.test(l)) return l;
      hits++;
      return edit(l);
    })
    .join("\n");
  assert.equal(hits, 1, `exactly one line matches ${pattern}`);
  return out;
}

describe("spec coverage: .proto fields (spec section 5)", () => {
  test("the parser finds every message, field and enum value of message.proto and owner.proto", () => {
    const proto = parseProto(inputs.proto);
    const byName = new Map(proto.map((m) => [m.name, m]));
    assert.deepEqual([...byName.keys()].sort(), [
      "AckSummary",
      "Head",
      "HeldRange",
      "HistoryEntry",
      "Kind",
      "Message",
      "OwnerNews",
      "Receipt",
      "ReceiptReport",
      "ReceivedUpTo",
      "Roster",
      "SequenceRange",
    ]);
    const message = byName.get("Message")!;
    assert.deepEqual(
      message.fields.map((f) => f.number),
      [1, 2, 3, 10, 11, 12, 13, 20, 30, 31, 32, 34, 40],
    );
    assert.deepEqual(
      message.fields.find((f) => f.name === "causal_history"),
      { name: "causal_history", number: 11, type: "repeated HistoryEntry" },
    );
    assert.deepEqual(
      byName.get("Kind")!.fields.map((f) => `${f.name}=${f.number}`),
      ["KIND_UNSPECIFIED=0", "KIND_CONTENT=1", "KIND_SYNC=2", "KIND_EPHEMERAL=3"],
    );
    assert.deepEqual(
      byName.get("ReceivedUpTo")!.fields.map((f) => `${f.name}=${f.number}:${f.type}`),
      ["sender_prefix=1:bytes", "sequence=2:uint64", "first=3:uint64"],
    );
  });

  test("every field and enum value is described in the spec with its number and type", () => {
    assert.deepEqual(checkProtoFields(inputs.proto, inputs.spec), []);
  });

  test("fails when a field's row is deleted", () => {
    const spec = withoutLine(inputs.spec, /^\| 3 \| `first` \| uint64 \|/);
    assert.deepEqual(checkProtoFields(inputs.proto, spec), ["ReceivedUpTo.first = 3: not described in the spec"]);
  });

  test("fails when the .proto gains a field the spec lacks", () => {
    const proto = inputs.proto.replace(
      "optional bytes signature = 40;",
      "optional bytes signature = 40;\n  optional uint32 priority = 41;",
    );
    assert.deepEqual(checkProtoFields(proto, inputs.spec), ["Message.priority = 41: not described in the spec"]);
  });

  test("fails when a row gives another number or type, or a field the .proto lacks", () => {
    const renumbered = replaceLine(inputs.spec, /^\| 31 \| `sequence` \|/, (l) => l.replace("| 31 |", "| 33 |"));
    assert.match(checkProtoFields(inputs.proto, renumbered).join("\n"), /Message\.sequence: spec line \d+ says 33/);
    const retyped = replaceLine(inputs.spec, /^\| 31 \| `sequence` \|/, (l) => l.replace("optional uint64", "uint64"));
    assert.match(
      checkProtoFields(inputs.proto, retyped).join("\n"),
      /gives type "uint64", the \.proto "optional uint64"/,
    );
    const stale = inputs.proto.replace("  optional string sender_id = 3;\n", "");
    assert.match(
      checkProtoFields(stale, inputs.spec).join("\n"),
      /HistoryEntry\.sender_id: .* the \.proto does not have/,
    );
  });

  test("fails when an enum value or a whole table is missing", () => {
    const noValue = withoutLine(inputs.spec, /^\| 2 \| `KIND_SYNC` \|/);
    assert.deepEqual(checkProtoFields(inputs.proto, noValue), ["Kind.KIND_SYNC = 2: not described in the spec"]);
    const noHeading = replaceLine(inputs.spec, /^#### .*`SequenceRange`/, () => "#### 5.3.4 Ranges");
    assert.match(checkProtoFields(inputs.proto, noHeading).join("\n"), /message SequenceRange: no field table/);
  });

  test("rows are attributed to the table under the heading that names their message", () => {
    const rows = specFieldRows(inputs.spec, new Set(["Message", "SequenceRange"]));
    assert.ok(rows.some((r) => r.table === "SequenceRange" && r.name === "first" && r.number === 2));
    assert.ok(rows.some((r) => r.table === "Message" && r.name === "signature" && r.number === 40));
  });
});

describe("spec coverage: vector files (spec section 21)", () => {
  test("every file in spec/vectors is generated, named in the spec, non-empty and consumed by a test", () => {
    assert.ok(inputs.vectors.length >= 5, "the five vector files");
    assert.deepEqual(checkVectorFiles(inputs.vectors, inputs.tests, inputs.spec, inputs.makeVectors), []);
  });

  test("fails when no test consumes a file", () => {
    const tests = inputs.tests.map((t) => ({ ...t, text: t.text.replaceAll('"scenarios.json"', '"other.json"') }));
    assert.deepEqual(checkVectorFiles(inputs.vectors, tests, inputs.spec, inputs.makeVectors), [
      'spec/vectors/scenarios.json: no test names "scenarios.json" (no test consumes it)',
    ]);
  });

  test("fails for a new file that nothing generates, names or reads, and for an empty file", () => {
    const vectors = [...inputs.vectors, { name: "extra.json", text: '{"description": "x", "vectors": []}' }];
    assert.deepEqual(checkVectorFiles(vectors, inputs.tests, inputs.spec, inputs.makeVectors), [
      'spec/vectors/extra.json: no test names "extra.json" (no test consumes it)',
      "spec/vectors/extra.json: scripts/make-vectors.ts does not write it",
      "spec/vectors/extra.json: the spec does not mention it",
      'spec/vectors/extra.json: has no "vectors" array with at least one case',
    ]);
  });

  test("the test files that consume the vectors are the ones the spec names", () => {
    for (const v of inputs.vectors) {
      const users = inputs.tests.filter((t) => t.text.includes(`"${v.name}"`)).map((t) => t.path);
      assert.ok(users.length > 0, v.name);
      for (const user of users) assert.ok(inputs.spec.includes(user), `the spec names ${user}, which reads ${v.name}`);
    }
  });
});

describe("spec coverage: parameters (spec sections 18 and 19.3)", () => {
  test("the table lists every engine parameter with its default and allowed range", () => {
    assert.deepEqual(checkParamTable(inputs.spec, defaults, resolve), []);
    assert.equal(specParamRows(inputs.spec).length, Object.keys(defaults).length);
  });

  test("fails when a parameter's row is deleted", () => {
    const spec = withoutLine(inputs.spec, /^\| `repairRetryMs` \|/);
    assert.deepEqual(checkParamTable(spec, defaults, resolve), [
      "parameter repairRetryMs (default 5000) is missing from the spec's parameter table",
    ]);
  });

  test("fails when a default differs from the engine's", () => {
    const spec = replaceLine(inputs.spec, /^\| `syncIntervalMs` \|/, (l) => l.replace("| 120,000 |", "| 60,000 |"));
    assert.match(
      checkParamTable(spec, defaults, resolve).join("\n"),
      /syncIntervalMs: spec line \d+ gives default "60,000", the engine 120000/,
    );
    const changedEngine = { ...defaults, maxResends: 4 };
    assert.match(
      checkParamTable(inputs.spec, changedEngine, resolve).join("\n"),
      /maxResends: .* default "3", the engine 4/,
    );
  });

  test("fails when a range differs from what the engine accepts", () => {
    const wider = replaceLine(inputs.spec, /^\| `maxRepairIdsPerMessage` \|/, (l) =>
      l.replace("0 … 64, integer", "0 … 128, integer"),
    );
    assert.match(
      checkParamTable(wider, defaults, resolve).join("\n"),
      /maxRepairIdsPerMessage: .* the engine refuses 128/,
    );
    const narrower = replaceLine(inputs.spec, /^\| `syncJitter` \|/, (l) => l.replace("0 … 1 |", "0 … 0.9 |"));
    assert.match(checkParamTable(narrower, defaults, resolve).join("\n"), /syncJitter: .* the engine accepts 0\.9/);
    const notInteger = replaceLine(inputs.spec, /^\| `maxResends` \|/, (l) => l.replace("0 … 100, integer", "0 … 100"));
    assert.match(
      checkParamTable(notInteger, defaults, resolve).join("\n"),
      /maxResends: .* the engine refuses 0\.5: integer-only/,
    );
  });

  test("fails when the table lists a parameter the engine lacks", () => {
    const spec = replaceLine(
      inputs.spec,
      /^\| `maxTrackedReceipts` \|/,
      (l) => `${l}\n| \`ghost\` | none | 1 | 0 … 1 | none |`,
    );
    assert.match(checkParamTable(spec, defaults, resolve).join("\n"), /parameter ghost: .* the engine lacks/);
  });

  test("numbers are read as the spec writes them", () => {
    assert.equal(parseSpecNumber("120,000"), 120_000);
    assert.equal(parseSpecNumber("31,536,000,000 (365 d)"), 31_536_000_000);
    assert.equal(parseSpecNumber("2^53 − 1"), Number.MAX_SAFE_INTEGER);
    assert.equal(parseSpecNumber("0.7"), 0.7);
    assert.equal(parseSpecNumber("many"), undefined);
  });

  test("the profile's owner column matches the reference owner parameters", () => {
    assert.deepEqual(checkOwnerParams(inputs.spec, owner), []);
    const spec = withoutLine(inputs.spec, /^\| `trackAllReceipts` \| false \| true \|/);
    assert.deepEqual(checkOwnerParams(spec, owner), [
      "owner parameter trackAllReceipts (true) is missing from the profile's table",
    ]);
    assert.match(
      checkOwnerParams(inputs.spec, { ...owner, repairCacheSize: 50_000 }).join("\n"),
      /repairCacheSize: .* the reference 50000/,
    );
  });
});
