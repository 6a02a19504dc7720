import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import type { HistoryEntry, Message, MessageChannel } from "@waku/sds";
import type { Sfc32 } from "../core/prng.js";
import type { Purpose } from "./metrics.js";
import type { Scenario } from "./scenario.js";
import { EPOCH_MS, type Protocol, type Publication, type SimMember, type World } from "./world.js";

type SdsModule = typeof import("@waku/sds");

export const SDS_CHANNEL_ID = "sim/sds";

/**
 * `@waku/sds` 0.0.8 in every node, driven the way js-waku's ReliableChannel drives it:
 * - send: pushOutgoingMessage + processTasks, then resend every `retryIntervalMs` until acknowledged,
 *   at most `maxRetryAttempts` times (ReliableChannel's RetryManager);
 * - sync: after random(0..1) × syncMinIntervalMs × multiplier; the timer restarts with multiplier 2
 *   after our own sync, 1 after our content or a received sync, 0.5 after received content;
 * - the incoming buffer is swept every `sweepInBufIntervalMs` (SDS declares losses only then), and
 *   the SDS-R repair buffer with it (ReliableChannel 0.0.x does not sweep it; without this SDS-R never answers);
 * - with an owner, the owner is a Waku store node: it keeps every message it receives, and members
 *   query it every `retrieveFrequencyMs` for the messages they know they miss, by retrieval hint
 *   (ReliableChannel's MissingMessageRetriever). The owner is not an SDS participant.
 *
 * Differences from ReliableChannel, on purpose: incoming messages are processed at once (ReliableChannel
 * batches them for up to 1 s), and `timeoutForLostMessagesMs` is set (SDS disables it by default,
 * so a message whose dependency never comes is never delivered at all).
 *
 * `@waku/sds` reads `Date.now()` and `Math.random()` inside; while a run lasts both are replaced by the
 * simulator's virtual clock and a seeded stream, and restored afterwards (so nothing else may run in the
 * same process meanwhile). Its cost grows with history length (linear scans and a re-sort of the whole
 * log per message): keep its runs to a few thousand messages.
 */
export class SdsProtocol implements Protocol {
  readonly name = "sds";
  private world: World | undefined;
  private readonly members: (SdsMember | undefined)[] = [];
  private readonly messageIndex = new Map<string, number>();
  private readonly messageIds: string[] = [];
  /** The owner as a Waku store: retrieval hint (hex) -> the publication. */
  private readonly store = new Map<string, Publication>();
  private readonly hints = new WeakMap<Uint8Array, Uint8Array>();
  private readonly decoded = new WeakMap<Uint8Array, Message>();
  private readonly savedNow = Date.now;
  private readonly savedRandom = Math.random;

  private constructor(
    readonly sds: SdsModule,
    readonly scenario: Scenario,
    private readonly rng: Sfc32,
  ) {
    const random = rng.fork("math-random");
    Date.now = () => Math.floor(this.world?.now ?? EPOCH_MS);
    Math.random = () => random.next();
  }

  static async create(scenario: Scenario, rng: Sfc32): Promise<SdsProtocol> {
    let sds: SdsModule;
    try {
      sds = await import("@waku/sds");
    } catch (err) {
      throw new Error(`--protocol sds needs the @waku/sds package (a development dependency): ${String(err)}`);
    }
    return new SdsProtocol(sds, scenario, rng);
  }

  dispose(): void {
    Date.now = this.savedNow;
    Math.random = this.savedRandom;
  }

  describe(): Record<string, unknown> {
    return { sds: { ...this.scenario.sds, package: "@waku/sds@0.0.8" } };
  }

  createMember(world: World, node: number, now: number): SimMember {
    this.world = world;
    if (node === world.ownerIndex) return this.storeNode();
    const member = new SdsMember(this, world, node, now, this.rng.fork(`member/${node}`));
    this.members[node] = member;
    return member;
  }

  private storeNode(): SimMember {
    return {
      send: () => undefined,
      receive: (pub) => {
        const m = pub.decoded as Message | undefined;
        if (m?.content !== undefined && m.content.length > 0 && m.lamportTimestamp !== undefined) {
          this.store.set(bytesToHex(this.hint(pub.bytes)), pub);
        }
      },
      tick: () => undefined,
      nextDeadline: () => undefined,
    };
  }

  storeLookup(hintHex: string): Publication | undefined {
    return this.store.get(hintHex);
  }

