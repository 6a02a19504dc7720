// End-to-end scenario vectors (spec/vectors/scenarios.json): short message traces run through the real
// ChannelEngine of every member, recorded as inputs (wire bytes in hex, who gets what and when) and
// expected outputs (what each member publishes and reports, its final log and receipts).
//
// Written by scripts/make-vectors.ts; replayed by test/spec/scenarios.test.ts. Spec section 21.3 says how
// another implementation replays them. The engines draw randomness from mulberry32 (`seededRandom` in
// src/core/prng.ts) with the seed given per member, so the reference reproduces the recorded bytes exactly;
// another implementation reproduces everything but the ack nonce, the filter bits and the signature, which
// the expectations leave out.
// Every scripted tick comes after the longest random delay it waits for, so no expectation depends on a
// random draw, except in a trace that lists its steps' draws (vector-draws.ts), which a replay must use.
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import {
  ChannelEngine,
  type EngineEvent,
  type Identity,
  identityFromSecretKey,
  type Params,
  type SenderId,
} from "../src/core/index.js";
import { seededRandom } from "../src/core/prng.js";
import type { Outgoing, Step } from "../src/core/types.js";
import { decodeMessage, type WireMessage } from "../src/wire/index.js";
import { DrawRecorder, type ListedDraw } from "./vector-draws.js";
import { rejectionCodes } from "./vector-rejections.js";
import {
  drawsAndOwnerPath,
  equivocationFound,
  equivocationNotice,
  equivocatorOwnProcess,
} from "./vector-scenarios-draws.js";
import { quietReceipts } from "./vector-scenarios-quiet.js";
import {
  fullFilter,
  marksAndBacklog,
  ownerAnswerLost,
  pendingDeadline,
  receiptsByEvidence,
  timersAtDefaults,
} from "./vector-scenarios-rules.js";

/** Unix time in ms at which every scenario starts; lamport timestamps follow it. */
export const T0 = 1_700_000_000_000;

const KEYS: Record<string, number> = {
  alice: 0x01,
  // A second process on alice's key (spec section 9.6: how an honest-looking identity equivocates).
  "alice-twin": 0x01,
  bob: 0x02,
  carol: 0x03,
  dave: 0x04,
  erin: 0x05,
  frank: 0x06,
  grace: 0x07,
  mallory: 0x09,
  owner: 0x0f,
};

export function identityOf(name: string): Identity {
  const byte = KEYS[name];
  if (byte === undefined) throw new RangeError(`no key for member ${name}`);
  return identityFromSecretKey(new Uint8Array(32).fill(byte));
}

// ------------------------------------------------------------------------------------ normal forms

/**
 * A message as the expectations compare it: every field except the ack nonce, the filter bits and the
 * signature (random in every implementation); the filter's length and hash count stay.
 */
export function normalMessage(m: WireMessage): Record<string, unknown> {
  const history = (entries: WireMessage["causalHistory"]) =>
    entries.map((e) => ({
      messageId: e.messageId,
      ...(e.retrievalHint === undefined ? {} : { retrievalHint: bytesToHex(e.retrievalHint) }),
    }));
  return {
    kind: m.kind ?? null,
    senderId: m.senderId,
    messageId: m.messageId,
    lamportTimestamp: m.lamportTimestamp?.toString() ?? null,
    sequence: m.sequence ?? null,
    content: m.content === undefined ? null : bytesToHex(m.content),
    causalHistory: history(m.causalHistory),
    repairRequest: history(m.repairRequest),
    sequenceRepairRequest: m.sequenceRepairRequest.map((r) => ({ senderId: r.senderId, first: r.first, last: r.last })),
    ack:
      m.ack === undefined
        ? null
        : {
            filterBytes: m.ack.filter.length,
            hashCount: m.ack.hashCount,
            marks: m.ack.marks.map((k) => ({
              senderPrefix: bytesToHex(k.senderPrefix),
              first: k.first ?? 1,
              sequence: k.sequence,
            })),
          },
  };
}

/** The events of one step in the comparison form of spec Appendix A.3 (every event, `accepted` included). */
export function normalEvents(events: readonly EngineEvent[]): Record<string, unknown>[] {
  return events.map(normalEvent);
}

