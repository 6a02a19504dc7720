import {
  ChannelEngine,
  createSigner,
  createVerifier,
  type EngineEvent,
  identityFromSecretKey,
  type Outgoing,
} from "../core/index.js";
import { openRoster, signRoster } from "../core/owner/roster.js";
import { seededRandom } from "../core/prng.js";

export interface DemoOptions {
  readonly seed: number;
  readonly loss: number;
  readonly messages: number;
  readonly out: (line: string) => void;
}

interface InFlight {
  readonly at: number;
  readonly to: number;
  readonly bytes: Uint8Array;
}

/**
 * Three members on a bus that drops each copy with probability `loss`, in virtual time.
 * Prints what each member sees, so that a new user watches gaps being detected, repaired and acknowledged.
 */
export function runDemo(options: DemoOptions): void {
  // A seeded stream, so that a demo run can be replayed.
  const random = seededRandom(options.seed);
  const names = ["alice", "bob", "carol"];
  const engines = names.map((_, i) => demoEngine(i, random));
  giveRoster(engines);
  const nameOf = new Map(engines.map((e, i) => [e.senderId as string, names[i]!]));
  const inFlight: InFlight[] = [];
  let dropped = 0;
  const clock = (t: number) => `${(t / 1000).toFixed(1).padStart(6)}s`;
  const say = (t: number, who: number, text: string) => options.out(`${clock(t)}  ${names[who]!.padEnd(6)} ${text}`);

  const publish = (from: number, outgoing: readonly Outgoing[], now: number) => {
    for (const o of outgoing) {
      if (o.purpose !== "content") say(now, from, `publishes a ${o.purpose} (${o.bytes.length} bytes)`);
      for (let to = 0; to < engines.length; to++) {
        if (to === from) continue;
        if (random() < options.loss) {
          dropped++;
          continue;
        }
        inFlight.push({ at: now + 40 + Math.floor(random() * 120), to, bytes: o.bytes });
      }
    }
  };
  const report = (who: number, events: readonly EngineEvent[], now: number) => {
    for (const e of events) {
      const line = describe(e, (id) => nameOf.get(id) ?? id.slice(0, 8), engines[who]!);
      if (line !== undefined) say(now, who, line);
    }
  };

  options.out(`chorus demo: 3 members, ${Math.round(options.loss * 100)} % of copies lost, seed ${options.seed}`);
  const sent: { who: number; id: string; text: string }[] = [];
  let now = 0;
  const sendAt = Array.from({ length: options.messages }, (_, i) => 1_000 + i * 2_500);
  const end = (sendAt.at(-1) ?? 0) + 180_000;
  let next = 0;
  while (now <= end) {
    // Advance to the next thing that happens: a send, an arrival, or an engine timer.
    let t = end + 1;
    if (next < sendAt.length) t = Math.min(t, sendAt[next]!);
    for (const f of inFlight) t = Math.min(t, f.at);
    for (const e of engines) t = Math.min(t, e.nextDeadline() ?? Number.POSITIVE_INFINITY);
    if (t > end) break;
    now = t;
    if (next < sendAt.length && sendAt[next] === now) {
      const who = next % engines.length;
      const text = `message ${next + 1} from ${names[who]}`;
      const result = engines[who]!.send(new TextEncoder().encode(text), now);
      say(now, who, `sends  "${text}"`);
      sent.push({ who, id: result.messageId, text });
      publish(who, result.outgoing, now);
      next++;
    }
    for (let i = inFlight.length - 1; i >= 0; i--) {
      const f = inFlight[i]!;
      if (f.at > now) continue;
      inFlight.splice(i, 1);
      const step = engines[f.to]!.receive(f.bytes, now);
      report(f.to, step.events, now);
      publish(f.to, step.outgoing, now);
    }
    engines.forEach((engine, i) => {
      const step = engine.tick(now);
      report(i, step.events, now);
      publish(i, step.outgoing, now);
    });
  }

  options.out("");
  options.out(`copies dropped by the bus: ${dropped}`);
  summarize(engines, sent, options.out);
}

/** Member `i` of the demo: a fixed key, and timers short enough to watch. */
function demoEngine(i: number, random: () => number): ChannelEngine {
  return new ChannelEngine({
    channelId: "demo-channel",
    identity: identityFromSecretKey(new Uint8Array(32).fill(i + 1)),
    random,
    now: 0,
    params: { syncIntervalMs: 20_000, resendAfterMs: 10_000, controlBudgetPer600s: 30 },
  });
}

/**
 * The channel's member list, signed by the community's owner key (the demo runs no owner node): every member
 * counts "delivered to k of N" against it, N = the other two, from the first receipt on.
 */
function giveRoster(engines: readonly ChannelEngine[]): void {
  const owner = identityFromSecretKey(new Uint8Array(32).fill(9));
  const channelId = engines[0]!.channelId;
  const bytes = signRoster(
    { channelId, version: 1, members: engines.map((e) => e.senderId), owner: owner.senderId },
    createSigner(owner.secretKey),
  );
  const roster = openRoster(bytes, channelId, owner.senderId, createVerifier());
  for (const e of engines) e.owner.setRoster(roster);
}

/** What each message's sender knows of its receipts, and whether every log came out the same. */
function summarize(
  engines: readonly ChannelEngine[],
  sent: readonly { who: number; id: string; text: string }[],
  out: (line: string) => void,
): void {
  for (const s of sent) {
    const status = engines[s.who]!.status(s.id);
    const receipts = status?.own ? `${status.receipts.count} of ${status.receipts.members}` : "?";
    out(`  "${s.text}": delivered to ${receipts} other members (${status?.state})`);
  }
  const logs = engines.map((e) =>
    e
      .deliveredLog()
      .map((m) => m.messageId)
      .join(","),
  );
  out(logs.every((l) => l === logs[0]) ? "all three logs are identical" : "LOGS DIFFER");
}

const decoder = new TextDecoder();

/** One line of narration for an event a member saw, or undefined for events the demo does not narrate. */
function describe(e: EngineEvent, name: (senderId: string) => string, engine: ChannelEngine): string | undefined {
  switch (e.type) {
    case "delivered":
      return e.message.own
        ? undefined
        : `got    "${decoder.decode(e.message.content)}" from ${name(e.message.senderId)}`;
    case "missing": {
      const ref = e.ref.sequence !== undefined ? `${name(e.ref.senderId ?? "")} #${e.ref.sequence}` : e.ref.messageId;
      return `MISSING ${ref} (noticed through ${e.source})`;
    }
    case "repaired":
      return `repaired ${name(e.senderId)} #${e.sequence} after ${(e.afterMs / 1000).toFixed(1)}s`;
    case "lost":
      return `gave up on ${e.ref.messageId ?? `${name(e.ref.senderId ?? "")} #${e.ref.sequence}`}`;
    case "acknowledged": {
      const status = engine.status(e.messageId);
      return `receipt: ${name(e.by)} has my #${status?.own ? status.sequence : "?"} (${e.count} of ${e.members})`;
    }
    default:
      return undefined;
  }
}
