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

  /**
   * A message's fields before requests, summary and signature: plain object literals (a spread cost a tenth of a
   * send), with the summary and signature fields last and empty, which `seal` fills in place.
   */
  private base(
    messageId: MessageId,
    kind: "content" | "sync",
    lamportTimestamp: bigint,
    causalHistory: WireMessage["causalHistory"],
    content: Uint8Array | undefined,
    sequence: number | undefined,
  ): Unsealed {
    const { self: senderId, channelId } = this;
    const repairRequest = NONE;
    const sequenceRepairRequest = NONE;
    const ack = undefined;
    const signature = undefined;
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
        ack,
        signature,
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
        ack,
        signature,
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
      ack,
      signature,
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

  /**
   * Adds the summary that fits and the signature; `length` is `encodedLength(base)` when measured already. A message
   * with a summary is `base` itself, its summary and signature set in place (a second message object, the fields
   * copied, cost a tenth of a send); one without (an ephemeral message, or nothing to acknowledge yet) has no summary
   * field at all.
   */
  private seal(base: Unsealed, length?: number): Composed {
    const { buffer, ack } = this.summary.encodeFitting(base, length);
    const signature = this.sign(buffer.subarray(0, buffer.length - SIGNATURE_TRAILER_BYTES));
    const bytes = writeSignature(buffer, signature);
    if (ack === undefined) {
      const { ack: _none, signature: _unsigned, ...fields } = base;
      return { bytes, message: { ...fields, signature } };
    }
    base.ack = ack;
    base.signature = signature;
    return { bytes, message: base as WireMessage };
  }
}

/** A message being composed: its summary and signature are set by `seal`. */
type Unsealed = UnsignedBase & { ack?: AckSummary; signature?: Uint8Array };
