// Benchmark jobs in a process of their own, so that implementations and log sizes do not share a heap,
// a JIT state or a garbage collector. run.ts starts it; it prints one result line per job.
import { chorusCpu, sdsCpu } from "./cpu.js";
import { chorusThroughput, sdsThroughput } from "./decode.js";
import { type Job, RESULT_PREFIX } from "./lib/jobs.js";
import { chorusMemory, sdsMemory } from "./memory.js";
import { ownerCost } from "./owner.js";
import { chorusWire, sdsWire } from "./wire.js";

async function run(job: Job): Promise<unknown> {
  switch (job.kind) {
    case "cpu":
      return job.impl === "chorus" ? chorusCpu(job.logSize, job, job.cryptos) : sdsCpu(job.logSize, job);
    case "memory":
      return job.impl === "chorus" ? chorusMemory(job.messages) : sdsMemory(job.messages);
    case "wire":
      return job.impl === "chorus" ? chorusWire(job) : sdsWire(job.members, job.chat);
    case "decode":
      return job.impl === "chorus" ? chorusThroughput(job) : sdsThroughput(job);
    case "owner":
      return ownerCost(job.members, job.messages);
  }
}

// One job, or a batch of jobs run one after the other (quick mode saves the start-up of a process per job).
const arg = JSON.parse(process.argv[2] ?? "null") as Job | Job[] | null;
if (arg === null) {
  console.error("usage: child.ts '<job json or array of jobs>' (started by bench/run.ts)");
  process.exit(2);
}
for (const job of Array.isArray(arg) ? arg : [arg]) {
  const result = await run(job);
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}
