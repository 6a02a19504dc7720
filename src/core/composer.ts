import {
  type AckSummary,
  encodedLength,
  SIGNATURE_TRAILER_BYTES,
  type WireMessage,
  writeSignature,
} from "../wire/index.js";
import { SIGNATURE_FIELD_BYTES, type SummaryWriter, type UnsignedBase } from "./acks/summary.js";
import type { EquivocationLog } from "./equivocation.js";
import type { MessageId, SenderId } from "./ids.js";
import type { MessageCache } from "./message-cache.js";
import type { Params } from "./params.js";
import type { GapTracker } from "./repair/gaps.js";

/** The empty request lists of a message that carries none: one frozen array, where two fresh ones a send cost garbage. */
const NONE: readonly never[] = Object.freeze([]);

export function checkContent(content: Uint8Array): void {
  if (!(content instanceof Uint8Array) || content.length === 0) {
    throw new TypeError("content must be a non-empty Uint8Array");
  }
}

/** A message and the bytes that encode it. */
export interface Composed {
  readonly bytes: Uint8Array;
  readonly message: WireMessage;
}

/**
 * Builds our outgoing messages within the overhead budget: causal history (with the versions a running
 * equivocation notice names), then the repair requests that are due and fit, then the largest acknowledgement
 * summary that fits, then the signature.
 */
export class MessageComposer {
  constructor(
    private readonly params: Params,
    private readonly channelId: string,
    private readonly self: SenderId,
    private readonly sign: (unsigned: Uint8Array) => Uint8Array,
    private readonly cache: MessageCache,
    private readonly gaps: GapTracker,
    private readonly summary: SummaryWriter,
    private readonly equivocations: EquivocationLog,
  ) {}

  /** A content message (with `content` and `sequence`) or a sync message. Due requests it carries count as asked. */
  compose(
    messageId: MessageId,
    kind: "content" | "sync",
    lamport: bigint,
    now: number,
    content?: Uint8Array,
    sequence?: number,
  ): Composed {
    const causalHistory = this.cache.causalHistory(this.equivocations.named(now));
    const base = this.base(messageId, kind, lamport, causalHistory, content, sequence);
    const length = encodedLength(base);
    const used = length + SIGNATURE_FIELD_BYTES - (content?.length ?? 0);
    const requests = this.gaps.collect(now, this.params.overheadBudgetBytes - used);
    if (requests.ids.length === 0 && requests.ranges.length === 0) return this.seal(base, length);
    return this.seal({ ...base, repairRequest: requests.ids, sequenceRepairRequest: requests.ranges });
  }

  /** A message's fields before requests, summary and signature: plain object literals (a spread cost a tenth of a send). */
  private base(
    messageId: MessageId,
    kind: "content" | "sync",
    lamportTimestamp: bigint,
    causalHistory: WireMessage["causalHistory"],
    content: Uint8Array | undefined,
    sequence: number | undefined,
  ): UnsignedBase {
    const { self: senderId, channelId } = this;
    const repairRequest = NONE;
    const sequenceRepairRequest = NONE;
    if (content === undefined) {
      return {
        senderId,
        messageId,
        channelId,
        lamportTimestamp,
        causalHistory,
        repairRequest,
        sequenceRepairRequest,
        kind,
      };
    }
    if (sequence === undefined) {
      return {
        senderId,
        messageId,
        channelId,
        lamportTimestamp,
        causalHistory,
        repairRequest,
        sequenceRepairRequest,
        content,
        kind,
      };
    }
    return {
      senderId,
      messageId,
      channelId,
      lamportTimestamp,
      causalHistory,
      repairRequest,
      sequenceRepairRequest,
      content,
      kind,
      sequence,
    };
  }

  /** An ephemeral message: no timestamp, history, requests or acknowledgements. */
  ephemeral(messageId: MessageId, content: Uint8Array): Composed {
    return this.seal({
      senderId: this.self,
      messageId,
      channelId: this.channelId,
      causalHistory: [],
      repairRequest: [],
      sequenceRepairRequest: [],
      content,
      kind: "ephemeral",
    });
  }

  /** Adds the summary that fits and the signature; `length` is `encodedLength(base)` when measured already. */
  private seal(base: UnsignedBase, length?: number): Composed {
    const { buffer, ack } = this.summary.encodeFitting(base, length);
    const signature = this.sign(buffer.subarray(0, buffer.length - SIGNATURE_TRAILER_BYTES));
    return { bytes: writeSignature(buffer, signature), message: signed(base, ack, signature) };
  }
}

/**
 * `base` with its summary and signature. The shapes a content or sync message takes are written out as literals
 * (a spread into a literal cost a tenth of a send); other messages (ephemeral, or with a field `base()` never
 * sets) are spread.
 */
function signed(base: UnsignedBase, ack: AckSummary | undefined, signature: Uint8Array): WireMessage {
  if (ack === undefined || base.lamportTimestamp === undefined || base.bloomFilter !== undefined) {
    return ack === undefined ? { ...base, signature } : { ...base, ack, signature };
  }
  const { senderId, messageId, channelId, lamportTimestamp, causalHistory, repairRequest, sequenceRepairRequest } =
    base;
  const { content, kind, sequence } = base;
  if (content === undefined) {
    if (sequence !== undefined || kind === undefined) return { ...base, ack, signature };
    return {
      senderId,
      messageId,
      channelId,
      lamportTimestamp,
      causalHistory,
      repairRequest,
      sequenceRepairRequest,
      kind,
      ack,
      signature,
    };
  }
  if (sequence === undefined || kind === undefined) return { ...base, ack, signature };
  return {
    senderId,
    messageId,
    channelId,
    lamportTimestamp,
    causalHistory,
    repairRequest,
    sequenceRepairRequest,
    content,
    kind,
    sequence,
    ack,
    signature,
  };
}
