import {
  ChannelEngine,
  type Identity,
  type MessageRef,
  type OutgoingPurpose,
  OWNER_PARAMS,
  resolveParams,
  type SenderId,
  type SignatureVerifier,
  type Step,
} from "../core/index.js";
import { openRoster, type RosterIndex, signRoster } from "../core/owner/roster.js";
import type { Sfc32 } from "../core/prng.js";
import { nativeIdentity, nativeSigner, nativeVerifier } from "../platform/native-crypto.js";
import { decodeMessage, type WireMessage } from "../wire/index.js";
import { type Decoded, DecodedCache } from "./decoded-cache.js";
import type { Purpose } from "./metrics.js";
import { OwnerClient, type PathContext, registerClientTimers } from "./owner-client.js";
import { type FetchAnswer, type NewsAnswer, OwnerHost, type RangeAnswer } from "./owner-host.js";
import { DirectPath, type OwnerPathParts, type OwnerRequest, type Ticket } from "./owner-path.js";
import { type Scenario, SIM_PARAMS } from "./scenario.js";
import { calibrateVerification, SignatureLedger } from "./signature-ledger.js";
import { StringPool } from "./string-pool.js";
import { verifyOnce } from "./verify-once.js";
import type { Protocol, Publication, SimMember, World } from "./world.js";

export const CHANNEL_ID = "sim/chorus";

/** The note that tells other shards of a content message a member sent. */
const REGISTRY = "chorus/message";

interface SentMessage {
  readonly x: number;
  readonly id: string;
  readonly node: number;
  readonly seq: number;
}

/** The owner's receipts at the end: of message x, the nodes at nodes[offsets[x]..offsets[x + 1]). */
interface OwnerReceipts {
  readonly offsets: Int32Array;
  readonly nodes: Int32Array;
}

/** Stored messages cross shards as their bytes only. */
function packStored<T extends FetchAnswer | RangeAnswer>(answer: T): T {
  return {
    ...answer,
    found: answer.found.map((m) => ({ bytes: m.bytes, decoded: undefined as unknown as WireMessage })),
  };
}

/** News crosses to another worker as its bytes only: the member decodes them there (owner-client.ts, `applyNews`). */
function packNews(answer: NewsAnswer): NewsAnswer {
  return { bytes: answer.bytes, news: undefined };
}

/**
 * Content messages whose decoding is kept (decoded-cache.ts), for a re-publication of the same bytes (a resend, a
 * repair answer) and for copies of them from another worker. Other publications (sync, repair requests) are encoded
 * afresh each time: nothing to keep.
 */
const DECODED_KEPT = 4_096;

const PURPOSE: Record<OutgoingPurpose, Purpose | undefined> = {
  content: "content",
  resend: "resend",
  sync: "sync",
  "repair-request": "repair-request",
  "repair-response": "repair-response",
  // Publications of every version of an equivocation: the simulator's senders never equivocate.
  equivocation: "repair-response",
  ephemeral: undefined,
};

/** The real `src/core` engine in every node; the owner is one more member with a large repair cache. */
export class ChorusProtocol implements Protocol {
  readonly name = "chorus";
  private readonly engines: (ChannelEngine | undefined)[] = [];
  private readonly senderIds: SenderId[] = [];
  private readonly nodeOf = new Map<string, number>();
  private readonly identities: Identity[] = [];
  private readonly messageIndex = new Map<string, number>();
  private readonly messageIds: string[] = [];
  /** Per node: content index of its sequence number n at [n - 1]. */
  private readonly bySequence: number[][] = [];
  private readonly decodedCache = new DecodedCache(DECODED_KEPT);
  private readonly strings = new StringPool();
  /** Signatures the members make, so that checking one of them needs no ed25519 arithmetic (signature-ledger.ts). */
  private readonly ledger: SignatureLedger;
  private readonly verify: SignatureVerifier;
  private readonly memberParams;
  private readonly ownerParams;
  /** With the owner path: the channel's signed roster (every node), the path model, the owner's side, the members' sides. */
  private readonly roster: RosterIndex | undefined;
  private path: DirectPath | undefined;
  private host: OwnerHost | undefined;
  private readonly clients: (OwnerClient | undefined)[] = [];

