import {
  type Identity,
  identityFromSecretKey,
  OWNER_PARAMS,
  type Params,
  type SenderId,
  type SignatureVerifier,
} from "../core/index.js";
import { nativeSigner, nativeVerifier } from "../platform/native-crypto.js";
import type { Store, StoredMessage } from "../storage/index.js";
import { type FaultSettings, type FaultState, FaultyTransport } from "../transport/faults.js";
import { type Transport, TransportError } from "../transport/transport.js";
import { type ChannelRuntime, channelTopic, type NodeEvent } from "./channel.js";
import {
  type Cursor,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  HISTORY_PROTOCOL,
  type HistoryHeader,
  type HistoryRequest,
  MAX_PAGE_BYTES,
  MAX_PAGE_MESSAGES,
  type ReceiptSummary,
} from "./history-protocol.js";
import { type LogEntry, logEntry, type MessageView, messageView, type ViewSource } from "./message-view.js";
import { Channel } from "./open-channel.js";
import { OwnerClient, type OwnerClientStats, type OwnerPathState } from "./owner-client.js";
import { OWNER_PROTOCOL } from "./owner-protocol.js";
import { type OwnerQueryOptions, OwnerReceipts } from "./owner-receipts.js";
import { OwnerServer, type OwnerServerStats } from "./owner-server.js";
import type { WakuServices } from "./waku/services.js";
import type { StoreRange } from "./waku/store-client.js";

export type Role = "owner" | "member";
export type { FaultSettings, FaultState } from "../transport/faults.js";

export interface NodeOptions {
  readonly store: Store;
  readonly transport: Transport;
  readonly role: Role;
  /** Channels joined at start, in addition to those the store remembers. */
  readonly channels?: readonly string[];
  readonly params?: Partial<Params>;
  /** 32 random bytes; used only when the store holds no identity yet. */
  readonly newSecretKey: () => Uint8Array;
  readonly random: () => number;
  readonly clock?: () => number;
  /**
   * Owner: the channel's members (sender ids; the owner is added). With it, every channel the owner keeps has
   * a signed roster, and the owner serves the owner path (`/chorus/owner/1`). Without it, channels have no
   * roster and receipts count the members heard from.
   */
  readonly roster?: readonly string[];
  /** Member: the owner's sender id, which its roster must be signed by. Learnt from the first roster when absent. */
  readonly ownerSenderId?: string;
  /** Member: how long a WATCH asks the owner to wait for news. Default 20 s. */
  readonly ownerWatchHoldMs?: number;
  /** Owner: messages per sender whose holders the receipt ledger keeps. Default 256. */
  readonly ownerWindow?: number;
  /**
   * Per channel id, the transport topic to publish and receive it on instead of `/chorus/1/<channel>/proto`.
   * On Waku this is the content topic, so a channel can share an application's (SDS apps with `interop`).
   */
  readonly contentTopics?: Readonly<Record<string, string>>;
  /** Waku mode, owner: the Waku services (store, filter, light push) run beside Chorus, started and stopped with it. */
  readonly wakuServices?: WakuServices;
  /** Waku mode: where catch-up turns when no owner answers (spec 19.4), a Waku store client. */
  readonly storeFallback?: StoreFallback;
}

/** A source of a channel's messages by transport topic and time, asked when the owner's history is not. */
export interface StoreFallback {
  /** Payloads on `topic` stamped from `sinceMs` on (all when undefined); undefined when no store answered. */
  range(topic: string, sinceMs: number | undefined): Promise<StoreRange | undefined>;
}

/** Where a channel's owner path stands, with the owner's own view: `self` on an owner with a roster. */
export type OwnerPath = OwnerPathState | "self";

/** The owner path's counters, for metrics: the owner's side, or a member's totals over its channels. */
export interface OwnerPathStats {
  readonly server: OwnerServerStats | undefined;
  readonly client: OwnerClientStats;
}

