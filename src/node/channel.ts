import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import {
  ChannelEngine,
  type EngineEvent,
  type EngineSnapshot,
  type Equivocation,
  type Identity,
  type MessageRef,
  type MessageStatus,
  type OutgoingPurpose,
  type Params,
  type ReceiveOptions,
  type SenderId,
  type SignatureVerifier,
  type Step,
} from "../core/index.js";
import type { Store } from "../storage/index.js";
import { DecodeError, decodeMessage, kindOf, type WireMessage } from "../wire/index.js";

/** What a channel needs from the node that runs it. */
export interface ChannelContext {
  readonly store: Store;
  readonly identity: Identity;
  readonly params: Partial<Params>;
  readonly random: () => number;
  readonly clock: () => number;
  /** Native signature implementations; the engine's portable ones when absent. */
  readonly sign?: (unsigned: Uint8Array) => Uint8Array;
  readonly verifySignature?: SignatureVerifier;
  /**
   * Sends one of the engine's outgoing messages; `ephemeral` ones are not worth keeping in history. `purpose`
   * tells content (the app's own messages) from control (syncs, repairs, resends), for a send queue.
   */
  publish(topic: string, bytes: Uint8Array, message: OutgoingInfo): void;
  emit(channelId: string, event: NodeEvent): void;
  /**
   * Another member's content message was accepted (stored), before or without its delivery: the app channel
   * reassembles segments here, since a set may be complete while one of its segments waits for a gap.
   */
  accepted?(message: WireMessage, now: number): void;
}

/** What the runtime tells the publisher about one outgoing message. */
export interface OutgoingInfo {
  readonly messageId: string;
  readonly ephemeral: boolean;
  readonly purpose: OutgoingPurpose;
}

/**
 * Events a node reports, one per engine event but `accepted` (which only tells the node to store a message),
 * with delivered messages numbered by their log position.
 */
export type NodeEvent = Exclude<EngineEvent, { type: "accepted" }> & {
  readonly channelId: string;
  readonly at: number;
  readonly position?: number;
};

interface StoredSnapshot {
  readonly engine: EngineSnapshot;
  /** Length of the delivered log when the snapshot was taken: deliveries after it are replayed at restart. */
  readonly delivered: number;
  /** The owner's signed roster (hex), as last fetched: checked again when the channel opens. */
  readonly roster?: string;
}

const SNAPSHOT_EVERY_MS = 2_000;
/**
 * Receipts of own messages (and a new roster) are saved within this long, also when no step follows: a process
 * that dies right after learning them, or a page that reloads, reads them back. At most one such snapshot per
 * period, and only while they change; never sooner than RECEIPTS_SNAPSHOT_COST times what the last snapshot took
 * (a sender with 1,000 unconfirmed messages writes about 1.2 MB in 170 ms), so they cost at most a tenth of a core.
 */
const RECEIPTS_SNAPSHOT_MS = 1_000;
const RECEIPTS_SNAPSHOT_COST = 10;
const SNAPSHOT_EVERY_STEPS = 500;
const MAX_TIMER_MS = 5_000;
const REPLAY_PAGE = 1_000;
const SNAPSHOT_CACHE = 1_000;
const SNAPSHOT_SEEN = 20_000;
/** Messages read back from the store were accepted once already: no rate quota applies to them again. */
const FETCHED: ReceiveOptions = Object.freeze({ requested: true });

/** A received content message on its way into the store, with the transport's retrieval hint. */
interface Incoming {
  readonly message: WireMessage;
  readonly bytes: Uint8Array;
  readonly retrievalHint: Uint8Array | undefined;
}

export function channelTopic(channelId: string): string {
  return `/chorus/1/${encodeURIComponent(channelId)}/proto`;
}

/**
 * One channel of a running node: the engine, its timers, and the rule that everything is stored before it
 * is reported. A sent message is stored before `send` returns; a received message is stored before it is
 * delivered; a snapshot plus the stored messages after it rebuild the engine after a crash.
 */
export class ChannelRuntime {
  readonly topic: string;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private lastSnapshotAt = 0;
  /** How long the last snapshot took to write, in ms of `clock`. */
  private lastSnapshotCost = 0;
  private stepsSinceSnapshot = 0;
  /** A snapshot owed for changed receipts, saved when RECEIPTS_SNAPSHOT_MS have passed since the last one. */
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private batched: (() => void)[] | undefined;
  /** Called with the refs of newly missing messages, so the node can ask the owner directly. */
  onMissing: ((runtime: ChannelRuntime) => void) | undefined;
  private roster: Uint8Array | undefined;