  constructor(
    private readonly scenario: Scenario,
    rng: Sfc32,
  ) {
    const count = scenario.members + (scenario.owner ? 1 : 0);
    const keys = rng.fork("keys");
    for (let i = 0; i < count; i++) {
      const identity = nativeIdentity(keys.bytes(32));
      this.identities.push(identity);
      this.senderIds.push(identity.senderId);
      this.nodeOf.set(identity.senderId, i);
      this.bySequence.push([]);
      this.engines.push(undefined);
    }
    // The owner's timed calls charge each signature they check at the measured cost of a verification.
    this.ledger = new SignatureLedger(
      scenario.owner && scenario.ownerPath ? calibrateVerification(nativeVerifier()) : 0,
    );
    for (const [i, identity] of this.identities.entries()) this.ledger.learn(this.senderIds[i]!, identity.secretKey);
    this.verify = verifyOnce(this.ledger.verifier(nativeVerifier()));
    this.memberParams = resolveParams({ ...SIM_PARAMS, ...scenario.params });
    this.ownerParams = resolveParams({ ...SIM_PARAMS, ...OWNER_PARAMS, ...scenario.params, ...scenario.ownerParams });
    if (scenario.owner && scenario.ownerPath) {
      const owner = this.identities[scenario.members]!;
      const bytes = signRoster(
        { channelId: CHANNEL_ID, version: 1, members: this.senderIds, owner: owner.senderId },
        nativeSigner(owner.secretKey),
      );
      this.roster = openRoster(bytes, CHANNEL_ID, owner.senderId, nativeVerifier());
    }
  }

  describe(): Record<string, unknown> {
    return { engine: { ...this.memberParams }, owner_engine: this.scenario.owner ? { ...this.ownerParams } : null };
  }

  engine(node: number): ChannelEngine | undefined {
    return this.engines[node];
  }

  createMember(world: World, node: number, now: number): SimMember {
    const owner = node === world.ownerIndex;
    const random = world.rng.fork(`engine/${node}`);
    const engine = new ChannelEngine({
      channelId: CHANNEL_ID,
      identity: this.identities[node]!,
      random: () => random.next(),
      now,
      params: owner ? this.ownerParams : this.memberParams,
      preferredResponders: world.ownerIndex === undefined ? [] : [this.senderIds[world.ownerIndex]!],
      verifySignature: this.verify,
      sign: this.ledger.signer(this.identities[node]!.secretKey, this.senderIds[node]!),
    });
    this.engines[node] = engine;
    const member: SimMember = {
      send: (x, content, at) => {
        const result = engine.send(content, at);
        // x = -1: a warm-up message, which no metric counts.
        if (x >= 0) {
          const sent: SentMessage = { x, id: result.messageId, node, seq: result.sequence! };
          this.register(sent);
          world.note(REGISTRY, sent);
        }
        this.handle(world, node, result, at);
        const client = this.clients[node];
        const out = result.outgoing.find((o) => o.kind === "content");
        if (client !== undefined && out !== undefined) client.push(out.bytes, x);
      },
      receive: (pub, at) => {
        if (this.clients[node]?.hold(pub) === true) return;
        const decoded = pub.decoded as WireMessage;
        this.handle(world, node, engine.receive(pub.bytes, at, decoded), at, pub.bytes, decoded);
      },
      tick: (at) => this.handle(world, node, engine.tick(at), at),
      nextDeadline: () => engine.nextDeadline(),
    };
    if (this.roster === undefined) return member;
    engine.owner.setRoster(this.roster);
    if (owner) {
      const host = new OwnerHost(
        world,
        node,
        engine,
        this.roster,
        this.senderIds,
        this.nodeOf,
        this.ledger,
        this.path!,
      );
      this.host = host;
      return { ...member, online: () => host.restart() };
    }
    const client = new OwnerClient(this.pathContext(world), node, engine, this.senderIds[node]!, now);
    this.clients[node] = client;
    if (world.nodes[node]!.online) client.connect(now);
    return { ...member, online: (at) => client.connect(at) };
  }

