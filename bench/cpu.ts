// CPU per message for sending and receiving, with the local log at a given size.
import { appendSignature, signedPortion } from "../src/wire/index.js";
import {
  type ChorusFixture,
  type Crypto,
  chorusAtLogSize,
  cryptoFor,
  freshMessages,
  STEP_MS,
} from "./lib/chorus-log.js";
import { benchIdentity } from "./lib/chorus-traffic.js";
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
  /** Chorus only: every way of signing measured on the same log (the top-level figures are one of them). */
  readonly variants?: readonly ChorusVariant[];
}

export interface CpuOptions {
  /** Untimed messages before timing starts. */
  readonly warmup: number;
  /**
   * Chorus: timed messages, `batch` to a sample. SDS: timed samples of one message each, at most this many,
   * fewer when one message costs more than `budgetMs` allows.
   */
  readonly iterations: number;
  /**
   * Chorus only: messages timed together as one sample (default 1). The CPU clock is a system call
   * (`getrusage`, ~2-3 µs here) whose cost and disturbance (the code after a kernel entry runs on colder
   * caches and branch predictors) would land on every one-message sample; a batch of 10 spreads them over
   * ten messages, and spreads each young-generation collection over its batch as it falls on the messages that
   * made its garbage, instead of leaving it out of the median. SDS's messages cost ~1 ms each, so it needs none.
   */
  readonly batch?: number;
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

/** Chorus with one way of signing: per-message CPU, and what a byte-equal copy of a received message costs. */
export interface ChorusVariant {
  readonly crypto: Crypto;
  readonly send: Stats;
  readonly receive: Stats;
  /** A byte-equal copy (a fresh buffer) of a message already received: skipped before the signature check. */
  readonly duplicate: Stats;
  /** Signature verifications the engine asked for per duplicate copy (0 when the skip works). */
  readonly verificationsPerDuplicate: number;
  /** One ed25519 signature and one verification on their own (null for "none"). */
  readonly signature: { readonly sign: Stats; readonly verify: Stats } | null;
}

/**
 * Builds one log of `logSize` messages, then measures each way of signing in turn on it (signatures apart
 * first). The top-level figures are the portable ones, as before; `variants` has all of them.
 */
export async function chorusCpu(
  logSize: number,
  opts: CpuOptions,
  cryptos: readonly Crypto[] = ["portable"],
): Promise<CpuResult> {
  const t0 = cpuClockMs();
  const fx = chorusAtLogSize(logSize, SENDERS);
  const buildCpuSeconds = (cpuClockMs() - t0) / 1000;
  const variants: ChorusVariant[] = [];
  for (const crypto of cryptos) variants.push(await chorusVariant(fx, logSize, opts, crypto));
  const main = variants.find((v) => v.crypto === "portable") ?? variants[0]!;
  return {
    impl: "chorus",
    logSize,
    crypto: main.crypto,
    send: main.send,
    receive: main.receive,
    buildCpuSeconds,
    variants,
  };
}

async function chorusVariant(
  fx: ChorusFixture,
  logSize: number,
  opts: CpuOptions,
  crypto: Crypto,
): Promise<ChorusVariant> {
  fx.setCrypto(crypto);
  const { engine, traffic } = fx;
  const batch = opts.batch ?? 1;
  if (!Number.isSafeInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer, not ${batch}`);
  const samples = {
    warmup: Math.ceil(opts.warmup / batch),
    iterations: Math.max(1, Math.floor(opts.iterations / batch)),
  };
  const timed = { ...samples, batch };
  const batched = (one: () => void) => () => {
    for (let i = 0; i < batch; i++) one();
  };
  // Fresh, really signed messages with real ack filters, generated before timing starts.
  const count = (samples.warmup + samples.iterations) * batch;
  let now = fx.tick();
  const pool = freshMessages(traffic, now, count);
  let next = 0;
  const receive = await measure(
    `chorus ${crypto} receive @${logSize}`,
    batched(() => {
      now += STEP_MS;
      const step = engine.receive(pool[next++]!.bytes, now);
      if (!step.events.some((e) => e.type === "delivered")) throw new Error(`receive: ${JSON.stringify(step.events)}`);
    }),
    timed,
  );
  // The same messages again, each in a buffer of its own, as a network hands over a second copy.
  const copies = pool.map((m) => m.bytes.slice());
  next = 0;
  const before = fx.verifications;
  const duplicate = await measure(
    `chorus ${crypto} duplicate @${logSize}`,
    batched(() => {
      now += STEP_MS;
      const step = engine.receive(copies[next++]!, now);
      if (step.events.length > 0) throw new Error(`duplicate: ${JSON.stringify(step.events)}`);
    }),
    timed,
  );
  const verificationsPerDuplicate = (fx.verifications - before) / count;

  const encoder = new TextEncoder();
  let n = 0;
  const send = await measure(
    `chorus ${crypto} send @${logSize}`,
    batched(() => {
      now += STEP_MS;
      engine.send(encoder.encode(`timed message ${n++}: hello, channel`), now);
    }),
    timed,
  );
  return {
    crypto,
    send,
    receive,
    duplicate,
    verificationsPerDuplicate,
    signature: await signatureCost(crypto, pool[0]!.bytes),
  };
}

/** ed25519 on its own: one signature over, and one verification of, a typical message's signed bytes. */
async function signatureCost(crypto: Crypto, bytes: Uint8Array): Promise<ChorusVariant["signature"]> {
  if (crypto === "none") return null;
  const sender = benchIdentity("signature-cost");
  const { sign, verify } = cryptoFor(crypto, sender.secretKey);
  const unsigned = signedPortion(bytes);
  if (unsigned === undefined) throw new Error("signatureCost: a message without a signature trailer");
  const signature = sign(unsigned);
  const signed = appendSignature(unsigned, signature);
  const iterations = crypto === "native" ? 300 : 60;
  const opts = { warmup: 20, iterations };
  return {
    sign: await measure(`${crypto} sign`, () => sign(unsigned), opts),
    verify: await measure(
      `${crypto} verify`,
      () => {
        if (!verify(signed, signature, sender.senderId)) throw new Error(`${crypto}: verification failed`);
      },
      opts,
    ),
  };
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
