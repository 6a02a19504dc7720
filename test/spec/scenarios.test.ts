// Replays the end-to-end traces of spec/vectors/scenarios.json (spec section 21.3) against the real
// ChannelEngine: every member is an engine, every step runs at its time, and what each step publishes and
// reports must match the trace, as must every member's delivered order, log, missing refs and receipts.
// Receivers are fed the recorded bytes, never the replaying engine's own output, as another implementation
// replaying the file would be; outgoing messages are compared without the ack nonce, filter bits and signature.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { normalEvents, normalMessage } from "../../scripts/vector-scenarios.js";
import {
  ChannelEngine,
  type EngineEvent,
  identityFromSecretKey,
  type Params,
  type RejectionCode,
} from "../../src/core/index.js";
import { decodeMessage } from "../../src/wire/index.js";
import { prng } from "../core/fixtures.js";

const FILE = "scenarios.json";

/** Every RejectionCode of src/core/types.ts; the type check below fails when one is added and not listed. */
const REJECTION_CODES = [
  "undecodable",
  "wrong-channel",
  "not-a-member",
  "unsigned-not-allowed",
  "unsigned-claims-chorus-id",
  "unsigned-chorus-fields",
  "bad-sender-id",
  "missing-signature",
  "id-mismatch",
  "sync-with-sequence",
  "bad-signature",
  "future-timestamp",
  "over-quota",
  "replayed-sync",
  "pending-full",
  "sender-pending-full",
] as const satisfies readonly RejectionCode[];
type Unlisted = Exclude<RejectionCode, (typeof REJECTION_CODES)[number]>;
const _everyCodeListed: [Unlisted] extends [never] ? true : Unlisted = true;
const path = join(fileURLToPath(import.meta.url), "../../../spec/vectors", FILE);

interface Scenario {
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
    action: "send" | "send-ephemeral" | "receive" | "tick";
    content?: string;
    message?: string;
    note?: string;
    outgoing: { label: string; purpose: string; fields: Record<string, unknown> }[];
    events: Record<string, unknown>[];
  }[];
  expect: Record<
    string,
    {
      delivered: string[];
      log: string[];
      missing: Record<string, unknown>[];
      receipts: Record<string, { count: number; members: number; ackedBy: string[] }>;
    }
  >;
}

const unhex = (text: string) => Uint8Array.from(Buffer.from(text, "hex"));

const withoutReason = (e: Record<string, unknown>) => {
  const { reason: _reason, ...rest } = e;
  return rest;
};
const sortedJson = (items: readonly unknown[]) => items.map((x) => JSON.stringify(x)).sort();

function replay(s: Scenario): void {
  const engines = new Map<string, ChannelEngine>();
  const senderOf = new Map(s.members.map((m) => [m.name, m.senderId]));
  for (const m of s.members) {
    const identity = identityFromSecretKey(unhex(m.secretKey));
    const list = m.memberList === undefined ? undefined : new Set(m.memberList.map((n) => senderOf.get(n)!));
    assert.equal(identity.senderId, m.senderId, `${s.name}: ${m.name}'s key`);
    engines.set(
      m.name,
      new ChannelEngine({
        channelId: s.channelId,
        identity,
        random: prng(m.seed),
        now: m.joinedAt,
        params: { ...s.params, ...m.params },
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
    for (const [label, receipts] of Object.entries(want.receipts)) {
      const id = decodeMessage(unhex(s.messages[label]!.hex)).messageId;
      const r = engine.receipts(id);
      assert.ok(r, `${s.name}: ${m.name} has receipts for ${label}`);
      assert.deepEqual(
        { count: r.count, members: r.members, ackedBy: [...r.ackedBy].sort() },
        receipts,
        `${s.name}: ${m.name}'s receipts for ${label}`,
      );
    }
  }
}

const data = JSON.parse(readFileSync(path, "utf8")) as { description: string; vectors: Scenario[] };

describe(`end-to-end scenarios (spec/vectors/${FILE})`, () => {
  test("the file has scenarios, each with steps and expectations for every member", () => {
    assert.equal(typeof data.description, "string");
    assert.ok(data.vectors.length >= 1, "at least one scenario");
    for (const s of data.vectors) {
      assert.ok(s.steps.length > 0, `${s.name}: steps`);
      assert.deepEqual(Object.keys(s.expect).sort(), s.members.map((m) => m.name).sort(), `${s.name}: expect`);
    }
  });

  test("the scenarios exercise every rule the spec lists for them", () => {
    const events = new Set<string>();
    const purposes = new Set<string>();
    const sources = new Set<string>();
    const codes = new Set<string>();
    for (const s of data.vectors) {
      for (const step of s.steps) {
        for (const e of step.events) {
          events.add(String(e.type));
          if (e.type === "rejected") codes.add(String(e.code));
          if (e.type === "missing") sources.add(String(e.source));
        }
        for (const o of step.outgoing) purposes.add(o.purpose);
      }
    }
    for (const c of REJECTION_CODES) assert.ok(codes.has(c), `some scenario reports the rejection code "${c}"`);
    for (const t of ["accepted", "delivered", "ephemeral", "missing", "repaired", "lost", "acknowledged", "rejected"])
      assert.ok(events.has(t), `some scenario reports a "${t}" event`);
    for (const p of ["content", "ephemeral", "sync", "repair-request", "repair-response"])
      assert.ok(purposes.has(p), `some scenario publishes a "${p}" message`);
    for (const g of ["sequence", "causal-history", "ack-mark"]) assert.ok(sources.has(g), `a gap found by ${g}`);
  });

  for (const s of data.vectors) test(s.name, () => replay(s));
});
