// Nodes that run what an app channel runs: the real engine, the content pipeline (segmentation,
// reassembly on accept, holding and forgoing set gaps) and the RLN pacer in front of the topic. A seeded,
// lossy broadcast with per-link latency and a per-node uplink (a burst of 100 KB segments leaves one after
// another); the owner node is well connected (copies to it arrive). Used by segments.ts and rln-soak.ts.
import {
  ChannelEngine,
  type Identity,
  OWNER_PARAMS,
  type Params,
  resolveParams,
  type SenderId,
  type Step,
} from "../core/index.js";
import { Sfc32 } from "../core/prng.js";
import { RlnPacer, type RlnPacerOptions } from "../core/rln-pacer.js";
import { ContentPipeline, type Forgo, type PipelineOptions } from "../core/segments/pipeline.js";
import { nativeIdentity, nativeSigner, nativeVerifier } from "../platform/native-crypto.js";
import { decodeMessage } from "../wire/index.js";
import { EventQueue } from "./event-queue.js";
import { type PathHost, PipelineOwnerPath } from "./pipeline-owner.js";
import { verifyOnce } from "./verify-once.js";

export interface WorldOptions {
  /** Nodes besides the owner (the owner is the last node). */
  readonly members: number;
  readonly seed: number;
  /** Probability that one copy of a publication to one member is lost. */
  readonly loss: number;
  readonly memberParams: Partial<Params>;
  readonly pipeline: PipelineOptions;
  readonly memberPacer: Partial<RlnPacerOptions>;
  readonly ownerPacer: Partial<RlnPacerOptions>;
  /** Members reach the owner over a direct path (pipeline-owner.ts): receipts and gap fill go over it. */
  readonly ownerPath?: boolean;
}

export interface WorldNode {
  readonly engine: ChannelEngine;
  readonly pipeline: ContentPipeline;
  readonly pacer: RlnPacer<{ bytes: Uint8Array; purpose: string }>;
  /** Messages published per RLN epoch. */
  readonly perEpoch: Map<number, number>;
  /** Payloads delivered to the app: segmented ones by hash (hex), whole ones counted. */
  readonly payloads: Map<string, Uint8Array>;
  wholePayloads: number;
  requests: number;
}

export interface PublishHook {
  /** A copy to `to` of a publication was lost. */
  lost?(from: number, to: number, bytes: Uint8Array, purpose: string): void;
  published?(from: number, bytes: Uint8Array, purpose: string): void;
  /** The owner answered a fetch of `to` with a message (its engine bytes), over the direct path. */
  fetched?(to: number, bytes: Uint8Array): void;
}

const ARRIVE = 1;
const TICK = 2;
/** A step of the owner path (`later`): the event's node is the key of its callback. */
const PATH = 3;
/** Caller events (a send) start here. */
export const CALLER = 10;
/** Each link's one-way latency is drawn once in this range; each copy adds up to JITTER_MS. */
const LATENCY_MS = [40, 160] as const;
const JITTER_MS = 5;
/** A node's uplink: 20 Mbit/s, in bytes per ms. */
const UPLINK_BYTES_PER_MS = 2_500;
const CHANNEL = "sim/pipeline";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

export class PipelineWorld {
  readonly nodes: WorldNode[];
  readonly ownerIndex: number;
  readonly queue = new EventQueue<Uint8Array>();
  readonly rng: Sfc32;
  now = 0;
  hook: PublishHook = {};
  private readonly net: Sfc32;
  private readonly linkLatency: number[];
  private readonly uplinkFreeAt: number[];
  private readonly ownerPath: PipelineOwnerPath | undefined;
  private readonly callbacks = new Map<number, () => void>();
  private nextCallback = 0;

  constructor(private readonly o: WorldOptions) {
    this.rng = new Sfc32(String(o.seed), "pipeline-world");
    const keys = this.rng.fork("keys");
    const count = o.members + 1;
    this.ownerIndex = o.members;
    const verify = verifyOnce(nativeVerifier());
    const ids: Identity[] = Array.from({ length: count }, () => nativeIdentity(keys.bytes(32)));
    const ownerId = ids[this.ownerIndex]?.senderId as SenderId;
    this.nodes = ids.map((identity, i) => {
      const random = this.rng.fork(`engine/${i}`);
      const owner = i === this.ownerIndex;
      return {
        engine: new ChannelEngine({
          channelId: CHANNEL,
          identity,
          random: () => random.next(),
          now: 0,
          params: resolveParams(owner ? OWNER_PARAMS : o.memberParams),
          preferredResponders: owner ? [] : [ownerId],
          verifySignature: verify,
          sign: nativeSigner(identity.secretKey),
        }),
        pipeline: new ContentPipeline({ ...o.pipeline, channelId: CHANNEL }),
        pacer: new RlnPacer(owner ? o.ownerPacer : o.memberPacer),
        perEpoch: new Map(),
        payloads: new Map(),
        wholePayloads: 0,
        requests: 0,
      };
    });
    this.net = this.rng.fork("net");
    this.linkLatency = Array.from(
      { length: count * count },
      () => LATENCY_MS[0] + this.net.next() * (LATENCY_MS[1] - LATENCY_MS[0]),
    );
    this.uplinkFreeAt = new Array<number>(count).fill(0);
    const ownerSecret = ids[this.ownerIndex]?.secretKey as Uint8Array;
    const world = this;
    const host: PathHost = {
      get now() {
        return world.now;
      },
      ownerIndex: this.ownerIndex,
      engine: (i) => (this.nodes[i] as WorldNode).engine,
      later: (at, fn) => {
        const key = this.nextCallback++;
        this.callbacks.set(key, fn);
        this.queue.push(at, PATH, key);
      },
      unicastDelay: (from, to, bytes) => (this.linkLatency[from * count + to] as number) + bytes / UPLINK_BYTES_PER_MS,
      handle: (i, step, received) => this.handle(i, step, received),
      fetched: (to, bytes) => this.hook.fetched?.(to, bytes),
      asked: (i, refs) => {
        (this.nodes[i] as WorldNode).requests += refs;
      },
    };
    this.ownerPath = o.ownerPath
      ? new PipelineOwnerPath(
          host,
          CHANNEL,
          ids.map((id) => id.senderId),
          ownerSecret,
        )
      : undefined;
  }