  /**
   * The world this protocol runs in, before anything happens: the registry of messages other shards send, and
   * with the owner path, the path itself (its requests and answers may come from other shards).
   */
  attach(world: World): void {
    world.onNote(REGISTRY, (data) => this.register(data as SentMessage));
    if (this.roster === undefined) return;
    registerClientTimers(world, (node) => this.clients[node]);
    this.path = new DirectPath(
      world,
      world.ownerIndex!,
      (node, request, ticket) => this.serve(world, node, request, ticket),
      {
        pack: (kind, answer) =>
          kind === "fetch" || kind === "range"
            ? packStored(answer as FetchAnswer | RangeAnswer)
            : kind === "report" || kind === "poll" || kind === "watch"
              ? packNews(answer as NewsAnswer)
              : answer,
        unpack: (kind, packed) =>
          kind === "fetch" || kind === "range" ? this.unpackStored(packed as FetchAnswer | RangeAnswer) : packed,
      },
    );
  }

  /** A content message one of the members sent: its index, by id and by (sender, sequence number). */
  private register(m: SentMessage): void {
    this.messageIndex.set(m.id, m.x);
    this.messageIds[m.x] = m.id;
    this.bySequence[m.node]![m.seq - 1] = m.x;
  }

  /** The decoding of bytes that came from another shard: the value their sender handed over (a function of the bytes). */
  decode(bytes: Uint8Array): WireMessage {
    return this.shared(bytes).decoded;
  }

  /**
   * The kept decoding of `bytes` (of an equal copy, with that copy's buffer) or a new one, kept if it is a content
   * message: a copy from another shard is decoded once per shard, not once per member it reaches.
   */
  private shared(bytes: Uint8Array): Decoded {
    const kept = this.decodedCache.find(bytes);
    if (kept !== undefined) return kept;
    const decoded = this.strings.internMessage(decodeMessage(bytes));
    if (decoded.content !== undefined) this.decodedCache.keep(bytes, decoded);
    return { bytes, decoded };
  }

  /** Stored messages that crossed from another shard as bytes: decoded once per shard (`shared`). */
  private unpackStored<T extends FetchAnswer | RangeAnswer>(answer: T): T {
    return { ...answer, found: answer.found.map((m) => this.shared(m.bytes)) };
  }

  /** The owner's side of a request: a push goes to its engine, everything else to its service (owner-host.ts). */
  private serve(world: World, node: number, request: OwnerRequest, ticket: Ticket): void {
    if (request.kind !== "push") {
      this.host!.serve(node, request, ticket);
      return;
    }
    const owner = world.ownerIndex!;
    if (request.x >= 0) world.recorder.arrived(owner, request.x, world.now);
    const decoded = this.decode(request.bytes);
    const step = this.engines[owner]!.receive(request.bytes, world.now, decoded, { requested: true });
    this.handle(world, owner, step, world.now, request.bytes, decoded);
    this.path!.reply(ticket, 1, true);
  }

  /** What members' clients need from the protocol: the path, steps run through `handle`, message indices. */
  private pathContext(world: World): PathContext {
    return {
      world,
      path: this.path!,
      handle: (node, step, now) => this.handle(world, node, step, now),
      indexOf: (id) => this.messageIndex.get(id) ?? -1,
    };
  }

  private refIndex(ref: MessageRef): number | undefined {
    if (ref.messageId !== undefined) {
      const x = this.messageIndex.get(ref.messageId);
      if (x !== undefined) return x;
    }
    if (ref.senderId !== undefined && ref.sequence !== undefined) {
      const node = this.nodeOf.get(ref.senderId);
      if (node !== undefined) return this.bySequence[node]![ref.sequence - 1];
    }
    return undefined;
  }

