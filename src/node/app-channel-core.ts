// The moving parts of an app channel (open-channel.ts): the runtime (engine, store, timers), the content
// pipeline (segments, parity, cipher), the RLN queue in front of the transport, and the bookkeeping that
// turns engine events into the app's events. Everything the runtime publishes passes `publish` below;
// everything the topic brings passes `receive`.
import {
  ContentPipeline,
  DEFAULT_REASSEMBLER_LIMITS,
  type Forgo,
  type PacerState,
  type Params,
  type PayloadCipher,
  type ReassemblerLimits,
  RlnPacer,
  type RlnPacerOptions,
  type SegmentationOptions,
  type SenderId,
  segmentPayload,
} from "../core/index.js";
import type { Store } from "../storage/store.js";
import type { Transport } from "../transport/transport.js";
import { decodeMessage, tryDecodeSegment, type WireMessage } from "../wire/index.js";
import { ChannelRuntime, type NodeEvent, type OutgoingInfo } from "./channel.js";
import { ChannelEmitter, type ChannelEvents, type SyncStatus, syncStatus } from "./channel-events.js";
import type { ChannelHost } from "./open-channel.js";
import { OwnPayloads } from "./own-payloads.js";
import { storedOwnSets, storedSegments } from "./stored-segments.js";

export interface CoreOptions {
  readonly channelId: string;
  readonly transport: Transport;
  readonly topic: string;
  /** Largest message the transport and the wire format carry. */
  readonly maxMessageBytes: number;
  readonly params?: Partial<Params>;
  readonly segmentation?: SegmentationOptions;
  readonly reassembly?: Partial<ReassemblerLimits>;
  readonly rln?: Partial<RlnPacerOptions>;
  readonly cipher?: PayloadCipher;
  readonly quorum?: number;
}

interface Queued {
  readonly bytes: Uint8Array;
  readonly info: OutgoingInfo;
}

/** Room a message needs besides its content: ids, signature, history, the ack summary's budget, a cipher's tag. */
const FIXED_OVERHEAD_BYTES = 2_048;
/** How often payloads past their resends and incomplete segment sets are looked at. */
const HOUSEKEEPING_MS = 1_000;
const MAX_TRACKED_PAYLOADS = 4_096;

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

export class AppChannelCore {
  readonly runtime: ChannelRuntime;
  readonly emitter = new ChannelEmitter();
  readonly transport: Transport;
  readonly store: Store;
  private readonly clock: () => number;
  private readonly pipeline: ContentPipeline;
  private readonly pacer: RlnPacer<Queued> | undefined;
  /** Our content messages still in the RLN queue, by message id: they have not left yet. */
  private readonly queuedContent = new Map<string, Queued>();
  private readonly own: OwnPayloads;
  private readonly segmentation: SegmentationOptions | undefined;
  /** The reassembler's bound on one segment: what it would not take is not a segment here either. */
  private readonly maxSegmentBytes: number;
  /** Largest content of one message. */
  private readonly maxContent: number;
  private collecting: Queued[] | undefined;
  private paceTimer: ReturnType<typeof setTimeout> | undefined;
  private paceAt = Number.POSITIVE_INFINITY;
  private readonly housekeeping: ReturnType<typeof setInterval>;
  private givenUp = 0;
  private lastSync = "";
  /** App events from before the app could listen (replayed while opening): released after a turn of the loop. */
  private early: (() => void)[] | undefined = [];
  private closed = false;

