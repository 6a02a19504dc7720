import {
  ChannelEngine,
  createSigner,
  createVerifier,
  type EngineConfig,
  type Params,
  type SenderId,
  type SignatureVerifier,
} from "../../src/core/index.js";
import { seededRandom } from "../../src/core/prng.js";
import { nativeSigner, nativeVerifier } from "../../src/platform/native-crypto.js";
import { benchIdentity, CHANNEL, ChorusTraffic } from "./chorus-traffic.js";

export const START_MS = 1_700_000_000_000;
/** Virtual time between two messages of the channel. */
export const STEP_MS = 50;
/** The member under test sends one message in this many. */
export const OWN_EVERY = 50;

/**
 * Who signs and verifies: "none" is a no-op signer (zero signature) and an accept-all verifier, which leaves
 * the engine's own work; "native" is Node's OpenSSL ed25519, as `chorus node` and the simulator run it;
 * "portable" is the engine's default (@noble/curves), as a browser would run it.
 */
export type Crypto = "none" | "native" | "portable";
export const CRYPTOS: readonly Crypto[] = ["none", "native", "portable"];

/** A signer and a verifier for the member under test, as `crypto` says. */
export function cryptoFor(
  crypto: Crypto,
  secretKey: Uint8Array,
): { sign: (u: Uint8Array) => Uint8Array; verify: SignatureVerifier } {
  switch (crypto) {
    case "none": {
      const zero = new Uint8Array(64);
      return { sign: () => zero, verify: () => true };
    }
    case "native":
      return { sign: nativeSigner(secretKey), verify: nativeVerifier() };
    case "portable":
      return { sign: createSigner(secretKey), verify: createVerifier() };
  }
}

export interface ChorusFixture {
  readonly engine: ChannelEngine;
  readonly traffic: ChorusTraffic;
  /** Advances the virtual clock by one message interval and returns it. */
  tick(): number;
  /** Signature checks are off while the log is built (`"none"`); this switches signer and verifier. */
  setCrypto(crypto: Crypto): void;
  /** Signature verifications asked of the verifier since the fixture was made. */
  readonly verifications: number;
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
 * with signatures off (ed25519 would make a 1M log take an hour); everything else, from decoding to id
 * checks, runs as in production. `setCrypto` then picks what signs and verifies, so that one log serves
 * the measurements with and without signatures.
 */
export function chorusAtLogSize(size: number, senders: number, crypto: Crypto = "none"): ChorusFixture {
  const secretKey = benchIdentity("member-under-test").secretKey;
  let current = cryptoFor("none", secretKey);
  let verifications = 0;
  const engine = memberUnderTest(size, {
    verifySignature: (bytes, signature, senderId: SenderId) => {
      verifications++;
      return current.verify(bytes, signature, senderId);
    },
    sign: (unsigned) => current.sign(unsigned),
  });
  const traffic = new ChorusTraffic(senders);
  let now = feedLog(engine, traffic, size, START_MS);
  current = cryptoFor(crypto, secretKey);
  return {
    engine,
    traffic,
    tick: () => {
      now += STEP_MS;
      return now;
    },
    setCrypto: (c) => {
      current = cryptoFor(c, secretKey);
    },
    get verifications() {
      return verifications;
    },
  };
}
