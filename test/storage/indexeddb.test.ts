// The IndexedDB store in Node, on fake-indexeddb (a pure-JS IndexedDB): the Store contract, then what is its
// own: reopening sees everything, a crash keeps a prefix of whole batches, bad options and damaged data get
// clear errors, and a refused write stops the store writing.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IDBFactory } from "fake-indexeddb";
import fc from "fast-check";
import { IndexedDbStore, IndexedDbWriteError } from "../../src/storage/indexeddb-store.js";
import { MAX_PAGE, type Store } from "../../src/storage/store.js";
import { msg, storeContract } from "./contract.js";

const factory = new IDBFactory();
let databases = 0;
const fresh = () => IndexedDbStore.open({ name: `contract-${++databases}`, indexedDB: factory });

storeContract("IndexedDbStore (fake-indexeddb)", fresh);
storeContract("IndexedDbStore (flushDelayMs 5, relaxed)", () =>
  IndexedDbStore.open({ name: `delayed-${++databases}`, indexedDB: factory, flushDelayMs: 5, durability: "relaxed" }),
);

/** Everything a store answers about the channels it was given, as plain data. */
function dump(store: Store, channels: readonly string[]) {
  return {
    identity: store.getIdentity(),
    joined: store.listChannels(),
    channels: channels.map((c) => ({
      snapshot: store.getSnapshot(c),
      all: store.listByLamport(c, { limit: MAX_PAGE }),
      delivered: store.listDelivered(c, { limit: MAX_PAGE }).map((m) => m.messageId),
      undelivered: store.listUndelivered(c, { limit: MAX_PAGE }).map((m) => m.messageId),
      bySender: store.listBySender(c, "alice", { fromSeq: 0, toSeq: Number.MAX_SAFE_INTEGER, limit: MAX_PAGE }),
    })),
  };
}

