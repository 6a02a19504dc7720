import type { SenderState } from "../senders.js";
import type { MarkedSenders } from "./marked.js";

/**
 * What the last choice of a summary's filter ids depended on, so that the next summary can tell it would choose the
 * same: the recent ids (`RecentIds.version`), how many ids fit, and the marks that skip ids (each marked sender's
 * state, and its run then). Messages sent in a row with nothing received or given up between them choose the same
 * ids: only their positions change, under each summary's fresh key. A scan over the recent ids costs ~12 ns per id
 * looked at (80 or so per message at the benchmark's 50 senders); comparing this costs a few per mark.
 */
export class FilterChoiceMemo {
  private version = -1;
  private capacity = -1;
  private count = 0;
  private markedCount = 0;
  private readonly states: (SenderState | undefined)[] = [];
  private contiguous = new Float64Array(16);
  private runStart = new Float64Array(16);

  /** How many ids the last choice took, if it was made under these same inputs; -1 otherwise. */
  recall(version: number, capacity: number, marked: MarkedSenders | undefined): number {
    if (version !== this.version || capacity !== this.capacity) return -1;
    const n = marked === undefined ? 0 : marked.size;
    if (n !== this.markedCount) return -1;
    for (let i = 0; i < n; i++) {
      const state = marked!.at(i);
      if (state !== this.states[i] || state.contiguous !== this.contiguous[i] || state.runStart !== this.runStart[i]) {
        return -1;
      }
    }
    return this.count;
  }

  /** Records the inputs of a choice that took `count` ids. */
  remember(version: number, capacity: number, marked: MarkedSenders | undefined, count: number): void {
    const n = marked === undefined ? 0 : marked.size;
    if (n > this.contiguous.length) {
      this.contiguous = new Float64Array(2 * n);
      this.runStart = new Float64Array(2 * n);
    }
    for (let i = 0; i < n; i++) {
      const state = marked!.at(i);
      this.states[i] = state;
      this.contiguous[i] = state.contiguous;
      this.runStart[i] = state.runStart;
    }
    // Past the marks in use: no state kept alive (cleared in place: a shorter `length` drops the backing store).
    for (let i = n; i < this.states.length; i++) this.states[i] = undefined;
    this.markedCount = n;
    this.version = version;
    this.capacity = capacity;
    this.count = count;
  }
}
