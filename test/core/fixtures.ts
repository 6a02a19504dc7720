// Shared fixtures for engine tests: deterministic identities and randomness, hand-built signed messages.
import {
  ChannelEngine,
  computeMessageId,
  type EngineConfig,
  type Identity,
  identityFromSecretKey,
  type Params,
  senderPrefixHex,
  signEncoding,
  verifyEncoding as verify,
} from "../../src/core/index.js";
import { seededRandom } from "../../src/core/prng.js";
import type { EngineEvent, Outgoing, Step } from "../../src/core/types.js";
import { appendSignature, decodeMessage, encodeUnsigned, kindOf, type WireMessage } from "../../src/wire/index.js";

/** `chars` random lowercase hex digits. */
export function hexRandom(random: () => number, chars: number): string {
  let out = "";
  for (let i = 0; i < chars; i++) out += Math.floor(random() * 16).toString(16);
  return out;
}

/**
 * A content message from an arbitrary sender id with a dummy signature, for engines built with a verifier
 * that accepts any signature: floods and thousands of senders need no thousands of key pairs.
 */
export function unsignedContent(
  channelId: string,
  senderId: string,
  sequence: number,
  lamport: bigint,
  history: readonly string[] = [],
): Uint8Array {
  const content = new TextEncoder().encode(`message ${sequence}`);
  const messageId = computeMessageId({
    channelId,
    senderId,
    kind: "content",
    sequence,
    lamportTimestamp: lamport,
    content,
  });
  const m: WireMessage = {
    senderId,
    messageId,
    channelId,
    lamportTimestamp: lamport,
    causalHistory: history.map((id) => ({ messageId: id })),
    repairRequest: [],
    sequenceRepairRequest: [],
    content,
    kind: "content",
    sequence,
  };
  return appendSignature(encodeUnsigned(m), new Uint8Array(64));
}

export const CHANNEL = "community/general";
export const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
export const dec = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** A seeded stream of [0, 1) (mulberry32): the engine tests' randomness. */
export const prng: (seed: number) => () => number = seededRandom;

/** A sender's 8-byte prefix, as received-up-to marks name it. */
export const prefixOf = (senderId: string): Uint8Array => Buffer.from(senderPrefixHex(senderId), "hex");

/** The engine's whole state as text, to check that something changed nothing. */
export const stateOf = (engine: ChannelEngine): string => JSON.stringify(engine.snapshot());

/** Sends `text` on `engine`: the new message's id and the bytes it publishes. */
export function sendBytes(engine: ChannelEngine, text: string, now: number): { id: string; bytes: Uint8Array } {
  const r = engine.send(enc(text), now);
  return { id: r.messageId, bytes: r.outgoing[0]!.bytes };
}

const identityCache = new Map<number, Identity>();
/** The identity with secret key [n, n, ..., n] (n in 1..255) or a key derived from a larger n. */
export function identity(n: number): Identity {
  let id = identityCache.get(n);
  if (id === undefined) {
    const key = new Uint8Array(32);
    new DataView(key.buffer).setUint32(0, n);
    key.fill(0x5a, 4);
    id = identityFromSecretKey(key);
    identityCache.set(n, id);
  }
  return id;
}

export interface MakeEngine {
  readonly id?: Identity;
  readonly n?: number;
  readonly channelId?: string;
  readonly now?: number;
  readonly seed?: number;
  readonly params?: Partial<Params>;
  readonly preferredResponders?: readonly string[];
  readonly verifySignature?: EngineConfig["verifySignature"];
}

export function makeEngine(opts: MakeEngine = {}): ChannelEngine {
  const ident = opts.id ?? identity(opts.n ?? 1);
  return new ChannelEngine({
    channelId: opts.channelId ?? CHANNEL,
    identity: ident,
    random: prng(opts.seed ?? 1),
    now: opts.now ?? 0,
    ...(opts.params === undefined ? {} : { params: opts.params }),
    ...(opts.preferredResponders === undefined ? {} : { preferredResponders: opts.preferredResponders }),
    ...(opts.verifySignature === undefined ? {} : { verifySignature: opts.verifySignature }),
  });
}

