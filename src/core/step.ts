import type { EngineEvent, Outgoing, Step } from "./types.js";

/** Collects what one engine call publishes and reports; every part appends to the same builder. */
export class StepBuilder {
  readonly outgoing: Outgoing[] = [];
  readonly events: EngineEvent[] = [];
  result(): Step {
    return { outgoing: this.outgoing, events: this.events };
  }
}
