// One call that gives an app a reliable channel: `openChannel` wires the engine (through the node's
// ChannelRuntime: store before report, snapshots, timers) to a transport and a store, and optionally puts
// segmentation with parity, an encryption hook and an RLN send queue around it (the content pipeline of
// src/core/segments/pipeline.ts). The app sees `send()` and typed events (channel-events.ts).
//
//   send:    payload ─ segment ─► engine.send() each ─► store ─► seal ─► RLN queue ─► transport
//   receive: transport ─► open ─► engine.receive ─► store ─► reassemble (on accept) / deliver ─► "received"
//
// A Chorus node runs many channels on one transport, store and identity: it attaches each with
// `Channel.attach` and a `host` (what `openChannel` resolves for an app on its own), which is the same
// wiring; the node adds the history service and the owner path on top.
//
// This file runs anywhere (Node, a browser bundle): what differs by platform comes in as a `ChannelPlatform`.
// `openChannel` for Node (OpenSSL ed25519, SQLite paths) is in native-channel.ts, the package's entry
// exports it; the browser entry (src/browser.ts) passes `PORTABLE_PLATFORM`.
import {
  createSigner,
  createVerifier,
  type Identity,
  identityFromSecretKey,
  type Params,
  type PayloadCipher,
  type ReassemblerLimits,
  type RlnPacerOptions,
  type SegmentationOptions,
  type SenderId,
  type SignatureVerifier,
} from "../core/index.js";
import { MemoryStore } from "../storage/memory-store.js";
import type { Store } from "../storage/store.js";
import type { Transport } from "../transport/transport.js";
import { DEFAULT_DECODE_LIMITS } from "../wire/index.js";
import { AppChannelCore } from "./app-channel-core.js";
import { type ChannelRuntime, channelTopic, type NodeEvent } from "./channel.js";
import type { ChannelEventName, ChannelListener, SyncStatus } from "./channel-events.js";
import { type HistoryEntry, historyPage } from "./channel-history.js";
import { DurableOutbox, isWriteBehind } from "./durable-outbox.js";
import type { OwnerPathState } from "./owner-client.js";
import { checkOwnerPathOptions, OwnerLink, type OwnerPathOptions } from "./owner-link.js";

export interface OpenChannelOptions {
  readonly channelId: string;
  /** Any Transport (memory bus, libp2p, Waku). `openChannel` starts it and `close()` stops it. */
  readonly transport: Transport;
  /**
   * A Store, or the path of a SQLite file; in memory when absent. A store `openChannel` made is closed with the
   * channel. A write-behind store (IndexedDbStore, with `flush()`) holds back everything the member sends until
   * what it wrote before is durable (durable-outbox.ts).
   */
  readonly store?: Store | string;
  /** 32 bytes: the member's ed25519 key. Default: the store's, else a new random one (kept in the store). */
  readonly secretKey?: Uint8Array;
  /** The transport topic (on Waku, the content topic); `/chorus/1/<channel>/proto` by default. */
  readonly topic?: string;
  readonly params?: Partial<Params>;
  /** Split payloads above `segmentSize` into segments with Reed–Solomon parity (`parityRate`, default 0.125). */
  readonly segmentation?: SegmentationOptions;
  readonly reassembly?: Partial<ReassemblerLimits>;
  /** Keep every published message (chat, segments, control) within an RLN rate limit. */
  readonly rln?: Partial<RlnPacerOptions>;
  /** An authenticated cipher: each published message is sealed with it, each received one opened. */
  readonly cipher?: PayloadCipher;
  /** Share of N members that must hold an own payload for "delivered", in [0, 1]; 0 (default: the engine's) is any one. */
  readonly quorum?: number;
  readonly clock?: () => number;
  readonly random?: () => number;
  /** How the member signs and verifies; the platform's (OpenSSL in Node, @noble/curves elsewhere) when absent. */
  readonly crypto?: ChannelCrypto;
  /**
   * The owner path (owner-link.ts): receipts counted against the owner's roster, gaps and catch-up from the
   * owner's history, over the transport's request streams. `{}` finds the owner by its signed roster.
   */
  readonly owner?: OwnerPathOptions;
}

/**
 * Ed25519 for a channel. Any implementation must sign the same bytes (ed25519 is deterministic) and verify under
 * the one rule of spec section 6.4 (src/core/signature-rule.ts), as `createSigner`/`createVerifier` and
 * src/platform's OpenSSL ones do.
 */
