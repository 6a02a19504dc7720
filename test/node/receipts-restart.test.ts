// Receipts of own messages across a restart (openChannel on a SQLite store, the owner path over a memory bus): the
// engine's snapshot keeps them once they change, so a clean close and an unclean stop both read them back; and the
// owner's news teaches them again after a restart (its first WATCH asks from cursor 0), reported to the app as
// "receipts" events also for messages sent before it, and rise further from there.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { identityFromSecretKey, type Params } from "../../src/core/index.js";
import { type Channel, type ChannelEvents, openChannel } from "../../src/index.js";
import { ChorusNode, type Role } from "../../src/node/node.js";
import { MemoryStore, SqliteStore, type Store } from "../../src/storage/index.js";
import { MemoryBus } from "../../src/transport/memory-bus.js";
import { decodeMessage } from "../../src/wire/index.js";
import { pollUntil } from "../support/poll.js";

const CHANNEL = "general";
const WAIT = { timeoutMs: 15_000 };
// Slow topic syncs: the receipts come over the owner path.
const PARAMS: Partial<Params> = { syncIntervalMs: 60_000, resendAfterMs: 60_000, repairRequestDelayMs: 50 };
const dir = mkdtempSync(join(tmpdir(), "chorus-receipts-restart-"));
const stops: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const stop of stops.reverse()) await stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A store that stops writing at `crash()`: what kill -9 leaves on disk. `gone()` closes the file after. */
function crashable(inner: SqliteStore): { store: Store; crash(): void; gone(): void } {
  let crashed = false;
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      if (crashed && key !== "transaction" && /^(put|set|mark|join|leave|close)/.test(String(key))) return () => false;
      if (crashed && key === "transaction") return (fn: () => unknown) => fn();
      return value.bind(target);
    },
  });
  return {
    store,
    crash() {
      crashed = true;
    },
    gone() {
      inner.close();
    },
  };
}

async function setup() {
  const bus = new MemoryBus({ latency: { min: 1, max: 5 } });
  stops.push(() => bus.close());
  const keys = ["owner", "alice", "bob"].map(() => new Uint8Array(randomBytes(32)));
  const [ownerId, aliceId, bobId] = keys.map((k) => identityFromSecretKey(k).senderId) as string[];
  const node = async (i: number, name: string, role: Role) => {
    const n = new ChorusNode({
      store: new MemoryStore(),
      transport: bus.createTransport(name),
      role,
      channels: [CHANNEL],
      newSecretKey: () => keys[i]!,
      random: Math.random,
      params: PARAMS,
      ownerWatchHoldMs: 2_000,
      ...(role === "owner" ? { roster: [aliceId!, bobId!] } : { ownerSenderId: ownerId! }),
    });
    await n.start();
    stops.push(() => n.stop());
    return n;
  };
  const owner = await node(0, "owner", "owner");
  const bob = await node(2, "bob", "member");
  const path = join(dir, `alice-${Math.random().toString(16).slice(2)}.sqlite`);
  let opened = 0;
  /** Alice's process: openChannel on her SQLite file, with every event recorded. */
  const alice = async () => {
    const disk = crashable(new SqliteStore({ path }));
    const channel = await openChannel({
      channelId: CHANNEL,
      transport: bus.createTransport(`alice-${++opened}`),
      store: disk.store,
      secretKey: keys[1],
      params: PARAMS,
      owner: { senderId: ownerId!, watchHoldMs: 2_000 },
    });
    const receipts: ChannelEvents["receipts"][] = [];
    channel.on("receipts", (e) => receipts.push(e));
    /** Kills the process: nothing more is written; its timers and transport stop, and the file is let go. */
    const kill = async () => {
      disk.crash();
      await channel.close();
      disk.gone();
    };
    return { channel, receipts, kill };
  };
  const receiptOf = (c: Channel, id: string) => c.history(0, 100).find((e) => e.id === id)?.receipts;
  return { bus, owner, bob, bobId: bobId!, alice, receiptOf, path };
}

/** The holders of own message `id` in the engine snapshot stored at `path`, read through a second connection. */
function storedHolders(path: string, id: string): number {
  const reader = new SqliteStore({ path });
  try {
    const saved = reader.getSnapshot(CHANNEL);
    if (saved === undefined) return 0;
    const own = (JSON.parse(saved) as { engine: { own: { bytes: string; ackedBy: string[] }[] } }).engine.own;
    const entry = own.find((o) => decodeMessage(Buffer.from(o.bytes, "hex")).messageId === id);
    return entry?.ackedBy.length ?? 0;
  } finally {
    reader.close();
  }
}

test("own receipts survive a clean close and an unclean stop, are taught again by the owner, then rise", async () => {
  const s = await setup();
  let a = await s.alice();
  await pollUntil("alice's owner path up", () => a.channel.ownerPath() === "up", WAIT);
  const first = a.channel.send(new TextEncoder().encode("before the close"));
  await pollUntil("2 of 2 for the first", () => a.receipts.some((e) => e.id === first && e.count === 2), WAIT);

  // Clean close: read back at once, before the owner path is up again.
  await a.channel.close();
  a = await s.alice();
  assert.notEqual(a.channel.ownerPath(), "up");
  assert.deepEqual(s.receiptOf(a.channel, first), { count: 2, of: 2 }, "the first message's receipts, read back");

  // Bob is away: the second message is held by the owner only. Alice dies right after hearing so.
  await pollUntil("alice's owner path up", () => a.channel.ownerPath() === "up", WAIT);
  s.bus.setOffline("bob", true);
  const second = a.channel.send(new TextEncoder().encode("before the crash"));
  await pollUntil("1 of 2 for the second", () => a.receipts.some((e) => e.id === second && e.count === 1), WAIT);
  await a.kill();
  a = await s.alice();
  console.log(
    `# the second message's receipts read back after the crash: ${JSON.stringify(s.receiptOf(a.channel, second))}`,
  );
  // Whatever the snapshot held, the owner's news (its first WATCH asks from cursor 0) teaches them again; then bob
  // comes back, catches up from the owner and reports: alice hears 2 of 2 for a message sent before her restart.
  await pollUntil("the owner path to teach 1 of 2 again", () => s.receiptOf(a.channel, second)?.count === 1, WAIT);
  s.bus.setOffline("bob", false);
  await pollUntil(
    "2 of 2 for the second, as an app event",
    () => a.receipts.some((e) => e.id === second && e.count === 2),
    WAIT,
  );
  assert.deepEqual(a.receipts.filter((e) => e.id === second).at(-1), {
    id: second,
    count: 2,
    of: 2,
    by: a.receipts.filter((e) => e.id === second).at(-1)!.by,
  });
  assert.deepEqual(
    [...a.receipts.filter((e) => e.id === second).at(-1)!.by].sort(),
    [s.owner.senderId, s.bobId].sort(),
  );

  // The snapshot keeps receipts once they change, with no further step: the file holds 2 holders while alice runs,
  // and a crash then reads them back at once, before the owner path is up.
  await pollUntil("the stored snapshot to hold both holders", () => storedHolders(s.path, second) === 2, WAIT);
  await a.kill();
  a = await s.alice();
  assert.notEqual(a.channel.ownerPath(), "up");
  assert.deepEqual(s.receiptOf(a.channel, second), { count: 2, of: 2 }, "read back after the crash");
  assert.deepEqual(s.receiptOf(a.channel, first), { count: 2, of: 2 });
  await a.kill();
});
