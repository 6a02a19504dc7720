import type { DeliveredMessage, Equivocation, MessageRef, MessageStatus, OwnState } from "../core/index.js";
import type { StoredMessage } from "../storage/index.js";
import { DecodeError, decodeMessage } from "../wire/index.js";
import type { ReceiptSummary } from "./history-protocol.js";

/** One message of the delivered log (or stored, waiting), with its content decoded from the signed bytes. */
export interface LogEntry {
  /** 1-based position in the delivered log; null while it waits for what it depends on. */
  readonly position: number | null;
  readonly messageId: string;
  readonly senderId: string;
  /** Null for messages of SDS peers, which have no sequence numbers. */
  readonly seq: number | null;
  readonly lamportTimestamp: bigint;
  readonly content: Uint8Array;
  readonly receivedAt: number;
  readonly own: boolean;
  /** Set when its sender signed another message with the same sequence number (spec 9.6). */
  readonly equivocation?: Equivocation;
  /** Where the network can find it again (Waku: its message hash); absent when the transport gave none. */
  readonly retrievalHint?: Uint8Array;
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
    lamportTimestamp: message.lamport,
    content,
    receivedAt: message.receivedAt,
    own: message.senderId === self,
    ...(message.retrievalHint === undefined ? {} : { retrievalHint: message.retrievalHint }),
  };
}

/** A delivery the node reports, as the same log entry that reading the log back gives. */
export function deliveredEntry(message: DeliveredMessage, position: number | null): LogEntry {
  return {
    position,
    messageId: message.messageId,
    senderId: message.senderId,
    seq: message.sequence ?? null,
    lamportTimestamp: message.lamportTimestamp,
    content: message.content,
    receivedAt: message.deliveredAt,
    own: message.own,
  };
}

/** Who holds a message, from this node's engine and/or the owner's aggregate. */
export interface MergedReceipts {
  readonly count: number;
  readonly members: number;
  readonly ratio: number;
  readonly ackedBy: string[];
  readonly possiblyBy: string[];
  readonly sources: ("local" | "owner")[];
}

/** Receipts as this node's engine counts them (`possiblyBy` for own messages only). */
interface LocalReceipts {
  readonly count: number;
  readonly members: number;
  readonly ackedBy: readonly string[];
  readonly possiblyBy?: readonly string[];
}

/**
 * Merges what this node learnt itself with what the owner aggregated: the union of the members known to
 * hold the message, over the larger member count (each side may know members the other never heard from).
 * `sender` is never counted as holding its own message.
 */