/** A verifier that checks each distinct byte string once: many engines receive the same bytes. */
export function cachedVerifier(): NonNullable<EngineConfig["verifySignature"]> {
  const cache = new Map<string, boolean>();
  return (bytes, signature, senderId) => {
    const key = Buffer.from(bytes).toString("base64");
    let ok = cache.get(key);
    if (ok === undefined) {
      ok = verify(bytes, signature, senderId);
      cache.set(key, ok);
    }
    return ok;
  };
}

export interface Craft {
  readonly channelId?: string;
  readonly kind: "content" | "sync" | "ephemeral";
  readonly sequence?: number;
  readonly lamport?: bigint;
  readonly content?: Uint8Array;
  readonly causalHistory?: WireMessage["causalHistory"];
  readonly repairRequest?: WireMessage["repairRequest"];
  readonly sequenceRepairRequest?: WireMessage["sequenceRepairRequest"];
  readonly ack?: WireMessage["ack"];
  /** Overrides the computed id (to test that a mismatching id is refused). */
  readonly messageId?: string;
}

/** Builds and signs a message by hand, with a correct id unless told otherwise. */
export function craft(by: Identity, c: Craft): { bytes: Uint8Array; message: WireMessage; id: string } {
  const channelId = c.channelId ?? CHANNEL;
  const content = c.content ?? (c.kind === "sync" ? undefined : enc("x"));
  const lamport = c.kind === "ephemeral" ? undefined : (c.lamport ?? 1n);
  const sequence = c.kind === "content" ? (c.sequence ?? 1) : undefined;
  const id =
    c.messageId ??
    computeMessageId({
      channelId,
      senderId: by.senderId,
      kind: c.kind,
      sequence: sequence ?? 0,
      lamportTimestamp: lamport ?? 0n,
      content: content ?? new Uint8Array(),
    });
  const base: WireMessage = {
    senderId: by.senderId,
    messageId: id,
    channelId,
    causalHistory: c.causalHistory ?? [],
    repairRequest: c.repairRequest ?? [],
    sequenceRepairRequest: c.sequenceRepairRequest ?? [],
    kind: c.kind,
    ...(lamport === undefined ? {} : { lamportTimestamp: lamport }),
    ...(content === undefined ? {} : { content }),
    ...(sequence === undefined ? {} : { sequence }),
    ...(c.ack === undefined ? {} : { ack: c.ack }),
  };
  const unsigned = encodeUnsigned(base);
  const bytes = appendSignature(unsigned, signEncoding(unsigned, by.secretKey));
  return { bytes, message: decodeMessage(bytes), id };
}

export function eventsOf<T extends EngineEvent["type"]>(
  step: Step | readonly EngineEvent[],
  type: T,
): Extract<EngineEvent, { type: T }>[] {
  const events = "events" in step ? step.events : step;
  return events.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === type);
}

export function deliveredIds(step: Step | readonly EngineEvent[]): string[] {
  return eventsOf(step, "delivered").map((e) => e.message.messageId);
}

export function decodeOut(out: Outgoing): WireMessage {
  return decodeMessage(out.bytes);
}

/** Kind of a decoded message, as the engine sees it. */
export function kindOfBytes(bytes: Uint8Array): string {
  return kindOf(decodeMessage(bytes));
}

/** Ticks an engine at each of its deadlines up to `until`, collecting every step. */
export function runTimers(engine: ChannelEngine, until: number, max = 10_000): { at: number; step: Step }[] {
  const out: { at: number; step: Step }[] = [];
  for (let i = 0; i < max; i++) {
    const at = engine.nextDeadline();
    if (at === undefined || at > until) break;
    out.push({ at, step: engine.tick(at) });
    const next = engine.nextDeadline();
    // A tick handles everything due: a deadline that does not move would make a timer loop spin forever.
    if (next !== undefined && next <= at) throw new Error(`tick(${at}) left a deadline at ${next}`);
  }
  return out;
}
