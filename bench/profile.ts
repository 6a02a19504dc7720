// Profiles Chorus's per-message hot paths with V8's sampling profiler (the same one `node --cpu-prof`
// uses, started through the inspector so that only the timed loop is profiled) and prints where the
// time goes.
//
//   npx tsx bench/profile.ts                       send and receive at a 10k log
//   npx tsx bench/profile.ts --op send --size 100000 --count 3000
//   npx tsx bench/profile.ts --op build            growing the log (decode, validate, accept, no signatures)
//   npx tsx bench/profile.ts --crypto none         the engine's own work: no-op signer and verifier
//                                                  (native: OpenSSL, as `chorus node` runs; default portable)
//
// The profile is written to bench/results/<op>-<size>.cpuprofile (git-ignored; open it in Chrome DevTools);
// the summary lists functions by self time, then src/ functions by inclusive time. Only the timed loop
// is profiled: the profiler starts after the log is built (except for --op build).
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CRYPTOS, type Crypto, chorusAtLogSize, freshMessages, STEP_MS } from "./lib/chorus-log.js";

const root = resolve(fileURLToPath(import.meta.url), "../..");
const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const op = arg("op", "both");
const size = Number(arg("size", "10000"));
const count = Number(arg("count", "2000"));
const crypto = arg("crypto", "portable") as Crypto;
if (!CRYPTOS.includes(crypto)) throw new RangeError(`--crypto must be one of ${CRYPTOS.join(", ")}, got "${crypto}"`);
const outDir = join(root, "bench/results");

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

async function profiled<T>(file: string, fn: () => T): Promise<T> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  await session.post("Profiler.start");
  const out = fn();
  const { profile } = await session.post("Profiler.stop");
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, file);
  writeFileSync(path, JSON.stringify(profile));
  session.disconnect();
  summarize(profile as unknown as Profile, path);
  return out;
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^.*node_modules\//, "").replace(`file://${root}/`, "");
  return `${functionName || "(anonymous)"}  ${where}${where ? `:${lineNumber + 1}` : ""}`;
}

function summarize(profile: Profile, path: string): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfTime = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (const [id, t] of selfTime) {
    total += t;
    const key = label(byId.get(id)!);
    self.set(key, (self.get(key) ?? 0) + t);
    const counted = new Set<string>();
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
      const k = label(byId.get(x)!);
      if (counted.has(k)) continue;
      counted.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + t);
    }
  }
  const show = (m: Map<string, number>, n: number, filter: (k: string) => boolean = () => true) =>
    [...m]
      .filter(([k]) => filter(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(
        ([k, t]) => `  ${(t / 1000).toFixed(0).padStart(7)} ms ${((100 * t) / total).toFixed(1).padStart(5)} %  ${k}`,
      )
      .join("\n");
  console.log(`\n${path}: ${(total / 1000).toFixed(0)} ms sampled`);
  console.log(`self time:\n${show(self, 25)}`);
  console.log(`inclusive time, src/ and noble:\n${show(inclusive, 30, (k) => /src\/|@noble|wire/.test(k))}`);
}

async function main(): Promise<void> {
  const encoder = new TextEncoder();
  if (op === "build") {
    await profiled(`build-${size}.cpuprofile`, () => chorusAtLogSize(size, 50));
    return;
  }
  const fx = chorusAtLogSize(size, 50, crypto);
  if (op === "both" || op === "receive") {
    let now = fx.tick();
    const pool = freshMessages(fx.traffic, now, count);
    await profiled(`receive-${crypto}-${size}.cpuprofile`, () => {
      for (const m of pool) {
        now += STEP_MS;
        fx.engine.receive(m.bytes, now);
      }
    });
  }
  if (op === "both" || op === "send") {
    await profiled(`send-${crypto}-${size}.cpuprofile`, () => {
      for (let i = 0; i < count; i++) fx.engine.send(encoder.encode(`profiled message ${i}`), fx.tick());
    });
  }
}

await main();
