import type { MessageKind, WireMessage } from "../wire/index.js";
import type { MessageId, SenderId } from "./ids.js";

/** A message the application receives, in causal order. */
export interface DeliveredMessage {
  readonly messageId: MessageId;
  readonly senderId: SenderId;
  /** Per-sender sequence number; undefined for messages from SDS peers, which have none. */
  readonly sequence: number | undefined;
  readonly lamportTimestamp: bigint;
  readonly content: Uint8Array;
  /** Local time at which it became deliverable. */
  readonly deliveredAt: number;
  /** True for the member's own messages. */
  readonly own: boolean;
}

/** Names a message by id, by (sender, sequence), or both. */
export interface MessageRef {
  readonly messageId?: MessageId;
  readonly senderId?: SenderId;
  readonly sequence?: number;
}

/** How a gap was noticed; `owner-head` is a sender's newest sequence number as the owner told it. */
export type GapSource = "causal-history" | "sequence" | "ack-mark" | "owner-head";

/** Why an incoming message was refused, as a stable code (the event's `reason` adds the values involved). */
export type RejectionCode =
  | "undecodable"
  | "wrong-channel"
  | "not-a-member"
  | "unsigned-not-allowed"
  | "unsigned-claims-chorus-id"
  | "unsigned-chorus-fields"
  | "bad-sender-id"
  | "missing-signature"
  | "id-mismatch"
  | "sync-with-sequence"
  | "bad-signature"
  | "future-timestamp"
  | "over-quota"
  | "replayed-sync"
  | "pending-full"
  | "sender-pending-full";

export type EngineEvent =
  /**
   * Another member's content message passed every check and is new here: it is delivered in this step or waits
   * for its dependencies. A caller that keeps messages durably stores it now.
   */
  | {
      readonly type: "accepted";
      readonly messageId: MessageId;
      readonly senderId: SenderId;
      readonly sequence: number | undefined;
    }
  | { readonly type: "delivered"; readonly message: DeliveredMessage }
  | {
      readonly type: "ephemeral";
      readonly messageId: MessageId;
      readonly senderId: SenderId;
      readonly content: Uint8Array;
    }
  /** A message is known to exist and is not here: a gap was detected. */
  | { readonly type: "missing"; readonly ref: MessageRef; readonly source: GapSource }
  /** A message reported missing has arrived. */
  | {
      readonly type: "repaired";
      readonly messageId: MessageId;
      readonly senderId: SenderId;
      readonly sequence: number | undefined;
      readonly afterMs: number;
    }
  /** A missing message was given up on; the messages waiting for it were delivered without it. */
  | { readonly type: "lost"; readonly ref: MessageRef; readonly dependents: number }
  /** A member was learnt to hold one of our own messages. */
  | {
      readonly type: "acknowledged";
      readonly messageId: MessageId;
      readonly by: SenderId;
      readonly count: number;
      readonly members: number;
    }
  /** A sender signed another message with a sequence number already delivered: every version is kept. */
  | { readonly type: "equivocation"; readonly equivocation: Equivocation }
  /** An incoming message was refused; nothing in the engine changed because of it. */
  | {
      readonly type: "rejected";
      readonly code: RejectionCode;
      readonly reason: string;
      readonly senderId?: string;
      readonly messageId?: string;
    };

export type OutgoingPurpose =
  | "content"
  | "ephemeral"
  | "resend"
  | "sync"
  | "repair-request"
  | "repair-response"
  /** Every version of an equivocation, published once by the member that found a new version (spec 9.6). */
  | "equivocation";

/** Two or more validly signed content messages of one sender with one sequence number (spec section 9.6). */
export interface Equivocation {
  readonly senderId: SenderId;
  readonly sequence: number;
  /** Every version found, ascending: each is in the log, delivered once. */
  readonly messageIds: readonly MessageId[];
  /** When this member first found it (local ms). */
  readonly detectedAt: number;
}

/** Bytes the caller must publish on the channel's topic. */
export interface Outgoing {
  readonly bytes: Uint8Array;
  /** The message `bytes` encode, so that callers need not decode the engine's own output. */
  readonly message: WireMessage;
  readonly messageId: MessageId;
  readonly kind: MessageKind;
  readonly purpose: OutgoingPurpose;
}

/** The result of every engine call: what to publish and what happened. */
export interface Step {
  readonly outgoing: readonly Outgoing[];
  readonly events: readonly EngineEvent[];
}

export interface SendResult extends Step {
  readonly messageId: MessageId;
  readonly sequence: number | undefined;
  readonly lamportTimestamp: bigint | undefined;
}

export type OwnState = "pending" | "possibly-acknowledged" | "acknowledged";

export interface Receipts {
  /** Members known to hold the message (confirmed: a mark, a causal-history reference, or two filters). */
  readonly count: number;
  /** Known members other than ourselves. */
  readonly members: number;
  readonly ratio: number;
  readonly ackedBy: readonly SenderId[];
  /** Members whose filter answered "maybe" once, not yet confirmed. */
  readonly possiblyBy: readonly SenderId[];
}

export type MessageStatus =
  | {
      readonly messageId: MessageId;
      readonly own: true;
      readonly state: OwnState;
      readonly sequence: number;
      readonly resends: number;
      readonly receipts: Receipts;
    }
  | {
      readonly messageId: MessageId;
      readonly own: false;
      readonly state: "delivered" | "pending" | "missing" | "lost";
    };

/**
 * What one random draw of the engine decides (spec section 18.1). The engine passes it to its `random` source,
 * which may ignore it; a conformance driver (Appendix B) answers each draw with the value the trace lists for it.
 */
export type Draw =
  | { readonly use: "request-delay"; readonly ref: MessageRef }
  | { readonly use: "response-delay" | "stand-by" | "resend-delay"; readonly messageId: string }
  | { readonly use: "sync-jitter" }
  | { readonly use: "nonce" };

/** Uniform numbers in [0, 1); `draw` says what the value decides. */
export type RandomSource = (draw?: Draw) => number;
