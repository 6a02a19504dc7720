// A per-peer request bound for the Waku services a node offers to light nodes (light push): each peer may
// make `limit` requests per fixed window of `windowMs`; past that it is answered "too many requests" (429 in
// light push v3) until the window turns. A fixed window is one counter per peer, O(1) per request; it lets
// a peer burst up to twice the limit across a window boundary, which is fine for a bound against floods.
// The peer table is bounded: when full, windows that have ended are dropped, then the oldest entry.

export interface PeerRateLimitOptions {
  /** Requests one peer may make per window. */
  readonly limit: number;
  /** Length of a window in milliseconds. */
  readonly windowMs: number;
  /** Peers tracked at once. Default 4,096. */
  readonly maxPeers?: number;
}

const DEFAULT_MAX_PEERS = 4_096;

function positive(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

export class PeerRateLimit {
  readonly limit: number;
  readonly windowMs: number;
  readonly maxPeers: number;
  /** Per peer: when its current window started and how many requests it made in it (insertion-ordered). */
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(options: PeerRateLimitOptions) {
    this.limit = positive("limit", options.limit);
    this.windowMs = positive("windowMs", options.windowMs);
    this.maxPeers = positive("maxPeers", options.maxPeers ?? DEFAULT_MAX_PEERS);
  }

  /** Counts one request of `peer` at `now`; false when the peer has used up its window. */
  take(peer: string, now: number): boolean {
    let w = this.windows.get(peer);
    if (w === undefined || now - w.start >= this.windowMs) {
      if (w !== undefined) this.windows.delete(peer);
      else if (this.windows.size >= this.maxPeers) this.evict(now);
      w = { start: now, count: 0 };
      this.windows.set(peer, w);
    }
    if (w.count >= this.limit) return false;
    w.count++;
    return true;
  }

  /** Peers tracked now. */
  size(): number {
    return this.windows.size;
  }

  private evict(now: number): void {
    // Entries are in the order their windows started: the ended ones are at the front.
    for (const [peer, w] of this.windows) {
      if (now - w.start < this.windowMs) break;
      this.windows.delete(peer);
    }
    if (this.windows.size >= this.maxPeers) this.windows.delete(this.windows.keys().next().value as string);
  }
}
