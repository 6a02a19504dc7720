import { explain } from "./glossary.js";
import { colorOf, renderChart } from "./report-charts.js";
import { escapeHtml, page } from "./report-page.js";
import type { SimResult } from "./run.js";
import { scenarioWords } from "./scenario-text.js";
import type { SweepResult, SweepRun } from "./sweep.js";
import { formatBytes, formatMs, formatValue, TARGETS, type Target, targetText, type Unit, verdict } from "./targets.js";

/**
 * The report of a sweep: a summary in words, a scorecard of every run against the targets, and for each
 * swept parameter a chart of every target metric against it, the target drawn across; then the markdown
 * table. Runs that differ only by seed are averaged into one point.
 */

interface Column {
  readonly title: string;
  readonly get: (r: SimResult) => number | string | null;
}

export const COLUMNS: readonly Column[] = [
  { title: "delivery ratio", get: (r) => r.delivery.ratio },
  { title: "lost pairs", get: (r) => r.delivery.lost },
  { title: "undetected gaps", get: (r) => r.undetected_gaps },
  { title: "delivery p99 ms", get: (r) => r.latency_ms.delivery_p99 },
  { title: "gap detection p90 ms", get: (r) => r.latency_ms.gap_detection_p90 },
  { title: "repair p99 ms", get: (r) => r.latency_ms.repair_p99 },
  { title: "overhead p99 B", get: (r) => r.overhead_bytes_per_message.p99 },
  { title: "bandwidth B/member/min", get: (r) => r.bandwidth_bytes_per_member_per_minute },
  { title: "control msgs/member/600s", get: (r) => r.control_messages_per_member_per_600s },
  { title: "repair bcasts/loss", get: (r) => r.repair_broadcasts_per_loss },
  { title: "k-of-N error", get: (r) => r.acks.k_of_n_abs_error_mean },
  { title: "false ack rate", get: (r) => r.acks.false_ack_rate },
  { title: "receipts p50 ms", get: (r) => r.receipts.latency_p50_ms },
  { title: "receipts p99 ms", get: (r) => r.receipts.latency_p99_ms },
  { title: "bandwidth / content", get: (r) => r.bandwidth_vs_content },
  { title: "topic repair bcasts/loss", get: (r) => r.topic_repair_broadcasts_per_loss },
  { title: "owner B/msg", get: (r) => r.owner.bytes_per_message },
  { title: "wall s", get: (r) => Math.round(r.wall_ms / 100) / 10 },
];

function fmt(v: unknown): string {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") {
    if (Number.isInteger(v)) return String(v);
    return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : String(Number(v.toPrecision(4)));
  }
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function pointLabel(point: Record<string, unknown>, keys: readonly string[]): string {
  return keys.map((k) => `${k}=${fmt(point[k])}`).join(" ");
}