export interface CatchUpReport {
  readonly channelId: string;
  readonly roundTrips: number;
  readonly messages: number;
  readonly ms: number;
  /** Who answered: the owner's (or a peer's) history service, or a Waku store node (the fallback). */
  readonly source: "history" | "waku-store";
}

export class ChannelNotJoinedError extends Error {
  override readonly name = "ChannelNotJoinedError";
  constructor(readonly channelId: string) {
    super(`channel ${JSON.stringify(channelId)} is not joined`);
  }
}

/** How far back a returning member asks the owner for, before its last delivery: late messages land there. */
const CATCH_UP_OVERLAP_MS = 10 * 60_000;
const OWNER_REQUEST_TIMEOUT_MS = 5_000;
const MISSING_DEBOUNCE_MS = 20;
const DEFAULT_WATCH_HOLD_MS = 20_000;
const MAX_WATCH_HOLD_MS = 20_000;
const DEFAULT_OWNER_WINDOW = 256;
const VERIFIER_KEYS = 4_096;

/**
 * A running Chorus member or owner: channels (engine + timers), durable store, transport. The owner also
 * answers the history protocol: messages by id, by (sender, sequence range) and by (lamport, id) range.
 */
export class ChorusNode {
  readonly identity: Identity;
  readonly role: Role;
  private readonly store: Store;
  readonly transport: Transport;
  /** The transport as the node uses it: through the faults a QA engineer injects (none until asked). */
  private readonly net: FaultyTransport;
  private readonly params: Partial<Params>;
  private readonly random: () => number;
  private readonly clock: () => number;
  private readonly channels = new Map<string, ChannelRuntime>();
  /** The app-channel wiring of each runtime in `channels` (subscription, timers, publishing). */
  private readonly attached = new Map<string, Channel>();
  private readonly sign: (unsigned: Uint8Array) => Uint8Array;
  private readonly verifySignature: SignatureVerifier;
  private readonly listeners = new Set<(event: NodeEvent) => void>();
  private ownerPeer: string | undefined;
  private ownerSenderId: string | undefined;
  /** The owner's sender id its roster must be signed by: configured, or learnt from the first roster. */
  private rosterOwner: string | undefined;
  private readonly server: OwnerServer | undefined;
  private readonly clients = new Map<string, OwnerClient>();
  private readonly watchHoldMs: number;
  private readonly missingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private started = false;
  private readonly contentTopics: ReadonlyMap<string, string>;
  readonly catchUps: CatchUpReport[] = [];
  readonly wakuServices: WakuServices | undefined;
  private readonly storeFallback: StoreFallback | undefined;
  /** The first channel named at start, which a user of this node expects to see first. */
  readonly startChannel: string | undefined;

  constructor(options: NodeOptions) {
    this.store = options.store;
    this.transport = options.transport;
    this.net = new FaultyTransport(options.transport, options.random);
    this.role = options.role;
    this.random = options.random;
    this.clock = options.clock ?? Date.now;
    let secret = this.store.getIdentity();
    if (secret === undefined) {
      secret = options.newSecretKey();
      this.store.setIdentity(secret);
    }
    this.identity = identityFromSecretKey(secret);
    this.sign = nativeSigner(secret);
    // One decoded key per roster member: an owner verifies every member's reports.
    this.verifySignature = nativeVerifier(Math.max(VERIFIER_KEYS, (options.roster?.length ?? 0) + 64));
    this.params = options.role === "owner" ? { ...OWNER_PARAMS, ...options.params } : { ...options.params };
    for (const channelId of options.channels ?? []) this.store.joinChannel(channelId);
    this.startChannel = options.channels?.[0];
    this.rosterOwner = options.ownerSenderId;
    this.contentTopics = checkContentTopics(options.contentTopics);
    this.watchHoldMs = options.ownerWatchHoldMs ?? DEFAULT_WATCH_HOLD_MS;
    this.wakuServices = options.wakuServices;
    this.storeFallback = options.storeFallback;
    if (options.role === "owner") {
      // A watch must be answered before the transport gives up on the exchange.
      const limit = options.transport.inboundTimeoutMs;
      this.server = new OwnerServer(
        {
          self: this.identity.senderId,
          store: this.store,
          clock: this.clock,
          sign: this.sign,
          verify: this.verifySignature,
          maxHoldMs: Math.max(1, Math.min(MAX_WATCH_HOLD_MS, (limit ?? Number.POSITIVE_INFINITY) - 1_000)),
          window: options.ownerWindow ?? DEFAULT_OWNER_WINDOW,
          channel: (id) => this.channels.get(id),
        },
        options.roster,
      );
    }
  }

