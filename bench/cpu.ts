// CPU per message for sending and receiving, with the local log at a given size.
import { type Crypto, chorusAtLogSize, freshMessages, STEP_MS } from "./lib/chorus-log.js";
import { cpuClockMs, measure, type Stats } from "./lib/measure.js";
import { sdsAtLogSize, sdsReceive, sdsSend } from "./lib/sds-traffic.js";

/** Distinct members sending to the member under test. */
export const SENDERS = 50;

export interface CpuResult {
  readonly impl: "chorus" | "sds";
  readonly logSize: number;
  /** Chorus only: the ed25519 implementation. */
  readonly crypto?: Crypto;
  /** CPU µs per message. */
  readonly send: Stats;
  readonly receive: Stats;
  /** CPU seconds spent building the log before timing. */
  readonly buildCpuSeconds: number;
}

export interface CpuOptions {
  readonly warmup: number;
  /** Timed samples; for SDS at most this many, fewer when one message costs more than `budgetMs` allows. */
  readonly iterations: number;
  /** SDS only: CPU time to spend on each of send and receive. */
  readonly budgetMs?: number;
}

/** Samples that fit in the budget, judged from one untimed call (which also warms the path up). */
async function probeIterations(fn: () => Promise<unknown>, opts: CpuOptions): Promise<number> {
  const t0 = cpuClockMs();
  await fn();
  const cost = Math.max(cpuClockMs() - t0, 0.001);
  const budget = opts.budgetMs ?? Number.POSITIVE_INFINITY;
  return Math.max(3, Math.min(opts.iterations, Math.floor(budget / cost)));
}

export async function chorusCpu(logSize: number, opts: CpuOptions, crypto: Crypto = "portable"): Promise<CpuResult> {
  const t0 = cpuClockMs();
  const fx = chorusAtLogSize(logSize, SENDERS, crypto);
  const buildCpuSeconds = (cpuClockMs() - t0) / 1000;
  fx.setVerify(true);
  const { engine, traffic } = fx;

  // Fresh, really signed messages with real ack filters, generated before timing starts.
  const count = opts.warmup + opts.iterations;
  let now = fx.tick();
  const pool = freshMessages(traffic, now, count);
  let next = 0;
  const receive = await measure(
    `chorus receive @${logSize}`,
    () => {
      now += STEP_MS;
      const step = engine.receive(pool[next++]!.bytes, now);
      if (!step.events.some((e) => e.type === "delivered")) throw new Error(`receive: ${JSON.stringify(step.events)}`);
    },
    opts,
  );

  const encoder = new TextEncoder();
  let n = 0;
  const send = await measure(
    `chorus send @${logSize}`,
    () => {
      now += STEP_MS;
      engine.send(encoder.encode(`timed message ${n++}: hello, channel`), now);
    },
    opts,
  );
  return { impl: "chorus", logSize, crypto, send, receive, buildCpuSeconds };
}

export async function sdsCpu(logSize: number, opts: CpuOptions): Promise<CpuResult> {
  const t0 = cpuClockMs();
  const { channel, traffic } = sdsAtLogSize(logSize, SENDERS);
  const buildCpuSeconds = (cpuClockMs() - t0) / 1000;

  const pool = Array.from({ length: opts.warmup + opts.iterations + 1 }, () => traffic.next(true).encode());
  let next = 0;
  const receiveOne = () => sdsReceive(channel, pool[next++]!);
  const receiveIterations = await probeIterations(receiveOne, opts);
  const receive = await measure(`sds receive @${logSize}`, receiveOne, {
    warmup: opts.warmup,
    iterations: receiveIterations,
    async: true,
  });

  const encoder = new TextEncoder();
  let n = 0;
  const sendOne = () => sdsSend(channel, encoder.encode(`timed message ${n++}: hello, channel`));
  const sendIterations = await probeIterations(sendOne, opts);
  const send = await measure(`sds send @${logSize}`, sendOne, {
    warmup: opts.warmup,
    iterations: sendIterations,
    async: true,
  });
  return { impl: "sds", logSize, send, receive, buildCpuSeconds };
}
