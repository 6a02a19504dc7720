import * as echarts from "echarts";
import type { SimResult } from "./run.js";
import type { SweepResult, SweepRun } from "./sweep.js";

/**
 * Reports of runs and sweeps: a self-contained HTML page (inline CSS and SVG charts rendered on the
 * server by echarts, no script) and a markdown table. Nothing here depends on wall-clock time except
 * the wall_ms column, so the same results give the same report.
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

interface Chart {
  readonly title: string;
  readonly get: (r: SimResult) => number | null;
  readonly log?: boolean;
  readonly max?: number;
}

const CHARTS: readonly Chart[] = [
  { title: "Delivery ratio", get: (r) => r.delivery.ratio, max: 1 },
  { title: "Undetected gaps (pairs)", get: (r) => r.undetected_gaps },
  { title: "Gap detection p90 (ms)", get: (r) => r.latency_ms.gap_detection_p90, log: true },
  { title: "Repair p99 (ms)", get: (r) => r.latency_ms.repair_p99, log: true },
  { title: "Overhead p99 (bytes per message)", get: (r) => r.overhead_bytes_per_message.p99, log: true },
  { title: "Bandwidth (bytes per member per minute)", get: (r) => r.bandwidth_bytes_per_member_per_minute, log: true },
  { title: "Control messages per member per 600 s", get: (r) => r.control_messages_per_member_per_600s },
  { title: "Repair broadcasts per loss", get: (r) => r.repair_broadcasts_per_loss },
  { title: "Sender's k-of-N error (share of N)", get: (r) => r.acks.k_of_n_abs_error_mean },
  { title: "Receipt latency p99 (ms)", get: (r) => r.receipts.latency_p99_ms, log: true },
  { title: "Member traffic over chat content received", get: (r) => r.bandwidth_vs_content },
  { title: "Topic repair broadcasts per loss", get: (r) => r.topic_repair_broadcasts_per_loss },
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

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function renderChart(option: echarts.EChartsCoreOption, width = 560, height = 340): string {
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width, height });
  chart.setOption({ animation: false, ...option });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

/** The grid key to put on the x axis: loss or members when they vary, else the first that varies. */
function xKey(sweep: SweepResult): string | undefined {
  const varying = sweep.keys.filter(
    (k) => new Set(sweep.runs.map((r) => JSON.stringify(r.point[k]))).size > 1 && k !== "run" && k !== "seed",
  );
  const numeric = varying.filter((k) => sweep.runs.every((r) => typeof r.point[k] === "number"));
  for (const k of ["loss", "members", "burstLoss"]) if (numeric.includes(k)) return k;
  return numeric[0] ?? varying[0];
}

function seriesOf(sweep: SweepResult, x: string): Map<string, SweepRun[]> {
  const others = sweep.keys.filter((k) => k !== x && k !== "seed");
  const out = new Map<string, SweepRun[]>();
  const protocols = new Set(sweep.runs.map((r) => r.result.protocol));
  for (const run of sweep.runs) {
    const rest = pointLabel(
      run.point,
      others.filter((k) => k !== "protocol"),
    );
    const label = (protocols.size > 1 ? `${run.result.protocol} ${rest}` : rest).trim() || run.result.protocol;
    let list = out.get(label);
    if (list === undefined) {
      list = [];
      out.set(label, list);
    }
    list.push(run);
  }
  return out;
}

