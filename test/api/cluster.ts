// A small in-process Chorus network for API tests: real ChorusNode instances on a MemoryBus with
// MemoryStores, each with its own API instance (not listening unless a test asks).
import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { type ApiOptions, createApi } from "../../src/api/index.js";
import { identityFromSecretKey, type Params } from "../../src/core/index.js";
import { ChorusNode, type Role } from "../../src/node/node.js";
import { MemoryStore } from "../../src/storage/index.js";
import { MemoryBus } from "../../src/transport/memory-bus.js";

/** The usual roster: the owner and two members. */
export const OWNER_ALICE_BOB: readonly { name: string; role: Role }[] = [
  { name: "owner", role: "owner" },
  { name: "alice", role: "member" },
  { name: "bob", role: "member" },
];

/** Fast syncs so that receipts flow within a fraction of a second, not the production two minutes. */
export const FAST_PARAMS: Partial<Params> = {
  syncIntervalMs: 250,
  syncJitter: 0.2,
  controlBudgetPer600s: 2_000,
  repairRequestDelayMs: 50,
  repairResponseDelayMs: 50,
  repairRetryMs: 300,
};

export interface Member {
  readonly name: string;
  readonly node: ChorusNode;
  readonly api: FastifyInstance;
  readonly store: MemoryStore;
}

export interface Cluster {
  readonly bus: MemoryBus;
  readonly members: Member[];
  get(name: string): Member;
  add(name: string, role: Role, params?: Partial<Params>): Promise<Member>;
  close(): Promise<void>;
}

export interface ClusterOptions {
  readonly channels?: readonly string[];
  readonly api?: ApiOptions;
  readonly params?: Partial<Params>;
  readonly latency?: number;
  /** Give the channels a roster: the owner lists the nodes of `spec`, members check it against the owner's id. */
  readonly roster?: boolean;
}

export async function startCluster(
  spec: readonly { name: string; role: Role; params?: Partial<Params>; secretKey?: Uint8Array }[],
  options: ClusterOptions = {},
): Promise<Cluster> {
  const bus = new MemoryBus({ latency: options.latency ?? 2 });
  const members: Member[] = [];
  // Keys made up front, so that the owner's roster can name every node before any starts.
  const keys = new Map(spec.map((s) => [s.name, s.secretKey ?? new Uint8Array(randomBytes(32))]));
  const idOf = (name: string) => identityFromSecretKey(keys.get(name)!).senderId;
  const ownerName = spec.find((s) => s.role === "owner")?.name;
  const rosterOptions = (role: Role) => {
    if (options.roster !== true || ownerName === undefined) return {};
    return role === "owner"
      ? { roster: spec.filter((s) => s.role === "member").map((s) => idOf(s.name)) }
      : { ownerSenderId: idOf(ownerName) };
  };
  const add = async (name: string, role: Role, params: Partial<Params> = {}) => {
    const store = new MemoryStore();
    const key = keys.get(name) ?? new Uint8Array(randomBytes(32));
    const node = new ChorusNode({
      store,
      transport: bus.createTransport(name),
      role,
      channels: options.channels ?? ["general"],
      params: { ...FAST_PARAMS, ...options.params, ...params },
      newSecretKey: () => key,
      random: Math.random,
      ...rosterOptions(role),
    });
    await node.start();
    const api = createApi(node, { processMetrics: false, heartbeatMs: 200, ...options.api });
    const member = { name, node, api, store };
    members.push(member);
    return member;
  };
  for (const s of spec) await add(s.name, s.role, s.params);
  return {
    bus,
    members,
    add,
    get(name) {
      const m = members.find((x) => x.name === name);
      if (m === undefined) throw new Error(`no member ${name}`);
      return m;
    },
    async close() {
      for (const m of members) await m.api.close();
      for (const m of members) await m.node.stop();
      bus.close();
    },
  };
}

/**
 * Awaits `promise`, failing after `timeoutMs`. The pending timer also keeps the event loop alive: the
 * nodes' own timers are unref'd, so a test waiting only on them would otherwise end early.
 */
export async function within<T>(what: string, promise: Promise<T>, timeoutMs = 5_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** `app.inject` returning the parsed JSON body with the status. */
export async function call(
  api: FastifyInstance,
  method: "GET" | "POST" | "PUT" | "DELETE",
  url: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: tests read deep into response bodies whose shape they assert
): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  const response = await api.inject({
    method,
    url,
    ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
  });
  const type = String(response.headers["content-type"] ?? "");
  return {
    status: response.statusCode,
    body: type.includes("json") ? response.json() : response.body,
    headers: response.headers,
  };
}
