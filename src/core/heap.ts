/**
 * A binary min-heap of timers keyed by time; stale entries are skipped by the caller (lazy deletion).
 * Timers due at the same time pop in the order they were pushed, so that an engine restored from a
 * snapshot (which re-pushes its timers in the order it holds them) fires them as the original would.
 */
export interface TimerEntry {
  readonly at: number;
  readonly kind: TimerKind;
  readonly key: string;
}

export type TimerKind = "request" | "lost" | "response" | "resend" | "sync" | "pending";

interface Slot {
  readonly entry: TimerEntry;
  readonly order: number;
}

function before(a: Slot, b: Slot): boolean {
  return a.entry.at < b.entry.at || (a.entry.at === b.entry.at && a.order < b.order);
}

export class TimerHeap {
  private readonly items: Slot[] = [];
  private pushed = 0;

  get size(): number {
    return this.items.length;
  }

  push(entry: TimerEntry): void {
    this.insert({ entry, order: this.pushed++ });
  }

  private insert(slot: Slot): void {
    const items = this.items;
    items.push(slot);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(slot, items[parent]!)) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = slot;
  }

  peek(): TimerEntry | undefined {
    return this.items[0]?.entry;
  }

  pop(): TimerEntry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top?.entry;
    let i = 0;
    const n = items.length;
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
    return top.entry;
  }

  /** Rebuilds the heap keeping only entries `keep` accepts; bounds growth from stale entries. */
  compact(keep: (entry: TimerEntry) => boolean): void {
    const live = this.items.filter((slot) => keep(slot.entry));
    this.items.length = 0;
    for (const slot of live) this.insert(slot);
  }
}
