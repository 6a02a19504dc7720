import { explain } from "./glossary.js";
import { bytesChart, type CdfLine, cdfChart, colorOf, convergenceChart, timelineChart } from "./report-charts.js";
import { escapeHtml, page } from "./report-page.js";
import { checkText, type Paragraph, paragraphText, summaryParagraphs, wrap } from "./report-words.js";
import type { SimResult } from "./run.js";
import { replayCommand, scenarioWords } from "./scenario-text.js";
import { formatValue, TARGET_BY_METRIC, TARGETS, type Target, targetText, verdict } from "./targets.js";

export { COLUMNS, sweepHtml, sweepMarkdown } from "./report-sweep.js";

/**
 * The report of a run, or of several protocols on one scenario: a self-contained HTML page (inline CSS and
 * SVG charts rendered on the server by echarts, no script), and the summary for a terminal. Nothing here
 * depends on wall-clock time except the wall_ms figure, so the same results give the same report.
 */

/** A verdict mark for a figure: "✓ ≤ 1 s" in green or "✗ ≤ 1 s" in red. */
export function markHtml(t: Target, r: SimResult): string {
  const v = verdict(t, r);
  if (v === "n/a") return "";
  return `<span class="mark ${v}" title="${escapeHtml(t.source)}">${v === "met" ? "✓" : "✗"} target ${escapeHtml(targetText(t, r))}</span>`;
}

function paragraphHtml(p: Paragraph, r: SimResult): string {
  const body = p.pieces
    .map((piece) => {
      if (typeof piece === "string") return escapeHtml(piece);
      const t = piece.metric === undefined ? undefined : TARGET_BY_METRIC.get(piece.metric);
      return `<b class="fig">${escapeHtml(piece.figure)}</b>${t === undefined ? "" : ` ${markHtml(t, r)}`}`;
    })
    .join("");
  return `<p><b>${escapeHtml(p.heading)}.</b> ${body}</p>`;
}

function chartBlock(svg: string, caption: string): string {
  return `<div><div class="chart">${svg}</div><p class="caption">${escapeHtml(caption)}</p></div>`;
}

/** The scorecard: each target, each protocol's figure coloured by its verdict. */
function targetsTable(results: readonly SimResult[]): string {
  const head = `<tr><th>target</th>${results.map((r) => `<th>${escapeHtml(r.protocol)}</th>`).join("")}<th>what it means</th></tr>`;
  const rows = TARGETS.map((t) => {
    const cells = results
      .map((r) => {
        const v = verdict(t, r);
        const mark = v === "met" ? " ✓" : v === "missed" ? " ✗" : "";
        return `<td class="num ${v === "n/a" ? "" : v}">${escapeHtml(formatValue(t.get(r), t.unit))}${mark}</td>`;
      })
      .join("");
    const what = `${explain(t.metric) ?? ""} (${t.source})`;
    return `<tr><td>${escapeHtml(t.label)} ${escapeHtml(targetText(t, results[0]!))}</td>${cells}<td class="what">${escapeHtml(what)}</td></tr>`;
  });
  return `<table>${head}${rows.join("")}</table>`;
}

function flatten(prefix: string, v: unknown, out: Map<string, unknown>): void {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    for (const [k, inner] of Object.entries(v)) flatten(prefix === "" ? k : `${prefix}.${k}`, inner, out);
  } else out.set(prefix, v);
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return Number.isInteger(v) ? v.toLocaleString("en-US") : String(Number(v.toPrecision(6)));
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** Every figure of the results with its meaning, and its target when it has one. */
function figuresTable(results: readonly SimResult[], pick: (r: SimResult) => unknown, prefix: string): string {
  const flat = results.map((r) => {
    const m = new Map<string, unknown>();
    flatten(prefix, pick(r), m);
    return m;
  });
  const paths = [...new Set(flat.flatMap((m) => [...m.keys()]))];
  const head = `<tr><th>figure</th>${results.map((r) => `<th>${escapeHtml(r.protocol)}</th>`).join("")}<th>target</th><th>what it means</th></tr>`;
  const rows = paths.map((p) => {
    const t = TARGET_BY_METRIC.get(p);
    const cells = flat.map((m) => `<td class="num">${escapeHtml(cell(m.get(p)))}</td>`).join("");
    const target = t === undefined ? "" : escapeHtml(targetText(t, results[0]!));
    return `<tr><td><code>${escapeHtml(p)}</code></td>${cells}<td class="num">${target}</td><td class="what">${escapeHtml(explain(p) ?? "")}</td></tr>`;
  });
  return `<table>${head}${rows.join("")}</table>`;
}

