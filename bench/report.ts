// The results document (bench/results/latest.json), the printed table and the SVG chart.
import * as echarts from "echarts";
import type { ChorusVariant, CpuResult } from "./cpu.js";
import type { ThroughputResult } from "./decode.js";
import { type Ratio, ratio, type Stats } from "./lib/measure.js";
import type { MemoryResult } from "./memory.js";
import type { OwnerResult } from "./owner.js";
import type { WireResult } from "./wire.js";

export const SCHEMA = "chorus-bench/1";
export const WIRE_P99_TARGET = 512;
/** The engine's own work per message (signatures apart) at a 1,000-message log, in µs. */
export const ENGINE_US_TARGET = 20;

export interface CpuRow {
  readonly logSize: number;
  readonly chorus: CpuResult | null;
  readonly sds: CpuResult | null;
  /** Why SDS was not run at this size. */
  readonly sdsSkipped: string | null;
  /** How many times more CPU SDS spends per message than Chorus. */
  readonly ratio: { readonly send: Ratio; readonly receive: Ratio } | null;
}

export interface WireRow {
  readonly members: number;
  readonly chorus: WireResult;
  readonly sds: WireResult;
  /** SDS overhead / Chorus overhead, content messages, at the median and at p99. */
  readonly ratio: { readonly p50: number; readonly p99: number };
  readonly chorusP99WithinTarget: boolean;
}

export interface Results {
  readonly schema: typeof SCHEMA;
  readonly mode: "quick" | "full";
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly environment: Record<string, string | number>;
  readonly cpu: {
    readonly unit: string;
    readonly rows: readonly CpuRow[];
    /**
     * Chorus with Node's native ed25519 (OpenSSL), as `chorus node` runs it; the rows use the engine's
     * portable defaults (@noble/curves), as a browser would.
     */
    readonly chorusNativeCrypto: CpuResult | null;
    /** Chorus cost at the largest log size over the smallest (target: at most 2). */
    readonly chorusGrowth: { readonly fromLogSize: number; readonly toLogSize: number; send: number; receive: number };
    /** The same for the engine's own work (no-op signer and verifier); absent in results from before it existed. */
    readonly engineGrowth?: {
      readonly fromLogSize: number;
      readonly toLogSize: number;
      send: number;
      receive: number;
    } | null;
  };
  readonly wire: { readonly unit: string; readonly p99Target: number; readonly rows: readonly WireRow[] };
  /** Null when the section was not run (--only). */
  readonly memory: {
    readonly unit: string;
    readonly chorus: MemoryResult;
    readonly sds: MemoryResult;
    readonly ratio: { readonly live: number; readonly rss: number };
  } | null;
  readonly decode: {
    readonly unit: string;
    readonly chorus: ThroughputResult;
    readonly sds: ThroughputResult;
    /** Chorus decode throughput over SDS decode throughput. */
    readonly ratio: number;
  } | null;
  /** Null when the section was not run (--only), or in results from before it existed. */
  readonly owner?: { readonly unit: string; readonly rows: readonly OwnerResult[] } | null;
  readonly notes: readonly string[];
}

export function cpuRow(
  logSize: number,
  chorus: CpuResult | null,
  sds: CpuResult | null,
  sdsSkipped: string | null,
): CpuRow {
  return {
    logSize,
    chorus,
    sds,
    sdsSkipped,
    ratio: chorus && sds ? { send: ratio(sds.send, chorus.send), receive: ratio(sds.receive, chorus.receive) } : null,
  };
}

// ------------------------------------------------------------------ table