/** An event in the comparison form of spec Appendix A.3; `reason` of a rejection is informative only. */
export function normalEvent(e: EngineEvent): Record<string, unknown> {
  switch (e.type) {
    case "accepted":
      return { type: e.type, messageId: e.messageId, senderId: e.senderId, sequence: e.sequence ?? null };
    case "delivered":
      return {
        type: e.type,
        messageId: e.message.messageId,
        senderId: e.message.senderId,
        sequence: e.message.sequence ?? null,
      };
    case "ephemeral":
      return { type: e.type, messageId: e.messageId, senderId: e.senderId, content: bytesToHex(e.content) };
    case "missing":
      return { type: e.type, ref: { ...e.ref }, source: e.source };
    case "repaired":
      return {
        type: e.type,
        messageId: e.messageId,
        senderId: e.senderId,
        sequence: e.sequence ?? null,
        afterMs: e.afterMs,
      };
    case "lost":
      return { type: e.type, ref: { ...e.ref }, dependents: e.dependents };
    case "acknowledged":
      return { type: e.type, messageId: e.messageId, by: e.by, count: e.count, members: e.members };
    case "rejected":
      return {
        type: e.type,
        code: e.code,
        messageId: e.messageId ?? null,
        senderId: e.senderId ?? null,
        reason: e.reason,
      };
    case "equivocation":
      return {
        type: e.type,
        senderId: e.equivocation.senderId,
        sequence: e.equivocation.sequence,
        messageIds: [...e.equivocation.messageIds],
      };
  }
}

/**
 * Final receipts in the comparison form of spec Appendix A.3: `state` is the receipt state of section 7.5 for
 * the participant's own messages, null for others' (tracked with trackAllReceipts). Undefined when untracked.
 */
export function normalReceipts(engine: ChannelEngine, messageId: string): Record<string, unknown> | undefined {
  const r = engine.receipts(messageId);
  if (r === undefined) return undefined;
  const status = engine.status(messageId);
  const state = status?.own === true ? status.state : null;
  return { count: r.count, members: r.members, ackedBy: [...r.ackedBy].sort(), state };
}

// ------------------------------------------------------------------------------------ recorder

export interface MemberSpec {
  readonly name: string;
  readonly seed: number;
  readonly joinedAt: number;
  readonly preferredResponders?: readonly string[];
  readonly params?: Partial<Params>;
  /** The member's list of who may post (names); senders off it are refused (spec section 9.3 step 3). */
  readonly memberList?: readonly string[];
}

interface RecordedStep {
  readonly at: number;
  readonly member: string;
  readonly action: "send" | "send-ephemeral" | "receive" | "tick" | "owner-path";
  readonly content?: string;
  readonly message?: string;
  readonly up?: boolean;
  readonly note?: string;
  readonly draws?: ListedDraw[];
  readonly outgoing: { label: string; purpose: string; fields: Record<string, unknown> }[];
  readonly events: Record<string, unknown>[];
}

export class Recorder {
  readonly engines = new Map<string, ChannelEngine>();
  readonly messages: Record<string, { from: string; hex: string }> = {};
  private readonly injected = new Set<string>();
  readonly steps: RecordedStep[] = [];
  private readonly count = new Map<string, number>();
  private readonly delivered = new Map<string, string[]>();
  private readonly labels = new Map<string, string>();
  private last = 0;
  /** Per member, when the trace lists its draws (spec Appendix B): what each step drew. */
  private readonly draws = new Map<string, DrawRecorder>();

  constructor(
    readonly name: string,
    readonly description: string,
    readonly channelId: string,
    readonly params: Partial<Params>,
    readonly members: readonly MemberSpec[],
    /** List every step's random draws, so that the trace may depend on them. */
    readonly withDraws = false,
  ) {
    for (const m of members) {
      const draws = withDraws ? new DrawRecorder(seededRandom(m.seed)) : undefined;
      if (draws !== undefined) this.draws.set(m.name, draws);
      const list = m.memberList === undefined ? undefined : new Set(m.memberList.map((n) => identityOf(n).senderId));
      this.engines.set(
        m.name,
        new ChannelEngine({
          channelId,
          identity: identityOf(m.name),
          random: draws?.random ?? seededRandom(m.seed),
          now: m.joinedAt,
          params: { ...params, ...m.params },
          preferredResponders: (m.preferredResponders ?? []).map((p) => identityOf(p).senderId),
          ...(list === undefined ? {} : { isMember: (id: string) => list.has(id as SenderId) }),
        }),
      );
      this.delivered.set(m.name, []);
    }
  }

