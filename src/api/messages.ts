import type { MessageStatus } from "../core/index.js";
import type { ReceiptSummary } from "../node/history-protocol.js";
import type { StoredMessage } from "../storage/index.js";
import { DecodeError, decodeMessage } from "../wire/index.js";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const lenientUtf8 = new TextDecoder("utf-8");

/** Content as JSON text; bytes that are not UTF-8 (an SDS peer may send any) also come as base64. */
export function textOf(content: Uint8Array): { content: string; contentBase64?: string } {
  try {
    return { content: strictUtf8.decode(content) };
  } catch {
    return { content: lenientUtf8.decode(content), contentBase64: Buffer.from(content).toString("base64") };
  }
}

export interface LogEntry {
  readonly position: number | null;
  readonly messageId: string;
  readonly senderId: string;
  readonly seq: number | null;
  readonly lamportTimestamp: string;
  readonly content: string;
  readonly contentBase64?: string;
  readonly receivedAt: number;
  readonly own: boolean;
}

/** A stored message as the log shows it. The store keeps the signed bytes; the content is decoded from them. */
export function logEntry(message: StoredMessage, self: string): LogEntry {
  let content: Uint8Array = new Uint8Array();
  try {
    content = decodeMessage(message.bytes).content ?? content;
  } catch (err) {
    // Stored bytes passed the same decoder on the way in; a failure here means a damaged store.
    if (!(err instanceof DecodeError)) throw err;
  }
  return {
    position: message.deliveredPos,
    messageId: message.messageId,
    senderId: message.senderId,
    seq: message.seq,
    lamportTimestamp: message.lamport.toString(),
    ...textOf(content),
    receivedAt: message.receivedAt,
    own: message.senderId === self,
  };
}

export interface ApiReceipts {
  readonly count: number;
  readonly members: number;
  readonly ratio: number;
  readonly ackedBy: string[];
  readonly possiblyBy: string[];
  readonly sources: ("local" | "owner")[];
}

/**
 * Merges what this node learnt itself with what the owner aggregated: the union of the members known to
 * hold the message, over the larger member count (each side may know members the other never heard from).
 * `sender` is never counted as holding its own message.
 */
export function mergeReceipts(
  local: { count: number; members: number; ackedBy: readonly string[]; possiblyBy?: readonly string[] } | undefined,
  owner: ReceiptSummary | undefined,
  sender: string | undefined,
): ApiReceipts | null {
  if (local === undefined && owner === undefined) return null;
  const ackedBy = new Set<string>([...(local?.ackedBy ?? []), ...(owner?.ackedBy ?? [])]);
  if (sender !== undefined) ackedBy.delete(sender);
  const members = Math.max(local?.members ?? 0, owner?.members ?? 0, ackedBy.size);
  const count = ackedBy.size;
  return {
    count,
    members,
    ratio: members === 0 ? 0 : count / members,
    ackedBy: [...ackedBy].sort(),
    possiblyBy: (local?.possiblyBy ?? []).filter((m) => !ackedBy.has(m)),
    sources: [...(local === undefined ? [] : ["local" as const]), ...(owner === undefined ? [] : ["owner" as const])],
  };
}

export function localReceipts(
  status: MessageStatus | undefined,
): { count: number; members: number; ackedBy: readonly string[]; possiblyBy: readonly string[] } | undefined {
  return status?.own ? status.receipts : undefined;
}

const OWN_STATES = ["pending", "possibly-acknowledged", "acknowledged"] as const;
type OwnState = (typeof OWN_STATES)[number];

/**
 * The state of an own message with the owner's receipts counted in, by the engine's rule (acknowledged once
 * `ackQuorum` of the members hold it, at least one). It never goes below the local state.
 */
export function mergedOwnState(local: OwnState, receipts: ApiReceipts | null, ackQuorum: number): OwnState {
  if (receipts === null) return local;
  const quorum = Math.max(1, Math.ceil(ackQuorum * receipts.members));
  const merged: OwnState =
    receipts.count >= quorum
      ? "acknowledged"
      : receipts.count > 0 || receipts.possiblyBy.length > 0
        ? "possibly-acknowledged"
        : "pending";
  return OWN_STATES.indexOf(merged) > OWN_STATES.indexOf(local) ? merged : local;
}
