import type { Purpose } from "./metrics.js";

/** Which shard of a run a world is: members split in ranges (the owner in shard 0: `planShards`). */
export interface ShardPlace {
  readonly index: number;
  readonly count: number;
}

/** Copies of one publication to the nodes of one other shard, with their fates drawn by the sender's shard. */
export interface ShippedCopies {
  readonly from: number;
  readonly bytes: Uint8Array;
  readonly purpose: Purpose;
  readonly contentBytes: number;
  readonly x: number;
  /** Receivers, when each copy arrives, and each copy's tie key (world.ts, SLOT). */
  readonly to: number[];
  readonly at: number[];
  readonly tie: number[];
  /** Receivers whose original copy of content message x independent loss dropped. */
  readonly dropped: number[];
}

/** An event on behalf of one of the receiving shard's nodes (a direct-path request or answer). */
export interface ShippedEvent {
  readonly at: number;
  readonly tie: number;
  readonly node: number;
  readonly channel: string;
  readonly data: unknown;
}

/** What one shard sends another at the end of a window; everything in it is due at or after the window's end. */
export interface Shipment {
  readonly pubs: ShippedCopies[];
  readonly events: ShippedEvent[];
  /** Records every other shard applies at once (the protocol's registry of messages). */
  readonly notes: { readonly channel: string; readonly data: unknown }[];
}

export function emptyShipment(): Shipment {
  return { pubs: [], events: [], notes: [] };
}

/** An empty list of copies of `p` for one shard. */
export function shippedCopies(p: {
  readonly from: number;
  readonly bytes: Uint8Array;
  readonly purpose: Purpose;
  readonly contentBytes: number;
  readonly x: number;
}): ShippedCopies {
  return {
    from: p.from,
    // A copy of its own: the engine's encodings are views into shared slabs, and posting a view copies the
    // whole slab to the other thread, where every cached publication would keep its own slab alive.
    bytes: p.bytes.slice(),
    purpose: p.purpose,
    contentBytes: p.contentBytes,
    x: p.x,
    to: [],
    at: [],
    tie: [],
    dropped: [],
  };
}

/**
 * The owner's work in members' worth, with the owner path: it checks every member's receipt reports, keeps the
 * ledger and answers polls and fetches, about a quarter of a member's work per member (measured: 1,000 members x
 * 100 messages over 2 workers, the owner's shard busy about 9.5 CPU-s more than the other's 18, for 500 members
 * each). Without the path the owner is one more member.
 */
const OWNER_PATH_WEIGHT_PER_MEMBER = 0.25;

/**
 * Which shard holds each node (at [node]): the owner in shard 0, members in contiguous ranges, shard 0's range
 * shortened by the owner's weight so that the shards carry about the same work (the run waits for the slowest
 * shard at every window). Members are alike (who talks is a seeded permutation), so ranges split them as well as
 * any other grouping; the result never depends on the split (world.ts, tie keys).
 */
export function planShards(members: number, owner: boolean, ownerPath: boolean, count: number): Uint8Array {
  if (!Number.isInteger(count) || count < 1 || count > 255) {
    throw new RangeError(`shard count must be an integer in 1..255, got ${String(count)}`);
  }
  const home = new Uint8Array(members + (owner ? 1 : 0));
  if (count === 1) return home;
  const weight = owner ? (ownerPath ? OWNER_PATH_WEIGHT_PER_MEMBER * members : 1) : 0;
  const first = Math.min(members, Math.max(0, Math.round((members + weight) / count - weight)));
  const rest = members - first;
  const others = count - 1;
  let m = first;
  for (let shard = 1; shard < count; shard++) {
    const size = Math.floor(rest / others) + (shard - 1 < rest % others ? 1 : 0);
    home.fill(shard, m, m + size);
    m += size;
  }
  return home;
}
