// A large payload through real engines: one member sends a payload as segments (with or without parity)
// over a lossy topic; every node runs the real `src/core` engine, the content pipeline (reassembly, forgoing
// what a set does not need) and the RLN pacer; the owner node holds everything and answers repairs first.
// Deterministic for a seed. Used by `scripts/measure-segments.ts` and docs/parameters.md.
import {
  ChannelEngine,
  type Identity,
  identityFromSecretKey,
  OWNER_PARAMS,
  resolveParams,
  type SenderId,
  type Step,
} from "../core/index.js";
import { Sfc32 } from "../core/prng.js";
import { RlnPacer } from "../core/rln-pacer.js";
import { ContentPipeline, type Forgo } from "../core/segments/pipeline.js";
import { nativeSigner, nativeVerifier } from "../platform/native-crypto.js";
import { decodeMessage } from "../wire/index.js";
import { EventQueue } from "./event-queue.js";
import { verifyOnce } from "./verify-once.js";

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

const CHANNEL = "sim/segments";
const ARRIVE = 1;
const TICK = 2;
const HELLO = 3;
const PAYLOAD = 4;
/** When the payload is sent, after the hellos. */
const SEND_AT = 60_000;
/** Each link's one-way latency is drawn once in this range; each copy adds up to JITTER_MS. */
const LATENCY_MS = [40, 160] as const;
const JITTER_MS = 5;
/** A node's uplink: a burst of segments leaves one after another at this rate (bytes per ms: 20 Mbit/s). */
const UPLINK_BYTES_PER_MS = 2_500;

interface Node {
  readonly engine: ChannelEngine;
  readonly pipeline: ContentPipeline;
  readonly pacer: RlnPacer<{ bytes: Uint8Array; purpose: string }>;
  readonly perEpoch: Map<number, number>;
  payload: Uint8Array | undefined;
  requests: number;
  firstLost: number;
  /** Data segments this member lost on first publication. */
  lostData: number;
}