  private engine(member: string): ChannelEngine {
    const e = this.engines.get(member);
    if (e === undefined) throw new RangeError(`${this.name}: no member ${member}`);
    return e;
  }

  private clock(at: number): void {
    if (at < this.last) throw new RangeError(`${this.name}: time goes back from ${this.last} to ${at}`);
    this.last = at;
  }

  private record(
    at: number,
    member: string,
    action: RecordedStep["action"],
    input: { content?: string; message?: string; up?: boolean },
    step: Step,
    note: string | undefined,
  ): string[] {
    const labels: string[] = [];
    const outgoing = step.outgoing.map((o: Outgoing) => {
      // A rebroadcast or resend carries bytes already recorded: it keeps their label.
      const hex = bytesToHex(o.bytes);
      let label = this.labels.get(hex);
      if (label === undefined) {
        const n = (this.count.get(member) ?? 0) + 1;
        this.count.set(member, n);
        label = `${member}.${n}`;
        this.labels.set(hex, label);
        this.messages[label] = { from: member, hex };
      }
      labels.push(label);
      return { label, purpose: o.purpose, fields: normalMessage(decodeMessage(o.bytes)) };
    });
    for (const e of step.events) if (e.type === "delivered") this.delivered.get(member)!.push(e.message.messageId);
    this.steps.push({
      at,
      member,
      action,
      ...input,
      ...(note === undefined ? {} : { note }),
      ...(this.withDraws ? { draws: this.draws.get(member)!.take() } : {}),
      outgoing,
      events: normalEvents(step.events),
    });
    return labels;
  }

  send(at: number, member: string, text: string, note?: string): string {
    this.clock(at);
    const content = utf8ToBytes(text);
    const step = this.engine(member).send(content, at);
    return this.record(at, member, "send", { content: bytesToHex(content) }, step, note)[0]!;
  }

  sendEphemeral(at: number, member: string, text: string, note?: string): string {
    this.clock(at);
    const content = utf8ToBytes(text);
    const step = this.engine(member).sendEphemeral(content, at);
    return this.record(at, member, "send-ephemeral", { content: bytesToHex(content) }, step, note)[0]!;
  }

  /** Adds bytes that no member produced (a forgery, a message for another channel). */
  inject(label: string, from: string, bytes: Uint8Array): string {
    this.messages[label] = { from, hex: bytesToHex(bytes) };
    this.injected.add(label);
    return label;
  }

  receive(at: number, member: string, label: string, note?: string): string[] {
    this.clock(at);
    const recorded = this.messages[label];
    if (recorded === undefined) throw new RangeError(`${this.name}: no message ${label}`);
    const step = this.engine(member).receive(Uint8Array.from(Buffer.from(recorded.hex, "hex")), at);
    return this.record(at, member, "receive", { message: label }, step, note);
  }

  tick(at: number, member: string, note?: string): string[] {
    this.clock(at);
    return this.record(at, member, "tick", {}, this.engine(member).tick(at), note);
  }

  /** The member's direct path to the owner node comes up or goes down (spec section 14.3). */
  ownerPath(at: number, member: string, up: boolean, note?: string): void {
    this.clock(at);
    this.engine(member).setOwnerPath(up, at);
    this.record(at, member, "owner-path", { up }, { outgoing: [], events: [] }, note);
  }

  idOf(label: string): string {
    const m = this.messages[label];
    if (m === undefined) throw new RangeError(`${this.name}: no message ${label}`);
    return decodeMessage(Uint8Array.from(Buffer.from(m.hex, "hex"))).messageId;
  }

