/**
 * Chorus nodes as separate `chorus node` processes, one per namespace of a NetLab: an owner with a roster
 * and members that know the owner's id. Identities are made before any node starts, so every node can be
 * given every peer's address up front and all start at once (a node redials unreachable bootstrap peers).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { privateKeyFromRaw } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { storePath } from "../../src/cli/identity.js";
import { identityFromSecretKey } from "../../src/core/index.js";
import { SqliteStore } from "../../src/storage/index.js";
import type { NetLab } from "./netlab.js";

const BIN = resolve(fileURLToPath(import.meta.url), "../../../bin/chorus.js");
const READY = /ready: (http:\/\/\S+?)\/ /;
const LIBP2P_PORT = 4001;
const API_PORT = 8080;

export interface ClusterNode {
  readonly name: string;
  readonly role: "owner" | "member";
  readonly senderId: string;
  readonly peerId: string;
  /** Where other nodes dial it, on the mesh network. */
  readonly dialAddress: string;
  /** Its REST API, on the control network. */
  readonly url: string;
  readonly dataDir: string;
  child?: ChildProcess;
  /** The tail of what the process wrote to stderr (for failure reports). */
  stderr: string;
}

/** Makes the node's identity in its store and returns the sender id and the libp2p peer id derived from it. */
function makeIdentity(dataDir: string): { senderId: string; peerId: string } {
  mkdirSync(dataDir, { recursive: true });
  const secret = new Uint8Array(randomBytes(32));
  const store = new SqliteStore({ path: storePath(dataDir) });
  try {
    store.setIdentity(secret);
  } finally {
    store.close();
  }
  const identity = identityFromSecretKey(secret);
  // libp2p's ed25519 private key is seed || public key; the transport derives its peer id the same way.
  const raw = new Uint8Array(64);
  raw.set(secret, 0);
  raw.set(identity.publicKey, 32);
  return { senderId: identity.senderId, peerId: peerIdFromPrivateKey(privateKeyFromRaw(raw)).toString() };
}

export interface ClusterOptions {
  readonly root: string;
  readonly channelId: string;
  /** Engine parameters for every node. */
  readonly params: Readonly<Record<string, number | boolean>>;
  readonly startTimeoutMs: number;
}

export class Cluster {
  readonly nodes: readonly ClusterNode[];
  private readonly byName = new Map<string, ClusterNode>();

  /** The lab's first host is the owner, the others members. */
  constructor(
    private readonly lab: NetLab,
    private readonly options: ClusterOptions,
  ) {
    this.nodes = lab.hosts.map((h) => {
      const dataDir = join(options.root, h.name);
      const { senderId, peerId } = makeIdentity(dataDir);
      return {
        name: h.name,
        role: h.index === 0 ? "owner" : "member",
        senderId,
        peerId,
        dialAddress: `/ip4/${h.meshAddress}/tcp/${LIBP2P_PORT}/p2p/${peerId}`,
        url: `http://${h.apiAddress}:${API_PORT}`,
        dataDir,
        stderr: "",
      } satisfies ClusterNode;
    });
    for (const n of this.nodes) this.byName.set(n.name, n);
  }

  get owner(): ClusterNode {
    return this.nodes[0]!;
  }

  get members(): readonly ClusterNode[] {
    return this.nodes.slice(1);
  }

  node(name: string): ClusterNode {
    const n = this.byName.get(name);
    if (n === undefined) throw new RangeError(`no node named ${JSON.stringify(name)}`);
    return n;
  }

  /** Starts every node at once; each bootstraps to the nodes listed before it. Resolves when all are ready. */
  async start(): Promise<void> {
    await Promise.all(this.nodes.map((n, i) => this.launch(n, this.nodes.slice(0, i))));
  }

  private args(node: ClusterNode, earlier: readonly ClusterNode[]): string[] {
    const h = this.lab.host(node.name);
    const args = [BIN, "node", "--role", node.role, "--data-dir", node.dataDir, "--channel", this.options.channelId];
    args.push("--listen", `/ip4/${h.meshAddress}/tcp/${LIBP2P_PORT}`);
    args.push("--api-host", h.apiAddress, "--api-port", String(API_PORT));
    for (const e of earlier) args.push("--bootstrap", e.dialAddress);
    for (const [k, v] of Object.entries(this.options.params)) args.push("--param", `${k}=${v}`);
    if (node.role === "owner") for (const m of this.members) args.push("--member", m.senderId);
    else args.push("--owner", this.owner.senderId);
    return args;
  }

