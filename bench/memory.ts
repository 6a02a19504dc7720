// Memory held per message in the log and buffers, measured after forced garbage collection in a
// process of its own (run.ts starts one per implementation, with --expose-gc).
import { Message, MessageChannel } from "@waku/sds";
import { feedLog, memberUnderTest, START_MS } from "./lib/chorus-log.js";
import { benchIdentity, CHANNEL, ChorusTraffic } from "./lib/chorus-traffic.js";
import { internals, SdsTraffic } from "./lib/sds-traffic.js";

export interface MemoryResult {
  readonly impl: "chorus" | "sds";
  /** Messages actually held when measured. */
  readonly messages: number;
  /** Growth of resident set size, scaled to 100k messages. */
  readonly rssBytesPer100k: number;
  /** Growth of live memory (V8 heap used + external/ArrayBuffer memory), scaled to 100k messages. */
  readonly liveBytesPer100k: number;
  /** Encoded size of one of the held messages, for reference. */
  readonly wireBytesPerMessage: number;
  readonly note: string;
}

interface Sample {
  rss: number;
  live: number;
}

function sample(): Sample {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("memory benchmark needs node --expose-gc");
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { rss: m.rss, live: m.heapUsed + m.external };
}

function scaled(before: Sample, after: Sample, messages: number) {
  const k = 100_000 / messages;
  return { rssBytesPer100k: (after.rss - before.rss) * k, liveBytesPer100k: (after.live - before.live) * k };
}

/** A Chorus member holding `messages` messages (ids, bytes and log entries), received from 50 members. */
export function chorusMemory(messages: number): MemoryResult {
  const traffic = new ChorusTraffic(50);
  // Signatures are not what is measured; every other step of receive runs as in production.
  const engine = memberUnderTest(messages, { verifySignature: () => true });
  const before = sample();
  let wire = 0;
  feedLog(engine, traffic, messages, START_MS, (bytes) => {
    wire = bytes.length;
  });
  const after = sample();
  // Read after sampling, which also keeps the engine alive until then.
  const held = engine.bufferSizes();
  if (held.cache < messages) throw new Error(`engine holds ${held.cache} messages, expected ${messages}`);
  return {
    impl: "chorus",
    messages,
    ...scaled(before, after, messages),
    wireBytesPerMessage: wire,
    note: "engine with repairCacheSize and maxSeenIds raised to hold every message (bytes, id, log entry)",
  };
}

/**
 * An SDS channel holding `messages` received messages in its local history, as decoded from the wire:
 * SDS keeps the whole message object, whose bloom filter and causal history point into the received
 * buffer. The history is filled directly (see sdsAtLogSize: receiving them one by one is quadratic).
 */
export function sdsMemory(messages: number): MemoryResult {
  const traffic = new SdsTraffic(50, BigInt(Date.now()));
  const channel = new MessageChannel(CHANNEL, benchIdentity("member-under-test").senderId);
  const items = internals(channel).localHistory.items;
  const filter = internals(channel).filter;
  const before = sample();
  let wire = 0;
  for (let i = 0; i < messages; i++) {
    const bytes = traffic.next(true).encode();
    wire = bytes.length;
    const m = Message.decode(bytes);
    if (m === undefined || m.lamportTimestamp === undefined) throw new Error("SDS could not decode its own message");
    items.push(m as (typeof items)[number]);
    filter.insert(m.messageId);
  }
  const after = sample();
  // Read after sampling, which also keeps the channel alive until then (an optimizing compiler may
  // otherwise let it be collected before the last sample).
  const held = internals(channel).localHistory.items.length;
  if (held !== messages) throw new Error(`SDS holds ${held} messages, expected ${messages}`);
  return {
    impl: "sds",
    messages,
    ...scaled(before, after, messages),
    wireBytesPerMessage: wire,
    note: `${messages} messages held, scaled to 100k (100k would need gigabytes)`,
  };
}
