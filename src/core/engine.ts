import {
  DecodeError,
  type DecodeLimits,
  decodeMessage,
  kindOf,
  type MessageKind,
  type WireMessage,
} from "../wire/index.js";
import { channelSalt } from "./ack-filter.js";
import { OthersReceipts } from "./acks/others.js";
import { OwnReceipts } from "./acks/receipts.js";
import { SummaryWriter } from "./acks/summary.js";
import { type AdmissionRules, RateQuota, refusalOf } from "./admission.js";
import { equalBytes } from "./bytes.js";
import { CausalBuffer } from "./causal-buffer.js";
import { checkContent, MessageComposer } from "./composer.js";
import { type BufferSizes, bufferSizesOf, type EngineConfig, type ReceiveOptions } from "./config.js";
import { EquivocationLog } from "./equivocation.js";
import { TimerHeap, type TimerKind } from "./heap.js";
import { createSigner, createVerifier } from "./identity.js";
import { type ChannelId, computeMessageId, type MessageId, type SenderId, senderPrefixHex } from "./ids.js";
import { type DependencyKey, idKey, seqKey } from "./keys.js";
import { MemberDirectory } from "./members.js";
import { deliveredView, MessageCache } from "./message-cache.js";
import { OwnerLink } from "./owner/link.js";
import { MemberOwnerPath } from "./owner/member.js";
import { mutated, type Params, resolveParams } from "./params.js";
import { GapTracker, type MissingEntry } from "./repair/gaps.js";
import { Responder } from "./repair/responder.js";
import { type SenderState, SenderTable } from "./senders.js";
import {
  checkSnapshot,
  type EngineParts,
  type EngineSnapshot,
  readSnapshot,
  type SnapshotLimits,
  writeSnapshot,
} from "./snapshot.js";
import { StepBuilder } from "./step.js";
import { SyncSchedule } from "./sync-schedule.js";
import type { DeliveredMessage, MessageRef, MessageStatus, OutgoingPurpose, SendResult, Step } from "./types.js";

export type { BufferSizes, EngineConfig, ReceiveOptions } from "./config.js";
export type { EngineSnapshot } from "./snapshot.js";

/**
 * The Chorus protocol engine for one member in one channel. Pure: time and randomness come in as
 * arguments, and every call returns the bytes to publish and the events that happened.
 *
 * It tells the story of one message (receive, admit, accept, deliver) and dispatches timers; the state lives
 * in parts that own it (docs/architecture.md).
 */
export class ChannelEngine {
  readonly channelId: ChannelId;
  readonly senderId: SenderId;
  readonly params: Params;

  private readonly composer: MessageComposer;
  private readonly decodeLimits: DecodeLimits | undefined;
  private readonly ownPrefix: string;
  private readonly rules: AdmissionRules;
  private readonly quota: RateQuota | undefined;
  private readonly timers = new TimerHeap();
  private readonly senders: SenderTable;
  private readonly members: MemberDirectory;
  private readonly cache: MessageCache;
  private readonly buffer: CausalBuffer;
  private readonly gaps: GapTracker;
  private readonly responder: Responder;
  private readonly summary: SummaryWriter;
  private readonly ownReceipts: OwnReceipts;
  private readonly link: OwnerLink;
  readonly equivocations: EquivocationLog; // spec 9.6: `of(id)`, `list()`
  /** This member's side of the direct path to the owner node: roster, receipt reports, news, gap fill. */
  readonly owner: MemberOwnerPath;
  /** With trackAllReceipts: who holds everyone's messages. */
  private readonly others: OthersReceipts | undefined;

  private lamport = 0n;
  private ownSequence = 0;
  private readonly horizon: number;
  private readonly sync: SyncSchedule;