  toJson(): Record<string, unknown> {
    const expect: Record<string, unknown> = {};
    for (const m of this.members) {
      const engine = this.engine(m.name);
      const receipts: Record<string, unknown> = {};
      for (const [label, rec] of Object.entries(this.messages)) {
        if (this.injected.has(label)) continue;
        const message = decodeMessage(Uint8Array.from(Buffer.from(rec.hex, "hex")));
        if (message.kind !== "content") continue;
        const r = normalReceipts(engine, message.messageId);
        if (r !== undefined) receipts[label] = r;
      }
      expect[m.name] = {
        delivered: this.delivered.get(m.name),
        log: engine.deliveredLog().map((d) => d.messageId),
        missing: engine
          .missingRefs()
          .map((r) => ({ ...r }))
          .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
        receipts,
      };
    }
    return {
      name: this.name,
      description: this.description,
      channelId: this.channelId,
      params: this.params,
      members: this.members.map((m) => ({
        name: m.name,
        secretKey: bytesToHex(identityOf(m.name).secretKey),
        senderId: identityOf(m.name).senderId,
        joinedAt: m.joinedAt,
        seed: m.seed,
        preferredResponders: m.preferredResponders ?? [],
        params: m.params ?? {},
        ...(m.memberList === undefined ? {} : { memberList: m.memberList }),
      })),
      messages: this.messages,
      steps: this.steps,
      expect,
    };
  }
}

// ------------------------------------------------------------------------------------ scenarios

export const CHANNEL = "community/general";
/** No jitter on the sync timer, so that its deadline is exact; everything else at the defaults. */
export const BASE: Partial<Params> = { syncJitter: 0 };
export const member = (name: string, seed: number, extra: Partial<MemberSpec> = {}): MemberSpec => ({
  name,
  seed,
  joinedAt: T0,
  ...extra,
});

function lossRepairedByOwner(): Record<string, unknown> {
  const owner = member("owner", 4, { preferredResponders: ["owner"], params: { trackAllReceipts: true } });
  const r = new Recorder(
    "sequence gap repaired by the owner",
    "Three members and the owner node. Bob misses alice's second message, detects the gap from her third " +
      "(sequence 3 after 1), holds it pending, asks by sequence range in a sync message after the request " +
      "delay, and the owner, a preferred responder, rebroadcasts the original bytes at once. Alice learns " +
      "receipts from bob's mark; the owner aggregates receipts for everyone.",
    CHANNEL,
    BASE,
    [
      member("alice", 1, { preferredResponders: ["owner"] }),
      member("bob", 2, { preferredResponders: ["owner"] }),
      member("carol", 3, { preferredResponders: ["owner"] }),
      owner,
    ],
  );
  const t = T0 + 1_000;
  const a1 = r.send(t, "alice", "hello all");
  for (const m of ["bob", "carol", "owner"]) r.receive(t + 50, m, a1);
  const a2 = r.send(t + 1_000, "alice", "second");
  for (const m of ["carol", "owner"]) r.receive(t + 1_050, m, a2);
  const a3 = r.send(t + 2_000, "alice", "third");
  for (const m of ["bob", "carol", "owner"])
    r.receive(t + 2_050, m, a3, m === "bob" ? "bob lacks alice.2: a sequence gap" : undefined);
  const [sync] = r.tick(t + 3_050, "bob", "the request timer (at most repairRequestDelayMs) has fired");
  r.receive(t + 3_100, "alice", sync!);
  r.receive(t + 3_100, "carol", sync!);
  const [answer] = r.receive(t + 3_100, "owner", sync!, "the owner answers at once, with alice's original bytes");
  for (const m of ["alice", "bob", "carol"]) r.receive(t + 3_150, m, answer!);
  r.tick(t + 4_200, "alice", "the owner's copy cancelled the answers alice and carol had scheduled");
  r.tick(t + 4_200, "carol");
  return r.toJson();
}

function lossRepairedByPeer(): Record<string, unknown> {
  const r = new Recorder(
    "causal-history gap repaired by a peer, with suppression",
    "No owner. Carol misses alice's only message and has never heard from alice; bob's reply names it in " +
      "its causal history. Carol asks by id; alice and bob both hold it and schedule an answer after a " +
      "random suppression delay; alice's answer reaches bob first, which cancels bob's.",
    CHANNEL,
    BASE,
    [member("alice", 11), member("bob", 12), member("carol", 13)],
  );
  const t = T0 + 1_000;
  const a1 = r.send(t, "alice", "who is around?");
  r.receive(t + 50, "bob", a1);
  const b1 = r.send(t + 500, "bob", "me");
  r.receive(t + 550, "alice", b1);
  r.receive(t + 550, "carol", b1, "carol has not seen alice.1, which b1 names: b1 waits");
  const [request] = r.tick(t + 1_550, "carol", "carol asks by id");
  r.receive(t + 1_600, "alice", request!);
  r.receive(t + 1_600, "bob", request!);
  const [answer] = r.tick(t + 2_600, "alice", "alice's answer delay (at most repairResponseDelayMs) is over");
  r.receive(t + 2_650, "bob", answer!, "a copy on the wire cancels bob's scheduled answer");
  r.receive(t + 2_650, "carol", answer!);
  r.tick(t + 3_600, "bob", "bob's answer was cancelled: nothing to send");
  return r.toJson();
}

