/**
 * One number per entry of a `BoundedMap` that only ever loses its oldest entries (no deletes), kept by insertion
 * order in a ring of doubles instead of in an object per entry: the map's k-th entry (0 the oldest of `size`) was
 * insertion `count - size + k`. The ring grows as entries come, up to the map's limit, then wraps.
 */
export class InsertionTimes {
  private values = new Float64Array(8);
  /** Insertions so far. */
  private count = 0;

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be an integer >= 1, got ${limit}`);
  }

  /** The value of a new entry, just inserted into the map. */
  push(value: number): void {
    if (this.count < this.limit && this.count >= this.values.length) {
      const grown = new Float64Array(Math.min(this.limit, 2 * this.values.length));
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.count % this.limit] = value;
    this.count++;
  }

  /** The value of the map's k-th entry (0 the oldest) while it holds `size` entries. */
  at(k: number, size: number): number {
    return this.values[this.slot(k, size)]!;
  }

  /** Replaces the value of the map's k-th entry (0 the oldest) while it holds `size` entries. */
  set(k: number, size: number, value: number): void {
    this.values[this.slot(k, size)] = value;
  }

  private slot(k: number, size: number): number {
    if (k < 0 || k >= size || size > Math.min(this.count, this.limit)) {
      throw new RangeError(
        `entry ${k} of ${size} is not among the last ${Math.min(this.count, this.limit)} insertions`,
      );
    }
    return (this.count - size + k) % this.limit;
  }
}