  constructor(config: EngineConfig) {
    if (typeof config.channelId !== "string" || config.channelId.length === 0) {
      throw new TypeError("channelId must be a non-empty string");
    }
    if (typeof config.random !== "function") throw new TypeError("random must be a function returning [0, 1)");
    if (!Number.isFinite(config.now)) throw new TypeError(`now must be a finite number of ms, got ${config.now}`);
    this.channelId = config.channelId as ChannelId;
    this.senderId = config.identity.senderId;
    const p = resolveParams(config.params);
    this.params = p;
    this.decodeLimits = config.decodeLimits;
    this.ownPrefix = senderPrefixHex(this.senderId);
    this.horizon = config.now;
    this.rules = {
      channelId: config.channelId,
      self: this.senderId,
      params: p,
      verify: config.verifySignature ?? createVerifier(),
      verifiedCopy: (id, bytes) => equalBytes(this.cache.bytesOf(id as MessageId) ?? this.buffer.bytesOf(id), bytes),
      // The roster, once the owner published one; the caller's rule besides.
      isMember: (id) => this.link.admits(id) && (config.isMember === undefined || config.isMember(id)),
    };
    this.quota = p.senderQuotaPer600s > 0 ? new RateQuota(p) : undefined;
    const salt = channelSalt(config.channelId);
    this.senders = new SenderTable(p, this.senderId, config.now, (id) => this.members.dropState(id));
    this.members = new MemberDirectory(p, config.random, config.preferredResponders ?? []);
    this.cache = new MessageCache(p, this.senderId, (id) => this.responder.forget(id));
    this.buffer = new CausalBuffer(p, this.timers, this.senders);
    this.gaps = new GapTracker(p, this.timers, this.members, this.senders, this.buffer);
    this.equivocations = new EquivocationLog(p, this.cache, this.senders, config.otherVersion);
    const repairParts = [this.members, this.cache, this.buffer, this.gaps] as const;
    this.responder = new Responder(p, this.senderId, config.random, this.timers, ...repairParts);
    this.summary = new SummaryWriter(p, salt, config.random, this.senders, this.cache);
    const signer = config.sign ?? createSigner(config.identity.secretKey);
    this.link = new OwnerLink(config.channelId, this.senderId, signer, this.senders);
    this.ownReceipts = new OwnReceipts(p, salt, this.ownPrefix, this.timers, this.members, this.link);
    this.owner = new MemberOwnerPath(this.channelId, this.link, this.gaps, this.senders, this.ownReceipts);
    const composeParts = [this.cache, this.gaps, this.summary, this.equivocations] as const;
    this.composer = new MessageComposer(p, config.channelId, this.senderId, signer, ...composeParts);
    this.others = p.trackAllReceipts ? new OthersReceipts(p, this.senderId, this.members, this.senders) : undefined;
    const syncParts = [this.summary, this.equivocations, this.link, config.now] as const;
    this.sync = new SyncSchedule(p, config.random, this.timers, ...syncParts);
  }

  // ---------------------------------------------------------------- sending

  /** Sends a chat message. It is delivered locally at once and tracked for receipts. */
  send(content: Uint8Array, now: number): SendResult {
    checkContent(content);
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
    const { bytes, message } = this.composer.compose(messageId, "content", lamport, now, content, sequence);
    // This message carries our acknowledgements; no sync is owed until we receive something new, or while
    // progress waits for a mark slot.
    this.sync.sent(now);
    this.advance(this.senders.firstContact(this.senderId, sequence, true), sequence, true);
    this.cache.remember(message, bytes, now);
    this.ownReceipts.track(message, bytes, now, now + this.params.resendAfterMs);
    this.sync.owePending(now);
    // One-element literals, not a StepBuilder's pushed-to arrays (each push grew a 17-slot backing store).
    const outgoing = [{ bytes, message, messageId, kind: "content", purpose: "content" }] as const;
    const events = [{ type: "delivered", message: deliveredView(message, now, true) }] as const;
    return { outgoing, events, messageId, sequence, lamportTimestamp: lamport };
  }

  /** Sends a message with no timestamp, history, acknowledgement, resend or log entry. */
  sendEphemeral(content: Uint8Array, _now: number): SendResult {
    checkContent(content);
    const messageId = computeMessageId({
      channelId: this.channelId,
      senderId: this.senderId,
      kind: "ephemeral",
      sequence: 0,
      lamportTimestamp: 0n,
      content,
    });
    const { bytes, message } = this.composer.ephemeral(messageId, content);
    const outgoing = [{ bytes, message, messageId, kind: "ephemeral", purpose: "ephemeral" }] as const;
    return { outgoing, events: [], messageId, sequence: undefined, lamportTimestamp: undefined };
  }

  private nextLamport(now: number): bigint {
    const clock = BigInt(Math.max(0, Math.floor(now)));
    this.lamport = this.lamport + 1n > clock ? this.lamport + 1n : clock;
    return this.lamport;
  }

  // -------------------------------------------------------------- receiving

