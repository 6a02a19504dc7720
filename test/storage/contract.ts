// The contract every Store implementation must pass. Each implementation's test file calls
// `storeContract` with a factory that returns (or resolves to: IndexedDB opens asynchronously) a fresh, empty store.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import fc from "fast-check";
import {
  compareIds,
  MAX_PAGE,
  type NewMessage,
  type Store,
  StoreClosedError,
  type StoredMessage,
  StoreNotFoundError,
} from "../../src/storage/store.js";

let counter = 0;

/** A valid message; `overrides` replace fields. Ids are unique unless given. */
export function msg(overrides: Partial<NewMessage> = {}): NewMessage {
  counter++;
  return {
    channelId: "chan-a",
    messageId: `m${String(counter).padStart(6, "0")}`,
    senderId: "alice",
    seq: counter,
    lamport: BigInt(counter),
    bytes: new Uint8Array([counter & 0xff, 1, 2, 3]),
    receivedAt: 1_700_000_000_000 + counter,
    ...overrides,
  };
}

function stored(m: NewMessage, deliveredPos: number | null = null): StoredMessage {
  return { ...m, bytes: new Uint8Array(m.bytes), deliveredPos };
}

function ids(messages: readonly StoredMessage[]): string[] {
  return messages.map((m) => m.messageId);
}

function byLamportThenId(a: NewMessage, b: NewMessage): number {
  if (a.lamport !== b.lamport) return a.lamport < b.lamport ? -1 : 1;
  return compareIds(a.messageId, b.messageId);
}

