// "Delivered to k of N" for a segmented payload: the engine keeps receipts per message (per segment); a
// member holds the payload once it holds as many distinct segments of the set as the set has data
// segments, since any that many reconstruct it (section 19.7). Fed by the engine's `acknowledged` events.
// Bounded: the oldest tracked set is forgotten first.

export interface SetProgress {
  readonly set: string;
  /** Members that hold the payload (confirmed at least `dataCount` distinct segments). */
  readonly holders: number;
  /** True when this confirmation made `member` a holder. */
  readonly newHolder: boolean;
}

interface TrackedSet {
  readonly dataCount: number;
  readonly segmentIds: readonly string[];
  /** Per member: the segment indexes it confirmed. */
  readonly confirmed: Map<string, Set<number>>;
  readonly holders: Set<string>;
}

export class SetReceipts {
  private readonly sets = new Map<string, TrackedSet>();
  /** Segment message id → (set, index). */
  private readonly segments = new Map<string, { set: string; index: number }>();

  constructor(private readonly maxSets = 1_024) {
    if (!Number.isSafeInteger(maxSets) || maxSets < 1)
      throw new RangeError(`maxSets must be a positive integer, got ${maxSets}`);
  }

  /** Starts tracking a set we sent: its segments' message ids in order (data, then parity). */
  track(set: string, segmentIds: readonly string[], dataCount: number): void {
    if (!Number.isSafeInteger(dataCount) || dataCount < 1 || dataCount > segmentIds.length) {
      throw new RangeError(`dataCount must be in 1..${segmentIds.length} (the set's segments), got ${dataCount}`);
    }
    if (this.sets.has(set)) return;
    this.sets.set(set, { dataCount, segmentIds: [...segmentIds], confirmed: new Map(), holders: new Set() });
    for (const [index, id] of segmentIds.entries()) this.segments.set(id, { set, index });
    if (this.sets.size > this.maxSets) {
      const [oldest, gone] = this.sets.entries().next().value as [string, TrackedSet];
      this.sets.delete(oldest);
      for (const id of gone.segmentIds) if (this.segments.get(id)?.set === oldest) this.segments.delete(id);
    }
  }

  /** `member` was learnt to hold our message `messageId`; the set's progress when it is a tracked segment. */
  confirm(messageId: string, member: string): SetProgress | undefined {
    const ref = this.segments.get(messageId);
    if (ref === undefined) return undefined;
    const set = this.sets.get(ref.set) as TrackedSet;
    let held = set.confirmed.get(member);
    if (held === undefined) {
      held = new Set();
      set.confirmed.set(member, held);
    }
    held.add(ref.index);
    const newHolder = held.size >= set.dataCount && !set.holders.has(member);
    if (newHolder) set.holders.add(member);
    return { set: ref.set, holders: set.holders.size, newHolder };
  }

  /** Members holding the payload of `set`, or undefined when it is not tracked. */
  holders(set: string): readonly string[] | undefined {
    const s = this.sets.get(set);
    return s === undefined ? undefined : [...s.holders];
  }
}