  /**
   * Handles bytes received on the channel's topic. `decoded` may be passed when the caller already decoded these
   * exact bytes (a simulator delivering one message to many members; `options.unshared`: only this engine gets it).
   * `options.requested` says the caller fetched these bytes on purpose (catch-up from a history service, replay
   * from its own store): they are exempt from the per-sender rate quota.
   */
  receive(bytes: Uint8Array, now: number, decoded?: WireMessage, options?: ReceiveOptions): Step {
    const step = new StepBuilder();
    let message: WireMessage;
    try {
      message = decoded ?? decodeMessage(bytes, this.decodeLimits);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      step.events.push({ type: "rejected", code: "undecodable", reason: `undecodable: ${err.message}` });
      return step.result();
    }
    const shared = decoded !== undefined && options?.unshared !== true;
    const refusal = refusalOf(message, bytes, now, this.rules, shared);
    if (refusal !== undefined) {
      step.events.push({ type: "rejected", ...refusal, senderId: message.senderId, messageId: message.messageId });
      return step.result();
    }
    const sender = message.senderId as SenderId;
    const kind = kindOf(message);
    const id = message.messageId as MessageId;
    const held = kind === "content" && this.alreadyHave(message);
    if (kind === "content") {
      // Someone (re)broadcast it: a pending answer of ours is no longer needed.
      this.responder.cancel(id);
      // Only a copy of a message we already hold is a rebroadcast. The first copy is the one an asker
      // missed: counting it would refuse every request that follows the original within repairRetryMs / 2.
      if (held) this.responder.sawOnWire(id, now);
    }
    // A copy of a message we hold says nothing new, not even that its sender is online: it may be a replay. It may
    // also be a resend by a sender that missed our summaries: a sync is owed, within the budget (section 13).
    if (held && sender !== this.senderId) this.sync.oweForCopy(now);
    if (sender === this.senderId && kind === "content" && !held) this.forgoOwnVersion(id, now, step);
    if (sender === this.senderId || held) return step.result();
    if (this.quota !== undefined && options?.requested !== true) {
      const missedById = kind === "content" && message.kind === undefined && this.gaps.has(idKey(id));
      const twin = kind === "content" && this.equivocations.otherVersion(message) !== undefined;
      const over = this.quota.charge(message, kind, now, missedById, twin);
      if (over !== undefined) {
        step.events.push({ type: "rejected", ...over, senderId: sender, messageId: id });
        return step.result();
      }
    }
    const evicted = this.members.hearFrom(sender, now);
    if (evicted !== undefined) this.ownReceipts.forgetMember(evicted);
    this.process(message, bytes, sender, kind, now, step, shared);
    this.gaps.resolveStrayMarks(sender, now, step);
    return step.result();
  }

  private process(
    message: WireMessage,
    bytes: Uint8Array,
    sender: SenderId,
    kind: MessageKind,
    now: number,
    step: StepBuilder,
    shared: boolean,
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
    // A content message reaches here only when `alreadyHave` found it neither delivered nor waiting.
    // What its author tells us it holds: causal history, marks, filter.
    this.others?.read(message, sender);
    if (this.ownReceipts.size > 0) this.ownReceipts.read(message, sender, this.ownSequence, now, step);
    this.gaps.readMarks(message, this.ownPrefix, now, step, shared);
    this.responder.readRequests(message, now, step);
    if (kind === "sync") {
      // Sync messages are not logged, but their causal history can reveal what we miss.
      if (Number(message.lamportTimestamp ?? 0n) >= this.horizon + this.params.joinGraceMs) {
        this.gaps.openFromHistory(message.causalHistory, this.cache, now, step);
      }
      return;
    }
    this.accept(message, bytes, now, step, shared);
  }

  /** A content message delivered or waiting here, also once its id has left the seen set. */
  private alreadyHave(message: WireMessage): boolean {
    const id = message.messageId as MessageId;
    if (this.cache.isDelivered(id) || this.buffer.has(id)) return true;
    const seq = message.sequence;
    if (seq === undefined) return false;
    const state = this.senders.get(message.senderId as SenderId);
    if (state === undefined) return false;
    const delivered = this.senders.delivered(state, seq);
    const held = delivered === "unless-given-up" ? !this.cache.isGivenUp(id) : delivered;
    // Another message at a delivered number is no copy: it is an equivocation (spec 9.6), and is kept too.
    return held && this.equivocations.otherVersion(message) === undefined;
  }