  private constructor(
    private readonly ctx: ChannelContext,
    readonly channelId: string,
    readonly engine: ChannelEngine,
    topic: string,
  ) {
    this.topic = topic;
  }

  /**
   * Opens a channel from the store: restores the last snapshot and replays what came after it. `topic`: the
   * transport topic (on Waku, the content topic) the channel is published on; `channelTopic(channelId)` by default.
   */
  static open(ctx: ChannelContext, channelId: string, topic: string = channelTopic(channelId)): ChannelRuntime {
    const store = ctx.store;
    const now = ctx.clock();
    const config = {
      channelId,
      identity: ctx.identity,
      random: ctx.random,
      params: ctx.params,
      ...(ctx.sign === undefined ? {} : { sign: ctx.sign }),
      ...(ctx.verifySignature === undefined ? {} : { verifySignature: ctx.verifySignature }),
      // An equivocation is recognised however old the first version is: the store has every version.
      otherVersion: (senderId: string, seq: number, messageId: string) => {
        const held = store.listBySender(channelId, senderId, { fromSeq: seq, toSeq: seq, limit: 16 });
        const other = held.find((m) => m.messageId !== messageId && m.deliveredPos !== null);
        return other === undefined ? undefined : { messageId: other.messageId, bytes: other.bytes };
      },
    };
    const saved = store.getSnapshot(channelId);
    const parsed = saved === undefined ? undefined : (JSON.parse(saved) as StoredSnapshot);
    const engine =
      parsed === undefined ? new ChannelEngine({ ...config, now }) : ChannelEngine.restore(parsed.engine, config);
    const runtime = new ChannelRuntime(ctx, channelId, engine, topic);
    const replayFrom = parsed?.delivered ?? 0;
    if (parsed?.roster !== undefined) runtime.roster = hexToBytes(parsed.roster);
    runtime.replay(replayFrom, now);
    runtime.saveSnapshot(now);
    return runtime;
  }

  /** The owner's signed roster as last fetched (kept in the stored snapshot), or undefined. */
  get cachedRoster(): Uint8Array | undefined {
    return this.roster;
  }

  set cachedRoster(bytes: Uint8Array | undefined) {
    this.roster = bytes;
    // N of "k of N" after a restart: saved soon, not only with the next step's snapshot.
    if (bytes !== undefined) this.saveSoon(this.ctx.clock());
  }

