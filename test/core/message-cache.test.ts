// The message cache's index by (sender, sequence) (src/core/message-cache.ts), against a model: a Map keyed by
// "sender:seq" that each delivery sets and each eviction from the bounded cache deletes, whatever it holds then
// (the behaviour of the string-keyed index it replaced).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { MessageId, SenderId } from "../../src/core/ids.js";
import { MessageCache } from "../../src/core/message-cache.js";
import { resolveParams } from "../../src/core/params.js";
import type { WireMessage } from "../../src/wire/index.js";

const SENDERS = ["aa", "bb", "cc"].map((c) => c.repeat(32) as SenderId);
const SELF = "ff".repeat(32) as SenderId;

function message(id: string, sender: SenderId, sequence: number): WireMessage {
  return {
    messageId: id,
    senderId: sender,
    sequence,
    lamportTimestamp: BigInt(sequence),
    content: new Uint8Array([1]),
  } as unknown as WireMessage;
}

describe("message cache: index by sender sequence", () => {
  it("answers as a map keyed by sender and sequence number would, through evictions and replaced numbers", () => {
    const op = fc.record({ sender: fc.integer({ min: 0, max: 2 }), seq: fc.integer({ min: 1, max: 6 }) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 40 }), (size, ops) => {
        const cache = new MessageCache(resolveParams({ repairCacheSize: size }), SELF, () => {});
        const model = new Map<string, string>();
        const order: { id: string; key: string }[] = [];
        ops.forEach((o, i) => {
          const sender = SENDERS[o.sender]!;
          const id = `m${i}` as MessageId;
          cache.remember(message(id, sender, o.seq), new Uint8Array([i]), i);
          // The cache evicts its oldest entry before the new one is indexed.
          order.push({ id, key: `${sender}:${o.seq}` });
          if (order.length > size) model.delete(order.shift()!.key);
          model.set(`${sender}:${o.seq}`, id);
          for (const s of SENDERS) {
            for (let seq = 1; seq <= 6; seq++) {
              const want = model.get(`${s}:${seq}`);
              assert.equal(cache.idAt(s, seq), want, `idAt(${s.slice(0, 2)}, ${seq}) after op ${i}`);
              assert.equal(cache.hasSequence(s, seq), want !== undefined);
            }
          }
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe("message cache: delivery times and hints beside shared facts", () => {
  it("keeps each cached message's delivery time and hint as a map of entries would, through evictions and repeats", () => {
    const op = fc.record({
      id: fc.integer({ min: 0, max: 7 }),
      hint: fc.option(fc.integer({ min: 0, max: 7 }), { nil: undefined }),
      limit: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 40 }), (size, ops) => {
        const cache = new MessageCache(resolveParams({ repairCacheSize: size }), SELF, () => {});
        // Insertion-ordered like the cache: a repeated id keeps its place and takes the new time and bytes.
        const model = new Map<string, { at: number; byte: number; hint: number | undefined }>();
        ops.forEach((o, i) => {
          const id = `m${o.id}` as MessageId;
          const at = 1_000 + i * 0.25;
          cache.remember(message(id, SENDERS[o.id % 3]!, o.id + 1), new Uint8Array([i]), at);
          const had = model.has(id);
          model.set(id, { at, byte: i, hint: undefined });
          if (!had && model.size > size) model.delete(model.keys().next().value as string);
          if (o.hint !== undefined) {
            const target = `m${o.hint}` as MessageId;
            cache.setRetrievalHint(target, new Uint8Array([0xa0, o.hint]));
            const known = model.get(target);
            if (known !== undefined) known.hint = o.hint;
          }
          const times = new Map(cache.deliveredLog().map((d) => [d.messageId as string, d.deliveredAt]));
          assert.deepEqual(times, new Map([...model].map(([k, v]) => [k, v.at])), `times after op ${i}`);
          const want = [...model.values()].map((v) => ({
            bytes: v.byte.toString(16).padStart(2, "0"),
            deliveredAt: v.at,
            ...(v.hint === undefined ? {} : { hint: `a0${v.hint.toString(16).padStart(2, "0")}` }),
          }));
          const limit = o.limit;
          assert.deepEqual(
            cache.cacheJson(limit),
            limit === undefined ? want : want.slice(Math.max(0, want.length - limit)),
          );
          const history = cache.causalHistory([...model.keys()] as MessageId[]);
          for (const h of history) {
            const hint = model.get(h.messageId)?.hint;
            assert.deepEqual(h.retrievalHint, hint === undefined ? undefined : new Uint8Array([0xa0, hint]));
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it("shares one facts object among the members that cache the same decoded message and bytes", () => {
    const params = resolveParams({});
    const m = message("shared", SENDERS[0]!, 1);
    const bytes = new Uint8Array([7]);
    const a = new MessageCache(params, SELF, () => {});
    const b = new MessageCache(params, SENDERS[1]!, () => {});
    a.remember(m, bytes, 1);
    b.remember(m, bytes, 2.5);
    assert.equal(a.sequenceOf("shared" as MessageId), b.sequenceOf("shared" as MessageId));
    assert.deepEqual(
      [a.deliveredLog()[0]!.deliveredAt, b.deliveredLog()[0]!.deliveredAt],
      [1, 2.5],
      "each keeps its own delivery time",
    );
    // Other bytes for the same decoded object (a caller that re-encoded it): facts of their own.
    const c = new MessageCache(params, SENDERS[2]!, () => {});
    c.remember(m, new Uint8Array([8]), 3);
    assert.notEqual(c.sequenceOf("shared" as MessageId), a.sequenceOf("shared" as MessageId));
    assert.deepEqual(c.bytesOf("shared" as MessageId), new Uint8Array([8]));
  });

  it("keeps facts of its own for an object only it holds (`alone`), and shares the others' still", () => {
    const params = resolveParams({});
    const m = message("decoded-here", SENDERS[0]!, 1);
    const bytes = new Uint8Array([9]);
    const [a, b, c] = [SELF, SENDERS[1]!, SENDERS[2]!].map((self) => new MessageCache(params, self, () => {}));
    a!.remember(m, bytes, 1, true);
    b!.remember(m, bytes, 2);
    c!.remember(m, bytes, 3);
    const facts = (x: MessageCache) => x.sequenceOf("decoded-here" as MessageId);
    assert.notEqual(facts(a!), facts(b!), "not memoized for sharing");
    assert.deepEqual(facts(a!), facts(b!), "the same facts");
    assert.equal(facts(b!), facts(c!));
  });
});
