import { bytesToHex } from "@noble/hashes/utils.js";
import type { DecodeLimits, HistoryEntry, WireMessage } from "../wire/index.js";
import { decodeMessage } from "../wire/index.js";
import { BoundedMap, Ring } from "./bounded.js";
import type { MessageId, SenderId } from "./ids.js";
import { InsertionTimes } from "./insertion-times.js";
import type { Params } from "./params.js";
import type { DeliveredMessage } from "./types.js";

/**
 * The fields of a delivered message worth keeping, the same for every member that holds it: the decoded message
 * itself (history, summary) is not kept.
 */
interface MessageFacts {
  readonly messageId: MessageId;
  readonly senderId: SenderId;
  readonly sequence: number | undefined;
  readonly lamportTimestamp: bigint;
  readonly content: Uint8Array;
  readonly bytes: Uint8Array;
}

// Members that deliver the same decoded object with the same bytes (the simulator's thousands of engines in one
// process) share its facts, and keep what is their own (when it was delivered, its hint) beside them: an object
// per member and message (88 bytes, and 16 for its delivery time) was ~40 % of a large run's growth. A node
// decodes each message once, so it makes one facts object per message either way.
const factsOfDecoded = new WeakMap<WireMessage, MessageFacts>();

function factsOf(m: WireMessage, bytes: Uint8Array): MessageFacts {
  const known = factsOfDecoded.get(m);
  if (known !== undefined && known.bytes === bytes) return known;
  const facts = newFacts(m, bytes);
  if (known === undefined) factsOfDecoded.set(m, facts);
  return facts;
}

function newFacts(m: WireMessage, bytes: Uint8Array): MessageFacts {
  return {
    messageId: m.messageId as MessageId,
    senderId: m.senderId as SenderId,
    sequence: m.sequence,
    lamportTimestamp: m.lamportTimestamp ?? 0n,
    content: m.content ?? new Uint8Array(),
    bytes,
  };
}

export interface CachedJson {
  bytes: string;
  deliveredAt: number;
  hint?: string;
}

export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** What the application sees of a delivered message. */
export function deliveredView(m: WireMessage, deliveredAt: number, own: boolean): DeliveredMessage {
  return {
    messageId: m.messageId as MessageId,
    senderId: m.senderId as SenderId,
    sequence: m.sequence,
    lamportTimestamp: m.lamportTimestamp ?? 0n,
    content: m.content ?? new Uint8Array(),
    deliveredAt,
    own,
  };
}

/**
 * One sender's cached sequence numbers: the cache entry of its only one, or a map of several. Most senders of a
 * large channel have one or two messages in a member's cache: a Map each cost ~250 bytes, a string key per
 * message (`seqKey`, 70 characters) ~100.
 */
type SenderSequences = MessageFacts | Map<number, MessageId>;

function byLamportThenId(a: DeliveredMessage, b: DeliveredMessage): number {
  if (a.lamportTimestamp !== b.lamportTimestamp) return a.lamportTimestamp < b.lamportTimestamp ? -1 : 1;
  return a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0;
}

/**
 * What this member has delivered: the ids (a bounded seen set), the ids given up on, the recent messages with
 * their bytes (to answer repairs, indexed by id and by sender sequence), the causal history of the next message,
 * and the transport's retrieval hints.
 */
export class MessageCache {
  private readonly seen: BoundedMap<MessageId, true>;
  private readonly givenUp: BoundedMap<MessageId, true>;
  private readonly cache: BoundedMap<MessageId, MessageFacts>;
  /** When each cached message was delivered, by its place in `cache` (which only loses its oldest). */
  private readonly deliveredAt: InsertionTimes;
  /** The retrieval hints of cached messages that have one (few do). */
  private readonly hints = new Map<MessageId, Uint8Array>();
  /** Per sender, its cached sequence numbers (see `SenderSequences`). */
  private readonly bySeq = new Map<string, SenderSequences>();
  private readonly history: Ring<MessageId>;

