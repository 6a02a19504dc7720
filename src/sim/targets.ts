import type { SimResult } from "./run.js";

/**
 * The targets a run is held to, as docs/parameters.md states them ("The targets, measured" for the owner path,
 * "Targets of the simulator issue, measured" for the rest), and the number formats the reports share.
 */

export type Unit = "ms" | "share" | "count" | "bytes" | "ratio" | "per600s";

export interface Target {
  /** The JSON path of the metric, as the glossary names it. */
  readonly metric: string;
  /** What is held to the target, in a few words. */
  readonly label: string;
  readonly get: (r: SimResult) => number | null;
  readonly op: "≤" | "≥";
  readonly value: (r: SimResult) => number;
  readonly unit: Unit;
  /** Where the target comes from. */
  readonly source: string;
}

const OWNER_PATH = "docs/parameters.md, the owner path's targets";
const ISSUE = "docs/parameters.md, targets of the simulator issue";

export const TARGETS: readonly Target[] = [
  {
    metric: "delivery.ratio",
    label: "delivery ratio",
    get: (r) => r.delivery.ratio,
    op: "≥",
    // With an owner that stores everything, nothing may be lost; without one, one pair in 10,000.
    value: (r) => (r.params.owner === true ? 1 : 0.9999),
    unit: "share",
    source: `${ISSUE} (1.0 with an owner, 0.9999 without)`,
  },
  {
    metric: "undetected_gaps",
    label: "undetected gaps",
    get: (r) => r.undetected_gaps,
    op: "≤",
    value: () => 0,
    unit: "count",
    source: OWNER_PATH,
  },
  {
    metric: "delivery.duplicates",
    label: "duplicate deliveries",
    get: (r) => r.delivery.duplicates,
    op: "≤",
    value: () => 0,
    unit: "count",
    source: "the protocol's promise: nothing is delivered twice",
  },
  {
    metric: "latency_ms.gap_detection_p90",
    label: "gap detection p90",
    get: (r) => r.latency_ms.gap_detection_p90,
    op: "≤",
    value: () => 1_000,
    unit: "ms",
    source: OWNER_PATH,
  },
  {
    metric: "latency_ms.repair_p99",
    label: "repair p99",
    get: (r) => r.latency_ms.repair_p99,
    op: "≤",
    value: () => 2_000,
    unit: "ms",
    source: OWNER_PATH,
  },
  {
    metric: "receipts.latency_p50_ms",
    label: "receipt latency p50",
    get: (r) => r.receipts.latency_p50_ms,
    op: "≤",
    value: () => 1_000,
    unit: "ms",
    source: OWNER_PATH,
  },
  {
    metric: "receipts.latency_p99_ms",
    label: "receipt latency p99",
    get: (r) => r.receipts.latency_p99_ms,
    op: "≤",
    value: () => 5_000,
    unit: "ms",
    source: OWNER_PATH,
  },
  {
    metric: "acks.k_of_n_abs_error_mean",
    label: "k-of-N error",
    get: (r) => r.acks.k_of_n_abs_error_mean ?? r.detail.k_of_n_acknowledged_as_all_error_mean,
    op: "≤",
    value: () => 0.01,
    unit: "share",
    source: OWNER_PATH,
  },
  {
    metric: "bandwidth_vs_content",
    label: "traffic over chat received",
    get: (r) => r.bandwidth_vs_content,
    op: "≤",
    value: () => 2,
    unit: "ratio",
    source: OWNER_PATH,
  },
  {
    metric: "control_messages_per_member_per_600s",
    label: "topic control messages per member per 600 s",
    get: (r) => r.control_messages_per_member_per_600s,
    op: "≤",
    value: () => 5,
    unit: "per600s",
    source: OWNER_PATH,
  },
  {
    metric: "topic_repair_broadcasts_per_loss",
    label: "topic repair broadcasts per loss",
    get: (r) => r.topic_repair_broadcasts_per_loss,
    op: "≤",
    value: () => 0.1,
    unit: "ratio",
    source: OWNER_PATH,
  },
  {
    metric: "overhead_bytes_per_message.p99",
    label: "overhead p99 per message",
    get: (r) => r.overhead_bytes_per_message.p99,
    op: "≤",
    value: () => 512,
    unit: "bytes",
    source: ISSUE,
  },
];

export const TARGET_BY_METRIC: ReadonlyMap<string, Target> = new Map(TARGETS.map((t) => [t.metric, t]));

export type Verdict = "met" | "missed" | "n/a";

/** Whether a run meets a target; "n/a" when the run has no sample of the metric (no gap to detect, say). */
export function verdict(t: Target, r: SimResult): Verdict {
  const v = t.get(r);
  if (v === null) return "n/a";
  const goal = t.value(r);
  return (t.op === "≤" ? v <= goal : v >= goal) ? "met" : "missed";
}

/** "≤ 1 s", "≥ 99.99 %": a target as the reports print it. */
export function targetText(t: Target, r: SimResult): string {
  return `${t.op} ${formatValue(t.value(r), t.unit)}`;
}

const group = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** 1,234 */
export function formatCount(v: number): string {
  return group.format(v);
}

/** 0.4 ms, 429 ms, 1.5 s, 3.2 min, 1.4 h */
export function formatMs(v: number): string {
  if (v < 1) return `${Number(v.toFixed(2))} ms`;
  if (v < 1_000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${Number((v / 1_000).toPrecision(v < 10_000 ? 2 : 3))} s`;
  if (v < 3_600_000) return `${Number((v / 60_000).toFixed(1))} min`;
  return `${Number((v / 3_600_000).toFixed(1))} h`;
}

/** 512 B, 251 KB, 4.2 MB (decimal units) */
export function formatBytes(v: number): string {
  if (v < 1_000) return `${Math.round(v)} B`;
  if (v < 1_000_000) return `${Number((v / 1_000).toPrecision(3))} KB`;
  if (v < 1_000_000_000) return `${Number((v / 1_000_000).toPrecision(3))} MB`;
  return `${Number((v / 1_000_000_000).toPrecision(3))} GB`;
}

/** 100 %, 99.98 %, 0.05 %: enough digits to tell 0.9999 from 1. */
export function formatShare(v: number): string {
  if (v === 1 || v === 0) return `${v * 100} %`;
  const pct = v * 100;
  const digits = pct >= 99 ? Math.min(4, Math.max(1, Math.ceil(-Math.log10(100 - pct)) + 1)) : pct >= 10 ? 1 : 2;
  return `${Number(pct.toFixed(digits))} %`;
}

export function formatValue(v: number | null, unit: Unit): string {
  if (v === null) return "–";
  switch (unit) {
    case "ms":
      return formatMs(v);
    case "share":
      return formatShare(v);
    case "bytes":
      return formatBytes(v);
    case "count":
      return formatCount(v);
    case "per600s":
      return `${Number(v.toPrecision(3))}`;
    case "ratio":
      return `${Number(v.toPrecision(3))}`;
  }
}
