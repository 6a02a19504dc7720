// Who wants which messages pushed (Waku filter v2, service side): per subscriber peer, the (pubsub topic,
// content topic) pairs it subscribed to, and when its subscription lapses. No I/O and no clock of its own:
// `now` comes in with every call, so the rules are tested without waiting.
//
// Bounded as nwaku bounds it: at most `maxPeers` subscribers, at most `maxCriteriaPerPeer` pairs each, at
// most 100 content topics per request; a subscription not refreshed (subscribe or ping) within `ttlMs`
// lapses. A full service answers 503 rather than dropping anyone already subscribed.

export const FILTER_STATUS = {
  OK: 200,
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  SERVICE_UNAVAILABLE: 503,
} as const;

export interface FilterLimits {
  /** Subscriber peers served at once. Default 1,000. */
  readonly maxPeers: number;
  /** (pubsub topic, content topic) pairs per peer. Default 1,000. */
  readonly maxCriteriaPerPeer: number;
  /** A subscription lapses this long after its last subscribe or ping. Default 5 minutes. */
  readonly ttlMs: number;
}

export const DEFAULT_FILTER_LIMITS: FilterLimits = { maxPeers: 1_000, maxCriteriaPerPeer: 1_000, ttlMs: 5 * 60_000 };
export const FILTER_MAX_CONTENT_TOPICS_PER_REQUEST = 100;

export interface FilterOutcome {
  readonly status: number;
  readonly description: string;
}

const OK: FilterOutcome = { status: FILTER_STATUS.OK, description: "OK" };

interface Subscriber {
  /** "pubsub topic \n content topic" keys. */
  readonly criteria: Set<string>;
  expiresAt: number;
}

const key = (pubsubTopic: string, contentTopic: string) => `${pubsubTopic}\n${contentTopic}`;

export class FilterSubscriptions {
  readonly limits: FilterLimits;
  private readonly peers = new Map<string, Subscriber>();
  /** The index pushes are found by: criterion -> peers. */
  private readonly byCriterion = new Map<string, Set<string>>();

