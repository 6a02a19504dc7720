import type { DecodeLimits } from "../wire/index.js";
import type { OtherVersionLookup } from "./equivocation.js";
import type { Identity, SignatureVerifier } from "./identity.js";
import type { Params } from "./params.js";
import type { EngineParts } from "./snapshot.js";
import type { RandomSource } from "./types.js";

export interface EngineConfig {
  readonly channelId: string;
  readonly identity: Identity;
  /**
   * Uniform random numbers in [0, 1). Production: a CSPRNG (the ack nonce must be unpredictable). Each call says
   * what the draw decides, so that a test can supply the values a conformance trace lists (spec Appendix B).
   */
  readonly random: RandomSource;
  /** Local time in ms when the member joins; messages stamped earlier are history, not dependencies. */
  readonly now: number;
  readonly params?: Partial<Params>;
  /** Members asked first for repairs (the owner node); they answer at once, others wait. */
  readonly preferredResponders?: readonly string[];
  /** Replaces the ed25519 check, e.g. with a cache in a simulator that delivers one message to many members. */
  readonly verifySignature?: SignatureVerifier;
  /**
   * Replaces the ed25519 signer (RFC 8032, deterministic), e.g. with the platform's native implementation.
   * It receives the unsigned encoding and must return the 64-byte signature of "chorus/sig/v1" || bytes.
   */
  readonly sign?: (unsigned: Uint8Array) => Uint8Array;
  readonly decodeLimits?: DecodeLimits;
  /**
   * Who may post in the channel (for Communities: the owner's member list). Messages of anyone else are
   * rejected before they touch any state. Everyone may post when omitted.
   */
  readonly isMember?: (senderId: string) => boolean;
  /**
   * Another message this member holds at (sender, sequence) besides `messageId`, beyond the repair cache (a
   * node's store), so that an equivocation is recognised however old the first version is (spec 9.6).
   */
  readonly otherVersion?: OtherVersionLookup;
}

export interface ReceiveOptions {
  /**
   * The caller asked for these bytes (a page of catch-up from a history service, a replay from its own
   * store): the sender's rate quota does not apply, since the sender did not publish them now.
   */
  readonly requested?: boolean;
  /**
   * The `decoded` message passed with these bytes is this engine's alone (a node decodes once, for the engine and
   * for itself): the memos that let many engines share work on one decoded object (a simulator's) are skipped.
   */
  readonly unshared?: boolean;
}

/** Sizes of every buffer of an engine (`ChannelEngine.bufferSizes`). */
export type BufferSizes = Record<
  | "pending"
  | "missing"
  | "own"
  | "seen"
  | "cache"
  | "members"
  | "senders"
  | "timers"
  | "responses"
  | "waiters"
  | "quotas",
  number
>;

/** The sizes of an engine's buffers: its parts', its timer heap's (`timers`) and its rate quota's (`quotas`). */
export function bufferSizesOf(parts: EngineParts, timers: number, quotas: number): BufferSizes {
  return {
    pending: parts.buffer.size,
    missing: parts.gaps.size,
    own: parts.receipts.size,
    seen: parts.cache.seenCount,
    cache: parts.cache.size,
    members: parts.members.size,
    senders: parts.senders.size,
    timers,
    responses: parts.responder.size,
    waiters: parts.buffer.waitedFor,
    quotas,
  };
}
