// A long fuzzing campaign over decodeMessage and ChannelEngine.receive: the inputs of
// test/core/fuzz-engine.test.ts (arbitrary bytes, mutated valid messages, re-signed hostile messages, valid
// traffic), in batches of 100 against a fresh warm engine each, with the same checks.
//
//   npm run fuzz                                   1,000,000 inputs, random seed
//   npm run fuzz -- --iterations 200000 --seed 42
//   npm run fuzz -- --seed 42 --path "17:3:1"     replays a failure that fast-check reported
//   npm run fuzz -- --no-save                      does not add to test/fuzz-corpus/
//
// Inputs with an outcome not seen before (a new DecodeError field or reason, a new rejection reason; numbers,
// ids and indices normalised away) are saved to test/fuzz-corpus/ as hex, which `npm test` replays
// (test/core/fuzz-corpus.test.ts). A failing input is saved there too, as failure-*.hex.
// Signatures go through Node's OpenSSL ed25519 here (src/platform/native-crypto.ts): ten times the throughput.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { nativeSigner, nativeVerifier } from "../src/platform/native-crypto.js";
import { ATTACKER, type Crypto, fuzzInput, type Outcome, runBatch, warmUp } from "../test/core/fuzz-support.js";

const root = resolve(fileURLToPath(import.meta.url), "../..");
const CORPUS = join(root, "test", "fuzz-corpus");
const BATCH = 100;
const MAX_SAVED_BYTES = 2_048;
const MAX_CORPUS_FILES = 80;

function usage(message?: string): never {
  if (message) console.error(`fuzz: ${message}`);
  console.error("usage: npm run fuzz -- [--iterations N] [--seed S] [--path P] [--no-save]");
  process.exit(2);
}

function parseArgs(argv: string[]): { iterations: number; seed: number; path: string | undefined; save: boolean } {
  let iterations = 1_000_000;
  let seed = Math.floor(Math.random() * 0x7fff_ffff);
  let path: string | undefined;
  let save = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${arg} needs a value`);
      return v;
    };
    if (arg === "--iterations" || arg === "-n") {
      iterations = Number(value());
      if (!Number.isInteger(iterations) || iterations < 1) usage(`--iterations must be a positive integer`);
    } else if (arg === "--seed") {
      seed = Number(value());
      if (!Number.isInteger(seed)) usage("--seed must be an integer");
    } else if (arg === "--path") path = value();
    else if (arg === "--no-save") save = false;
    else if (arg === "--help" || arg === "-h") usage();
    else usage(`unknown argument ${arg}`);
  }
  return { iterations, seed, path, save };
}

/** The outcome worth keeping an input for: a decode error, or a refusal by the engine. */
function interestingKey(outcome: Outcome): string | undefined {
  if (outcome.decode.startsWith("decode:")) return outcome.decode;
  return outcome.engine;
}

function slug(key: string): string {
  return key
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 48);
}

function corpusKeys(): Set<string> {
  const keys = new Set<string>();
  if (!existsSync(CORPUS)) return keys;
  for (const file of readdirSync(CORPUS)) {
    if (!file.endsWith(".hex")) continue;
    const header = readFileSync(join(CORPUS, file), "utf8").split("\n")[0] ?? "";
    if (header.startsWith("# ")) keys.add(header.slice(2));
  }
  return keys;
}

function save(prefix: string, key: string, bytes: Uint8Array, note?: string): string {
  mkdirSync(CORPUS, { recursive: true });
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 8);
  const file = join(CORPUS, `${prefix}${slug(key)}-${hash}.hex`);
  const header = (text: string) => `# ${text.replace(/[\r\n]/g, " ")}`;
  const lines = [header(key), ...(note === undefined ? [] : [header(note)]), Buffer.from(bytes).toString("hex"), ""];
  writeFileSync(file, lines.join("\n"));
  return file;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const runs = Math.ceil(args.iterations / BATCH);
  const warm = warmUp();
  const crypto: Crypto = {
    verifySignature: nativeVerifier(),
    attackerSign: nativeSigner(ATTACKER.secretKey),
    sign: nativeSigner,
  };
  const known = corpusKeys();
  let files = existsSync(CORPUS) ? readdirSync(CORPUS).filter((f) => f.endsWith(".hex")).length : 0;
  const outcomes = new Map<string, number>();
  const saved: string[] = [];
  let inputs = 0;
  let current: Uint8Array | undefined;
  let failing: Uint8Array | undefined;
  const started = performance.now();
  let lastReport = started;
  const replay = args.path === undefined ? "" : ` --path ${args.path}`;
  console.log(`fuzz: ${runs * BATCH} inputs in ${runs} batches of ${BATCH}, seed ${args.seed}${replay}`);

  const onInput = (bytes: Uint8Array, outcome: Outcome) => {
    inputs++;
    const key = interestingKey(outcome) ?? outcome.decode;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    const interesting = interestingKey(outcome);
    if (
      args.save &&
      interesting !== undefined &&
      !known.has(interesting) &&
      bytes.length <= MAX_SAVED_BYTES &&
      files < MAX_CORPUS_FILES
    ) {
      known.add(interesting);
      files++;
      saved.push(save("", interesting, bytes));
    }
    const now = performance.now();
    if (now - lastReport > 10_000) {
      lastReport = now;
      const rate = inputs / ((now - started) / 1_000);
      console.log(`fuzz: ${inputs.toLocaleString("en")} inputs, ${Math.round(rate).toLocaleString("en")}/s`);
    }
  };

  const property = fc.property(
    fc.record({ seed: fc.nat(), inputs: fc.array(fuzzInput, { minLength: BATCH, maxLength: BATCH }) }),
    (batch) => {
      current = undefined;
      try {
        runBatch(warm, batch, crypto, false, onInput, (bytes) => {
          current = bytes;
        });
      } catch (err) {
        failing = current;
        throw err;
      }
    },
  );
  // No shrinking: a batch is 100 inputs, and the failing input itself is saved. The path names the batch.
  const details = fc.check(property, {
    numRuns: runs,
    endOnFailure: true,
    seed: args.seed,
    ...(args.path === undefined ? {} : { path: args.path }),
  });
  const seconds = (performance.now() - started) / 1_000;
  const rate = inputs / seconds;
  console.log(
    `fuzz: ${inputs.toLocaleString("en")} inputs in ${seconds.toFixed(1)} s: ${Math.round(rate).toLocaleString("en")} inputs/s ` +
      "(each decoded by decodeMessage and received by a warm engine)",
  );
  console.log(`fuzz: ${outcomes.size} distinct outcomes:`);
  for (const [key, count] of [...outcomes].sort((a, b) => b[1] - a[1])) {
    console.log(`  ${String(count).padStart(9)}  ${key}`);
  }
  if (saved.length > 0) console.log(`fuzz: saved ${saved.length} new inputs to ${CORPUS}`);
  if (details.failed) {
    const error =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    console.error(`\nfuzz: FAILED: ${error}`);
    console.error(`fuzz: seed ${details.seed}, path "${details.counterexamplePath}"`);
    console.error(
      `fuzz: replay with: npm run fuzz -- --seed ${details.seed} --path "${details.counterexamplePath}" --iterations ${BATCH}`,
    );
    if (failing !== undefined) {
      const file = save("failure-", error.split("\n")[0] ?? "failure", failing);
      console.error(`fuzz: the failing input is in ${file}`);
    }
    process.exit(1);
  }
  console.log("fuzz: no failures");
}

main();
