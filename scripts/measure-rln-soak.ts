// A day of a channel under RLN (src/sim/rln-soak.ts): steady chat, floods and large payloads; every
// publication of every node passes its RLN pacer. Prints delivery and the busiest epochs. Figures for
// docs/parameters.md ("Sending within RLN").
//
//   npx tsx scripts/measure-rln-soak.ts [--members 8] [--hours 24] [--seed 1]
import { runRlnSoak } from "../src/sim/rln-soak.js";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const options = {
  members: arg("--members", 8),
  hours: arg("--hours", 24),
  seed: arg("--seed", 1),
  loss: arg("--loss", 0.05),
  memberLimit: 100,
  ownerLimit: 600,
  chatEveryMinutes: 5,
  burstsPerDay: 8,
  burstMessages: 150,
  burstPayloadBytes: 1_000_000,
};
const started = process.hrtime.bigint();
const r = runRlnSoak(options);
console.log(JSON.stringify({ options, result: r }, null, 2));
console.log(`wall time ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(0)} s`);
