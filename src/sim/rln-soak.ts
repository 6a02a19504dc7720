// A day of a channel under RLN (pipeline-world.ts): members chat at a steady rate and now and then burst
// (a flood of chat lines larger than an epoch's share, or a large payload sent as segments); every message
// a node publishes (chat, segments, syncs, repair requests and answers) passes its RLN pacer. At the end,
// after a quiet hour, every member must hold everything every other member sent, and no node may have
// published more than its limit in any epoch.
import { CALLER, PipelineWorld } from "./pipeline-world.js";

export interface RlnSoakOptions {
  readonly members: number;
  readonly hours: number;
  readonly seed: number;
  readonly loss: number;
  /** RLN messages per 10-minute epoch for members, and for the owner node (a higher membership tier). */
  readonly memberLimit: number;
  readonly ownerLimit: number;
  /** Mean minutes between one member's chat lines. */
  readonly chatEveryMinutes: number;
  /** Bursts per member per day: half floods of `burstMessages` chat lines, half one `burstPayloadBytes` payload. */
  readonly burstsPerDay: number;
  readonly burstMessages: number;
  readonly burstPayloadBytes: number;
}

export interface RlnSoakResult {
  readonly chatSent: number;
  readonly payloadsSent: number;
  /** Deliveries that happened over deliveries owed (every member, every other member's message). */
  readonly delivery: number;
  readonly maxMemberPerEpoch: number;
  readonly maxOwnerPerEpoch: number;
  /** Epochs in which some node went over its limit (must be 0). */
  readonly epochsOverLimit: number;
  /** Most messages waiting in one node's pacer at any send. */
  readonly maxQueued: number;
  readonly published: number;
}

const CHAT = CALLER;
const FLOOD = CALLER + 1;
const PAYLOAD = CALLER + 2;
const EPOCH_MS = 600_000;

/** Runs the soak; deterministic for a seed. */
export function runRlnSoak(o: RlnSoakOptions): RlnSoakResult {
  const world = new PipelineWorld({
    members: o.members,
    seed: o.seed,
    loss: o.loss,
    memberParams: { repairResponseDelayMs: 1_000, backupResponders: 1 },
    pipeline: { segmentation: { segmentSize: 102_400 } },
    memberPacer: { messagesPerEpoch: o.memberLimit, epochMs: EPOCH_MS, controlReserve: Math.ceil(o.memberLimit / 10) },
    ownerPacer: { messagesPerEpoch: o.ownerLimit, epochMs: EPOCH_MS, controlReserve: Math.ceil(o.ownerLimit / 10) },
  });
  const rng = world.rng.fork("traffic");
  const sendingEnds = (o.hours - 1) * 3_600_000;
  const sentBy = new Array<number>(world.nodes.length).fill(0);
  const payloadsBy = new Array<number>(world.nodes.length).fill(0);
  let chatSent = 0;
  let payloadsSent = 0;
  let published = 0;
  let maxQueued = 0;
  world.hook = { published: () => void published++ };
  for (let i = 0; i < o.members; i++) {
    for (
      let t = rng.exponential(o.chatEveryMinutes * 60_000);
      t < sendingEnds;
      t += rng.exponential(o.chatEveryMinutes * 60_000)
    ) {
      world.queue.push(t, CHAT, i);
    }
    const bursts = Math.round((o.burstsPerDay * o.hours) / 24);
    for (let b = 0; b < bursts; b++) world.queue.push(rng.next() * sendingEnds, b % 2 === 0 ? FLOOD : PAYLOAD, i);
  }
  world.run(o.hours * 3_600_000, (kind, i) => {
    const lines = kind === FLOOD ? o.burstMessages : 1;
    if (kind === PAYLOAD) {
      world.send(
        i,
        Uint8Array.from({ length: o.burstPayloadBytes }, () => rng.next() * 256),
      );
      payloadsSent++;
      payloadsBy[i] = (payloadsBy[i] ?? 0) + 1;
    } else {
      for (let n = 0; n < lines; n++) world.send(i, new TextEncoder().encode(`line ${chatSent + n} from ${i}`));
      chatSent += lines;
    }
    sentBy[i] = (sentBy[i] ?? 0) + (kind === PAYLOAD ? 0 : lines);
    const state = world.nodes[i]?.pacer.state(world.now);
    if (state !== undefined) maxQueued = Math.max(maxQueued, state.queuedContent + state.queuedControl);
  });
  // Every node (the owner too) owes every other member's lines and payloads, and never its own.
  const totalChat = sentBy.reduce((a, b) => a + b, 0);
  let owed = 0;
  let got = 0;
  world.nodes.forEach((node, i) => {
    owed += totalChat - (sentBy[i] ?? 0) + payloadsSent - (payloadsBy[i] ?? 0);
    got += node.wholePayloads + node.payloads.size;
  });
  const perEpoch = (i: number) => [...(world.nodes[i]?.perEpoch.values() ?? [])];
  const limits = world.nodes.map((_, i) => (i === world.ownerIndex ? o.ownerLimit : o.memberLimit));
  const epochsOverLimit = world.nodes.reduce(
    (n, _, i) => n + perEpoch(i).filter((c) => c > (limits[i] as number)).length,
    0,
  );
  return {
    chatSent,
    payloadsSent,
    delivery: got / owed,
    maxMemberPerEpoch: Math.max(0, ...world.nodes.slice(0, o.members).flatMap((_, i) => perEpoch(i))),
    maxOwnerPerEpoch: Math.max(0, ...perEpoch(world.ownerIndex)),
    epochsOverLimit,
    maxQueued,
    published,
  };
}