  get senderId(): SenderId {
    return this.identity.senderId;
  }

  async start(): Promise<void> {
    // Every node answers from its store: the owner first of all, members when the owner is away or restarting.
    this.net.handle(HISTORY_PROTOCOL, (bytes) => this.answerHistory(bytes));
    if (this.server !== undefined) this.net.handle(OWNER_PROTOCOL, this.server.handle);
    await this.net.start();
    await this.wakuServices?.start();
    for (const channelId of this.store.listChannels()) this.openChannel(channelId);
    this.server?.ready();
    this.started = true;
  }

  async stop(): Promise<void> {
    for (const t of this.missingTimers.values()) clearTimeout(t);
    this.missingTimers.clear();
    for (const client of this.clients.values()) client.stop();
    this.clients.clear();
    this.server?.stop();
    for (const channel of this.attached.values()) await channel.close();
    this.attached.clear();
    this.channels.clear();
    await this.wakuServices?.stop();
    await this.net.stop();
    this.started = false;
  }

  /** Joins a channel (idempotent) and, for a member, catches up from the owner in the background. */
  join(channelId: string): void {
    if (typeof channelId !== "string" || channelId.length === 0 || channelId.length > 256) {
      throw new RangeError(`channelId must be 1..256 characters, got ${JSON.stringify(channelId)}`);
    }
    this.store.joinChannel(channelId);
    if (this.started && !this.channels.has(channelId)) this.openChannel(channelId);
  }

  /** The transport topic a channel travels on (on Waku, its content topic). */
  topicOf(channelId: string): string {
    return this.contentTopics.get(channelId) ?? channelTopic(channelId);
  }

  listChannels(): string[] {
    return [...this.channels.keys()].sort();
  }

  channel(channelId: string): ChannelRuntime {
    const runtime = this.channels.get(channelId);
    if (runtime === undefined) throw new ChannelNotJoinedError(channelId);
    return runtime;
  }