const CDF_CAPTIONS = {
  delivery:
    "Delivery latency: for every (member, message) pair a member was owed, the share delivered within that time of the send. The curve ends at the delivery ratio; the steps far right are repairs and members coming back online.",
  gap_detection:
    "Gap detection: for pairs whose first copy the network dropped, the share the member had reported missing within that time of the send. The curve ends at the share ever reported (the rest came back before anyone noticed, or by catch-up). Target: 90 % within 1 s.",
  repair:
    "Repair: for pairs reported missing, the share delivered within that time of the report. The tail is retries after a lost request or answer. Target: 99 % within 2 s.",
  receipts:
    "Receipt latency: for every (message, recipient) pair, the share that appeared in the sender's receipts within that time of the recipient's delivery. A receipt shown before the delivery counts as 0 (drawn at 1 ms). Targets: half within 1 s, 99 % within 5 s.",
} as const;

function cdfSection(results: readonly SimResult[]): string {
  const lines = (k: keyof SimResult["series"]["cdf"]): CdfLine[] =>
    results.map((r, i) => ({ name: r.protocol, color: colorOf(r.protocol, i), cdf: r.series.cdf[k] }));
  const chart = (k: keyof typeof CDF_CAPTIONS, heading: string, sub: string, target?: [number, string]) =>
    chartBlock(cdfChart(heading, sub, lines(k), target), CDF_CAPTIONS[k]);
  return `<div class="grid2">
${chart("delivery", "Delivery latency", "share of owed pairs delivered within x of the send")}
${chart("gap_detection", "Gap detection", "share of dropped pairs reported missing within x", [1_000, "p90 target 1 s"])}
${chart("repair", "Repair", "share of reported gaps filled within x of the report", [2_000, "p99 target 2 s"])}
${chart("receipts", "Receipt latency", "share of recipients shown to the sender within x", [1_000, "p50 target 1 s"])}
</div>`;
}

function summarySection(results: readonly SimResult[]): string {
  const cards = results.map(
    (r) =>
      `<div class="card"><h3>${escapeHtml(r.protocol)}</h3>${summaryParagraphs(r)
        .map((p) => paragraphHtml(p, r))
        .join("")}</div>`,
  );
  return `<div class="cards">${cards.join("")}</div>`;
}

/** The scenario of results run on the same options: the first result's, with each protocol's own parameters. */
function sharedParams(results: readonly SimResult[]): Record<string, unknown> {
  return Object.assign({}, ...results.map((r) => r.params).reverse()) as Record<string, unknown>;
}