  constructor(
    private readonly host: ChannelHost,
    options: CoreOptions,
  ) {
    this.transport = options.transport;
    this.store = host.store;
    this.clock = host.clock;
    this.segmentation = options.segmentation;
    this.pipeline = new ContentPipeline({
      ...(options.segmentation === undefined ? {} : { segmentation: options.segmentation }),
      ...(options.reassembly === undefined ? {} : { reassembly: options.reassembly }),
      ...(options.cipher === undefined ? {} : { cipher: options.cipher }),
      channelId: options.channelId,
    });
    this.maxSegmentBytes = options.reassembly?.maxSegmentBytes ?? DEFAULT_REASSEMBLER_LIMITS.maxSegmentBytes;
    this.pacer = options.rln === undefined ? undefined : new RlnPacer<Queued>(options.rln);
    this.runtime = ChannelRuntime.open(
      {
        store: host.store,
        identity: host.identity,
        params: options.params ?? {},
        random: host.random,
        clock: host.clock,
        ...(host.sign === undefined ? {} : { sign: host.sign }),
        ...(host.verifySignature === undefined ? {} : { verifySignature: host.verifySignature }),
        publish: (_topic, bytes, info) => this.publish(bytes, info),
        emit: (_channel, event) => this.engineEvent(event),
        accepted: (message, now) => this.accepted(message, now),
      },
      options.channelId,
      options.topic,
    );
    for (const forgo of this.pipeline.restore(
      storedSegments(this.store, this.runtime, this.clock(), options.reassembly),
    )) {
      this.advise(forgo);
    }
    const p = this.runtime.engine.params;
    this.maxContent = options.maxMessageBytes - p.overheadBudgetBytes - FIXED_OVERHEAD_BYTES;
    let giveUpAfterMs = 0;
    for (let i = 0; i <= p.maxResends; i++) giveUpAfterMs += p.resendAfterMs * p.resendBackoff ** i;
    this.own = new OwnPayloads(
      { quorum: options.quorum ?? p.ackQuorum, giveUpAfterMs, maxTracked: MAX_TRACKED_PAYLOADS },
      (name, event) => this.appEvent(name, event),
    );
    // Our segmented payloads sent within the resend window before a restart: their receipts go on to the app.
    for (const set of storedOwnSets(this.store, this.runtime, this.clock() - giveUpAfterMs, options.reassembly)) {
      const holders = (messageId: string) => this.runtime.receipts(messageId)?.ackedBy ?? [];
      this.own.restore(set.id, set.messageIds, set.dataCount, set.sentAt, holders, this.runtime.knownMembers());
    }
    this.transport.subscribe(options.topic, (bytes, _from, info) => this.receive(bytes, info?.retrievalHint));
    this.runtime.start();
    this.housekeeping = setInterval(() => this.tidy(), HOUSEKEEPING_MS);
    this.housekeeping.unref?.();
    setTimeout(() => {
      const early = this.early ?? [];
      this.early = undefined;
      for (const run of early) run();
    }, 0);
  }

  send(payload: Uint8Array, ephemeral: boolean): string {
    if (!(payload instanceof Uint8Array) || payload.length === 0) {
      throw new TypeError("payload must be a non-empty Uint8Array");
    }
    const now = this.clock();
    let parts: readonly Uint8Array[] = [payload];
    let hash: string | undefined;
    let dataCount: number | undefined;
    if (!ephemeral && this.segmentation !== undefined && payload.length > this.segmentation.segmentSize) {
      const segmented = segmentPayload(payload, this.segmentation);
      if (segmented.hash !== undefined) {
        parts = segmented.messages;
        hash = hex(segmented.hash);
        dataCount = segmented.dataCount;
      }
    }
    const largest = Math.max(...parts.map((c) => c.length));
    if (largest > this.maxContent) {
      const hint =
        this.segmentation === undefined || ephemeral
          ? "open the channel with options.segmentation to send larger payloads"
          : "choose a smaller segmentation.segmentSize";
      throw new RangeError(
        `payload is ${payload.length} bytes; one message carries at most ${this.maxContent}: ${hint}`,
      );
    }
    if (ephemeral) return this.runtime.send(payload, true).messageId;
    if (this.pacer !== undefined) {
      const state = this.pacer.state(now);
      const queued = state.queuedControl + state.queuedContent;
      if (queued + parts.length > this.pacer.options.maxQueued) {
        throw new RangeError(
          `the RLN send queue holds ${queued} messages; ${parts.length} more exceed its maxQueued of ${this.pacer.options.maxQueued}`,
        );
      }
    }
    const batch: Queued[] = [];
    this.collecting = batch;
    const ids: string[] = [];
    try {
      // One instant for the whole set: its segments get consecutive lamport timestamps (spec 19.7), which lets a
      // receiver that did without some work out their ids.
      const at = this.clock();
      for (const content of parts) ids.push(this.runtime.send(content, false, at).messageId);
    } finally {
      this.collecting = undefined;
    }
    const id = hash ?? (ids[0] as string);
    this.own.track(id, ids, dataCount, now);
    if (this.pacer !== undefined && batch.length > 0) {
      // The segments of one payload go into the queue together, never interleaved with another payload's.
      if (this.pacer.submit(batch, "content", now).accepted) {
        for (const item of batch) this.queuedContent.set(item.info.messageId, item);
      }
      this.pump();
    }
    return id;
  }

