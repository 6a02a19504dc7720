// Speed of the Leopard-RS code (src/core/segments/leopard8.ts) on a 1 MB-class set: 11 data + 2 parity
// shards of 100 KiB, encoding, and reconstructing two lost data shards. Prints timings (docs/parameters.md,
// "The Reed–Solomon code").
//
//   npx tsx bench/leopard8.ts
import { leopard8Decode, leopard8Encode } from "../src/core/segments/leopard8.js";

const K = 11;
const R = 2;
const L = 102_400;
const RUNS = 10;
const data = Array.from({ length: K }, (_, i) =>
  Uint8Array.from({ length: L }, (_, j) => (i * 131 + j * 7 + ((i * j) % 251)) & 255),
);

function time(label: string, f: () => void): void {
  f();
  const start = process.hrtime.bigint();
  for (let i = 0; i < RUNS; i++) f();
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / RUNS;
  console.log(`${label.padEnd(44)} ${ms.toFixed(2)} ms  ${((K * L) / 1e6 / (ms / 1000)).toFixed(0)} MB/s`);
}

let parity: Uint8Array[] = [];
time(`encode ${K} + ${R} x ${L / 1024} KiB`, () => {
  parity = leopard8Encode(data, R);
});
time("reconstruct with 2 data shards lost", () => {
  const held = data.map((d, i) => (i === 0 || i === 5 ? undefined : d));
  const out = leopard8Decode(held, parity);
  if (Buffer.compare(out[0] as Uint8Array, data[0] as Uint8Array) !== 0) throw new Error("wrong reconstruction");
});
