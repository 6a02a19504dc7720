// Replays one end-to-end trace of spec/vectors/scenarios.json (spec section 21.3) against the real ChannelEngine
// and throws an AssertionError at the first difference. Used by test/spec/scenarios.test.ts (the reference must
// match every trace) and test/spec/mutations.test.ts (every mutant must miss one).
import assert from "node:assert/strict";
import { type ListedDraw, ListedDraws } from "../../scripts/vector-draws.js";
import { normalEvents, normalMessage, normalReceipts } from "../../scripts/vector-scenarios.js";
import { ChannelEngine, type EngineEvent, identityFromSecretKey, type Params } from "../../src/core/index.js";
import { decodeMessage } from "../../src/wire/index.js";
import { prng } from "../core/fixtures.js";

/** How a replay departs from the reference: other defaults (the scenario's own params still win), rules off. */
export interface Variant {
  readonly defaults?: Partial<Params>;
  readonly mutations?: readonly string[];
}

export interface Scenario {
  name: string;
  description: string;
  channelId: string;
  params: Partial<Params>;
  members: {
    name: string;
    secretKey: string;
    senderId: string;
    joinedAt: number;
    seed: number;
    preferredResponders: string[];
    params: Partial<Params>;
    memberList?: string[];
  }[];
  messages: Record<string, { from: string; hex: string }>;
  steps: {
    at: number;
    member: string;
    action: "send" | "send-ephemeral" | "receive" | "tick" | "owner-path";
    content?: string;
    message?: string;
    up?: boolean;
    note?: string;
    draws?: ListedDraw[];
    outgoing: { label: string; purpose: string; fields: Record<string, unknown> }[];
    events: Record<string, unknown>[];
  }[];
  expect: Record<
    string,
    {
      delivered: string[];
      log: string[];
      missing: Record<string, unknown>[];
      receipts: Record<string, { count: number; members: number; ackedBy: string[]; state: string | null }>;
    }
  >;
}

const unhex = (text: string) => Uint8Array.from(Buffer.from(text, "hex"));

const withoutReason = (e: Record<string, unknown>) => {
  const { reason: _reason, ...rest } = e;
  return rest;
};
const sortedJson = (items: readonly unknown[]) => items.map((x) => JSON.stringify(x)).sort();

export function replay(s: Scenario, variant: Variant = {}): void {
  const engines = new Map<string, ChannelEngine>();
  const draws = new Map<string, ListedDraws>();
  const senderOf = new Map(s.members.map((m) => [m.name, m.senderId]));
  for (const m of s.members) {
    const identity = identityFromSecretKey(unhex(m.secretKey));
    const list = m.memberList === undefined ? undefined : new Set(m.memberList.map((n) => senderOf.get(n)!));
    assert.equal(identity.senderId, m.senderId, `${s.name}: ${m.name}'s key`);
    const random = new ListedDraws(prng(m.seed));
    draws.set(m.name, random);
    engines.set(
      m.name,
      new ChannelEngine({
        channelId: s.channelId,
        identity,
        random: random.random,
        now: m.joinedAt,
        params: {
          ...variant.defaults,
          ...s.params,
          ...m.params,
          ...(variant.mutations === undefined ? {} : { __mutations: variant.mutations }),
        } as Partial<Params>,
        preferredResponders: m.preferredResponders.map((p) => senderOf.get(p)!),
        ...(list === undefined ? {} : { isMember: (id: string) => list.has(id) }),
      }),
    );
  }
  const delivered = new Map(s.members.map((m) => [m.name, [] as string[]]));
  s.steps.forEach((step, i) => {
    const where = `${s.name}, step ${i} (${step.member} ${step.action}${step.message ? ` ${step.message}` : ""})`;
    const engine = engines.get(step.member);
    assert.ok(engine, `${where}: unknown member`);
    let result: { outgoing: readonly { bytes: Uint8Array; purpose: string }[]; events: readonly EngineEvent[] };
    draws.get(step.member)!.expect(step.draws);
    switch (step.action) {
      case "send":
        result = engine.send(unhex(step.content!), step.at);
        break;
      case "send-ephemeral":
        result = engine.sendEphemeral(unhex(step.content!), step.at);
        break;
      case "receive": {
        const recorded = s.messages[step.message!];
        assert.ok(recorded, `${where}: message ${step.message} is in the trace`);
        result = engine.receive(unhex(recorded.hex), step.at);
        break;
      }
      case "tick":
        result = engine.tick(step.at);
        break;
      case "owner-path":
        engine.setOwnerPath(step.up === true, step.at);
        result = { outgoing: [], events: [] };
        break;
    }
    assert.deepEqual(
      result.outgoing.map((o) => ({ purpose: o.purpose, fields: normalMessage(decodeMessage(o.bytes)) })),
      step.outgoing.map((o) => ({ purpose: o.purpose, fields: o.fields })),
      `${where}: outgoing`,
    );
    for (const [k, o] of step.outgoing.entries()) {
      assert.deepEqual(
        normalMessage(decodeMessage(unhex(s.messages[o.label]!.hex))),
        o.fields,
        `${where}: recorded bytes of ${o.label} match their fields`,
      );
      assert.equal(result.outgoing[k]!.bytes.length > 0, true);
    }
    // The projection the vectors were written with; a rejection's reason is the implementation's own wording.
    const got = normalEvents(result.events).map(withoutReason);
    const want = step.events.map(withoutReason);
    const deliveredOnly = (events: Record<string, unknown>[]) => events.filter((e) => e.type === "delivered");
    assert.deepEqual(deliveredOnly(got), deliveredOnly(want), `${where}: deliveries, in order`);
    assert.deepEqual(sortedJson(got), sortedJson(want), `${where}: events`);
    for (const e of result.events) if (e.type === "delivered") delivered.get(step.member)!.push(e.message.messageId);
  });
  for (const m of s.members) {
    const engine = engines.get(m.name)!;
    const want = s.expect[m.name];
    assert.ok(want, `${s.name}: expectations for ${m.name}`);
    assert.deepEqual(delivered.get(m.name), want.delivered, `${s.name}: ${m.name}'s delivery order`);
    assert.deepEqual(
      engine.deliveredLog().map((d) => d.messageId),
      want.log,
      `${s.name}: ${m.name}'s log`,
    );
    assert.deepEqual(
      sortedJson(engine.missingRefs().map((r) => ({ ...r }))),
      sortedJson(want.missing),
      `${s.name}: ${m.name}'s missing refs`,
    );
    // Receipts exist for exactly the labels the trace lists (an engine tracking more is another engine).
    for (const step of s.steps) {
      for (const o of step.outgoing) {
        if (o.label in want.receipts || o.fields.kind !== "content") continue;
        const id = o.fields.messageId as string;
        assert.equal(engine.receipts(id), undefined, `${s.name}: ${m.name} tracks no receipts for ${o.label}`);
      }
    }
    for (const [label, receipts] of Object.entries(want.receipts)) {
      const id = decodeMessage(unhex(s.messages[label]!.hex)).messageId;
      const r = normalReceipts(engine, id);
      assert.ok(r, `${s.name}: ${m.name} has receipts for ${label}`);
      assert.deepEqual(r, receipts, `${s.name}: ${m.name}'s receipts for ${label}`);
    }
  }
}
