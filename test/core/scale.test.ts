// Receipts and repair in large channels: mark rotation, answers from the pending buffer, backup responders.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bytesToHex } from "@noble/hashes/utils.js";
import { cachedVerifier, craft, decodeOut, identity, makeEngine, runTimers } from "./fixtures.js";

const T = 20_000;

describe("marks at scale", () => {
  test("a silent reader announces every sender's progress, more senders than one summary holds, then stops", () => {
    const verifySignature = cachedVerifier();
    const reader = makeEngine({ n: 2, seed: 5, verifySignature });
    const senders = Array.from({ length: 40 }, (_, i) => identity(10 + i));
    for (const [i, s] of senders.entries()) {
      reader.receive(craft(s, { kind: "content", sequence: 1, lamport: BigInt(T + i) }).bytes, T + i);
    }
    const syncs = runTimers(reader, T + 24 * 3_600_000)
      .flatMap((s) => s.step.outgoing)
      .filter((o) => o.kind === "sync")
      .map(decodeOut);
    const marked = new Set(syncs.flatMap((m) => m.ack?.marks.map((k) => bytesToHex(k.senderPrefix)) ?? []));
    for (const s of senders)
      assert.ok(marked.has(s.senderId.slice(0, 16)), `sender ${s.senderId.slice(0, 8)} never marked`);
    const perSync = Math.max(...syncs.map((m) => m.ack?.marks.length ?? 0));
    assert.ok(perSync < senders.length, "one summary cannot hold them all");
    assert.ok(syncs.length >= Math.ceil(senders.length / perSync), `${syncs.length} syncs`);
    // Only never-announced progress keeps a sync owed: one sync per slot-full, not one per repeat, and then quiet.
    assert.ok(syncs.length <= Math.ceil(senders.length / perSync) + 1, `${syncs.length} syncs of ${perSync} marks`);
    assert.equal(reader.nextDeadline(), undefined);
  });
});

describe("repair at scale", () => {
  test("a message waiting for its dependencies is served to a repair request, by id and by sequence", () => {
    const a = makeEngine({ n: 1, seed: 1 });
    const holder = makeEngine({ n: 3, seed: 3 });
    const [a1, , a3] = ["a1", "a2", "a3"].map((t, i) => a.send(new TextEncoder().encode(t), T + i));
    holder.receive(a1!.outgoing[0]!.bytes, T + 10);
    holder.receive(a3!.outgoing[0]!.bytes, T + 11);
    assert.equal(holder.status(a3!.messageId)?.state, "pending", "a3 waits for a2");
    const asker = identity(2);
    for (const request of [
      { repairRequest: [{ messageId: a3!.messageId }] },
      { sequenceRepairRequest: [{ senderId: identity(1).senderId, first: 3, last: 3 }] },
    ]) {
      const at = T + 20_000 + (request.repairRequest === undefined ? 20_000 : 0);
      holder.receive(craft(asker, { kind: "sync", lamport: BigInt(at), ...request }).bytes, at);
      const answers = runTimers(holder, at + 10_000)
        .flatMap((s) => s.step.outgoing)
        .filter((o) => o.purpose === "repair-response");
      assert.equal(answers.length, 1, JSON.stringify(Object.keys(request)));
      assert.deepEqual(answers[0]!.bytes, a3!.outgoing[0]!.bytes);
    }
  });

  test("with the preferred responder online, about backupResponders of the holders stand by; without, all do", () => {
    const verifySignature = cachedVerifier();
    const owner = identity(9);
    const a = identity(1);
    const x = craft(a, { kind: "content", sequence: 1, lamport: BigInt(T) });
    const ownerSync = craft(owner, { kind: "sync", lamport: BigInt(T + 1) });
    const others = Array.from({ length: 46 }, (_, i) =>
      craft(identity(100 + i), { kind: "sync", lamport: BigInt(T + 2) }),
    );
    const request = craft(identity(2), {
      kind: "sync",
      lamport: BigInt(T + 20_000),
      repairRequest: [{ messageId: x.id }],
    });
    const standing = (ownerOnline: boolean): number => {
      let n = 0;
      for (let seed = 1; seed <= 200; seed++) {
        const h = makeEngine({ n: 3, seed, verifySignature, preferredResponders: [owner.senderId] });
        h.receive(x.bytes, T);
        if (ownerOnline) h.receive(ownerSync.bytes, T + 1);
        for (const o of others) h.receive(o.bytes, T + 2);
        h.receive(request.bytes, T + 20_000);
        const answered = runTimers(h, T + 30_000)
          .flatMap((s) => s.step.outgoing)
          .some((o) => o.purpose === "repair-response");
        if (answered) n++;
      }
      return n;
    };
    const backups = makeEngine().params.backupResponders;
    const online = standing(true);
    // 49 known members (owner, author, asker, 46 others): each stands by with probability 4 / 49, 16 of 200 expected.
    const expected = (200 * backups) / 49;
    assert.ok(online >= expected / 2.5 && online <= expected * 2.5, `${online} of 200 stood by, ~${expected} expected`);
    assert.equal(standing(false), 200);
  });
});