  /** Stands in for the Waku message hash ReliableChannel uses as the retrieval hint. */
  hint(bytes: Uint8Array): Uint8Array {
    let h = this.hints.get(bytes);
    if (h === undefined) {
      h = sha256(bytes);
      this.hints.set(bytes, h);
    }
    return h;
  }

  decode(bytes: Uint8Array): Message {
    let m = this.decoded.get(bytes);
    if (m === undefined) {
      m = this.sds.Message.decode(bytes);
      if (m === undefined) throw new Error("@waku/sds could not decode its own message");
      this.decoded.set(bytes, m);
    }
    return m;
  }

  register(messageId: string, x: number): void {
    this.messageIndex.set(messageId, x);
    this.messageIds[x] = messageId;
  }

  indexOf(messageId: string): number | undefined {
    return this.messageIndex.get(messageId);
  }

  /** Nothing: SDS runs in one shard (its store path is not split across workers). */
  finishShare(): undefined {
    return undefined;
  }

  finish(world: World): void {
    for (let x = 0; x < world.recorder.messagesSent; x++) {
      const member = this.members[world.recorder.sender[x]!];
      if (member === undefined) continue;
      // SDS has no per-member receipts: the sender knows only "acknowledged" (by someone) or not.
      world.recorder.receipts(x, undefined, member.acknowledged.has(this.messageIds[x]!));
    }
  }
}

interface Retry {
  at: number;
  attempts: number;
  readonly payload: Uint8Array;
  readonly x: number;
}

class SdsMember implements SimMember {
  readonly channel: MessageChannel;
  readonly acknowledged = new Set<string>();
  private syncAt = Number.POSITIVE_INFINITY;
  private sweepAt: number;
  private retrieveAt = Number.POSITIVE_INFINITY;
  private readonly retries = new Map<string, Retry>();
  private readonly missing = new Map<string, Uint8Array>();
  private readonly published = new Set<string>();
  private readonly sds: SdsModule;
  private readonly opts: Scenario["sds"];

  constructor(
    private readonly proto: SdsProtocol,
    private readonly world: World,
    private readonly node: number,
    now: number,
    private readonly rng: Sfc32,
  ) {
    this.sds = proto.sds;
    this.opts = proto.scenario.sds;
    this.channel = new this.sds.MessageChannel(SDS_CHANNEL_ID, `member-${node}`, {
      causalHistorySize: this.opts.causalHistorySize,
      timeoutForLostMessagesMs: this.opts.timeoutForLostMessagesMs || undefined,
    });
    this.sweepAt = now + this.opts.sweepInBufIntervalMs;
    this.listen();
    this.restartSync(1);
  }

  private listen(): void {
    const E = this.sds.MessageChannelEvent;
    const rec = this.world.recorder;
    const ch = this.channel;
    ch.addEventListener(E.InMessageDelivered, (e) => {
      const x = this.proto.indexOf(e.detail);
      if (x !== undefined && this.world.recorder.sender[x] !== this.node) rec.delivered(this.node, x, this.world.now);
      this.missing.delete(e.detail);
    });
    ch.addEventListener(E.InMessageMissing, (e) => this.onMissing(e.detail));
    ch.addEventListener(E.InMessageLost, (e) => {
      for (const entry of e.detail) {
        const x = this.proto.indexOf(entry.messageId);
        if (x !== undefined) rec.lost(this.node, x, this.world.now);
        this.missing.delete(entry.messageId);
      }
    });
    ch.addEventListener(E.OutMessageAcknowledged, (e) => {
      const id = e.detail;
      if (this.acknowledged.has(id)) return;
      this.acknowledged.add(id);
      this.retries.delete(id);
      const x = this.proto.indexOf(id);
      if (x !== undefined) rec.acknowledged(x, -1, this.world.now);
    });
    ch.addEventListener(E.InMessageReceived, () => this.restartSync(0.5));
    ch.addEventListener(E.InSyncReceived, () => this.restartSync(1));
  }

  private onMissing(entries: HistoryEntry[]): void {
    const now = this.world.now;
    for (const entry of entries) {
      const x = this.proto.indexOf(entry.messageId);
      if (x !== undefined) this.world.recorder.missing(this.node, x, now);
      if (entry.retrievalHint !== undefined && this.world.ownerIndex !== undefined) {
        this.missing.set(entry.messageId, entry.retrievalHint);
        if (!Number.isFinite(this.retrieveAt)) this.retrieveAt = now + this.opts.retrieveFrequencyMs;
      }
    }
  }

