import { bytesToHex } from "@noble/hashes/utils.js";
import {
  type AckSummary,
  appendSignature,
  DecodeError,
  type DecodeLimits,
  decodeMessage,
  encodeUnsigned,
  type HistoryEntry,
  kindOf,
  type MessageKind,
  type ReceivedUpTo,
  type SequenceRange,
  SIGNATURE_BYTES,
  type WireMessage,
} from "../wire/index.js";
import { buildFilter, channelSalt, filterHas, optimalHashCount, summaryFillRatio } from "./ack-filter.js";
import { BoundedMap, Ring } from "./bounded.js";
import { TimerHeap, type TimerKind } from "./heap.js";
import { createSigner, createVerifier, type Identity, type SignatureVerifier } from "./identity.js";
import {
  type ChannelId,
  computeMessageId,
  expectedMessageId,
  isChorusSenderId,
  type MessageId,
  markPrefixHex,
  type SenderId,
  senderPrefixBytes,
  senderPrefixHex,
} from "./ids.js";
import { type Params, resolveParams } from "./params.js";
import { SenderQuota } from "./quota.js";
import type {
  DeliveredMessage,
  EngineEvent,
  GapSource,
  MessageRef,
  MessageStatus,
  Outgoing,
  OutgoingPurpose,
  OwnState,
  SendResult,
  Step,
} from "./types.js";

export interface EngineConfig {
  readonly channelId: string;
  readonly identity: Identity;
  /** Uniform random numbers in [0, 1). Production: a CSPRNG (the ack nonce must be unpredictable). */
  readonly random: () => number;
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
}

export interface ReceiveOptions {
  /**
   * The caller asked for these bytes (a page of catch-up from a history service, a replay from its own
   * store): the sender's rate quota does not apply, since the sender did not publish them now.
   */
  readonly requested?: boolean;
}

interface SenderState {
  readonly id: SenderId;
  /** Every sequence number up to here is delivered, lost, or before this member's horizon. */
  contiguous: number;
  /** Delivered or lost sequence numbers above `contiguous`. */
  readonly above: Set<number>;
  /**
   * Highest sequence number the sender itself has shown to exist (its messages, each also vouching for the one
   * before). Other members' marks do not raise it: they are claims, which a lying member can make up.
   */
  highest: number;
  /** Highest sequence number that only marks claimed and that we gave up on; marks up to it are not chased again. */
  markedLost: number;
  /** The floor was guessed at first contact; an in-scope message just above it lowers it by one. */
  tentative: boolean;
  floor: number;
  /** First sequence number of the run of held messages that ends at `contiguous`: lost ones are not held. */
  runStart: number;
  /** Lost sequence numbers above `contiguous`; when `contiguous` passes one, a new run starts after it. */
  readonly lostAbove: Set<number>;
  /** Delivered sequence numbers just below `runStart`, waiting for the gap between them and the run to fill. */
  readonly heldBelow: Set<number>;
  pending: number;
  /**
   * Sequence numbers at or below `contiguous` that we gave up on and that have not arrived since (the newest
   * MAX_LOST_SEQS): a late copy of one of them is new, any other number up to `contiguous` was delivered.
   */
  readonly lostSeqs: Set<number>;
  /** Sequence numbers at or below `floor` (older than our first contact) delivered since (the newest MAX_LOST_SEQS). */
  readonly heldBelowFloor: Set<number>;
  /** `contiguous` as last announced in one of our marks, and in how many summaries. */
  announced: number;
  announcements: number;
}

interface CachedMessage {
  readonly messageId: MessageId;
  readonly senderId: SenderId;
  readonly sequence: number | undefined;
  readonly lamportTimestamp: bigint;
  readonly content: Uint8Array;
  readonly bytes: Uint8Array;
  readonly deliveredAt: number;
  retrievalHint: Uint8Array | undefined;
}

interface PendingMessage {
  readonly message: WireMessage;
  readonly bytes: Uint8Array;
  readonly receivedAt: number;
  /** Dependency keys it waits for (a subset may be met already). */
  readonly deps: readonly string[];
  /** Delivered at this time whatever it still waits for (see `pendingDeadline`). */
  readonly giveUpAt: number;
  waitingOn: number;
}

interface MissingEntry {
  readonly key: string;
  readonly ref: MessageRef;
  readonly detectedAt: number;
  lostAt: number;
  requestAt: number;
  attempts: number;
  retrievalHint: Uint8Array | undefined;
  /** Someone else asked for it: our request waits, and does not ride on our other messages either. */
  suppressed?: boolean;
  /** A request for it fell due while the control budget was spent. */
  starved?: boolean;
}

interface OwnEntry {
  readonly messageId: MessageId;
  readonly sequence: number;
  readonly bytes: Uint8Array;
  readonly lamportTimestamp: bigint;
  readonly sentAt: number;
  resendAt: number;
  resends: number;
  /** A member that evidently is online showed it lacks this message: resend even though others have it. */
  lacking: boolean;
  readonly ackedBy: Set<SenderId>;
  /** First filter hit per member, by summary nonce; a second hit with another nonce confirms. */
  readonly possibly: Map<SenderId, bigint>;
}

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
  readonly senders: readonly {
    id: string;
    contiguous: number;
    above: number[];
    highest: number;
    tentative: boolean;
    floor: number;
    runStart?: number;
    lostAbove?: number[];
    lostSeqs?: number[];
    heldBelowFloor?: number[];
  }[];
  readonly members: readonly [string, number][];
  readonly memberConfirmed: readonly [string, number][];
  readonly seen: readonly string[];
  readonly lost: readonly string[];
  readonly cache: readonly { bytes: string; deliveredAt: number; hint?: string }[];
  readonly history: readonly string[];
  readonly recentReceived: readonly string[];
  readonly markOrder: readonly string[];
  /** Absent in snapshots from before mark rotation. */
  readonly markQueue?: readonly string[];
  readonly pending: readonly { bytes: string; receivedAt: number }[];
  readonly missing: readonly {
    key: string;
    ref: { messageId?: string; senderId?: string; sequence?: number };
    detectedAt: number;
    lostAt: number;
    requestAt: number;
    attempts: number;
  }[];
  readonly own: readonly {
    bytes: string;
    sentAt: number;
    resendAt: number;
    resends: number;
    ackedBy: string[];
    possibly: [string, string][];
  }[];
}

const WINDOW_MS = 600_000;
const MAX_RANGE_LOOKUPS_PER_MESSAGE = 1_024;
const MAX_RECEIPT_LOOKUPS_PER_MESSAGE = 16_384;
// Bytes of an ack summary besides its filter bytes and marks: field tag and length, nonce, hash count, filter tag and length.
const ACK_FIXED_BYTES = 3 + 9 + 2 + 3;
const MARK_BYTES = 16;
/**
 * Summaries a sender's progress is announced in before it yields its mark slot to others: one summary can be
 * lost on its way to the sender it acknowledges; two independent copies rarely both are.
 */
const MARK_REPEATS = 2;
/** Requests a member must have sent for a message before it gives the message up (see the "lost" timer). */
const MIN_ATTEMPTS_BEFORE_LOSS = 3;
/** ... unless this many dependency timeouts have passed since the gap was detected. */
const LOSS_DEADLINE_FACTOR = 5;
/** Given-up sequence numbers remembered per sender (see SenderState.lostSeqs). */
const MAX_LOST_SEQS = 1_024;
const SIGNATURE_FIELD_BYTES = 3 + SIGNATURE_BYTES;

/** Adds `value`, dropping the oldest entry beyond `max`: a set that keeps the newest `max` values. */
function addNewest(set: Set<number>, value: number, max: number): void {
  set.add(value);
  if (set.size > max) set.delete(set.values().next().value as number);
}

function idKey(id: string): string {
  return `i:${id}`;
}
function seqKey(sender: string, seq: number): string {
  return `s:${sender}:${seq}`;
}

function varintSize(n: number): number {
  let size = 1;
  for (let v = n; v >= 128; v = Math.floor(v / 128)) size++;
  return size;
}