  private launch(node: ClusterNode, earlier: readonly ClusterNode[]): Promise<void> {
    const [cmd, ...argv] = this.lab.command(node.name, [process.execPath, ...this.args(node, earlier)]);
    const child = spawn(cmd!, argv, { stdio: ["ignore", "pipe", "pipe"] });
    node.child = child;
    const timeoutMs = this.options.startTimeoutMs;
    return new Promise((done, fail) => {
      let out = "";
      const timer = setTimeout(() => {
        fail(new Error(`${node.name} did not start within ${timeoutMs} ms: ${node.stderr.slice(-800)}`));
      }, timeoutMs);
      child.stdout?.on("data", (chunk: Buffer) => {
        if (out.length < 4_096) out += chunk.toString();
        if (READY.test(out)) {
          clearTimeout(timer);
          done();
        }
      });
      // All of it goes to a file beside the data dir (DEBUG=libp2p:* in the environment reaches the nodes).
      const file = createWriteStream(join(this.options.root, `${node.name}.stderr.log`));
      child.stderr?.pipe(file);
      child.stderr?.on("data", (chunk: Buffer) => {
        node.stderr = (node.stderr + chunk.toString()).slice(-16_000);
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        fail(new Error(`${node.name} exited (${code ?? signal}) before it was ready: ${node.stderr.slice(-800)}`));
      });
    });
  }

  /** Nodes whose process has exited, with how (a node must not die during a scenario). */
  dead(): string[] {
    return this.nodes
      .filter((n) => n.child !== undefined && (n.child.exitCode !== null || n.child.signalCode !== null))
      .map((n) => `${n.name} (exit ${n.child!.exitCode ?? n.child!.signalCode}): ${n.stderr.slice(-400)}`);
  }

  /** SIGTERM to every node, SIGKILL to those still running after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    const running = this.nodes.map((n) => n.child).filter((c): c is ChildProcess => c !== undefined);
    await Promise.all(
      running.map((child) => {
        if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
        return new Promise<void>((done) => {
          const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
          child.once("exit", () => {
            clearTimeout(timer);
            done();
          });
          child.kill("SIGTERM");
        });
      }),
    );
  }
}

export async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export interface LogRow {
  readonly messageId: string;
  readonly senderId: string;
  readonly seq: number | null;
  /** A decimal string (it may exceed 2^53). */
  readonly lamportTimestamp: string;
  readonly position: number;
  readonly receivedAt: number;
}

/** A node's whole delivered log, in order. */
export async function readLog(node: ClusterNode, channelId: string): Promise<LogRow[]> {
  const rows: LogRow[] = [];
  for (let after = 0; ; ) {
    const page = await getJson<{ messages: LogRow[]; next: number | null }>(
      `${node.url}/v1/channels/${encodeURIComponent(channelId)}/messages?limit=1000&after=${after}`,
    );
    rows.push(...page.messages);
    if (page.next === null || page.messages.length === 0) return rows;
    after = page.next;
  }
}

export function postMessage(node: ClusterNode, channelId: string, content: string) {
  return getJson<{ messageId: string }>(`${node.url}/v1/channels/${encodeURIComponent(channelId)}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ content }),
  });
}

export interface Receipts {
  readonly count: number;
  readonly members: number;
  readonly notYet?: readonly string[];
}

/** The receipts of one message as a node shows them (null when it has none). */
export async function readReceipts(node: ClusterNode, channelId: string, messageId: string): Promise<Receipts | null> {
  const view = await getJson<{ receipts: Receipts | null }>(
    `${node.url}/v1/channels/${encodeURIComponent(channelId)}/messages/${messageId}`,
  );
  return view.receipts;
}

/** How many peers a node is connected to, and whether it knows the owner's peer. */
export async function readPeers(node: ClusterNode): Promise<{ peers: number; owner: boolean }> {
  const answer = await getJson<{ ownerPeerId: string | null; peers: { peerId: string }[] }>(`${node.url}/v1/peers`);
  return { peers: answer.peers.length, owner: node.role === "owner" || answer.ownerPeerId !== null };
}
