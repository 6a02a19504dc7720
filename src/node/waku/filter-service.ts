// The filter v2 service: light nodes subscribe (`/vac/waku/filter-subscribe/2.0.0-beta1`) to content
// topics, and every matching WakuMessage seen on this node's shards is pushed to them
// (`/vac/waku/filter-push/2.0.0-beta1`), one stream per push as nwaku does, the envelope unchanged.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { peerIdFromString } from "@libp2p/peer-id";
import { frame, send } from "../../transport/stream-frames.js";
import {
  type FilterSubscribeRequest,
  FilterSubscribeRequestSchema,
  FilterSubscribeResponseSchema,
  FilterSubscribeRequest_FilterSubscribeType as Kind,
} from "../../wire/gen/waku/v2/filter_pb.js";
import { encodeMessagePush } from "../../wire/waku-rpc.js";
import type { EnvelopeSeen, WakuServiceHost } from "./exchange.js";
import { FILTER_STATUS, type FilterLimits, type FilterOutcome, FilterSubscriptions } from "./filter-subscriptions.js";

export const WAKU_FILTER_SUBSCRIBE_CODEC = "/vac/waku/filter-subscribe/2.0.0-beta1";
export const WAKU_FILTER_PUSH_CODEC = "/vac/waku/filter-push/2.0.0-beta1";
/** 100 content topics with room to spare. */
export const MAX_FILTER_REQUEST_BYTES = 64 * 1024;
/** Pushes in flight to one subscriber; a subscriber that lags further loses the excess (it has store). */
const MAX_PUSHES_IN_FLIGHT = 32;
const PUSH_TIMEOUT_MS = 5_000;

/** What happened to one push. */
export interface FilterPush {
  readonly peer: string;
  readonly pubsubTopic: string;
  readonly hash: Uint8Array;
  readonly contentTopic: string;
}

export interface FilterServiceOptions {
  readonly limits?: Partial<FilterLimits>;
  readonly clock?: () => number;
  /**
   * Fault injection for tests: return false to drop this push (the subscriber then has to repair the
   * message, e.g. from the store). Every push goes out when absent.
   */
  readonly pushGate?: (push: FilterPush) => boolean;
}

export interface FilterServiceStats {
  pushed: number;
  failed: number;
  /** Dropped by the gate or because the subscriber lagged. */
  dropped: number;
}

export class FilterService {
  readonly subscriptions: FilterSubscriptions;
  readonly stats: FilterServiceStats = { pushed: 0, failed: 0, dropped: 0 };
  private readonly host: WakuServiceHost;
  private readonly clock: () => number;
  private readonly pushGate: ((push: FilterPush) => boolean) | undefined;
  private readonly inFlight = new Map<string, number>();

  constructor(host: WakuServiceHost, options: FilterServiceOptions = {}) {
    this.host = host;
    this.subscriptions = new FilterSubscriptions(options.limits);
    this.clock = options.clock ?? Date.now;
    this.pushGate = options.pushGate;
  }

  /** The encoded FilterSubscribeResponse to one encoded request from `peer`; never throws. */
  answer(bytes: Uint8Array, peer: string): Uint8Array {
    let request: FilterSubscribeRequest;
    try {
      request = fromBinary(FilterSubscribeRequestSchema, bytes);
    } catch (error) {
      return respond("", {
        status: FILTER_STATUS.BAD_REQUEST,
        description: `not a FilterSubscribeRequest: ${(error as Error).message}`,
      });
    }
    return respond(request.requestId, this.apply(request, peer));
  }

  private apply(request: FilterSubscribeRequest, peer: string): FilterOutcome {
    const now = this.clock();
    const s = this.subscriptions;
    switch (request.filterSubscribeType) {
      case Kind.SUBSCRIBER_PING:
        return s.ping(peer, now);
      case Kind.SUBSCRIBE:
        if (request.pubsubTopic !== undefined && !this.host.pubsubTopics.includes(request.pubsubTopic)) {
          return {
            status: FILTER_STATUS.BAD_REQUEST,
            description: `pubsub_topic ${request.pubsubTopic} is not relayed here (${this.host.pubsubTopics.join(", ")})`,
          };
        }
        return s.subscribe(peer, request.pubsubTopic, request.contentTopics, now);
      case Kind.UNSUBSCRIBE:
        return s.unsubscribe(peer, request.pubsubTopic, request.contentTopics, now);
      case Kind.UNSUBSCRIBE_ALL:
        return s.unsubscribeAll(peer, now);
      default:
        return {
          status: FILTER_STATUS.BAD_REQUEST,
          description: `unknown filter_subscribe_type ${String(request.filterSubscribeType)}`,
        };
    }
  }

  /** Pushes one envelope to every subscriber of its content topic. */
  push(e: EnvelopeSeen): void {
    const now = this.clock();
    const peers = this.subscriptions.subscribersOf(e.pubsubTopic, e.envelope.contentTopic, now);
    if (peers.length === 0) return;
    const bytes = frame([encodeMessagePush(e.bytes, e.pubsubTopic)]);
    for (const peer of peers) {
      const push: FilterPush = {
        peer,
        pubsubTopic: e.pubsubTopic,
        hash: e.hash,
        contentTopic: e.envelope.contentTopic,
      };
      const busy = this.inFlight.get(peer) ?? 0;
      if (busy >= MAX_PUSHES_IN_FLIGHT || (this.pushGate !== undefined && !this.pushGate(push))) {
        this.stats.dropped++;
        continue;
      }
      this.inFlight.set(peer, busy + 1);
      this.sendPush(peer, bytes)
        .then(
          () => this.stats.pushed++,
          () => this.stats.failed++,
        )
        .finally(() => {
          const left = (this.inFlight.get(peer) ?? 1) - 1;
          if (left <= 0) this.inFlight.delete(peer);
          else this.inFlight.set(peer, left);
        });
    }
  }

  /** Drops lapsed subscriptions (run periodically). */
  expire(): void {
    this.subscriptions.expire(this.clock());
  }

  private async sendPush(peer: string, bytes: Uint8Array): Promise<void> {
    const node = this.host.libp2p;
    if (node === undefined) throw new Error("the host is not running");
    const signal = AbortSignal.timeout(PUSH_TIMEOUT_MS);
    const stream = await node.dialProtocol(peerIdFromString(peer), WAKU_FILTER_PUSH_CODEC, { signal });
    try {
      await send(stream, bytes, signal);
      await stream.close({ signal });
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
  }
}

function respond(requestId: string, outcome: FilterOutcome): Uint8Array {
  return toBinary(
    FilterSubscribeResponseSchema,
    create(FilterSubscribeResponseSchema, {
      requestId,
      statusCode: outcome.status,
      statusDesc: outcome.description,
    }),
  );
}
