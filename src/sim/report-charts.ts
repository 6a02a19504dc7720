import { createRequire } from "node:module";
import type * as Echarts from "echarts";
import type { SimResult } from "./run.js";
import { CDF_QUANTILES, type CdfSeries } from "./series.js";
import { formatBytes, formatMs, formatShare } from "./targets.js";

/**
 * The charts of a run report, rendered to SVG on the server by echarts (no script in the page). Every chart
 * takes one result per protocol, so a comparison draws both protocols on the same axes.
 */

export const PROTOCOL_COLORS: Readonly<Record<string, string>> = { chorus: "#1f6feb", sds: "#d9480f" };
const PALETTE = ["#1f6feb", "#d9480f", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599", "#e03131", "#5c940d"];
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

export function colorOf(protocol: string, i: number): string {
  return PROTOCOL_COLORS[protocol] ?? PALETTE[i % PALETTE.length]!;
}

/**
 * echarts, loaded at the first chart: every `chorus sim` imports this module (its text summary shares report.ts),
 * and importing echarts's ES modules (hundreds of files, each through the TypeScript loader) cost about 1.5 s of
 * CPU, twice per run of 500 members or more (the command starts itself again). Only an HTML report draws charts;
 * they then come from the package's one-file CommonJS build of the same code.
 */
let echarts: typeof Echarts | undefined;

function charts(): typeof Echarts {
  echarts ??= createRequire(import.meta.url)("echarts") as typeof Echarts;
  return echarts;
}

export function renderChart(option: Echarts.EChartsCoreOption, width = 560, height = 340): string {
  const chart = charts().init(null, null, { renderer: "svg", ssr: true, width, height });
  // Legend text is measured on the server with a guessed font; a wider gap keeps entries apart in a browser.
  const legend = option.legend === undefined ? {} : { legend: { itemGap: 24, ...(option.legend as object) } };
  chart.setOption({ animation: false, textStyle: { fontFamily: FONT }, ...option, ...legend });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

function title(text: string, subtext?: string) {
  return {
    text,
    left: 8,
    top: 4,
    textStyle: { fontSize: 14, fontWeight: 600 },
    ...(subtext === undefined ? {} : { subtext, subtextStyle: { fontSize: 11, color: "#666" } }),
  };
}

/** A log time axis from 1 ms, labelled "250 ms", "2.5 s", "4 min". */
function msAxis(name: string, max?: number) {
  return {
    type: "log",
    name,
    nameLocation: "middle",
    nameGap: 26,
    min: 1,
    ...(max === undefined ? {} : { max }),
    axisLabel: { formatter: (v: number) => formatMs(v), fontSize: 10, hideOverlap: true },
    splitLine: { show: true, lineStyle: { color: "#eee" } },
    minorSplitLine: { show: false },
  };
}

function shareAxis(name: string) {
  return {
    type: "value",
    name,
    nameLocation: "middle",
    nameGap: 42,
    min: 0,
    max: 1,
    axisLabel: { formatter: (v: number) => `${Math.round(v * 100)} %`, fontSize: 10 },
  };
}

/** A vertical dashed line at a target time. */
function targetLine(at: number, label: string) {
  return {
    symbol: "none",
    silent: true,
    lineStyle: { color: "#c92a2a", type: "dashed", width: 1.5 },
    label: { formatter: label, color: "#c92a2a", fontSize: 10, position: "end" },
    data: [{ xAxis: at }],
  };
}

export interface CdfLine {
  readonly name: string;
  readonly color: string;
  readonly cdf: CdfSeries;
}

/** Share of pairs (of all the pairs that could get there) done within x ms; the curve ends at count / of. */
export function cdfChart(heading: string, sub: string, lines: readonly CdfLine[], target?: [number, string]): string {
  const withData = lines.filter((l) => l.cdf.count > 0);
  const series: object[] = withData.map((l, i) => ({
    name: l.name,
    type: "line",
    showSymbol: false,
    lineStyle: { width: 2.5, color: l.color },
    itemStyle: { color: l.color },
    data: l.cdf.ms.map((ms, k) => [Math.max(1, ms), (CDF_QUANTILES[k]! * l.cdf.count) / Math.max(1, l.cdf.of)]),
    ...(i === 0 && target !== undefined ? { markLine: targetLine(target[0], target[1]) } : {}),
  }));
  // A protocol without samples (SDS has no per-member receipts) still gets its legend entry, saying so.
  for (const l of lines) {
    if (l.cdf.count === 0)
      series.push({
        name: `${l.name}: no samples`,
        type: "line",
        data: [],
        lineStyle: { color: l.color, type: "dotted" },
        itemStyle: { color: l.color },
      });
  }
  const top = Math.max(10, ...withData.flatMap((l) => l.cdf.ms), target?.[0] ?? 0);
  return renderChart({
    title: title(heading, sub),
    legend: { bottom: 0, textStyle: { fontSize: 11 } },
    grid: { left: 62, right: 24, top: 66, bottom: 62 },
    xAxis: msAxis("time (log scale)", 10 ** Math.ceil(Math.log10(top))),
    yAxis: shareAxis("share of pairs"),
    series,
    graphic:
      withData.length > 0
        ? []
        : [{ type: "text", left: "center", top: "middle", style: { text: "no samples in this run", fill: "#999" } }],
  });
}

/** The share of (message, other node) pairs holding a message, and shown to its sender, against time since send. */
export function convergenceChart(results: readonly SimResult[]): string {
  const series: object[] = [];
  for (const [i, r] of results.entries()) {
    const c = r.series.convergence;
    const color = colorOf(r.protocol, i);
    const line = (name: string, values: readonly number[], type: string, width: number) => ({
      name: `${r.protocol}: ${name}`,
      type: "line",
      showSymbol: false,
      lineStyle: { width, type, color },
      itemStyle: { color },
      data: c.ms.map((ms, k) => [ms, values[k]]),
    });
    series.push(line("members holding it", c.held, "dashed", 1.5));
    if (c.shown !== null) series.push(line("members the sender shows", c.shown, "solid", 2.5));
    else series.push(line("messages acknowledged by anyone", c.acknowledged, "dotted", 2.5));
  }
  const top = Math.max(...results.map((r) => r.series.convergence.ms.at(-1) ?? 1_000));
  return renderChart(
    {
      title: title(
        "Receipt convergence",
        "share of the other members holding a message (dashed) and shown in its sender's receipts (solid)",
      ),
      legend: { bottom: 0, textStyle: { fontSize: 11 } },
      grid: { left: 62, right: 24, top: 66, bottom: 70 + 18 * Math.ceil(series.length / 3) },
      xAxis: msAxis("time since send (log scale)", top),
      yAxis: shareAxis("share of (message, member) pairs"),
      series,
    },
    1000,
    400 + 18 * Math.ceil(series.length / 3),
  );
}

/**
 * Bytes a member sends and receives per minute, by purpose. One protocol: sent and received stacked on a
 * linear axis. Several: each protocol's total on a log axis, so that a protocol a hundred times cheaper
 * still has bars to see. Every bar is labelled with its total.
 */
export function bytesChart(results: readonly SimResult[]): string {
  const purposes = [...new Set(results.flatMap((r) => Object.keys(r.series.bytes_per_member_per_minute)))];
  const several = results.length > 1;
  const series = several ? totalBars(results, purposes) : stackedBars(results[0]!, purposes);
  const height = Math.max(220, 80 + purposes.length * (several ? 14 * results.length + 12 : 26));
  const sub = several
    ? "sent + received, log scale; path: = direct path to the owner"
    : "sent (dark) and received (light); path: = direct path to the owner";
  return renderChart(
    {
      title: title("Bytes per member per minute, by purpose", sub),
      legend: { bottom: 0, textStyle: { fontSize: 11 } },
      grid: { left: 120, right: 90, top: 56, bottom: 48 },
      xAxis: {
        type: several ? "log" : "value",
        ...(several ? { min: 1 } : {}),
        axisLabel: { formatter: (v: number) => formatBytes(v), fontSize: 10, hideOverlap: true },
      },
      yAxis: { type: "category", data: purposes, inverse: true, axisLabel: { fontSize: 11 } },
      series,
    },
    1000,
    height,
  );
}

const totalLabel = (totals: readonly number[]) => ({
  show: true,
  position: "right",
  fontSize: 10,
  color: "#333",
  formatter: (d: { dataIndex: number }) => formatBytes(totals[d.dataIndex]!),
});

function stackedBars(r: SimResult, purposes: readonly string[]): object[] {
  const b = r.series.bytes_per_member_per_minute;
  const color = colorOf(r.protocol, 0);
  const totals = purposes.map((p) => (b[p]?.sent ?? 0) + (b[p]?.received ?? 0));
  // A zero is drawn as nothing (null), so that barMinHeight keeps only real but small bars visible.
  const bar = (pick: "sent" | "received", opacity: number, last: boolean) => ({
    name: pick,
    type: "bar",
    stack: "bytes",
    barMinHeight: 2,
    barMaxWidth: 18,
    itemStyle: { color, opacity },
    data: purposes.map((p) => (b[p]?.[pick] ? b[p][pick] : null)),
    ...(last ? { label: totalLabel(totals) } : {}),
  });
  return [bar("sent", 1, false), bar("received", 0.45, true)];
}

function totalBars(results: readonly SimResult[], purposes: readonly string[]): object[] {
  return results.map((r, i) => {
    const b = r.series.bytes_per_member_per_minute;
    const totals = purposes.map((p) => (b[p]?.sent ?? 0) + (b[p]?.received ?? 0));
    return {
      name: r.protocol,
      type: "bar",
      barMaxWidth: 14,
      itemStyle: { color: colorOf(r.protocol, i) },
      data: totals.map((t) => (t > 0 ? t : null)),
      label: totalLabel(totals),
    };
  });
}

interface ParamsPartition {
  readonly at_ms: number;
  readonly duration_ms: number;
  readonly fraction: number;
}

/** Bands of a timeline: partitions (from the scenario) and the owner's outages (from the run). */
function bands(r: SimResult) {
  const partitions = ((r.params.partitions ?? []) as ParamsPartition[]).map((p) => [
    { xAxis: p.at_ms / 1_000, name: `partition ${formatShare(p.fraction)}` },
    { xAxis: (p.at_ms + p.duration_ms) / 1_000 },
  ]);
  const outages = r.series.timeline.owner_outages.map(([from, to]) => [
    { xAxis: from / 1_000, name: "owner away" },
    { xAxis: to / 1_000 },
  ]);
  const area = (data: object[][], color: string) => ({
    silent: true,
    itemStyle: { color },
    label: { fontSize: 10, color: "#555", position: "insideTop" },
    data,
  });
  return { partitions: area(partitions, "rgba(31,111,235,0.10)"), outages: area(outages, "rgba(224,49,49,0.12)") };
}

/** Gaps open, reported, filled and given up on over virtual time, with partitions, owner outages and members offline shaded. */
export function timelineChart(r: SimResult, maxSeconds: number): string {
  const t = r.series.timeline;
  const at = (i: number) => ((i + 0.5) * t.bucket_ms) / 1_000;
  const line = (name: string, values: readonly number[], color: string, extra: object = {}) => ({
    name,
    type: "line",
    step: "middle",
    showSymbol: false,
    lineStyle: { width: 1.5, color },
    itemStyle: { color },
    data: values.map((v, i) => [at(i), v]),
    ...extra,
  });
  const { partitions, outages } = bands(r);
  const lastSent = t.sent.reduce((last, v, i) => (v > 0 ? i : last), -1);
  const end = {
    symbol: "none",
    silent: true,
    lineStyle: { color: "#555", type: "dotted" },
    label: { formatter: "last message; all online", fontSize: 10 },
    data: [{ xAxis: ((lastSent + 1) * t.bucket_ms) / 1_000 }],
  };
  const unit = formatMs(t.bucket_ms);
  const axis = { type: "value", nameLocation: "middle", nameGap: 44 };
  return renderChart(
    {
      title: title(
        `Gaps over time: ${r.protocol}`,
        `(member, message) pairs per ${unit}; grey: share of members offline; bands: partitions (blue), owner away (red)`,
      ),
      legend: { bottom: 0, textStyle: { fontSize: 11 } },
      grid: { left: 62, right: 62, top: 66, bottom: 62 },
      xAxis: { ...axis, name: "seconds since the traffic started", nameGap: 26, min: 0, max: maxSeconds },
      yAxis: [
        { ...axis, name: `pairs per ${unit}`, minInterval: 1 },
        {
          ...axis,
          name: "members offline",
          min: 0,
          max: 1,
          splitLine: { show: false },
          axisLabel: { formatter: (v: number) => `${Math.round(v * 100)} %` },
        },
      ],
      series: [
        line("members offline", t.offline_share, "#adb5bd", {
          yAxisIndex: 1,
          areaStyle: { color: "rgba(173,181,189,0.35)" },
          lineStyle: { width: 0 },
          markArea: partitions,
        }),
        line("gaps open", t.open, "#f08c00", {
          areaStyle: { color: "rgba(240,140,0,0.18)" },
          lineStyle: { width: 2.5, color: "#f08c00" },
          markArea: outages,
          ...(lastSent >= 0 ? { markLine: end } : {}),
        }),
        line("reported missing", t.opened, "#868e96"),
        line("filled", t.repaired, "#2f9e44"),
        line("given up", t.lost, "#e03131"),
        line("filled after giving up", t.late, "#ae3ec9"),
      ],
    },
    1000,
    380,
  );
}
