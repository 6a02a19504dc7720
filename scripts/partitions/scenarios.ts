/**
 * The partition scenarios and the runner that plays one: chat while the network is whole, apply the fault,
 * chat through it, heal, chat a little more, then wait until every node's log is identical and holds every
 * acknowledged message once, and every sender reads "delivered to N of N" for each of its messages.
 */
import {
  type Cluster,
  type ClusterNode,
  type LogRow,
  postMessage,
  readLog,
  readPeers,
  readReceipts,
} from "./cluster.js";
import type { EventRecorder } from "./events.js";
import type { NetLab } from "./netlab.js";
import { type ScenarioResult, scenarioFigures } from "./report.js";

export type ScenarioName = "baseline" | "owner-isolated" | "member-partitioned" | "split" | "member-loss";
export const SCENARIO_NAMES: readonly ScenarioName[] = [
  "baseline",
  "owner-isolated",
  "member-partitioned",
  "split",
  "member-loss",
];

export interface ScenarioPlan {
  readonly name: ScenarioName;
  /** The fault in words, for the report. */
  readonly fault: string;
  apply(lab: NetLab): void;
  /** Who sends while the fault holds. */
  readonly senders: readonly ClusterNode[];
  /** Whether a message can go from one node to the other while the fault holds. */
  reachable(from: string, to: string): boolean;
}

/** The plan of a scenario on a cluster: the owner is nodes[0]; a partitioned or lossy member is the last / first one. */
export function plan(name: ScenarioName, cluster: Cluster, lossPercent: number): ScenarioPlan {
  const all = cluster.nodes;
  const owner = cluster.owner.name;
  const members = cluster.members;
  switch (name) {
    case "baseline":
      return { name, fault: "none", apply: () => {}, senders: all, reachable: () => true };
    case "owner-isolated":
      return {
        name,
        fault: `${owner}'s mesh link down; the members chat among themselves`,
        apply: (lab) => lab.isolate(owner),
        senders: members,
        reachable: (a, b) => (a === owner) === (b === owner),
      };
    case "member-partitioned": {
      const cut = members[members.length - 1]!.name;
      return {
        name,
        fault: `${cut}'s mesh link down; everyone chats, ${cut} too`,
        apply: (lab) => lab.isolate(cut),
        senders: all,
        reachable: (a, b) => (a === cut) === (b === cut),
      };
    }
    case "split": {
      const half = Math.ceil(all.length / 2);
      const a = all.slice(0, half).map((n) => n.name);
      const b = all.slice(half).map((n) => n.name);
      const inA = new Set(a);
      return {
        name,
        fault: `nftables drop between {${a.join(", ")}} and {${b.join(", ")}}; both halves chat`,
        apply: (lab) => lab.block(a, b),
        senders: all,
        reachable: (x, y) => inA.has(x) === inA.has(y),
      };
    }
    case "member-loss": {
      const lossy = members[0]!.name;
      return {
        name,
        fault: `${lossPercent} % of ${lossy}'s mesh packets dropped each way (nftables numgen random)`,
        apply: (lab) => lab.loss(lossy, lossPercent),
        senders: all,
        reachable: () => true,
      };
    }
  }
}

export interface Timing {
  readonly beforeMs: number;
  readonly faultMs: number;
  readonly afterMs: number;
  /** One message every this many ms, from the senders in turn. */
  readonly intervalMs: number;
  readonly convergeTimeoutMs: number;
}

export interface SentMessage {
  readonly messageId: string;
  readonly sender: string;
  readonly phase: "before" | "during" | "after";
  /** When the harness got the API's answer. */
  readonly postedAt: number;
}

