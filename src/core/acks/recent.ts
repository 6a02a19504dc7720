import { addId, addIdBytes, hexIdBytes, type SummaryKey } from "../ack-filter.js";
import type { MessageId, SenderId } from "../ids.js";

const ID_BYTES = 16;
const UNREAD = 0;
const HEX = 1;
const OTHER = 2;

/**
 * The ids a summary's filter draws on: the last `limit` accepted, newest last, each with its sender and sequence
 * (so that a summary skips what its marks cover without look-ups). Every message sent adds up to a few dozen of
 * them to a filter, and one id goes into many filters: a hex id's 16 bytes are read from its text once, the first
 * time a filter needs them, and kept beside it. Parallel arrays in a ring: nothing is allocated per id.
 */
export class RecentIds {
  private readonly ids: (MessageId | undefined)[];
  private readonly senders: (SenderId | undefined)[];
  private readonly sequences: (number | undefined)[];
  private readonly bytes: Uint8Array;
  /** Per slot: UNREAD, HEX (its bytes are in `bytes`) or OTHER (hashed as text). */
  private readonly form: Uint8Array;
  private start = 0;
  private count = 0;

  constructor(readonly limit: number) {
    this.ids = new Array(limit).fill(undefined);
    this.senders = new Array(limit).fill(undefined);
    this.sequences = new Array(limit).fill(undefined);
    this.bytes = new Uint8Array(limit * ID_BYTES);
    this.form = new Uint8Array(limit);
  }

  get size(): number {
    return this.count;
  }

  push(id: MessageId, senderId: SenderId | undefined, sequence: number | undefined): void {
    if (this.limit === 0) return;
    let slot: number;
    if (this.count < this.limit) {
      slot = (this.start + this.count) % this.limit;
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