  constructor(
    params: Params,
    private readonly self: SenderId,
    /** Told when a message leaves the cache (the responder forgets its request rounds). */
    onEvict: (id: MessageId) => void,
  ) {
    this.seen = new BoundedMap(params.maxSeenIds);
    this.givenUp = new BoundedMap(params.maxSeenIds);
    this.cache = new BoundedMap(params.repairCacheSize, (id, facts) => {
      if (facts.sequence !== undefined) this.forgetSequence(facts.senderId, facts.sequence);
      if (this.hints.size > 0) this.hints.delete(id);
      onEvict(id);
    });
    this.deliveredAt = new InsertionTimes(params.repairCacheSize);
    this.history = new Ring(params.causalHistorySize);
  }

  get size(): number {
    return this.cache.size;
  }

  get seenCount(): number {
    return this.seen.size;
  }

  /** Delivered here (as long as the seen set remembers it). */
  isDelivered(id: MessageId): boolean {
    return this.seen.has(id);
  }

  isGivenUp(id: MessageId): boolean {
    return this.givenUp.has(id);
  }

  /** Neither delivered nor given up: a causal-history entry naming it is a dependency. */
  isOpen(id: MessageId): boolean {
    return !this.seen.has(id) && !this.givenUp.has(id);
  }

  markGivenUp(id: MessageId): void {
    this.givenUp.set(id, true);
  }

  /**
   * Records a delivery: the message, its bytes for repairs, and its place in the causal history. `alone`: no other
   * engine holds this decoded object (this engine decoded it), so its facts are not memoized for sharing.
   */
  remember(message: WireMessage, bytes: Uint8Array, deliveredAt: number, alone = false): void {
    const id = message.messageId as MessageId;
    this.seen.set(id, true);
    // A late copy of a message given up on by id: delivered now, whatever the seen set forgets later.
    if (this.givenUp.size > 0 && message.senderId !== this.self) this.givenUp.delete(id);
    this.put(message, bytes, deliveredAt, undefined, alone);
    this.history.push(id);
  }

  private put(
    m: WireMessage,
    bytes: Uint8Array,
    deliveredAt: number,
    hint: Uint8Array | undefined,
    alone = false,
  ): void {
    const id = m.messageId as MessageId;
    // Our own messages are objects nobody else holds (a simulator delivers others a copy), as are those this engine
    // decoded: no memo to share them by, whose insertion (a WeakMap's) cost more than the facts.
    const entry = alone || m.senderId === this.self ? newFacts(m, bytes) : factsOf(m, bytes);
    // A message cached already keeps its place (as in BoundedMap) and takes the new delivery time and hint.
    const again = !this.cache.add(id, entry);
    if (again) this.deliveredAt.set(this.placeOf(id), this.cache.size, deliveredAt);
    else this.deliveredAt.push(deliveredAt);
    if (hint !== undefined) this.hints.set(id, hint);
    else if (this.hints.size > 0) this.hints.delete(id);
    if (entry.sequence === undefined) return;
    const seq = entry.sequence;
    const known = this.bySeq.get(entry.senderId);
    if (known === undefined || (!(known instanceof Map) && known.sequence === seq))
      this.bySeq.set(entry.senderId, entry);
    else if (known instanceof Map) known.set(seq, id);
    else
      this.bySeq.set(
        entry.senderId,
        new Map([
          [known.sequence!, known.messageId],
          [seq, id],
        ]),
      );
  }

  /** Where a cached message stands in the cache, 0 the oldest (a scan: only for a message cached twice). */
  private placeOf(id: MessageId): number {
    let k = 0;
    for (const key of this.cache.keys()) {
      if (key === id) return k;
      k++;
    }
    throw new RangeError(`message ${id} is not cached`);
  }

  private forgetSequence(sender: string, seq: number): void {
    const known = this.bySeq.get(sender);
    if (known === undefined) return;
    if (!(known instanceof Map)) {
      if (known.sequence === seq) this.bySeq.delete(sender);
      return;
    }
    if (!known.delete(seq) || known.size > 1) return;
    const only = this.cache.get(known.values().next().value as MessageId);
    if (only !== undefined) this.bySeq.set(sender, only);
  }

  has(id: MessageId): boolean {
    return this.cache.has(id);
  }