export interface ChannelCrypto {
  /** A signer bound to the member's 32-byte secret key: the unsigned encoding in, the 64-byte signature out. */
  signer(secretKey: Uint8Array): (unsigned: Uint8Array) => Uint8Array;
  verifier(): SignatureVerifier;
}

/** What `openChannel` takes from the platform it runs on. */
export interface ChannelPlatform {
  readonly crypto: ChannelCrypto;
  /** Opens a SQLite store at a path; absent where there is no SQLite (a browser), where a path is refused. */
  readonly sqlite?: (path: string) => Promise<Store>;
}

/** @noble/curves through the core: no Node module, so it runs in a browser; about ten times slower than OpenSSL. */
export const PORTABLE_CRYPTO: ChannelCrypto = Object.freeze({
  signer: createSigner,
  verifier: () => createVerifier(),
});

/** A platform with nothing but the web's globals (`crypto.getRandomValues`, timers): memory or app-given stores. */
export const PORTABLE_PLATFORM: ChannelPlatform = Object.freeze({ crypto: PORTABLE_CRYPTO });

/** What a runtime hosting many channels shares between them (src/node): `attach` uses it as it is. */
export interface ChannelHost {
  readonly store: Store;
  readonly identity: Identity;
  readonly sign?: (unsigned: Uint8Array) => Uint8Array;
  readonly verifySignature?: SignatureVerifier;
  readonly clock: () => number;
  readonly random: () => number;
  /** Every engine event of the channel, as the node reports them (its owner path and API listen here). */
  readonly onEvent?: (event: NodeEvent) => void;
}

export type AttachOptions = Omit<OpenChannelOptions, "store" | "secretKey" | "clock" | "random" | "crypto" | "owner">;

/** Drawn from the platform's cryptographic generator (Node 20 and browsers have `crypto.getRandomValues`). */
function cryptoRandom(): number {
  const word = new Uint32Array(1);
  crypto.getRandomValues(word);
  return (word[0] as number) / 2 ** 32;
}

function randomKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

async function resolveStore(
  store: Store | string | undefined,
  platform: ChannelPlatform,
): Promise<{ store: Store; owned: boolean }> {
  if (store === undefined) return { store: new MemoryStore(), owned: true };
  if (typeof store === "string") {
    if (store.length === 0) throw new RangeError("options.store must be a Store or a non-empty SQLite file path");
    if (platform.sqlite === undefined) {
      throw new TypeError(`options.store is a SQLite path (${JSON.stringify(store)}), which needs Node: pass a Store`);
    }
    return { store: await platform.sqlite(store), owned: true };
  }
  if (typeof store !== "object" || store === null || typeof store.putMessage !== "function") {
    throw new TypeError(`options.store must be a Store or a SQLite file path, got ${typeof store}`);
  }
  return { store, owned: false };
}

