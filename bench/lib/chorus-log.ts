import { ChannelEngine, createVerifier, type EngineConfig, type Params } from "../../src/core/index.js";
import { seededRandom } from "../../src/core/prng.js";
import { nativeSigner, nativeVerifier } from "../../src/platform/native-crypto.js";
import { benchIdentity, CHANNEL, ChorusTraffic } from "./chorus-traffic.js";

export const START_MS = 1_700_000_000_000;
/** Virtual time between two messages of the channel. */
export const STEP_MS = 50;
/** The member under test sends one message in this many. */
export const OWN_EVERY = 50;

/** Which ed25519 implementation signs and verifies. */
export type Crypto = "portable" | "native";

export interface ChorusFixture {
  readonly engine: ChannelEngine;
  readonly traffic: ChorusTraffic;
  /** Advances the virtual clock by one message interval and returns it. */
  tick(): number;
  /** Signature checks are off while the log is built, on afterwards. */
  setVerify(on: boolean): void;
}

/**
 * Parameters under which the engine holds all `size` messages: their ids (seen set) and their bytes
 * (the repair cache, which is the engine's log). The defaults would bound both far lower (100k ids,
 * 5,000 messages); holding everything is the harder case, and the one comparable to SDS's history.
 */
export function paramsHolding(size: number): Partial<Params> {
  const room = size + 10_000;
  // Senders here publish one message a second, far over Waku's RLN budget: the rate quota stays on, so that its
  // cost is measured, but high enough never to refuse.
  return { maxSeenIds: room, repairCacheSize: room, senderQuotaPer600s: 10_000_000, senderQuotaBurst: 10_000_000 };
}

/**
 * The member under test at START_MS, its engine sized by `paramsHolding(size)`, with the benchmark's fixed
 * randomness (mulberry32, seed 7).
 */
export function memberUnderTest(
  size: number,
  config: Pick<EngineConfig, "verifySignature"> & Partial<Pick<EngineConfig, "sign">>,
): ChannelEngine {
  return new ChannelEngine({
    channelId: CHANNEL,
    identity: benchIdentity("member-under-test"),
    random: seededRandom(7),
    now: START_MS,
    params: paramsHolding(size),
    ...config,
  });
}

/**
 * Grows `engine`'s log by `count` messages, received through `receive` as on a real channel from
 * `traffic`'s senders, with one in `OWN_EVERY` sent by the engine itself, `STEP_MS` apart from `now`.
 * Messages are pseudo-signed: the engine must not check signatures meanwhile. Throws when one is
 * rejected. `onReceived` sees the bytes of each received message. Returns the time of the last message.
 */
export function feedLog(
  engine: ChannelEngine,
  traffic: ChorusTraffic,
  count: number,
  now: number,
  onReceived?: (bytes: Uint8Array) => void,
): number {
  const encoder = new TextEncoder();
  for (let i = 0; i < count; i++) {
    now += STEP_MS;
    if (i % OWN_EVERY === OWN_EVERY - 1) {
      const sent = engine.send(encoder.encode(`own message ${i}: hello, channel`), now);
      traffic.observe(sent.messageId, engine.senderId, sent.sequence!, sent.lamportTimestamp!);
    } else {
      const { bytes } = traffic.next(now, { signed: false, realFilter: false });
      onReceived?.(bytes);
      const step = engine.receive(bytes, now);
      for (const e of step.events) if (e.type === "rejected") throw new Error(`build: message rejected: ${e.reason}`);
    }
    if (i % 100 === 0) engine.tick(now);
  }
  return now;
}

/**
 * `count` fresh messages of `traffic`, really signed and with real ack filters, `STEP_MS` apart after
 * `now`: what a timed loop feeds the engine, generated before timing starts.
 */
export function freshMessages(traffic: ChorusTraffic, now: number, count: number) {
  return Array.from({ length: count }, (_, i) =>
    traffic.next(now + STEP_MS * (i + 1), { signed: true, realFilter: true }),
  );
}

/**
 * A member whose log holds `size` messages from `senders` other members (and its own, one in
 * `OWN_EVERY`), received through `receive` as on a real channel. Building uses pseudo-signed messages
 * with signature checks switched off (ed25519 would make a 1M log take an hour); everything else, from
 * decoding to id checks, runs as in production.
 */
export function chorusAtLogSize(size: number, senders: number, crypto: Crypto = "portable"): ChorusFixture {
  let verify = false;
  // "portable": the engine's defaults (@noble/curves, as in a browser); "native": what `chorus node` injects.
  const verifier = crypto === "native" ? nativeVerifier() : createVerifier();
  const engine = memberUnderTest(size, {
    verifySignature: (bytes, signature, senderId) => !verify || verifier(bytes, signature, senderId),
    ...(crypto === "native" ? { sign: nativeSigner(benchIdentity("member-under-test").secretKey) } : {}),
  });
  const traffic = new ChorusTraffic(senders);
  let now = feedLog(engine, traffic, size, START_MS);
  return {
    engine,
    traffic,
    tick: () => {
      now += STEP_MS;
      return now;
    },
    setVerify: (on) => {
      verify = on;
    },
  };
}
