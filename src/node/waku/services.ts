// The Waku services of a Chorus owner node (spec 19.4): store v3, filter v2 and light push v3 on the same
// libp2p host as its Waku relay, backed by the node's Waku archive. With them, js-waku light nodes (and the
// ReliableChannel apps of @waku/sdk) can use a Chorus owner as their service node. Metadata is answered by
// the relay transport itself.
//
// Every valid envelope the relay sees on the node's shards (received, or published here, light pushes
// included) is archived unless ephemeral, and pushed to the filter subscribers of its content topic.
import type { WakuArchive } from "../../storage/waku-archive.js";
import { type EnvelopeSeen, serveExchange, type WakuServiceHost } from "./exchange.js";
import {
  FilterService,
  type FilterServiceOptions,
  MAX_FILTER_REQUEST_BYTES,
  WAKU_FILTER_SUBSCRIBE_CODEC,
} from "./filter-service.js";
import { answerLightPush, MAX_LIGHTPUSH_REQUEST_BYTES, WAKU_LIGHTPUSH_CODEC } from "./lightpush-service.js";
import { PeerRateLimit, type PeerRateLimitOptions } from "./peer-rate-limit.js";
import { answerStoreRequest, MAX_STORE_REQUEST_BYTES, WAKU_STORE_CODEC } from "./store-service.js";

export interface WakuServicesOptions {
  readonly archive: WakuArchive;
  readonly filter?: FilterServiceOptions;
  readonly clock?: () => number;
  /** How long one inbound exchange may take. Default 10 s. */
  readonly exchangeTimeoutMs?: number;
  /** Light pushes one peer may make per window; past it, 429. Default 100 per minute. */
  readonly lightPushLimit?: Omit<PeerRateLimitOptions, "maxPeers">;
}

/** A light node sends a chat line and a few sync messages a minute; Waku's RLN allows far fewer. */
export const DEFAULT_LIGHTPUSH_LIMIT = { limit: 100, windowMs: 60_000 } as const;

/** What /metrics and /v1/health report of the services. */
export interface WakuServicesReport {
  readonly archivedMessages: number;
  readonly archived: number;
  readonly archiveErrors: number;
  readonly storeQueries: number;
  readonly lightPushes: number;
  readonly lightPushesRateLimited: number;
  readonly filterRequests: number;
  readonly filterSubscribers: number;
  readonly filterPushes: number;
  readonly filterPushesFailed: number;
  readonly filterPushesDropped: number;
}

export interface WakuServicesStats {
  archived: number;
  archiveErrors: number;
  storeQueries: number;
  lightPushes: number;
  /** Light pushes answered 429: the peer was over its bound. */
  lightPushesRateLimited: number;
  filterRequests: number;
}

const EXPIRY_INTERVAL_MS = 60_000;
const MAX_INBOUND_STREAMS = 64;

export class WakuServices {
  readonly archive: WakuArchive;
  readonly filter: FilterService;
  readonly stats: WakuServicesStats = {
    archived: 0,
    archiveErrors: 0,
    storeQueries: 0,
    lightPushes: 0,
    lightPushesRateLimited: 0,
    filterRequests: 0,
  };
  readonly lightPushLimit: PeerRateLimit;
  private readonly host: WakuServiceHost;
  private readonly clock: () => number;
  private readonly timeoutMs: number;
  private unlisten: (() => void) | undefined;
  private expiry: ReturnType<typeof setInterval> | undefined;

  constructor(host: WakuServiceHost, options: WakuServicesOptions) {
    this.host = host;
    this.archive = options.archive;
    this.clock = options.clock ?? Date.now;
    this.timeoutMs = options.exchangeTimeoutMs ?? 10_000;
    this.filter = new FilterService(host, { clock: this.clock, ...options.filter });
    this.lightPushLimit = new PeerRateLimit(options.lightPushLimit ?? DEFAULT_LIGHTPUSH_LIMIT);
  }

  /** The counters and sizes, read now. */
  report(): WakuServicesReport {
    const f = this.filter.stats;
    return {
      archivedMessages: this.archive.size(),
      ...this.stats,
      filterSubscribers: this.filter.subscriptions.size(),
      filterPushes: f.pushed,
      filterPushesFailed: f.failed,
      filterPushesDropped: f.dropped,
    };
  }

  /** Registers the protocols on the running host and starts archiving. */
  async start(): Promise<void> {
    const node = this.host.libp2p;
    if (node === undefined) throw new Error(`WakuServices.start: the transport of ${this.host.peerId} is not running`);
    if (this.unlisten !== undefined) throw new Error("WakuServices.start: already started");
    this.unlisten = this.host.onEnvelope((e) => this.onEnvelope(e));
    const serve = (
      codec: string,
      maxRequestBytes: number,
      answer: (bytes: Uint8Array, peer: string) => Uint8Array | Promise<Uint8Array>,
    ) =>
      node.handle(
        codec,
        (stream: Parameters<typeof serveExchange>[0], connection: { remotePeer: { toString(): string } }) => {
          const peer = connection.remotePeer.toString();
          void serveExchange(
            stream,
            `${codec} request from ${peer}`,
            { maxRequestBytes, timeoutMs: this.timeoutMs },
            (bytes) => answer(bytes, peer),
          );
        },
        { maxInboundStreams: MAX_INBOUND_STREAMS },
      );
    await serve(WAKU_STORE_CODEC, MAX_STORE_REQUEST_BYTES, (bytes) => {
      this.stats.storeQueries++;
      return answerStoreRequest(this.archive, bytes);
    });
    await serve(WAKU_LIGHTPUSH_CODEC, MAX_LIGHTPUSH_REQUEST_BYTES, (bytes, peer) => {
      this.stats.lightPushes++;
      return answerLightPush(
        this.host,
        bytes,
        () => {
          if (this.lightPushLimit.take(peer, this.clock())) return true;
          this.stats.lightPushesRateLimited++;
          return false;
        },
        peer,
      );
    });
    await serve(WAKU_FILTER_SUBSCRIBE_CODEC, MAX_FILTER_REQUEST_BYTES, (bytes, peer) => {
      this.stats.filterRequests++;
      return this.filter.answer(bytes, peer);
    });
    this.expiry = setInterval(() => this.filter.expire(), EXPIRY_INTERVAL_MS);
    this.expiry.unref?.();
  }

  /** Unregisters the protocols and stops archiving (the transport may keep running). */
  async stop(): Promise<void> {
    if (this.expiry !== undefined) clearInterval(this.expiry);
    this.expiry = undefined;
    this.unlisten?.();
    this.unlisten = undefined;
    const node = this.host.libp2p;
    if (node === undefined) return;
    await Promise.allSettled(
      [WAKU_STORE_CODEC, WAKU_LIGHTPUSH_CODEC, WAKU_FILTER_SUBSCRIBE_CODEC].map((codec) => node.unhandle(codec)),
    );
  }

  private onEnvelope(e: EnvelopeSeen): void {
    if (e.envelope.ephemeral !== true) {
      try {
        const added = this.archive.add(
          {
            hash: e.hash,
            pubsubTopic: e.pubsubTopic,
            contentTopic: e.envelope.contentTopic,
            timestamp: e.envelope.timestamp,
            envelope: e.bytes,
          },
          this.clock(),
        );
        if (added) this.stats.archived++;
      } catch {
        // A full disk must not stop the relay; the count shows it.
        this.stats.archiveErrors++;
      }
    }
    this.filter.push(e);
  }
}