/** A markdown table of a sweep: the grid values, then the headline metrics. */
export function sweepMarkdown(sweep: SweepResult): string {
  const keys = sweep.keys.includes("protocol") ? sweep.keys : ["protocol", ...sweep.keys];
  const head = [...keys, ...COLUMNS.map((c) => c.title)];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const run of sweep.runs) {
    const point = { protocol: run.result.protocol, ...run.point };
    const cells = [
      ...keys.map((k) => fmt(point[k as keyof typeof point])),
      ...COLUMNS.map((c) => fmt(c.get(run.result))),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return `${lines.join("\n")}\n`;
}

/** A metric drawn against each swept parameter: the targets, then what a member pays. */
interface SweepMetric {
  readonly title: string;
  readonly get: (r: SimResult) => number | null;
  readonly unit: Unit;
  readonly target?: Target;
  readonly log?: boolean;
}

const METRICS: readonly SweepMetric[] = [
  ...TARGETS.map((t) => ({
    title: t.label,
    get: t.get,
    unit: t.unit,
    target: t,
    log: t.unit === "ms",
  })),
  {
    title: "bytes per member per minute",
    get: (r: SimResult) => r.bandwidth_bytes_per_member_per_minute,
    unit: "bytes" as const,
    log: true,
  },
  { title: "delivery p99", get: (r: SimResult) => r.latency_ms.delivery_p99, unit: "ms" as const, log: true },
];

/** Grid keys that take more than one value (seeds and extra-run indices aside). */
function sweptKeys(sweep: SweepResult): string[] {
  const keys = sweep.keys.filter((k) => k !== "seed" && k !== "run");
  const varying = keys.filter((k) => new Set(sweep.runs.map((r) => JSON.stringify(r.point[k]))).size > 1);
  const protocols = new Set(sweep.runs.map((r) => r.result.protocol));
  if (varying.length === 0 && sweep.keys.includes("run")) return ["run"];
  return varying.length === 0 && protocols.size > 1 ? ["protocol"] : varying;
}

function valueAt(run: SweepRun, key: string): unknown {
  return key === "protocol" ? run.result.protocol : run.point[key];
}

/** Lines of a chart against `x`: one per combination of the other swept keys (and the protocol). */
function linesAgainst(sweep: SweepResult, x: string, swept: readonly string[]): Map<string, SweepRun[]> {
  const others = swept.filter((k) => k !== x && k !== "protocol");
  const protocols = new Set(sweep.runs.map((r) => r.result.protocol));
  const out = new Map<string, SweepRun[]>();
  for (const run of sweep.runs) {
    const rest = pointLabel(run.point, others);
    const label = (protocols.size > 1 && x !== "protocol" ? `${run.result.protocol} ${rest}` : rest).trim() || "runs";
    const list = out.get(label) ?? [];
    list.push(run);
    out.set(label, list);
  }
  return out;
}

/** Mean of the metric per x value (runs that differ only by seed), in order of first appearance. */
function meanPoints(runs: readonly SweepRun[], x: string, m: SweepMetric): [unknown, number][] {
  const sums = new Map<string, { x: unknown; sum: number; n: number }>();
  for (const run of runs) {
    const v = m.get(run.result);
    if (v === null || (m.log === true && v <= 0)) continue;
    const xv = valueAt(run, x);
    const key = JSON.stringify(xv);
    const s = sums.get(key) ?? { x: xv, sum: 0, n: 0 };
    s.sum += v;
    s.n++;
    sums.set(key, s);
  }
  return [...sums.values()].map((s) => [s.x, s.sum / s.n]);
}

function axisFormatter(unit: Unit): (v: number) => string {
  if (unit === "ms") return formatMs;
  if (unit === "bytes") return formatBytes;
  return (v) => formatValue(v, unit);
}

function metricChart(sweep: SweepResult, x: string, swept: readonly string[], m: SweepMetric): string {
  const numeric = sweep.runs.every((r) => typeof valueAt(r, x) === "number");
  const categories = [...new Set(sweep.runs.map((r) => fmt(valueAt(r, x))))];
  const lines = linesAgainst(sweep, x, swept);
  const goal = m.target === undefined ? undefined : m.target.value(sweep.runs[0]!.result);
  // Values of a category (protocol, owner on or off) are not on a line between them: bars.
  const series = [...lines].map(([name, runs], i) => ({
    name,
    type: numeric ? "line" : "bar",
    symbolSize: 7,
    barMaxWidth: 22,
    lineStyle: { width: 2 },
    color: colorOf(lines.size === 1 ? runs[0]!.result.protocol : "", i),
    data: meanPoints(runs, x, m).map(([xv, v]) => [numeric ? xv : fmt(xv), v]),
    ...(i === 0 && goal !== undefined
      ? {
          markLine: {
            symbol: "none",
            silent: true,
            lineStyle: { color: "#c92a2a", type: "dashed", width: 1.5 },
            label: {
              formatter: `target ${targetText(m.target!, sweep.runs[0]!.result)}`,
              color: "#c92a2a",
              fontSize: 10,
              position: "insideEndTop",
            },
            data: [{ yAxis: goal }],
          },
        }
      : {}),
  }));
  const rows = Math.ceil(lines.size / 2);
  return renderChart(
    {
      title: { text: m.title, left: 8, top: 4, textStyle: { fontSize: 13, fontWeight: 600 } },
      tooltip: {},
      legend: { bottom: 0, type: lines.size <= 6 ? "plain" : "scroll", textStyle: { fontSize: 10 } },
      grid: { left: 64, right: 20, top: 36, bottom: 44 + 16 * Math.min(rows, 3) },
      xAxis: numeric
        ? { type: "value", name: x, nameLocation: "middle", nameGap: 24, scale: true }
        : { type: "category", name: x, data: categories, nameLocation: "middle", nameGap: 24 },
      yAxis: {
        type: m.log === true ? "log" : "value",
        scale: m.log !== true && numeric,
        ...(m.unit === "count" ? { minInterval: 1 } : {}),
        axisLabel: { formatter: axisFormatter(m.unit), fontSize: 10 },
      },
      series,
    },
    520,
    300 + 16 * Math.min(rows, 3),
  );
}

function scorecard(sweep: SweepResult): string {
  const keys = sweep.keys.includes("protocol") ? sweep.keys : ["protocol", ...sweep.keys];
  const head = `<tr>${keys.map((k) => `<th>${escapeHtml(k)}</th>`).join("")}${TARGETS.map(
    (t) =>
      `<th title="${escapeHtml(explain(t.metric) ?? "")}">${escapeHtml(t.label)}<br>${escapeHtml(targetText(t, sweep.runs[0]!.result))}</th>`,
  ).join("")}</tr>`;
  const rows = sweep.runs.map((run) => {
    const point: Record<string, unknown> = { protocol: run.result.protocol, ...run.point };
    const cells = TARGETS.map((t) => {
      const v = verdict(t, run.result);
      return `<td class="num ${v === "n/a" ? "" : v}">${escapeHtml(formatValue(t.get(run.result), t.unit))}</td>`;
    });
    return `<tr>${keys.map((k) => `<td>${escapeHtml(fmt(point[k]))}</td>`).join("")}${cells.join("")}</tr>`;
  });
  return `<div style="overflow-x:auto"><table class="scorecard">${head}${rows.join("")}</table></div>`;
}

function sweepWords(sweep: SweepResult, swept: readonly string[]): string {
  const n = sweep.runs.length;
  const allMet = sweep.runs.filter((r) => TARGETS.every((t) => verdict(t, r.result) !== "missed")).length;
  const ranges = swept.map((k) => `${k} ∈ {${[...new Set(sweep.runs.map((r) => fmt(valueAt(r, k))))].join(", ")}}`);
  const perTarget = TARGETS.map((t) => {
    const judged = sweep.runs.filter((r) => verdict(t, r.result) !== "n/a");
    const met = judged.filter((r) => verdict(t, r.result) === "met").length;
    return judged.length === 0
      ? undefined
      : `${t.label} ${targetText(t, sweep.runs[0]!.result)}: ${met} of ${judged.length}`;
  }).filter((s) => s !== undefined);
  return `<p>${n} runs${ranges.length > 0 ? `, varying ${escapeHtml(ranges.join("; "))}` : ""}. Scenario of the first run (the swept values vary): ${escapeHtml(scenarioWords(sweep.runs[0]!.result.params))}</p>
<p><b>${allMet} of ${n} runs meet every target</b> they can be judged on. Runs meeting each target: ${escapeHtml(perTarget.join("; "))}.</p>`;
}

/** Long because it lays out the page: words, scorecard, one set of charts per swept parameter, the table. */
export function sweepHtml(sweep: SweepResult): string {
  if (sweep.runs.length === 0)
    return page(`Sweep ${sweep.name}`, `<h1>Sweep ${escapeHtml(sweep.name)}</h1><p>No runs.</p>`);
  const swept = sweptKeys(sweep);
  const sections = swept.map(
    (x) => `<h2>Against ${escapeHtml(x)}</h2>
<p class="caption">Each chart: one target metric against ${escapeHtml(x)}, one line per combination of the other swept values (means over seeds); the dashed red line is the target.</p>
<div class="grid2">${METRICS.map((m) => `<div class="chart">${metricChart(sweep, x, swept, m)}</div>`).join("")}</div>`,
  );
  const md = sweepMarkdown(sweep)
    .trim()
    .split("\n")
    .filter((_, i) => i !== 1)
    .map((line, i) => {
      const cells = line
        .split("|")
        .slice(1, -1)
        .map((c) => escapeHtml(c.trim()));
      const tag = i === 0 ? "th" : "td";
      return `<tr>${cells.map((c, j) => `<${tag}${j > 0 && tag === "td" ? ' class="num"' : ""}>${c}</${tag}>`).join("")}</tr>`;
    })
    .join("");
  return page(
    `Chorus sweep: ${sweep.name}`,
    `<h1>Chorus sweep: ${escapeHtml(sweep.name)}</h1>
<h2>Summary</h2>${sweepWords(sweep, swept)}
<h2>Runs against the targets</h2><p class="caption">Green: target met; red: missed; a dash: the run has no sample (nothing was lost, say).</p>${scorecard(sweep)}
${sections.join("\n")}
<h2>Every run</h2><div style="overflow-x:auto"><table>${md}</table></div>`,
  );
}
