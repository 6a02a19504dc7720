import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { nodeSenderId } from "./identity.js";

const BIN = resolve(fileURLToPath(import.meta.url), "../../../bin/chorus.js");
const READY = /ready: (http:\/\/\S+?)\/ /;
/** Set in a launched node's environment: it stops when its stdin closes (its parent is gone). */
export const EXIT_WITH_PARENT = "CHORUS_EXIT_WITH_PARENT";

export interface NodeSpec {
  readonly name: string;
  readonly role: "owner" | "member";
  readonly dataDir: string;
  readonly channels: readonly string[];
  /** Listen multiaddrs (`--listen`, one or several: a Waku node may want /ws beside TCP). */
  readonly listen?: string | readonly string[];
  /** Share of messages the node drops in and out (`--loss`). */
  readonly loss?: number;
  /** REST API port; 0 (the default) picks a free one. */
  readonly apiPort?: number;
  readonly bootstrap?: readonly string[];
  readonly params?: Readonly<Record<string, number | boolean>>;
  /** Owner: the roster's members (`--member`). */
  readonly members?: readonly string[];
  /** Member: the owner's sender id (`--owner`). */
  readonly owner?: string;
  /** `--transport`; the node's default (libp2p) when absent. */
  readonly transport?: "waku" | "libp2p";
}

export interface LaunchedNode {
  readonly spec: NodeSpec;
  readonly child: ChildProcess;
  /** Base URL of the node's REST API and web UI. */
  readonly url: string;
  /** What the process wrote to stderr so far (for error reports). */
  stderr(): string;
}

/** Starts `chorus node` as a child process; resolves once it prints that it is ready. */
export function launchNode(spec: NodeSpec, timeoutMs = 60_000): Promise<LaunchedNode> {
  const args = [BIN, "node", "--role", spec.role, "--data-dir", spec.dataDir, "--api-port", String(spec.apiPort ?? 0)];
  for (const c of spec.channels) args.push("--channel", c);
  for (const l of typeof spec.listen === "string" ? [spec.listen] : (spec.listen ?? [])) args.push("--listen", l);
  for (const b of spec.bootstrap ?? []) args.push("--bootstrap", b);
  for (const [k, v] of Object.entries(spec.params ?? {})) args.push("--param", `${k}=${v}`);
  for (const m of spec.members ?? []) args.push("--member", m);
  if (spec.owner !== undefined) args.push("--owner", spec.owner);
  if (spec.loss !== undefined && spec.loss > 0) args.push("--loss", String(spec.loss));
  if (spec.transport !== undefined) args.push("--transport", spec.transport);
  return new Promise((done, fail) => {
    // stdin is a pipe the child watches: when this process dies, even by SIGKILL, the child sees it close and
    // stops, so that no node outlives the process that started it.
    const child = spawn(process.execPath, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, [EXIT_WITH_PARENT]: "1" },
    });
    let out = "";
    let err = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`${spec.name} did not start within ${timeoutMs} ms: ${err.slice(-800)}`));
    }, timeoutMs);
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = READY.exec(out);
      if (match) {
        clearTimeout(timer);
        done({ spec, child, url: match[1]!, stderr: () => err });
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      err += chunk.toString();
      if (err.length > 64_000) err = err.slice(-32_000);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`${spec.name} exited (${code ?? signal}) before it was ready: ${err.slice(-800)}`));
    });
  });
}

export interface MeshOptions {
  /** Parent folder of the nodes' data dirs. */
  readonly root: string;
  readonly channelId: string;
  /** Members besides the owner. */
  readonly members: number;
  /** The owner listens on 127.0.0.1 at this port, member i at `basePort + i`. */
  readonly basePort: number;
  readonly params?: NodeSpec["params"];
  /** Give the channel a roster: the owner lists every member, members check it against the owner's id. */
  readonly roster?: boolean;
}

/** The roster flags of an owner and its members, from their data dirs (identities are created as needed). */
export function rosterSpecs(ownerDir: string, memberDirs: readonly string[]): { owner: string; members: string[] } {
  return { owner: nodeSenderId(ownerDir), members: memberDirs.map((dir) => nodeSenderId(dir)) };
}

/**
 * Launches an owner ("owner") and then members ("member1", ...) one at a time, each dialling the owner and
 * the members started before it, so that the mesh survives any one kill. Each node is pushed to `nodes`
 * as soon as it is ready, so that the caller can stop what runs when a later launch fails.
 */
export async function launchMesh(options: MeshOptions, nodes: LaunchedNode[]): Promise<void> {
  const { root, basePort, params } = options;
  const channels = [options.channelId];
  const memberDirs = Array.from({ length: options.members }, (_, i) => join(root, `member${i + 1}`));
  const roster = options.roster === true ? rosterSpecs(join(root, "owner"), memberDirs) : undefined;
  const owner = await launchNode({
    name: "owner",
    role: "owner",
    dataDir: join(root, "owner"),
    channels,
    listen: `/ip4/127.0.0.1/tcp/${basePort}`,
    ...(params === undefined ? {} : { params }),
    ...(roster === undefined ? {} : { members: roster.members }),
  });
  nodes.push(owner);
  const bootstrap = [await dialAddress(owner)];
  for (let i = 1; i <= options.members; i++) {
    const member = await launchNode({
      name: `member${i}`,
      role: "member",
      dataDir: memberDirs[i - 1]!,
      channels,
      listen: `/ip4/127.0.0.1/tcp/${basePort + i}`,
      bootstrap: [...bootstrap],
      ...(params === undefined ? {} : { params }),
      ...(roster === undefined ? {} : { owner: roster.owner }),
    });
    nodes.push(member);
    bootstrap.push(await dialAddress(member));
  }
}

/** Resolves when the process has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once("exit", () => r()));
}

export async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** The peer address other nodes dial: the node's listen address with its peer id. */
export async function dialAddress(node: LaunchedNode): Promise<string> {
  const health = await getJson<{ peerId: string; multiaddrs: string[] }>(`${node.url}/v1/health`);
  const address = health.multiaddrs[0];
  if (address === undefined) throw new Error(`${node.spec.name} reports no listen address`);
  return address.includes("/p2p/") ? address : `${address}/p2p/${health.peerId}`;
}

/** Sends a text message through a node's REST API. */
export function postMessage(node: LaunchedNode, channelId: string, content: string) {
  return getJson<{ messageId: string; seq: number | null }>(
    `${node.url}/v1/channels/${encodeURIComponent(channelId)}/messages`,
    { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ content }) },
  );
}

/** Every message id of a node's delivered log, in log order. */
export async function deliveredIds(node: LaunchedNode, channelId: string): Promise<string[]> {
  const ids: string[] = [];
  for (let after = 0; ; ) {
    const page = await getJson<{ messages: { messageId: string }[] }>(
      `${node.url}/v1/channels/${encodeURIComponent(channelId)}/messages?limit=1000&after=${after}`,
    );
    ids.push(...page.messages.map((m) => m.messageId));
    if (page.messages.length < 1000) return ids;
    after += page.messages.length;
  }
}