  private handle(
    world: World,
    node: number,
    step: Step,
    now: number,
    received?: Uint8Array,
    receivedDecoded?: WireMessage,
  ): void {
    const rec = world.recorder;
    let missing = false;
    for (const e of step.events) {
      switch (e.type) {
        case "delivered": {
          if (e.message.own) break;
          const x = this.messageIndex.get(e.message.messageId);
          if (x !== undefined) rec.delivered(node, x, now);
          break;
        }
        case "missing": {
          missing = true;
          const x = this.refIndex(e.ref);
          if (x !== undefined) rec.missing(node, x, now);
          break;
        }
        case "lost": {
          const x = this.refIndex(e.ref);
          if (x !== undefined) rec.lost(node, x, now);
          break;
        }
        case "acknowledged": {
          const x = this.messageIndex.get(e.messageId);
          const by = this.nodeOf.get(e.by);
          if (x !== undefined && by !== undefined) rec.acknowledged(x, by, now);
          break;
        }
        case "rejected":
          rec.reject(e.code);
          break;
        default:
          break;
      }
    }
    for (const out of step.outgoing) {
      const purpose = PURPOSE[out.purpose];
      if (purpose === undefined) continue;
      let decoded = this.decodedCache.ofBuffer(out.bytes);
      if (decoded === undefined) {
        decoded = this.strings.internMessage(out.message);
        if (out.kind === "content") this.decodedCache.keep(out.bytes, decoded);
      }
      const x = out.kind === "content" ? (this.messageIndex.get(out.messageId) ?? -1) : -1;
      world.publish(node, {
        bytes: out.bytes,
        purpose,
        contentBytes: decoded.content?.length ?? 0,
        x,
        decoded,
      } satisfies Omit<Publication, "from">);
    }
    if (node === world.ownerIndex) this.host?.afterStep(step, received, receivedDecoded);
    else this.clients[node]?.afterStep(missing, now);
  }

  /** The owner's receipts of every message, as node indices (from the shard that holds the owner). */
  finishShare(world: World): OwnerReceipts | undefined {
    const owner = world.ownerIndex === undefined ? undefined : this.engines[world.ownerIndex];
    if (owner === undefined) return undefined;
    const offsets = new Int32Array(world.recorder.messagesSent + 1);
    const nodes: number[] = [];
    for (let x = 0; x < world.recorder.messagesSent; x++) {
      for (const by of owner.receipts(this.messageIds[x]!)?.ackedBy ?? []) nodes.push(this.nodeOf.get(by)!);
      offsets[x + 1] = nodes.length;
    }
    return { offsets, nodes: Int32Array.from(nodes) };
  }

  /**
   * Receipts as the sender's app shows them, for this shard's senders: its own, merged with the owner's when
   * there is one (src/api does the same). Returns this shard's figures of the owner path.
   */
  finish(world: World, shares: readonly unknown[]): OwnerPathParts | undefined {
    const owner = shares.find((s) => s !== undefined) as OwnerReceipts | undefined;
    for (let x = 0; x < world.recorder.messagesSent; x++) {
      const sender = world.recorder.sender[x]!;
      if (!world.local(sender)) continue;
      const id = this.messageIds[x]!;
      const status = this.engines[sender]?.status(id);
      if (status === undefined || !status.own) continue;
      const merged = new Set(status.receipts.ackedBy);
      if (owner !== undefined) {
        for (let i = owner.offsets[x]!; i < owner.offsets[x + 1]!; i++) {
          const by = owner.nodes[i]!;
          if (by !== sender) merged.add(this.senderIds[by]!);
        }
      }
      world.recorder.receipts(x, merged.size, undefined, status.receipts.count);
    }
    if (this.path === undefined) return undefined;
    const host = this.host;
    return this.path.parts(
      host === undefined
        ? undefined
        : {
            detail: { ...host.counts, ...host.service.counters, ledger: host.service.sizes() },
            cpuUs: host.cpuUs,
          },
    );
  }
}