export interface RunContext {
  readonly lab: NetLab;
  readonly cluster: Cluster;
  readonly recorder: EventRecorder;
  readonly channelId: string;
  readonly timing: Timing;
  /** Every message any node's API acknowledged so far in the run (all must be in every log). */
  readonly acknowledged: Set<string>;
  readonly log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends one message every `intervalMs` for `durationMs`, from `senders` in turn. */
async function chat(
  ctx: RunContext,
  scenario: string,
  phase: SentMessage["phase"],
  senders: readonly ClusterNode[],
  durationMs: number,
  sent: SentMessage[],
  failures: string[],
): Promise<void> {
  const inFlight: Promise<void>[] = [];
  const end = Date.now() + durationMs;
  for (let k = 0; Date.now() < end; k++) {
    const sender = senders[k % senders.length]!;
    inFlight.push(
      postMessage(sender, ctx.channelId, `${scenario} ${phase} ${k} from ${sender.name}`).then(
        ({ messageId }) => {
          sent.push({ messageId, sender: sender.name, phase, postedAt: Date.now() });
          ctx.acknowledged.add(messageId);
        },
        (err: Error) => {
          failures.push(`${phase} send from ${sender.name}: ${err.message}`);
        },
      ),
    );
    await sleep(ctx.timing.intervalMs);
  }
  await Promise.all(inFlight);
}

export interface Convergence {
  /** When every log was identical and complete, or undefined if it never was. */
  logsAt?: number;
  /** When every sender read N of N for every message of the scenario. */
  receiptsAt?: number;
  /** When polling first saw N of N, per message (a fallback for receipt times). */
  readonly receiptSeenAt: Map<string, number>;
  lost: number;
  duplicated: number;
  /** Deliveries before an earlier message of the same sender, summed over the nodes. */
  outOfSequence: number;
  /** The logs as last read, by node. */
  logs: Map<string, LogRow[]>;
  readonly problems: string[];
}

/**
 * The log in the spec's log order, (lamport timestamp, message id) (spec section 9.5), as one string. The
 * API lists messages in delivery order, which is causal but not total: two nodes may deliver concurrent
 * messages (both halves of a split, say) in different orders, and must still hold the same log.
 */
function logOrder(log: readonly LogRow[]): string {
  const rows = log.map((r) => ({ lamport: BigInt(r.lamportTimestamp), id: r.messageId }));
  rows.sort((a, b) =>
    a.lamport !== b.lamport ? (a.lamport < b.lamport ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
  return rows.map((r) => r.id).join(",");
}

/** Deliveries out of a sender's sequence order in one node's delivery order (causal order forbids any). */
function outOfSequence(log: readonly LogRow[]): number {
  const last = new Map<string, number>();
  let bad = 0;
  for (const r of log) {
    if (r.seq === null) continue;
    if ((last.get(r.senderId) ?? 0) >= r.seq) bad++;
    last.set(r.senderId, r.seq);
  }
  return bad;
}

/** Reads every log and compares them with each other and with every acknowledged message. */
async function checkLogs(ctx: RunContext, c: Convergence): Promise<boolean> {
  const nodes = ctx.cluster.nodes;
  const logs = await Promise.all(nodes.map((n) => readLog(n, ctx.channelId)));
  c.logs = new Map(nodes.map((n, i) => [n.name, logs[i]!]));
  let lost = 0;
  let duplicated = 0;
  let disordered = 0;
  for (const log of logs) {
    const ids = new Set(log.map((r) => r.messageId));
    duplicated += log.length - ids.size;
    disordered += outOfSequence(log);
    for (const id of ctx.acknowledged) if (!ids.has(id)) lost++;
  }
  c.lost = lost;
  c.duplicated = duplicated;
  c.outOfSequence = disordered;
  const first = logOrder(logs[0]!);
  const identical = logs.every((log) => logOrder(log) === first);
  return identical && lost === 0 && duplicated === 0 && disordered === 0;
}

/** Asks each sender for the receipts of its messages not yet at N of N; true when all are. */
async function checkReceipts(ctx: RunContext, sent: readonly SentMessage[], c: Convergence): Promise<boolean> {
  const n = ctx.cluster.nodes.length - 1;
  let all = true;
  for (const m of sent) {
    if (c.receiptSeenAt.has(m.messageId)) continue;
    const receipts = await readReceipts(ctx.cluster.node(m.sender), ctx.channelId, m.messageId);
    if (receipts !== null && receipts.members === n && receipts.count >= n)
      c.receiptSeenAt.set(m.messageId, Date.now());
    else all = false;
  }
  return all;
}

/** What is still wrong at the deadline, precisely enough to reproduce. */
async function describeFailure(ctx: RunContext, sent: readonly SentMessage[], c: Convergence): Promise<void> {
  for (const [name, log] of c.logs) {
    const ids = new Set(log.map((r) => r.messageId));
    const missing = [...ctx.acknowledged].filter((id) => !ids.has(id));
    if (missing.length > 0) c.problems.push(`${name} lacks ${missing.length}: ${missing.slice(0, 4).join(", ")}`);
  }
  for (const node of ctx.cluster.nodes) {
    const peers = await readPeers(node).catch((err: Error) => err.message);
    c.problems.push(
      `${node.name}'s peers: ${typeof peers === "string" ? peers : `${peers.peers}${peers.owner ? "" : ", owner unknown"}`}`,
    );
  }
  const orders = new Set([...c.logs.values()].map(logOrder));
  if (orders.size > 1) c.problems.push(`the nodes hold ${orders.size} different logs`);
  if (c.outOfSequence > 0) c.problems.push(`${c.outOfSequence} deliveries out of their sender's sequence order`);
  const n = ctx.cluster.nodes.length - 1;
  await checkReceipts(ctx, sent, c);
  const open = sent.filter((m) => !c.receiptSeenAt.has(m.messageId));
  for (const m of open.slice(0, 4)) {
    const r = await readReceipts(ctx.cluster.node(m.sender), ctx.channelId, m.messageId).catch(() => null);
    c.problems.push(
      `${m.sender}'s ${m.messageId} (${m.phase}) reads ${r === null ? "no receipts" : `${r.count} of ${r.members}`}` +
        ` (want ${n} of ${n})${r?.notYet?.length ? `, not yet: ${r.notYet.map((s) => s.slice(0, 8)).join(", ")}` : ""}`,
    );
  }
  if (open.length > 4) c.problems.push(`and ${open.length - 4} more messages short of ${n} of ${n}`);
}

async function converge(ctx: RunContext, sent: readonly SentMessage[]): Promise<Convergence> {
  const c: Convergence = {
    receiptSeenAt: new Map(),
    lost: 0,
    duplicated: 0,
    outOfSequence: 0,
    logs: new Map(),
    problems: [],
  };
  const deadline = Date.now() + ctx.timing.convergeTimeoutMs;
  for (;;) {
    const dead = ctx.cluster.dead();
    if (dead.length > 0) {
      c.problems.push(...dead.map((d) => `node died: ${d}`));
      return c;
    }
    try {
      const logsOk = await checkLogs(ctx, c);
      if (logsOk) c.logsAt ??= Date.now();
      if (logsOk && (await checkReceipts(ctx, sent, c))) {
        c.receiptsAt = Date.now();
        return c;
      }
    } catch (err) {
      // A slow answer is retried; it becomes a problem only if the deadline passes.
      if (Date.now() > deadline) c.problems.push(`reading the nodes failed: ${(err as Error).message}`);
    }
    if (Date.now() > deadline) {
      c.problems.push(`not converged ${ctx.timing.convergeTimeoutMs} ms after the fault was healed`);
      await describeFailure(ctx, sent, c).catch((err) => c.problems.push(String(err)));
      return c;
    }
    await sleep(250);
  }
}

/** Plays one scenario on a running cluster and returns its figures. */
export async function runScenario(ctx: RunContext, scenario: ScenarioPlan): Promise<ScenarioResult> {
  const { timing, lab, cluster } = ctx;
  const sent: SentMessage[] = [];
  const failures: string[] = [];
  const startedAt = Date.now();
  ctx.log(`${scenario.name}: ${scenario.fault}`);
  await chat(ctx, scenario.name, "before", cluster.nodes, timing.beforeMs, sent, failures);
  const faultAt = Date.now();
  let healAt: number;
  try {
    scenario.apply(lab);
    await chat(ctx, scenario.name, "during", scenario.senders, timing.faultMs, sent, failures);
  } finally {
    lab.heal();
    healAt = Date.now();
  }
  await chat(ctx, scenario.name, "after", cluster.nodes, timing.afterMs, sent, failures);
  const convergence = await converge(ctx, sent);
  convergence.problems.unshift(...failures);
  return scenarioFigures({
    scenario,
    sent,
    events: ctx.recorder.events.filter((e) => e.at >= startedAt),
    convergence,
    nodes: cluster.nodes.map((n) => n.name),
    startedAt,
    faultAt,
    healAt,
  });
}
