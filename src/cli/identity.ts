import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError } from "commander";
import { identityFromSecretKey, isChorusSenderId } from "../core/index.js";
import { SqliteStore } from "../storage/index.js";

/** Where `chorus node` keeps its store (and identity) inside its data dir. */
export function storePath(dataDir: string): string {
  return join(dataDir, "chorus.sqlite");
}

/**
 * The sender id of the node whose data dir this is, creating its identity when it has none yet: `chorus up`
 * learns every node's id before it starts any, so that the owner's roster can name the members.
 */
export function nodeSenderId(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  const store = new SqliteStore({ path: storePath(dataDir) });
  try {
    let secret = store.getIdentity();
    if (secret === undefined) {
      secret = new Uint8Array(randomBytes(32));
      store.setIdentity(secret);
    }
    return identityFromSecretKey(secret).senderId;
  } finally {
    store.close();
  }
}

/** A commander parser for a sender id (64 lowercase hex characters). */
export function senderIdOption(name: string) {
  return (value: string): string => {
    if (!isChorusSenderId(value)) {
      throw new InvalidArgumentError(`${name} must be a sender id (64 lowercase hex characters), got "${value}"`);
    }
    return value;
  };
}

/** A roster file: a JSON array of sender ids, or sender ids separated by whitespace ('#' starts a comment). */
export function readRosterFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`cannot read roster file ${path}: ${(err as Error).message}`);
  }
  let ids: unknown;
  if (text.trimStart().startsWith("[")) {
    try {
      ids = JSON.parse(text);
    } catch (err) {
      throw new Error(`roster file ${path} is not valid JSON: ${(err as Error).message}`);
    }
  } else {
    ids = text
      .split("\n")
      .map((line) => line.replace(/#.*/, ""))
      .join(" ")
      .split(/\s+/)
      .filter((s) => s.length > 0);
  }
  if (!Array.isArray(ids)) throw new Error(`roster file ${path} must hold an array of sender ids`);
  const bad = ids.find((id) => typeof id !== "string" || !isChorusSenderId(id));
  if (bad !== undefined) {
    throw new Error(`roster file ${path}: ${JSON.stringify(bad)} is not a sender id (64 lowercase hex characters)`);
  }
  return ids as string[];
}
