import { addId, addIdBytes, hexIdBytes, type SummaryKey } from "../ack-filter.js";
import type { MessageId, SenderId } from "../ids.js";

const ID_BYTES = 16;
const UNREAD = 0;
const HEX = 1;
const OTHER = 2;
/** Slots made up front; the arrays double from there as ids come in. */
const INITIAL_SLOTS = 16;

/**
 * The ids a summary's filter draws on: the last `limit` accepted, newest last, each with its sender and sequence
 * (so that a summary skips what its marks cover without look-ups). Every message sent adds up to a few dozen of
 * them to a filter, and one id goes into many filters: a hex id's 16 bytes are read from its text once, the first
 * time a filter needs them, and kept beside it. Parallel arrays in a ring: nothing is allocated per id.
 *
 * The arrays start small and double up to `limit` as ids come in, since a simulation holds thousands of engines
 * and most channels never fill the bound. Until they reach it nothing is overwritten, so the ring starts at slot 0
 * and growing keeps every id in its slot.
 */
export class RecentIds {
  private ids: (MessageId | undefined)[];
  private senders: (SenderId | undefined)[];
  private sequences: (number | undefined)[];
  private bytes: Uint8Array;
  /** Per slot: UNREAD, HEX (its bytes are in `bytes`) or OTHER (hashed as text). */
  private form: Uint8Array;
  /** Slots the arrays hold now: at most `limit`. */
  private capacity: number;
  private start = 0;
  private count = 0;
  private pushes = 0;

  constructor(readonly limit: number) {
    this.capacity = Math.min(limit, INITIAL_SLOTS);
    this.ids = new Array(this.capacity).fill(undefined);
    this.senders = new Array(this.capacity).fill(undefined);
    this.sequences = new Array(this.capacity).fill(undefined);
    this.bytes = new Uint8Array(this.capacity * ID_BYTES);
    this.form = new Uint8Array(this.capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Changes whenever the ids held change (a count of pushes). */
  get version(): number {
    return this.pushes;
  }

  push(id: MessageId, senderId: SenderId | undefined, sequence: number | undefined): void {
    if (this.limit === 0) return;
    this.pushes++;
    let slot: number;
    if (this.count < this.limit) {
      if (this.count === this.capacity) this.grow();
      slot = this.count;
      this.count++;
    } else {
      slot = this.start;
      this.start = (this.start + 1) % this.limit;
    }
    this.ids[slot] = id;
    this.senders[slot] = senderId;
    this.sequences[slot] = sequence;
    this.form[slot] = UNREAD;
  }

  /** The slot of the `i`-th newest id (0 is the newest), for `i` < size. */
  slotOf(i: number): number {
    return (this.start + this.count - 1 - i) % this.limit;
  }

  /** Full arrays below `limit`: twice the slots (the ring has not wrapped, so slots keep their indices). */
  private grow(): void {
    const capacity = Math.min(this.limit, this.capacity * 2);
    // New arrays of the exact size: pushing would leave V8's growth slack in every member's arrays.
    this.ids = grown(this.ids, capacity);
    this.senders = grown(this.senders, capacity);
    this.sequences = grown(this.sequences, capacity);
    const bytes = new Uint8Array(capacity * ID_BYTES);
    bytes.set(this.bytes);
    this.bytes = bytes;
    const form = new Uint8Array(capacity);
    form.set(this.form);
    this.form = form;
    this.capacity = capacity;
  }

  senderAt(slot: number): SenderId | undefined {
    return this.senders[slot];
  }

  sequenceAt(slot: number): number | undefined {
    return this.sequences[slot];
  }

  /** Adds the id in `slot` to a filter being built under `key`. */
  addTo(slot: number, key: SummaryKey, filter: Uint8Array, hashCount: number): void {
    let form = this.form[slot]!;
    if (form === UNREAD) {
      form = hexIdBytes(this.ids[slot]!, this.bytes, slot * ID_BYTES) ? HEX : OTHER;
      this.form[slot] = form;
    }
    if (form === HEX) addIdBytes(key, filter, hashCount, this.bytes, slot * ID_BYTES);
    else addId(key, filter, hashCount, this.ids[slot]!);
  }

  /** Oldest first. */
  toArray(): MessageId[] {
    const out: MessageId[] = [];
    for (let i = this.count - 1; i >= 0; i--) out.push(this.ids[this.slotOf(i)]!);
    return out;
  }
}

/** `items` copied into a new array of `capacity` slots, the rest undefined. */
function grown<T>(items: readonly (T | undefined)[], capacity: number): (T | undefined)[] {
  const out: (T | undefined)[] = new Array(capacity).fill(undefined);
  for (let i = 0; i < items.length; i++) out[i] = items[i];
  return out;
}
