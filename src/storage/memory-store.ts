// An in-memory Store for tests and the simulator. Every lookup is a Map hit or a binary search
// over a sorted array; inserts usually append, because messages mostly arrive in Lamport order.
// Transactions keep an undo log, so a throw inside `transaction` restores the previous state.
// Bytes are copied in and out with `new Uint8Array(x)`: `Buffer#slice` would return a view.
import {
  compareIds,
  compareLamport,
  type LamportCursor,
  type NewMessage,
  type StoredMessage,
  StoreNotFoundError,
} from "./store.js";
import {
  type CheckedDeliveredRange,
  type CheckedLamportRange,
  type CheckedSenderRange,
  CheckedStore,
} from "./validate.js";

/** A stored message; its own copy of the bytes, and a delivered position that changes once. */
interface Entry extends NewMessage {
  deliveredPos: number | null;
  retrievalHint?: Uint8Array;
}

class ChannelState {
  readonly byId = new Map<string, Entry>();
  /** Sorted by (lamport, messageId). */
  readonly byLamport: Entry[] = [];
  /** The subset of byLamport not yet delivered, same order. */
  readonly undelivered: Entry[] = [];
  /** Per sender, entries with a sequence number, sorted by (seq, messageId). */
  readonly bySender = new Map<string, Entry[]>();
  /** delivered[i] has deliveredPos i + 1. */
  readonly delivered: Entry[] = [];
  snapshot: string | undefined;
}

function compareSenderOrder(a: Entry, b: Entry): number {
  if (a.seq !== b.seq) return (a.seq ?? 0) - (b.seq ?? 0);
  return compareIds(a.messageId, b.messageId);
}

/** Index of the first element for which `before(element)` is false; `before` must be monotone. */
function partitionPoint<T>(items: readonly T[], before: (item: T) => boolean): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(items[mid] as T)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function insertSorted<T>(items: T[], item: T, compare: (a: T, b: T) => number): void {
  const last = items[items.length - 1];
  if (last === undefined || compare(last, item) < 0) {
    items.push(item);
    return;
  }
  items.splice(
    partitionPoint(items, (x) => compare(x, item) < 0),
    0,
    item,
  );
}

function removeSorted<T>(items: T[], item: T, compare: (a: T, b: T) => number): void {
  const i = partitionPoint(items, (x) => compare(x, item) < 0);
  if (items[i] === item) items.splice(i, 1);
}

function output(e: Entry): StoredMessage {
  return {
    channelId: e.channelId,
    messageId: e.messageId,
    senderId: e.senderId,
    seq: e.seq,
    lamport: e.lamport,
    bytes: new Uint8Array(e.bytes),
    receivedAt: e.receivedAt,
    deliveredPos: e.deliveredPos,
    ...(e.retrievalHint === undefined ? {} : { retrievalHint: new Uint8Array(e.retrievalHint) }),
  };
}

function pageAfter(items: readonly Entry[], after: LamportCursor | undefined, limit: number): StoredMessage[] {
  const start = after === undefined ? 0 : partitionPoint(items, (e) => compareLamport(e, after) <= 0);
  return items.slice(start, start + limit).map(output);
}

export class MemoryStore extends CheckedStore {
  private readonly channels = new Map<string, ChannelState>();
  private readonly joined = new Set<string>();
  private identity: Uint8Array | undefined;
  /** Inverse operations of the writes made inside the current outermost transaction; null outside one. */
  private undoLog: (() => void)[] | null = null;

  protected doPutMessage(message: NewMessage): boolean {
    const channel = this.channel(message.channelId);
    if (channel.byId.has(message.messageId)) return false;
    const entry: Entry = {
      channelId: message.channelId,
      messageId: message.messageId,
      senderId: message.senderId,
      seq: message.seq,
      lamport: message.lamport,
      bytes: new Uint8Array(message.bytes),
      receivedAt: message.receivedAt,
      deliveredPos: null,
      ...(message.retrievalHint === undefined ? {} : { retrievalHint: new Uint8Array(message.retrievalHint) }),
    };
    channel.byId.set(entry.messageId, entry);
    insertSorted(channel.byLamport, entry, compareLamport);
    insertSorted(channel.undelivered, entry, compareLamport);
    let senderEntries: Entry[] | undefined;
    if (entry.seq !== null) {
      senderEntries = channel.bySender.get(entry.senderId);
      if (senderEntries === undefined) {
        senderEntries = [];
        channel.bySender.set(entry.senderId, senderEntries);
      }
      insertSorted(senderEntries, entry, compareSenderOrder);
    }
    this.onUndo(() => {
      channel.byId.delete(entry.messageId);
      removeSorted(channel.byLamport, entry, compareLamport);
      removeSorted(channel.undelivered, entry, compareLamport);
      if (senderEntries !== undefined) removeSorted(senderEntries, entry, compareSenderOrder);
    });
    return true;
  }

