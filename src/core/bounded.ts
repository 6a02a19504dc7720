/**
 * A Map that holds at most `limit` entries and evicts the oldest insertion first.
 * Re-setting an existing key keeps its place: age is the first insertion.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  /**
   * One iterator over the map from its first eviction on, standing at the oldest entry: a fresh `keys()` per
   * eviction starts at the table's first slot and steps over every hole that evictions left since the last
   * rehash, which cost ~3 µs per eviction at 5,000 entries and ~26 µs at 100,000 (Node 20). A map iterator
   * follows deletes, inserts and rehashes, and every entry it passed was evicted, so the oldest live entry is
   * always ahead of it. It is made at the first eviction, not before: an iterator keeps the tables a growing
   * map outgrew alive until its next step.
   */
  private order: Iterator<K> | undefined;
  constructor(
    readonly limit: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {}

  get size(): number {
    return this.map.size;
  }
  has(key: K): boolean {
    return this.map.has(key);
  }
  get(key: K): V | undefined {
    return this.map.get(key);
  }
  set(key: K, value: V): void {
    this.map.set(key, value);
    while (this.map.size > this.limit) this.evictOldest();
  }
  /** `set`, returning whether `key` is new here (one lookup where `has` then `set` took two). */
  add(key: K, value: V): boolean {
    const before = this.map.size;
    this.map.set(key, value);
    const added = this.map.size > before;
    while (this.map.size > this.limit) this.evictOldest();
    return added;
  }
  private evictOldest(): void {
    this.order ??= this.map.keys();
    let oldest = this.order.next();
    if (oldest.done) {
      // Not reached (eviction never steps past the newest entry, and an ended iterator stays ended): restart.
      this.order = this.map.keys();
      oldest = this.order.next();
      if (oldest.done) return;
    }
    const evicted = this.map.get(oldest.value) as V;
    this.map.delete(oldest.value);
    this.onEvict?.(oldest.value, evicted);
  }
  delete(key: K): boolean {
    return this.map.delete(key);
  }
  keys(): IterableIterator<K> {
    return this.map.keys();
  }
  values(): IterableIterator<V> {
    return this.map.values();
  }
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }
}

/** A ring of the last `limit` values, newest last. */
export class Ring<T> {
  private readonly items: (T | undefined)[];
  private start = 0;
  private count = 0;
  constructor(readonly limit: number) {
    this.items = new Array(limit);
  }
  get size(): number {
    return this.count;
  }
  push(value: T): void {
    if (this.limit === 0) return;
    if (this.count < this.limit) {
      this.items[(this.start + this.count) % this.limit] = value;
      this.count++;
    } else {
      this.items[this.start] = value;
      this.start = (this.start + 1) % this.limit;
    }
  }
  /** The `i`-th newest value (0 is the newest), for `i` < size. */
  newestAt(i: number): T {
    return this.items[(this.start + this.count - 1 - i) % this.limit] as T;
  }
  /** Newest first. */
  *newest(): IterableIterator<T> {
    for (let i = this.count - 1; i >= 0; i--) yield this.items[(this.start + i) % this.limit] as T;
  }
  /** Oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.items[(this.start + i) % this.limit] as T);
    return out;
  }
}
