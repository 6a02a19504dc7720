/** Rolling window the engine's budgets are counted in (Waku's RLN epochs are about as long). */
export const WINDOW_MS = 600_000;

/** Sends counted over the last WINDOW_MS: a budget of so many messages per 10 minutes. */
export class RateWindow {
  private sent: number[];

  constructor(sent: readonly number[] = []) {
    this.sent = [...sent];
  }

  /** Counts a send at `now` if fewer than `budget` happened in the window; false when spent. */
  take(budget: number, now: number): boolean {
    if (this.count(now) >= budget) return false;
    this.sent.push(now);
    return true;
  }

  /** Sends within the window that ends at `now`. */
  count(now: number): number {
    // Same arithmetic as `reopensAt`, so that a retry at exactly that time finds room.
    while (this.sent.length > 0 && this.sent[0]! + WINDOW_MS <= now) this.sent.shift();
    return this.sent.length;
  }

  /** When the oldest counted send leaves the window (`now` when none is counted). */
  reopensAt(now: number): number {
    return (this.sent[0] ?? now) + WINDOW_MS;
  }

  toJSON(): number[] {
    return [...this.sent];
  }
}