export function mergeReceipts(
  local: LocalReceipts | undefined,
  owner: ReceiptSummary | undefined,
  sender: string | undefined,
): MergedReceipts | null {
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

/** What N in "delivered to k of N" is: the channel's roster, or (without one) the members heard from. */
export type Denominator = "roster" | "heard-from";

/** Receipts as the API shows them: the merge, with N's meaning and who has not confirmed yet. */
export interface ViewReceipts extends MergedReceipts {
  readonly denominator: Denominator;
  /** Members counted in N that are not known to hold it (with a roster: exactly the roster's others). */
  readonly notYet: string[];
}

/**
 * Counts merged receipts against the roster when the channel has one: N is the roster minus the sender, from
 * the first answer on, and only roster members count as holders. Without a roster N stays as merged (members
 * heard from), and `notYet` lists the members this node heard from that are not known to hold it.
 */
export function countAgainst(
  merged: MergedReceipts,
  sender: string | undefined,
  roster: readonly string[] | undefined,
  heardFrom: readonly string[],
): ViewReceipts {
  if (roster === undefined) {
    const held = new Set(merged.ackedBy);
    const notYet = heardFrom.filter((m) => m !== sender && !held.has(m)).sort();
    return { ...merged, denominator: "heard-from", notYet };
  }
  const others = roster.filter((m) => m !== sender);
  const onRoster = new Set(others);
  const ackedBy = merged.ackedBy.filter((m) => onRoster.has(m));
  const held = new Set(ackedBy);
  const members = others.length;
  return {
    ...merged,
    count: ackedBy.length,
    members,
    ratio: members === 0 ? 0 : ackedBy.length / members,
    ackedBy,
    possiblyBy: merged.possiblyBy.filter((m) => onRoster.has(m) && !held.has(m)),
    denominator: "roster",
    notYet: others.filter((m) => !held.has(m)).sort(),
  };
}

const OWN_STATES: readonly OwnState[] = ["pending", "possibly-acknowledged", "acknowledged"];

/**
 * The state of an own message with the owner's receipts counted in, by the engine's rule (acknowledged once
 * `ackQuorum` of the members hold it, at least one). It never goes below the local state.
 */
export function mergedOwnState(local: OwnState, receipts: MergedReceipts | null, ackQuorum: number): OwnState {
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

/** What a node knows of one message: its state, where it stands in the log, and who holds it. */
export interface MessageView {
  readonly messageId: string;
  /** Null for a missing message known only by id. */
  readonly senderId: string | null;
  readonly state: MessageStatus["state"];
  readonly own: boolean;
  readonly seq: number | null;
  readonly lamportTimestamp: bigint | null;
  readonly position: number | null;
  /** Null when the message is not stored here. */
  readonly content: Uint8Array | null;
  readonly receivedAt: number | null;
  /** Where the network can find it again (Waku: its message hash), when stored here with one. */
  readonly retrievalHint?: Uint8Array;
  /** Own messages the engine still tracks: times it was published again. */
  readonly resends?: number;
  readonly receipts: ViewReceipts | null;
}

/** What a message view reads from one channel of the node. */
export interface ViewSource {
  /** This node's sender id. */
  readonly self: string;
  readonly role: "owner" | "member";
  readonly ackQuorum: number;
  status(messageId: string): MessageStatus | undefined;
  stored(messageId: string): StoredMessage | undefined;
  missing(): readonly MessageRef[];
  /** The engine's receipts of anyone's message (the owner tracks them all; with a roster, its ledger). */
  receipts(messageId: string): LocalReceipts | undefined;
  /** The channel's roster (sender ids), or undefined when it has none. */
  roster(): readonly string[] | undefined;
  /** Members heard from, other than this node. */
  heardFrom(): readonly string[];
}

/**
 * The view of one message, undefined when the node neither tracks nor stores it. `askOwner` gives the
 * owner's receipts (or undefined); it is asked only for a message the node knows.
 */
export async function messageView(
  source: ViewSource,
  messageId: string,
  askOwner: () => Promise<ReceiptSummary | undefined>,
): Promise<MessageView | undefined> {
  const status = source.status(messageId);
  const stored = source.stored(messageId);
  if (status === undefined && stored === undefined) return undefined;
  const entry = stored === undefined ? undefined : logEntry(stored, source.self);
  const own = status?.own ?? entry?.own ?? false;
  const ref = status?.state === "missing" ? source.missing().find((r) => r.messageId === messageId) : undefined;
  const senderId = entry?.senderId ?? (own ? source.self : (ref?.senderId ?? null));
  // Own messages older than the engine tracks, and others' messages it forgot, are still in the log.
  const state = status?.state ?? (stored?.deliveredPos === null ? "pending" : "delivered");
  const local = own
    ? status?.own
      ? status.receipts
      : undefined
    : source.role === "owner"
      ? source.receipts(messageId)
      : undefined;
  const merged = mergeReceipts(local, await askOwner(), senderId ?? undefined);
  const receipts =
    merged === null ? null : countAgainst(merged, senderId ?? undefined, source.roster(), source.heardFrom());
  return {
    messageId,
    senderId,
    state: status?.own ? mergedOwnState(status.state, receipts, source.ackQuorum) : state,
    own,
    seq: entry?.seq ?? (status?.own ? status.sequence : (ref?.sequence ?? null)),
    lamportTimestamp: entry?.lamportTimestamp ?? null,
    position: entry?.position ?? null,
    content: entry?.content ?? null,
    receivedAt: entry?.receivedAt ?? null,
    ...(entry?.retrievalHint === undefined ? {} : { retrievalHint: entry.retrievalHint }),
    ...(status?.own ? { resends: status.resends } : {}),
    receipts,
  };
}