  syncStatus(): SyncStatus {
    return syncStatus(this.runtime.missingCount(), this.givenUp);
  }

  queueState(): PacerState | undefined {
    return this.pacer?.state(this.clock());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.housekeeping);
    if (this.paceTimer !== undefined) clearTimeout(this.paceTimer);
    this.transport.unsubscribe(this.runtime.topic);
    this.runtime.stop();
  }

  private receive(bytes: Uint8Array, retrievalHint: Uint8Array | undefined): void {
    if (this.closed) return;
    const opened = this.pipeline.open(bytes);
    // Sealed under another key, or not sealed at all: nothing of it reaches the engine.
    if (opened === undefined) return;
    this.runtime.receive(opened, {}, retrievalHint);
  }

  private publish(bytes: Uint8Array, info: OutgoingInfo): void {
    if (this.closed) return;
    const sealed = this.pipeline.seal(bytes);
    const pacer = this.pacer;
    if (pacer === undefined) {
      this.transmit(sealed, info);
      return;
    }
    if (info.ephemeral) {
      // An ephemeral message is never queued: it goes now or, over the threshold, not at all.
      if (pacer.sendEphemeral(this.clock())) this.transmit(sealed, info);
      return;
    }
    const item = { bytes: sealed, info };
    if (this.collecting !== undefined && info.purpose === "content") {
      this.collecting.push(item);
      return;
    }
    // The engine counts a message as sent when it leaves the engine, but ours may still wait in the queue: a resend
    // of it would be a second copy (it was never heard because it never left), and an answer for it (a sync named
    // it) takes the queued copy into control's slot instead, so that it goes once either way.
    const waiting = this.queuedContent.get(info.messageId);
    if (waiting !== undefined && info.purpose === "resend") return;
    if (waiting !== undefined && info.purpose === "repair-response" && pacer.promote(waiting)) {
      this.pump();
      return;
    }
    const submitted = pacer.submit([item], info.purpose === "content" ? "content" : "control", this.clock());
    // A control message refused by a full queue is not lost for good: the engine sends syncs and repairs again.
    if (!submitted.accepted && info.purpose === "content") {
      this.own.published(info.messageId, false, new RangeError(submitted.reason));
    }
    this.pump();
  }

  private transmit(bytes: Uint8Array, info: OutgoingInfo): void {
    this.transport.publish(this.runtime.topic, bytes, { ephemeral: info.ephemeral }).then(
      (result) => {
        const hint = result?.retrievalHint;
        if (hint !== undefined && !info.ephemeral) this.runtime.noteRetrievalHint(info.messageId, hint);
        if (info.purpose === "content") this.own.published(info.messageId, true);
      },
      (err: unknown) => {
        // Best effort by design: the protocol repairs what the network drops; the app hears of its own messages.
        if (info.purpose === "content") {
          this.own.published(info.messageId, false, err instanceof Error ? err : new Error(String(err)));
        }
      },
    );
  }

  /** Publishes what the RLN queue lets go now, and comes back when its next slot opens. */
  private pump(): void {
    const pacer = this.pacer;
    if (pacer === undefined || this.closed) return;
    const now = this.clock();
    for (const released of pacer.release(now)) {
      const { info } = released.item;
      if (info.purpose === "content" && this.queuedContent.delete(info.messageId)) {
        // Nobody could hear it while it waited: its resend timer starts now.
        this.runtime.engine.notePublished(info.messageId, now);
      }
      this.transmit(released.item.bytes, info);
    }
    const next = pacer.nextRelease(now);
    if (next === undefined || next >= this.paceAt) return;
    if (this.paceTimer !== undefined) clearTimeout(this.paceTimer);
    this.paceAt = next;
    this.paceTimer = setTimeout(
      () => {
        this.paceTimer = undefined;
        this.paceAt = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, next - now),
    );
    this.paceTimer.unref?.();
  }

  /**
   * Receipts of an own message sent before a restart (the engine's restored receipts, or the owner's news again):
   * the app hears them like any. A segment's receipts are its set's, which only the session that sent it tracks.
   */
  private restoredReceipts(messageId: string): void {
    const r = this.runtime.receipts(messageId);
    const stored = r === undefined ? undefined : this.store.getMessage(this.runtime.channelId, messageId);
    if (r === undefined || stored === undefined) return;
    const content = decodeMessage(stored.bytes).content;
    if (content === undefined || tryDecodeSegment(content, this.maxSegmentBytes) !== undefined) return;
    this.appEvent("receipts", { id: messageId, count: r.count, of: Math.max(r.members, r.count), by: r.ackedBy });
  }

  private engineEvent(event: NodeEvent): void {
    this.host.onEvent?.(event);
    switch (event.type) {
      case "delivered": {
        const m = event.message;
        // A segment is the app's only once its set is reassembled (on accept, below).
        if (m.own || tryDecodeSegment(m.content, this.maxSegmentBytes) !== undefined) break;
        this.appEvent("received", {
          id: m.messageId,
          senderId: m.senderId,
          payload: m.content,
          position: event.position,
          parityUsed: 0,
        });
        break;
      }
      case "acknowledged":
        if (!this.own.acknowledged(event.messageId, event.by, event.members)) this.restoredReceipts(event.messageId);
        return;
      case "missing":
        this.appEvent("missing", { ref: event.ref, source: event.source });
        this.advise(this.pipeline.missing(event.ref, event.at));
        break;
      case "repaired":
        this.appEvent("repaired", { messageId: event.messageId, senderId: event.senderId, afterMs: event.afterMs });
        break;
      case "lost":
        this.givenUp++;
        this.appEvent("lost", { ref: event.ref, dependents: event.dependents });
        break;
      default:
        return;
    }
    this.noteSync();
  }

  private accepted(message: WireMessage, now: number): void {
    const history = message.causalHistory.map((h) => h.messageId);
    const content = message.content ?? new Uint8Array();
    const inbound = this.pipeline.accepted(
      message.senderId,
      message.sequence,
      content,
      history,
      now,
      message.lamportTimestamp,
    );
    if (inbound.kind === "payload" && inbound.hash !== undefined) {
      this.appEvent("received", {
        id: hex(inbound.hash),
        senderId: inbound.sender as SenderId,
        payload: inbound.payload,
        position: undefined,
        parityUsed: inbound.parityUsed,
      });
    }
    if (inbound.kind === "payload" || inbound.kind === "pending") this.advise(inbound.forgo);
  }

  /** What a segment set does not need is closed in the engine; what it may yet not need waits. */
  private advise(forgo: Forgo | undefined): void {
    if (forgo === undefined || this.closed) return;
    const engine = this.runtime.engine;
    const sender = forgo.sender as SenderId;
    engine.holdRepair(sender, forgo.hold, forgo.until, forgo.holdIds);
    if (forgo.sequences.length > 0 || forgo.ids.length > 0) {
      this.runtime.applyStep(engine.forgo(sender, forgo.sequences, this.clock(), forgo.ids));
    }
  }

  private noteSync(): void {
    // Replayed events while the runtime opens come before it exists: the first status follows them.
    if (this.runtime === undefined) return;
    const status = this.syncStatus();
    if (status.text === this.lastSync) return;
    this.lastSync = status.text;
    this.appEvent("sync", status);
  }

  private appEvent<K extends keyof ChannelEvents>(name: K, event: ChannelEvents[K]): void {
    if (this.early !== undefined) this.early.push(() => this.emitter.emit(name, event));
    else this.emitter.emit(name, event);
  }

  private tidy(): void {
    const now = this.clock();
    this.own.expire(now, this.runtime.knownMembers());
    this.pipeline.expire(now);
  }
}
