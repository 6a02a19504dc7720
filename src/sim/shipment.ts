import type { Purpose } from "./metrics.js";

/** Which shard of a run a world is: members split by index (the owner in shard 0). */
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