  constructor(limits: Partial<FilterLimits> = {}) {
    this.limits = { ...DEFAULT_FILTER_LIMITS, ...limits };
    for (const [name, value] of Object.entries(this.limits)) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`filter limit ${name} must be a positive integer, got ${String(value)}`);
      }
    }
  }

  /** Subscriber peers (lapsed ones until `expire` runs). */
  size(): number {
    return this.peers.size;
  }

  subscribe(
    peer: string,
    pubsubTopic: string | undefined,
    contentTopics: readonly string[],
    now: number,
  ): FilterOutcome {
    if (pubsubTopic === undefined || pubsubTopic === "" || contentTopics.length === 0) {
      return bad("a subscribe request needs a pubsub_topic and at least one content topic");
    }
    if (contentTopics.length > FILTER_MAX_CONTENT_TOPICS_PER_REQUEST) {
      return bad(
        `content_topics has ${contentTopics.length} entries, the limit is ${FILTER_MAX_CONTENT_TOPICS_PER_REQUEST}`,
      );
    }
    if (contentTopics.some((t) => t.length === 0)) return bad("content_topics has an empty topic");
    const existing = this.live(peer, now);
    // Lapsed subscribers make room before a newcomer is turned away.
    if (existing === undefined && this.peers.size >= this.limits.maxPeers) this.expire(now);
    if (existing === undefined && this.peers.size >= this.limits.maxPeers) {
      return {
        status: FILTER_STATUS.SERVICE_UNAVAILABLE,
        description: `this node serves ${this.limits.maxPeers} filter subscribers, its limit`,
      };
    }
    const fresh = contentTopics.map((t) => key(pubsubTopic, t)).filter((k) => !existing?.criteria.has(k));
    const total = (existing?.criteria.size ?? 0) + new Set(fresh).size;
    if (total > this.limits.maxCriteriaPerPeer) {
      return {
        status: FILTER_STATUS.SERVICE_UNAVAILABLE,
        description: `a subscriber may hold ${this.limits.maxCriteriaPerPeer} content topics here; this one would hold ${total}`,
      };
    }
    const subscriber = existing ?? { criteria: new Set<string>(), expiresAt: 0 };
    subscriber.expiresAt = now + this.limits.ttlMs;
    this.peers.set(peer, subscriber);
    for (const k of fresh) {
      subscriber.criteria.add(k);
      let set = this.byCriterion.get(k);
      if (set === undefined) {
        set = new Set();
        this.byCriterion.set(k, set);
      }
      set.add(peer);
    }
    return OK;
  }

  /** A ping keeps a subscription alive; 404 when the peer has none. */
  ping(peer: string, now: number): FilterOutcome {
    const subscriber = this.live(peer, now);
    if (subscriber === undefined) return notFound(peer);
    subscriber.expiresAt = now + this.limits.ttlMs;
    return OK;
  }

  unsubscribe(
    peer: string,
    pubsubTopic: string | undefined,
    contentTopics: readonly string[],
    now: number,
  ): FilterOutcome {
    if (pubsubTopic === undefined || pubsubTopic === "" || contentTopics.length === 0) {
      return bad("an unsubscribe request needs a pubsub_topic and at least one content topic");
    }
    const subscriber = this.live(peer, now);
    if (subscriber === undefined) return notFound(peer);
    const keys = contentTopics.map((t) => key(pubsubTopic, t));
    if (!keys.some((k) => subscriber.criteria.has(k))) {
      return { status: FILTER_STATUS.NOT_FOUND, description: `${peer} is not subscribed to these content topics` };
    }
    for (const k of keys) this.drop(peer, subscriber, k);
    subscriber.expiresAt = now + this.limits.ttlMs;
    if (subscriber.criteria.size === 0) this.peers.delete(peer);
    return OK;
  }

  unsubscribeAll(peer: string, now: number): FilterOutcome {
    const subscriber = this.live(peer, now);
    if (subscriber === undefined) return notFound(peer);
    this.remove(peer, subscriber);
    return OK;
  }

  /** The peers a message on (pubsubTopic, contentTopic) goes to; lapsed subscriptions are skipped. */
  subscribersOf(pubsubTopic: string, contentTopic: string, now: number): string[] {
    const peers = this.byCriterion.get(key(pubsubTopic, contentTopic));
    if (peers === undefined) return [];
    return [...peers].filter((p) => (this.peers.get(p)?.expiresAt ?? 0) > now);
  }

  /** The peer's subscription, forgotten first when it lapsed. */
  private live(peer: string, now: number): Subscriber | undefined {
    const subscriber = this.peers.get(peer);
    if (subscriber !== undefined && subscriber.expiresAt <= now) {
      this.remove(peer, subscriber);
      return undefined;
    }
    return subscriber;
  }

  /** Forgets every subscription that lapsed by `now` (the service runs it once a minute). */
  expire(now: number): void {
    for (const [peer, subscriber] of this.peers) {
      if (subscriber.expiresAt <= now) this.remove(peer, subscriber);
    }
  }

  private remove(peer: string, subscriber: Subscriber): void {
    for (const k of [...subscriber.criteria]) this.drop(peer, subscriber, k);
    this.peers.delete(peer);
  }

  private drop(peer: string, subscriber: Subscriber, k: string): void {
    if (!subscriber.criteria.delete(k)) return;
    const set = this.byCriterion.get(k);
    set?.delete(peer);
    if (set?.size === 0) this.byCriterion.delete(k);
  }
}

function bad(description: string): FilterOutcome {
  return { status: FILTER_STATUS.BAD_REQUEST, description };
}

function notFound(peer: string): FilterOutcome {
  return { status: FILTER_STATUS.NOT_FOUND, description: `${peer} has no filter subscription here` };
}
