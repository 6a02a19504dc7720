// The simulated soak (issue 6): a Communities channel at chat rates for 24 virtual hours with members
// churning, the real engine in every member; buffers and heap sampled every virtual hour.
//
//   npm run soak                                   24 h, seed 1
//   npm run soak -- --hours 6 --seed 42 --members 100 --rate-per-min 5 --json soak.json
//
// Prints the seed, one line per virtual hour as it is reached, then the hourly table and the comparison of
// hours 2-4 with hours 20-24 (scaled to the run's length); exits 1 when a buffer or the heap grew.
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { flatness, runSoak, SOAK_SCENARIO, type SoakSample, soakTable } from "../src/sim/soak.js";

const { values } = parseArgs({
  options: {
    hours: { type: "string", default: "24" },
    seed: { type: "string", default: "1" },
    members: { type: "string" },
    "rate-per-min": { type: "string" },
    json: { type: "string" },
  },
});

const hours = Number(values.hours);
if (!Number.isInteger(hours) || hours < 5) throw new RangeError(`--hours must be an integer >= 5, got ${values.hours}`);
const members = values.members === undefined ? undefined : Number(values.members);
const ratePerMin = values["rate-per-min"] === undefined ? undefined : Number(values["rate-per-min"]);
const gcOn = typeof (globalThis as { gc?: unknown }).gc === "function";

console.log(
  `soak: seed ${values.seed}, ${hours} virtual hours, ${members ?? SOAK_SCENARIO.members} members, ` +
    `${ratePerMin ?? (SOAK_SCENARIO.rate ?? 0) * 60} messages/min channel-wide, offline share ${SOAK_SCENARIO.offline}, ` +
    `offline spells ${(SOAK_SCENARIO.offlineMeanMs ?? 0) / 60_000} min, late joiners ${SOAK_SCENARIO.lateJoin}` +
    (gcOn ? "" : " (heap without --expose-gc: noisier)"),
);
const started = performance.now();
const result = await runSoak({
  hours,
  scenario: {
    seed: values.seed,
    ...(members === undefined ? {} : { members }),
    ...(ratePerMin === undefined ? {} : { rate: ratePerMin / 60 }),
  },
  onSample: (s: SoakSample) => {
    const wall = ((performance.now() - started) / 1000).toFixed(0);
    console.log(
      `  hour ${String(s.hour).padStart(2)}  wall ${wall.padStart(5)} s  online ${s.online}/${s.joined}  sent ${s.sent}  ` +
        `pending ${s.max.pending}  missing ${s.max.missing}  timers ${s.max.timers}  heap ${(s.heapUsed / 2 ** 20).toFixed(1)} MB`,
    );
  },
});

const scale = (h: number) => Math.max(1, Math.round((h * hours) / 24));
const early: [number, number] = [scale(2), scale(4)];
const late: [number, number] = [scale(20), hours];
const checks = flatness(result, early, late);
console.log(`\n${soakTable(result.samples)}\n`);
console.log(`max over hours ${early[0]}-${early[1]} vs ${late[0]}-${late[1]} (ordinary members):`);
for (const c of checks) {
  const bound = c.bound === undefined ? "" : ` (bound ${c.bound})`;
  const fmt = (v: number) => (c.buffer === "heapMB" ? v.toFixed(1) : String(v));
  console.log(
    `  ${c.ok ? "ok  " : "GREW"} ${c.buffer.padEnd(10)} ${fmt(c.early).padStart(8)} -> ${fmt(c.late)}${bound}`,
  );
}
const d = result.metrics.delivery;
console.log(
  `\nseed ${values.seed}; ${result.scenario.messages} messages; delivered ${d.delivered} of ${d.expected} ` +
    `(ratio ${d.ratio}, lost ${d.lost}, duplicates ${d.duplicates}); rejected ${JSON.stringify(result.detail.rejected)}; ` +
    `${result.detail.events} events; wall ${(result.wallMs / 1000).toFixed(1)} s`,
);
if (values.json !== undefined) {
  writeFileSync(
    values.json,
    `${JSON.stringify({ seed: values.seed, hours, checks, samples: result.samples, wallMs: result.wallMs }, null, 2)}\n`,
  );
}
if (checks.some((c) => !c.ok)) process.exit(1);