function utf8Size(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** Encoded bytes of one repeated field entry: tag, length, body. */
function fieldSize(tagBytes: number, body: number): number {
  return tagBytes + varintSize(body) + body;
}

/** Bytes one repair_request entry (field 13) adds to an encoding. */
function historyEntrySize(e: HistoryEntry): number {
  const id = utf8Size(e.messageId);
  let body = 1 + varintSize(id) + id;
  if (e.retrievalHint !== undefined) body += fieldSize(1, e.retrievalHint.length);
  if (e.senderId !== undefined) body += fieldSize(1, utf8Size(e.senderId));
  return fieldSize(1, body);
}

/** Bytes one sequence_repair_request entry (field 34, a two-byte tag) adds to an encoding. */
function sequenceRangeSize(r: SequenceRange): number {
  const sender = utf8Size(r.senderId);
  const body = 1 + varintSize(sender) + sender + 1 + varintSize(r.first) + 1 + varintSize(r.last);
  return fieldSize(2, body);
}

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

class StepBuilder {
  readonly outgoing: Outgoing[] = [];
  readonly events: EngineEvent[] = [];
  result(): Step {
    return { outgoing: this.outgoing, events: this.events };
  }
}

/**
 * The Chorus protocol engine for one member in one channel. Pure: time and randomness come in as
 * arguments, and every call returns the bytes to publish and the events that happened.
 */
export class ChannelEngine {
  readonly channelId: ChannelId;
  readonly senderId: SenderId;
  readonly params: Params;

  private readonly identity: Identity;
  private readonly random: () => number;
  private readonly verify: SignatureVerifier;
  private readonly signer: (unsigned: Uint8Array) => Uint8Array;
  private readonly decodeLimits: DecodeLimits | undefined;
  private readonly isMember: ((senderId: string) => boolean) | undefined;
  private readonly salt: Uint8Array;
  private readonly ownPrefix: string;
  private preferred: ReadonlySet<string>;

  private lamport = 0n;
  private ownSequence = 0;
  private horizon: number;
  private lastSentAt: number;
  private ackDirty = false;
  private controlSent: number[] = [];
  private responsesSent: number[] = [];

  private readonly senders = new Map<SenderId, SenderState>();
  private readonly prefixIndex = new Map<string, SenderId>();
  /** Marks naming senders not heard from yet, by key prefix (hex): a gap opens once the sender turns up. */
  private readonly strayMarks = new BoundedMap<string, { sequence: number; lamport: bigint }>(1024);
  /** Members heard from, least recently heard first. */
  private readonly members = new Map<SenderId, number>();
  /** Highest own sequence number each member has confirmed through a received-up-to mark. */
  private readonly memberConfirmed = new Map<SenderId, number>();
  private readonly seen: BoundedMap<MessageId, true>;
  private readonly lost: BoundedMap<MessageId, true>;
  private readonly cache: BoundedMap<MessageId, CachedMessage>;
  private readonly cacheBySeq = new Map<string, MessageId>();
  private readonly history: Ring<MessageId>;
  private readonly recentReceived: Ring<MessageId>;
  /** Most recently advanced senders, newest last (at most 2 × ackMaxMarks): fill for spare mark slots. */
  private markOrder: SenderId[] = [];
  /** Senders whose progress was not yet announced `MARK_REPEATS` times, oldest unannounced first. */
  private readonly markQueue = new Set<SenderId>();
  private readonly pending = new Map<MessageId, PendingMessage>();
  /** Dependency key -> pending messages waiting for it. */
  private readonly waiters = new Map<string, Set<MessageId>>();
  /** Sequence keys of pending messages, to tell "received, waiting" from "missing". */
  private readonly pendingBySeq = new Map<string, MessageId>();
  private readonly missing = new Map<string, MissingEntry>();
  private readonly responses = new Map<MessageId, number>();
  /** When each recent message was last seen on the wire (sent, rebroadcast or received). */
  private readonly onWire: BoundedMap<MessageId, number>;
  /** Repair requests heard for messages we hold, while a preferred responder is online: when, and which round. */
  private readonly requestsHeard: BoundedMap<MessageId, { at: number; round: number }>;
  private readonly own: BoundedMap<MessageId, OwnEntry>;
  private readonly ownBySeq = new Map<number, MessageId>();
  /** With trackAllReceipts: who holds each recent message of other senders. */
  private readonly others: BoundedMap<
    MessageId,
    { readonly senderId: SenderId; readonly sequence: number | undefined; readonly ackedBy: Set<SenderId> }
  >;
  private readonly othersBySeq = new Map<string, MessageId>();
  /** With trackAllReceipts: "member|sender" -> highest sequence of sender the member has marked. */
  private readonly marksSeen: BoundedMap<string, number>;
  /** Per-sender rate quota (undefined when senderQuotaPer600s is 0); as many buckets as members at most. */
  private readonly quota: SenderQuota | undefined;
  private readonly timers = new TimerHeap();
  private syncAt = Number.POSITIVE_INFINITY;

  constructor(config: EngineConfig) {
    if (typeof config.channelId !== "string" || config.channelId.length === 0) {
      throw new TypeError("channelId must be a non-empty string");
    }
    if (typeof config.random !== "function") throw new TypeError("random must be a function returning [0, 1)");
    if (!Number.isFinite(config.now)) throw new TypeError(`now must be a finite number of ms, got ${config.now}`);
    this.channelId = config.channelId as ChannelId;
    this.identity = config.identity;
    this.senderId = config.identity.senderId;
    this.random = config.random;
    this.params = resolveParams(config.params);
    this.verify = config.verifySignature ?? createVerifier();
    this.signer = config.sign ?? createSigner(config.identity.secretKey);
    this.decodeLimits = config.decodeLimits;
    this.isMember = config.isMember;
    this.salt = channelSalt(config.channelId);
    this.ownPrefix = senderPrefixHex(this.senderId);
    this.preferred = new Set(config.preferredResponders ?? []);
    this.horizon = config.now;
    this.lastSentAt = config.now;
    const p = this.params;
    this.seen = new BoundedMap(p.maxSeenIds);
    this.lost = new BoundedMap(p.maxSeenIds);
    this.cache = new BoundedMap(p.repairCacheSize, (id, entry) => {
      if (entry.sequence !== undefined) this.cacheBySeq.delete(`${entry.senderId}:${entry.sequence}`);
      // Only messages we can serve have request rounds worth remembering.
      this.requestsHeard.delete(id);
    });
    this.history = new Ring(p.causalHistorySize);
    this.onWire = new BoundedMap(1024);
    this.requestsHeard = new BoundedMap(4096);
    this.others = new BoundedMap(p.maxTrackedReceipts, (_id, o) => {
      if (o.sequence !== undefined) this.othersBySeq.delete(`${o.senderId}:${o.sequence}`);
    });
    this.marksSeen = new BoundedMap(p.trackAllReceipts ? p.maxMembers * 4 : 1);
    this.quota =
      p.senderQuotaPer600s > 0 ? new SenderQuota(p.senderQuotaPer600s, p.senderQuotaBurst, p.maxMembers) : undefined;
    this.recentReceived = new Ring(p.ackRecentIds);
    this.own = new BoundedMap(p.maxTrackedOwn, (id, entry) => {
      if (this.ownBySeq.get(entry.sequence) === id) this.ownBySeq.delete(entry.sequence);
    });
  }

  // ---------------------------------------------------------------- sending

  /** Sends a chat message. It is delivered locally at once and tracked for receipts. */
  send(content: Uint8Array, now: number): SendResult {
    if (!(content instanceof Uint8Array) || content.length === 0) {
      throw new TypeError("content must be a non-empty Uint8Array");
    }
    const step = new StepBuilder();
    this.ownSequence++;
    const sequence = this.ownSequence;
    const lamport = this.nextLamport(now);
    const messageId = computeMessageId({
      channelId: this.channelId,
      senderId: this.senderId,
      kind: "content",
      sequence,
      lamportTimestamp: lamport,
      content,
    });
    const base: Omit<WireMessage, "ack" | "signature"> = {
      senderId: this.senderId,
      messageId,
      channelId: this.channelId,
      lamportTimestamp: lamport,
      causalHistory: this.causalHistory(),
      repairRequest: [],
      sequenceRepairRequest: [],
      content,
      kind: "content",
      sequence,
    };
    const requests = this.collectRequests(now, this.roomLeft(base));
    const bytes = this.sign({ ...base, repairRequest: requests.ids, sequenceRepairRequest: requests.ranges });
    this.lastSentAt = now;
    this.ackDirty = false;
    this.seen.set(messageId, true);
    const senderState = this.senderState(this.senderId, sequence, true);
    this.advanceSender(senderState, sequence);
    const delivered: DeliveredMessage = {
      messageId,
      senderId: this.senderId,
      sequence,
      lamportTimestamp: lamport,
      content,
      deliveredAt: now,
      own: true,
    };
    this.remember(delivered, bytes);
    const entry: OwnEntry = {
      messageId,
      sequence,
      bytes,
      lamportTimestamp: lamport,
      sentAt: now,
      resendAt: now + this.params.resendAfterMs,
      resends: 0,
      lacking: false,
      ackedBy: new Set(),
      possibly: new Map(),
    };
    this.own.set(messageId, entry);
    this.ownBySeq.set(sequence, messageId);
    if (this.params.maxResends > 0) this.schedule("resend", messageId, entry.resendAt);
    // This message carries our acknowledgements; no sync is owed until we receive something new, or while
    // progress waits for a mark slot.
    this.syncAt = Number.POSITIVE_INFINITY;
    this.owePendingMarks(now);
    step.outgoing.push({ bytes, messageId, kind: "content", purpose: "content" });
    step.events.push({ type: "delivered", message: delivered });
    return { ...step.result(), messageId, sequence, lamportTimestamp: lamport };
  }

  /** Sends a message with no reliability: no timestamp, history, acknowledgement, resend or log entry. */
  sendEphemeral(content: Uint8Array, _now: number): SendResult {
    if (!(content instanceof Uint8Array) || content.length === 0) {
      throw new TypeError("content must be a non-empty Uint8Array");
    }
    const messageId = computeMessageId({
      channelId: this.channelId,
      senderId: this.senderId,
      kind: "ephemeral",
      sequence: 0,
      lamportTimestamp: 0n,
      content,
    });
    const bytes = this.sign({
      senderId: this.senderId,
      messageId,
      channelId: this.channelId,
      causalHistory: [],
      repairRequest: [],
      sequenceRepairRequest: [],
      content,
      kind: "ephemeral",
    });
    return {
      outgoing: [{ bytes, messageId, kind: "ephemeral", purpose: "ephemeral" }],
      events: [],
      messageId,
      sequence: undefined,
      lamportTimestamp: undefined,
    };
  }

  private nextLamport(now: number): bigint {
    const clock = BigInt(Math.max(0, Math.floor(now)));
    this.lamport = this.lamport + 1n > clock ? this.lamport + 1n : clock;
    return this.lamport;
  }

  private causalHistory(): HistoryEntry[] {
    const out: HistoryEntry[] = [];
    for (const id of this.history.toArray()) {
      const hint = this.cache.get(id)?.retrievalHint;
      out.push(hint === undefined ? { messageId: id } : { messageId: id, retrievalHint: hint });
    }
    return out;
  }

  /** Builds the ack summary to fit the overhead budget left by `base`, signs, and encodes. */
  private sign(base: Omit<WireMessage, "ack" | "signature">): Uint8Array {
    // Encoding is a tenth of the cost of a send: the encoding that is measured is the one that is signed.
    const plain = encodeUnsigned(base);
    let unsigned = plain;
    if (base.kind !== "ephemeral") {
      const contentBytes = base.content?.length ?? 0;
      const used = plain.length + SIGNATURE_FIELD_BYTES - contentBytes;
      let budget = this.params.overheadBudgetBytes - used;
      // buildSummary estimates field sizes (varint lengths, mark sequence numbers); shrink until the real encoding fits.
      for (let attempt = 0; attempt < 8; attempt++) {
        const summary = this.buildSummary(budget);
        if (summary === undefined) break;
        const withAck = encodeUnsigned({ ...base, ack: summary.ack });
        const over = withAck.length + SIGNATURE_FIELD_BYTES - contentBytes;
        if (over <= this.params.overheadBudgetBytes) {
          unsigned = withAck;
          this.noteAnnounced(summary.marked);
          break;
        }
        budget -= over - this.params.overheadBudgetBytes;
      }
    }
    return appendSignature(unsigned, this.signer(unsigned));
  }

  /**
   * The acknowledgement summary that fits `budget` bytes. Marks go first, oldest unannounced progress first
   * (`markQueue`), so that every sender's progress is announced within a bounded number of summaries however
   * many senders there are; spare slots repeat the most recently active senders, for gap detection. `marked`
   * lists the senders whose marks it carries: `sign` records them once this summary is the one sent.
   */
  private buildSummary(budget: number): { ack: AckSummary; marked: SenderState[] } | undefined {
    const p = this.params;
    let room = budget - ACK_FIXED_BYTES;
    if (room < 0) return undefined;
    const marks: ReceivedUpTo[] = [];
    const marked = new Map<SenderId, SenderState>();
    const add = (state: SenderState): void => {
      // A mark claims only what we hold: the run since the last message we gave up on.
      marks.push({
        senderPrefix: senderPrefixBytes(state.id),
        sequence: state.contiguous,
        ...(state.runStart > 1 ? { first: state.runStart } : {}),
      });
      marked.set(state.id, state);
      room -= MARK_BYTES;
    };
    // Half the filter's bytes stay free for ids no mark covers (newest messages, runs past a gap, SDS peers').
    const reserve = this.recentReceived.size > 0 ? Math.floor(p.ackMaxFilterBytes / 2) : 0;
    room -= reserve;
    // Progress never announced goes first, repeats after it: everyone's progress is announced once before anyone's twice.
    const stale: SenderId[] = [];
    for (const repeats of [false, true]) {
      for (const sender of this.markQueue) {
        if (marks.length >= p.ackMaxMarks || room < MARK_BYTES) break;
        const state = this.senders.get(sender);
        if (state === undefined || state.contiguous < state.runStart) {
          if (!repeats) stale.push(sender);
        } else if ((state.announced === state.contiguous) === repeats && !marked.has(state.id)) add(state);
      }
    }
    for (const sender of stale) this.markQueue.delete(sender);
    for (let i = this.markOrder.length - 1; i >= 0 && marks.length < p.ackMaxMarks && room >= MARK_BYTES; i--) {
      const state = this.senders.get(this.markOrder[i]!);
      if (state === undefined || marked.has(state.id) || state.contiguous < state.runStart) continue;
      add(state);
    }
    room += reserve;
    const maxBytes = Math.min(p.ackMaxFilterBytes, room);
    const capacity = Math.floor((maxBytes * 8) / p.ackFilterBitsPerId);
    const ids: MessageId[] = [];
    if (capacity > 0) {
      for (const id of this.recentReceived.newest()) {
        const cached = this.cache.get(id);
        if (cached?.sequence !== undefined) {
          const state = marked.get(cached.senderId);
          if (state !== undefined && state.contiguous >= cached.sequence && cached.sequence >= state.runStart) continue;
        }
        ids.push(id);
        if (ids.length >= capacity) break;
      }
    }
    if (marks.length === 0 && ids.length === 0) return undefined;
    const filterBytes = ids.length === 0 ? 0 : Math.min(maxBytes, Math.ceil((ids.length * p.ackFilterBitsPerId) / 8));
    const hashCount = optimalHashCount(filterBytes * 8, ids.length);
    const nonce = this.randomNonce();
    const filter = buildFilter(this.salt, nonce, ids, filterBytes, hashCount);
    return { ack: { nonce, filter, hashCount, marks }, marked: [...marked.values()] };
  }

  /** The marks of a sent summary: progress announced `MARK_REPEATS` times leaves the queue until it moves again. */
  private noteAnnounced(marked: readonly SenderState[]): void {
    for (const state of marked) {
      if (state.announced === state.contiguous) state.announcements++;
      else {
        state.announced = state.contiguous;
        state.announcements = 1;
      }
      if (!this.markQueue.delete(state.id)) continue;
      // Not yet repeated enough: back of the queue, behind everyone else waiting.
      if (state.announcements < MARK_REPEATS) this.markQueue.add(state.id);
    }
  }

  private randomNonce(): bigint {
    const hi = BigInt(Math.floor(this.random() * 0x1_0000_0000));
    const lo = BigInt(Math.floor(this.random() * 0x1_0000_0000));
    return (hi << 32n) | lo;
  }

  // -------------------------------------------------------------- receiving

  /**
   * Handles bytes received on the channel's topic. `decoded` may be passed when the caller already
   * decoded these exact bytes (a simulator delivering one message to many members). `options.requested`
   * says the caller fetched these bytes on purpose (catch-up from a history service, replay from its own
   * store): they are exempt from the per-sender rate quota.
   */
  receive(bytes: Uint8Array, now: number, decoded?: WireMessage, options?: ReceiveOptions): Step {
    const step = new StepBuilder();
    let message: WireMessage;
    try {
      message = decoded ?? decodeMessage(bytes, this.decodeLimits);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      step.events.push({ type: "rejected", reason: `undecodable: ${err.message}` });
      return step.result();
    }
    const reason = this.validate(message, bytes, now);
    if (reason !== undefined) {
      step.events.push({ type: "rejected", reason, senderId: message.senderId, messageId: message.messageId });
      return step.result();
    }
    const sender = message.senderId as SenderId;
    const kind = kindOf(message);
    const id = message.messageId as MessageId;
    if (kind === "content") {
      // Someone (re)broadcast it: a pending answer of ours is no longer needed.
      this.responses.delete(id);
      // Only a copy of a message we already hold is a rebroadcast. The first copy is the one an asker
      // missed: counting it would refuse every request that follows the original within repairRetryMs / 2.
      if (this.holds(message)) {
        this.onWire.delete(id);
        this.onWire.set(id, now);
      }
    }
    if (sender === this.senderId) return step.result();
    // A copy of a message we hold says nothing new, not even that its sender is online: it may be a replay.
    if (kind === "content" && this.holds(message)) return step.result();
    const overQuota = this.quota === undefined ? undefined : this.chargeQuota(message, sender, kind, now, options);
    if (overQuota !== undefined) {
      step.events.push({ type: "rejected", reason: overQuota, senderId: sender, messageId: id });
      return step.result();
    }
    this.hearFrom(sender, now);
    this.process(message, bytes, sender, kind, now, step);
    if (this.strayMarks.size > 0) this.resolveStrayMarks(sender, now, step);
    return step.result();
  }

  /**
   * Charges a message that passed validation and is new here to its sender's rate quota (quota.ts); returns
   * why it is refused. It runs after the signature check, so nobody can spend another member's quota with
   * forged messages, and after the duplicate check, so rebroadcasts of what we hold cost the author nothing.
   * A refused message changes no state: not seen, not heard from, no gap, so a legitimate one comes back
   * through repair. Repairs are free by construction: a content message pays for its sender's sequence
   * numbers up to its own, so the ones it skipped are paid when they arrive. Bytes the caller fetched on
   * purpose (`options.requested`) are exempt, and so are unsigned SDS messages (no sequence numbers) that
   * we miss by id.
   */
  private chargeQuota(
    message: WireMessage,
    sender: SenderId,
    kind: MessageKind,
    now: number,
    options: ReceiveOptions | undefined,
  ): string | undefined {
    if (options?.requested === true) return undefined;
    const signed = message.kind !== undefined;
    if (kind === "content" && !signed && this.missing.has(idKey(message.messageId))) return undefined;
    const sequence = kind === "content" && signed ? message.sequence : undefined;
    const syncLamport = kind === "sync" && signed ? (message.lamportTimestamp ?? 0n) : undefined;
    switch (this.quota!.take(sender, now, sequence, syncLamport)) {
      case "ok":
        return undefined;
      case "stale":
        return "replayed sync message (its sender's quota is not charged)";
      case "over":
        return `sender is over its rate quota (${this.params.senderQuotaPer600s} messages per 600 s, burst ${this.params.senderQuotaBurst})`;
    }
  }

  private process(
    message: WireMessage,
    bytes: Uint8Array,
    sender: SenderId,
    kind: MessageKind,
    now: number,
    step: StepBuilder,
  ): void {
    const id = message.messageId as MessageId;
    if (kind === "ephemeral") {
      step.events.push({
        type: "ephemeral",
        messageId: id,
        senderId: sender,
        content: message.content ?? new Uint8Array(),
      });
      return;
    }
    if (kind === "content" && (this.seen.has(id) || this.pending.has(id))) return;
    this.readAcknowledgements(message, sender, now, step);
    this.readRepairRequests(message, now, step);
    if (kind === "sync") {
      this.noteHistoryGaps(message, now, step);
      return;
    }
    this.accept(message, bytes, now, step);
  }

  /** Returns why a message must be refused, or undefined when it may be processed. */
  private validate(message: WireMessage, bytes: Uint8Array, now: number): string | undefined {
    if (message.channelId !== this.channelId) return `wrong channel "${message.channelId}"`;
    if (this.isMember !== undefined && message.senderId !== this.senderId && !this.isMember(message.senderId)) {
      return "sender is not a member of the channel";
    }
    const kind = kindOf(message);
    if (message.kind === undefined) {
      if (!this.params.interop) return "unsigned SDS message and interop is off";
      // Unsigned messages are SDS peers': they may not speak for a Chorus key nor use fields only signatures make safe.
      if (isChorusSenderId(message.senderId)) return "unsigned message claims a Chorus sender id";
      if (message.sequence !== undefined || message.ack !== undefined || message.sequenceRepairRequest.length > 0) {
        return "unsigned message carries Chorus fields";
      }
    } else {
      if (!isChorusSenderId(message.senderId)) return "sender id is not an ed25519 public key in hex";
      if (message.signature === undefined) return "missing signature";
      const expected = expectedMessageId(message);
      if (expected !== message.messageId) return `message id does not match its fields (expected ${expected})`;
      if (kind === "sync" && message.sequence !== undefined) return "sync message carries a sequence number";
      if (!this.verify(bytes, message.signature, message.senderId as SenderId)) return "bad signature";
    }
    if (message.lamportTimestamp !== undefined) {
      const limit = BigInt(Math.floor(Math.max(0, now) + this.params.maxFutureSkewMs));
      if (message.lamportTimestamp > limit) {
        return `lamport timestamp ${message.lamportTimestamp} is more than ${this.params.maxFutureSkewMs} ms ahead`;
      }
    }
    return undefined;
  }

  /** A content message delivered or waiting here, also once its id has left the seen set. */
  private holds(message: WireMessage): boolean {
    const id = message.messageId as MessageId;
    if (this.seen.has(id) || this.pending.has(id)) return true;
    const seq = message.sequence;
    if (seq === undefined) return false;
    const state = this.senders.get(message.senderId as SenderId);
    if (state === undefined) return false;
    // Above the contiguous mark: delivered out of order (its predecessor given up), unless given up itself.
    if (seq > state.contiguous) return state.above.has(seq) && !state.lostAbove.has(seq);
    // Every sequence number from runStart to contiguous was delivered; below the run, every number after the
    // first contact was delivered too, except those given up on. This holds once an id has left the seen set.
    if (seq >= state.runStart) return true;
    if (seq <= state.floor) return state.heldBelowFloor.has(seq);
    return !state.lostSeqs.has(seq) && !this.lost.has(id);
  }

  private hearFrom(sender: SenderId, now: number): void {
    const isNew = !this.members.delete(sender);
    this.members.set(sender, now);
    if (this.members.size > this.params.maxMembers) {
      const oldest = this.members.keys().next().value as SenderId;
      this.members.delete(oldest);
      this.memberConfirmed.delete(oldest);
    }
    if (isNew) {
      const prefix = senderPrefixHex(sender);
      if (!this.prefixIndex.has(prefix)) this.prefixIndex.set(prefix, sender);
    }
  }

  /** With trackAllReceipts: the author of `message` holds what its causal history names and its marks cover. */
  private readOthersReceipts(message: WireMessage, by: SenderId): void {
    for (const entry of message.causalHistory) this.others.get(entry.messageId as MessageId)?.ackedBy.add(by);
    // Visits per message are capped, so that one message of marks (64 of them) cannot cost seconds.
    let budget = MAX_RECEIPT_LOOKUPS_PER_MESSAGE;
    for (const mark of message.ack?.marks ?? []) {
      const sender = this.prefixIndex.get(markPrefixHex(mark));
      if (sender === undefined || sender === this.senderId || sender === by) continue;
      // Only delivered messages are tracked, none beyond what the sender has shown: a mark claiming more visits nothing more.
      const upTo = Math.min(mark.sequence, this.senders.get(sender)?.highest ?? 0);
      const key = `${by}|${sender}`;
      const before = this.marksSeen.get(key) ?? 0;
      if (upTo <= before) continue;
      // Only recent messages are tracked; older sequence numbers need no visit.
      let seq = Math.max(before + 1, mark.first ?? 1, upTo - this.params.maxTrackedReceipts);
      for (; seq <= upTo && budget > 0; seq++, budget--) {
        const id = this.othersBySeq.get(`${sender}:${seq}`);
        if (id !== undefined) this.others.get(id)?.ackedBy.add(by);
      }
      this.marksSeen.set(key, seq - 1);
    }
  }

  /** What the author of `message` tells us it holds: marks, filter, causal history. */
  private readAcknowledgements(message: WireMessage, by: SenderId, now: number, step: StepBuilder): void {
    if (this.params.trackAllReceipts) this.readOthersReceipts(message, by);
    if (this.own.size === 0) {
      this.readMarksForGaps(message, now, step);
      return;
    }
    for (const entry of message.causalHistory) {
      const own = this.own.get(entry.messageId as MessageId);
      if (own !== undefined) this.confirm(own, by, step);
    }
    const ack = message.ack;
    if (ack !== undefined) {
      let confirmedUpTo = this.memberConfirmed.get(by) ?? 0;
      let markedMe = false;
      for (const mark of ack.marks) {
        if (markPrefixHex(mark) !== this.ownPrefix) continue;
        markedMe = true;
        // A mark beyond what we sent is a lie; cap it rather than trust it.
        const upTo = Math.min(mark.sequence, this.ownSequence);
        if (upTo > confirmedUpTo) {
          this.confirmRange(by, Math.max(confirmedUpTo, (mark.first ?? 1) - 1), upTo, step);
          confirmedUpTo = upTo;
          this.memberConfirmed.set(by, upTo);
        }
      }
      if (ack.filter.length > 0 && summaryFillRatio(ack) <= this.params.ackMaxFillRatio) {
        const lowest = Math.max(confirmedUpTo, this.ownSequence - this.params.ackFilterCheckDepth);
        // Its author's clock passed a message's timestamp when it delivered it: a summary stamped no later
        // says nothing about the message. Otherwise replayed old summaries, each with its own nonce, would
        // add up to two false hits.
        const writtenAt = message.lamportTimestamp ?? 0n;
        for (let seq = this.ownSequence; seq > lowest; seq--) {
          const id = this.ownBySeq.get(seq);
          const own = id === undefined ? undefined : this.own.get(id);
          if (own === undefined || own.ackedBy.has(by) || own.lamportTimestamp >= writtenAt) continue;
          if (!filterHas(this.salt, ack.nonce, ack.filter, ack.hashCount, own.messageId)) continue;
          const earlier = own.possibly.get(by);
          if (earlier === undefined) own.possibly.set(by, ack.nonce);
          else if (earlier !== ack.nonce) this.confirm(own, by, step);
        }
      }
      if (markedMe) this.noteLacking(by, confirmedUpTo, message.lamportTimestamp ?? 0n, now);
    }
    this.readMarksForGaps(message, now, step);
  }

  /**
   * `by` wrote a summary well after our newest messages went out, and its mark for us stops short of them:
   * it is online and lacks them. Nobody else may ever tell it (the tail of a quiet channel), so we resend.
   */
  private noteLacking(by: SenderId, markedUpTo: number, writtenAt: bigint, now: number): void {
    const p = this.params;
    const lowest = Math.max(markedUpTo, this.ownSequence - p.ackFilterCheckDepth);
    for (let seq = this.ownSequence; seq > lowest; seq--) {
      const id = this.ownBySeq.get(seq);
      const own = id === undefined ? undefined : this.own.get(id);
      if (own === undefined || own.ackedBy.has(by) || own.possibly.has(by)) continue;
      if (own.resends >= p.maxResends || own.lamportTimestamp + BigInt(Math.floor(p.resendAfterMs / 2)) > writtenAt) {
        continue;
      }
      const at = now + this.suppressionDelay(p.repairResponseDelayMs);
      own.lacking = true;
      if (at < own.resendAt) {
        own.resendAt = at;
        this.schedule("resend", own.messageId, at);
      }
    }
  }

  private confirmRange(by: SenderId, from: number, to: number, step: StepBuilder): void {
    if (to - from > this.own.size) {
      for (const own of this.own.values()) if (own.sequence > from && own.sequence <= to) this.confirm(own, by, step);
      return;
    }
    for (let seq = from + 1; seq <= to; seq++) {
      const id = this.ownBySeq.get(seq);
      const own = id === undefined ? undefined : this.own.get(id);
      if (own !== undefined) this.confirm(own, by, step);
    }
  }

  private confirm(own: OwnEntry, by: SenderId, step: StepBuilder): void {
    if (own.ackedBy.has(by)) return;
    own.ackedBy.add(by);
    own.possibly.delete(by);
    step.events.push({
      type: "acknowledged",
      messageId: own.messageId,
      by,
      count: own.ackedBy.size,
      members: this.knownMembers(),
    });
  }

  /** Marks of other senders tell us how far they have got: anything beyond our own progress is missing. */
  private readMarksForGaps(message: WireMessage, now: number, step: StepBuilder): void {
    const marks = message.ack?.marks;
    if (marks === undefined) return;
    for (const mark of marks) {
      const prefix = markPrefixHex(mark);
      if (prefix === this.ownPrefix) continue;
      const sender = this.prefixIndex.get(prefix);
      const lamport = message.lamportTimestamp ?? 0n;
      if (sender !== undefined) {
        this.gapFromMark(sender, mark.sequence, lamport, now, step);
        continue;
      }
      // Messages of a sender known only by key prefix cannot be asked for: keep the claim until it turns up.
      const stray = this.strayMarks.get(prefix);
      if (stray === undefined || stray.sequence < mark.sequence)
        this.strayMarks.set(prefix, { sequence: mark.sequence, lamport });
    }
  }

  private gapFromMark(sender: SenderId, sequence: number, lamport: bigint, now: number, step: StepBuilder): void {
    let state = this.senders.get(sender);
    if (state === undefined) {
      // None of its content reached us, only a mark: that is the first contact. Treat it like a message with
      // the next sequence number, so that the join grace and the one-step-back chase apply as for any first contact.
      if (sequence < 1 || Number(lamport) < this.horizon + this.params.joinGraceMs) return;
      state = this.senderState(sender, sequence + 1, false, lamport);
      state.highest = state.floor;
    }
    if (sequence > Math.max(state.contiguous, state.markedLost))
      this.openSequenceGap(state, sequence, now, "ack-mark", step);
  }

  private resolveStrayMarks(sender: SenderId, now: number, step: StepBuilder): void {
    const prefix = senderPrefixHex(sender);
    const stray = this.strayMarks.get(prefix);
    if (stray === undefined) return;
    this.strayMarks.delete(prefix);
    this.gapFromMark(sender, stray.sequence, stray.lamport, now, step);
  }

  /** Registers missing sequence numbers of `state` up to and including `upTo`. */
  private openSequenceGap(state: SenderState, upTo: number, now: number, source: GapSource, step: StepBuilder): void {
    const from = source === "ack-mark" ? Math.max(state.contiguous, state.markedLost) : state.contiguous;
    const last = Math.min(upTo, from + this.params.maxGapPerDetection);
    if (source !== "ack-mark" && last > state.highest) state.highest = last;
    for (let seq = from + 1; seq <= last; seq++) {
      if (state.above.has(seq)) continue;
      const key = seqKey(state.id, seq);
      if (this.pendingBySeq.has(key)) continue;
      // A full missing set refuses every later number too: stop, so that a mark costs no more than the set holds.
      if (!this.markMissing(key, { senderId: state.id, sequence: seq }, now, source, undefined, step)) break;
    }
  }

  private markMissing(
    key: string,
    ref: MessageRef,
    now: number,
    source: GapSource,
    hint: Uint8Array | undefined,
    step: StepBuilder,
  ): boolean {
    if (this.missing.has(key)) return true;
    if (this.missing.size >= this.params.maxMissing) return false;
    const entry: MissingEntry = {
      key,
      ref,
      detectedAt: now,
      lostAt: now + this.params.dependencyTimeoutMs,
      requestAt: now + this.suppressionDelay(this.params.repairRequestDelayMs),
      attempts: 0,
      retrievalHint: hint,
    };
    this.missing.set(key, entry);
    this.schedule("request", key, entry.requestAt);
    this.schedule("lost", key, entry.lostAt);
    step.events.push({ type: "missing", ref, source });
    return true;
  }

  /**
   * Exponentially distributed suppression timer (Nonnenmacher & Biersack): with N members racing,
   * about N^(latency/T) of them fire before the first one is heard, instead of N*latency/T for a
   * uniform timer. delay = T * max(0, 1 + ln(u) / ln(N)).
   */
  private suppressionDelay(scale: number): number {
    const n = Math.max(2, this.members.size + 1);
    const u = Math.max(this.random(), 1e-12);
    return scale * Math.max(0, 1 + Math.log(u) / Math.log(n));
  }

  private readRepairRequests(message: WireMessage, now: number, step: StepBuilder): void {
    for (const entry of message.repairRequest) {
      const id = entry.messageId as MessageId;
      this.suppressOwnRequest(idKey(id), now);
      // Messages still waiting for their dependencies are complete and verified: they can be served too. Without
      // this, one gap of its own stops a responder from answering for everything sent after it.
      if (this.cache.has(id) || this.pending.has(id)) this.scheduleResponse(id, now, step);
    }
    // Look-ups per message are capped: a range may span thousands of sequence numbers.
    let budget = MAX_RANGE_LOOKUPS_PER_MESSAGE;
    for (const range of message.sequenceRepairRequest) {
      for (let seq = range.first; seq <= range.last && budget-- > 0; seq++) {
        this.suppressOwnRequest(seqKey(range.senderId, seq), now);
        const id =
          this.cacheBySeq.get(`${range.senderId}:${seq}`) ?? this.pendingBySeq.get(seqKey(range.senderId, seq));
        if (id !== undefined) this.scheduleResponse(id, now, step);
      }
    }
  }

  /** Another member asked for what we miss: wait for the answer instead of asking too. */
  private suppressOwnRequest(key: string, now: number): void {
    const entry = this.missing.get(key);
    if (entry === undefined) return;
    const later = now + this.params.repairRetryMs;
    entry.suppressed = true;
    if (entry.requestAt < later) {
      entry.requestAt = later;
      this.schedule("request", key, later);
    }
  }

  private scheduleResponse(id: MessageId, now: number, step: StepBuilder): void {
    if (this.responses.has(id)) return;
    // A request crossing a fresh copy on the wire (asked by id and by sequence, or by two members) needs no second answer.
    const seenAt = this.onWire.get(id);
    if (seenAt !== undefined && now - seenAt < this.params.repairRetryMs / 2) return;
    if (this.preferred.has(this.senderId)) {
      this.respond(id, now, step);
      return;
    }
    let delay = this.suppressionDelay(this.params.repairResponseDelayMs);
    if (this.preferredOnline(now)) {
      // The preferred responder answers. Among many holders a few always miss its answer and cannot tell that
      // the asker got it: were every holder a backup, one of them would answer again nearly every time. So
      // each holder stands by with probability backupResponders / members, after a head start for the preferred.
      // A request heard again later is a retry (its request or answer was lost): the standby doubles each round.
      if (
        this.random() * Math.max(1, this.members.size) >=
        this.params.backupResponders * 2 ** this.requestRound(id, now)
      )
        return;
      delay += this.params.preferredResponderGraceMs;
    }
    this.responses.set(id, now + delay);
    this.schedule("response", id, now + delay);
  }

  /** How many times, spaced at least repairRetryMs / 2 apart, a message has been asked for before now (capped). */
  private requestRound(id: MessageId, now: number): number {
    const heard = this.requestsHeard.get(id);
    if (heard === undefined) {
      this.requestsHeard.set(id, { at: now, round: 0 });
      return 0;
    }
    if (now - heard.at >= this.params.repairRetryMs / 2) {
      heard.at = now;
      heard.round = Math.min(heard.round + 1, 16);
    }
    return heard.round;
  }

  private preferredOnline(now: number): boolean {
    for (const id of this.preferred) {
      const heard = this.members.get(id as SenderId);
      if (heard !== undefined && now - heard <= this.params.preferredResponderAliveMs) return true;
    }
    return false;
  }

  private respond(id: MessageId, now: number, step: StepBuilder): void {
    this.responses.delete(id);
    const bytes = this.cache.get(id)?.bytes ?? this.pending.get(id)?.bytes;
    if (bytes === undefined) return;
    // An owner's larger share comes from its parameters (OWNER_PARAMS), not from being preferred.
    if (!this.takeBudget(this.responsesSent, this.params.responseBudgetPer600s, now)) return;
    this.onWire.delete(id);
    this.onWire.set(id, now);
    step.outgoing.push({ bytes, messageId: id, kind: "content", purpose: "repair-response" });
  }

  /** A content message that passed validation and is new. */
  private accept(message: WireMessage, bytes: Uint8Array, now: number, step: StepBuilder): void {
    const id = message.messageId as MessageId;
    const sender = message.senderId as SenderId;
    const seq = message.sequence;
    const lamport = message.lamportTimestamp ?? 0n;
    const inScope = Number(lamport) >= this.horizon;
    // A state seeded only by another member's mark, which this message of the sender sits below: the mark was
    // wrong. Start over from this message as the first contact, or gap detection would wait for the mark's number.
    const seeded = seq === undefined ? undefined : this.senders.get(sender);
    if (seeded !== undefined && seeded.highest === seeded.floor && seq! <= seeded.contiguous && seeded.pending === 0) {
      this.senders.delete(sender);
    }
    const state = seq === undefined ? undefined : this.senderState(sender, seq, !inScope, lamport);
    const deps = new Set<string>();
    if (inScope) {
      for (const entry of message.causalHistory) {
        const depId = entry.messageId as MessageId;
        // An id is a hash over everything but the history, so a message can name itself: that is no dependency.
        if (depId === id || this.seen.has(depId) || this.lost.has(depId)) continue;
        const key = idKey(depId);
        // Wait only for what is tracked: a dependency the full missing set cannot take would never be met.
        if (
          this.pending.has(depId) ||
          this.markMissing(key, { messageId: depId }, now, "causal-history", entry.retrievalHint, step)
        ) {
          deps.add(key);
        }
      }
      if (state !== undefined && seq !== undefined && seq > 1) {
        if (state.tentative && state.contiguous === state.floor && seq - 1 === state.floor) {
          if (this.cacheBySeq.has(`${sender}:${seq - 1}`)) {
            // The message below the floor arrived already (it was delivered as history): the chase ends here.
            state.tentative = false;
          } else {
            // The floor was guessed at first contact and this in-scope message sits on it: chase one step further back.
            state.floor = seq - 2;
            state.contiguous = seq - 2;
            state.runStart = seq - 1;
          }
        }
        if (seq - 1 > state.contiguous && !state.above.has(seq - 1)) {
          deps.add(seqKey(sender, seq - 1));
          this.openSequenceGap(state, seq - 1, now, "sequence", step);
        }
      }
    } else if (state !== undefined && seq !== undefined) {
      state.tentative = false;
    }
    if (deps.size > 0) {
      // Full buffers refuse the newcomer rather than evict: it stays unseen and unacknowledged, so a repair or
      // resend brings it back. Nothing below has happened for it yet.
      const refusal =
        this.pending.size >= this.params.maxPending
          ? "pending buffer is full"
          : state !== undefined && state.pending >= this.params.maxPendingPerSender
            ? "this sender's share of the pending buffer is full"
            : undefined;
      if (refusal !== undefined) {
        step.events.push({ type: "rejected", reason: refusal, senderId: sender, messageId: id });
        return;
      }
    }
    const missingEntry =
      this.missing.get(idKey(id)) ?? (seq === undefined ? undefined : this.missing.get(seqKey(sender, seq)));
    if (missingEntry !== undefined) {
      step.events.push({
        type: "repaired",
        messageId: id,
        senderId: sender,
        sequence: seq,
        afterMs: now - missingEntry.detectedAt,
      });
    }
    this.missing.delete(idKey(id));
    if (seq !== undefined) this.missing.delete(seqKey(sender, seq));
    this.recentReceived.push(id);
    this.ackDirty = true;
    this.scheduleSync(now);
    if (deps.size === 0) {
      this.deliver(message, bytes, now, step);
      return;
    }
    this.addPending(message, bytes, now, [...deps]);
  }

  /**
   * A message waits at most this long. Dependencies are given up after dependencyTimeoutMs, but a wait can
   * outlast them: a chain of messages fetched one by one, a dependency beyond maxGapPerDetection, or
   * messages crafted to name each other. Twice the timeout leaves room for a chain and bounds the rest.
   */
  private pendingDeadline(receivedAt: number): number {
    return receivedAt + 2 * this.params.dependencyTimeoutMs;
  }

  private addPending(
    message: WireMessage,
    bytes: Uint8Array,
    receivedAt: number,
    deps: readonly string[],
    giveUpAt = this.pendingDeadline(receivedAt),
  ): void {
    const id = message.messageId as MessageId;
    const seq = message.sequence;
    this.pending.set(id, { message, bytes, receivedAt, deps, giveUpAt, waitingOn: deps.length });
    const state = this.senders.get(message.senderId as SenderId);
    if (state !== undefined && seq !== undefined) state.pending++;
    if (seq !== undefined) this.pendingBySeq.set(seqKey(message.senderId, seq), id);
    for (const key of deps) {
      let set = this.waiters.get(key);
      if (set === undefined) {
        set = new Set();
        this.waiters.set(key, set);
      }
      set.add(id);
    }
    this.schedule("pending", id, giveUpAt);
  }

  /** A message waited too long: deliver it without what it still waits for. */
  private giveUpWaiting(id: MessageId, now: number, step: StepBuilder): void {
    const pending = this.pending.get(id);
    if (pending === undefined) return;
    this.pending.delete(id);
    const m = pending.message;
    if (m.sequence !== undefined) {
      this.pendingBySeq.delete(seqKey(m.senderId, m.sequence));
      const state = this.senders.get(m.senderId as SenderId);
      if (state !== undefined) state.pending--;
    }
    for (const key of pending.deps) {
      const set = this.waiters.get(key);
      if (set === undefined) continue;
      set.delete(id);
      if (set.size === 0) this.waiters.delete(key);
    }
    this.deliver(m, pending.bytes, now, step);
  }

  private senderState(sender: SenderId, seq: number, historical: boolean, lamport?: bigint): SenderState {
    let state = this.senders.get(sender);
    if (state !== undefined) return state;
    // First contact. Within the join grace (or for history), older messages of this sender are not ours to chase.
    const early = historical || (lamport !== undefined && Number(lamport) < this.horizon + this.params.joinGraceMs);
    const own = sender === this.senderId;
    const floor = own ? 0 : early ? seq - 1 : Math.max(0, seq - 2);
    state = {
      id: sender,
      contiguous: floor,
      floor,
      runStart: floor + 1,
      lostAbove: new Set(),
      lostSeqs: new Set(),
      heldBelowFloor: new Set(),
      heldBelow: new Set(),
      above: new Set(),
      highest: seq,
      markedLost: 0,
      tentative: !own && !early && seq > 1,
      pending: 0,
      announced: 0,
      announcements: 0,
    };
    this.senders.set(sender, state);
    return state;
  }

  /** Records `seq` as delivered (`held`) or given up on, and advances the contiguous mark. */
  private advanceSender(state: SenderState, seq: number, held = true): void {
    if (held && seq <= state.floor) {
      // History from before our first contact (a repair answer for someone else, a catch-up page).
      addNewest(state.heldBelowFloor, seq, MAX_LOST_SEQS);
      return;
    }
    if (seq <= state.contiguous) {
      // A late copy of a number given up on: it is held now.
      if (held) state.lostSeqs.delete(seq);
      return;
    }
    if (seq > state.highest) state.highest = seq;
    if (!held) addNewest(state.lostSeqs, seq, MAX_LOST_SEQS);
    if (seq !== state.contiguous + 1) {
      state.above.add(seq);
      if (!held) state.lostAbove.add(seq);
      return;
    }
    state.contiguous = seq;
    if (!held) state.runStart = seq + 1;
    while (state.above.delete(state.contiguous + 1)) {
      state.contiguous++;
      if (state.lostAbove.delete(state.contiguous)) state.runStart = state.contiguous + 1;
    }
    if (state.id !== this.senderId) {
      // Kept at its place if already waiting: the queue is ordered by the oldest unannounced progress.
      if (state.contiguous >= state.runStart) this.markQueue.add(state.id);
      const i = this.markOrder.indexOf(state.id);
      if (i >= 0) this.markOrder.splice(i, 1);
      this.markOrder.push(state.id);
      if (this.markOrder.length > this.params.ackMaxMarks * 2) this.markOrder.shift();
    }
  }

  /** Delivers a message whose dependencies are met, then everything that was waiting for it. */
  private deliver(first: WireMessage, firstBytes: Uint8Array, now: number, step: StepBuilder): void {
    const queue: [WireMessage, Uint8Array][] = [[first, firstBytes]];
    for (let item = queue.pop(); item !== undefined; item = queue.pop()) {
      const [message, bytes] = item;
      const id = message.messageId as MessageId;
      const sender = message.senderId as SenderId;
      const seq = message.sequence;
      const lamport = message.lamportTimestamp ?? 0n;
      if (lamport > this.lamport) this.lamport = lamport;
      this.seen.set(id, true);
      // A late copy of a message given up on by id: held now, whatever the seen set forgets later.
      this.lost.delete(id);
      const delivered: DeliveredMessage = {
        messageId: id,
        senderId: sender,
        sequence: seq,
        lamportTimestamp: lamport,
        content: message.content ?? new Uint8Array(),
        deliveredAt: now,
        own: false,
      };
      this.remember(delivered, bytes);
      if (this.params.trackAllReceipts) {
        this.others.set(id, { senderId: sender, sequence: seq, ackedBy: new Set([this.senderId]) });
        if (seq !== undefined) this.othersBySeq.set(`${sender}:${seq}`, id);
      }
      step.events.push({ type: "delivered", message: delivered });
      // Waiters name their exact dependency (an id, or the sender's previous sequence number).
      this.release(idKey(id), queue);
      if (seq !== undefined) {
        const state = this.senders.get(sender);
        if (state !== undefined) {
          this.advanceSender(state, seq);
          // Messages below the run that arrive late (reordered around first contact) extend it downwards.
          if (seq < state.runStart && state.heldBelow.size < 256) {
            state.heldBelow.add(seq);
            while (state.heldBelow.delete(state.runStart - 1)) state.runStart--;
          }
        }
        this.release(seqKey(sender, seq), queue);
      }
    }
  }

  /** A dependency is met (delivered or lost): wake the messages waiting for it. */
  private release(key: string, queue: [WireMessage, Uint8Array][]): void {
    this.missing.delete(key);
    const set = this.waiters.get(key);
    if (set === undefined) return;
    this.waiters.delete(key);
    for (const id of set) {
      const pending = this.pending.get(id);
      if (pending === undefined) continue;
      pending.waitingOn--;
      if (pending.waitingOn > 0) continue;
      this.pending.delete(id);
      const m = pending.message;
      if (m.sequence !== undefined) {
        this.pendingBySeq.delete(seqKey(m.senderId, m.sequence));
        const state = this.senders.get(m.senderId as SenderId);
        if (state !== undefined) state.pending--;
      }
      queue.push([m, pending.bytes]);
    }
  }

  private remember(message: DeliveredMessage, bytes: Uint8Array): void {
    this.cache.set(message.messageId, { ...message, bytes, retrievalHint: undefined });
    if (message.sequence !== undefined)
      this.cacheBySeq.set(`${message.senderId}:${message.sequence}`, message.messageId);
    this.history.push(message.messageId);
  }

  /** Sync messages are not logged, but their causal history can reveal what we miss. */
  private noteHistoryGaps(message: WireMessage, now: number, step: StepBuilder): void {
    const lamport = message.lamportTimestamp ?? 0n;
    if (Number(lamport) < this.horizon + this.params.joinGraceMs) return;
    for (const entry of message.causalHistory) {
      const id = entry.messageId as MessageId;
      if (this.seen.has(id) || this.lost.has(id) || this.pending.has(id)) continue;
      this.markMissing(idKey(id), { messageId: id }, now, "causal-history", entry.retrievalHint, step);
    }
  }

  // ------------------------------------------------------------------ timers

  /** Fires every timer due at `now`: repair requests and answers, resends, sync, loss declarations. */
  tick(now: number): Step {
    const step = new StepBuilder();
    let wantRequest = false;
    let syncDue = false;
    for (let top = this.timers.peek(); top !== undefined && top.at <= now; top = this.timers.peek()) {
      this.timers.pop();
      switch (top.kind) {
        case "request": {
          const entry = this.missing.get(top.key);
          if (entry !== undefined && entry.requestAt === top.at) wantRequest = true;
          break;
        }
        case "lost": {
          const entry = this.missing.get(top.key);
          if (entry === undefined || entry.lostAt !== top.at) break;
          // Not asked for often enough because the control budget ran out: a message its own sender has shown
          // to exist (a later sequence number) is given up only after MIN_ATTEMPTS_BEFORE_LOSS requests, or at
          // LOSS_DEADLINE_FACTOR × the timeout. Ids named in histories may be made up, and a missing set more than
          // half full is under pressure: no extension then, so that a flood cannot hold the missing set longer.
          const cap = entry.detectedAt + LOSS_DEADLINE_FACTOR * this.params.dependencyTimeoutMs;
          if (
            entry.starved === true &&
            entry.attempts < MIN_ATTEMPTS_BEFORE_LOSS &&
            now < cap &&
            this.missing.size <= this.params.maxMissing / 2 &&
            this.proven(entry)
          ) {
            // Look again once the budget has room (or a retry later), not before.
            const room = (this.controlSent[0] ?? now) + WINDOW_MS;
            entry.lostAt = Math.min(cap, Math.max(now + this.params.repairRetryMs * 2, room));
            this.schedule("lost", entry.key, entry.lostAt);
          } else this.declareLost(entry, now, step);
          break;
        }
        case "response": {
          const id = top.key as MessageId;
          if (this.responses.get(id) === top.at) this.respond(id, now, step);
          break;
        }
        case "resend":
          this.resend(top.key as MessageId, top.at, now, step);
          break;
        case "sync":
          if (this.syncAt === top.at) syncDue = true;
          break;
        case "pending":
          if (this.pending.get(top.key as MessageId)?.giveUpAt === top.at) {
            this.giveUpWaiting(top.key as MessageId, now, step);
          }
          break;
      }
    }
    if (wantRequest || (syncDue && (this.ackDirty || this.hasDueRequests(now)))) this.sendControl(now, step);
    else if (syncDue) this.syncAt = Number.POSITIVE_INFINITY;
    if (this.timers.size > 4 * (this.missing.size + this.own.size + this.responses.size + this.pending.size) + 64) {
      this.timers.compact((t) => this.isLive(t.kind, t.key, t.at));
    }
    return step.result();
  }

  /** When `tick` next has something to do; undefined when nothing is scheduled. */
  nextDeadline(): number | undefined {
    for (let top = this.timers.peek(); top !== undefined; top = this.timers.peek()) {
      if (this.isLive(top.kind, top.key, top.at)) return top.at;
      this.timers.pop();
    }
    return undefined;
  }

  private isLive(kind: TimerKind, key: string, at: number): boolean {
    switch (kind) {
      case "request":
        return this.missing.get(key)?.requestAt === at;
      case "lost":
        return this.missing.get(key)?.lostAt === at;
      case "response":
        return this.responses.get(key as MessageId) === at;
      case "resend":
        return this.own.get(key as MessageId)?.resendAt === at;
      case "sync":
        return this.syncAt === at;
      case "pending":
        return this.pending.get(key as MessageId)?.giveUpAt === at;
    }
  }

  private schedule(kind: TimerKind, key: string, at: number): void {
    this.timers.push({ at, kind, key });
  }

  /** Arms the sync timer unless it is armed already: a member owes a sync only after it received something. */
  private scheduleSync(now: number, interval = this.params.syncIntervalMs): void {
    if (Number.isFinite(this.syncAt)) return;
    const p = this.params;
    const jitter = 1 + p.syncJitter * (2 * this.random() - 1);
    const at = Math.max(now, this.lastSentAt) + Math.min(interval, p.syncIntervalMs) * jitter;
    this.syncAt = at;
    this.schedule("sync", "sync", at);
  }

  private hasDueRequests(now: number): boolean {
    for (const entry of this.missing.values()) if (entry.requestAt <= now) return true;
    return false;
  }

  private resend(id: MessageId, at: number, now: number, step: StepBuilder): void {
    const own = this.own.get(id);
    if (own === undefined || own.resendAt !== at) return;
    const unheard = own.ackedBy.size === 0 && own.possibly.size === 0;
    if (!(unheard || own.lacking) || own.resends >= this.params.maxResends) {
      own.resendAt = Number.POSITIVE_INFINITY;
      return;
    }
    own.lacking = false;
    own.resends++;
    // After the last resend nothing is scheduled; Infinity says so (a finite time would come back as a timer on restore).
    own.resendAt =
      own.resends < this.params.maxResends
        ? now + this.params.resendAfterMs * this.params.resendBackoff ** own.resends
        : Number.POSITIVE_INFINITY;
    if (Number.isFinite(own.resendAt)) this.schedule("resend", id, own.resendAt);
    step.outgoing.push({ bytes: own.bytes, messageId: id, kind: "content", purpose: "resend" });
  }

  private declareLost(entry: MissingEntry, now: number, step: StepBuilder): void {
    this.missing.delete(entry.key);
    const waiting = this.waiters.get(entry.key)?.size ?? 0;
    step.events.push({ type: "lost", ref: entry.ref, dependents: waiting });
    const queue: [WireMessage, Uint8Array][] = [];
    if (entry.ref.messageId !== undefined) this.lost.set(entry.ref.messageId, true);
    if (entry.ref.senderId !== undefined && entry.ref.sequence !== undefined) {
      const state = this.senders.get(entry.ref.senderId);
      // Beyond what the sender has shown, only a mark claimed it: forget the claim rather than count the number as
      // given up, or a lying mark would switch off gap detection for the sender's real messages to come.
      if (state !== undefined && entry.ref.sequence > state.highest) {
        state.markedLost = Math.max(state.markedLost, entry.ref.sequence);
      } else if (state !== undefined) this.advanceSender(state, entry.ref.sequence, false);
    }
    this.release(entry.key, queue);
    for (const [message, bytes] of queue) this.deliver(message, bytes, now, step);
  }

  /** A missing (sender, sequence) at or below what the sender itself has shown: it exists. */
  private proven(entry: MissingEntry): boolean {
    const { senderId, sequence } = entry.ref;
    if (senderId === undefined || sequence === undefined) return false;
    const state = this.senders.get(senderId);
    return state !== undefined && sequence <= state.highest;
  }

  private takeBudget(window: number[], budget: number, now: number): boolean {
    // Same arithmetic as the retry time in sendControl, so that a retry at exactly that time finds room.
    while (window.length > 0 && window[0]! + WINDOW_MS <= now) window.shift();
    if (window.length >= budget) return false;
    window.push(now);
    return true;
  }

  /** Overhead bytes a message built on `base` has left for repair requests and the ack summary. */
  private roomLeft(base: Omit<WireMessage, "ack" | "signature">): number {
    const used = encodeUnsigned(base).length + SIGNATURE_FIELD_BYTES - (base.content?.length ?? 0);
    return this.params.overheadBudgetBytes - used;
  }

  /**
   * Collects the repair requests that are due and fit in `room` encoded bytes, marking them as asked.
   * Due requests that do not fit wait for the next message (their timer is re-armed, not counted as an attempt).
   */
  private collectRequests(now: number, room: number): { ids: HistoryEntry[]; ranges: SequenceRange[] } {
    const p = this.params;
    const idEntries: MissingEntry[] = [];
    const bySender = new Map<string, MissingEntry[]>();
    for (const entry of this.missing.values()) {
      // A message that goes out anyway carries every request not yet asked, which saves a later control message.
      if (entry.requestAt > now && (entry.attempts > 0 || entry.suppressed === true)) continue;
      if (entry.ref.messageId !== undefined) {
        if (idEntries.length < p.maxRepairIdsPerMessage) idEntries.push(entry);
      } else if (entry.ref.senderId !== undefined && entry.ref.sequence !== undefined) {
        let list = bySender.get(entry.ref.senderId);
        if (list === undefined) {
          if (bySender.size >= p.maxRepairRangesPerMessage) continue;
          list = [];
          bySender.set(entry.ref.senderId, list);
        }
        list.push(entry);
      }
    }
    const asked: MissingEntry[] = [];
    const ids: HistoryEntry[] = [];
    let left = room;
    for (const entry of idEntries) {
      const request: HistoryEntry =
        entry.retrievalHint === undefined
          ? { messageId: entry.ref.messageId! }
          : { messageId: entry.ref.messageId!, retrievalHint: entry.retrievalHint };
      const size = historyEntrySize(request);
      if (size > left) continue;
      left -= size;
      ids.push(request);
      asked.push(entry);
    }
    const ranges: SequenceRange[] = [];
    const addRange = (senderId: string, run: MissingEntry[]): void => {
      if (ranges.length >= p.maxRepairRangesPerMessage) return;
      const range = { senderId, first: run[0]!.ref.sequence!, last: run[run.length - 1]!.ref.sequence! };
      const size = sequenceRangeSize(range);
      if (size > left) return;
      left -= size;
      ranges.push(range);
      asked.push(...run);
    };
    for (const [senderId, entries] of bySender) {
      entries.sort((a, b) => a.ref.sequence! - b.ref.sequence!);
      let run: MissingEntry[] = [entries[0]!];
      for (const e of entries.slice(1)) {
        if (e.ref.sequence === run[run.length - 1]!.ref.sequence! + 1) {
          run.push(e);
          continue;
        }
        addRange(senderId, run);
        run = [e];
      }
      addRange(senderId, run);
    }
    for (const entry of asked) {
      entry.attempts++;
      // Back off once, then retry at a steady pace: a message still missing at the dependency timeout is lost
      // for good, so four doubling waits (75 s) would leave a 120 s timeout room for five attempts only.
      entry.requestAt = now + p.repairRetryMs * (entry.attempts > 1 ? 2 : 1);
      this.schedule("request", entry.key, entry.requestAt);
    }
    const askedSet = new Set(asked);
    for (const entries of [idEntries, ...bySender.values()]) {
      for (const entry of entries) {
        if (askedSet.has(entry) || entry.requestAt > now) continue;
        entry.requestAt = now + p.repairRetryMs;
        this.schedule("request", entry.key, entry.requestAt);
      }
    }
    return { ids, ranges };
  }

  /** Sends a sync message: acknowledgements, causal history and due repair requests, within the control budget. */
  private sendControl(now: number, step: StepBuilder): void {
    if (!this.takeBudget(this.controlSent, this.params.controlBudgetPer600s, now)) {
      for (const entry of this.missing.values()) if (entry.requestAt <= now) entry.starved = true;
      // Out of budget: try again when the oldest control message leaves the window.
      const retry = (this.controlSent[0] ?? now) + WINDOW_MS;
      this.syncAt = retry;
      this.schedule("sync", "sync", retry);
      return;
    }
    const lamport = this.nextLamport(now);
    const messageId = computeMessageId({
      channelId: this.channelId,
      senderId: this.senderId,
      kind: "sync",
      sequence: 0,
      lamportTimestamp: lamport,
      content: new Uint8Array(),
    });
    const base: Omit<WireMessage, "ack" | "signature"> = {
      senderId: this.senderId,
      messageId,
      channelId: this.channelId,
      lamportTimestamp: lamport,
      causalHistory: this.causalHistory(),
      repairRequest: [],
      sequenceRepairRequest: [],
      kind: "sync",
    };
    const requests = this.collectRequests(now, this.roomLeft(base));
    const bytes = this.sign({ ...base, repairRequest: requests.ids, sequenceRepairRequest: requests.ranges });
    const purpose: OutgoingPurpose =
      requests.ids.length + requests.ranges.length > 0 && !this.ackDirty ? "repair-request" : "sync";
    this.lastSentAt = now;
    this.ackDirty = false;
    this.syncAt = Number.POSITIVE_INFINITY;
    this.owePendingMarks(now);
    step.outgoing.push({ bytes, messageId, kind: "sync", purpose });
  }

  /**
   * Progress never announced (more senders than one summary has mark slots) keeps a sync owed, one sync
   * interval later: in a quiet spell the queue drains, and the senders learn their receipts.
   */
  private owePendingMarks(now: number): void {
    // Repeats ride along on later messages; only progress never announced is owed a sync of its own, and
    // sooner (backlogSyncIntervalMs) while more of it waits than one summary has mark slots for.
    let unannounced = 0;
    for (const sender of this.markQueue) {
      const state = this.senders.get(sender);
      if (state === undefined || state.announced === state.contiguous) continue;
      if (++unannounced > this.params.ackMaxMarks) break;
    }
    if (unannounced === 0) return;
    this.ackDirty = true;
    this.scheduleSync(now, unannounced > this.params.ackMaxMarks ? this.params.backlogSyncIntervalMs : undefined);
  }

  /** Replaces the preferred responders, e.g. once the owner node's sender id is learnt. */
  setPreferredResponders(ids: readonly string[]): void {
    this.preferred = new Set(ids);
  }

  /**
   * Takes back a message this member sent before a restart that the snapshot does not reflect (it was
   * stored, then the process died before the next snapshot). Sequence numbers are never reused.
   * Returns false when the bytes are not one of our own content messages or are already known.
   */
  adoptOwn(bytes: Uint8Array, now: number): boolean {
    const m = decodeMessage(bytes, this.decodeLimits);
    if (m.senderId !== this.senderId || kindOf(m) !== "content" || m.sequence === undefined) return false;
    const id = m.messageId as MessageId;
    if (this.seen.has(id)) return false;
    const lamport = m.lamportTimestamp ?? 0n;
    if (lamport > this.lamport) this.lamport = lamport;
    if (m.sequence > this.ownSequence) this.ownSequence = m.sequence;
    this.seen.set(id, true);
    this.advanceSender(this.senderState(this.senderId, m.sequence, true), m.sequence);
    const content = m.content ?? new Uint8Array();
    this.remember(
      {
        messageId: id,
        senderId: this.senderId,
        sequence: m.sequence,
        lamportTimestamp: lamport,
        content,
        deliveredAt: now,
        own: true,
      },
      bytes,
    );
    const entry: OwnEntry = {
      messageId: id,
      sequence: m.sequence,
      bytes,
      lamportTimestamp: lamport,
      sentAt: now,
      resendAt: now,
      resends: 0,
      lacking: false,
      ackedBy: new Set(),
      possibly: new Map(),
    };
    this.own.set(id, entry);
    this.ownBySeq.set(m.sequence, id);
    // It may never have left the process: publish it again at the next tick unless acknowledged by then.
    if (this.params.maxResends > 0) this.schedule("resend", id, entry.resendAt);
    return true;
  }

  // ------------------------------------------------------------------ queries

  /** Members heard from (other than ourselves) with when each was last heard, most recent first. */
  memberList(): { senderId: SenderId; lastHeardAt: number }[] {
    return [...this.members.entries()].reverse().map(([senderId, lastHeardAt]) => ({ senderId, lastHeardAt }));
  }

  /** Members heard from, other than ourselves. */
  knownMembers(): number {
    return this.members.size;
  }

  /** State of a message: for own messages, its receipts ("acknowledged by k of N known members"). */
  status(messageId: string): MessageStatus | undefined {
    const id = messageId as MessageId;
    const own = this.own.get(id);
    if (own !== undefined) {
      const members = this.knownMembers();
      const count = own.ackedBy.size;
      const quorum = Math.max(1, Math.ceil(this.params.ackQuorum * members));
      const state: OwnState =
        count >= quorum ? "acknowledged" : own.possibly.size > 0 || count > 0 ? "possibly-acknowledged" : "pending";
      return {
        messageId: id,
        own: true,
        state,
        sequence: own.sequence,
        resends: own.resends,
        receipts: {
          count,
          members,
          ratio: members === 0 ? 0 : count / members,
          ackedBy: [...own.ackedBy],
          possiblyBy: [...own.possibly.keys()],
        },
      };
    }
    if (this.pending.has(id)) return { messageId: id, own: false, state: "pending" };
    if (this.missing.has(idKey(id))) return { messageId: id, own: false, state: "missing" };
    if (this.lost.has(id)) return { messageId: id, own: false, state: "lost" };
    if (this.seen.has(id)) return { messageId: id, own: false, state: "delivered" };
    return undefined;
  }

  /**
   * Who holds a message: for our own messages as in `status`; for others' messages when trackAllReceipts
   * is on (counting ourselves, not counting the message's sender).
   */
  receipts(messageId: string): { count: number; members: number; ackedBy: SenderId[] } | undefined {
    const status = this.status(messageId);
    if (status?.own) {
      return { count: status.receipts.count, members: status.receipts.members, ackedBy: [...status.receipts.ackedBy] };
    }
    const tracked = this.others.get(messageId as MessageId);
    if (tracked === undefined) return undefined;
    const ackedBy = [...tracked.ackedBy].filter((m) => m !== tracked.senderId);
    return { count: ackedBy.length, members: this.members.size, ackedBy };
  }

  /** The recent delivered log (bounded by `repairCacheSize`), ordered by (lamport timestamp, message id). */
  log(): DeliveredMessage[] {
    const out: DeliveredMessage[] = [];
    for (const c of this.cache.values()) {
      out.push({
        messageId: c.messageId,
        senderId: c.senderId,
        sequence: c.sequence,
        lamportTimestamp: c.lamportTimestamp,
        content: c.content,
        deliveredAt: c.deliveredAt,
        own: c.senderId === this.senderId,
      });
    }
    return out.sort((a, b) =>
      a.lamportTimestamp < b.lamportTimestamp
        ? -1
        : a.lamportTimestamp > b.lamportTimestamp
          ? 1
          : a.messageId < b.messageId
            ? -1
            : a.messageId > b.messageId
              ? 1
              : 0,
    );
  }

  /** Messages known to be missing right now. */
  missingRefs(): MessageRef[] {
    return [...this.missing.values()].map((m) => m.ref);
  }

  /** Encoded bytes of a recent message, to answer a repair from outside the engine (e.g. a history service). */
  cachedBytes(messageId: string): Uint8Array | undefined {
    return this.cache.get(messageId as MessageId)?.bytes;
  }

  /** Records the transport's retrieval hint for a message, carried in later causal histories. */
  setRetrievalHint(messageId: string, hint: Uint8Array): void {
    const cached = this.cache.get(messageId as MessageId);
    if (cached !== undefined) cached.retrievalHint = hint.slice();
  }

  /** Sizes of every buffer, for tests of the bounds and for metrics. */
  bufferSizes(): {
    pending: number;
    missing: number;
    own: number;
    seen: number;
    cache: number;
    members: number;
    senders: number;
    timers: number;
    responses: number;
    waiters: number;
    quotas: number;
  } {
    return {
      pending: this.pending.size,
      missing: this.missing.size,
      own: this.own.size,
      seen: this.seen.size,
      cache: this.cache.size,
      members: this.members.size,
      senders: this.senders.size,
      timers: this.timers.size,
      responses: this.responses.size,
      waiters: this.waiters.size,
      quotas: this.quota?.size ?? 0,
    };
  }

  // --------------------------------------------------------------- snapshots

  /**
   * The engine's state as JSON-safe data. `limits` trims the two large parts, for callers that keep the
   * messages themselves (a node with a store): the newest `cache` messages and `seen` ids are kept.
   * A trimmed snapshot forgets older ids, so the caller must de-duplicate deliveries of older messages.
   */
  snapshot(limits: { readonly cache?: number; readonly seen?: number } = {}): EngineSnapshot {
    const newest = <T>(items: T[], limit: number | undefined): T[] =>
      limit === undefined || items.length <= limit ? items : items.slice(items.length - limit);
    return {
      version: 1,
      channelId: this.channelId,
      senderId: this.senderId,
      lamport: this.lamport.toString(),
      ownSequence: this.ownSequence,
      horizon: this.horizon,
      lastSentAt: this.lastSentAt,
      ackDirty: this.ackDirty,
      controlSent: [...this.controlSent],
      responsesSent: [...this.responsesSent],
      senders: [...this.senders.values()].map((s) => ({
        id: s.id,
        contiguous: s.contiguous,
        above: [...s.above],
        highest: s.highest,
        tentative: s.tentative,
        floor: s.floor,
        runStart: s.runStart,
        lostAbove: [...s.lostAbove],
        lostSeqs: [...s.lostSeqs],
        heldBelowFloor: [...s.heldBelowFloor],
      })),
      members: [...this.members.entries()],
      memberConfirmed: [...this.memberConfirmed.entries()],
      seen: newest([...this.seen.keys()], limits.seen),
      lost: [...this.lost.keys()],
      cache: newest([...this.cache.values()], limits.cache).map((c) => ({
        bytes: bytesToHex(c.bytes),
        deliveredAt: c.deliveredAt,
        ...(c.retrievalHint === undefined ? {} : { hint: bytesToHex(c.retrievalHint) }),
      })),
      history: this.history.toArray(),
      recentReceived: this.recentReceived.toArray(),
      markOrder: [...this.markOrder],
      markQueue: [...this.markQueue],
      pending: [...this.pending.values()].map((p) => ({ bytes: bytesToHex(p.bytes), receivedAt: p.receivedAt })),
      missing: [...this.missing.values()].map((m) => ({
        key: m.key,
        ref: { ...m.ref },
        detectedAt: m.detectedAt,
        lostAt: m.lostAt,
        requestAt: m.requestAt,
        attempts: m.attempts,
      })),
      own: [...this.own.values()].map((o) => ({
        bytes: bytesToHex(o.bytes),
        sentAt: o.sentAt,
        resendAt: o.resendAt,
        resends: o.resends,
        ackedBy: [...o.ackedBy],
        possibly: [...o.possibly.entries()].map(([k, v]) => [k, v.toString()] as [string, string]),
      })),
    };
  }

  /** Rebuilds an engine from `snapshot()`; the config must name the same channel and identity. */
  static restore(snapshot: EngineSnapshot, config: Omit<EngineConfig, "now">): ChannelEngine {
    if (snapshot?.version !== 1) throw new RangeError(`unsupported snapshot version ${String(snapshot?.version)}`);
    if (snapshot.channelId !== config.channelId) {
      throw new RangeError(`snapshot is for channel "${snapshot.channelId}", not "${config.channelId}"`);
    }
    if (snapshot.senderId !== config.identity.senderId) {
      throw new RangeError(`snapshot belongs to sender ${snapshot.senderId}, not ${config.identity.senderId}`);
    }
    const engine = new ChannelEngine({ ...config, now: snapshot.horizon });
    engine.restoreFrom(snapshot);
    return engine;
  }

  private restoreFrom(s: EngineSnapshot): void {
    const decode = (hex: string): WireMessage => decodeMessage(fromHex(hex), this.decodeLimits);
    this.lamport = BigInt(s.lamport);
    this.ownSequence = s.ownSequence;
    this.lastSentAt = s.lastSentAt;
    this.ackDirty = s.ackDirty;
    this.controlSent = [...s.controlSent];
    this.responsesSent = [...s.responsesSent];
    for (const x of s.senders) {
      const id = x.id as SenderId;
      this.senders.set(id, {
        id,
        contiguous: x.contiguous,
        above: new Set(x.above),
        highest: x.highest,
        markedLost: 0,
        tentative: x.tentative,
        floor: x.floor,
        runStart: x.runStart ?? x.floor + 1,
        lostAbove: new Set(x.lostAbove ?? []),
        lostSeqs: new Set(x.lostSeqs ?? []),
        heldBelowFloor: new Set(x.heldBelowFloor ?? []),
        heldBelow: new Set(),
        pending: 0,
        // Not persisted: after a restart, queued progress is announced twice more.
        announced: 0,
        announcements: 0,
      });
    }
    for (const [id, at] of s.members) {
      this.members.set(id as SenderId, at);
      this.prefixIndex.set(senderPrefixHex(id), id as SenderId);
    }
    for (const [id, seq] of s.memberConfirmed) this.memberConfirmed.set(id as SenderId, seq);
    for (const id of s.seen) this.seen.set(id as MessageId, true);
    for (const id of s.lost) this.lost.set(id as MessageId, true);
    for (const c of s.cache) {
      const bytes = fromHex(c.bytes);
      const m = decodeMessage(bytes, this.decodeLimits);
      const id = m.messageId as MessageId;
      this.cache.set(id, {
        messageId: id,
        senderId: m.senderId as SenderId,
        sequence: m.sequence,
        lamportTimestamp: m.lamportTimestamp ?? 0n,
        content: m.content ?? new Uint8Array(),
        bytes,
        deliveredAt: c.deliveredAt,
        retrievalHint: c.hint === undefined ? undefined : fromHex(c.hint),
      });
      if (m.sequence !== undefined) this.cacheBySeq.set(`${m.senderId}:${m.sequence}`, id);
    }
    for (const id of s.history) this.history.push(id as MessageId);
    for (const id of s.recentReceived) this.recentReceived.push(id as MessageId);
    this.markOrder = s.markOrder.map((x) => x as SenderId);
    for (const id of s.markQueue ?? []) this.markQueue.add(id as SenderId);
    for (const m of s.missing) {
      const ref: MessageRef = {
        ...(m.ref.messageId === undefined ? {} : { messageId: m.ref.messageId as MessageId }),
        ...(m.ref.senderId === undefined ? {} : { senderId: m.ref.senderId as SenderId }),
        ...(m.ref.sequence === undefined ? {} : { sequence: m.ref.sequence }),
      };
      this.missing.set(m.key, {
        key: m.key,
        ref,
        detectedAt: m.detectedAt,
        lostAt: m.lostAt,
        requestAt: m.requestAt,
        attempts: m.attempts,
        retrievalHint: undefined,
      });
      this.schedule("request", m.key, m.requestAt);
      this.schedule("lost", m.key, m.lostAt);
    }
    const pendingMessages = s.pending.map((p) => ({
      message: decode(p.bytes),
      bytes: fromHex(p.bytes),
      receivedAt: p.receivedAt,
    }));
    const pendingIds = new Set(pendingMessages.map((p) => p.message.messageId));
    for (const p of pendingMessages) this.restorePending(p.message, p.bytes, p.receivedAt, pendingIds);
    for (const o of s.own) {
      const bytes = fromHex(o.bytes);
      const m = decodeMessage(bytes, this.decodeLimits);
      const entry: OwnEntry = {
        messageId: m.messageId as MessageId,
        sequence: m.sequence ?? 0,
        bytes,
        lamportTimestamp: m.lamportTimestamp ?? 0n,
        sentAt: o.sentAt,
        resendAt: o.resendAt ?? Number.POSITIVE_INFINITY,
        resends: o.resends,
        lacking: false,
        ackedBy: new Set(o.ackedBy as SenderId[]),
        possibly: new Map(o.possibly.map(([k, v]) => [k as SenderId, BigInt(v)])),
      };
      this.own.set(entry.messageId, entry);
      this.ownBySeq.set(entry.sequence, entry.messageId);
      if (Number.isFinite(entry.resendAt)) this.schedule("resend", entry.messageId, entry.resendAt);
    }
    if (this.ackDirty) this.scheduleSync(this.lastSentAt);
  }

  /**
   * Re-registers a pending message and its unmet dependencies after a restore, by the rules of `accept`.
   * One whose dependencies are all met by now is delivered at the first tick rather than dropped.
   */
  private restorePending(
    message: WireMessage,
    bytes: Uint8Array,
    receivedAt: number,
    pendingIds: ReadonlySet<string>,
  ): void {
    const id = message.messageId as MessageId;
    const sender = message.senderId as SenderId;
    const seq = message.sequence;
    const deps = new Set<string>();
    for (const entry of message.causalHistory) {
      const depId = entry.messageId as MessageId;
      if (depId === id || this.seen.has(depId) || this.lost.has(depId)) continue;
      const key = idKey(depId);
      if (pendingIds.has(depId) || this.missing.has(key)) deps.add(key);
    }
    const state = this.senders.get(sender);
    if (state !== undefined && seq !== undefined && seq - 1 > state.contiguous && !state.above.has(seq - 1)) {
      deps.add(seqKey(sender, seq - 1));
    }
    this.addPending(message, bytes, receivedAt, [...deps], deps.size === 0 ? receivedAt : undefined);
  }
}

export type { MessageKind };
