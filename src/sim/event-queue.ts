/**
 * The simulator's agenda: a binary min-heap of events ordered by (time, insertion number). Ties in
 * time are broken by insertion order, so a run never depends on the heap's internal layout.
 */
export interface Scheduled {
  readonly at: number;
  /** Set by the queue; orders events scheduled for the same instant. */
  seq: number;
}

export class EventQueue<E extends Scheduled> {
  private readonly items: E[] = [];
  private counter = 0;

  get size(): number {
    return this.items.length;
  }

  push(event: E): void {
    event.seq = this.counter++;
    const items = this.items;
    items.push(event);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(event, items[parent]!)) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = event;
  }

  peek(): E | undefined {
    return this.items[0];
  }

  pop(): E | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    const n = items.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(items[r]!, items[l]!) ? r : l;
      if (!before(items[c]!, last)) break;
      items[i] = items[c]!;
      i = c;
    }
    items[i] = last;
    return top;
  }
}

function before(x: Scheduled, y: Scheduled): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}
