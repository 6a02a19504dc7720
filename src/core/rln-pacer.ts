// The send queue that keeps a member within its RLN rate limit (Waku's RLN relay: at most
// `messagesPerEpoch` messages per epoch, epochs aligned to Unix time; relays drop the excess as spam and
// may slash the member). Every published message takes one slot, whatever it carries: each segment of a
// large payload, each chat message, each control message (syncs, repair requests and answers), since the
// relay counts envelopes, not payloads. What it paces is opaque to it (`T`): the node hands it the bytes
// to publish and publishes what `release` returns.
//
// Order: control before content (a repair answer or a sync is what lets others finish), each class first
// in, first out; the segments of one message are submitted together and never interleaved with another
// content message's (control may pass between them). Content may use at most `messagesPerEpoch - controlReserve` slots of an epoch, so a burst of
// chat cannot starve repair. Ephemeral messages are never queued: sent at once while the epoch is below
// `ephemeralThreshold` of the limit, dropped otherwise (as the Reliable Channel API says).
//
// Pure and clock-injected: `now` comes in as an argument, nothing is scheduled; `nextRelease` says when
// calling `release` again will free something.

export type PacedClass = "control" | "content";

export interface RlnPacerOptions {
  /** RLN messages per epoch (the membership's rate limit). */
  readonly messagesPerEpoch: number;
  /** Epoch length in ms; epoch n is [n × epochMs, (n + 1) × epochMs) of Unix time. */
  readonly epochMs: number;
  /** Slots of each epoch that only control messages may take. */
  readonly controlReserve: number;
  /** Share of the limit above which ephemeral messages are dropped, in (0, 1]. */
  readonly ephemeralThreshold: number;
  /** Messages (segments counted one by one) the queue holds at most; a submission beyond is refused. */
  readonly maxQueued: number;
}

/** Waku's RLN defaults (100 messages per 10-minute epoch), with a tenth kept for control. */
export const DEFAULT_RLN_PACER: RlnPacerOptions = {
  messagesPerEpoch: 100,
  epochMs: 600_000,
  controlReserve: 10,
  ephemeralThreshold: 0.9,
  maxQueued: 10_000,
};

export interface PacerState {
  readonly epoch: number;
  /** Slots used in the current epoch. */
  readonly used: number;
  readonly limit: number;
  readonly queuedControl: number;
  readonly queuedContent: number;
  /** When the next queued message may go (now if it may go now); undefined when nothing is queued. */
  readonly nextSlotAt: number | undefined;
}

export interface Released<T> {
  readonly item: T;
  readonly cls: PacedClass;
  readonly epoch: number;
}

export type Submission =
  | { readonly accepted: true; readonly queued: number }
  | { readonly accepted: false; readonly reason: string };

/** A ring-free FIFO: an array with a read index, compacted when half is consumed (O(1) amortized). */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  /** Takes `item` out wherever it waits; false when it is not queued. Linear, for the rare withdrawal. */
  remove(item: T): boolean {
    const i = this.items.indexOf(item, this.head);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++] as T;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

export class RlnPacer<T> {
  readonly options: RlnPacerOptions;
  private readonly control = new Fifo<T>();
  private readonly content = new Fifo<T>();
  private epoch = Number.NEGATIVE_INFINITY;
  private used = 0;
  private contentUsed = 0;

  constructor(options: Partial<RlnPacerOptions> = {}) {
    const o = { ...DEFAULT_RLN_PACER, ...options };
    for (const name of ["messagesPerEpoch", "epochMs", "maxQueued"] as const) {
      if (!Number.isSafeInteger(o[name]) || o[name] < 1) {
        throw new RangeError(`${name} must be a positive integer, got ${o[name]}`);
      }
    }
    if (!Number.isSafeInteger(o.controlReserve) || o.controlReserve < 0 || o.controlReserve >= o.messagesPerEpoch) {
      throw new RangeError(
        `controlReserve must be an integer in 0..${o.messagesPerEpoch - 1} (below messagesPerEpoch), got ${o.controlReserve}`,
      );
    }
    if (!(o.ephemeralThreshold > 0 && o.ephemeralThreshold <= 1)) {
      throw new RangeError(`ephemeralThreshold must be in (0, 1], got ${o.ephemeralThreshold}`);
    }
    this.options = o;
  }

