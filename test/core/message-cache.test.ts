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
