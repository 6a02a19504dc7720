/**
 * The simulator's agenda: a binary min-heap of events ordered by (time, tie key). The tie key is the caller's
 * (`push`'s `tie`) or, by default, the insertion number; either way a run never depends on the heap's internal
 * layout. The world passes a key that names who scheduled the event and how many it had scheduled before, so
 * that the order of simultaneous events does not depend on how members are split across workers (world.ts).
 *
 * A run schedules one event per copy of every publication to every member (tens of millions at a
 * thousand members), so the heap holds its events in typed arrays instead of one object each: an event is a
 * time, two small integers (`kind` and `node`, the caller's to interpret) and an optional payload. The heap
 * itself orders (time, tie, slot) triples; kind, node and payload stay in their slot from push to pop, so a step
 * of a sift moves three numbers and no reference (a reference moved is a write barrier each time). `pop` leaves
 * the event it took in the `at`, `kind`, `node` and `payload` fields.
 */
export class EventQueue<P> {
  // The heap, by position.
  private times = new Float64Array(1024);
  private seqs = new Float64Array(1024);
  private slots = new Int32Array(1024);
  // The events, by slot.
  private kinds = new Int32Array(1024);
  private nodes = new Int32Array(1024);
  private payloads: (P | undefined)[] = [];
  /** Slots free for reuse, a stack: `free[0..freeCount)`; slots at or beyond `length + freeCount` were never used. */
  private free = new Int32Array(1024);
  private freeCount = 0;
  private length = 0;
  private counter = 0;

  /** The event `pop` took last. */
  at = Number.NaN;
  kind = 0;
  node = 0;
  payload: P | undefined = undefined;

  get size(): number {
    return this.length;
  }

  /** When the earliest event is due (NaN when there is none). */
  get peekAt(): number {
    return this.length === 0 ? Number.NaN : this.times[0]!;
  }

  /** Whether an event is due before `end` (a boolean, where `peekAt` would box a number when not inlined). */
  dueBefore(end: number): boolean {
    return this.length > 0 && this.times[0]! < end;
  }

  /**
   * Schedules an event; `tie` orders it among events at the same instant (unique per queue; default: insertion
   * order). Returns the event's slot, for `rekind` while it is pending.
   */
  push(at: number, kind: number, node: number, payload?: P, tie = this.counter++): number {
    if (this.length === this.times.length) this.grow();
    const slot = this.freeCount > 0 ? this.free[--this.freeCount]! : this.length;
    this.kinds[slot] = kind;
    this.nodes[slot] = node;
    this.payloads[slot] = payload;
    const seq = tie;
    const times = this.times;
    const seqs = this.seqs;
    const slots = this.slots;
    let i = this.length++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const t = times[parent]!;
      if (at > t || (at === t && seq > seqs[parent]!)) break;
      times[i] = t;
      seqs[i] = seqs[parent]!;
      slots[i] = slots[parent]!;
      i = parent;
    }
    times[i] = at;
    seqs[i] = seq;
    slots[i] = slot;
    return slot;
  }

  /**
   * Changes the kind of the event in `slot` from `kind` to `to` if it is still pending with `payload` (a slot is
   * reused once its event is taken, so the caller names what it expects there); true when it was. The event keeps
   * its place: only what it does when it falls due changes.
   */
  rekind(slot: number, kind: number, payload: P, to: number): boolean {
    if (this.kinds[slot] !== kind || this.payloads[slot] !== payload) return false;
    this.kinds[slot] = to;
    return true;
  }

  /** Takes the earliest event into `at`, `kind`, `node` and `payload`; false when there is none. */
  pop(): boolean {
    const n = this.length;
    if (n === 0) return false;
    const times = this.times;
    const seqs = this.seqs;
    const slots = this.slots;
    const top = slots[0]!;
    this.at = times[0]!;
    this.kind = this.kinds[top]!;
    this.node = this.nodes[top]!;
    this.payload = this.payloads[top];
    this.payloads[top] = undefined;
    this.free[this.freeCount++] = top;
    const last = n - 1;
    this.length = last;
    if (last === 0) return true;
    // Sift the last event down from the root.
    const at = times[last]!;
    const seq = seqs[last]!;
    const slot = slots[last]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      let c = l;
      let tc = times[l]!;
      if (r < last) {
        const tr = times[r]!;
        if (tr < tc || (tr === tc && seqs[r]! < seqs[l]!)) {
          c = r;
          tc = tr;
        }
      }
      if (at < tc || (at === tc && seq < seqs[c]!)) break;
      times[i] = tc;
      seqs[i] = seqs[c]!;
      slots[i] = slots[c]!;
      i = c;
    }
    times[i] = at;
    seqs[i] = seq;
    slots[i] = slot;
    return true;
  }

  private grow(): void {
    const size = this.times.length * 2;
    this.times = grown(this.times, new Float64Array(size));
    this.seqs = grown(this.seqs, new Float64Array(size));
    this.slots = grown(this.slots, new Int32Array(size));
    this.kinds = grown(this.kinds, new Int32Array(size));
    this.nodes = grown(this.nodes, new Int32Array(size));
    this.free = grown(this.free, new Int32Array(size));
  }
}

function grown<T extends Float64Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