export function storeContract(name: string, makeStore: () => Store | Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(() => {
      store.close();
    });

    describe("messages", () => {
      it("round-trips every field and starts undelivered", () => {
        const m = msg({ seq: 7, lamport: 42n, bytes: new Uint8Array([9, 8, 7]) });
        assert.equal(store.putMessage(m), true);
        assert.deepEqual(store.getMessage(m.channelId, m.messageId), stored(m));
        assert.equal(store.hasMessage(m.channelId, m.messageId), true);
        assert.equal(store.countMessages(m.channelId), 1);
      });

      it("accepts a null sequence number and empty bytes", () => {
        const m = msg({ seq: null, bytes: new Uint8Array(0) });
        store.putMessage(m);
        assert.deepEqual(store.getMessage(m.channelId, m.messageId), stored(m));
      });

      it("returns undefined / false / 0 for what is not stored", () => {
        assert.equal(store.getMessage("nowhere", "nothing"), undefined);
        assert.equal(store.hasMessage("nowhere", "nothing"), false);
        assert.equal(store.countMessages("nowhere"), 0);
        store.putMessage(msg({ channelId: "c1", messageId: "x" }));
        assert.equal(store.getMessage("c1", "y"), undefined);
        assert.equal(store.getMessage("c2", "x"), undefined);
      });

      it("is idempotent: a second put of the same id returns false and keeps the first copy", () => {
        const m = msg();
        assert.equal(store.putMessage(m), true);
        assert.equal(store.putMessage({ ...m, bytes: new Uint8Array([0xee]), lamport: 999n }), false);
        assert.equal(store.putMessage(m), false);
        assert.equal(store.countMessages(m.channelId), 1);
        assert.deepEqual(store.getMessage(m.channelId, m.messageId), stored(m));
      });

      it("keeps channels apart: the same id in two channels is two messages", () => {
        const a = msg({ channelId: "c1", messageId: "same" });
        const b = msg({ channelId: "c2", messageId: "same", bytes: new Uint8Array([5]) });
        assert.equal(store.putMessage(a), true);
        assert.equal(store.putMessage(b), true);
        assert.deepEqual(store.getMessage("c1", "same")?.bytes, a.bytes);
        assert.deepEqual(store.getMessage("c2", "same")?.bytes, b.bytes);
        assert.equal(store.countMessages("c1"), 1);
      });

      it("copies bytes in and out: later mutation by the caller changes nothing stored", () => {
        const bytes = new Uint8Array([1, 2, 3]);
        const m = msg({ bytes });
        store.putMessage(m);
        bytes[0] = 99;
        const out = store.getMessage(m.channelId, m.messageId);
        assert.deepEqual(out?.bytes, new Uint8Array([1, 2, 3]));
        if (out) out.bytes[1] = 99;
        assert.deepEqual(store.getMessage(m.channelId, m.messageId)?.bytes, new Uint8Array([1, 2, 3]));
      });

      it("copies a Buffer's bytes too, and returns plain Uint8Arrays", () => {
        const buffer = Buffer.from([4, 5, 6]);
        const m = msg({ bytes: buffer });
        store.putMessage(m);
        buffer[0] = 99;
        const out = store.getMessage(m.channelId, m.messageId)?.bytes;
        assert.deepEqual(out, new Uint8Array([4, 5, 6]));
        assert.equal(Object.getPrototypeOf(out), Uint8Array.prototype);
      });

      it("keeps a retrieval hint given with the message, or set once later; the first one stays", () => {
        const hinted = msg({ retrievalHint: new Uint8Array(32).fill(1) });
        store.putMessage(hinted);
        assert.deepEqual(store.getMessage(hinted.channelId, hinted.messageId), stored(hinted));
        assert.equal(store.setRetrievalHint(hinted.channelId, hinted.messageId, Uint8Array.of(2)), false);
        assert.deepEqual(store.getMessage(hinted.channelId, hinted.messageId)?.retrievalHint, hinted.retrievalHint);

        const own = msg();
        store.putMessage(own);
        assert.equal(store.getMessage(own.channelId, own.messageId)?.retrievalHint, undefined);
        const hint = Uint8Array.of(9, 9, 9);
        assert.equal(store.setRetrievalHint(own.channelId, own.messageId, hint), true);
        hint[0] = 0;
        assert.deepEqual(store.getMessage(own.channelId, own.messageId)?.retrievalHint, Uint8Array.of(9, 9, 9));
        assert.deepEqual(
          store.listByLamport(own.channelId, { limit: 10 }).at(-1)?.retrievalHint,
          Uint8Array.of(9, 9, 9),
        );
        assert.throws(() => store.setRetrievalHint(own.channelId, "absent", hint), StoreNotFoundError);
        assert.throws(() => store.setRetrievalHint(own.channelId, own.messageId, new Uint8Array(0)), RangeError);
        assert.throws(
          () => store.putMessage(msg({ retrievalHint: new Uint8Array(257) })),
          /retrievalHint must be 1 to 256 bytes/,
        );
      });

      it("rolls back a retrieval hint set inside a failed transaction", () => {
        const m = msg();
        store.putMessage(m);
        assert.throws(() =>
          store.transaction(() => {
            store.setRetrievalHint(m.channelId, m.messageId, Uint8Array.of(1));
            throw new Error("undo");
          }),
        );
        assert.equal(store.getMessage(m.channelId, m.messageId)?.retrievalHint, undefined);
      });

      it("stores bytes up to a large message exactly", () => {
        const bytes = new Uint8Array(200_000).map((_, i) => (i * 31) & 0xff);
        const m = msg({ bytes });
        store.putMessage(m);
        assert.deepEqual(store.getMessage(m.channelId, m.messageId)?.bytes, bytes);
      });
    });

    describe("listBySender", () => {
      it("returns one sender's messages in an inclusive seq range, ordered by (seq, id), limited", () => {
        const c = "c";
        store.putMessage(msg({ channelId: c, senderId: "s", seq: 5, messageId: "e" }));
        store.putMessage(msg({ channelId: c, senderId: "s", seq: 1, messageId: "a" }));
        store.putMessage(msg({ channelId: c, senderId: "s", seq: 3, messageId: "c2" }));
        store.putMessage(msg({ channelId: c, senderId: "s", seq: 3, messageId: "c1" })); // equivocation: same seq
        store.putMessage(msg({ channelId: c, senderId: "s", seq: 2, messageId: "b" }));
        store.putMessage(msg({ channelId: c, senderId: "s", seq: null, messageId: "no-seq" }));
        store.putMessage(msg({ channelId: c, senderId: "t", seq: 2, messageId: "other-sender" }));
        store.putMessage(msg({ channelId: "d", senderId: "s", seq: 2, messageId: "other-channel" }));

        assert.deepEqual(ids(store.listBySender(c, "s", { fromSeq: 0, toSeq: 100, limit: 100 })), [
          "a",
          "b",
          "c1",
          "c2",
          "e",
        ]);
        assert.deepEqual(ids(store.listBySender(c, "s", { fromSeq: 2, toSeq: 3, limit: 100 })), ["b", "c1", "c2"]);
        assert.deepEqual(ids(store.listBySender(c, "s", { fromSeq: 3, toSeq: 3, limit: 100 })), ["c1", "c2"]);
        assert.deepEqual(ids(store.listBySender(c, "s", { fromSeq: 2, toSeq: 5, limit: 2 })), ["b", "c1"]);
        assert.deepEqual(ids(store.listBySender(c, "s", { fromSeq: 6, toSeq: 9, limit: 10 })), []);
        assert.deepEqual(ids(store.listBySender(c, "nobody", { fromSeq: 0, toSeq: 9, limit: 10 })), []);
        assert.deepEqual(ids(store.listBySender(c, "t", { fromSeq: 0, toSeq: 9, limit: 10 })), ["other-sender"]);
      });

      it("handles sequence numbers up to Number.MAX_SAFE_INTEGER", () => {
        const big = Number.MAX_SAFE_INTEGER;
        store.putMessage(msg({ channelId: "c", senderId: "s", seq: big, messageId: "max" }));
        store.putMessage(msg({ channelId: "c", senderId: "s", seq: 0, messageId: "zero" }));
        const all = store.listBySender("c", "s", { fromSeq: 0, toSeq: big, limit: 10 });
        assert.deepEqual(ids(all), ["zero", "max"]);
        assert.equal(all[1]?.seq, big);
      });
    });

    describe("listByLamport", () => {
      it("orders by (lamport, messageId) and pages with the last result as cursor", () => {
        const c = "c";
        const input = [
          msg({ channelId: c, lamport: 5n, messageId: "b" }),
          msg({ channelId: c, lamport: 1n, messageId: "z" }),
          msg({ channelId: c, lamport: 5n, messageId: "a" }),
          msg({ channelId: c, lamport: 3n, messageId: "m" }),
          msg({ channelId: c, lamport: 5n, messageId: "c" }),
          msg({ channelId: c, lamport: 9n, messageId: "a" + "x" }),
        ];
        for (const m of input) store.putMessage(m);
        store.putMessage(msg({ channelId: "other", lamport: 2n, messageId: "q" }));
        const expected = ["z", "m", "a", "b", "c", "ax"];
        assert.deepEqual(ids(store.listByLamport(c, { limit: 100 })), expected);

        const pages: string[][] = [];
        let after: { lamport: bigint; messageId: string } | undefined;
        for (;;) {
          const page = store.listByLamport(c, { limit: 2, ...(after ? { after } : {}) });
          if (page.length === 0) break;
          pages.push(ids(page));
          const last = page[page.length - 1] as StoredMessage;
          after = { lamport: last.lamport, messageId: last.messageId };
        }
        assert.deepEqual(pages, [
          ["z", "m"],
          ["a", "b"],
          ["c", "ax"],
        ]);
      });

      it("accepts a cursor that is not a stored message", () => {
        for (const [l, id] of [
          [1n, "a"],
          [2n, "a"],
          [2n, "c"],
          [3n, "a"],
        ] as const) {
          store.putMessage(msg({ channelId: "c", lamport: l, messageId: `${id}${l}` }));
        }
        assert.deepEqual(ids(store.listByLamport("c", { after: { lamport: 2n, messageId: "b" }, limit: 10 })), [
          "c2",
          "a3",
        ]);
        assert.deepEqual(ids(store.listByLamport("c", { after: { lamport: 9n, messageId: "a" }, limit: 10 })), []);
      });

      it("orders the whole uint64 range of Lamport timestamps", () => {
        const values = [0n, 1n, (1n << 63n) - 1n, 1n << 63n, (1n << 63n) + 1n, (1n << 64n) - 1n];
        for (const [i, l] of [...values].reverse().entries()) {
          store.putMessage(msg({ channelId: "c", lamport: l, messageId: `id${i}` }));
        }
        const out = store.listByLamport("c", { limit: 10 });
        assert.deepEqual(
          out.map((m) => m.lamport),
          values,
        );
        const after = { lamport: (1n << 63n) - 1n, messageId: "zzzz" };
        assert.deepEqual(
          store.listByLamport("c", { after, limit: 10 }).map((m) => m.lamport),
          values.slice(3),
        );
      });

      it("orders ids by code point, the same in every implementation", () => {
        // UTF-16 code-unit order puts U+1F600 (a surrogate pair) before U+FFFD; code point order after.
        const idList = ["\u{1F600}", "\uFFFD", "b", "a", "\u00e9", "aa", "A"];
        for (const id of idList) store.putMessage(msg({ channelId: "c", lamport: 1n, messageId: id }));
        const expected = ["A", "a", "aa", "b", "\u00e9", "\uFFFD", "\u{1F600}"];
        assert.deepEqual(ids(store.listByLamport("c", { limit: 10 })), expected);
        assert.deepEqual(ids(store.listByLamport("c", { after: { lamport: 1n, messageId: "\uFFFD" }, limit: 10 })), [
          "\u{1F600}",
        ]);
      });
    });

    describe("delivered log", () => {
      it("assigns positions 1, 2, 3 in call order, idempotently", () => {
        const a = msg({ lamport: 3n });
        const b = msg({ lamport: 1n });
        const c = msg({ lamport: 2n });
        for (const m of [a, b, c]) store.putMessage(m);
        assert.equal(store.countDelivered("chan-a"), 0);
        assert.equal(store.markDelivered("chan-a", b.messageId), 1);
        assert.equal(store.markDelivered("chan-a", a.messageId), 2);
        assert.equal(store.markDelivered("chan-a", b.messageId), 1);
        assert.equal(store.markDelivered("chan-a", c.messageId), 3);
        assert.equal(store.countDelivered("chan-a"), 3);
        assert.equal(store.getMessage("chan-a", a.messageId)?.deliveredPos, 2);
        assert.deepEqual(store.listDelivered("chan-a", { limit: 10 }), [stored(b, 1), stored(a, 2), stored(c, 3)]);
        assert.deepEqual(ids(store.listDelivered("chan-a", { after: 1, limit: 10 })), [a.messageId, c.messageId]);
        assert.deepEqual(ids(store.listDelivered("chan-a", { after: 0, limit: 2 })), [b.messageId, a.messageId]);
        assert.deepEqual(ids(store.listDelivered("chan-a", { after: 3, limit: 2 })), []);
      });

      it("keeps one delivered log per channel", () => {
        const a = msg({ channelId: "c1" });
        const b = msg({ channelId: "c2" });
        store.putMessage(a);
        store.putMessage(b);
        assert.equal(store.markDelivered("c2", b.messageId), 1);
        assert.equal(store.markDelivered("c1", a.messageId), 1);
        assert.equal(store.countDelivered("c1"), 1);
        assert.equal(store.countDelivered("nowhere"), 0);
        assert.deepEqual(store.listDelivered("nowhere", { limit: 5 }), []);
      });

      it("refuses to deliver a message that is not stored", () => {
        assert.throws(() => store.markDelivered("chan-a", "ghost"), StoreNotFoundError);
        assert.throws(() => store.markDelivered("chan-a", "ghost"), /markDelivered: message "ghost" is not stored/);
        assert.equal(store.countDelivered("chan-a"), 0);
      });

      it("lists undelivered messages in (lamport, id) order, with paging", () => {
        const input = [5n, 1n, 4n, 2n, 3n].map((l) => msg({ channelId: "c", lamport: l, messageId: `u${l}` }));
        for (const m of input) store.putMessage(m);
        store.markDelivered("c", "u2");
        store.markDelivered("c", "u4");
        assert.deepEqual(ids(store.listUndelivered("c", { limit: 10 })), ["u1", "u3", "u5"]);
        assert.deepEqual(ids(store.listUndelivered("c", { limit: 1, after: { lamport: 1n, messageId: "u1" } })), [
          "u3",
        ]);
        for (const m of input) store.markDelivered("c", m.messageId);
        assert.deepEqual(store.listUndelivered("c", { limit: 10 }), []);
      });
    });

    describe("snapshots, identity, channels", () => {
      it("keeps one snapshot per channel, last write wins", () => {
        assert.equal(store.getSnapshot("c1"), undefined);
        store.putSnapshot("c1", '{"v":1}');
        store.putSnapshot("c2", '{"v":"other"}');
        store.putSnapshot("c1", '{"v":2}');
        assert.equal(store.getSnapshot("c1"), '{"v":2}');
        assert.equal(store.getSnapshot("c2"), '{"v":"other"}');
        store.putSnapshot("c1", "");
        assert.equal(store.getSnapshot("c1"), "");
      });

      it("stores the 32-byte identity and hands out copies", () => {
        assert.equal(store.getIdentity(), undefined);
        const key = new Uint8Array(32).map((_, i) => i);
        store.setIdentity(key);
        key[0] = 0xff;
        const out = store.getIdentity();
        assert.deepEqual(
          out,
          new Uint8Array(32).map((_, i) => i),
        );
        if (out) out[1] = 0xff;
        assert.equal(store.getIdentity()?.[1], 1);
        store.setIdentity(new Uint8Array(32).fill(7));
        assert.deepEqual(store.getIdentity(), new Uint8Array(32).fill(7));
      });

      it("joins and leaves channels idempotently and lists them sorted", () => {
        assert.deepEqual(store.listChannels(), []);
        store.joinChannel("zeta");
        store.joinChannel("alpha");
        store.joinChannel("zeta");
        store.joinChannel("mid");
        assert.deepEqual(store.listChannels(), ["alpha", "mid", "zeta"]);
        store.leaveChannel("mid");
        store.leaveChannel("never-joined");
        assert.deepEqual(store.listChannels(), ["alpha", "zeta"]);
      });

      it("leaving a channel keeps its messages", () => {
        store.joinChannel("c");
        const m = msg({ channelId: "c" });
        store.putMessage(m);
        store.leaveChannel("c");
        assert.equal(store.hasMessage("c", m.messageId), true);
      });
    });

    describe("transactions", () => {
      it("commits every write and returns fn's result", () => {
        const m = msg();
        const result = store.transaction(() => {
          store.putMessage(m);
          const pos = store.markDelivered(m.channelId, m.messageId);
          store.putSnapshot(m.channelId, `{"delivered":${pos}}`);
          return pos;
        });
        assert.equal(result, 1);
        assert.equal(store.getMessage(m.channelId, m.messageId)?.deliveredPos, 1);
        assert.equal(store.getSnapshot(m.channelId), '{"delivered":1}');
      });

      it("rolls back every kind of write when fn throws, and rethrows the same error", () => {
        const before = msg();
        store.putMessage(before);
        store.putSnapshot("chan-a", "old");
        store.joinChannel("kept");
        const key = new Uint8Array(32).fill(1);
        store.setIdentity(key);

        const boom = new Error("boom");
        const m = msg();
        assert.throws(
          () =>
            store.transaction(() => {
              store.putMessage(m);
              store.markDelivered("chan-a", before.messageId);
              store.markDelivered("chan-a", m.messageId);
              store.putSnapshot("chan-a", "new");
              store.putSnapshot("fresh", "new");
              store.setIdentity(new Uint8Array(32).fill(2));
              store.joinChannel("joined-in-tx");
              store.leaveChannel("kept");
              // Writes are visible inside the transaction.
              assert.equal(store.hasMessage("chan-a", m.messageId), true);
              assert.equal(store.countDelivered("chan-a"), 2);
              throw boom;
            }),
          (error) => error === boom,
        );

        assert.equal(store.hasMessage("chan-a", m.messageId), false);
        assert.equal(store.countMessages("chan-a"), 1);
        assert.equal(store.countDelivered("chan-a"), 0);
        assert.equal(store.getMessage("chan-a", before.messageId)?.deliveredPos, null);
        assert.deepEqual(ids(store.listUndelivered("chan-a", { limit: 10 })), [before.messageId]);
        assert.equal(store.getSnapshot("chan-a"), "old");
        assert.equal(store.getSnapshot("fresh"), undefined);
        assert.deepEqual(store.getIdentity(), key);
        assert.deepEqual(store.listChannels(), ["kept"]);

        // The store is fully usable afterwards, and positions continue from the committed state.
        store.putMessage(m);
        assert.equal(store.markDelivered("chan-a", m.messageId), 1);
      });

      it("nests: an inner failure caught by the outer fn undoes only the inner writes", () => {
        const outer = msg();
        const inner = msg();
        store.transaction(() => {
          store.putMessage(outer);
          assert.throws(
            () =>
              store.transaction(() => {
                store.putMessage(inner);
                store.markDelivered("chan-a", outer.messageId);
                throw new Error("inner");
              }),
            /inner/,
          );
          assert.equal(store.hasMessage("chan-a", inner.messageId), false);
          store.putSnapshot("chan-a", "after-inner");
        });
        assert.equal(store.hasMessage("chan-a", outer.messageId), true);
        assert.equal(store.hasMessage("chan-a", inner.messageId), false);
        assert.equal(store.countDelivered("chan-a"), 0);
        assert.equal(store.getSnapshot("chan-a"), "after-inner");
      });

      it("an outer failure also undoes a committed inner transaction", () => {
        const m = msg();
        assert.throws(() =>
          store.transaction(() => {
            store.transaction(() => store.putMessage(m));
            throw new Error("outer");
          }),
        );
        assert.equal(store.hasMessage(m.channelId, m.messageId), false);
      });

      it("rejects an async fn with a TypeError and rolls back what it wrote synchronously", () => {
        const m = msg();
        assert.throws(
          () =>
            store.transaction(async () => {
              store.putMessage(m);
            }),
          (e: unknown) => e instanceof TypeError && /must be synchronous/.test(e.message),
        );
        assert.equal(store.hasMessage(m.channelId, m.messageId), false);
      });

      it("a crash between storing and delivering leaves the message stored and undelivered", () => {
        // The node's pattern: store on receipt (own transaction), deliver + snapshot later (another).
        const m = msg();
        store.transaction(() => store.putMessage(m));
        assert.throws(() =>
          store.transaction(() => {
            store.markDelivered(m.channelId, m.messageId);
            throw new Error("crash before the snapshot is written");
          }),
        );
        assert.deepEqual(ids(store.listUndelivered(m.channelId, { limit: 10 })), [m.messageId]);
        assert.equal(store.countDelivered(m.channelId), 0);
      });
    });

    describe("argument checks", () => {
      const cases: [string, () => unknown, ErrorConstructor, RegExp][] = [
        ["empty channelId", () => store.getMessage("", "x"), RangeError, /channelId must not be empty/],
        ["numeric channelId", () => store.hasMessage(5 as never, "x"), TypeError, /channelId must be a string, got 5/],
        ["empty messageId", () => store.markDelivered("c", ""), RangeError, /messageId must not be empty/],
        [
          "undefined senderId",
          () => store.listBySender("c", undefined as never, { fromSeq: 0, toSeq: 1, limit: 1 }),
          TypeError,
          /senderId must be a string/,
        ],
        ["overlong id", () => store.joinChannel("x".repeat(513)), RangeError, /channelId must be at most 512/],
        ["lone surrogate", () => store.joinChannel("a\uD800b"), RangeError, /channelId must be well-formed/],
        ["message not an object", () => store.putMessage(null as never), TypeError, /message must be an object/],
        [
          "message empty channelId",
          () => store.putMessage(msg({ channelId: "" })),
          RangeError,
          /message\.channelId must not be empty/,
        ],
        ["message empty messageId", () => store.putMessage(msg({ messageId: "" })), RangeError, /message\.messageId/],
        ["message empty senderId", () => store.putMessage(msg({ senderId: "" })), RangeError, /message\.senderId/],
        [
          "lamport as number",
          () => store.putMessage(msg({ lamport: 5 as never })),
          TypeError,
          /message\.lamport must be a bigint/,
        ],
        [
          "negative lamport",
          () => store.putMessage(msg({ lamport: -1n })),
          RangeError,
          /message\.lamport must fit in uint64/,
        ],
        ["lamport 2^64", () => store.putMessage(msg({ lamport: 1n << 64n })), RangeError, /message\.lamport/],
        [
          "seq as string",
          () => store.putMessage(msg({ seq: "1" as never })),
          TypeError,
          /message\.seq must be a number/,
        ],
        [
          "negative seq",
          () => store.putMessage(msg({ seq: -1 })),
          RangeError,
          /message\.seq must be a non-negative safe integer/,
        ],
        ["fractional seq", () => store.putMessage(msg({ seq: 1.5 })), RangeError, /message\.seq/],
        [
          "bytes as array",
          () => store.putMessage(msg({ bytes: [1] as never })),
          TypeError,
          /message\.bytes must be a Uint8Array/,
        ],
        [
          "receivedAt as Date",
          () => store.putMessage(msg({ receivedAt: new Date() as never })),
          TypeError,
          /message\.receivedAt/,
        ],
        ["range missing", () => store.listByLamport("c", undefined as never), TypeError, /range must be an object/],
        ["limit 0", () => store.listByLamport("c", { limit: 0 }), RangeError, /range\.limit must be an integer from 1/],
        ["limit too big", () => store.listDelivered("c", { limit: MAX_PAGE + 1 }), RangeError, /range\.limit/],
        ["limit missing", () => store.listUndelivered("c", {} as never), TypeError, /range\.limit must be a number/],
        [
          "cursor lamport number",
          () => store.listByLamport("c", { limit: 1, after: { lamport: 1 as never, messageId: "a" } }),
          TypeError,
          /range\.after\.lamport/,
        ],
        [
          "cursor empty id",
          () => store.listByLamport("c", { limit: 1, after: { lamport: 1n, messageId: "" } }),
          RangeError,
          /range\.after\.messageId/,
        ],
        [
          "seq range inverted",
          () => store.listBySender("c", "s", { fromSeq: 5, toSeq: 4, limit: 1 }),
          RangeError,
          /range\.toSeq \(4\) must not be below range\.fromSeq \(5\)/,
        ],
        [
          "delivered after negative",
          () => store.listDelivered("c", { after: -1, limit: 1 }),
          RangeError,
          /range\.after/,
        ],
        ["snapshot as object", () => store.putSnapshot("c", {} as never), TypeError, /json must be a string/],
        [
          "identity 31 bytes",
          () => store.setIdentity(new Uint8Array(31)),
          RangeError,
          /secretKey must be 32 bytes, got 31/,
        ],
        ["identity as string", () => store.setIdentity("k" as never), TypeError, /secretKey must be a Uint8Array/],
        ["transaction without fn", () => store.transaction(undefined as never), TypeError, /fn must be a function/],
      ];
      for (const [label, call, type, message] of cases) {
        it(`${label}: ${type.name} ${message}`, () => {
          assert.throws(call, (e: unknown) => e instanceof type && message.test((e as Error).message));
        });
      }

      it("a rejected put writes nothing", () => {
        assert.throws(() => store.putMessage(msg({ channelId: "c", lamport: -1n })));
        assert.equal(store.countMessages("c"), 0);
      });
    });

    describe("close", () => {
      it("is idempotent and makes every other method throw StoreClosedError", () => {
        store.close();
        store.close();
        const calls: (() => unknown)[] = [
          () => store.putMessage(msg()),
          () => store.getMessage("c", "m"),
          () => store.hasMessage("c", "m"),
          () => store.countMessages("c"),
          () => store.listBySender("c", "s", { fromSeq: 0, toSeq: 1, limit: 1 }),
          () => store.listByLamport("c", { limit: 1 }),
          () => store.listUndelivered("c", { limit: 1 }),
          () => store.markDelivered("c", "m"),
          () => store.setRetrievalHint("c", "m", Uint8Array.of(1)),
          () => store.listDelivered("c", { limit: 1 }),
          () => store.countDelivered("c"),
          () => store.getSnapshot("c"),
          () => store.putSnapshot("c", "{}"),
          () => store.getIdentity(),
          () => store.setIdentity(new Uint8Array(32)),
          () => store.joinChannel("c"),
          () => store.leaveChannel("c"),
          () => store.listChannels(),
          () => store.transaction(() => 1),
        ];
        for (const call of calls) assert.throws(call, StoreClosedError);
      });
    });

    describe("against a reference model", () => {
      it("answers every query like a naive sorted list, for random inputs", async () => {
        const idChars = fc.constantFrom("a", "b", "c", "\u00e9", "\uFFFD", "\u{1F600}");
        const message = fc.record({
          channelId: fc.constantFrom("c1", "c2"),
          messageId: fc.string({ unit: idChars, minLength: 1, maxLength: 3 }),
          senderId: fc.constantFrom("s1", "s2", "s3"),
          seq: fc.option(fc.nat(6), { nil: null }),
          lamport: fc.bigInt({ min: 0n, max: 6n }),
          bytes: fc.uint8Array({ maxLength: 4 }),
          receivedAt: fc.nat(1000),
        });
        await fc.assert(
          fc.asyncProperty(fc.array(message, { maxLength: 40 }), fc.array(fc.nat(60)), async (input, deliverPicks) => {
            const s = await makeStore();
            try {
              const model = new Map<string, Map<string, NewMessage>>();
              for (const m of input) {
                const channel = model.get(m.channelId) ?? new Map<string, NewMessage>();
                model.set(m.channelId, channel);
                const isNew = !channel.has(m.messageId);
                if (isNew) channel.set(m.messageId, m);
                assert.equal(s.putMessage(m), isNew);
              }
              const deliveredOrder = new Map<string, string[]>();
              for (const pick of deliverPicks) {
                const m = input[pick % Math.max(1, input.length)];
                if (m === undefined) break;
                const order = deliveredOrder.get(m.channelId) ?? [];
                deliveredOrder.set(m.channelId, order);
                if (!order.includes(m.messageId)) order.push(m.messageId);
                assert.equal(s.markDelivered(m.channelId, m.messageId), order.indexOf(m.messageId) + 1);
              }
              for (const [channelId, channel] of model) {
                const all = [...channel.values()].sort(byLamportThenId);
                const order = deliveredOrder.get(channelId) ?? [];
                assert.equal(s.countMessages(channelId), all.length);
                assert.deepEqual(ids(s.listByLamport(channelId, { limit: MAX_PAGE })), ids(all.map((m) => stored(m))));
                const mid = all[Math.floor(all.length / 2)];
                if (mid) {
                  const after = { lamport: mid.lamport, messageId: mid.messageId };
                  assert.deepEqual(
                    ids(s.listByLamport(channelId, { after, limit: 3 })),
                    all
                      .filter((m) => byLamportThenId(m, mid) > 0)
                      .slice(0, 3)
                      .map((m) => m.messageId),
                  );
                }
                assert.deepEqual(
                  ids(s.listUndelivered(channelId, { limit: MAX_PAGE })),
                  all.filter((m) => !order.includes(m.messageId)).map((m) => m.messageId),
                );
                assert.deepEqual(ids(s.listDelivered(channelId, { limit: MAX_PAGE })), order);
                for (const senderId of ["s1", "s2", "s3"]) {
                  const expected = all
                    .filter((m) => m.senderId === senderId && m.seq !== null && m.seq >= 1 && m.seq <= 4)
                    .sort((a, b) => (a.seq as number) - (b.seq as number) || compareIds(a.messageId, b.messageId));
                  assert.deepEqual(
                    ids(s.listBySender(channelId, senderId, { fromSeq: 1, toSeq: 4, limit: MAX_PAGE })),
                    expected.map((m) => m.messageId),
                  );
                }
                for (const m of channel.values()) {
                  const pos = order.indexOf(m.messageId);
                  assert.deepEqual(s.getMessage(channelId, m.messageId), stored(m, pos < 0 ? null : pos + 1));
                }
              }
            } finally {
              s.close();
            }
          }),
          { numRuns: 60, seed: 20240601 },
        );
      });
    });
  });
}
