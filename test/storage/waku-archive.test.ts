import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { create, fromBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { MIGRATIONS, SqliteStore } from "../../src/storage/sqlite-store.js";
import { ARCHIVE_QUERIES, WakuArchive } from "../../src/storage/waku-archive.js";
import {
  answerStoreQuery,
  compareArchived,
  STORE_DEFAULT_PAGE_SIZE,
  STORE_MAX_PAGE_SIZE,
} from "../../src/storage/waku-store-query.js";
import { StoreQueryRequestSchema, StoreQueryResponseSchema } from "../../src/wire/gen/waku/v2/store_pb.js";
import { decodeWakuMessage, encodeWakuMessage, wakuMessageHash } from "../../src/wire/waku-message.js";
import { encodeStoreQueryResponse } from "../../src/wire/waku-rpc.js";
import { msg } from "./contract.js";

const dir = mkdtempSync(join(tmpdir(), "chorus-waku-archive-"));
let files = 0;
const freshPath = () => join(dir, `archive-${++files}.db`);
after(() => rmSync(dir, { recursive: true, force: true }));

const PUBSUB = "/waku/2/rs/42/0";
const NOW_MS = 1_800_000_000_000;
const NS = 1_000_000n;

interface Made {
  hash: Uint8Array;
  envelope: Uint8Array;
  pubsubTopic: string;
  contentTopic: string;
  timestamp: bigint;
}

function make(contentTopic: string, timestamp: bigint | undefined, text: string, pubsubTopic = PUBSUB): Made {
  const envelope = encodeWakuMessage({
    payload: new TextEncoder().encode(text),
    contentTopic,
    ...(timestamp === undefined ? {} : { timestamp }),
  });
  const decoded = decodeWakuMessage(envelope);
  return {
    hash: wakuMessageHash(pubsubTopic, decoded),
    envelope,
    pubsubTopic,
    contentTopic,
    timestamp: timestamp ?? 0n,
  };
}

function put(archive: WakuArchive, m: Made, receivedAtMs = NOW_MS): boolean {
  return archive.add(m, receivedAtMs);
}

type RequestInit = Parameters<typeof create<typeof StoreQueryRequestSchema>>[1];

function query(archive: WakuArchive, init: RequestInit) {
  const request = create(StoreQueryRequestSchema, { requestId: "r", includeData: true, ...init });
  const answer = answerStoreQuery(archive, request);
  // Through the wire, as a client sees it.
  return fromBinary(StoreQueryResponseSchema, encodeStoreQueryResponse(answer.head, answer.entries));
}

const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString("hex");

describe("Waku archive (SQLite)", () => {
  it("is migration 3 of the node database, and an existing version-2 database keeps its data", () => {
    const path = freshPath();
    const v1 = new SqliteStore({ path, migrations: MIGRATIONS.slice(0, 2) });
    const kept = msg({ channelId: "c" });
    v1.putMessage(kept);
    v1.close();
    const store = new SqliteStore({ path });
    assert.equal(store.schemaVersion(), 3);
    assert.deepEqual(store.getMessage("c", kept.messageId)?.bytes, kept.bytes);
    const archive = store.wakuArchive();
    const m = make("/app/1/a/proto", BigInt(NOW_MS) * NS, "hello");
    assert.equal(put(archive, m), true);
    store.close();
    const reopened = new SqliteStore({ path });
    assert.equal(reopened.wakuArchive().size(), 1);
    reopened.close();
  });

  it("keeps each envelope once, byte for byte, under its hash", () => {
    const archive = WakuArchive.inMemory();
    const m = make("/app/1/a/proto", BigInt(NOW_MS) * NS, "hello");
    assert.equal(put(archive, m), true);
    assert.equal(put(archive, m), false);
    assert.equal(archive.size(), 1);
    const [stored] = archive.byHashes([m.hash]);
    assert.deepEqual(stored?.envelope, m.envelope);
    assert.equal(stored?.timestamp, BigInt(NOW_MS) * NS);
    assert.equal(stored?.pubsubTopic, PUBSUB);
  });

  it("files a message without a timestamp under its arrival time", () => {
    const archive = WakuArchive.inMemory();
    const m = make("/app/1/a/proto", undefined, "no time");
    put(archive, m, NOW_MS + 7);
    assert.equal(archive.position(m.hash)?.timestamp, BigInt(NOW_MS + 7) * NS);
  });

  it("bounds what it keeps by count (oldest first) and by age", () => {
    const archive = WakuArchive.inMemory({ maxMessages: 5, maxAgeMs: 60_000 });
    const made = Array.from({ length: 8 }, (_, i) => make("/app/1/a/proto", BigInt(NOW_MS + i) * NS, `m${i}`));
    for (const m of made) put(archive, m);
    assert.equal(archive.size(), 5);
    assert.deepEqual(
      archive.byHashes(made.map((m) => m.hash)).map((m) => Number(m.timestamp / NS) - NOW_MS),
      [3, 4, 5, 6, 7],
    );
    // Already older than the age limit when it arrives: not kept.
    assert.equal(put(archive, make("/app/1/a/proto", BigInt(NOW_MS - 120_000) * NS, "old")), false);
    // A minute and more later, the age limit drops the rest.
    put(archive, make("/app/1/a/proto", BigInt(NOW_MS + 200_000) * NS, "new"), NOW_MS + 200_000);
    assert.equal(archive.size(), 1);
  });

  it("rejects a hash that is not 32 bytes and bad options, naming them", () => {
    const archive = WakuArchive.inMemory();
    assert.throws(
      () => archive.add({ ...make("/a/1/b/c", 1n, "x"), hash: new Uint8Array(3) }, NOW_MS),
      /hash must be 32 bytes, got 3/,
    );
    assert.throws(() => WakuArchive.inMemory({ maxMessages: 0 }), /maxMessages must be a positive integer, got 0/);
    assert.throws(() => WakuArchive.inMemory({ maxAgeMs: 1.5 }), /maxAgeMs must be a positive integer, got 1.5/);
  });

  it("uses an index for every fixed statement", () => {
    const store = new SqliteStore({ path: ":memory:" });
    const db = (store as unknown as { db: import("better-sqlite3").Database }).db;
    for (const [name, sql] of Object.entries(ARCHIVE_QUERIES)) {
      if (name === "insert" || name === "count") continue;
      const plan = db
        .prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .all(...Array.from({ length: (sql.match(/\?/g) ?? []).length }, () => 1))
        .map((r) => (r as { detail: string }).detail)
        .join("; ");
      assert.doesNotMatch(plan, /SCAN waku_messages(?! USING)/, `${name}: ${plan}`);
    }
    store.close();
  });
});

describe("store v3 query engine", () => {
  const A = "/app/1/a/proto";
  const B = "/app/1/b/proto";
  function filled(): { archive: WakuArchive; a: Made[]; b: Made[] } {
    const archive = WakuArchive.inMemory();
    const a = Array.from({ length: 45 }, (_, i) => make(A, BigInt(NOW_MS + i) * NS, `a${i}`));
    const b = Array.from({ length: 5 }, (_, i) => make(B, BigInt(NOW_MS + i) * NS, `b${i}`));
    for (const m of [...a, ...b]) put(archive, m);
    return { archive, a, b };
  }

  it("answers by content topic and time range, forward, over pages, with envelopes unchanged", () => {
    const { archive, a } = filled();
    const range = {
      pubsubTopic: PUBSUB,
      contentTopics: [A],
      timeStart: BigInt(NOW_MS + 5) * NS,
      timeEnd: BigInt(NOW_MS + 34) * NS,
    };
    const first = query(archive, { ...range, paginationForward: true, paginationLimit: 12n });
    assert.equal(first.statusCode, 200);
    assert.equal(first.requestId, "r");
    assert.deepEqual(
      first.messages.map((m) => hex(m.messageHash)),
      a.slice(5, 17).map((m) => hex(m.hash)),
    );
    assert.equal(first.messages[0]?.pubsubTopic, PUBSUB);
    assert.equal(first.messages[0]?.message?.contentTopic, A);
    assert.deepEqual(first.messages[0]?.message?.payload, new TextEncoder().encode("a5"));
    assert.equal(hex(first.paginationCursor), hex(a[16]?.hash));
    const rest = query(archive, {
      ...range,
      paginationForward: true,
      paginationLimit: 100n,
      paginationCursor: a[16]?.hash,
    });
    assert.deepEqual(
      rest.messages.map((m) => hex(m.messageHash)),
      a.slice(17, 35).map((m) => hex(m.hash)),
    );
    assert.equal(rest.paginationCursor, undefined);
    const end = query(archive, { ...range, paginationForward: true, paginationCursor: a[34]?.hash });
    assert.equal(end.statusCode, 200);
    assert.equal(end.messages.length, 0);
  });

  it("walks backward from the newest, each page in ascending order, the cursor being the page's first", () => {
    const { archive, a } = filled();
    const base = { pubsubTopic: PUBSUB, contentTopics: [A], paginationForward: false, paginationLimit: 10n };
    const first = query(archive, base);
    assert.deepEqual(
      first.messages.map((m) => hex(m.messageHash)),
      a.slice(35, 45).map((m) => hex(m.hash)),
    );
    assert.equal(hex(first.paginationCursor), hex(a[35]?.hash));
    const second = query(archive, { ...base, paginationCursor: a[35]?.hash });
    assert.deepEqual(
      second.messages.map((m) => hex(m.messageHash)),
      a.slice(25, 35).map((m) => hex(m.hash)),
    );
    const end = query(archive, { ...base, paginationCursor: a[0]?.hash });
    assert.equal(end.messages.length, 0);
  });

  it("pages by 20 by default and by 100 at most", () => {
    const archive = WakuArchive.inMemory();
    for (let i = 0; i < 130; i++) put(archive, make(A, BigInt(NOW_MS + i) * NS, `m${i}`));
    const q = { pubsubTopic: PUBSUB, contentTopics: [A], paginationForward: true };
    assert.equal(query(archive, q).messages.length, STORE_DEFAULT_PAGE_SIZE);
    assert.equal(query(archive, { ...q, paginationLimit: 0n }).messages.length, STORE_DEFAULT_PAGE_SIZE);
    assert.equal(query(archive, { ...q, paginationLimit: 5000n }).messages.length, STORE_MAX_PAGE_SIZE);
    assert.equal(query(archive, { ...q, paginationLimit: 18446744073709551615n }).messages.length, STORE_MAX_PAGE_SIZE);
  });

  it("answers by hash in timestamp order, and a cursor on the last one gives an empty page", () => {
    const { archive, a, b } = filled();
    const asked = [a[9], b[2], a[3], make(A, 1n, "never stored")].map((m) => m?.hash as Uint8Array);
    const found = query(archive, { pubsubTopic: PUBSUB, messageHashes: asked, paginationForward: true });
    assert.equal(found.statusCode, 200);
    const expected = [b[2], a[3], a[9]].sort((x, y) => compareArchived(x as Made, y as Made));
    assert.deepEqual(
      found.messages.map((m) => hex(m.messageHash)),
      expected.map((m) => hex(m?.hash)),
    );
    const last = found.messages[found.messages.length - 1]?.messageHash;
    const after = query(archive, {
      pubsubTopic: PUBSUB,
      messageHashes: asked,
      paginationForward: true,
      paginationCursor: last,
    });
    assert.equal(after.statusCode, 200);
    assert.equal(after.messages.length, 0);
  });

  it("leaves the envelope out when include_data is false", () => {
    const { archive, a } = filled();
    const r = query(archive, { includeData: false, messageHashes: [a[0]?.hash as Uint8Array] });
    assert.equal(r.messages.length, 1);
    assert.equal(r.messages[0]?.message, undefined);
    assert.equal(hex(r.messages[0]?.messageHash), hex(a[0]?.hash));
  });

  it("answers 400 naming the field for a malformed query, 404 for a cursor it does not hold", () => {
    const { archive, a } = filled();
    const cases: [RequestInit, RegExp][] = [
      [
        { pubsubTopic: PUBSUB, contentTopics: [A], paginationCursor: new Uint8Array(5) },
        /pagination_cursor is 5 bytes/,
      ],
      [
        { messageHashes: [a[0]?.hash as Uint8Array], contentTopics: [A], pubsubTopic: PUBSUB },
        /message_hashes takes no content_topics/,
      ],
      [{ messageHashes: [a[0]?.hash as Uint8Array], timeStart: 1n }, /message_hashes takes no/],
      [{ messageHashes: [new Uint8Array(31)] }, /message_hashes\[0\] is 31 bytes/],
      [{ messageHashes: Array.from({ length: 101 }, () => new Uint8Array(32)) }, /101 entries, the limit is 100/],
      [{ contentTopics: [A] }, /content_topics needs a pubsub_topic/],
      [
        { pubsubTopic: PUBSUB, contentTopics: Array.from({ length: 11 }, (_, i) => `/t/1/${i}/p`) },
        /content_topics has 11 entries/,
      ],
      [{ pubsubTopic: PUBSUB, contentTopics: [A], timeStart: 10n, timeEnd: 9n }, /time_start 10 is after time_end 9/],
    ];
    for (const [init, pattern] of cases) {
      const r = query(archive, init);
      assert.equal(
        r.statusCode,
        400,
        JSON.stringify(init, (_, v) => (typeof v === "bigint" ? String(v) : v)),
      );
      assert.match(r.statusDesc ?? "", pattern);
      assert.equal(r.messages.length, 0);
    }
    const unknown = query(archive, {
      pubsubTopic: PUBSUB,
      contentTopics: [A],
      paginationCursor: new Uint8Array(32).fill(9),
    });
    assert.equal(unknown.statusCode, 404);
    assert.match(unknown.statusDesc ?? "", /pagination_cursor 0909.* is not a message this store holds/);
  });

  it("paginates every message exactly once, in order, for any page size and either direction", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ topic: fc.constantFrom(A, B, "/app/1/c/proto"), t: fc.integer({ min: 0, max: 12 }) }), {
          maxLength: 60,
        }),
        fc.integer({ min: 1, max: 25 }),
        fc.boolean(),
        fc.subarray([A, B, "/app/1/c/proto"], { minLength: 1 }),
        fc.boolean(),
        (specs, pageSize, forward, topics, byHash) => {
          const archive = WakuArchive.inMemory();
          // Few distinct timestamps: many ties, which the hash breaks.
          const made = specs.map((s, i) => make(s.topic, BigInt(NOW_MS + s.t) * NS, `p${i}`));
          for (const m of made) put(archive, m);
          const wanted = made
            .filter((m) => byHash || topics.includes(m.contentTopic))
            .sort((x, y) => compareArchived(x, y));
          const base = byHash
            ? { pubsubTopic: PUBSUB, messageHashes: made.map((m) => m.hash) }
            : { pubsubTopic: PUBSUB, contentTopics: topics };
          const seen: string[] = [];
          let cursor: Uint8Array | undefined;
          for (let round = 0; round <= wanted.length + 1; round++) {
            const r = query(archive, {
              ...base,
              paginationForward: forward,
              paginationLimit: BigInt(pageSize),
              ...(cursor === undefined ? {} : { paginationCursor: cursor }),
            });
            assert.equal(r.statusCode, 200);
            assert.ok(r.messages.length <= pageSize);
            if (r.messages.length === 0) break;
            const hashes = r.messages.map((m) => hex(m.messageHash));
            // Within a page: ascending order whatever the direction.
            if (forward) seen.push(...hashes);
            else seen.unshift(...hashes);
            // js-waku's rule: the next cursor is the page's last message forward, its first backward.
            cursor = (forward ? r.messages[r.messages.length - 1] : r.messages[0])?.messageHash;
          }
          assert.deepEqual(
            seen,
            wanted.map((m) => hex(m.hash)),
          );
        },
      ),
      { numRuns: 150 },
    );
  });
});
