// A large payload through real engines: one member sends a payload as segments (with or without parity)
// over a lossy topic; every node runs the real engine, the content pipeline and the RLN pacer
// (pipeline-world.ts); the owner holds everything. With the owner path, members fetch what they miss beyond
// the parity from the owner over their direct link, one unicast answer per segment they need; without it, or
// for what the owner lacks, repair goes over the topic, the owner answering first. Deterministic for a seed.
//
// Repair traffic, as reported: every copy of one of the payload's segments sent because a member lacked it,
// over the topic (repair answers, the sender's resends) or unicast (the owner's fetch answers), counted in
// messages and in their encoded bytes. Requests are control traffic, counted apart (`repairRequests`).
// Used by `scripts/measure-segments.ts` for docs/parameters.md.
import { keccak_256 } from "@noble/hashes/sha3.js";
import { CALLER, PipelineWorld } from "./pipeline-world.js";

export interface SegmentRunOptions {
  readonly members: number;
  readonly payloadBytes: number;
  readonly segmentSize: number;
  readonly parityRate: number;
  /** Probability that one copy of a publication to one member is lost (the owner's links are lossless). */
  readonly loss: number;
  readonly seed: number;
  /**
   * Members' `repairResponseDelayMs`: a 100 KB answer takes tens of ms to leave a node, so members wait
   * longer than for chat before answering, and the owner (which answers at once) is heard first.
   */
  readonly memberResponseDelayMs: number;
  /**
   * Members' `backupResponders`: holders standing by in case the owner's answer is lost. Each backup that
   * misses the owner's answer sends the segment again, so large segments want few.
   */
  readonly backupResponders: number;
  /** How long the run goes on after the payload is sent. */
  readonly horizonMs: number;
  /** Members fetch what they miss from the owner over a direct path (default false: the topic only). */
  readonly ownerPath?: boolean;
}

/** One receiver's share: what it lost, what it needed beyond the parity, and the repair it got. */
export interface MemberRepair {
  /** Segment copies lost on first publication. */
  readonly lost: number;
  /** max(0, lost − parity segments): what no parity could make good. */
  readonly lostBeyondParity: number;
  /** Segments the owner sent it over the direct path. */
  readonly fetched: number;
  /** Refs it asked for, on the topic or of the owner. */
  readonly requests: number;
}

export interface SegmentRunResult {
  readonly dataSegments: number;
  readonly paritySegments: number;
  /** Members (not the sender, not the owner) that reassembled the payload, of all of them. */
  readonly delivered: number;
  readonly members: number;
  /** Members that lost data segments and rebuilt them from parity without asking for anything. */
  readonly recoveredByParity: number;
  /** Members that sent no repair request at all. */
  readonly noRepair: number;
  /** Segment copies lost on first publication, summed over members. */
  readonly lostSegments: number;
  /** Σ over members of max(0, segments lost on first publication − parity segments). */
  readonly lostBeyondParity: number;
  /** Repair answers published (each carries one segment), and their bytes. */
  readonly repairAnswers: number;
  readonly repairAnswerBytes: number;
  /** Of those, answers that carried one of the payload's segments. */
  readonly segmentAnswers: number;
  /** Segments the owner sent members over direct paths (fetch answers), and their bytes. */
  readonly fetchedSegments: number;
  readonly fetchedBytes: number;
  /**
   * Repair traffic: segment copies sent because a member lacked them (topic segment answers, the sender's
   * segment resends, unicast fetch answers), and their bytes. The target: at most `lostBeyondParity`.
   */
  readonly repairSegments: number;
  readonly repairSegmentBytes: number;
  /** Per receiver (not the sender, not the owner), in node order. */
  readonly perMember: readonly MemberRepair[];
  /** The sender's own resends of segments nobody was heard to hold, and their bytes. */
  readonly resends: number;
  readonly resendBytes: number;
  /** Message ids and sequence ranges asked for, by every node. */
  readonly repairRequests: number;
  /** Every byte every node published, and the payload's own segments' first publication. */
  readonly bytesPublished: number;
  readonly firstPublicationBytes: number;
  /** Most messages one node published in one RLN epoch. */
  readonly maxPerEpoch: number;
}

const HELLO = CALLER;
const PAYLOAD = CALLER + 1;
/** When the payload is sent, after the hellos (whose repairs are over by then). */
const SEND_AT = 60_000;