function sweepCharts(sweep: SweepResult): string[] {
  const x = xKey(sweep);
  const svgs: string[] = [];
  if (x !== undefined) {
    const numericX = sweep.runs.every((r) => typeof r.point[x] === "number");
    const series = seriesOf(sweep, x);
    const categories = [...new Set(sweep.runs.map((r) => fmt(r.point[x])))];
    for (const c of CHARTS) {
      const data = [...series].map(([name, runs]) => ({
        name,
        type: "line",
        symbolSize: 6,
        data: runs
          .map(
            (r) =>
              [numericX ? (r.point[x] as number) : fmt(r.point[x]), c.get(r.result)] as [
                number | string,
                number | null,
              ],
          )
          .filter(([, v]) => v !== null && !(c.log === true && (v as number) <= 0)),
      }));
      svgs.push(
        renderChart({
          title: { text: c.title, textStyle: { fontSize: 14 } },
          tooltip: {},
          legend: { type: series.size <= 6 ? "plain" : "scroll", bottom: 0, textStyle: { fontSize: 10 } },
          grid: { left: 70, right: 20, top: 40, bottom: series.size <= 6 ? 48 + 18 * Math.ceil(series.size / 2) : 70 },
          xAxis: numericX
            ? { type: "value", name: x, nameLocation: "middle", nameGap: 25, scale: true }
            : { type: "category", name: x, data: categories, nameLocation: "middle", nameGap: 25 },
          yAxis: {
            type: c.log === true ? "log" : "value",
            scale: true,
            ...(c.max === undefined ? {} : { max: c.max }),
          },
          series: data,
        }),
      );
    }
  }
  // Bandwidth against reliability, one point per run.
  const scatter = sweep.runs.map((r) => ({
    name: `${r.result.protocol} ${pointLabel(r.point, sweep.keys)}`,
    value: [r.result.bandwidth_bytes_per_member_per_minute ?? 0, r.result.delivery.ratio ?? 0],
  }));
  const byProtocol = new Map<string, typeof scatter>();
  for (const [i, p] of scatter.entries()) {
    const key = sweep.runs[i]!.result.protocol;
    byProtocol.set(key, [...(byProtocol.get(key) ?? []), p]);
  }
  svgs.push(
    renderChart({
      title: { text: "Bandwidth versus delivery ratio (one point per run)", textStyle: { fontSize: 14 } },
      legend: { bottom: 0 },
      grid: { left: 70, right: 20, top: 40, bottom: 60 },
      xAxis: { type: "log", name: "bytes per member per minute", nameLocation: "middle", nameGap: 25 },
      yAxis: { type: "value", name: "delivery ratio", nameLocation: "middle", nameGap: 50, scale: true, max: 1 },
      series: [...byProtocol].map(([name, data]) => ({ name, type: "scatter", data, symbolSize: 8 })),
    }),
  );
  return svgs;
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; font-size: 12px; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.charts > div { border: 1px solid #eee; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; font-size: 13px; }
dt { font-weight: 600; }
code { font-size: 12px; }
`;

const DEFINITIONS: readonly [string, string][] = [
  ["delivery.ratio", "expected (member, message) pairs delivered by the end of the run / expected pairs"],
  ["undetected_gaps", "expected pairs never delivered that the member never reported missing or lost"],
  ["gap_detection", "for pairs whose first copy was dropped: first 'missing' report - send time"],
  ["repair", "for the same pairs, once delivered: delivery time - first 'missing' report"],
  ["overhead", "wire bytes - content bytes, over every publication (content, sync, repair, resend)"],
  ["bandwidth", "(bytes a member published + bytes that reached it) per minute of the run, mean over members"],
  ["control messages", "sync + repair requests + repair responses a member published, per 600 s online"],
  ["repair broadcasts per loss", "repair responses published / messages whose first publication missed a node"],
  ["k-of-N error", "|receipts the sender reports - nodes that hold the message| / (nodes - 1), mean over messages"],
  ["false ack rate", "acknowledgements learnt for a node that had not received the message then / all learnt"],
  [
    "receipts.latency",
    "over (message, recipient) pairs: when the sender's receipts first included the recipient - its delivery time",
  ],
  [
    "receipts.complete",
    "over messages: when the sender's receipts included every node holding the message at the end - send time",
  ],
  [
    "bandwidth_vs_content",
    "a member's bytes sent + received (topic and direct path) / wire bytes of the chat messages it delivered; mean over members",
  ],
  [
    "topic repair broadcasts per loss",
    "repair requests + repair answers on the topic / messages whose first publication missed a node",
  ],
  [
    "owner.cpu_us_per_message",
    "CPU µs of the owner's service work (reports, signatures, ledger, news, fetches) / messages sent",
  ],
  ["owner.bytes_per_message", "bytes the owner received and sent on direct paths / messages sent"],
];

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
<h2>Definitions</h2><dl>${DEFINITIONS.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("")}</dl>
</body></html>
`;
}

function htmlTable(head: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(fmt(c))}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

export function sweepHtml(sweep: SweepResult): string {
  const keys = sweep.keys.includes("protocol") ? sweep.keys : ["protocol", ...sweep.keys];
  const rows = sweep.runs.map((run) => {
    const point: Record<string, unknown> = { protocol: run.result.protocol, ...run.point };
    return [...keys.map((k) => point[k]), ...COLUMNS.map((c) => c.get(run.result))];
  });
  const charts = sweepCharts(sweep)
    .map((svg) => `<div>${svg}</div>`)
    .join("\n");
  return page(
    `Chorus simulation sweep: ${sweep.name}`,
    `<p>${sweep.runs.length} runs. Every run is deterministic for its seed; re-run one with <code>chorus sim</code> and the same options.</p>
<h2>Results</h2>${htmlTable([...keys, ...COLUMNS.map((c) => c.title)], rows)}
<h2>Charts</h2><div class="charts">${charts}</div>`,
  );
}

/** One run: its scenario, every metric, and where the bytes went. */
export function runHtml(result: SimResult): string {
  const flat: [string, unknown][] = [];
  const walk = (prefix: string, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      for (const [k, inner] of Object.entries(v)) walk(prefix === "" ? k : `${prefix}.${k}`, inner);
    } else flat.push([prefix, v]);
  };
  const { params, detail, ...metrics } = result;
  walk("", metrics);
  const scenario: [string, unknown][] = Object.entries(params).filter(([, v]) => typeof v !== "object" || v === null);
  const engine = (params.engine ?? params.sds) as Record<string, unknown> | undefined;
  const purposes = Object.keys(detail.publications);
  const bars = renderChart({
    title: { text: "Publications by purpose", textStyle: { fontSize: 14 } },
    tooltip: {},
    grid: { left: 70, right: 70, top: 40, bottom: 40 },
    legend: { bottom: 0 },
    xAxis: { type: "category", data: purposes },
    yAxis: [
      { type: "value", name: "messages" },
      { type: "value", name: "bytes" },
    ],
    series: [
      { name: "messages", type: "bar", data: purposes.map((p) => detail.publications[p]) },
      { name: "bytes", type: "bar", yAxisIndex: 1, data: purposes.map((p) => detail.publication_bytes[p]) },
    ],
  });
  const detailRows: [string, unknown][] = [];
  const walkDetail = (prefix: string, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      for (const [k, inner] of Object.entries(v)) walkDetail(prefix === "" ? k : `${prefix}.${k}`, inner);
    } else detailRows.push([prefix, v]);
  };
  walkDetail("", detail);
  return page(
    `Chorus simulation: ${result.protocol}, seed ${result.seed}`,
    `<h2>Metrics</h2>${htmlTable(["metric", "value"], flat)}
<h2>Scenario</h2>${htmlTable(["option", "value"], scenario)}
${engine === undefined ? "" : `<h2>Protocol parameters</h2>${htmlTable(["parameter", "value"], Object.entries(engine))}`}
<h2>Traffic</h2><div class="charts"><div>${bars}</div></div>
<h2>Detail</h2>${htmlTable(["figure", "value"], detailRows)}`,
  );
}

