/** A binary min-heap of timers keyed by time; stale entries are skipped by the caller (lazy deletion). */
export interface TimerEntry {
  readonly at: number;
  readonly kind: TimerKind;
  readonly key: string;
}

export type TimerKind = "request" | "lost" | "response" | "resend" | "sync" | "pending";

export class TimerHeap {
  private readonly items: TimerEntry[] = [];

  get size(): number {
    return this.items.length;
  }

  push(entry: TimerEntry): void {
    const items = this.items;
    items.push(entry);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.at <= entry.at) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = entry;
  }

  peek(): TimerEntry | undefined {
    return this.items[0];
  }

  pop(): TimerEntry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    const n = items.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && items[r]!.at < items[l]!.at ? r : l;
      if (items[c]!.at >= last.at) break;
      items[i] = items[c]!;
      i = c;
    }
    items[i] = last;
    return top;
  }

  /** Rebuilds the heap keeping only entries `keep` accepts; bounds growth from stale entries. */
  compact(keep: (entry: TimerEntry) => boolean): void {
    const live = this.items.filter(keep);
    this.items.length = 0;
    for (const e of live) this.push(e);
  }
}