function lossDeclared(): Record<string, unknown> {
  const r = new Recorder(
    "loss declared after the dependency timeout",
    "Bob misses alice's first message and nobody answers his requests (they are not delivered). He asks, " +
      "retries after repairRetryMs, and at dependencyTimeoutMs after detection declares the message lost " +
      "and delivers the message that waited for it.",
    CHANNEL,
    { ...BASE, dependencyTimeoutMs: 20_000 },
    [member("alice", 21), member("bob", 22)],
  );
  const t = T0 + 1_000;
  r.send(t, "alice", "lost in transit");
  const a2 = r.send(t + 1_000, "alice", "after the loss");
  r.receive(
    t + 1_050,
    "bob",
    a2,
    "first contact within joinGraceMs of joining: no sequence chase, but alice.2's causal history names alice.1",
  );
  r.tick(t + 2_050, "bob", "first request");
  r.tick(t + 7_050, "bob", "retry after repairRetryMs");
  r.tick(t + 17_050, "bob", "second retry after 2 x repairRetryMs");
  r.tick(t + 21_050, "bob", "dependencyTimeoutMs after detection: declared lost, alice.2 delivered");
  return r.toJson();
}

function markGap(): Record<string, unknown> {
  const r = new Recorder(
    "gap found from another member's mark",
    "Alice sends two messages and falls silent; carol misses the second and nothing later from alice " +
      "reveals it. Bob's sync message carries the mark 'alice up to 2', from which carol learns the gap; " +
      "bob answers her request, and alice learns from the same mark that bob holds both messages.",
    CHANNEL,
    { ...BASE, syncIntervalMs: 10_000 },
    [member("alice", 31), member("bob", 32), member("carol", 33)],
  );
  const t = T0 + 1_000;
  const a1 = r.send(t, "alice", "one");
  r.receive(t + 50, "bob", a1);
  r.receive(t + 50, "carol", a1);
  const a2 = r.send(t + 1_000, "alice", "two");
  r.receive(t + 1_050, "bob", a2);
  const [sync] = r.tick(t + 10_050, "bob", "bob owes a sync syncIntervalMs after his first receipt");
  r.receive(t + 10_100, "alice", sync!, "bob's mark acknowledges both of alice's messages");
  r.receive(t + 10_100, "carol", sync!, "the mark is ahead of carol's contiguous mark for alice");
  const [request] = r.tick(
    t + 10_100,
    "carol",
    "carol's sync, owed since alice.1, is due: it carries the request for alice 2..2, never asked yet",
  );
  r.receive(t + 11_150, "alice", request!);
  r.receive(t + 11_150, "bob", request!);
  const [answer] = r.tick(t + 12_150, "bob", "bob's answer delay is over");
  r.receive(t + 12_200, "alice", answer!, "alice's own answer is cancelled by the copy");
  r.receive(t + 12_200, "carol", answer!);
  r.tick(t + 13_150, "alice");
  return r.toJson();
}