  /** Deliveries after the snapshot went into the store but not into the engine's state: feed them again. */
  private replay(after: number, now: number): void {
    const { store, identity } = this.ctx;
    for (let cursor = after; ; ) {
      const page = store.listDelivered(this.channelId, { after: cursor, limit: REPLAY_PAGE });
      for (const m of page) {
        if (m.senderId === identity.senderId) this.engine.adoptOwn(m.bytes, now);
        else this.engine.receive(m.bytes, now, undefined, FETCHED);
      }
      if (page.length < REPLAY_PAGE) break;
      cursor += page.length;
    }
    // Received but still waiting for dependencies when the process stopped.
    for (let cursor: { lamport: bigint; messageId: string } | undefined; ; ) {
      const page = store.listUndelivered(this.channelId, { limit: REPLAY_PAGE, ...(cursor ? { after: cursor } : {}) });
      for (const m of page) this.apply(this.engine.receive(m.bytes, now, undefined, FETCHED), now, undefined);
      if (page.length < REPLAY_PAGE) break;
      const last = page.at(-1)!;
      cursor = { lamport: last.lamport, messageId: last.messageId };
    }
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.saveTimer !== undefined) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.saveSnapshot(this.ctx.clock());
  }

  /** Saves a snapshot now if RECEIPTS_SNAPSHOT_MS have passed since the last one, else once they have. */
  private saveSoon(now: number): void {
    if (this.stopped || this.saveTimer !== undefined) return;
    const at = this.lastSnapshotAt + Math.max(RECEIPTS_SNAPSHOT_MS, RECEIPTS_SNAPSHOT_COST * this.lastSnapshotCost);
    if (now >= at) {
      this.saveSnapshot(now);
      return;
    }
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      // A snapshot since the change (a step's) holds it already.
      if (!this.stopped && this.lastSnapshotAt < now) this.saveSnapshot(this.ctx.clock());
    }, at - now);
    this.saveTimer.unref?.();
  }

  /** `now` defaults to the clock; a segment set's parts share one, so their lamport timestamps are consecutive. */
  send(
    content: Uint8Array,
    ephemeral: boolean,
    now = this.ctx.clock(),
  ): { messageId: string; lamportTimestamp?: bigint; seq?: number } {
    if (ephemeral) {
      const result = this.engine.sendEphemeral(content, now);
      for (const o of result.outgoing)
        this.ctx.publish(this.topic, o.bytes, { messageId: o.messageId, ephemeral: true, purpose: o.purpose });
      return { messageId: result.messageId };
    }
    const result = this.engine.send(content, now);
    this.apply(result, now, undefined);
    return {
      messageId: result.messageId,
      ...(result.lamportTimestamp === undefined ? {} : { lamportTimestamp: result.lamportTimestamp }),
      ...(result.sequence === undefined ? {} : { seq: result.sequence }),
    };
  }

  /**
   * Bytes from the topic, or from the owner's history service. Fetched bytes (`requested`) are exempt from
   * the engine's per-sender rate quota: a catch-up page holds many messages of one sender at once.
   * `retrievalHint`: the transport's handle on the message (Waku: its message hash), stored with it.
   */
  receive(bytes: Uint8Array, options: ReceiveOptions = {}, retrievalHint?: Uint8Array): void {
    if (this.stopped) return;
    const now = this.ctx.clock();
    let decoded: WireMessage | undefined;
    try {
      decoded = decodeMessage(bytes);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
    }
    // Decoded here for this engine alone: no memo to share the object among engines (they cost more than they save).
    const step = this.engine.receive(bytes, now, decoded, { ...options, unshared: true });
    this.apply(
      step,
      now,
      decoded && kindOf(decoded) === "content" ? { message: decoded, bytes, retrievalHint } : undefined,
    );
  }

  /**
   * A step the engine returned outside receive, send and tick (news from the owner, a change of the owner path):
   * stored, published and reported like any other. Without one, only re-arms the timer.
   */
  applyStep(step: Step = { outgoing: [], events: [] }): void {
    if (this.stopped) return;
    this.apply(step, this.ctx.clock(), undefined);
  }

  tick(): void {
    if (this.stopped) return;
    const now = this.ctx.clock();
    this.apply(this.engine.tick(now), now, undefined);
  }

  status(messageId: string): MessageStatus | undefined {
    return this.engine.status(messageId);
  }

  /** Senders found signing two messages with one sequence number (spec 9.6), oldest first. */
  equivocations(): Equivocation[] {
    return this.engine.equivocations.list();
  }

  /** The equivocation a message is part of, if one was found. */
  equivocationOf(messageId: string): Equivocation | undefined {
    return this.engine.equivocations.of(messageId);
  }

  /** Messages known to be missing right now. */
  missing(): MessageRef[] {
    return this.engine.missingRefs();
  }

  /** How many messages are missing right now, without listing them. */
  missingCount(): number {
    return this.engine.bufferSizes().missing;
  }

  /** The members the engine counts in its receipts' "of N", most recently heard first. */
  members(): { senderId: SenderId; lastHeardAt: number }[] {
    return this.engine.memberList();
  }

  /** Members heard from, other than this node. */
  knownMembers(): number {
    return this.engine.knownMembers();
  }

  /** Who holds a message, as the engine tracks it: own messages, and everyone's on an owner. */
  receipts(messageId: string): { count: number; members: number; ackedBy: SenderId[] } | undefined {
    return this.engine.receipts(messageId);
  }

  /** The share of members that makes an own message acknowledged. */
  get ackQuorum(): number {
    return this.engine.params.ackQuorum;
  }

  /**
   * Stores, then publishes and reports. All writes of one step (the message, its delivery, and when due
   * the snapshot) are one transaction, so a crash leaves either all of them or none.
   */
  /**
   * Records the retrieval hint of an own message once the transport published it. The first hint stays: a
   * later copy (a repair rebroadcast) travels under another hash, but members already carry the first.
   */
  noteRetrievalHint(messageId: string, hint: Uint8Array): void {
    if (this.stopped || !this.ctx.store.hasMessage(this.channelId, messageId)) return;
    if (this.ctx.store.setRetrievalHint(this.channelId, messageId, hint)) this.engine.setRetrievalHint(messageId, hint);
  }

  private apply(step: Step, now: number, incoming: Incoming | undefined): void {
    const { store } = this.ctx;
    const positions = new Map<string, number>();
    const fresh = new Set<string>();
    store.transaction(() => {
      for (const e of step.events) {
        if (e.type === "accepted" && incoming !== undefined && e.messageId === incoming.message.messageId) {
          this.storeMessage(incoming.message, incoming.bytes, now, incoming.retrievalHint);
        }
        if (e.type !== "delivered") continue;
        const m = e.message;
        if (m.own) {
          const out = step.outgoing.find((o) => o.messageId === m.messageId);
          if (out !== undefined) this.storeMessage(out.message, out.bytes, now);
        }
        const before = store.getMessage(this.channelId, m.messageId);
        if (before === undefined) continue;
        if (before.deliveredPos === null) fresh.add(m.messageId);
        // The engine keeps hints only for messages it delivered: one that waited for its dependencies gets it now.
        if (before.retrievalHint !== undefined) this.engine.setRetrievalHint(m.messageId, before.retrievalHint);
        positions.set(m.messageId, store.markDelivered(this.channelId, m.messageId));
      }
      this.stepsSinceSnapshot++;
      if (now - this.lastSnapshotAt >= SNAPSHOT_EVERY_MS || this.stepsSinceSnapshot >= SNAPSHOT_EVERY_STEPS) {
        this.saveSnapshot(now);
      } else if (step.events.some((e) => e.type === "acknowledged")) this.saveSoon(now);
    });
    const effects = () => {
      for (const o of step.outgoing) {
        const info = { messageId: o.messageId, ephemeral: o.kind === "ephemeral", purpose: o.purpose };
        this.ctx.publish(this.topic, o.bytes, info);
      }
      if (incoming !== undefined && this.ctx.accepted !== undefined) {
        const id = incoming.message.messageId;
        if (step.events.some((e) => e.type === "accepted" && e.messageId === id))
          this.ctx.accepted(incoming.message, now);
      }
      let missing = false;
      for (const e of step.events) {
        if (e.type === "delivered") {
          // A delivery replayed after a restart was reported before the crash: never report it twice.
          if (!fresh.has(e.message.messageId)) continue;
          this.ctx.emit(this.channelId, {
            ...e,
            channelId: this.channelId,
            at: now,
            position: positions.get(e.message.messageId)!,
          });
          continue;
        }
        if (e.type === "accepted") continue;
        if (e.type === "missing") missing = true;
        this.ctx.emit(this.channelId, { ...e, channelId: this.channelId, at: now });
      }
      if (missing) this.onMissing?.(this);
    };
    // Inside a batch, nothing leaves the process before the batch's transaction commits.
    if (this.batched !== undefined) this.batched.push(effects);
    else effects();
    this.schedule();
  }

  /**
   * Receives many messages (a catch-up page) in one transaction: one disk sync instead of one per message.
   * Publishing and reporting wait for the commit, so a crash inside the batch reports nothing of it.
   */
  receiveBatch(messages: readonly Uint8Array[], options: ReceiveOptions = {}): void {
    if (this.stopped || messages.length === 0) return;
    const effects: (() => void)[] = [];
    this.batched = effects;
    try {
      this.ctx.store.transaction(() => {
        for (const bytes of messages) this.receive(bytes, options);
      });
    } finally {
      this.batched = undefined;
    }
    for (const run of effects) run();
  }

  private storeMessage(message: WireMessage, bytes: Uint8Array, now: number, retrievalHint?: Uint8Array): void {
    this.ctx.store.putMessage({
      channelId: this.channelId,
      messageId: message.messageId,
      senderId: message.senderId,
      seq: message.sequence ?? null,
      lamport: message.lamportTimestamp ?? 0n,
      bytes,
      receivedAt: now,
      ...(retrievalHint === undefined ? {} : { retrievalHint }),
    });
  }

  private saveSnapshot(now: number): void {
    const started = this.ctx.clock();
    const snapshot: StoredSnapshot = {
      // The store holds every message, and de-duplicates deliveries: the snapshot needs only recent ones.
      engine: this.engine.snapshot({ cache: SNAPSHOT_CACHE, seen: SNAPSHOT_SEEN }),
      delivered: this.ctx.store.countDelivered(this.channelId),
      ...(this.roster === undefined ? {} : { roster: bytesToHex(this.roster) }),
    };
    this.ctx.store.putSnapshot(this.channelId, JSON.stringify(snapshot));
    this.lastSnapshotCost = Math.max(0, this.ctx.clock() - started);
    this.lastSnapshotAt = now;
    this.stepsSinceSnapshot = 0;
  }

  /** Arms one timer for the engine's next deadline (at most MAX_TIMER_MS away, so snapshots keep flowing). */
  private schedule(): void {
    if (this.stopped) return;
    const now = this.ctx.clock();
    const deadline = Math.min(this.engine.nextDeadline() ?? Number.POSITIVE_INFINITY, now + MAX_TIMER_MS);
    if (this.timer !== undefined && this.timerAt <= deadline) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = deadline;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.tick();
      },
      Math.max(0, deadline - now),
    );
    this.timer.unref?.();
  }
}
