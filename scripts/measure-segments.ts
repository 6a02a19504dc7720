// A 1 MB payload as segments through real engines (src/sim/segments.ts), at 5 % and 20 % loss, with the
// default parity (12.5 %) and without: delivery, who had to ask for anything, and the repair traffic
// against the segments lost beyond the parity. Figures for docs/parameters.md ("Large payloads").
//
//   npx tsx scripts/measure-segments.ts [--members 20] [--seeds 3] [--backups 1] [--owner-path]
//
// With --owner-path members fetch what they lack beyond the parity from the owner over a direct path; the
// "segment answers" column then counts repair traffic of every kind (topic answers, segment resends, unicast
// fetch answers; src/sim/segments.ts says what counts).
import { runSegments, type SegmentRunResult } from "../src/sim/segments.js";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const MEMBERS = arg("--members", 20);
const SEEDS = arg("--seeds", 3);
const BACKUPS = arg("--backups", 1);
const OWNER_PATH = process.argv.includes("--owner-path");

const sum = (rs: readonly SegmentRunResult[], f: (r: SegmentRunResult) => number) => rs.reduce((s, r) => s + f(r), 0);

console.log(
  "| loss | parity | delivered | asked nothing | lost data rebuilt from parity, unasked | segment copies lost | lost beyond parity | segments sent for repair | repair MB | resends | MB published | most msgs / node / epoch |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const loss of [0.05, 0.2]) {
  for (const parityRate of [0.125, 0]) {
    const runs = Array.from({ length: SEEDS }, (_, seed) =>
      runSegments({
        // The sender, MEMBERS receivers; the owner is added by the run.
        members: MEMBERS + 1,
        payloadBytes: 1_000_000,
        segmentSize: 102_400,
        parityRate,
        loss,
        seed: seed + 1,
        memberResponseDelayMs: 1_000,
        backupResponders: BACKUPS,
        horizonMs: 3_600_000,
        ownerPath: OWNER_PATH,
      }),
    );
    const r0 = runs[0] as SegmentRunResult;
    const members = sum(runs, (r) => r.members);
    const pct = (n: number) => `${((100 * n) / members).toFixed(0)} %`;
    console.log(
      `| ${loss * 100} % | ${r0.dataSegments} + ${r0.paritySegments} | ${sum(runs, (r) => r.delivered)}/${members} | ` +
        `${pct(sum(runs, (r) => r.noRepair))} | ${sum(runs, (r) => r.recoveredByParity)} | ${sum(runs, (r) => r.lostSegments)} | ` +
        `${sum(runs, (r) => r.lostBeyondParity)} | ${sum(runs, (r) => r.repairSegments)} | ` +
        `${(sum(runs, (r) => r.repairSegmentBytes) / 1e6).toFixed(2)} | ${sum(runs, (r) => r.resends)} | ` +
        `${(sum(runs, (r) => r.bytesPublished) / 1e6).toFixed(2)} | ${Math.max(...runs.map((r) => r.maxPerEpoch))} |`,
    );
  }
}
console.log(
  `\n${SEEDS} seeds × ${MEMBERS} receivers each (the sums are over the seeds); 1,000,000-byte payload, 102,400-byte segments; members' backupResponders ${BACKUPS}; owner path ${OWNER_PATH ? "on" : "off"}.`,
);
