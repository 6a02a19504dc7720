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

/** What one shard sends another after a step (sliding.ts) or a window; everything in it is due at least the latency floor after the events that sent it. */
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
 * ledger and answers polls and fetches, about 0.15 of a member's work per member. Measured per thread (CPU-s of
 * each simulation thread, 2,000 members x 300 messages, the command in docs/simulator.md "Sliding windows,
 * measured"): with 0.25, the owner's shard 22.3 and the other 25.9; with 0.15, 20.4 and 20.9. The owner's share
 * depends on the scenario (0.25 balanced 1,000 x 150 with the defaults); the split never changes the result.
 * Without the path the owner is one more member.
 */
const OWNER_PATH_WEIGHT_PER_MEMBER = 0.15;

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

/** One publication's copies as they cross between threads: its numbers are in the list's one Float64Array. */
interface PackedCopies {
  readonly from: number;
  readonly bytes: Uint8Array;
  readonly purpose: Purpose;
  readonly contentBytes: number;
  readonly x: number;
  /** How many copies (receivers) and how many dropped originals. */
  readonly copies: number;
  readonly dropped: number;
}

/**
 * Shipments as they cross between threads. Structured cloning writes and reads a JavaScript array element by
 * element, and a publication's copies hold a receiver, an arrival time and a tie key per receiver in the other
 * shard (5,000 each in a 10,000-member run split in two): a window's shipment of 3 such publications took 0.8 to
 * 1.1 ms to post and read back, 0.15 ms packed (measured in one thread, on a loaded machine), and both ends of it
 * are on the critical path (a peer waits for the shipment's safe time). Packed, the numbers travel in one Float64Array whose buffer is moved,
 * not copied (node indices and tie keys are integers below 2^53, exact in a double). The direct path's requests
 * and answers (`events`) still cross as object graphs: the channels' `pack` decides their form.
 */
export interface PackedShipments {
  readonly list: readonly {
    readonly pubs: readonly PackedCopies[];
    readonly events: Shipment["events"];
    readonly notes: Shipment["notes"];
  }[];
  /** Per publication in list order: receivers, arrival times, tie keys, dropped receivers. */
  readonly numbers: Float64Array;
}

/** `list` packed for another thread, and the buffer to move with it (`postMessage`'s transfer list). */
export function packShipments(list: readonly Shipment[]): { packed: PackedShipments; transfer: ArrayBuffer[] } {
  let size = 0;
  for (const s of list) for (const p of s.pubs) size += 3 * p.to.length + p.dropped.length;
  const numbers = new Float64Array(size);
  let at = 0;
  const put = (values: ArrayLike<number>) => {
    // A received shipment's arrays are already Float64Array views (`unpackShipments`): one copy of the block.
    if (values instanceof Float64Array) numbers.set(values, at);
    else for (let i = 0; i < values.length; i++) numbers[at + i] = values[i]!;
    at += values.length;
  };
  const packed = list.map((s) => ({
    pubs: s.pubs.map((p): PackedCopies => {
      put(p.to);
      put(p.at);
      put(p.tie);
      put(p.dropped);
      const { from, bytes, purpose, contentBytes, x } = p;
      return { from, bytes, purpose, contentBytes, x, copies: p.to.length, dropped: p.dropped.length };
    }),
    events: s.events,
    notes: s.notes,
  }));
  return { packed: { list: packed, numbers }, transfer: [numbers.buffer as ArrayBuffer] };
}

/**
 * The shipments `packShipments` packed. The copies' arrays are views into the one Float64Array, typed as the
 * arrays they were: whatever reads a received shipment (`World.receive`, `packShipments` again for a third shard)
 * reads them by index and length only, never grows them.
 */
export function unpackShipments(packed: PackedShipments): Shipment[] {
  const { numbers } = packed;
  let at = 0;
  const take = (n: number): number[] => {
    const view = numbers.subarray(at, at + n);
    at += n;
    return view as unknown as number[];
  };
  return packed.list.map((s) => ({
    pubs: s.pubs.map((p): ShippedCopies => {
      const { from, bytes, purpose, contentBytes, x } = p;
      const to = take(p.copies);
      const arrive = take(p.copies);
      const tie = take(p.copies);
      return { from, bytes, purpose, contentBytes, x, to, at: arrive, tie, dropped: take(p.dropped) };
    }),
    events: s.events,
    notes: s.notes,
  }));
}
