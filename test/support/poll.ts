// Waiting in tests that run on real time: a bounded poll, never a fixed sleep, that says what it waited
// for when it gives up.

export interface PollOptions<T> {
  /** Give up after this many milliseconds. Default 5,000. */
  readonly timeoutMs?: number;
  /** Pause between two probes. Default 10 ms. */
  readonly intervalMs?: number;
  /** Whether a value is the one waited for. Default: any value but undefined and false. */
  readonly accept?: (value: T) => boolean;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls `probe` until its value is accepted and resolves with that value. A probe that throws is tried
 * again (a node that is restarting refuses connections for a moment); after `timeoutMs` it rejects,
 * naming `what` and the last value or error.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => T | Promise<T>,
  options: PollOptions<T> = {},
): Promise<Exclude<T, undefined | false>> {
  const { timeoutMs = 5_000, intervalMs = 10, accept = (v: T) => v !== undefined && v !== false } = options;
  const deadline = Date.now() + timeoutMs;
  let last: { readonly value: T } | { readonly error: unknown } | undefined;
  for (;;) {
    try {
      const value = await probe();
      if (accept(value)) return value as Exclude<T, undefined | false>;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() > deadline) {
      let detail = "";
      if (last !== undefined && "error" in last) detail = `; last error: ${String(last.error)}`;
      else if (last !== undefined && last.value !== undefined && last.value !== false) {
        detail = `; last value: ${JSON.stringify(last.value)}`;
      }
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(intervalMs);
  }
}