  /**
   * A version of ours this member lacks: another process on our key signed it (spec 9.3 step 7). We never take it,
   * so a gap by its id (a notice or a history named it) closes now, silently, and releases its waiters: else it
   * would be asked for at every retry until the dependency timeout, each answered by others, and the messages
   * naming it would wait as long.
   */
  private forgoOwnVersion(id: MessageId, now: number, step: StepBuilder): void {
    if (mutated(this.params, "own-version-gap")) return;
    const entry = this.gaps.take(idKey(id));
    if (entry === undefined) return;
    const from = step.events.length;
    this.declareLost(entry, now, step, false);
    this.oweForRelease(from, now, step);
  }

  /** Gaps given up outside a tick released what `step` delivered since `from`: owed as a tick's release (section 13). */
  private oweForRelease(from: number, now: number, step: StepBuilder): void {
    const released = step.events.findIndex((e, i) => i >= from && e.type === "delivered") >= 0;
    if (!released || mutated(this.params, "sync-owed-release")) return;
    this.sync.ackDirty = true;
    if (!this.link.up) this.sync.arm(now);
  }

  /** A content message that passed validation and is new: delivered now, or waiting for its dependencies. */
  private accept(message: WireMessage, bytes: Uint8Array, now: number, step: StepBuilder, shared = true): void {
    const id = message.messageId as MessageId;
    const sender = message.senderId as SenderId;
    const seq = message.sequence;
    const lamport = message.lamportTimestamp ?? 0n;
    const inScope = Number(lamport) >= this.horizon;
    const state = seq === undefined ? undefined : this.senders.contact(sender, seq, !inScope, lamport, this.buffer);
    let deps: readonly DependencyKey[] = [];
    if (inScope) {
      if (state !== undefined && seq! > 1) this.senders.chaseFloor(state, seq!, this.cache);
      deps = this.buffer.dependenciesOf(message, state, this.cache, this.gaps, { now, step });
    } else if (state !== undefined) this.senders.settleFloor(state);
    if (deps.length > 0) {
      // Full buffers refuse the newcomer rather than evict: it stays unseen and unacknowledged, so a repair or
      // resend brings it back. Nothing below has happened for it yet.
      const refusal = this.buffer.refusal(state === undefined ? undefined : sender);
      if (refusal !== undefined) {
        step.events.push({ type: "rejected", ...refusal, senderId: sender, messageId: id });
        return;
      }
    }
    const missed = this.gaps.arrived(id, sender, seq);
    if (missed !== undefined) {
      step.events.push({
        type: "repaired",
        messageId: id,
        senderId: sender,
        sequence: seq,
        afterMs: now - missed.detectedAt,
      });
    }
    step.events.push({ type: "accepted", messageId: id, senderId: sender, sequence: seq });
    this.summary.noteReceived(id, sender, seq);
    this.sync.ackDirty = true;
    // With the owner path up, receipts go to the owner in reports: no sync is owed for them.
    if (!this.link.up && !mutated(this.params, "sync-owed")) this.sync.arm(now);
    if (deps.length === 0) this.deliver(message, bytes, now, step, state, !shared);
    else this.buffer.add(message, bytes, now, deps);
  }

  /**
   * Delivers a message whose dependencies are met, then what waited for it. `st`: its sender's state, if known;
   * `alone`: this engine decoded it, no other holds the object (its cached facts need no memo to be shared by).
   */
  private deliver(
    first: WireMessage,
    firstBytes: Uint8Array,
    now: number,
    step: StepBuilder,
    st?: SenderState,
    alone = false,
  ): void {
    const queue: [WireMessage, Uint8Array][] = [[first, firstBytes]];
    for (let item = queue.pop(); item !== undefined; item = queue.pop()) {
      const [message, bytes] = item;
      const id = message.messageId as MessageId;
      const sender = message.senderId as SenderId;
      const seq = message.sequence;
      const lamport = message.lamportTimestamp ?? 0n;
      if (lamport > this.lamport && !mutated(this.params, "lamport-on-delivery")) this.lamport = lamport;
      if (seq !== undefined && this.equivocations.check(message, bytes, now, step)) this.sync.owePending(now);
      this.cache.remember(message, bytes, now, alone && message === first);
      this.others?.noteDelivered(id, sender, seq);
      step.events.push({ type: "delivered", message: deliveredView(message, now, false) });
      // Waiters name their exact dependency (an id, or the sender's previous sequence number). Its key is a string
      // built for the lookup: not built when nothing is missing or waiting, as for most deliveries.
      if (this.hasDependents()) this.release(idKey(id), queue);
      if (seq !== undefined) {
        const state = st !== undefined && message === first ? st : this.senders.get(sender);
        if (state !== undefined) {
          this.advance(state, seq, true);
          if (this.senders.extendRunDown(state, seq) && state.id !== this.senderId) this.link.noteProgress(state);
        }
        if (this.hasDependents()) this.release(seqKey(sender, seq), queue);
      }
    }
  }

