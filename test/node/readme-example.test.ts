// The README's library example, run as it stands (read from between its markers) by two members on a
// memory bus, each with its own SQLite file. The test hands the code its `transport` and a `console` that
// records, and opens the channels through the package entry ("chorus") with the store path placed in a
// temporary directory and faster sync and repair timers, so that receipts come back within seconds.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import * as chorus from "chorus";
import type { Channel, OpenChannelOptions } from "../../src/index.js";
import { MemoryBus } from "../../src/transport/memory-bus.js";
import { pollUntil } from "../support/poll.js";

// Alice's hello goes out before Bob is on the bus: Bob gets it from her first resend.
const FAST = {
  syncIntervalMs: 500,
  backlogSyncIntervalMs: 500,
  repairRequestDelayMs: 50,
  repairResponseDelayMs: 50,
  resendAfterMs: 1_000,
};
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The example's code, without its import line (checked to import openChannel from the package). */
function readmeExample(): string {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const block = /<!-- readme-example:start -->\n```ts\n([\s\S]*?)```\n<!-- readme-example:end -->/.exec(readme)?.[1];
  assert.ok(block !== undefined, "README.md has no example between readme-example markers");
  const lines = block.trimEnd().split("\n");
  assert.equal(lines[0], 'import { openChannel } from "chorus";');
  const code = lines.slice(1).filter((l) => l.trim() !== "");
  assert.ok(code.length < 10, `the example takes ${code.length} lines of app code; the target is under 10`);
  return code.join("\n");
}

type Run = (
  open: typeof chorus.openChannel,
  transport: unknown,
  console: { log: (s: string) => void },
) => Promise<void>;
const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => Run;

test("the README example, run by two members, shows each other's hello with receipts 1 of 1", async () => {
  const run = new AsyncFunction("openChannel", "transport", "console", readmeExample());
  const bus = new MemoryBus({ latency: { min: 1, max: 5 } });
  const channels: Channel[] = [];
  const logs: string[][] = [];
  try {
    for (const name of ["alice", "bob"]) {
      const dir = mkdtempSync(join(tmpdir(), "chorus-readme-"));
      dirs.push(dir);
      const log: string[] = [];
      logs.push(log);
      const open = async (o: OpenChannelOptions) => {
        const channel = await chorus.openChannel({ ...o, store: join(dir, o.store as string), params: FAST });
        channels.push(channel);
        return channel;
      };
      await run(open, bus.createTransport(name), { log: (s) => log.push(s) });
    }
    const [alice, bob] = channels as [Channel, Channel];
    const short = (id: string) => id.slice(0, 8);
    const done = (log: string[], from: Channel, self: Channel) =>
      log.includes(`${short(from.senderId)}: hello`) &&
      log.some((l) => l.endsWith("held by 1 of 1")) &&
      log.some((l) => l.endsWith(" delivered")) &&
      log.includes("all caught up") &&
      self.syncStatus().caughtUp;
    await pollUntil(
      `both members' logs to show the other's hello, a receipt and "all caught up"`,
      () => (done(logs[0]!, bob, alice) && done(logs[1]!, alice, bob)) || JSON.stringify(logs),
      { timeoutMs: 20_000, accept: (v) => v === true },
    );
    assert.equal(alice.syncStatus().text, "all caught up");
    assert.equal(bob.syncStatus().text, "all caught up");
  } finally {
    for (const c of channels) await c.close();
  }
});

test("a channel reopened on its SQLite file keeps its identity and its log", async () => {
  const dir = mkdtempSync(join(tmpdir(), "chorus-readme-"));
  dirs.push(dir);
  const bus = new MemoryBus({ latency: 1 });
  const path = join(dir, "a.db");
  const first = await chorus.openChannel({ channelId: "c", transport: bus.createTransport("a"), store: path });
  const senderId = first.senderId;
  const id = first.send(new TextEncoder().encode("kept"));
  await first.close();
  const second = await chorus.openChannel({ channelId: "c", transport: bus.createTransport("a2"), store: path });
  try {
    assert.equal(second.senderId, senderId);
    assert.equal(second.runtime.status(id)?.own, true);
    await assert.rejects(
      chorus.openChannel({
        channelId: "c",
        transport: bus.createTransport("a3"),
        store: path,
        secretKey: new Uint8Array(32),
      }),
      /secretKey differs from the identity this store already holds/,
    );
  } finally {
    await second.close();
  }
});