/** The store's identity, or `secretKey` (kept there), or a new one; a key that contradicts the store's is refused. */
function identityOf(store: Store, secretKey: Uint8Array | undefined): Identity {
  const held = store.getIdentity();
  if (held !== undefined && secretKey !== undefined && !sameBytes(held, secretKey)) {
    throw new Error("options.secretKey differs from the identity this store already holds: open another store");
  }
  const secret = held ?? secretKey ?? randomKey();
  const identity = identityFromSecretKey(secret);
  if (held === undefined) store.setIdentity(secret);
  return identity;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Opens a reliable channel on a platform: resolves the store and the identity, attaches the channel, starts
 * the transport. Events of messages delivered while it opened (replayed from the store) reach listeners the
 * app adds right after the `await`. Apps call the `openChannel` of their entry, which names the platform.
 */
export async function openChannelOn(platform: ChannelPlatform, options: OpenChannelOptions): Promise<Channel> {
  if (typeof options !== "object" || options === null) throw new TypeError("openChannel needs an options object");
  const signing = options.crypto ?? platform.crypto;
  if (typeof signing?.signer !== "function" || typeof signing.verifier !== "function") {
    throw new TypeError("options.crypto must have signer(secretKey) and verifier() functions");
  }
  const owner = options.owner === undefined ? undefined : checkOwnerPathOptions(options.owner);
  const { store, owned } = await resolveStore(options.store, platform);
  try {
    const identity = identityOf(store, options.secretKey);
    const transport = isWriteBehind(store) ? new DurableOutbox(options.transport, store) : options.transport;
    const clock = options.clock ?? Date.now;
    const verifySignature = signing.verifier();
    const link =
      owner === undefined
        ? undefined
        : new OwnerLink({ transport, self: identity.senderId, clock, verify: verifySignature }, owner);
    const host: ChannelHost = {
      store,
      identity,
      sign: signing.signer(identity.secretKey),
      verifySignature,
      clock,
      random: options.random ?? cryptoRandom,
      ...(link === undefined ? {} : { onEvent: (event: NodeEvent) => link.noteEvent(event) }),
    };
    const channel = Channel.attach(host, { ...options, transport }, { transport: true, store: owned }, link);
    try {
      await transport.start();
    } catch (err) {
      await channel.close();
      throw err;
    }
    link?.start(channel.runtime);
    return channel;
  } catch (err) {
    if (owned) store.close();
    throw err;
  }
}

/** An open channel: `send`, `on(event, listener)`, `close`. */
export class Channel {
  readonly channelId: string;
  readonly topic: string;
  private closed = false;

  private constructor(
    private readonly core: AppChannelCore,
    private readonly owns: { readonly transport: boolean; readonly store: boolean },
    private readonly link: OwnerLink | undefined,
  ) {
    this.channelId = core.runtime.channelId;
    this.topic = core.runtime.topic;
  }

  /**
   * Attaches a channel to a host's store and identity and to a transport that the caller starts and stops
   * (`owns` says what `close` releases). The channel subscribes to its topic and arms its timers here.
   */
  static attach(
    host: ChannelHost,
    options: AttachOptions,
    owns: { readonly transport: boolean; readonly store: boolean } = { transport: false, store: false },
    link?: OwnerLink,
  ): Channel {
    const channelId = options.channelId;
    if (typeof channelId !== "string" || channelId.length === 0 || channelId.length > 256) {
      throw new RangeError(`channelId must be 1..256 characters, got ${JSON.stringify(channelId)}`);
    }
    if (options.transport === undefined) throw new TypeError("options.transport is required");
    host.store.joinChannel(channelId);
    const core = new AppChannelCore(host, {
      ...options,
      topic: options.topic ?? channelTopic(channelId),
      maxMessageBytes: Math.min(DEFAULT_DECODE_LIMITS.maxMessageBytes, options.transport.maxMessageBytes),
    });
    return new Channel(core, owns, link);
  }

  get senderId(): SenderId {
    return this.core.runtime.engine.senderId;
  }

  /** The runtime under the channel (the node's queries, owner path and history service use it). */
  get runtime(): ChannelRuntime {
    return this.core.runtime;
  }

  /**
   * Sends a payload; returns its id (the message id, or the hex Keccak-256 of a segmented payload). It is
   * stored before this returns. Throws RangeError for a payload the channel cannot carry or when the RLN
   * queue is full; a later failure to publish is a "send-error" event.
   */
  send(payload: Uint8Array, options: { readonly ephemeral?: boolean } = {}): string {
    if (this.closed) throw new Error(`channel ${JSON.stringify(this.channelId)} is closed`);
    return this.core.send(payload, options.ephemeral === true);
  }

  on<K extends ChannelEventName>(name: K, listener: ChannelListener<K>): () => void {
    return this.core.emitter.on(name, listener);
  }

  /** "all caught up", or how many messages are still to fetch and how many were given up. */
  syncStatus(): SyncStatus {
    return this.core.syncStatus();
  }

  /** The RLN queue (queued messages, next slot), or undefined without RLN pacing. */
  queueState() {
    return this.core.queueState();
  }

  /** Whether the owner path is up, down (the owner does not answer) or none (no roster, or not asked for). */
  ownerPath(): OwnerPathState {
    return this.link?.state() ?? "none";
  }

  /** Members the owner's roster holds besides this one (the N of "k of N"), or undefined without a roster. */
  rosterSize(): number | undefined {
    const roster = this.core.runtime.engine.owner.roster();
    return roster === undefined ? undefined : roster.roster.members.filter((m) => m !== this.senderId).length;
  }

  /**
   * The delivered log from the store, oldest first, after position `after` (0: from the start): what a page shows
   * after a reload. Whole payloads only; segments of a reassembled payload are not listed.
   */
  history(after = 0, limit = 1_000): HistoryEntry[] {
    if (this.closed) throw new Error(`channel ${JSON.stringify(this.channelId)} is closed`);
    return historyPage(this.core, after, limit);
  }

  /** Stops timers, leaves the topic, saves a snapshot; stops the transport and closes the store it opened. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.link?.stop();
    this.core.close();
    if (this.owns.transport) await this.core.transport.stop();
    if (this.owns.store) this.core.store.close();
  }
}

export type { RlnPacerOptions };