  /**
   * Node `i` sends a payload now: split, one engine message per part, paced together. `sent` sees each
   * part's engine bytes before any is published.
   */
  send(i: number, payload: Uint8Array, sent: (bytes: Uint8Array, index: number) => void = () => undefined): void {
    const node = this.nodes[i] as WorldNode;
    const batch = node.pipeline.split(payload).map((content, index) => {
      const bytes = node.engine.send(content, this.now).outgoing[0]?.bytes as Uint8Array;
      sent(bytes, index);
      return { bytes, purpose: "content" };
    });
    node.pacer.submit(batch, "content", this.now);
    this.pace(i);
  }

  /** Runs events until `until`; caller events (kind >= CALLER) go to `onEvent`. */
  run(until: number, onEvent: (kind: number, node: number) => void = () => undefined): void {
    const q = this.queue;
    while (q.size > 0) {
      if (!q.pop()) break;
      if (q.at > until) {
        q.push(q.at, q.kind, q.node, q.payload);
        break;
      }
      this.now = q.at;
      const node = this.nodes[q.node] as WorldNode;
      if (q.kind === ARRIVE) {
        const opened = node.pipeline.open(q.payload as Uint8Array);
        if (opened !== undefined) this.handle(q.node, node.engine.receive(opened, this.now), opened);
      } else if (q.kind === TICK) {
        this.handle(q.node, node.engine.tick(this.now));
      } else if (q.kind === PATH) {
        const fn = this.callbacks.get(q.node);
        this.callbacks.delete(q.node);
        fn?.();
      } else {
        onEvent(q.kind, q.node);
      }
    }
    this.now = Math.max(this.now, until);
  }

  private publish(from: number, bytes: Uint8Array, purpose: string): void {
    const departs = Math.max(this.now, this.uplinkFreeAt[from] as number) + bytes.length / UPLINK_BYTES_PER_MS;
    this.uplinkFreeAt[from] = departs;
    this.hook.published?.(from, bytes, purpose);
    const count = this.nodes.length;
    for (let to = 0; to < count; to++) {
      if (to === from) continue;
      if (to !== this.ownerIndex && this.net.next() < this.o.loss) {
        this.hook.lost?.(from, to, bytes, purpose);
        continue;
      }
      const at = departs + (this.linkLatency[from * count + to] as number) + this.net.next() * JITTER_MS;
      this.queue.push(at, ARRIVE, to, bytes);
    }
  }

  private pace(i: number): void {
    const node = this.nodes[i] as WorldNode;
    for (const r of node.pacer.release(this.now)) {
      node.perEpoch.set(r.epoch, (node.perEpoch.get(r.epoch) ?? 0) + 1);
      this.publish(i, node.pipeline.seal(r.item.bytes), r.item.purpose);
    }
    const next = node.pacer.nextRelease(this.now);
    if (next !== undefined && next > this.now) this.queue.push(next, TICK, i);
  }

  private advise(i: number, f: Forgo | undefined): void {
    if (f === undefined) return;
    const engine = (this.nodes[i] as WorldNode).engine;
    engine.holdRepair(f.sender as SenderId, f.hold, f.until, f.holdIds);
    if (f.sequences.length > 0 || f.ids.length > 0) {
      this.handle(i, engine.forgo(f.sender as SenderId, f.sequences, this.now, f.ids));
    }
  }

  private handle(i: number, step: Step, received?: Uint8Array): void {
    const node = this.nodes[i] as WorldNode;
    for (const out of step.outgoing) {
      // Requests ride on any control message (a sync too): count what is asked, not the purpose.
      node.requests += out.message.repairRequest.length + out.message.sequenceRepairRequest.length;
      const cls = out.purpose === "content" ? "content" : "control";
      node.pacer.submit([{ bytes: out.bytes, purpose: out.purpose }], cls, this.now);
    }
    for (const e of step.events) {
      if (e.type === "accepted" && received !== undefined) {
        const m = decodeMessage(received);
        const history = m.causalHistory.map((h) => h.messageId);
        const content = m.content ?? new Uint8Array();
        const inbound = node.pipeline.accepted(e.senderId, e.sequence, content, history, this.now, m.lamportTimestamp);
        if (inbound.kind === "payload" && inbound.hash !== undefined)
          node.payloads.set(hex(inbound.hash), inbound.payload);
        else if (inbound.kind === "payload") node.wholePayloads++;
        if (inbound.kind === "payload" || inbound.kind === "pending") this.advise(i, inbound.forgo);
      }
      if (e.type === "missing") this.advise(i, node.pipeline.missing(e.ref, this.now));
    }
    this.pace(i);
    this.ownerPath?.afterStep(i, step, received);
    const deadline = node.engine.nextDeadline();
    if (deadline !== undefined) this.queue.push(Math.max(deadline, this.now), TICK, i);
  }
}