const int = (n: number) => Math.round(n).toLocaleString("en-US");
function us(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} s`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)} ms`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} ms`;
  return `${n.toFixed(0)} µs`;
}
const stat = (s: Stats) => `${us(s.median)} [${us(s.p25)}–${us(s.p75)}]`;
function times(r: Ratio): string {
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  return `${f(r.value)}x (${f(r.low)}–${f(r.high)})`;
}
const bytes = (n: number) =>
  n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${int(n)} B`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export function formatTable(r: Results): string {
  const out: string[] = [];
  out.push(
    `Chorus vs @waku/sds ${r.environment.sdsVersion}, ${r.mode} run, ${r.environment.node}, ${r.environment.cpus} cores (${r.environment.cpuModel})`,
  );
  out.push("Times are process CPU time per message: median [p25–p75]; ratio = SDS / Chorus (range from the IQRs).");
  out.push("Chorus signs and verifies with its portable ed25519 (@noble/curves) unless said otherwise.\n");
  if (r.cpu.rows.length > 0) formatCpu(r, out);
  if (r.wire.rows.length > 0) formatWire(r, out);
  if (r.memory !== null) formatMemory(r.memory, out);
  if (r.decode !== null) formatDecode(r.decode, out);
  if (r.owner != null) formatOwner(r.owner, out);
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join("\n");
}

function formatCpu(r: Results, out: string[]): void {
  out.push("CPU per message as the local log grows");
  out.push(
    table(
      ["log size", "Chorus send", "SDS send", "SDS/Chorus", "Chorus receive", "SDS receive", "SDS/Chorus"],
      r.cpu.rows.map((row) => [
        int(row.logSize),
        row.chorus ? stat(row.chorus.send) : "-",
        row.sds ? stat(row.sds.send) : "not run",
        row.ratio ? times(row.ratio.send) : "-",
        row.chorus ? stat(row.chorus.receive) : "-",
        row.sds ? stat(row.sds.receive) : "not run",
        row.ratio ? times(row.ratio.receive) : "-",
      ]),
    ),
  );
  for (const row of r.cpu.rows) if (row.sdsSkipped) out.push(`  SDS at ${int(row.logSize)}: ${row.sdsSkipped}`);
  const g = r.cpu.chorusGrowth;
  out.push(
    `  Chorus growth ${int(g.fromLogSize)} -> ${int(g.toLogSize)}: send ${g.send.toFixed(2)}x, receive ${g.receive.toFixed(2)}x (target <= 2x)\n`,
  );
  formatCrypto(r, out);
}

/** Chorus by way of signing, on the same log: the engine's own work, OpenSSL, portable; duplicates; ed25519 alone. */
function formatCrypto(r: Results, out: string[]): void {
  const rows = r.cpu.rows.filter((row) => row.chorus?.variants !== undefined);
  if (rows.length === 0) return;
  out.push("Chorus CPU per message by way of signing (same log): send / receive / byte-equal duplicate");
  const cell = (v: ChorusVariant | undefined) =>
    v ? `${us(v.send.median)} / ${us(v.receive.median)} / ${us(v.duplicate.median)}` : "-";
  const variant = (row: CpuRow, c: string) => row.chorus?.variants?.find((v) => v.crypto === c);
  const vsSds = (row: CpuRow, c: string) => {
    const v = variant(row, c);
    if (!v || !row.sds) return "-";
    return `${(row.sds.send.median / v.send.median).toFixed(0)}x / ${(row.sds.receive.median / v.receive.median).toFixed(0)}x`;
  };
  out.push(
    table(
      [
        "log size",
        "no signatures",
        "OpenSSL ed25519",
        "portable ed25519",
        "SDS/native send/recv",
        "SDS/none send/recv",
      ],
      rows.map((row) => [
        int(row.logSize),
        cell(variant(row, "none")),
        cell(variant(row, "native")),
        cell(variant(row, "portable")),
        vsSds(row, "native"),
        vsSds(row, "none"),
      ]),
    ),
  );
  const own = variant(rows[0]!, "none");
  if (own) {
    const ok = (x: number) => (x <= ENGINE_US_TARGET ? "within" : "OVER");
    out.push(
      `  The engine's own work at ${int(rows[0]!.logSize)}: send ${us(own.send.median)} (${ok(own.send.median)} the ${ENGINE_US_TARGET} µs target), receive ${us(own.receive.median)} (${ok(own.receive.median)})`,
    );
  }
  const eg = r.cpu.engineGrowth;
  if (eg) {
    out.push(
      `  Its growth ${int(eg.fromLogSize)} -> ${int(eg.toLogSize)}: send ${eg.send.toFixed(2)}x, receive ${eg.receive.toFixed(2)}x (target <= 2x)`,
    );
  }
  for (const c of ["native", "portable"]) {
    const v = variant(rows[0]!, c);
    if (v?.signature) {
      out.push(
        `  ${c === "native" ? "OpenSSL" : "portable"} ed25519 alone: sign ${stat(v.signature.sign)}, verify ${stat(v.signature.verify)}; ` +
          (v.verificationsPerDuplicate === 0
            ? "a byte-equal copy of a verified message skips its verification"
            : `a duplicate copy asked for ${v.verificationsPerDuplicate} verifications`),
      );
    }
  }
  out.push("");
}