  private restartSync(multiplier: number): void {
    if (this.opts.syncMinIntervalMs <= 0) return;
    this.syncAt = this.world.now + this.rng.next() * this.opts.syncMinIntervalMs * multiplier;
  }

  nextDeadline(): number | undefined {
    let at = Math.min(this.syncAt, this.sweepAt, this.retrieveAt);
    for (const r of this.retries.values()) if (r.at < at) at = r.at;
    return Number.isFinite(at) ? at : undefined;
  }

  private publish(message: Message, purpose: Purpose, x: number): Uint8Array {
    const bytes = message.encode();
    this.world.publish(this.node, {
      bytes,
      purpose,
      contentBytes: message.content?.length ?? 0,
      x,
      decoded: this.proto.decode(bytes),
    });
    return bytes;
  }

  async send(x: number, content: Uint8Array, now: number): Promise<void> {
    const id = this.sds.MessageChannel.getMessageId(content);
    if (x >= 0) this.proto.register(id, x);
    if (this.opts.retryIntervalMs > 0 && this.opts.maxRetryAttempts > 0) {
      this.retries.set(id, { at: now + this.opts.retryIntervalMs, attempts: 0, payload: content, x });
    }
    await this.wrapAndSend(content, x);
    this.restartSync(1);
  }

  private async wrapAndSend(payload: Uint8Array, x: number): Promise<void> {
    this.channel.pushOutgoingMessage(payload, async (message) => {
      const purpose: Purpose = this.published.has(message.messageId) ? "resend" : "content";
      this.published.add(message.messageId);
      const bytes = this.publish(message, purpose, x);
      return { success: true, retrievalHint: this.proto.hint(bytes) };
    });
    await this.channel.processTasks();
    this.channel.sweepOutgoingBuffer();
  }

  async receive(pub: Publication, _now: number): Promise<void> {
    this.channel.pushIncomingMessage(pub.decoded as Message, this.proto.hint(pub.bytes));
    this.missing.delete((pub.decoded as Message).messageId);
    await this.channel.processTasks();
  }

  async tick(now: number): Promise<void> {
    if (this.syncAt <= now) {
      this.restartSync(2);
      await this.channel.pushOutgoingSyncMessage(async (message) => {
        this.publish(message, "sync", -1);
        return true;
      });
      await this.channel.processTasks();
      this.channel.sweepOutgoingBuffer();
    }
    if (this.sweepAt <= now) {
      this.sweepAt = now + this.opts.sweepInBufIntervalMs;
      this.channel.sweepIncomingBuffer();
      await this.channel.sweepRepairIncomingBuffer(async (message) => {
        this.publish(message, "repair-response", this.proto.indexOf(message.messageId) ?? -1);
        return true;
      });
    }
    for (const [id, r] of [...this.retries]) {
      if (r.at > now) continue;
      r.attempts++;
      if (r.attempts >= this.opts.maxRetryAttempts) this.retries.delete(id);
      else r.at = now + this.opts.retryIntervalMs;
      await this.wrapAndSend(r.payload, r.x);
    }
    if (this.retrieveAt <= now) {
      this.retrieveAt = this.missing.size > 0 ? now + this.opts.retrieveFrequencyMs : Number.POSITIVE_INFINITY;
      if (this.missing.size > 0) this.queryStore([...this.missing.values()]);
    }
  }

  /** One store query for every hint: a request to the owner and, if it is reachable, the messages back. */
  private queryStore(hints: Uint8Array[]): void {
    const world = this.world;
    const owner = world.ownerIndex!;
    const requestBytes = 64 + 34 * hints.length;
    world.recorder.published(this.node, "store-query", requestBytes, 0, -1, world.now);
    const there = world.now + world.directLatency();
    world.later(owner, there, () => {
      if (world.network.separated(this.node, owner, world.now)) return;
      const found: Publication[] = [];
      for (const h of hints) {
        const pub = this.proto.storeLookup(bytesToHex(h));
        if (pub !== undefined) found.push(pub);
      }
      if (found.length === 0) return;
      world.later(this.node, world.now + world.directLatency(), async () => {
        for (const pub of found) {
          world.recorder.received(this.node, pub.bytes.length, world.now, "store-query");
          if (pub.x >= 0) world.recorder.arrived(this.node, pub.x, world.now);
          await this.receive(pub, world.now);
        }
      });
    });
  }
}
