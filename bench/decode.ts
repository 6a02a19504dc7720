// Decode and validation throughput, in messages per second, on realistic messages of each protocol.
import { Message } from "@waku/sds";
import { expectedMessageId } from "../src/core/ids.js";
import { createVerifier, type SenderId } from "../src/core/index.js";
import { decodeMessage } from "../src/wire/index.js";
import { START_MS, STEP_MS } from "./lib/chorus-log.js";
import { ChorusTraffic } from "./lib/chorus-traffic.js";
import { measure, type Stats } from "./lib/measure.js";
import { SdsTraffic } from "./lib/sds-traffic.js";

export interface ThroughputResult {
  readonly impl: "chorus" | "sds";
  readonly wireBytesPerMessage: number;
  /** Decoding with Chorus's size limits and field validation (SDS: its decoder, which validates nothing). */
  readonly decode: { readonly perMessageUs: Stats; readonly messagesPerSecond: number };
  /** Chorus only: decode, recompute the message id, check the ed25519 signature (what receive does first). */
  readonly authenticated?: { readonly perMessageUs: Stats; readonly messagesPerSecond: number };
}

export interface ThroughputOptions {
  readonly pool: number;
  readonly iterations: number;
  readonly warmup: number;
}

function throughput(perMessageUs: Stats) {
  return { perMessageUs, messagesPerSecond: 1e6 / perMessageUs.median };
}

export async function chorusThroughput(opts: ThroughputOptions): Promise<ThroughputResult> {
  const traffic = new ChorusTraffic(50);
  const pool = Array.from(
    { length: opts.pool },
    (_, i) => traffic.next(START_MS + STEP_MS * i, { signed: true, realFilter: true }).bytes,
  );
  const decode = await measure(
    "chorus decode",
    () => {
      for (const bytes of pool) decodeMessage(bytes);
    },
    { ...opts, batch: pool.length },
  );
  // Signature checks cost fifty times more than decoding: timed on a 200-message slice of the pool, after a
  // warm-up in which the engine's default verifier builds its tables for the most active senders.
  const slice = pool.slice(0, 200);
  if (slice.length < 100) throw new RangeError(`pool must hold at least 100 messages, got ${slice.length}`);
  const verify = createVerifier();
  const authenticated = await measure(
    "chorus decode+id+signature",
    () => {
      for (const bytes of slice) {
        const m = decodeMessage(bytes);
        if (expectedMessageId(m) !== m.messageId) throw new Error("id mismatch");
        if (!verify(bytes, m.signature!, m.senderId as SenderId)) throw new Error("bad signature");
      }
    },
    { warmup: 3, iterations: Math.max(5, Math.round(opts.iterations / 2)), batch: slice.length },
  );
  return {
    impl: "chorus",
    wireBytesPerMessage: Math.round(pool.reduce((a, b) => a + b.length, 0) / pool.length),
    decode: throughput(decode),
    authenticated: throughput(authenticated),
  };
}

export async function sdsThroughput(opts: ThroughputOptions): Promise<ThroughputResult> {
  const traffic = new SdsTraffic(50, BigInt(Date.now()));
  // Past the first 200 messages, every SDS message carries a full causal history.
  for (let i = 0; i < 200; i++) traffic.next(false);
  const pool = Array.from({ length: opts.pool }, () => traffic.next(true).encode());
  const decode = await measure(
    "sds decode",
    () => {
      for (const bytes of pool) if (Message.decode(bytes) === undefined) throw new Error("SDS decode failed");
    },
    { ...opts, batch: pool.length },
  );
  return {
    impl: "sds",
    wireBytesPerMessage: Math.round(pool.reduce((a, b) => a + b.length, 0) / pool.length),
    decode: throughput(decode),
  };
}