function formatWire(r: Results, out: string[]): void {
  out.push("Wire bytes per message beyond the payload");
  out.push(
    table(
      [
        "members",
        "Chorus content p50/p99/max",
        "Chorus all msgs p99 (n)",
        "SDS p50/p99",
        "SDS/Chorus p50",
        "p99 <= 512",
      ],
      r.wire.rows.map((row) => [
        int(row.members),
        `${int(row.chorus.content.p50)} / ${int(row.chorus.content.p99)} / ${int(row.chorus.content.max)}`,
        `${int(row.chorus.all.p99)} (${int(row.chorus.all.count)})`,
        `${int(row.sds.content.p50)} / ${int(row.sds.content.p99)}`,
        `${row.ratio.p50.toFixed(0)}x`,
        row.chorusP99WithinTarget ? "yes" : "NO",
      ]),
    ),
  );
  out.push("");
}

function formatMemory(m: NonNullable<Results["memory"]>, out: string[]): void {
  out.push("Memory per 100k messages held (after GC, one process per implementation)");
  out.push(
    table(
      ["", "live heap+external", "resident (RSS)", "measured on", "wire bytes/msg"],
      [m.chorus, m.sds].map((x) => [
        x.impl === "chorus" ? "Chorus" : "SDS",
        bytes(x.liveBytesPer100k),
        bytes(x.rssBytesPer100k),
        `${int(x.messages)} msgs`,
        int(x.wireBytesPerMessage),
      ]),
    ),
  );
  out.push(`  SDS / Chorus: ${m.ratio.live.toFixed(1)}x live, ${m.ratio.rss.toFixed(1)}x resident\n`);
}

function formatDecode(d: NonNullable<Results["decode"]>, out: string[]): void {
  out.push("Decode and validation throughput");
  out.push(
    table(
      ["", "decode + validate (msgs/s)", "+ id check + ed25519 (msgs/s)", "wire bytes/msg"],
      [
        [
          "Chorus",
          int(d.chorus.decode.messagesPerSecond),
          d.chorus.authenticated ? int(d.chorus.authenticated.messagesPerSecond) : "-",
          int(d.chorus.wireBytesPerMessage),
        ],
        [
          "SDS",
          `${int(d.sds.decode.messagesPerSecond)} (no validation)`,
          "(no authentication)",
          int(d.sds.wireBytesPerMessage),
        ],
      ],
    ),
  );
  out.push(`  Chorus / SDS decode: ${d.ratio.toFixed(1)}x\n`);
}

function formatOwner(o: NonNullable<Results["owner"]>, out: string[]): void {
  out.push("Owner path: what the owner pays per message (every member reports it; native ed25519)");
  out.push(
    table(
      ["roster", "reports", "CPU µs/msg", "CPU µs/msg/member", "bytes/msg", "bytes/msg/member"],
      o.rows.map((r) => [
        int(r.members),
        int(r.reports),
        int(r.cpuUsPerMessage),
        r.cpuUsPerMessageAndMember.toFixed(1),
        int(r.bytesPerMessage),
        r.bytesPerMessageAndMember.toFixed(1),
      ]),
    ),
  );
  out.push("  Flat per-member columns: the owner's cost grows O(N) with the roster.\n");
}