describe("IndexedDbStore", () => {
  it("sees after reopening everything it held, for random writes, rollbacks and hints", async () => {
    const write = fc.oneof(
      fc.record({
        kind: fc.constant("put" as const),
        channel: fc.constantFrom("c1", "c2"),
        lamport: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      }),
      fc.record({ kind: fc.constant("deliver" as const), pick: fc.nat(50) }),
      fc.record({ kind: fc.constant("hint" as const), pick: fc.nat(50) }),
      fc.record({ kind: fc.constant("snapshot" as const), channel: fc.constantFrom("c1", "c2"), json: fc.json() }),
      fc.record({ kind: fc.constant("join" as const), channel: fc.constantFrom("c1", "c2", "c3") }),
      fc.record({ kind: fc.constant("leave" as const), channel: fc.constantFrom("c1", "c2", "c3") }),
      fc.record({ kind: fc.constant("failedTransaction" as const), channel: fc.constantFrom("c1", "c2") }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(write, { maxLength: 6 }), { maxLength: 12 }), async (batches) => {
        const name = `reopen-${++databases}`;
        const first = await IndexedDbStore.open({ name, indexedDB: factory });
        const put: { channelId: string; messageId: string }[] = [];
        first.setIdentity(new Uint8Array(32).fill(databases & 0xff));
        for (const batch of batches) {
          first.transaction(() => {
            for (const w of batch) {
              const target = put[((w as { pick?: number }).pick ?? 0) % Math.max(1, put.length)];
              if (w.kind === "put") {
                const m = msg({
                  channelId: w.channel,
                  lamport: w.lamport,
                  seq: put.length % 3 === 0 ? null : put.length,
                });
                first.putMessage(m);
                put.push(m);
              } else if (w.kind === "deliver" && target) first.markDelivered(target.channelId, target.messageId);
              else if (w.kind === "hint" && target)
                first.setRetrievalHint(target.channelId, target.messageId, Uint8Array.of(put.length & 0xff, 7));
              else if (w.kind === "snapshot") first.putSnapshot(w.channel, w.json);
              else if (w.kind === "join") first.joinChannel(w.channel);
              else if (w.kind === "leave") first.leaveChannel(w.channel);
              else if (w.kind === "failedTransaction") {
                assert.throws(() =>
                  first.transaction(() => {
                    first.putMessage(msg({ channelId: w.channel }));
                    first.putSnapshot(w.channel, "rolled back");
                    throw new Error("rolled back");
                  }),
                );
              }
            }
          });
        }
        const before = dump(first, ["c1", "c2"]);
        first.close();
        await first.flush();
        const second = await IndexedDbStore.open({ name, indexedDB: factory });
        try {
          assert.deepEqual(dump(second, ["c1", "c2"]), before);
        } finally {
          second.close();
        }
      }),
      { numRuns: 25, seed: 20261207 },
    );
  });

  it("after a crash holds a prefix of whole batches: a flushed one entire, an unflushed one not at all", async () => {
    const name = `crash-${++databases}`;
    // A long flush delay stands for the tab dying before the write: nothing of batch 2 reaches IndexedDB.
    const dying = await IndexedDbStore.open({ name, indexedDB: factory, flushDelayMs: 60_000 });
    const a = msg({ channelId: "c" });
    const b = msg({ channelId: "c" });
    dying.transaction(() => {
      dying.putMessage(a);
      dying.markDelivered("c", a.messageId);
      dying.putSnapshot("c", "after a");
    });
    await dying.flush();
    dying.transaction(() => {
      dying.putMessage(b);
      dying.markDelivered("c", b.messageId);
      dying.putSnapshot("c", "after b");
    });
    assert.ok(dying.backlog > b.bytes.length, "batch 2 waits in memory");

    const reloaded = await IndexedDbStore.open({ name, indexedDB: factory });
    try {
      assert.deepEqual(
        reloaded.listDelivered("c", { limit: 10 }).map((m) => m.messageId),
        [a.messageId],
      );
      assert.equal(reloaded.hasMessage("c", b.messageId), false);
      assert.equal(reloaded.getSnapshot("c"), "after a", "the snapshot that reflects the durable messages");
    } finally {
      reloaded.close();
      // The dying store's timer would write batch 2 later; closing it now writes it, as a clean exit does.
      dying.close();
      await dying.flush();
    }
    const after = await IndexedDbStore.open({ name, indexedDB: factory });
    assert.equal(after.getSnapshot("c"), "after b", "close wrote what was waiting");
    after.close();
  });

  it("bounds what waits for IndexedDB, refusing the write that would exceed it and keeping what is stored", async () => {
    const store = await IndexedDbStore.open({
      name: `bounded-${++databases}`,
      indexedDB: factory,
      flushDelayMs: 60_000,
      maxBacklogBytes: 4_096,
    });
    const kept = msg({ bytes: new Uint8Array(1_000) });
    store.putMessage(kept);
    const big = msg({ bytes: new Uint8Array(4_000) });
    assert.throws(() => store.putMessage(big), /bytes behind; \d+ more exceed maxBacklogBytes 4096/);
    assert.equal(store.hasMessage(big.channelId, big.messageId), false);
    assert.equal(store.hasMessage(kept.channelId, kept.messageId), true);
    await store.flush();
    assert.equal(store.backlog, 0);
    // Alone, a write larger than the bound is taken: nothing else waits.
    store.putMessage(big);
    store.close();
    await store.flush();
  });

  it("refuses bad options with errors that name them", async () => {
    await assert.rejects(
      IndexedDbStore.open({ name: "", indexedDB: factory }),
      /options.name must be a string of 1 to 256/,
    );
    await assert.rejects(IndexedDbStore.open({ name: "x" }), /no IndexedDB here: pass options.indexedDB/);
    await assert.rejects(
      IndexedDbStore.open({ name: "x", indexedDB: factory, flushDelayMs: -1 }),
      /flushDelayMs must be an integer from 0 to 60000, got -1/,
    );
    await assert.rejects(
      IndexedDbStore.open({ name: "x", indexedDB: factory, durability: "lazy" as "strict" }),
      /durability must be "strict" or "relaxed"/,
    );
  });

  it("refuses a database at a newer schema version, and one whose delivered log has a hole, without changing it", async () => {
    const newer = `newer-${++databases}`;
    await new Promise<void>((resolve, reject) => {
      const req = factory.open(newer, 99);
      req.onsuccess = () => {
        req.result.close();
        resolve();
      };
      req.onerror = () => reject(req.error);
    });
    await assert.rejects(IndexedDbStore.open({ name: newer, indexedDB: factory }), /newer schema than version 1/);

    const holed = `holed-${++databases}`;
    const store = await IndexedDbStore.open({ name: holed, indexedDB: factory });
    const m = msg({ channelId: "c" });
    const next = msg({ channelId: "c" });
    store.putMessage(m);
    store.putMessage(next);
    store.markDelivered("c", m.messageId);
    store.close();
    await store.flush();
    await new Promise<void>((resolve, reject) => {
      const req = factory.open(holed, 1);
      req.onsuccess = () => {
        const tx = req.result.transaction("delivered", "readwrite");
        tx.objectStore("delivered").put({ channelId: "c", pos: 3, messageId: next.messageId });
        tx.oncomplete = () => {
          req.result.close();
          resolve();
        };
        tx.onabort = () => reject(tx.error);
      };
    });
    await assert.rejects(
      IndexedDbStore.open({ name: holed, indexedDB: factory }),
      /is damaged: channel "c" has delivered position 3 where 2 was due/,
    );
  });

  it("stops writing once IndexedDB refused a write: later writes and flush throw IndexedDbWriteError", async () => {
    const name = `refused-${++databases}`;
    const store = await IndexedDbStore.open({ name, indexedDB: factory });
    store.putMessage(msg({ channelId: "c" }));
    await store.flush();
    // The database is deleted underneath (another tab, the user clearing site data): its connection closes.
    (store as unknown as { db: IDBDatabase }).db.close();
    store.putMessage(msg({ channelId: "c" }));
    await assert.rejects(store.flush(), IndexedDbWriteError);
    assert.throws(() => store.putMessage(msg({ channelId: "c" })), IndexedDbWriteError);
    assert.equal(store.countMessages("c"), 2, "reads still answer from memory");
    store.close();
  });
});
