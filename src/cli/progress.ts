import cliProgress from "cli-progress";

/**
 * A progress bar on stderr, only when stderr is a terminal and only once the work has lasted a
 * couple of seconds: short runs and piped output stay clean, and stdout (the JSON) is never touched.
 */
export class Progress {
  private bar: cliProgress.SingleBar | undefined;
  private readonly started = performance.now();
  private readonly enabled: boolean;

  constructor(
    private readonly total: number,
    quiet: boolean,
  ) {
    this.enabled = !quiet && process.stderr.isTTY === true;
  }

  update(done: number, label = ""): void {
    if (!this.enabled) return;
    if (this.bar === undefined) {
      if (performance.now() - this.started < 2_000) return;
      this.bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: " {bar} {percentage}% | {label}",
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 50,
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
