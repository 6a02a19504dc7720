import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { createApi } from "../api/index.js";
import { resolveParams } from "../core/index.js";
import { ChorusNode, type Role } from "../node/node.js";
import { WakuServices } from "../node/waku/services.js";
import { WakuStoreClient } from "../node/waku/store-client.js";
import { lockDataDir, SqliteStore } from "../storage/index.js";
import "../transport/polyfill.js";
import { Libp2pTransport } from "../transport/libp2p-transport.js";
import { DEFAULT_WAKU_CLUSTER, DEFAULT_WAKU_SHARD, WakuTransport } from "../transport/waku-transport.js";
import { readRosterFile, storePath } from "./identity.js";

export interface NodeCommandOptions {
  readonly dataDir: string;
  readonly role: Role;
  readonly listen: string[];
  readonly bootstrap: string[];
  readonly apiHost: string;
  readonly apiPort: number;
  readonly channel: string[];
  /** Share of messages dropped in and out from the start (fault injection); 0 for none. */
  readonly loss?: number;
  /** Engine parameter overrides (see src/core/params.ts), validated by the engine. */
  readonly param?: Record<string, number | boolean>;
  /** Owner: roster members (sender ids). */
  readonly member?: string[];
  /** Owner: a file of roster members. */
  readonly rosterFile?: string;
  /** Member: the owner's sender id. */
  readonly owner?: string;
  /** "libp2p" (default): plain gossipsub, one topic per channel; "waku": Waku relay. */
  readonly transport?: "waku" | "libp2p";
  /** Waku: the cluster id (default 42). */
  readonly cluster?: number;
  /** Waku: the static shards to relay (default [0]); Chorus publishes on the first. */
  readonly shard?: number[];
  /** Waku: per channel id, the content topic to use instead of /chorus/1/<channel>/proto. */
  readonly contentTopic?: Record<string, string>;
}

/** How long an inbound exchange may last: a member's WATCH waits up to 20 s for news. */
const INBOUND_TIMEOUT_MS = 30_000;

/** The roster an owner is started with (undefined: none), after checking that the flags fit the role. */
function rosterOption(options: NodeCommandOptions): string[] | undefined {
  const members = [...(options.member ?? []), ...(options.rosterFile ? readRosterFile(options.rosterFile) : [])];
  const listed = (options.member?.length ?? 0) > 0 || options.rosterFile !== undefined;
  if (options.role === "member" && listed) throw new Error("--member and --roster-file are for --role owner");
  if (options.role === "owner" && options.owner !== undefined) throw new Error("--owner is for --role member");
  return options.role === "owner" && listed ? members : undefined;
}

/** CSPRNG-backed uniform numbers: the engine's ack nonces must be unpredictable in a real node. */
function secureRandom(): number {
  return randomBytes(6).readUIntBE(0, 6) / 2 ** 48;
}

/** The node's transport; one key for both, so the peer id and the Chorus sender id name the same node. */
function makeTransport(options: NodeCommandOptions, secretKey: Uint8Array): WakuTransport | Libp2pTransport {
  const common = {
    secretKey,
    listen: options.listen,
    bootstrap: options.bootstrap,
    inboundTimeoutMs: INBOUND_TIMEOUT_MS,
  };
  if (options.transport === "waku") {
    return new WakuTransport({
      ...common,
      cluster: options.cluster ?? DEFAULT_WAKU_CLUSTER,
      shards: options.shard === undefined || options.shard.length === 0 ? [DEFAULT_WAKU_SHARD] : options.shard,
    });
  }
  const wakuOnly = [
    options.cluster !== undefined && "--cluster",
    (options.shard?.length ?? 0) > 0 && "--shard",
    Object.keys(options.contentTopic ?? {}).length > 0 && "--content-topic",
  ].filter((f): f is string => typeof f === "string");
  if (wakuOnly.length > 0) throw new Error(`${wakuOnly.join(", ")}: only with --transport waku`);
  return new Libp2pTransport(common);
}

/** Starts one node: SQLite store in the data dir, libp2p gossipsub, the REST API and web UI. */
export async function runNode(options: NodeCommandOptions): Promise<{ stop: () => Promise<void>; url: string }> {
  // Bad parameters fail here, naming the parameter, before anything is opened.
  resolveParams(options.param ?? {});
  const roster = rosterOption(options);
  mkdirSync(options.dataDir, { recursive: true });
  // One process per identity: a second node on this folder would sign other messages with our sequence numbers.
  const lock = lockDataDir(options.dataDir);
  try {
    return await startLocked(options, roster, lock.release);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function startLocked(
  options: NodeCommandOptions,
  roster: string[] | undefined,
  unlock: () => void,
): Promise<{ stop: () => Promise<void>; url: string }> {
  const store = new SqliteStore({ path: storePath(options.dataDir) });
  let secret = store.getIdentity();
  if (secret === undefined) {
    secret = new Uint8Array(randomBytes(32));
    store.setIdentity(secret);
  }
  const transport = makeTransport(options, secret);
  const waku = transport instanceof WakuTransport ? transport : undefined;
  const node = new ChorusNode({
    store,
    transport,
    role: options.role,
    channels: options.channel,
    newSecretKey: () => new Uint8Array(randomBytes(32)),
    random: secureRandom,
    params: options.param ?? {},
    ...(roster === undefined ? {} : { roster }),
    ...(options.owner === undefined ? {} : { ownerSenderId: options.owner }),
    ...(options.contentTopic === undefined ? {} : { contentTopics: options.contentTopic }),
    // In Waku mode an owner is a Waku service node for its shards (store, filter, light push, on its SQLite
    // archive), and every node falls back to a Waku store when no owner answers its catch-up (spec 19.4).
    ...(waku !== undefined && options.role === "owner"
      ? { wakuServices: new WakuServices(waku, { archive: store.wakuArchive() }) }
      : {}),
    ...(waku === undefined ? {} : { storeFallback: new WakuStoreClient(waku) }),
  });
  await node.start();
  if ((options.loss ?? 0) > 0) node.setFaults({ loss: options.loss! });
  const api = createApi(node);
  const address = await api.listen({ host: options.apiHost, port: options.apiPort });
  const url = address.replace("0.0.0.0", "127.0.0.1");
  // A member catches up from the owner; an owner back from downtime catches up from its members. Until
  // then the engine's peer repair covers gaps.
  for (const channelId of node.listChannels()) node.catchUpWhenReachable(channelId);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await api.close();
      await node.stop();
      store.close();
      unlock();
    })();
    return stopping;
  };
  return { stop, url };
}
