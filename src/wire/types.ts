/** Plain-object view of a Chorus (or SDS) message, as encoded on the wire. */

/** Explicit message kind. `undefined` on a decoded message means the sender did not state it (an SDS peer). */
export type MessageKind = "content" | "sync" | "ephemeral";

export interface HistoryEntry {
  readonly messageId: string;
  readonly retrievalHint?: Uint8Array;
  readonly senderId?: string;
}

/** "I hold every message of the sender whose key starts with `senderPrefix`, from `first` to `sequence`." */
export interface ReceivedUpTo {
  readonly senderPrefix: Uint8Array;
  readonly sequence: number;
  /** First sequence number of the run; 1 when absent. */
  readonly first?: number;
}

/** The acknowledgement summary carried by Chorus messages (see spec/chorus.md, "Acknowledgement summary"). */
export interface AckSummary {
  readonly nonce: bigint;
  readonly filter: Uint8Array;
  readonly hashCount: number;
  readonly marks: readonly ReceivedUpTo[];
}

/** Request for a sender's messages `first..last` (inclusive) by sequence number. */
export interface SequenceRange {
  readonly senderId: string;
  readonly first: number;
  readonly last: number;
}

export interface WireMessage {
  readonly senderId: string;
  readonly messageId: string;
  readonly channelId: string;
  readonly lamportTimestamp?: bigint;
  readonly causalHistory: readonly HistoryEntry[];
  readonly bloomFilter?: Uint8Array;
  readonly repairRequest: readonly HistoryEntry[];
  readonly content?: Uint8Array;
  readonly kind?: MessageKind;
  readonly sequence?: number;
  readonly ack?: AckSummary;
  readonly sequenceRepairRequest: readonly SequenceRange[];
  readonly signature?: Uint8Array;
}

/** Bounds enforced by `decodeMessage`. Every field of a decoded message is within them. */
export interface DecodeLimits {
  /** Whole encoded message. Waku's hard limit is 150 KB. */
  readonly maxMessageBytes: number;
  readonly maxContentBytes: number;
  readonly maxIdLength: number;
  readonly maxChannelIdLength: number;
  readonly maxHistoryEntries: number;
  readonly maxRepairRequests: number;
  readonly maxSequenceRanges: number;
  /** Widest range one SequenceRange may ask for. */
  readonly maxSequenceRangeSpan: number;
  readonly maxRetrievalHintBytes: number;
  /** Ack filter bytes. */
  readonly maxFilterBytes: number;
  /** SDS bloom filter bytes (SDS's default filter is 18,752 bytes). */
  readonly maxBloomFilterBytes: number;
  readonly maxMarks: number;
  readonly maxHashCount: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = Object.freeze({
  maxMessageBytes: 150 * 1024,
  maxContentBytes: 150 * 1024,
  maxIdLength: 128,
  maxChannelIdLength: 256,
  maxHistoryEntries: 256,
  maxRepairRequests: 64,
  maxSequenceRanges: 16,
  maxSequenceRangeSpan: 10_000,
  maxRetrievalHintBytes: 256,
  maxFilterBytes: 4096,
  maxBloomFilterBytes: 32 * 1024,
  maxMarks: 64,
  maxHashCount: 16,
});

/** Largest lamport timestamp accepted: 2^63 - 1, so that it stays a signed 64-bit value everywhere. */
export const MAX_LAMPORT = (1n << 63n) - 1n;
