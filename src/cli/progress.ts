import cliProgress from "cli-progress";

/** Where the output of a progress bar goes: a terminal (stderr unless a test gives another). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): boolean;
}

export interface ProgressOptions {
  readonly quiet?: boolean;
  readonly stream?: ProgressStream;
  /** The bar appears only once the work has lasted this long (default 2 s). */
  readonly delayMs?: number;
}

/**
 * A progress bar on stderr, only when stderr is a terminal and only once the work has lasted a couple of
 * seconds: short runs and piped output stay clean, and stdout (the JSON) is never touched. It shows the
 * share done, the time left (cli-progress's estimate from the recent pace) and a line the caller writes.
 */
export class Progress {
  private bar: cliProgress.SingleBar | undefined;
  private readonly started = performance.now();
  private readonly enabled: boolean;
  private readonly stream: ProgressStream;
  private readonly delayMs: number;

  constructor(
    private readonly total: number,
    options: ProgressOptions = {},
  ) {
    this.stream = options.stream ?? process.stderr;
    this.delayMs = options.delayMs ?? 2_000;
    this.enabled = options.quiet !== true && this.stream.isTTY === true;
  }

  /** Milliseconds since the bar was created (for rates the caller shows). */
  get elapsedMs(): number {
    return performance.now() - this.started;
  }

  update(done: number, label = ""): void {
    if (!this.enabled) return;
    if (this.bar === undefined) {
      if (this.elapsedMs < this.delayMs) return;
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.stream as NodeJS.WritableStream,
          format: " {bar} {percentage}% | ETA {eta_formatted} | {label}",
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 50,
          barsize: 24,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(this.total, 0, { label });
    }
    this.bar.update(Math.min(done, this.total), { label });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

const count = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** "312 of 1,000 messages × 1,000 members | 52,300 events/s": where a simulation run stands. */
export function runProgressLabel(
  at: { readonly sent: number; readonly messages: number; readonly members: number; readonly events: number },
  elapsedMs: number,
): string {
  const rate = elapsedMs > 0 ? (at.events * 1000) / elapsedMs : 0;
  return `${count.format(at.sent)} of ${count.format(at.messages)} messages × ${count.format(at.members)} members | ${count.format(rate)} events/s`;
}