  protected doGetMessage(channelId: string, messageId: string): StoredMessage | undefined {
    const entry = this.channels.get(channelId)?.byId.get(messageId);
    return entry === undefined ? undefined : output(entry);
  }

  protected doHasMessage(channelId: string, messageId: string): boolean {
    return this.channels.get(channelId)?.byId.has(messageId) ?? false;
  }

  protected doCountMessages(channelId: string): number {
    return this.channels.get(channelId)?.byId.size ?? 0;
  }

  protected doListBySender(
    channelId: string,
    senderId: string,
    { fromSeq, toSeq, limit }: CheckedSenderRange,
  ): StoredMessage[] {
    const entries = this.channels.get(channelId)?.bySender.get(senderId);
    if (entries === undefined) return [];
    const out: StoredMessage[] = [];
    for (let i = partitionPoint(entries, (e) => (e.seq as number) < fromSeq); i < entries.length; i++) {
      const e = entries[i] as Entry;
      if ((e.seq as number) > toSeq || out.length === limit) break;
      out.push(output(e));
    }
    return out;
  }

  protected doListByLamport(channelId: string, { after, limit }: CheckedLamportRange): StoredMessage[] {
    return pageAfter(this.channels.get(channelId)?.byLamport ?? [], after, limit);
  }

  protected doListUndelivered(channelId: string, { after, limit }: CheckedLamportRange): StoredMessage[] {
    return pageAfter(this.channels.get(channelId)?.undelivered ?? [], after, limit);
  }

  protected doMarkDelivered(channelId: string, messageId: string): number {
    const channel = this.channels.get(channelId);
    const entry = channel?.byId.get(messageId);
    if (channel === undefined || entry === undefined)
      throw new StoreNotFoundError(channelId, messageId, "markDelivered");
    if (entry.deliveredPos !== null) return entry.deliveredPos;
    channel.delivered.push(entry);
    entry.deliveredPos = channel.delivered.length;
    removeSorted(channel.undelivered, entry, compareLamport);
    this.onUndo(() => {
      channel.delivered.pop();
      entry.deliveredPos = null;
      insertSorted(channel.undelivered, entry, compareLamport);
    });
    return entry.deliveredPos;
  }

  protected doSetRetrievalHint(channelId: string, messageId: string, hint: Uint8Array): boolean {
    const entry = this.channels.get(channelId)?.byId.get(messageId);
    if (entry === undefined) throw new StoreNotFoundError(channelId, messageId, "setRetrievalHint");
    if (entry.retrievalHint !== undefined) return false;
    entry.retrievalHint = new Uint8Array(hint);
    this.onUndo(() => {
      entry.retrievalHint = undefined;
    });
    return true;
  }

  protected doListDelivered(channelId: string, { after, limit }: CheckedDeliveredRange): StoredMessage[] {
    const delivered = this.channels.get(channelId)?.delivered ?? [];
    return delivered.slice(after, after + limit).map(output);
  }

  protected doCountDelivered(channelId: string): number {
    return this.channels.get(channelId)?.delivered.length ?? 0;
  }

  protected doGetSnapshot(channelId: string): string | undefined {
    return this.channels.get(channelId)?.snapshot;
  }

  protected doPutSnapshot(channelId: string, json: string): void {
    const channel = this.channel(channelId);
    const previous = channel.snapshot;
    channel.snapshot = json;
    this.onUndo(() => {
      channel.snapshot = previous;
    });
  }

  protected doGetIdentity(): Uint8Array | undefined {
    return this.identity?.slice();
  }

  protected doSetIdentity(secretKey: Uint8Array): void {
    const previous = this.identity;
    this.identity = new Uint8Array(secretKey);
    this.onUndo(() => {
      this.identity = previous;
    });
  }

  protected doJoinChannel(channelId: string): void {
    if (this.joined.has(channelId)) return;
    this.joined.add(channelId);
    this.onUndo(() => this.joined.delete(channelId));
  }

  protected doLeaveChannel(channelId: string): void {
    if (!this.joined.delete(channelId)) return;
    this.onUndo(() => this.joined.add(channelId));
  }

  protected doListChannels(): string[] {
    return [...this.joined].sort(compareIds);
  }

  protected doTransaction<T>(fn: () => T): T {
    const outermost = this.undoLog === null;
    if (outermost) this.undoLog = [];
    const log = this.undoLog as (() => void)[];
    const mark = log.length;
    try {
      return fn();
    } catch (error) {
      while (log.length > mark) (log.pop() as () => void)();
      throw error;
    } finally {
      if (outermost) this.undoLog = null;
    }
  }

  protected doClose(): void {
    this.channels.clear();
    this.joined.clear();
    this.identity = undefined;
  }

  private channel(channelId: string): ChannelState {
    let channel = this.channels.get(channelId);
    if (channel === undefined) {
      channel = new ChannelState();
      this.channels.set(channelId, channel);
    }
    return channel;
  }

  private onUndo(undo: () => void): void {
    this.undoLog?.push(undo);
  }
}