  /** Something is missing or waits: only then can a delivery or a loss release anything. */
  private hasDependents(): boolean {
    return this.gaps.size > 0 || this.buffer.waitedFor > 0;
  }

  /** A dependency is met (delivered or given up): it is no longer missing, and its waiters may be ready. */
  private release(key: DependencyKey, queue: [WireMessage, Uint8Array][]): void {
    this.gaps.resolve(key);
    this.buffer.release(key, queue);
  }

  /** Records a sender's sequence number as delivered or given up; progress is news for our marks. */
  private advance(state: SenderState, seq: number, delivered: boolean): void {
    if (this.senders.advance(state, seq, delivered) && state.id !== this.senderId) this.noteProgress(state);
  }

  /** Another sender's contiguous mark moved: news for our marks, and for the owner. */
  private noteProgress(state: SenderState): void {
    this.summary.noteProgress(state);
    this.link.noteProgress(state);
  }

  private declareLost(entry: MissingEntry, now: number, step: StepBuilder, announce = true): void {
    if (announce) step.events.push({ type: "lost", ref: entry.ref, dependents: this.buffer.dependents(entry.key) });
    const { messageId, senderId, sequence } = entry.ref;
    if (messageId !== undefined) this.cache.markGivenUp(messageId);
    const state = senderId === undefined ? undefined : this.senders.get(senderId);
    if (state !== undefined && sequence !== undefined && this.senders.giveUp(state, sequence)) {
      if (state.id !== this.senderId) this.noteProgress(state);
    }
    const queue: [WireMessage, Uint8Array][] = [];
    this.release(entry.key, queue);
    for (const [message, bytes] of queue) this.deliver(message, bytes, now, step);
  }

  /**
   * The app needs none of `sender`'s `sequences` (the rest of a segment set it reassembled), nor the `ids` their
   * histories name: those gaps close as given up, with no `lost` event, and their waiters are released. Another
   * sender's message named only by id here is still repaired through that sender's sequence gap.
   */
  forgo(sender: SenderId, sequences: readonly number[], now: number, ids: readonly string[] = []): Step {
    const step = new StepBuilder();
    const keys = [...sequences.map((seq) => seqKey(sender, seq)), ...ids.map((id) => idKey(id))];
    for (const key of keys) {
      const entry = this.gaps.take(key);
      if (entry !== undefined) this.declareLost(entry, now, step, false);
    }
    this.oweForRelease(0, now, step);
    return step.result();
  }

  /** Asks for `sender`'s `sequences` and the `ids` no earlier than `until` (the rest of a segment set may do instead). */
  holdRepair(sender: SenderId, sequences: readonly number[], until: number, ids: readonly string[] = []): void {
    for (const key of [...sequences.map((seq) => seqKey(sender, seq)), ...ids.map(idKey)]) this.gaps.hold(key, until);
  }

  // ------------------------------------------------------------------ timers

