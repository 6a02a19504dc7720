// Random draws as inputs of a scenario step (spec section 18.1, Appendix B). A trace written with its draws lists,
// per step, every value the step drew and what each decided; a replay answers each draw with the listed value, so
// delays land at exact times that a wrong parameter or a wrong formula misses. The ack nonce is never listed: it
// comes from the participant's own source, and the comparison leaves it out.
import type { Draw, RandomSource } from "../src/core/index.js";

/** One listed draw: what it decides (`use`, and the missing `ref` or the `messageId` it is for) and its value `u`. */
export type ListedDraw = Record<string, unknown> & { readonly use: string; readonly u: number };

/** What a draw is looked up by: its description without the value, keys in a fixed order. */
export function drawKey(draw: Draw | ListedDraw): string {
  const d = draw as { use: string; ref?: Record<string, unknown>; messageId?: string };
  const ref =
    d.ref === undefined
      ? undefined
      : d.ref.messageId !== undefined
        ? { messageId: d.ref.messageId }
        : { senderId: d.ref.senderId, sequence: d.ref.sequence };
  return JSON.stringify({ use: d.use, ref, messageId: d.messageId });
}

/** Whether a draw is listed in traces (the nonce is not: it is the participant's own). */
const listed = (draw: Draw | undefined): draw is Draw => draw !== undefined && draw.use !== "nonce";

/** The reference's draws while a trace is written: every listed draw of the current step, in order. */
export class DrawRecorder {
  private current: ListedDraw[] = [];

  constructor(private readonly own: () => number) {}

  readonly random: RandomSource = (draw) => {
    const u = this.own();
    if (listed(draw)) this.current.push({ ...(draw as unknown as Record<string, unknown>), use: draw.use, u });
    return u;
  };

  /** The draws since the last call: the step just recorded. */
  take(): ListedDraw[] {
    const out = this.current;
    this.current = [];
    return out;
  }
}

/**
 * A participant's randomness during a replay: its own source, except in a step that lists draws, where each draw
 * takes the next listed value with the same description, and a draw the step does not list is an error.
 */
export class ListedDraws {
  private queues: Map<string, number[]> | undefined;

  constructor(private readonly own: () => number) {}

  /** The draws the next step lists, or undefined: the participant's own source answers. */
  expect(draws: readonly ListedDraw[] | undefined): void {
    if (draws === undefined) {
      this.queues = undefined;
      return;
    }
    this.queues = new Map();
    for (const d of draws) {
      if (typeof d.u !== "number" || !(d.u >= 0 && d.u < 1)) throw new RangeError(`draw ${drawKey(d)}: u ${d.u}`);
      const key = drawKey(d);
      this.queues.set(key, [...(this.queues.get(key) ?? []), d.u]);
    }
  }

  readonly random: RandomSource = (draw) => {
    if (this.queues === undefined || !listed(draw)) return this.own();
    const value = this.queues.get(drawKey(draw))?.shift();
    if (value === undefined) throw new RangeError(`the step draws ${drawKey(draw)}, which the trace does not list`);
    return value;
  };
}