/** Runs one send of a `payloadBytes` payload and reports delivery and traffic. */
// long because it is the whole run: build nodes, the send, the event loop and the tally, in order
export function runSegments(o: SegmentRunOptions): SegmentRunResult {
  const rng = new Sfc32(String(o.seed), "segments");
  const keys = rng.fork("keys");
  const verify = verifyOnce(nativeVerifier());
  const count = o.members + 1;
  const ownerIndex = o.members;
  const ids: Identity[] = Array.from({ length: count }, () => identityFromSecretKey(keys.bytes(32)));
  const ownerId = ids[ownerIndex]?.senderId as SenderId;
  const nodes: Node[] = ids.map((identity, i) => {
    const random = rng.fork(`engine/${i}`);
    const owner = i === ownerIndex;
    return {
      engine: new ChannelEngine({
        channelId: CHANNEL,
        identity,
        random: () => random.next(),
        now: 0,
        params: resolveParams(
          owner
            ? OWNER_PARAMS
            : { repairResponseDelayMs: o.memberResponseDelayMs, backupResponders: o.backupResponders },
        ),
        preferredResponders: owner ? [] : [ownerId],
        verifySignature: verify,
        sign: nativeSigner(identity.secretKey),
      }),
      pipeline: new ContentPipeline({ segmentation: { segmentSize: o.segmentSize, parityRate: o.parityRate } }),
      pacer: new RlnPacer(),
      perEpoch: new Map(),
      payload: undefined,
      requests: 0,
      firstLost: 0,
      lostData: 0,
    };
  });
  const queue = new EventQueue<Uint8Array>();
  const net = rng.fork("net");
  const tally = {
    repairAnswers: 0,
    repairAnswerBytes: 0,
    segmentAnswers: 0,
    resends: 0,
    resendBytes: 0,
    bytesPublished: 0,
    first: 0,
  };
  let now = 0;

  /** Index of each of the payload's segment messages, by the engine's bytes (data first, then parity). */
  const segmentOf = new Map<Uint8Array, number>();
  const linkLatency = Array.from(
    { length: count * count },
    () => LATENCY_MS[0] + net.next() * (LATENCY_MS[1] - LATENCY_MS[0]),
  );
  const uplinkFreeAt = new Array<number>(count).fill(0);
  const publish = (from: number, bytes: Uint8Array, purpose: string, segment: number | undefined) => {
    const departs = Math.max(now, uplinkFreeAt[from] as number) + bytes.length / UPLINK_BYTES_PER_MS;
    uplinkFreeAt[from] = departs;
    tally.bytesPublished += bytes.length;
    if (purpose === "repair-response") {
      tally.repairAnswers++;
      tally.repairAnswerBytes += bytes.length;
      if (segment !== undefined) tally.segmentAnswers++;
    }
    if (purpose === "resend") {
      tally.resends++;
      tally.resendBytes += bytes.length;
    }
    for (let to = 0; to < count; to++) {
      if (to === from) continue;
      // The owner is well connected: copies to it arrive; everything else crosses the lossy topic.
      if (to !== ownerIndex && net.next() < o.loss) {
        if (purpose === "content" && segment !== undefined) (nodes[to] as Node).firstLost++;
        if (purpose === "content" && segment !== undefined && segment < dataCount) (nodes[to] as Node).lostData++;
        continue;
      }
      queue.push(departs + (linkLatency[from * count + to] as number) + net.next() * JITTER_MS, ARRIVE, to, bytes);
    }
  };
  const pace = (i: number) => {
    const node = nodes[i] as Node;
    for (const r of node.pacer.release(now)) {
      node.perEpoch.set(r.epoch, (node.perEpoch.get(r.epoch) ?? 0) + 1);
      publish(i, node.pipeline.seal(r.item.bytes), r.item.purpose, segmentOf.get(r.item.bytes));
    }
    const next = node.pacer.nextRelease(now);
    if (next !== undefined && next > now) queue.push(next, TICK, i);
  };
  const advise = (i: number, f: Forgo | undefined) => {
    if (f === undefined) return;
    const engine = (nodes[i] as Node).engine;
    engine.holdRepair(f.sender as SenderId, f.hold, f.until, f.holdIds);
    if (f.sequences.length > 0 || f.ids.length > 0)
      handle(i, engine.forgo(f.sender as SenderId, f.sequences, now, f.ids));
  };
  const handle = (i: number, step: Step, received?: Uint8Array): void => {
    const node = nodes[i] as Node;
    for (const out of step.outgoing) {
      // Requests ride on any control message (a sync too): count what is asked, not the purpose.
      node.requests += out.message.repairRequest.length + out.message.sequenceRepairRequest.length;
      node.pacer.submit(
        [{ bytes: out.bytes, purpose: out.purpose }],
        out.purpose === "content" ? "content" : "control",
        now,
      );
    }
    for (const e of step.events) {
      if (e.type === "accepted" && received !== undefined) {
        const m = decodeMessage(received);
        const history = (m.causalHistory ?? []).map((h) => h.messageId);
        const inbound = node.pipeline.accepted(e.senderId, e.sequence, m.content ?? new Uint8Array(), history, now);
        if (inbound.kind === "payload" && inbound.hash !== undefined) node.payload = inbound.payload;
        if (inbound.kind === "payload" || inbound.kind === "pending") advise(i, inbound.forgo);
      }
      if (e.type === "missing") advise(i, node.pipeline.missing(e.ref, now));
    }
    pace(i);
    const deadline = node.engine.nextDeadline();
    if (deadline !== undefined) queue.push(Math.max(deadline, now), TICK, i);
  };

  const dataCount = Math.ceil(o.payloadBytes / o.segmentSize);
  // Everyone says hello first (so members know each other and the owner, as in a live channel), then
  // member 0 sends the payload at SEND_AT: every segment one engine message, paced together.
  for (let i = 0; i < count; i++) queue.push(net.next() * 5_000, HELLO, i);
  queue.push(SEND_AT, PAYLOAD, 0);
  const payload = Uint8Array.from({ length: o.payloadBytes }, () => rng.next() * 256);
  let contents: readonly Uint8Array[] = [];
  const sendPayload = () => {
    const sender = nodes[0] as Node;
    Object.assign(tally, {
      repairAnswers: 0,
      repairAnswerBytes: 0,
      segmentAnswers: 0,
      resends: 0,
      resendBytes: 0,
      bytesPublished: 0,
    });
    for (const n of nodes) n.requests = 0;
    contents = sender.pipeline.split(payload);
    const batch = contents.map((c, index) => {
      const r = sender.engine.send(c, now);
      segmentOf.set(r.outgoing[0]?.bytes as Uint8Array, index);
      tally.first += r.outgoing[0]?.bytes.length ?? 0;
      return { bytes: r.outgoing[0]?.bytes as Uint8Array, purpose: "content" };
    });
    sender.pacer.submit(batch, "content", now);
    sender.payload = payload;
    pace(0);
  };

  while (queue.pop()) {
    if (queue.at > SEND_AT + o.horizonMs) break;
    now = queue.at;
    const i = queue.node;
    const node = nodes[i] as Node;
    if (queue.kind === ARRIVE) {
      const opened = node.pipeline.open(queue.payload as Uint8Array);
      if (opened !== undefined) handle(i, node.engine.receive(opened, now), opened);
    } else if (queue.kind === HELLO) {
      handle(i, node.engine.send(new TextEncoder().encode(`hello from ${i}`), now));
    } else if (queue.kind === PAYLOAD) {
      sendPayload();
    } else {
      handle(i, node.engine.tick(now));
    }
  }
  const members = nodes.slice(1, ownerIndex);
  const parity = contents.length > 1 ? contents.length - dataCount : 0;
  const same = (p: Uint8Array | undefined) => p !== undefined && Buffer.compare(p, payload) === 0;
  return {
    dataSegments: contents.length - parity,
    paritySegments: parity,
    delivered: members.filter((n) => same(n.payload)).length,
    members: members.length,
    recoveredByParity: members.filter((n) => n.lostData > 0 && n.requests === 0 && same(n.payload)).length,
    noRepair: members.filter((n) => n.requests === 0).length,
    lostSegments: members.reduce((s, n) => s + n.firstLost, 0),
    lostBeyondParity: members.reduce((s, n) => s + Math.max(0, n.firstLost - parity), 0),
    repairAnswers: tally.repairAnswers,
    repairAnswerBytes: tally.repairAnswerBytes,
    segmentAnswers: tally.segmentAnswers,
    resends: tally.resends,
    resendBytes: tally.resendBytes,
    repairRequests: nodes.reduce((sum, n) => sum + n.requests, 0),
    bytesPublished: tally.bytesPublished,
    firstPublicationBytes: tally.first,
    maxPerEpoch: Math.max(...nodes.flatMap((n) => [...n.perEpoch.values()])),
  };
}