// ------------------------------------------------------------------ chart

/** The chart needs every section. */
export function renderChart(
  r: Results & { memory: NonNullable<Results["memory"]>; decode: NonNullable<Results["decode"]> },
): string {
  const width = 1200;
  const height = 900;
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width, height });
  const cpuSeries = (impl: "chorus" | "sds", op: "send" | "receive") => ({
    name: `${impl === "chorus" ? "Chorus" : "SDS"} ${op}`,
    type: "line" as const,
    xAxisIndex: 0,
    yAxisIndex: 0,
    symbolSize: 8,
    lineStyle: { type: op === "send" ? ("solid" as const) : ("dashed" as const) },
    color: impl === "chorus" ? (op === "send" ? "#1f77b4" : "#6baed6") : op === "send" ? "#d62728" : "#fc9272",
    data: r.cpu.rows.flatMap((row) => {
      const x = row[impl];
      return x ? [[row.logSize, x[op].median / 1000]] : [];
    }),
  });
  const members = r.wire.rows.map((row) => String(row.members));
  chart.setOption({
    animation: false,
    backgroundColor: "#ffffff",
    title: [
      { text: "CPU per message (ms, log scale) vs messages held", left: "3%", top: "1%", textStyle: { fontSize: 14 } },
      { text: "Wire bytes beyond payload, content messages", left: "53%", top: "1%", textStyle: { fontSize: 14 } },
      { text: "Memory per 100k messages held (MB, log scale)", left: "3%", top: "51%", textStyle: { fontSize: 14 } },
      { text: "Decode throughput (messages/s, log scale)", left: "53%", top: "51%", textStyle: { fontSize: 14 } },
    ],
    legend: [
      { top: "5%", left: "5%", itemGap: 18, data: ["Chorus send", "Chorus receive", "SDS send", "SDS receive"] },
      { top: "5%", left: "55%", itemGap: 18, data: ["Chorus p50", "Chorus p99", "SDS p50", "SDS p99"] },
      { top: "55%", left: "5%", itemGap: 40, data: ["live heap + external", "resident (RSS)"] },
    ],
    tooltip: {},
    grid: [
      { left: "7%", top: "11%", width: "38%", height: "33%" },
      { left: "57%", top: "11%", width: "38%", height: "33%" },
      { left: "7%", top: "61%", width: "38%", height: "32%" },
      { left: "57%", top: "58%", width: "38%", height: "35%" },
    ],
    xAxis: [
      {
        gridIndex: 0,
        type: "log",
        name: "log size",
        nameLocation: "middle",
        nameGap: 25,
        min: Math.min(...r.cpu.rows.map((row) => row.logSize)),
        max: Math.max(...r.cpu.rows.map((row) => row.logSize)),
      },
      { gridIndex: 1, type: "category", data: members, name: "members", nameLocation: "middle", nameGap: 25 },
      { gridIndex: 2, type: "category", data: ["Chorus", "SDS"] },
      { gridIndex: 3, type: "category", data: ["Chorus decode", "Chorus +verify", "SDS decode"] },
    ],
    yAxis: [
      { gridIndex: 0, type: "log", name: "ms" },
      { gridIndex: 1, type: "log", name: "bytes" },
      { gridIndex: 2, type: "log", name: "MB" },
      { gridIndex: 3, type: "log", name: "msgs/s" },
    ],
    series: [
      cpuSeries("chorus", "send"),
      cpuSeries("chorus", "receive"),
      cpuSeries("sds", "send"),
      cpuSeries("sds", "receive"),
      ...(
        [
          ["Chorus p50", "chorus", "p50", "#1f77b4"],
          ["Chorus p99", "chorus", "p99", "#6baed6"],
          ["SDS p50", "sds", "p50", "#d62728"],
          ["SDS p99", "sds", "p99", "#fc9272"],
        ] as const
      ).map(([name, impl, q, color]) => ({
        name,
        type: "bar" as const,
        xAxisIndex: 1,
        yAxisIndex: 1,
        color,
        label: { show: true, position: "top" as const, fontSize: 9 },
        data: r.wire.rows.map((row) => row[impl].content[q]),
      })),
      ...(
        [
          ["live heap + external", "liveBytesPer100k", "#1f77b4"],
          ["resident (RSS)", "rssBytesPer100k", "#6baed6"],
        ] as const
      ).map(([name, key, color]) => ({
        name,
        type: "bar" as const,
        xAxisIndex: 2,
        yAxisIndex: 2,
        color,
        label: {
          show: true,
          position: "top" as const,
          formatter: (p: { value: number }) => `${p.value.toFixed(0)} MB`,
        },
        data: [Math.max(1, r.memory.chorus[key] / 1e6), Math.max(1, r.memory.sds[key] / 1e6)],
      })),
      {
        name: "throughput",
        type: "bar",
        xAxisIndex: 3,
        yAxisIndex: 3,
        label: {
          show: true,
          position: "top",
          formatter: (p: { value: number }) => Math.round(p.value).toLocaleString("en-US"),
        },
        data: [
          { value: r.decode.chorus.decode.messagesPerSecond, itemStyle: { color: "#1f77b4" } },
          { value: r.decode.chorus.authenticated?.messagesPerSecond ?? 0, itemStyle: { color: "#6baed6" } },
          { value: r.decode.sds.decode.messagesPerSecond, itemStyle: { color: "#d62728" } },
        ],
      },
    ],
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

// ------------------------------------------------------------------ shape check

/** Problems with the shape of a results document (empty when it is well formed); used by the test. */
export function checkResults(value: unknown): string[] {
  const problems: string[] = [];
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
  const num = (v: unknown, path: string, positive = true) => {
    if (typeof v !== "number" || !Number.isFinite(v) || (positive && v <= 0)) {
      problems.push(`${path}: expected a ${positive ? "positive " : ""}number, got ${JSON.stringify(v)}`);
    }
  };
  const stats = (v: unknown, path: string) => {
    if (!isObject(v)) return problems.push(`${path}: missing`);
    for (const k of ["median", "p25", "p75", "min", "max", "mean", "samples"]) num(v[k], `${path}.${k}`);
    if (isObject(v) && typeof v.p25 === "number" && typeof v.p75 === "number" && v.p25 > v.p75) {
      problems.push(`${path}: p25 > p75`);
    }
  };
  const sizes = (v: unknown, path: string) => {
    if (!isObject(v)) return problems.push(`${path}: missing`);
    for (const k of ["count", "mean", "p50", "p90", "p99", "max"]) num(v[k], `${path}.${k}`);
  };
  if (!isObject(value)) return ["not an object"];
  if (value.schema !== SCHEMA) problems.push(`schema: expected ${SCHEMA}, got ${JSON.stringify(value.schema)}`);
  if (value.mode !== "quick" && value.mode !== "full") problems.push(`mode: ${JSON.stringify(value.mode)}`);
  num(value.durationSeconds, "durationSeconds");
  if (!isObject(value.environment)) problems.push("environment: missing");
  const cpu = value.cpu;
  if (!isObject(cpu) || !Array.isArray(cpu.rows) || cpu.rows.length === 0) problems.push("cpu.rows: missing or empty");
  else {
    for (const [i, row] of (cpu.rows as unknown[]).entries()) {
      const p = `cpu.rows[${i}]`;
      if (!isObject(row) || !isObject(row.chorus)) {
        problems.push(`${p}: incomplete`);
        continue;
      }
      num(row.logSize, `${p}.logSize`);
      stats(row.chorus.send, `${p}.chorus.send`);
      stats(row.chorus.receive, `${p}.chorus.receive`);
      if (row.sds === null) {
        if (typeof row.sdsSkipped !== "string") problems.push(`${p}: SDS neither run nor explained`);
      } else if (isObject(row.sds)) {
        stats(row.sds.send, `${p}.sds.send`);
        stats(row.sds.receive, `${p}.sds.receive`);
        if (!isObject(row.ratio)) problems.push(`${p}.ratio: missing`);
        else
          for (const op of ["send", "receive"]) num((row.ratio[op] as { value?: unknown })?.value, `${p}.ratio.${op}`);
      } else problems.push(`${p}.sds: expected null or a result`);
    }
    const native = cpu.chorusNativeCrypto;
    if (isObject(native)) {
      stats(native.send, "cpu.chorusNativeCrypto.send");
      stats(native.receive, "cpu.chorusNativeCrypto.receive");
    } else if (native !== null) problems.push("cpu.chorusNativeCrypto: expected null or a result");
    if (isObject(cpu.chorusGrowth)) {
      num(cpu.chorusGrowth.send, "cpu.chorusGrowth.send");
      num(cpu.chorusGrowth.receive, "cpu.chorusGrowth.receive");
    } else problems.push("cpu.chorusGrowth: missing");
  }
  const wire = value.wire;
  if (!isObject(wire) || !Array.isArray(wire.rows) || wire.rows.length === 0) problems.push("wire.rows: missing");
  else {
    for (const [i, row] of (wire.rows as unknown[]).entries()) {
      const p = `wire.rows[${i}]`;
      if (!isObject(row) || !isObject(row.chorus) || !isObject(row.sds)) {
        problems.push(`${p}: incomplete`);
        continue;
      }
      num(row.members, `${p}.members`);
      sizes(row.chorus.content, `${p}.chorus.content`);
      sizes(row.chorus.all, `${p}.chorus.all`);
      sizes(row.sds.content, `${p}.sds.content`);
      if (typeof row.chorusP99WithinTarget !== "boolean") problems.push(`${p}.chorusP99WithinTarget: not a boolean`);
    }
  }
  const memory = value.memory;
  if (!isObject(memory) || !isObject(memory.chorus) || !isObject(memory.sds)) problems.push("memory: missing");
  else {
    for (const impl of ["chorus", "sds"] as const) {
      const m = memory[impl] as Record<string, unknown>;
      num(m.messages, `memory.${impl}.messages`);
      num(m.liveBytesPer100k, `memory.${impl}.liveBytesPer100k`);
      num(m.rssBytesPer100k, `memory.${impl}.rssBytesPer100k`, false);
    }
  }
  const decode = value.decode;
  if (!isObject(decode) || !isObject(decode.chorus) || !isObject(decode.sds)) problems.push("decode: missing");
  else {
    num((decode.chorus.decode as { messagesPerSecond?: unknown })?.messagesPerSecond, "decode.chorus.decode");
    num(
      (decode.chorus.authenticated as { messagesPerSecond?: unknown })?.messagesPerSecond,
      "decode.chorus.authenticated",
    );
    num((decode.sds.decode as { messagesPerSecond?: unknown })?.messagesPerSecond, "decode.sds.decode");
    num(decode.ratio, "decode.ratio");
  }
  const owner = value.owner;
  if (owner !== undefined && owner !== null) {
    if (!isObject(owner) || !Array.isArray(owner.rows) || owner.rows.length === 0) problems.push("owner.rows: missing");
    else {
      for (const [i, row] of (owner.rows as unknown[]).entries()) {
        const r = isObject(row) ? row : {};
        for (const key of ["members", "reports", "cpuUsPerMessage", "bytesPerMessage"])
          num(r[key], `owner.rows[${i}].${key}`);
      }
    }
  }
  if (!Array.isArray(value.notes)) problems.push("notes: missing");
  return problems;
}
