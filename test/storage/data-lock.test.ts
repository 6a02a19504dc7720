// The data folder lock: one process per folder, refused at once with the holder named, released by any exit.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import { DataDirLockedError, lockDataDir } from "../../src/storage/index.js";

const root = mkdtempSync(join(tmpdir(), "chorus-lock-"));
after(() => rmSync(root, { recursive: true, force: true }));

const LOCK_MODULE = resolve("src/storage/data-lock.ts");

/** A separate process that takes the lock, says so on stdout, and waits to be killed. */
function holder(dir: string) {
  const code = `const { lockDataDir } = await import(${JSON.stringify(LOCK_MODULE)});
lockDataDir(${JSON.stringify(dir)}, "test holder"); process.stdout.write("locked\\n"); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const ready = new Promise<void>((done, fail) => {
    child.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("locked") && done());
    child.once("exit", (c, s) => fail(new Error(`holder exited (${c ?? s}) before it locked`)));
  });
  return { child, ready, gone: new Promise((r) => child.once("exit", r)) };
}

test("a second lock in the same process is refused, naming the folder and this pid; release frees it", () => {
  const dir = join(root, "same");
  const first = lockDataDir(dir);
  assert.throws(
    () => lockDataDir(dir),
    (err: unknown) =>
      err instanceof DataDirLockedError &&
      err.holder?.pid === process.pid &&
      err.message.includes(resolve(dir)) &&
      err.message.includes(`process ${process.pid}`),
  );
  first.release();
  first.release();
  lockDataDir(dir).release();
});

test("a folder held by another process is refused at once; after that process is killed with SIGKILL it is free", async () => {
  const dir = join(root, "other");
  const h = holder(dir);
  await h.ready;
  const started = Date.now();
  assert.throws(
    () => lockDataDir(dir),
    (err: unknown) => err instanceof DataDirLockedError && err.holder?.pid === h.child.pid,
  );
  // "At once": no busy wait (better-sqlite3 would wait 5 s by default). Generous for a loaded machine.
  assert.ok(Date.now() - started < 2_000, "the refusal does not wait for the lock");
  h.child.kill("SIGKILL");
  await h.gone;
  // The kernel dropped the dead holder's lock: nothing stale to clean up.
  const mine = lockDataDir(dir);
  mine.release();
});
