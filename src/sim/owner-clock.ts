/** Owner calls per window: the CPU clock is read twice a window instead of twice a call. */
const WINDOW_CALLS = 256;

/**
 * The CPU time of the owner's calls in the simulator, where they are interleaved with every member's work in one
 * thread. Reading the process's CPU clock (getrusage) around each call cost about 5 µs a read on a loaded machine,
 * as much as a small call, and was a sixth of a 1,000-member run. Instead each call is timed on the monotonic wall
 * clock (a fraction of a microsecond), and every `WINDOW_CALLS` calls the wall time of the window's calls is
 * converted to CPU time at the share of CPU the process got over that window (CPU time / wall time, GC threads
 * included, as the per-call clock included them): when the machine is shared, a call that lost the CPU midway is
 * not billed for the wait. `extraUs` is work billed without being run (signature-ledger.ts).
 */
export class OwnerClock {
  private settledUs = 0;
  private windowWallMs = 0;
  private windowCalls = 0;
  private windowCpu: NodeJS.CpuUsage | undefined;
  private windowStart = 0;

  /** A call starts: returns its start, for `stop`. */
  start(): number {
    if (this.windowCpu === undefined) {
      this.windowCpu = process.cpuUsage();
      this.windowStart = performance.now();
    }
    return performance.now();
  }

  /** The call that started at `started` is over. */
  stop(started: number, extraUs: number): void {
    this.windowWallMs += performance.now() - started;
    this.settledUs += extraUs;
    if (++this.windowCalls >= WINDOW_CALLS) this.settle();
  }

  /** CPU µs of every call so far. */
  get cpuUs(): number {
    this.settle();
    return this.settledUs;
  }

  private settle(): void {
    if (this.windowCpu === undefined) return;
    const used = process.cpuUsage(this.windowCpu);
    const wallMs = performance.now() - this.windowStart;
    const share = wallMs > 0 ? (used.user + used.system) / (wallMs * 1000) : 1;
    this.settledUs += this.windowWallMs * 1000 * share;
    this.windowCpu = undefined;
    this.windowWallMs = 0;
    this.windowCalls = 0;
  }
}