/** The headline numbers of one run as aligned text lines, for a terminal. */
export function runSummary(r: SimResult): string {
  const rows: [string, unknown][] = [
    ["protocol", r.protocol],
    ["seed", r.seed],
    [
      "delivery ratio",
      `${r.delivery.ratio} (${r.delivery.delivered} of ${r.delivery.expected}, ${r.delivery.lost} lost)`,
    ],
    ["undetected gaps", r.undetected_gaps],
    ["delivery p50 / p99 ms", `${r.latency_ms.delivery_p50} / ${r.latency_ms.delivery_p99}`],
    ["gap detection p50 / p90 ms", `${r.latency_ms.gap_detection_p50} / ${r.latency_ms.gap_detection_p90}`],
    ["repair p50 / p99 ms", `${r.latency_ms.repair_p50} / ${r.latency_ms.repair_p99}`],
    [
      "overhead mean / p50 / p99 B",
      `${r.overhead_bytes_per_message.mean} / ${r.overhead_bytes_per_message.p50} / ${r.overhead_bytes_per_message.p99}`,
    ],
    ["bandwidth B/member/min", r.bandwidth_bytes_per_member_per_minute],
    ["control msgs/member/600s", r.control_messages_per_member_per_600s],
    ["repair broadcasts/loss", r.repair_broadcasts_per_loss],
    ["ack knowledge p50 / p99 ms", `${r.acks.knowledge_p50_ms} / ${r.acks.knowledge_p99_ms}`],
    ["k-of-N error / false acks", `${r.acks.k_of_n_abs_error_mean} / ${r.acks.false_ack_rate}`],
    ["receipts p50 / p99 ms", `${r.receipts.latency_p50_ms} / ${r.receipts.latency_p99_ms}`],
    ["receipts complete p50 / p99 ms", `${r.receipts.complete_p50_ms} / ${r.receipts.complete_p99_ms}`],
    ["bandwidth / content", r.bandwidth_vs_content],
    ["topic repair broadcasts/loss", r.topic_repair_broadcasts_per_loss],
    ["owner cpu µs / B per message", `${r.owner.cpu_us_per_message} / ${r.owner.bytes_per_message}`],
    ["simulated s / wall s", `${r.detail.simulated_ms / 1000} / ${r.wall_ms / 1000}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${String(v)}`).join("\n")}\n`;
}