/** Runs one send of a `payloadBytes` payload and reports delivery and traffic. */
export function runSegments(o: SegmentRunOptions): SegmentRunResult {
  const world = new PipelineWorld({
    members: o.members,
    seed: o.seed,
    loss: o.loss,
    memberParams: { repairResponseDelayMs: o.memberResponseDelayMs, backupResponders: o.backupResponders },
    pipeline: { segmentation: { segmentSize: o.segmentSize, parityRate: o.parityRate } },
    memberPacer: {},
    ownerPacer: {},
    ownerPath: o.ownerPath ?? false,
  });
  const dataCount = Math.ceil(o.payloadBytes / o.segmentSize);
  const tally = { ...ZERO, first: 0 };
  const fetched = new Array<number>(world.nodes.length).fill(0);
  const firstLost = new Array<number>(world.nodes.length).fill(0);
  const lostData = new Array<number>(world.nodes.length).fill(0);
  /** Index of each of the payload's segment messages, by the engine's bytes (data first, then parity). */
  const segmentOf = new Map<Uint8Array, number>();
  world.hook = {
    published(_from, bytes, purpose) {
      tally.bytes += bytes.length;
      if (purpose === "repair-response") {
        tally.answers++;
        tally.answerBytes += bytes.length;
        if (segmentOf.has(bytes)) tally.segmentAnswers++;
      }
      if (purpose === "resend") {
        tally.resends++;
        tally.resendBytes += bytes.length;
      }
      if ((purpose === "repair-response" || purpose === "resend") && segmentOf.has(bytes)) {
        tally.repairSegments++;
        tally.repairSegmentBytes += bytes.length;
      }
    },
    fetched(to, bytes) {
      if (!segmentOf.has(bytes)) return;
      fetched[to] = (fetched[to] ?? 0) + 1;
      tally.fetchedSegments++;
      tally.fetchedBytes += bytes.length;
      tally.repairSegments++;
      tally.repairSegmentBytes += bytes.length;
    },
    lost(_from, to, bytes, purpose) {
      const segment = segmentOf.get(bytes);
      if (purpose !== "content" || segment === undefined) return;
      firstLost[to] = (firstLost[to] ?? 0) + 1;
      if (segment < dataCount) lostData[to] = (lostData[to] ?? 0) + 1;
    },
  };
  // Everyone says hello first (so members know each other and the owner, as in a live channel), then
  // member 0 sends the payload.
  for (let i = 0; i < world.nodes.length; i++) world.queue.push(world.rng.next() * 5_000, HELLO, i);
  world.queue.push(SEND_AT, PAYLOAD, 0);
  const payload = Uint8Array.from({ length: o.payloadBytes }, () => world.rng.next() * 256);
  let segments = 0;
  world.run(SEND_AT + o.horizonMs, (kind, i) => {
    if (kind === HELLO) {
      world.send(i, new TextEncoder().encode(`hello from ${i}`));
      return;
    }
    Object.assign(tally, ZERO);
    fetched.fill(0);
    for (const n of world.nodes) n.requests = 0;
    world.send(0, payload, (bytes, index) => {
      segmentOf.set(bytes, index);
      tally.first += bytes.length;
      segments = index + 1;
    });
  });
  return tallyResult(world, payload, { dataCount, segments, firstLost, lostData, fetched, tally });
}

/** The counters that start from zero when the payload is sent. */
const ZERO = {
  answers: 0,
  answerBytes: 0,
  segmentAnswers: 0,
  resends: 0,
  resendBytes: 0,
  bytes: 0,
  fetchedSegments: 0,
  fetchedBytes: 0,
  repairSegments: 0,
  repairSegmentBytes: 0,
};

interface Tally {
  readonly dataCount: number;
  readonly segments: number;
  readonly firstLost: readonly number[];
  readonly lostData: readonly number[];
  readonly fetched: readonly number[];
  readonly tally: Record<keyof typeof ZERO | "first", number>;
}

function tallyResult(world: PipelineWorld, payload: Uint8Array, t: Tally): SegmentRunResult {
  const hash = Buffer.from(keccak_256(payload)).toString("hex");
  const parity = t.segments - t.dataCount;
  const members = world.nodes.map((n, i) => ({ n, i })).slice(1, world.ownerIndex);
  const got = (i: number) => {
    const p = world.nodes[i]?.payloads.get(hash);
    return p !== undefined && Buffer.compare(p, payload) === 0;
  };
  const lost = (i: number) => t.firstLost[i] ?? 0;
  return {
    dataSegments: t.dataCount,
    paritySegments: parity,
    delivered: members.filter(({ i }) => got(i)).length,
    members: members.length,
    recoveredByParity: members.filter(({ n, i }) => (t.lostData[i] ?? 0) > 0 && n.requests === 0 && got(i)).length,
    noRepair: members.filter(({ n }) => n.requests === 0).length,
    lostSegments: members.reduce((s, { i }) => s + lost(i), 0),
    lostBeyondParity: members.reduce((s, { i }) => s + Math.max(0, lost(i) - parity), 0),
    repairAnswers: t.tally.answers,
    repairAnswerBytes: t.tally.answerBytes,
    segmentAnswers: t.tally.segmentAnswers,
    fetchedSegments: t.tally.fetchedSegments,
    fetchedBytes: t.tally.fetchedBytes,
    repairSegments: t.tally.repairSegments,
    repairSegmentBytes: t.tally.repairSegmentBytes,
    perMember: members.map(({ n, i }) => ({
      lost: lost(i),
      lostBeyondParity: Math.max(0, lost(i) - parity),
      fetched: t.fetched[i] ?? 0,
      requests: n.requests,
    })),
    resends: t.tally.resends,
    resendBytes: t.tally.resendBytes,
    repairRequests: world.nodes.reduce((sum, n) => sum + n.requests, 0),
    bytesPublished: t.tally.bytes,
    firstPublicationBytes: t.tally.first,
    maxPerEpoch: Math.max(...world.nodes.flatMap((n) => [...n.perEpoch.values()])),
  };
}