  /** Fires every timer due at `now`: repair requests and answers, resends, sync, loss declarations. */
  tick(now: number): Step {
    const step = new StepBuilder();
    let wantRequest = false;
    let syncDue = false;
    for (let top = this.timers.peek(); top !== undefined && top.at <= now; top = this.timers.peek()) {
      this.timers.pop();
      const { kind, key, at } = top;
      switch (kind) {
        case "request":
          if (this.gaps.requestDue(key, at)) wantRequest = true;
          break;
        case "lost": {
          const entry = this.gaps.expire(key, at, now, this.sync.reopensAt(now));
          if (entry !== undefined) this.declareLost(entry, now, step);
          break;
        }
        case "response":
          this.responder.fire(key as MessageId, at, now, step);
          break;
        case "resend":
          this.ownReceipts.fireResend(key as MessageId, at, now, step);
          break;
        case "sync":
          if (this.sync.isDue(at)) syncDue = true;
          break;
        case "pending": {
          const expired = this.buffer.expire(key as MessageId, at);
          if (expired !== undefined) this.deliver(expired.message, expired.bytes, now, step);
          break;
        }
      }
    }
    // Messages a loss or a deadline released are news for others' marks: owed like an acceptance (section 13).
    const released = step.events.some((e) => e.type === "delivered") && !mutated(this.params, "sync-owed-release");
    if (released) this.sync.ackDirty = true;
    const owed = syncDue && (this.sync.ackDirty || this.gaps.hasDue(now) || this.equivocations.announced(now) > 0);
    if (wantRequest || owed) this.sendControl(now, step);
    else if (syncDue) this.sync.disarm();
    else if (released && !this.link.up) this.sync.arm(now);
    const live = this.gaps.size + this.ownReceipts.size + this.responder.size + this.buffer.size;
    if (this.timers.size > 4 * live + 64) this.timers.compact((t) => this.isLive(t.kind, t.key, t.at));
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
      case "lost":
        return this.gaps.isLive(kind, key, at);
      case "response":
        return this.responder.isLive(key as MessageId, at);
      case "resend":
        return this.ownReceipts.isLive(key as MessageId, at);
      case "sync":
        return this.sync.isDue(at);
      case "pending":
        return this.buffer.isLive(key as MessageId, at);
    }
  }

  /** Sends a sync message: acknowledgements, causal history and due repair requests, within the control budget. */
  private sendControl(now: number, step: StepBuilder): void {
    if (!this.sync.takeControl(now)) {
      // Out of budget: the timer is re-armed for when the oldest control message leaves the window.
      this.gaps.markStarved(now);
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
    const { bytes, message } = this.composer.compose(messageId, "sync", lamport, now);
    const asks = message.repairRequest.length + message.sequenceRepairRequest.length;
    const purpose: OutgoingPurpose = asks > 0 && !this.sync.ackDirty ? "repair-request" : "sync";
    this.sync.sent(now);
    this.sync.owePending(now);
    step.outgoing.push({ bytes, message, messageId, kind: "sync", purpose });
  }

  // -------------------------------------------------------------- owner path

  /**
   * The owner node is reachable over a direct path (`up`), or no longer. While it is, gaps are fetched from the
   * owner first (topic requests wait `ownerFetchGraceMs` longer), receipts go to it in reports, and no sync is
   * owed for acknowledgements; when it goes away, the topic takes over again.
   */
  setOwnerPath(up: boolean, now: number): void {
    if (this.link.up === up) return;
    this.link.up = up;
    this.gaps.deferRequests(up ? this.params.ownerFetchGraceMs : 0);
    if (!up && this.sync.ackDirty) this.sync.arm(now);
  }

  /** Our content message left a send queue (RLN pacing) only at `now`: its first resend counts from then. */
  notePublished(messageId: string, now: number): void {
    this.ownReceipts.published(messageId as MessageId, now);
  }

  /** Replaces the preferred responders, e.g. once the owner node's sender id is learnt. */
  setPreferredResponders(ids: readonly string[]): void {
    this.members.setPreferred(ids);
  }

  /**
   * Takes back a message this member sent before a restart that the snapshot does not reflect (it was
   * stored, then the process died before the next snapshot). Sequence numbers are never reused.
   * Returns false when the bytes are not one of our own content messages or are already known.
   */
  adoptOwn(bytes: Uint8Array, now: number): boolean {
    const m = decodeMessage(bytes, this.decodeLimits);
    if (m.senderId !== this.senderId || kindOf(m) !== "content" || m.sequence === undefined) return false;
    if (this.cache.isDelivered(m.messageId as MessageId)) return false;
    const lamport = m.lamportTimestamp ?? 0n;
    if (lamport > this.lamport) this.lamport = lamport;
    if (m.sequence > this.ownSequence) this.ownSequence = m.sequence;
    this.advance(this.senders.firstContact(this.senderId, m.sequence, true), m.sequence, true);
    this.cache.remember(m, bytes, now);
    // It may never have left the process: publish it again at the next tick unless acknowledged by then.
    this.ownReceipts.track(m, bytes, now, now);
    return true;
  }

  // ------------------------------------------------------------------ queries

  /** Members heard from (other than ourselves) with when each was last heard, most recent first. */
  memberList(): { senderId: SenderId; lastHeardAt: number }[] {
    return this.members.list();
  }

  /** Members heard from, other than ourselves. */
  knownMembers(): number {
    return this.members.size;
  }

  /** State of a message: for own messages, its receipts ("acknowledged by k of N known members"). */
  status(messageId: string): MessageStatus | undefined {
    const id = messageId as MessageId;
    const own = this.ownReceipts.status(id);
    if (own !== undefined) return own;
    if (this.buffer.has(id)) return { messageId: id, own: false, state: "pending" };
    if (this.gaps.has(idKey(id))) return { messageId: id, own: false, state: "missing" };
    if (this.cache.isGivenUp(id)) return { messageId: id, own: false, state: "lost" };
    if (this.cache.isDelivered(id)) return { messageId: id, own: false, state: "delivered" };
    return undefined;
  }

  /**
   * Who holds a message: for our own messages as in `status`; for others' messages when trackAllReceipts
   * is on (counting ourselves, not counting the message's sender).
   */
  receipts(messageId: string): { count: number; members: number; ackedBy: SenderId[] } | undefined {
    const own = this.ownReceipts.status(messageId as MessageId);
    if (own?.own)
      return { count: own.receipts.count, members: own.receipts.members, ackedBy: [...own.receipts.ackedBy] };
    return this.others?.receipts(messageId as MessageId);
  }

  /** The recent delivered log (bounded by `repairCacheSize`), ordered by (lamport timestamp, message id). */
  deliveredLog(): DeliveredMessage[] {
    return this.cache.deliveredLog();
  }

  /** Messages known to be missing right now. */
  missingRefs(): MessageRef[] {
    return this.gaps.refs();
  }

  /** How many messages are known to be missing right now. */
  missingCount(): number {
    return this.gaps.size;
  }

  /** Encoded bytes of a recent message, to answer a repair from outside the engine (e.g. a history service). */
  cachedBytes(messageId: string): Uint8Array | undefined {
    return this.cache.bytesOf(messageId as MessageId);
  }

  /** Records the transport's retrieval hint for a message, carried in later causal histories. */
  setRetrievalHint(messageId: string, hint: Uint8Array): void {
    this.cache.setRetrievalHint(messageId as MessageId, hint);
  }

  /** Sizes of every buffer, for tests of the bounds and for metrics. */
  bufferSizes(): BufferSizes {
    return bufferSizesOf(this.parts(), this.timers.size, this.quota?.size ?? 0);
  }

  // --------------------------------------------------------------- snapshots

  /**
   * The engine's state as JSON-safe data. `limits` trims the two large parts, for callers that keep the
   * messages themselves (a node with a store): the newest `cache` messages and `seen` ids are kept.
   * A trimmed snapshot forgets older ids, so the caller must de-duplicate deliveries of older messages.
   */
  snapshot(limits: SnapshotLimits = {}): EngineSnapshot {
    return writeSnapshot(
      {
        channelId: this.channelId,
        senderId: this.senderId,
        lamport: this.lamport,
        ownSequence: this.ownSequence,
        horizon: this.horizon,
        lastSentAt: this.sync.lastSentAt,
        ackDirty: this.sync.ackDirty,
        controlSent: this.sync.controlSent(),
      },
      this.parts(),
      limits,
    );
  }

  /** Rebuilds an engine from `snapshot()`; the config must name the same channel and identity. */
  static restore(snapshot: EngineSnapshot, config: Omit<EngineConfig, "now">): ChannelEngine {
    checkSnapshot(snapshot, config.channelId, config.identity.senderId);
    const engine = new ChannelEngine({ ...config, now: snapshot.horizon });
    engine.restoreFrom(snapshot);
    return engine;
  }

  private restoreFrom(s: EngineSnapshot): void {
    this.lamport = BigInt(s.lamport);
    this.ownSequence = s.ownSequence;
    readSnapshot(s, this.parts(), this.decodeLimits);
    this.sync.restore(s.lastSentAt, s.ackDirty, s.controlSent);
  }

  private parts(): EngineParts {
    return {
      senders: this.senders,
      members: this.members,
      cache: this.cache,
      summary: this.summary,
      buffer: this.buffer,
      gaps: this.gaps,
      receipts: this.ownReceipts,
      responder: this.responder,
      equivocations: this.equivocations,
    };
  }
}
