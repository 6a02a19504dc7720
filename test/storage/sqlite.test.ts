import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { MIGRATIONS, type Migration, QUERIES, SqliteStore } from "../../src/storage/sqlite-store.js";
import { msg, storeContract } from "./contract.js";

const dir = mkdtempSync(join(tmpdir(), "chorus-sqlite-"));
let files = 0;
const freshPath = () => join(dir, `store-${++files}.db`);
/** The version a test's own extra migration takes. */
const NEXT = MIGRATIONS.length + 1;
after(() => rmSync(dir, { recursive: true, force: true }));

storeContract("SqliteStore (file, WAL)", () => new SqliteStore({ path: freshPath() }));
storeContract(
  "SqliteStore (:memory:, synchronous NORMAL)",
  () => new SqliteStore({ path: ":memory:", synchronous: "NORMAL" }),
);

describe("SqliteStore", () => {
  it("keeps everything across close and reopen", () => {
    const path = freshPath();
    const a = msg({ channelId: "c", lamport: (1n << 64n) - 1n, seq: null });
    const b = msg({ channelId: "c", lamport: 0n });
    const key = new Uint8Array(32).fill(3);
    const first = new SqliteStore({ path });
    first.transaction(() => {
      first.putMessage(a);
      first.putMessage(b);
      first.markDelivered("c", b.messageId);
      first.putSnapshot("c", '{"lamport":"1"}');
      first.setIdentity(key);
      first.joinChannel("c");
    });
    first.close();

    const second = new SqliteStore({ path });
    try {
      assert.deepEqual(second.getMessage("c", a.messageId), { ...a, deliveredPos: null });
      assert.deepEqual(second.getMessage("c", b.messageId), { ...b, deliveredPos: 1 });
      assert.deepEqual(
        second.listByLamport("c", { limit: 10 }).map((m) => m.messageId),
        [b.messageId, a.messageId],
      );
      assert.equal(second.getSnapshot("c"), '{"lamport":"1"}');
      assert.deepEqual(second.getIdentity(), key);
      assert.deepEqual(second.listChannels(), ["c"]);
      assert.equal(second.putMessage(a), false);
      assert.equal(second.markDelivered("c", a.messageId), 2);
    } finally {
      second.close();
    }
  });

  it("opens the file in WAL mode at the latest schema version", () => {
    const path = freshPath();
    const store = new SqliteStore({ path });
    assert.equal(store.schemaVersion(), MIGRATIONS.length);
    store.close();
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
      const versions = db.prepare("SELECT version, description FROM schema_version").all();
      assert.deepEqual(
        versions,
        MIGRATIONS.map((m) => ({ version: m.version, description: m.description })),
      );
    } finally {
      db.close();
    }
  });

  it("runs a new migration once, on the next open", () => {
    const path = freshPath();
    new SqliteStore({ path }).close();
    let runs = 0;
    const v2: Migration = {
      version: NEXT,
      description: "add a note column",
      up(db) {
        runs++;
        db.exec("ALTER TABLE messages ADD COLUMN note TEXT");
      },
    };
    const upgraded = new SqliteStore({ path, migrations: [...MIGRATIONS, v2] });
    assert.equal(upgraded.schemaVersion(), NEXT);
    upgraded.putMessage(msg({ channelId: "c" }));
    upgraded.close();
    new SqliteStore({ path, migrations: [...MIGRATIONS, v2] }).close();
    assert.equal(runs, 1);

    // Software that only knows version 1 refuses a version-2 database instead of misreading it.
    assert.throws(
      () => new SqliteStore({ path }),
      new RegExp(`schema version ${NEXT} is newer than this software knows \\(${MIGRATIONS.length}\\)`),
    );
  });

  it("adds retrieval hints to a version-1 database, keeping every stored message and delivery", () => {
    const path = freshPath();
    // A database as version 1 of the software left it (today's statements would not prepare on it).
    const old = new Database(path);
    old.exec(
      "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    );
    MIGRATIONS[0]?.up(old);
    old.prepare("INSERT INTO schema_version VALUES (1, 'v1', 0)").run();
    const first = msg({ channelId: "c", bytes: Uint8Array.of(1, 2, 3) });
    const second = msg({ channelId: "c", seq: null });
    const insert = old.prepare(
      "INSERT INTO messages (channel_id, message_id, sender_id, seq, lamport, bytes, received_at, delivered_pos) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    for (const [m, pos] of [
      [first, 1],
      [second, null],
    ] as const) {
      insert.run(m.channelId, m.messageId, m.senderId, m.seq, m.lamport - (1n << 63n), m.bytes, m.receivedAt, pos);
    }
    old.close();

    const store = new SqliteStore({ path });
    try {
      assert.equal(store.schemaVersion(), MIGRATIONS.length);
      assert.deepEqual(store.getMessage("c", first.messageId), { ...first, deliveredPos: 1 });
      assert.deepEqual(store.getMessage("c", second.messageId), { ...second, deliveredPos: null });
      const hint = new Uint8Array(32).fill(7);
      assert.equal(store.setRetrievalHint("c", second.messageId, hint), true);
      assert.deepEqual(store.getMessage("c", second.messageId)?.retrievalHint, hint);
    } finally {
      store.close();
    }
  });

  it("rolls back a failing migration and leaves the version where it was", () => {
    const path = freshPath();
    new SqliteStore({ path }).close();
    const broken: Migration = {
      version: NEXT,
      description: "fails halfway",
      up(db) {
        db.exec("CREATE TABLE half_done (x INTEGER)");
        throw new Error("the new migration failed");
      },
    };
    assert.throws(() => new SqliteStore({ path, migrations: [...MIGRATIONS, broken] }), /the new migration failed/);
    const store = new SqliteStore({ path });
    assert.equal(store.schemaVersion(), MIGRATIONS.length);
    store.close();
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half_done'").get(), undefined);
    } finally {
      db.close();
    }
  });

  it("rejects bad options with errors naming them", () => {
    assert.throws(() => new SqliteStore(undefined as never), /options must be an object/);
    assert.throws(
      () => new SqliteStore({ path: "" }),
      (e) => e instanceof TypeError && /options\.path/.test(e.message),
    );
    assert.throws(
      () => new SqliteStore({ path: ":memory:", synchronous: "OFF" as never }),
      (e) => e instanceof RangeError && /options\.synchronous must be "FULL" or "NORMAL", got "OFF"/.test(e.message),
    );
    assert.throws(
      () => new SqliteStore({ path: ":memory:", migrations: [{ version: 2, description: "x", up() {} }] }),
      (e) => e instanceof RangeError && /migrations\[0\]\.version must be 1/.test(e.message),
    );
  });

  it("answers every message query from an index, without a table scan or a sort", () => {
    const path = freshPath();
    new SqliteStore({ path }).close();
    const db = new Database(path, { readonly: true });
    try {
      for (const [name, sql] of Object.entries(QUERIES)) {
        if (name === "insert" || name === "setDelivered") continue;
        const params = Array.from(sql.matchAll(/\?/g), () => null);
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[])
          .map((r) => r.detail)
          .join("; ");
        assert.match(plan, /USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY/, `${name}: ${plan}`);
        assert.doesNotMatch(plan, /SCAN messages(?! USING)/, `${name} scans the table: ${plan}`);
        assert.doesNotMatch(plan, /TEMP B-TREE/, `${name} sorts: ${plan}`);
      }
    } finally {
      db.close();
    }
  });

  it("after kill -9 mid-stream, every delivered message is stored and matches the snapshot", async () => {
    const path = freshPath();
    const writer = fileURLToPath(new URL("./sqlite-crash-writer.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", writer, path], { stdio: ["ignore", "pipe", "inherit"] });
    let committed = 0;
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (chunk: string) => {
        const lines = chunk.trim().split("\n");
        committed = Number(lines[lines.length - 1]);
        if (committed >= 200 && child.exitCode === null) child.kill("SIGKILL");
      });
      child.on("exit", (_code, signal) =>
        signal === "SIGKILL" ? resolve() : reject(new Error(`writer exited by itself (${_code})`)),
      );
      child.on("error", reject);
    });
    const store = new SqliteStore({ path });
    try {
      const delivered = store.countDelivered("c");
      const snapshot = JSON.parse(store.getSnapshot("c") ?? "{}") as { delivered?: number };
      assert.ok(delivered >= committed, `delivered ${delivered} < reported committed ${committed}`);
      assert.equal(snapshot.delivered, delivered);
      assert.equal(store.listUndelivered("c", { limit: 10_000 }).length, store.countMessages("c") - delivered);
      const log = store.listDelivered("c", { limit: 10_000 });
      assert.deepEqual(
        log.map((m) => m.deliveredPos),
        log.map((_, i) => i + 1),
      );
    } finally {
      store.close();
    }
  });
});
