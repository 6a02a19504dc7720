import { kindOf, type MessageKind, type WireMessage } from "../wire/index.js";
import type { SignatureVerifier } from "./identity.js";
import { carriesExpectedId, expectedMessageId, isChorusSenderId, type SenderId } from "./ids.js";
import { mutated, type Params } from "./params.js";
import { SenderQuota } from "./quota.js";
import type { RejectionCode } from "./types.js";

/** Why a message is refused: a stable code, and prose with the values involved. */
export interface Refusal {
  readonly code: RejectionCode;
  readonly reason: string;
}

/** Who may post, and how signatures are checked. */
export interface AdmissionRules {
  readonly channelId: string;
  readonly self: SenderId;
  readonly params: Params;
  readonly verify: SignatureVerifier;
  readonly isMember: ((senderId: string) => boolean) | undefined;
  /**
   * True when `bytes` equal the bytes of message `id` that this member holds (delivered or waiting), which passed
   * these checks when they arrived. Ed25519 verification and the id hash are functions of the bytes, so a
   * byte-equal copy passes them again: it skips them (duplicates are most copies in a busy channel).
   */
  readonly verifiedCopy?: (id: string, bytes: Uint8Array) => boolean;
}

function refuse(code: RejectionCode, reason: string): Refusal {
  return { code, reason };
}

/** Refusals of an unsigned (SDS) message, which may not speak for a Chorus key nor use fields only signatures make safe. */
function unsignedRefusal(message: WireMessage, p: Params): Refusal | undefined {
  if (!p.interop) return refuse("unsigned-not-allowed", "unsigned SDS message and interop is off");
  if (isChorusSenderId(message.senderId)) {
    return refuse("unsigned-claims-chorus-id", "unsigned message claims a Chorus sender id");
  }
  if (message.sequence !== undefined || message.ack !== undefined || message.sequenceRepairRequest.length > 0) {
    return refuse("unsigned-chorus-fields", "unsigned message carries Chorus fields");
  }
  return undefined;
}

function signedRefusal(
  message: WireMessage,
  bytes: Uint8Array,
  rules: AdmissionRules,
  shared: boolean,
): Refusal | undefined {
  if (!isChorusSenderId(message.senderId)) {
    return refuse("bad-sender-id", "sender id is not an ed25519 public key in hex");
  }
  if (message.signature === undefined) return refuse("missing-signature", "missing signature");
  if (rules.verifiedCopy?.(message.messageId, bytes) === true) return undefined;
  // A decoded object many engines receive (a simulator's) keeps its id in a memo; one only this engine sees, not.
  if (shared ? expectedMessageId(message) !== message.messageId : !carriesExpectedId(message)) {
    return refuse("id-mismatch", `message id does not match its fields (expected ${expectedMessageId(message)})`);
  }
  if (kindOf(message) === "sync" && message.sequence !== undefined) {
    return refuse("sync-with-sequence", "sync message carries a sequence number");
  }
  if (!rules.verify(bytes, message.signature, message.senderId as SenderId))
    return refuse("bad-signature", "bad signature");
  return undefined;
}

/**
 * A future-skew limit as a bigint, kept across receives: one BigInt per receive was ~5 % of a large simulation's
 * CPU. A kept limit no higher than this one admits every timestamp up to it, so it is made again only when a
 * timestamp passes it (about once per `maxFutureSkewMs` as time goes on) or time went back.
 */
let keptLimit = Number.NaN;
let keptLimitBig = 0n;

/** `lamport > BigInt(limit)`, which throws as that does for a limit that is no integer. */
function beyondLimit(lamport: bigint, limit: number): boolean {
  if (keptLimit <= limit && lamport <= keptLimitBig && Number.isFinite(limit)) return false;
  if (limit !== keptLimit) {
    keptLimitBig = BigInt(limit);
    keptLimit = limit;
  }
  return lamport > keptLimitBig;
}

/**
 * Why a decoded message must be refused before it touches any state, or undefined when it may be processed.
 * `shared` says the caller decoded `message` and may hand the same object to other engines.
 */
export function refusalOf(
  message: WireMessage,
  bytes: Uint8Array,
  now: number,
  rules: AdmissionRules,
  shared = true,
): Refusal | undefined {
  if (message.channelId !== rules.channelId) return refuse("wrong-channel", `wrong channel "${message.channelId}"`);
  if (rules.isMember !== undefined && message.senderId !== rules.self && !rules.isMember(message.senderId)) {
    return refuse("not-a-member", "sender is not a member of the channel");
  }
  const p = rules.params;
  const refusal =
    message.kind === undefined ? unsignedRefusal(message, p) : signedRefusal(message, bytes, rules, shared);
  if (refusal !== undefined) return refusal;
  if (message.lamportTimestamp !== undefined && !mutated(p, "clock-skew")) {
    if (beyondLimit(message.lamportTimestamp, Math.floor(Math.max(0, now) + p.maxFutureSkewMs))) {
      return refuse(
        "future-timestamp",
        `lamport timestamp ${message.lamportTimestamp} is more than ${p.maxFutureSkewMs} ms ahead`,
      );
    }
  }
  return undefined;
}

/**
 * The per-sender rate quota (quota.ts), charged for messages that passed validation and are new here. It runs
 * after the signature check, so nobody can spend another member's quota with forged messages, and after the
 * duplicate check, so rebroadcasts of what we hold cost the author nothing. A refused message changes no state:
 * not seen, not heard from, no gap, so a legitimate one comes back through repair. Repairs are free by
 * construction: a content message pays for its sender's sequence numbers up to its own, so the ones it skipped
 * are paid when they arrive. Bytes the caller fetched on purpose (`requested`) are exempt, and so are unsigned
 * SDS messages (no sequence numbers) that we miss by id.
 */
export class RateQuota {
  private readonly quota: SenderQuota;

  constructor(private readonly params: Params) {
    this.quota = new SenderQuota(params.senderQuotaPer600s, params.senderQuotaBurst, params.maxMembers);
  }

  get size(): number {
    return this.quota.size;
  }

  /** `twin`: another version of a number the sender already paid for (an equivocation) costs one token. */
  charge(message: WireMessage, kind: MessageKind, now: number, missedById: boolean, twin = false): Refusal | undefined {
    const signed = message.kind !== undefined;
    if ((kind === "content" && !signed && missedById) || mutated(this.params, "quota")) return undefined;
    const sequence = kind === "content" && signed && !twin ? message.sequence : undefined;
    const syncLamport = kind === "sync" && signed ? (message.lamportTimestamp ?? 0n) : undefined;
    switch (this.quota.take(message.senderId, now, sequence, syncLamport)) {
      case "ok":
        return undefined;
      case "stale":
        if (mutated(this.params, "replayed-sync")) return undefined;
        return refuse("replayed-sync", "replayed sync message (its sender's quota is not charged)");
      case "over": {
        const p = this.params;
        return refuse(
          "over-quota",
          `sender is over its rate quota (${p.senderQuotaPer600s} messages per 600 s, burst ${p.senderQuotaBurst})`,
        );
      }
    }
  }
}
