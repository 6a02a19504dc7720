/**
 * Figures of one scenario from what the nodes reported (their event streams, their logs) and the JSON and
 * markdown reports of a run.
 */
import type { RecordedEvent } from "./events.js";
import type { Convergence, ScenarioPlan, SentMessage } from "./scenarios.js";

export interface Spread {
  readonly count: number;
  /** Milliseconds; null when there are no samples. */
  readonly p50: number | null;
  readonly p95: number | null;
  readonly max: number | null;
}

/** Nearest-rank percentiles of a few thousand samples at most: sorting them is exact and cheap. */
export function spread(samples: readonly number[]): Spread {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? null : sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!);
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), max: at(1) };
}

export interface ScenarioResult {
  readonly name: string;
  readonly fault: string;
  readonly converged: boolean;
  readonly faultMs: number;
  readonly sent: { readonly before: number; readonly during: number; readonly after: number };
  readonly lost: number;
  readonly duplicated: number;
  /** Deliveries before an earlier message of the same sender, summed over the nodes: must be 0. */
  readonly outOfSequence: number;
  /** Deliveries (message, receiver) that crossed the cut before it was healed: must be 0. */
  readonly leaks: number;
  /** From the heal until every log was identical and complete, and until every receipt read N of N. */
  readonly logsConvergedMs: number | null;
  readonly receiptsConvergedMs: number | null;
  /** Send to delivery, for pairs the fault did not separate. */
  readonly delivery: Spread;
  /** Heal to delivery, for pairs the fault separated. */
  readonly deliveryAfterHeal: Spread;
  /** Gap detection to repair, from the nodes' `repaired` events. */
  readonly repair: Spread & { readonly gapsDetected: number; readonly givenUp: number };
  /** Send to "N of N" on the sender, for messages every member could get at once. */
  readonly receipts: Spread;
  /** Heal to "N of N", for messages sent while part of the channel was cut off. */
  readonly receiptsAfterHeal: Spread;
  readonly problems: readonly string[];
}

export interface FigureInput {
  readonly scenario: ScenarioPlan;
  readonly sent: readonly SentMessage[];
  readonly events: readonly RecordedEvent[];
  readonly convergence: Convergence;
  readonly nodes: readonly string[];
  readonly startedAt: number;
  readonly faultAt: number;
  readonly healAt: number;
}

/** First time each (node, message) was delivered, and first time each message read N of N on a node. */
function index(events: readonly RecordedEvent[], n: number) {
  const delivered = new Map<string, number>();
  const fullReceipt = new Map<string, number>();
  for (const e of events) {
    if (e.messageId === undefined) continue;
    const key = `${e.node}|${e.messageId}`;
    if (e.type === "delivered" && !delivered.has(key)) delivered.set(key, e.at);
    if (e.type === "acknowledged" && (e.count ?? 0) >= n && !fullReceipt.has(key)) fullReceipt.set(key, e.at);
  }
  return { delivered, fullReceipt };
}

