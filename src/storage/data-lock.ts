// One process per data folder. Two processes on one folder share an identity: both sign different
// messages with the same sequence numbers (an equivocation), and both write the same SQLite store.
//
// The lock is an operating-system lock, not a pid file: a small SQLite database (`chorus.lock`) opened in
// EXCLUSIVE locking mode and written once, which makes SQLite take and keep a POSIX write lock on it
// until the connection closes. The kernel drops that lock when the process exits in any way, kill -9
// included, so a lock can never be stale and there is nothing to recover or race over. A pid file would
// need liveness checks (pid reuse, pid namespaces of containers sharing a volume) and a careful
// take-over protocol; this needs neither. The holder's pid, start time and command line go into a
// sidecar file (`chorus.lock.json`) only so that a refused start can name who holds the folder.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";

export const LOCK_FILE = "chorus.lock";
export const HOLDER_FILE = "chorus.lock.json";

/** Who holds a data folder, as its holder wrote it down. */
export interface LockHolder {
  readonly pid: number;
  readonly startedAt: string;
  readonly command: string;
}

/** A second process tried to open a data folder that a running process holds. */
export class DataDirLockedError extends Error {
  override readonly name = "DataDirLockedError";
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder | undefined,
  ) {
    const who =
      holder === undefined
        ? "another process (its pid is not recorded yet)"
        : `process ${holder.pid} (started ${holder.startedAt}: ${holder.command})`;
    super(`data folder ${dataDir} is in use by ${who}; stop it first, or give this one another folder`);
  }
}

export interface DataDirLock {
  readonly dataDir: string;
  /** Releases the lock. Idempotent; process exit releases it too. */
  release(): void;
}

/**
 * Every lock this process holds. better-sqlite3 closes a connection its object is garbage-collected with, and
 * closing it releases the lock: a caller that drops the handle must not lose the folder.
 */
const held = new Set<Database.Database>();

function readHolder(dataDir: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(join(dataDir, HOLDER_FILE), "utf8")) as Partial<LockHolder>;
    if (typeof parsed.pid !== "number" || typeof parsed.startedAt !== "string") return undefined;
    return { pid: parsed.pid, startedAt: parsed.startedAt, command: String(parsed.command ?? "") };
  } catch {
    return undefined;
  }
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? "";
  return code === "SQLITE_BUSY" || code === "SQLITE_LOCKED";
}

/**
 * Takes the data folder's lock for this process's lifetime, creating the folder when needed. Throws
 * DataDirLockedError at once (no waiting) when a running process holds it.
 */
export function lockDataDir(dataDir: string, command: string = process.argv.slice(1).join(" ")): DataDirLock {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  // timeout 0: a held lock answers SQLITE_BUSY at once instead of after better-sqlite3's 5 s default.
  const db = new Database(join(dir, LOCK_FILE), { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    db.pragma("journal_mode = DELETE");
    // The first write takes the exclusive lock, and EXCLUSIVE mode keeps it until close.
    db.exec("CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL)");
    db.prepare("INSERT OR REPLACE INTO holder (id, pid) VALUES (1, ?)").run(process.pid);
  } catch (err) {
    db.close();
    if (isBusy(err)) throw new DataDirLockedError(dir, readHolder(dir));
    throw err;
  }
  // Enough of the command line to recognise the holder; a node's full one runs to hundreds of characters.
  const shown = command.length > 160 ? `${command.slice(0, 160)}...` : command;
  const holder: LockHolder = { pid: process.pid, startedAt: new Date().toISOString(), command: shown };
  // Written aside and renamed, so that a refused start never reads half a file.
  const tmp = join(dir, `${HOLDER_FILE}.${process.pid}`);
  writeFileSync(tmp, `${JSON.stringify(holder)}\n`);
  renameSync(tmp, join(dir, HOLDER_FILE));
  held.add(db);
  let released = false;
  return {
    dataDir: dir,
    release() {
      if (released) return;
      released = true;
      held.delete(db);
      db.close();
    },
  };
}