function filterReceipt(): Record<string, unknown> {
  const r = new Recorder(
    "receipt from two filters, a lost answer and a retry",
    "Bob misses alice's first message and receives her second, which waits. Bob's summaries then hold " +
      "no mark for alice (nothing contiguous) but name alice.2 in the filter: the first filter hit makes it " +
      "possibly acknowledged, the second, under another nonce, confirms it. Alice's first answer to bob's " +
      "request is lost; bob asks again after repairRetryMs and the second answer repairs the gap.",
    CHANNEL,
    BASE,
    [member("alice", 41), member("bob", 42)],
  );
  const t = T0 + 1_000;
  r.send(t, "alice", "first");
  const a2 = r.send(t + 1_000, "alice", "second");
  r.receive(t + 1_050, "bob", a2);
  const [req1] = r.tick(t + 2_050, "bob", "request with a filter holding alice.2");
  r.receive(t + 2_100, "alice", req1!, "one filter hit: possibly acknowledged");
  r.tick(t + 3_100, "alice", "alice answers; the answer is lost on the way to bob");
  const [req2] = r.tick(t + 7_050, "bob", "retry after repairRetryMs, a new summary with a new nonce");
  r.receive(t + 7_100, "alice", req2!, "a second hit under another nonce confirms alice.2 for bob");
  const [answer] = r.tick(t + 8_100, "alice", "alice answers again");
  r.receive(t + 8_150, "bob", answer!);
  return r.toJson();
}

function receivingRules(): Record<string, unknown> {
  const r = new Recorder(
    "duplicates, forgeries, other channels, ephemeral messages, own echoes",
    "What a receiver refuses or ignores: a second copy of a content message changes nothing; a message " +
      "with a byte changed after signing, or for another channel, is rejected; an ephemeral message is " +
      "handed over without ordering or acknowledgement; a member's own message coming back is ignored.",
    CHANNEL,
    BASE,
    [member("alice", 51), member("bob", 52)],
  );
  const t = T0 + 1_000;
  const a1 = r.send(t, "alice", "original");
  r.receive(t + 50, "bob", a1);
  r.receive(t + 60, "bob", a1, "duplicate: nothing happens");
  const bytes = Uint8Array.from(Buffer.from(r.messages[a1]!.hex, "hex"));
  const tampered = bytes.slice();
  // The last content byte sits just before the kind (F0 01 01), sequence (F8 01 ..) and ack/signature.
  const at = Buffer.from(tampered).indexOf(Buffer.from("original"));
  tampered[at]! ^= 0x20;
  r.inject("forged.1", "alice", tampered);
  r.receive(t + 70, "bob", "forged.1", "content changed after signing: id mismatch, rejected");
  const other = new ChannelEngine({
    channelId: "community/other",
    identity: identityOf("alice"),
    random: seededRandom(59),
    now: T0,
  });
  r.inject("other.1", "alice", other.send(utf8ToBytes("elsewhere"), t + 80).outgoing[0]!.bytes);
  r.receive(t + 90, "bob", "other.1", "another channel: rejected");
  const e1 = r.sendEphemeral(t + 100, "alice", "typing");
  r.receive(t + 150, "bob", e1, "ephemeral: handed over, not logged");
  const b1 = r.send(t + 200, "bob", "reply");
  r.receive(t + 250, "bob", b1, "bob's own message echoed back: ignored");
  r.receive(t + 250, "alice", b1, "b1's causal history and mark acknowledge alice.1");
  return r.toJson();
}

export function buildScenarios(): Record<string, unknown> {
  return {
    description:
      "End-to-end traces through the engine of every member (spec section 21.3). Replay: create each member " +
      "at joinedAt with its key and params (scenario params, then the member's); run the steps in order at " +
      "their time: send / send-ephemeral the hex content, receive the hex bytes of the named message, or " +
      "tick (fire every timer due). Compare each step's outgoing messages (normal form: no ack nonce, filter " +
      "bits or signature) and events (delivered ones in order; a rejection's reason is informative), then " +
      "each member's delivered order, log, missing refs and receipts. Randomness is mulberry32(seed) in the " +
      "reference; every tick comes after the longest random delay it waits for, except in steps that list their " +
      "draws, whose random choices take the listed values (spec section 18.1).",
    vectors: [
      lossRepairedByOwner(),
      lossRepairedByPeer(),
      lossDeclared(),
      markGap(),
      filterReceipt(),
      receivingRules(),
      rejectionCodes(),
      timersAtDefaults(),
      receiptsByEvidence(),
      ownerAnswerLost(),
      marksAndBacklog(),
      pendingDeadline(),
      fullFilter(),
      drawsAndOwnerPath(),
      equivocationFound(),
      equivocationNotice(),
      equivocatorOwnProcess(),
      quietReceipts(),
    ],
  };
}