export function scenarioFigures(input: FigureInput): ScenarioResult {
  const { scenario, sent, events, convergence: c, nodes, healAt } = input;
  const n = nodes.length - 1;
  const { delivered, fullReceipt } = index(events, n);
  const logged = new Map<string, number>();
  for (const [node, log] of c.logs) for (const r of log) logged.set(`${node}|${r.messageId}`, r.receivedAt);
  const delivery: number[] = [];
  const afterHeal: number[] = [];
  const receipts: number[] = [];
  const receiptsAfterHeal: number[] = [];
  let leaks = 0;
  for (const m of sent) {
    const sentAt = delivered.get(`${m.sender}|${m.messageId}`) ?? m.postedAt;
    let crossed = false;
    for (const node of nodes) {
      if (node === m.sender) continue;
      const at = delivered.get(`${node}|${m.messageId}`) ?? logged.get(`${node}|${m.messageId}`);
      const cut = m.phase === "during" && !scenario.reachable(m.sender, node);
      crossed ||= cut;
      if (at === undefined) continue;
      if (!cut) delivery.push(at - sentAt);
      else if (at < healAt) leaks++;
      else afterHeal.push(at - healAt);
    }
    const full = fullReceipt.get(`${m.sender}|${m.messageId}`) ?? c.receiptSeenAt.get(m.messageId);
    if (full === undefined) continue;
    if (crossed) receiptsAfterHeal.push(Math.max(0, full - healAt));
    else receipts.push(full - sentAt);
  }
  const repaired = events.filter((e) => e.type === "repaired" && e.afterMs !== undefined).map((e) => e.afterMs!);
  const problems = [...c.problems];
  if (leaks > 0) problems.push(`${leaks} deliveries crossed the cut before the heal: the fault did not hold`);
  const givenUp = events.filter((e) => e.type === "lost").length;
  return {
    name: scenario.name,
    fault: scenario.fault,
    converged: problems.length === 0 && c.receiptsAt !== undefined,
    faultMs: healAt - input.faultAt,
    sent: {
      before: sent.filter((m) => m.phase === "before").length,
      during: sent.filter((m) => m.phase === "during").length,
      after: sent.filter((m) => m.phase === "after").length,
    },
    lost: c.lost,
    duplicated: c.duplicated,
    outOfSequence: c.outOfSequence,
    leaks,
    logsConvergedMs: c.logsAt === undefined ? null : c.logsAt - healAt,
    receiptsConvergedMs: c.receiptsAt === undefined ? null : c.receiptsAt - healAt,
    delivery: spread(delivery),
    deliveryAfterHeal: spread(afterHeal),
    repair: { ...spread(repaired), gapsDetected: events.filter((e) => e.type === "missing").length, givenUp },
    receipts: spread(receipts),
    receiptsAfterHeal: spread(receiptsAfterHeal),
    problems,
  };
}

export interface RunReport {
  readonly command: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly environment: Record<string, string>;
  readonly setup: Record<string, unknown>;
  readonly passed: boolean;
  readonly scenarios: readonly ScenarioResult[];
}

function ms(value: number | null): string {
  if (value === null) return "–";
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

function cell(s: Spread): string {
  return s.count === 0 ? "–" : `${ms(s.p50)} / ${ms(s.p95)} / ${ms(s.max)} (${s.count})`;
}

export function markdown(report: RunReport): string {
  const lines = [
    `# Partition harness: ${report.passed ? "every scenario converged" : "SOME SCENARIOS FAILED"}`,
    "",
    `\`${report.command}\`, ${report.startedAt}, ${(report.durationMs / 1000).toFixed(0)} s.`,
    "",
    ...Object.entries(report.setup).map(([k, v]) => `- ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`),
    ...Object.entries(report.environment).map(([k, v]) => `- ${k}: ${v}`),
    "",
    "| scenario | fault | sent (before/during/after) | lost | dup | logs identical after heal | N of N after heal |",
    "|---|---|---|---|---|---|---|",
    ...report.scenarios.map(
      (s) =>
        `| ${s.converged ? "" : "**FAILED** "}${s.name} | ${s.fault} | ${s.sent.before}/${s.sent.during}/${s.sent.after}` +
        ` | ${s.lost} | ${s.duplicated} | ${ms(s.logsConvergedMs)} | ${ms(s.receiptsConvergedMs)} |`,
    ),
    "",
    "Times as p50 / p95 / max (samples). Delivery: send to delivery on each receiver the fault did not separate",
    "from the sender; after heal: heal to delivery for those it did. Repair: a node's gap detection to its",
    'repair. Receipts: send to "delivered to N of N" on the sender; after heal: heal to N of N for messages',
    "sent while part of the channel was cut off.",
    "",
    "| scenario | delivery | delivery after heal | repair (gaps detected) | receipts | receipts after heal |",
    "|---|---|---|---|---|---|",
    ...report.scenarios.map(
      (s) =>
        `| ${s.name} | ${cell(s.delivery)} | ${cell(s.deliveryAfterHeal)} | ${cell(s.repair)} [${s.repair.gapsDetected}]` +
        ` | ${cell(s.receipts)} | ${cell(s.receiptsAfterHeal)} |`,
    ),
  ];
  const problems = report.scenarios.filter((s) => s.problems.length > 0);
  if (problems.length > 0) {
    lines.push("", "## Problems", "");
    for (const s of problems) for (const p of s.problems) lines.push(`- ${s.name}: ${p}`);
  }
  return `${lines.join("\n")}\n`;
}