  bytesOf(id: MessageId): Uint8Array | undefined {
    return this.cache.get(id)?.bytes;
  }

  /** Who sent a cached message, and its sequence number (undefined for SDS messages, which have none). */
  sequenceOf(id: MessageId): { readonly senderId: SenderId; readonly sequence: number | undefined } | undefined {
    return this.cache.get(id);
  }

  idAt(sender: string, seq: number): MessageId | undefined {
    const known = this.bySeq.get(sender);
    if (known === undefined) return undefined;
    if (known instanceof Map) return known.get(seq);
    return known.sequence === seq ? known.messageId : undefined;
  }

  hasSequence(sender: string, seq: number): boolean {
    return this.idAt(sender, seq) !== undefined;
  }

  /**
   * The causal history of the next message: the last delivered ids, then the `named` ones not among them (the
   * versions an equivocation notice names, spec 9.6), with their retrieval hints.
   */
  causalHistory(named: readonly MessageId[] = []): HistoryEntry[] {
    const out: HistoryEntry[] = [];
    if (named.length === 0) {
      // Every send: straight from the ring, oldest first, no intermediate array.
      for (let i = this.history.size - 1; i >= 0; i--) out.push(this.historyEntry(this.history.newestAt(i)));
      return out;
    }
    const last = this.history.toArray();
    for (const id of [...last, ...named.filter((n) => !last.includes(n))]) out.push(this.historyEntry(id));
    return out;
  }

  private historyEntry(id: MessageId): HistoryEntry {
    const hint = this.hints.get(id);
    return hint === undefined ? { messageId: id } : { messageId: id, retrievalHint: hint };
  }

  setRetrievalHint(id: MessageId, hint: Uint8Array): void {
    if (this.cache.has(id)) this.hints.set(id, hint.slice());
  }

  /** The recent delivered log (bounded by `repairCacheSize`), ordered by (lamport timestamp, message id). */
  deliveredLog(): DeliveredMessage[] {
    const out: DeliveredMessage[] = [];
    const size = this.cache.size;
    let k = 0;
    for (const c of this.cache.values()) {
      const deliveredAt = this.deliveredAt.at(k++, size);
      out.push({
        messageId: c.messageId,
        senderId: c.senderId,
        sequence: c.sequence,
        lamportTimestamp: c.lamportTimestamp,
        content: c.content,
        deliveredAt,
        own: c.senderId === this.self,
      });
    }
    return out.sort(byLamportThenId);
  }

  seenJson(limit: number | undefined): string[] {
    return newest([...this.seen.keys()], limit);
  }

  givenUpJson(): string[] {
    return [...this.givenUp.keys()];
  }

  cacheJson(limit: number | undefined): CachedJson[] {
    const size = this.cache.size;
    const from = limit === undefined ? 0 : Math.max(0, size - limit);
    const out: CachedJson[] = [];
    let k = 0;
    for (const [id, c] of this.cache.entries()) {
      if (k >= from) {
        const hint = this.hints.get(id);
        out.push({
          bytes: bytesToHex(c.bytes),
          deliveredAt: this.deliveredAt.at(k, size),
          ...(hint === undefined ? {} : { hint: bytesToHex(hint) }),
        });
      }
      k++;
    }
    return out;
  }

  historyJson(): string[] {
    return this.history.toArray();
  }

  restore(
    s: { seen: readonly string[]; lost: readonly string[]; cache: readonly CachedJson[]; history: readonly string[] },
    limits: DecodeLimits | undefined,
  ): void {
    for (const id of s.seen) this.seen.set(id as MessageId, true);
    for (const id of s.lost) this.givenUp.set(id as MessageId, true);
    for (const c of s.cache) {
      const bytes = fromHex(c.bytes);
      this.put(decodeMessage(bytes, limits), bytes, c.deliveredAt, c.hint === undefined ? undefined : fromHex(c.hint));
    }
    for (const id of s.history) this.history.push(id as MessageId);
  }
}

/** The newest `limit` items (all when limit is undefined). */
function newest<T>(items: T[], limit: number | undefined): T[] {
  return limit === undefined || items.length <= limit ? items : items.slice(items.length - limit);
}