  /** The epoch number of a time. */
  epochOf(now: number): number {
    return Math.floor(now / this.options.epochMs);
  }

  /** Queues a message: one item, or the segments of one large message together (all or none). */
  submit(items: readonly T[], cls: PacedClass, now: number): Submission {
    this.roll(now);
    if (items.length === 0) return { accepted: false, reason: "nothing to send: no items" };
    const queued = this.control.size + this.content.size;
    if (queued + items.length > this.options.maxQueued) {
      return {
        accepted: false,
        reason: `queue holds ${queued} messages; ${items.length} more exceeds maxQueued ${this.options.maxQueued}`,
      };
    }
    const fifo = cls === "control" ? this.control : this.content;
    for (const item of items) fifo.push(item);
    return { accepted: true, queued: queued + items.length };
  }

  /**
   * Moves a queued content message to the control queue (true), e.g. when a repair answer asks for it before its
   * turn: it then goes once, in control's slot, rather than twice. False when it is not in the content queue.
   */
  promote(item: T): boolean {
    if (!this.content.remove(item)) return false;
    this.control.push(item);
    return true;
  }

  /**
   * An ephemeral message goes now (true: the caller publishes it; its slot is taken) or is dropped
   * (false), when the epoch has used `ephemeralThreshold` of its slots or content's share is spent.
   */
  sendEphemeral(now: number): boolean {
    this.roll(now);
    const o = this.options;
    if (this.used + 1 > Math.floor(o.messagesPerEpoch * o.ephemeralThreshold)) return false;
    if (this.contentUsed + 1 > o.messagesPerEpoch - o.controlReserve) return false;
    this.used++;
    this.contentUsed++;
    return true;
  }

  /** Everything that may be published at `now`, in order, each with the epoch it is charged to. */
  release(now: number): Released<T>[] {
    this.roll(now);
    const out: Released<T>[] = [];
    const o = this.options;
    while (this.used < o.messagesPerEpoch && this.control.size > 0) {
      out.push({ item: this.control.shift() as T, cls: "control", epoch: this.epoch });
      this.used++;
    }
    const contentCap = o.messagesPerEpoch - o.controlReserve;
    while (this.used < o.messagesPerEpoch && this.contentUsed < contentCap && this.content.size > 0) {
      out.push({ item: this.content.shift() as T, cls: "content", epoch: this.epoch });
      this.used++;
      this.contentUsed++;
    }
    return out;
  }

  /** When `release` next frees something: `now` if it would now, the next epoch's start if full, else undefined. */
  nextRelease(now: number): number | undefined {
    this.roll(now);
    if (this.control.size === 0 && this.content.size === 0) return undefined;
    const o = this.options;
    const room = this.used < o.messagesPerEpoch;
    const contentRoom = room && this.contentUsed < o.messagesPerEpoch - o.controlReserve;
    if ((this.control.size > 0 && room) || (this.content.size > 0 && contentRoom)) return now;
    return (this.epoch + 1) * o.epochMs;
  }

  state(now: number): PacerState {
    this.roll(now);
    return {
      epoch: this.epoch,
      used: this.used,
      limit: this.options.messagesPerEpoch,
      queuedControl: this.control.size,
      queuedContent: this.content.size,
      nextSlotAt: this.nextRelease(now),
    };
  }

  private roll(now: number): void {
    if (!Number.isFinite(now)) throw new RangeError(`now must be a finite time in ms, got ${now}`);
    const epoch = this.epochOf(now);
    if (epoch < this.epoch) {
      throw new RangeError(`time went back: ${now} is in epoch ${epoch}, before the current epoch ${this.epoch}`);
    }
    if (epoch > this.epoch) {
      this.epoch = epoch;
      this.used = 0;
      this.contentUsed = 0;
    }
  }
}