/** Long because it lays out the page, section by section, in the order a reader meets them. */
export function runHtml(input: SimResult | readonly SimResult[]): string {
  const results: readonly SimResult[] = Array.isArray(input) ? input : [input as SimResult];
  if (results.length === 0) throw new RangeError("runHtml needs at least one result");
  const first = results[0]!;
  const params = sharedParams(results);
  const protocols = results.map((r) => r.protocol);
  const maxSeconds = Math.ceil(
    Math.max(...results.map((r) => (r.series.timeline.open.length * r.series.timeline.bucket_ms) / 1_000)),
  );
  const scenarioRows = Object.entries(first.params)
    .filter(([k]) => k !== "engine" && k !== "owner_engine" && k !== "sds")
    .map(([k, v]) => `<tr><td><code>${escapeHtml(k)}</code></td><td class="num">${escapeHtml(cell(v))}</td></tr>`)
    .join("");
  const engines = results
    .flatMap((r) =>
      (["engine", "owner_engine", "sds"] as const)
        .filter((k) => r.params[k] !== undefined && r.params[k] !== null)
        .map(
          (k) =>
            `<details><summary>${escapeHtml(`${r.protocol}: ${k}`)}</summary><table>${Object.entries(
              r.params[k] as object,
            )
              .map(
                ([pk, pv]) =>
                  `<tr><td><code>${escapeHtml(pk)}</code></td><td class="num">${escapeHtml(cell(pv))}</td></tr>`,
              )
              .join("")}</table></details>`,
        ),
    )
    .join("");
  const title = `Chorus simulation: ${protocols.join(" and ")}, seed ${first.seed}`;
  return page(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p class="scenario">${escapeHtml(scenarioWords(params))}</p>
<p class="replay"><code>${escapeHtml(replayCommand(params, protocols, first.seed))}</code></p>
<h2>Summary</h2>${summarySection(results)}
<h2>Against the targets</h2>${targetsTable(results)}
<h2>How long things take</h2>${cdfSection(results)}
<h2>Gaps over time</h2>
${results.map((r) => `<div class="chart">${timelineChart(r, maxSeconds)}</div>`).join("")}
<p class="caption">${escapeHtml(TIMELINE_CAPTION)}</p>
<h2>Receipts</h2>${chartBlock(convergenceChart(results), CONVERGENCE_CAPTION)}
<h2>What a member pays</h2>${chartBlock(bytesChart(results), BYTES_CAPTION)}
<h2>Every figure</h2>${figuresTable(results, (r) => metricsOf(r), "")}
<h3>Detail counters</h3>${figuresTable(results, (r) => r.detail, "detail")}
<h3>Scenario</h3><table>${scenarioRows}</table>${engines}`,
  );
}

const TIMELINE_CAPTION =
  "Each chart follows one protocol through virtual time, from the first measured message (the warm-up is left out). " +
  "“Reported missing” counts the (member, message) pairs members first reported missing in each interval; “filled” those delivered after the report; " +
  "“given up” those a member declared lost after waiting dependencyTimeoutMs, and “filled after giving up” those that came later all the same. " +
  "“Gaps open” is the running count of reported gaps neither filled nor given up on. Grey area: share of members offline (right axis); " +
  "blue bands: partitions; red bands: the owner away. After the dotted line (the last message) everyone comes back online and partitions heal.";

const CONVERGENCE_CAPTION =
  "For a message, how many of the other members hold it (dashed) and how many of them its sender's app shows as having it (solid), " +
  "against the time since it was sent; mean over messages. The gap between the two curves is how late receipts are. " +
  "A protocol without per-member receipts (SDS) has only “acknowledged by someone” per message (dotted), whatever the number of members.";

const BYTES_CAPTION =
  "What one minute of chat costs an ordinary member, by what the bytes are for: content is the chat itself, sync the periodic summaries, " +
  "repair-request and repair-response the repair traffic on the topic, store-query SDS's store lookups, and path:<call> the direct path to the owner " +
  "(report: receipt reports; watch and poll: news of receipts and heads; fetch and range: gap fill and catch-up; push: own messages handed to the owner). " +
  "Each bar is labelled with its total; the bars add up to bandwidth_bytes_per_member_per_minute.";

function metricsOf(r: SimResult): Record<string, unknown> {
  const { params: _p, detail: _d, series: _s, protocol: _pr, seed: _seed, ...rest } = r;
  return rest;
}

/** Long because it lays out the terminal summary, row by row. */
export function runSummary(input: SimResult | readonly SimResult[]): string {
  const results: readonly SimResult[] = Array.isArray(input) ? input : [input as SimResult];
  const first = results[0]!;
  const params = sharedParams(results);
  const out: string[] = [
    wrap(`scenario: ${scenarioWords(params)}`),
    // One line, so that it can be pasted into a shell.
    `replay: ${replayCommand(
      params,
      results.map((r) => r.protocol),
      first.seed,
    )}`,
    "",
  ];
  const row = (label: string, get: (r: SimResult) => unknown): [string, string[]] => [
    label,
    results.map((r) => String(get(r))),
  ];
  const rows: [string, string[]][] = [
    row("protocol", (r) => r.protocol),
    row("seed", (r) => r.seed),
    row(
      "delivery ratio",
      (r) => `${r.delivery.ratio} (${r.delivery.delivered} of ${r.delivery.expected}, ${r.delivery.lost} lost)`,
    ),
    row("undetected gaps", (r) => r.undetected_gaps),
    row("delivery p50 / p99 ms", (r) => `${r.latency_ms.delivery_p50} / ${r.latency_ms.delivery_p99}`),
    row("gap detection p50 / p90 ms", (r) => `${r.latency_ms.gap_detection_p50} / ${r.latency_ms.gap_detection_p90}`),
    row("repair p50 / p99 ms", (r) => `${r.latency_ms.repair_p50} / ${r.latency_ms.repair_p99}`),
    row("overhead mean / p50 / p99 B", (r) => {
      const o = r.overhead_bytes_per_message;
      return `${o.mean} / ${o.p50} / ${o.p99}`;
    }),
    row("bandwidth B/member/min", (r) => r.bandwidth_bytes_per_member_per_minute),
    row("control msgs/member/600s", (r) => r.control_messages_per_member_per_600s),
    row("repair broadcasts/loss", (r) => r.repair_broadcasts_per_loss),
    row("ack knowledge p50 / p99 ms", (r) => `${r.acks.knowledge_p50_ms} / ${r.acks.knowledge_p99_ms}`),
    row("k-of-N error / false acks", (r) => `${r.acks.k_of_n_abs_error_mean} / ${r.acks.false_ack_rate}`),
    row("receipts p50 / p99 ms", (r) => `${r.receipts.latency_p50_ms} / ${r.receipts.latency_p99_ms}`),
    row("receipts complete p50 / p99 ms", (r) => `${r.receipts.complete_p50_ms} / ${r.receipts.complete_p99_ms}`),
    row("bandwidth / content", (r) => r.bandwidth_vs_content),
    row("topic repair broadcasts/loss", (r) => r.topic_repair_broadcasts_per_loss),
    row("owner cpu µs / B per message", (r) => `${r.owner.cpu_us_per_message} / ${r.owner.bytes_per_message}`),
    row("simulated s / wall s", (r) => `${r.detail.simulated_ms / 1000} / ${r.wall_ms / 1000}`),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const colWidth = results.map((_, i) => Math.max(...rows.map(([, v]) => v[i]!.length)));
  for (const [k, vs] of rows) {
    out.push(`${k.padEnd(width)}  ${vs.map((v, i) => (i < vs.length - 1 ? v.padEnd(colWidth[i]!) : v)).join("  ")}`);
  }
  for (const r of results) {
    out.push("");
    if (results.length > 1) out.push(`${r.protocol}:`);
    for (const p of summaryParagraphs(r)) out.push(wrap(paragraphText(p, r)));
    const missed = TARGETS.filter((t) => verdict(t, r) === "missed");
    const met = TARGETS.filter((t) => verdict(t, r) === "met").length;
    out.push(
      wrap(
        `targets: ${met} met, ${missed.length} missed${missed.length === 0 ? "" : ` (${missed.map((t) => `${t.label} ${formatValue(t.get(r), t.unit)}, ${checkText(t, r)}`).join("; ")})`}`,
      ),
    );
  }
  return `${out.join("\n")}\n`;
}