  on(listener: (event: NodeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private openChannel(channelId: string): void {
    // The same wiring an app gets from openChannel(); the node adds the history service and the owner path.
    const channel = Channel.attach(
      {
        store: this.store,
        identity: this.identity,
        clock: this.clock,
        random: this.random,
        sign: this.sign,
        verifySignature: this.verifySignature,
        onEvent: (event) => {
          this.server?.noteEvent(event);
          this.clients.get(event.channelId)?.noteEvent(event);
          for (const l of this.listeners) l(event);
        },
      },
      { channelId, transport: this.net, topic: this.topicOf(channelId), params: this.params },
    );
    const runtime = channel.runtime;
    this.attached.set(channelId, channel);
    if (this.ownerSenderId !== undefined) runtime.engine.setPreferredResponders([this.ownerSenderId]);
    this.channels.set(channelId, runtime);
    if (this.server !== undefined) {
      this.server.open(runtime);
      runtime.onMissing = (r) => this.askOwnerSoon(r);
      return;
    }
    const client = this.ownerClient(runtime);
    this.clients.set(channelId, client);
    runtime.onMissing = () => client.onMissing();
    client.start();
  }

  private ownerClient(runtime: ChannelRuntime): OwnerClient {
    return new OwnerClient(
      {
        transport: this.net,
        self: this.senderId,
        clock: this.clock,
        verify: this.verifySignature,
        holdMs: this.watchHoldMs,
        ownerId: () => this.rosterOwner,
        candidates: () => (this.ownerPeer === undefined ? [] : [this.ownerPeer]).concat(this.net.peers()),
        found: (peer, ownerId) => {
          this.rosterOwner ??= ownerId;
          if (peer !== undefined) this.adoptOwner(peer, ownerId);
        },
        fallbackFetch: (r) => this.askOwnerSoon(r),
      },
      runtime,
    );
  }

  // ------------------------------------------------------------- owner path

  /**
   * Owner: replaces the member list of every channel's roster (the owner is always on it). Members fetch the
   * new roster; the ledger starts over and members report afresh.
   */
  setRoster(members: readonly string[]): void {
    if (this.server === undefined) throw new Error("only an owner node publishes a roster");
    this.server.setMembers(members);
    for (const runtime of this.channels.values()) this.server.open(runtime);
  }

  /** The roster a channel's receipts count against, or undefined when it has none. */
  rosterOf(channelId: string): { version: number; owner: string; members: readonly string[] } | undefined {
    const runtime = this.channel(channelId);
    const index = this.server?.roster(channelId) ?? runtime.engine.owner.roster();
    return index === undefined
      ? undefined
      : { version: index.version, owner: index.roster.owner, members: index.roster.members };
  }

  /** Whether a channel's owner path is up (members), or served here (`self`, an owner with a roster). */
  ownerPath(channelId: string): OwnerPath {
    this.channel(channelId);
    if (this.server !== undefined) return this.server.roster(channelId) === undefined ? "none" : "self";
    return this.clients.get(channelId)?.state() ?? "none";
  }

  ownerPathStats(): OwnerPathStats {
    const client: OwnerClientStats = {
      reportsSent: 0,
      reportsFailed: 0,
      newsReceived: 0,
      fetches: 0,
      fetchedMessages: 0,
    };
    for (const c of this.clients.values()) {
      for (const key of Object.keys(client) as (keyof OwnerClientStats)[]) client[key] += c.stats[key];
    }
    return { server: this.server?.stats(), client };
  }

  // ------------------------------------------------------------ owner side

  private answerHistory(bytes: Uint8Array): Uint8Array {
    const request = decodeRequest(bytes);
    const header = (count: number, extra: Partial<HistoryHeader> = {}): HistoryHeader => ({
      senderId: this.senderId,
      role: this.role,
      count,
      ...extra,
    });
    if (!this.channels.has(request.channelId)) {
      return encodeResponse(header(0, { error: `channel ${request.channelId} is not kept here` }), []);
    }
    switch (request.type) {
      case "ids": {
        const found = request.ids.flatMap((id) => this.store.getMessage(request.channelId, id)?.bytes ?? []);
        return encodeResponse(header(found.length), found);
      }
      case "sequence": {
        const found = this.store
          .listBySender(request.channelId, request.senderId, {
            fromSeq: request.first,
            toSeq: request.last,
            limit: MAX_PAGE_MESSAGES,
          })
          .map((m) => m.bytes);
        return encodeResponse(header(found.length), found);
      }
      case "range": {
        const after =
          request.after === undefined
            ? undefined
            : { lamport: BigInt(request.after.lamport), messageId: request.after.messageId };
        const page = this.store.listByLamport(request.channelId, {
          limit: request.limit ?? MAX_PAGE_MESSAGES,
          ...(after === undefined ? {} : { after }),
        });
        const out: Uint8Array[] = [];
        let size = 0;
        for (const m of page) {
          if (size + m.bytes.length + 4 > MAX_PAGE_BYTES) break;
          out.push(m.bytes);
          size += m.bytes.length + 4;
        }
        const last = page[out.length - 1];
        const full = out.length < page.length || page.length === (request.limit ?? MAX_PAGE_MESSAGES);
        const next: Cursor | undefined =
          full && last !== undefined ? { lamport: last.lamport.toString(), messageId: last.messageId } : undefined;
        return encodeResponse(header(out.length, next === undefined ? {} : { next }), out);
      }
      case "receipts": {
        if (this.role !== "owner")
          return encodeResponse(header(0, { error: "receipts are aggregated by the owner" }), []);
        const runtime = this.channel(request.channelId);
        const receipts: Record<string, ReceiptSummary> = {};
        const rostered = this.server?.roster(request.channelId) !== undefined;
        for (const id of request.ids) {
          // With a roster, N is the roster: the ledger answers (in its window).
          const r = rostered ? this.server?.receiptOf(request.channelId, id) : runtime.receipts(id);
          if (r !== undefined) receipts[id] = { count: r.count, members: r.members, ackedBy: r.ackedBy };
        }
        return encodeResponse(header(0, { receipts }), []);
      }
    }
  }

  // ----------------------------------------------------------- member side

  /** Finds the owner among connected peers: the one whose history service says it is the owner. */
  private async findOwner(): Promise<string | undefined> {
    if (this.role === "owner") return undefined;
    const candidates = this.ownerPeer === undefined ? this.net.peers() : [this.ownerPeer, ...this.net.peers()];
    for (const peer of new Set(candidates)) {
      try {
        const probe = await this.request(peer, { type: "receipts", channelId: this.listChannels()[0] ?? "-", ids: [] });
        if (probe.header.role !== "owner") continue;
        this.adoptOwner(peer, probe.header.senderId);
        return peer;
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
      }
    }
    this.ownerPeer = undefined;
    return undefined;
  }

  /** Where to fetch history from: the owner when reachable, otherwise any peer (the owner itself asks peers). */
  private async historyPeer(): Promise<string | undefined> {
    const owner = this.ownerPeer ?? (await this.findOwner());
    if (owner !== undefined) return owner;
    const peers = this.net.peers();
    return peers[Math.floor(this.random() * peers.length)];
  }

  private noteAnswer(peer: string, header: HistoryHeader): void {
    if (header.role === "owner") this.adoptOwner(peer, header.senderId);
  }

  private adoptOwner(peer: string, ownerSenderId: string): void {
    this.ownerPeer = peer;
    if (this.ownerSenderId === ownerSenderId) return;
    this.ownerSenderId = ownerSenderId;
    for (const runtime of this.channels.values()) runtime.engine.setPreferredResponders([ownerSenderId]);
  }

  private async request(peer: string, request: HistoryRequest) {
    const bytes = await this.net.request(peer, HISTORY_PROTOCOL, encodeRequest(request), {
      timeoutMs: OWNER_REQUEST_TIMEOUT_MS,
    });
    return decodeResponse(bytes);
  }

  /** Missing messages: ask the owner directly, one round trip, before the broadcast repair kicks in. */
  private askOwnerSoon(runtime: ChannelRuntime): void {
    if (this.missingTimers.has(runtime.channelId)) return;
    const timer = setTimeout(() => {
      this.missingTimers.delete(runtime.channelId);
      this.askOwner(runtime).catch(() => {
        // The owner is away: the engine's own repair (peers, with suppression) takes over.
      });
    }, MISSING_DEBOUNCE_MS);
    timer.unref?.();
    this.missingTimers.set(runtime.channelId, timer);
  }

  private async askOwner(runtime: ChannelRuntime): Promise<void> {
    const peer = await this.historyPeer();
    if (peer === undefined) return;
    const refs = runtime.engine.missingRefs();
    const ids = refs.flatMap((r) => (r.messageId === undefined ? [] : [r.messageId]));
    const bySender = new Map<string, number[]>();
    for (const r of refs) {
      if (r.senderId === undefined || r.sequence === undefined) continue;
      bySender.set(r.senderId, [...(bySender.get(r.senderId) ?? []), r.sequence]);
    }
    const requests: HistoryRequest[] = [];
    if (ids.length > 0) requests.push({ type: "ids", channelId: runtime.channelId, ids: ids.slice(0, 1_000) });
    for (const [senderId, seqs] of bySender) {
      const first = Math.min(...seqs);
      const last = Math.min(Math.max(...seqs), first + MAX_PAGE_MESSAGES - 1);
      requests.push({ type: "sequence", channelId: runtime.channelId, senderId, first, last });
    }
    for (const request of requests) {
      const { header, messages } = await this.request(peer, request);
      this.noteAnswer(peer, header);
      runtime.receiveBatch(messages, { requested: true });
    }
  }

  /**
   * Fetches from the owner everything after the last delivery (minus an overlap for late arrivals), page
   * by page; when no owner answers (none reachable, its requests fail, or only a member answered, with
   * nothing), asks a Waku store node for the channel's content topic from that time on (spec 19.4).
   * Returns the round trips and messages it took; undefined when neither could be reached.
   */
  async catchUp(channelId: string): Promise<CatchUpReport | undefined> {
    const runtime = this.channel(channelId);
    const started = this.clock();
    const delivered = this.store.countDelivered(channelId);
    const last = delivered > 0 ? this.store.listDelivered(channelId, { after: delivered - 1, limit: 1 })[0] : undefined;
    const from = last === undefined ? undefined : last.lamport - BigInt(CATCH_UP_OVERLAP_MS);
    const peer = await this.historyPeer();
    let got: { roundTrips: number; messages: number; owner: boolean } | undefined;
    let failure: unknown;
    if (peer !== undefined) {
      try {
        got = await this.catchUpFrom(peer, runtime, from);
      } catch (error) {
        failure = error;
      }
    }
    let source: CatchUpReport["source"] = "history";
    if (this.storeFallback !== undefined && (got === undefined || (!got.owner && got.messages === 0))) {
      const stored = await this.storeFallback.range(runtime.topic, from === undefined ? undefined : Number(from));
      if (stored !== undefined) {
        runtime.receiveBatch(stored.payloads, { requested: true });
        got = { roundTrips: stored.pages, messages: stored.payloads.length, owner: false };
        source = "waku-store";
      }
    }
    if (got === undefined) {
      if (failure !== undefined) throw failure;
      return undefined;
    }
    const report = {
      channelId,
      roundTrips: got.roundTrips,
      messages: got.messages,
      ms: this.clock() - started,
      source,
    };
    this.catchUps.push(report);
    return report;
  }

  /** The history range catch-up from one peer, from lamport `from` (everything when undefined). */
  private async catchUpFrom(peer: string, runtime: ChannelRuntime, from: bigint | undefined) {
    const channelId = runtime.channelId;
    // "~" sorts after every hex id: the page starts at the first message stamped `from`.
    let after: Cursor | undefined =
      from !== undefined && from > 0n ? { lamport: (from - 1n).toString(), messageId: "~" } : undefined;
    let roundTrips = 0;
    let messages = 0;
    let owner = false;
    for (;;) {
      const { header, messages: page } = await this.request(peer, {
        type: "range",
        channelId,
        ...(after === undefined ? {} : { after }),
      });
      roundTrips++;
      this.noteAnswer(peer, header);
      owner ||= header.role === "owner" && header.error === undefined;
      runtime.receiveBatch(page, { requested: true });
      messages += page.length;
      if (header.next === undefined) break;
      after = header.next;
    }
    return { roundTrips, messages, owner };
  }

  /**
   * Catches up as soon as the owner is reachable: a restarted member usually starts before its connections
   * do. Retries every `intervalMs` until one catch-up succeeds, the node stops, or `giveUpMs` passes.
   */
  catchUpWhenReachable(channelId: string, intervalMs = 1_000, giveUpMs = 120_000): void {
    const deadline = this.clock() + giveUpMs;
    const attempt = () => {
      if (!this.started || !this.channels.has(channelId)) return;
      this.catchUp(channelId).then(
        (report) => {
          if (report === undefined && this.clock() < deadline) setTimeout(attempt, intervalMs).unref?.();
        },
        () => {
          if (this.clock() < deadline) setTimeout(attempt, intervalMs).unref?.();
        },
      );
    };
    attempt();
  }

  /** Receipts of own messages as the owner aggregated them (members it never heard from directly). */
  async ownerReceipts(channelId: string, ids: readonly string[]): Promise<Record<string, ReceiptSummary>> {
    const peer = this.ownerPeer ?? (await this.findOwner());
    if (peer === undefined || ids.length === 0) return {};
    const { header } = await this.request(peer, { type: "receipts", channelId, ids: ids.slice(0, 1_000) });
    return { ...(header.receipts ?? {}) };
  }

  /** Drops messages on demand (loss in both directions, isolation from peers); fields left out are kept. */
  setFaults(settings: Partial<FaultSettings>): FaultState {
    return this.net.setFaults(settings);
  }

  /** What this node drops now, and how much it dropped so far. */
  faults(): FaultState {
    return this.net.faults();
  }

  ownerPeerId(): string | undefined {
    return this.ownerPeer;
  }

  countDelivered(channelId: string): number {
    this.channel(channelId);
    return this.store.countDelivered(channelId);
  }

  listDelivered(channelId: string, after: number, limit: number) {
    this.channel(channelId);
    return this.store.listDelivered(channelId, { after, limit });
  }

  /** Up to `limit` entries of the delivered log after position `after`, content decoded. */
  logEntries(channelId: string, after: number, limit: number): LogEntry[] {
    const runtime = this.channel(channelId);
    return this.listDelivered(channelId, after, limit).map((m) => {
      const entry = logEntry(m, this.senderId);
      const equivocation = runtime.equivocationOf(m.messageId);
      return equivocation === undefined ? entry : { ...entry, equivocation };
    });
  }

  /**
   * Asks the owner for receipt counts within `timeoutMs`, and not again for `retryMs` after it failed to
   * answer: one policy per caller, so that one impatient caller does not silence the owner for others.
   */
  ownerQuery(options: Omit<OwnerQueryOptions, "clock"> = {}): OwnerReceipts {
    return new OwnerReceipts(this, { ...options, clock: this.clock });
  }

  /**
   * What this node knows of one message (state, log position, content, receipts), with the owner's
   * receipts merged in when `owner` is given and the owner answers. Undefined when the message is unknown.
   */
  async messageView(channelId: string, messageId: string, owner?: OwnerReceipts): Promise<MessageView | undefined> {
    const runtime = this.channel(channelId);
    const source: ViewSource = {
      self: this.senderId,
      role: this.role,
      ackQuorum: runtime.ackQuorum,
      status: (id) => runtime.status(id),
      stored: (id) => this.store.getMessage(channelId, id),
      missing: () => runtime.missing(),
      receipts: (id) =>
        this.server?.roster(channelId) === undefined ? runtime.receipts(id) : this.server.receiptOf(channelId, id),
      roster: () => this.rosterOf(channelId)?.members,
      heardFrom: () => runtime.members().map((m) => m.senderId),
    };
    // With a roster, the owner pushes the receipts of the own messages the engine tracks: nothing to ask.
    const pushed = runtime.engine.owner.roster() !== undefined && runtime.status(messageId)?.own === true;
    const view = await messageView(source, messageId, async () =>
      pushed ? undefined : owner?.of(channelId, messageId),
    );
    const heard = (this.clients.get(channelId)?.stats.newsReceived ?? 0) > 0;
    if (view?.receipts == null || !pushed || !heard) return view;
    // The engine's count holds what the owner pushed: say so.
    return { ...view, receipts: { ...view.receipts, sources: ["local", "owner"] } };
  }

  /** One stored message of a joined channel, delivered or still waiting; undefined when not stored. */
  getMessage(channelId: string, messageId: string): StoredMessage | undefined {
    this.channel(channelId);
    return this.store.getMessage(channelId, messageId);
  }
}

function checkContentTopics(value: unknown): ReadonlyMap<string, string> {
  if (value === undefined) return new Map();
  if (typeof value !== "object" || value === null) throw new TypeError("options.contentTopics must be an object");
  const topics = new Map<string, string>();
  for (const [channelId, topic] of Object.entries(value)) {
    if (typeof topic !== "string" || topic.length === 0 || topic.length > 1024) {
      throw new RangeError(`options.contentTopics[${JSON.stringify(channelId)}] must be 1..1024 characters`);
    }
    topics.set(channelId, topic);
  }
  return topics;
}
