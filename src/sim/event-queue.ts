/**
 * The simulator's agenda: a binary min-heap of events ordered by (time, tie key). The tie key is the caller's
 * (`push`'s `tie`) or, by default, the insertion number; either way a run never depends on the heap's internal
 * layout. The world passes a key that names who scheduled the event and how many it had scheduled before, so
 * that the order of simultaneous events does not depend on how members are split across workers (world.ts).
 *
 * A run schedules one event per copy of every publication to every member (tens of millions at a
 * thousand members), so the heap holds its events in parallel typed arrays instead of one object each:
 * an event is a time, two small integers (`kind` and `node`, the caller's to interpret) and an
 * optional payload. `pop` leaves the event it took in the `at`, `kind`, `node` and `payload` fields.
 */
export class EventQueue<P> {
  private times = new Float64Array(1024);
  private seqs = new Float64Array(1024);
  private kinds = new Int32Array(1024);
  private nodes = new Int32Array(1024);
  private payloads: (P | undefined)[] = [];
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

  /** Schedules an event; `tie` orders it among events at the same instant (unique per queue; default: insertion order). */
  push(at: number, kind: number, node: number, payload?: P, tie = this.counter++): void {
    if (this.length === this.times.length) this.grow();
    const seq = tie;
    const times = this.times;
    const seqs = this.seqs;
    let i = this.length++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const t = times[parent]!;
      if (at > t || (at === t && seq > seqs[parent]!)) break;
      this.move(parent, i);
      i = parent;
    }
    times[i] = at;
    seqs[i] = seq;
    this.kinds[i] = kind;
    this.nodes[i] = node;
    this.payloads[i] = payload;
  }

  /** Takes the earliest event into `at`, `kind`, `node` and `payload`; false when there is none. */
  pop(): boolean {
    const n = this.length;
    if (n === 0) return false;
    const times = this.times;
    const seqs = this.seqs;
    this.at = times[0]!;
    this.kind = this.kinds[0]!;
    this.node = this.nodes[0]!;
    this.payload = this.payloads[0];
    const last = n - 1;
    this.length = last;
    if (last === 0) {
      this.payloads[0] = undefined;
      return true;
    }
    // Sift the last event down from the root.
    const at = times[last]!;
    const seq = seqs[last]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      let c = l;
      if (r < last) {
        const tr = times[r]!;
        const tl = times[l]!;
        if (tr < tl || (tr === tl && seqs[r]! < seqs[l]!)) c = r;
      }
      const tc = times[c]!;
      if (at < tc || (at === tc && seq < seqs[c]!)) break;
      this.move(c, i);
      i = c;
    }
    this.move(last, i);
    this.payloads[last] = undefined;
    return true;
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from]!;
    this.seqs[to] = this.seqs[from]!;
    this.kinds[to] = this.kinds[from]!;
    this.nodes[to] = this.nodes[from]!;
    this.payloads[to] = this.payloads[from];
  }

  private grow(): void {
    const size = this.times.length * 2;
    const times = new Float64Array(size);
    times.set(this.times);
    this.times = times;
    const seqs = new Float64Array(size);
    seqs.set(this.seqs);
    this.seqs = seqs;
    const kinds = new Int32Array(size);
    kinds.set(this.kinds);
    this.kinds = kinds;
    const nodes = new Int32Array(size);
    nodes.set(this.nodes);
    this.nodes = nodes;
  }
}
