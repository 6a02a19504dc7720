import {
  ChannelEngine,
  type Identity,
  identityFromSecretKey,
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
import { nativeSigner, nativeVerifier } from "../platform/native-crypto.js";
import type { WireMessage } from "../wire/index.js";
import type { Purpose } from "./metrics.js";
import { OwnerClient, type PathContext } from "./owner-client.js";
import { OwnerHost } from "./owner-host.js";
import { DirectPath } from "./owner-path.js";
import { type Scenario, SIM_PARAMS } from "./scenario.js";
import { calibrateVerification, SignatureLedger } from "./signature-ledger.js";
import { StringPool } from "./string-pool.js";
import { verifyOnce } from "./verify-once.js";
import type { Protocol, Publication, SimMember, World } from "./world.js";

export const CHANNEL_ID = "sim/chorus";

/**
 * Content publications whose decoding is kept for a re-publication of the same bytes (a resend, a repair
 * answer: every holder sends the very bytes it received). Engines hold those bytes for hours (own messages,
 * repair caches), so a cache that lived as long as its keys would keep a decoding of nearly every message
 * of the run (about 0.5 MB a virtual hour in the soak); an older one sent again is decoded again, to the
 * same value. Other publications (sync, repair requests) are encoded afresh each time: nothing to keep.
 */
const DECODED_KEPT = 1_024;

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
  private readonly decodedCache = new WeakMap<Uint8Array, WireMessage>();
  /** The keys of `decodedCache`, in a ring: the oldest leaves the cache when the ring wraps. */
  private readonly decodedKeys: (Uint8Array | undefined)[] = new Array(DECODED_KEPT);
  private decodedNext = 0;
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
      const identity = identityFromSecretKey(keys.bytes(32));
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
          this.messageIndex.set(result.messageId, x);
          this.messageIds[x] = result.messageId;
          this.bySequence[node]![result.sequence! - 1] = x;
        }
        this.handle(world, node, result, at);
        const client = this.clients[node];
        const out = result.outgoing.find((o) => o.kind === "content");
        if (client !== undefined && out !== undefined) {
          client.push(out.bytes, this.decodedCache.get(out.bytes) ?? out.message, x);
        }
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
    this.path ??= new DirectPath(world, world.ownerIndex!);
    if (owner) {
      const host = new OwnerHost(world, node, engine, this.roster, this.senderIds, this.nodeOf, this.ledger);
      this.host = host;
      return { ...member, online: () => host.restart() };
    }
    const client = new OwnerClient(this.pathContext(world), node, engine, this.senderIds[node]!, now);
    this.clients[node] = client;
    if (world.nodes[node]!.online) client.connect(now);
    return { ...member, online: (at) => client.connect(at) };
  }

  /** What members' clients need from the protocol: the path, the owner's side, steps run through `handle`. */
  private pathContext(world: World): PathContext {
    const self = this;
    return {
      world,
      path: this.path!,
      get host() {
        return self.host!;
      },
      handle: (node, step, now) => this.handle(world, node, step, now),
      ownerTakes: (bytes, decoded, x) => {
        const owner = world.ownerIndex!;
        if (x >= 0) world.recorder.arrived(owner, x, world.now);
        const step = this.engines[owner]!.receive(bytes, world.now, decoded, { requested: true });
        this.handle(world, owner, step, world.now, bytes, decoded);
      },
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
    for (const e of step.events) {
      switch (e.type) {
        case "delivered": {
          if (e.message.own) break;
          const x = this.messageIndex.get(e.message.messageId);
          if (x !== undefined) rec.delivered(node, x, now);
          break;
        }
        case "missing": {
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
      let decoded = this.decodedCache.get(out.bytes);
      if (decoded === undefined) {
        decoded = this.strings.internMessage(out.message);
        if (out.kind === "content") this.keepDecoded(out.bytes, decoded);
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
    else this.clients[node]?.afterStep(step, now);
  }

  private keepDecoded(bytes: Uint8Array, decoded: WireMessage): void {
    this.decodedCache.set(bytes, decoded);
    const old = this.decodedKeys[this.decodedNext];
    if (old !== undefined) this.decodedCache.delete(old);
    this.decodedKeys[this.decodedNext] = bytes;
    this.decodedNext = (this.decodedNext + 1) % DECODED_KEPT;
  }

  /** Receipts as the sender's app shows them: its own, merged with the owner's when there is one (src/api does the same). */
  finish(world: World): void {
    const owner = world.ownerIndex === undefined ? undefined : this.engines[world.ownerIndex];
    for (let x = 0; x < world.recorder.messagesSent; x++) {
      const sender = world.recorder.sender[x]!;
      const id = this.messageIds[x]!;
      const status = this.engines[sender]?.status(id);
      if (status === undefined || !status.own) continue;
      const merged = new Set(status.receipts.ackedBy);
      for (const by of owner?.receipts(id)?.ackedBy ?? []) if (by !== this.senderIds[sender]) merged.add(by);
      world.recorder.receipts(x, merged.size, undefined, status.receipts.count);
    }
    if (this.path !== undefined && this.host !== undefined) {
      world.recorder.ownerPath = {
        detail: {
          ...this.path.detail(),
          owner: { ...this.host.counts, ...this.host.service.counters, ledger: this.host.service.sizes() },
        },
        cpuUs: this.host.cpuUs,
        bytes: this.path.ownerBytes,
      };
    }
  }
}
