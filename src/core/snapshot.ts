import { type DecodeLimits, decodeMessage } from "../wire/index.js";
import type { OwnJson, OwnReceipts } from "./acks/receipts.js";
import type { SummaryWriter } from "./acks/summary.js";
import type { CausalBuffer } from "./causal-buffer.js";
import type { EquivocationJson, EquivocationLog } from "./equivocation.js";
import type { SenderId } from "./ids.js";
import type { MemberDirectory } from "./members.js";
import { type CachedJson, fromHex, type MessageCache } from "./message-cache.js";
import type { GapTracker, MissingJson } from "./repair/gaps.js";
import type { Responder } from "./repair/responder.js";
import type { SenderJson, SenderTable } from "./senders.js";

/** JSON-serialisable engine state; `ChannelEngine.restore` rebuilds an engine from it. */
export interface EngineSnapshot {
  readonly version: 1;
  readonly channelId: string;
  readonly senderId: string;
  readonly lamport: string;
  readonly ownSequence: number;
  readonly horizon: number;
  readonly lastSentAt: number;
  readonly ackDirty: boolean;
  readonly controlSent: readonly number[];
  readonly responsesSent: readonly number[];
  readonly senders: readonly SenderJson[];
  readonly members: readonly [string, number][];
  readonly memberConfirmed: readonly [string, number][];
  readonly seen: readonly string[];
  readonly lost: readonly string[];
  readonly cache: readonly CachedJson[];
  readonly history: readonly string[];
  readonly recentReceived: readonly string[];
  readonly markOrder: readonly string[];
  /** Absent in snapshots from before mark rotation. */
  readonly markQueue?: readonly string[];
  readonly pending: readonly { bytes: string; receivedAt: number }[];
  readonly missing: readonly MissingJson[];
  readonly own: readonly OwnJson[];
  /** Present only when an equivocation was found, so that other snapshots keep their format. */
  readonly equivocations?: readonly EquivocationJson[];
}

/** The engine's own scalars, beside what its parts hold. */
export interface EngineScalars {
  readonly channelId: string;
  readonly senderId: string;
  readonly lamport: bigint;
  readonly ownSequence: number;
  readonly horizon: number;
  readonly lastSentAt: number;
  readonly ackDirty: boolean;
  readonly controlSent: readonly number[];
}

export interface EngineParts {
  readonly senders: SenderTable;
  readonly members: MemberDirectory;
  readonly cache: MessageCache;
  readonly summary: SummaryWriter;
  readonly buffer: CausalBuffer;
  readonly gaps: GapTracker;
  readonly receipts: OwnReceipts;
  readonly responder: Responder;
  readonly equivocations: EquivocationLog;
}

/** Size limits for callers that keep the messages themselves: the newest `cache` messages and `seen` ids. */
export interface SnapshotLimits {
  readonly cache?: number;
  readonly seen?: number;
}

/** Composes a snapshot from the engine's scalars and each part's own JSON (field order is the format's). */
export function writeSnapshot(e: EngineScalars, parts: EngineParts, limits: SnapshotLimits): EngineSnapshot {
  const marks = parts.summary.toJSON();
  return {
    version: 1,
    channelId: e.channelId,
    senderId: e.senderId,
    lamport: e.lamport.toString(),
    ownSequence: e.ownSequence,
    horizon: e.horizon,
    lastSentAt: e.lastSentAt,
    ackDirty: e.ackDirty,
    controlSent: [...e.controlSent],
    responsesSent: parts.responder.budgetJson(),
    senders: parts.senders.toJSON(),
    members: parts.members.toJSON(),
    memberConfirmed: parts.receipts.confirmedJson(),
    seen: parts.cache.seenJson(limits.seen),
    lost: parts.cache.givenUpJson(),
    cache: parts.cache.cacheJson(limits.cache),
    history: parts.cache.historyJson(),
    recentReceived: marks.recentReceived,
    markOrder: marks.markOrder,
    markQueue: marks.markQueue,
    pending: parts.buffer.toJSON(),
    missing: parts.gaps.toJSON(),
    own: parts.receipts.toJSON(),
    ...(parts.equivocations.size === 0 ? {} : { equivocations: parts.equivocations.toJSON() }),
  };
}

/** Restores every part from `s`; timers are pushed in the order the engine held them: missing, pending, own. */
export function readSnapshot(s: EngineSnapshot, parts: EngineParts, limits: DecodeLimits | undefined): void {
  parts.responder.restoreBudget(s.responsesSent);
  parts.senders.restore(s.senders);
  parts.members.restore(s.members);
  parts.cache.restore(s, limits);
  parts.summary.restore(s);
  parts.gaps.restore(s.missing);
  const waiting = s.pending.map((p) => ({ bytes: fromHex(p.bytes), receivedAt: p.receivedAt }));
  const messages = waiting.map((p) => decodeMessage(p.bytes, limits));
  const restoring = new Set(messages.map((m) => m.messageId));
  waiting.forEach((p, i) => {
    // By the rules of receiving; one whose dependencies are all met by now is delivered at the first tick.
    const message = messages[i]!;
    const state = parts.senders.get(message.senderId as SenderId);
    const deps = parts.buffer.dependenciesOf(message, state, parts.cache, parts.gaps, undefined, restoring);
    parts.buffer.add(message, p.bytes, p.receivedAt, deps, deps.length === 0 ? p.receivedAt : undefined);
  });
  parts.receipts.restore(s.memberConfirmed, s.own, limits);
  parts.equivocations.restore(s.equivocations);
}

/** Throws unless `snapshot` is one this engine version reads, for this channel and identity. */
export function checkSnapshot(snapshot: EngineSnapshot, channelId: string, senderId: string): void {
  if (snapshot?.version !== 1) throw new RangeError(`unsupported snapshot version ${String(snapshot?.version)}`);
  if (snapshot.channelId !== channelId) {
    throw new RangeError(`snapshot is for channel "${snapshot.channelId}", not "${channelId}"`);
  }
  if (snapshot.senderId !== senderId) {
    throw new RangeError(`snapshot belongs to sender ${snapshot.senderId}, not ${senderId}`);
  }
}
