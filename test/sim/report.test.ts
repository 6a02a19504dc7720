// The reports of runs and sweeps: what the series hold, that every figure is explained, and the pages as a
// person sees them, rendered in headless Chromium and photographed. Set CHORUS_REPORT_SCREENSHOTS=DIR to keep
// the screenshots (otherwise they go to a temporary directory that is removed).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import { explain } from "../../src/sim/glossary.js";
import { runHtml, runSummary, sweepHtml } from "../../src/sim/report.js";
import { jsonText, resultJson, runSimulation, type ScenarioInput, type SimResult } from "../../src/sim/run.js";
import { CDF_QUANTILES } from "../../src/sim/series.js";
import { runSweep, type SweepResult } from "../../src/sim/sweep.js";
import { TARGETS, verdict } from "../../src/sim/targets.js";
import { launchChromium } from "../support/chromium.js";

// Loss, churn, a partition and an owner that goes away: every part of every chart has something to draw.
const SCENARIO: ScenarioInput = {
  members: 8,
  messages: 80,
  rate: 4,
  loss: 0.1,
  offline: 0.15,
  offlineMeanMs: 8_000,
  partitions: [{ atMs: 5_000, durationMs: 6_000, fraction: 0.3 }],
  owner: true,
  ownerAvailability: 0.6,
  ownerOutageMeanMs: 6_000,
  warmupMs: 20_000,
  settleMs: 60_000,
  seed: "report",
};

function flatPaths(prefix: string, v: unknown, out: string[]): string[] {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    for (const [k, inner] of Object.entries(v)) flatPaths(prefix === "" ? k : `${prefix}.${k}`, inner, out);
  } else out.push(prefix);
  return out;
}

describe("simulation reports", () => {
  let chorus: SimResult;
  let sds: SimResult;
  let sweep: SweepResult;
  let browser: Browser;
  const keep = process.env.CHORUS_REPORT_SCREENSHOTS;
  const dir = keep ?? mkdtempSync(join(tmpdir(), "chorus-report-"));

  before(async () => {
    chorus = await runSimulation({ ...SCENARIO, protocol: "chorus" });
    sds = await runSimulation({ ...SCENARIO, protocol: "sds", members: 5, messages: 30 });
    sweep = await runSweep({
      name: "report test",
      base: { members: 5, messages: 30, rate: 5, warmupMs: 10_000, settleMs: 30_000 },
      grid: { loss: [0, 0.2], owner: [true, false] },
    });
    mkdirSync(dir, { recursive: true });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    if (keep === undefined) rmSync(dir, { recursive: true, force: true });
  });

  test("the series are bounded and agree with the headline figures", () => {
    const s = chorus.series;
    assert.equal(s.cdf.delivery.count, chorus.delivery.delivered);
    assert.equal(s.cdf.delivery.of, chorus.delivery.expected);
    assert.equal(s.cdf.gap_detection.count, chorus.detail.pairs_detected);
    assert.equal(s.cdf.receipts.of, chorus.detail.receipts_pairs);
    for (const c of Object.values(s.cdf)) {
      assert.equal(c.ms.length, c.count === 0 ? 0 : CDF_QUANTILES.length);
      for (let i = 1; i < c.ms.length; i++) assert.ok(c.ms[i]! >= c.ms[i - 1]!, "a CDF never goes back");
    }
    const t = s.timeline;
    assert.ok(t.open.length <= 240 && t.open.length > 0, `timeline of ${t.open.length} buckets`);
    for (const k of ["opened", "repaired", "lost", "late", "sent", "offline_share"] as const) {
      assert.equal(t[k].length, t.open.length, k);
    }
    const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
    assert.equal(sum(t.sent), 80, "every message is sent after the warm-up");
    assert.ok(sum(t.opened) >= chorus.detail.pairs_detected, "every detected pair was reported in the timeline");
    assert.equal(t.open.at(-1), 0, "every gap is closed by the end of a run that delivered everything");
    assert.ok(t.owner_outages.length > 0, "the owner went away at 60 % availability");
    assert.ok(Math.max(...t.offline_share) > 0 && Math.max(...t.offline_share) <= 1, "members were offline");
    const c = s.convergence;
    assert.ok(c.shown !== null, "chorus has per-member receipts");
    for (const line of [c.held, c.shown, c.acknowledged]) {
      for (let i = 1; i < line.length; i++) assert.ok(line[i]! >= line[i - 1]! && line[i]! <= 1);
    }
    assert.equal(sds.series.convergence.shown, null, "SDS has none");
    // The bytes by purpose add up to the member's bandwidth (each purpose rounded to the byte).
    for (const r of [chorus, sds]) {
      const bytes = Object.values(r.series.bytes_per_member_per_minute).reduce((a, b) => a + b.sent + b.received, 0);
      const n = Object.keys(r.series.bytes_per_member_per_minute).length;
      assert.ok(Math.abs(bytes - r.bandwidth_bytes_per_member_per_minute!) <= n, `${bytes} vs the bandwidth`);
    }
    assert.ok("path:report" in s.bytes_per_member_per_minute, "the direct path is split by call");
    // Numbers arrays stay on one line in the JSON; everything else is JSON.stringify(_, null, 2).
    const text = resultJson(chorus, false);
    assert.match(text, /"opened": \[[\d,]+\]/);
    assert.deepEqual(JSON.parse(text).series, JSON.parse(JSON.stringify(chorus.series)));
    assert.equal(jsonText({ a: [1, 2], b: { c: [] } }), '{\n  "a": [1,2],\n  "b": {\n    "c": []\n  }\n}');
  });

  test("every figure of a result is explained, and the summary judges it against the targets", () => {
    for (const r of [chorus, sds]) {
      const { params: _p, series: _s, protocol: _pr, seed: _seed, ...figures } = r;
      for (const path of flatPaths("", figures, [])) {
        assert.ok(explain(path) !== undefined, `the glossary explains ${path}`);
      }
    }
    const text = runSummary([chorus, sds]);
    assert.match(text, /^scenario: 8 members and an owner node/);
    assert.match(text, /replay: chorus sim --members 8 --messages 80 --rate 4 --loss 0\.1 --offline 0\.15/);
    assert.match(text, /--partition 5000:6000:0\.3 --protocol chorus,sds --seed report/);
    assert.match(text, /Delivered: 100 % \[✓ target ≥ 100 %\]/);
    assert.match(text, /sds has no per-member receipts/);
    const missed = TARGETS.filter((t) => verdict(t, sds) === "missed").length;
    assert.match(text, new RegExp(`targets: \\d+ met, ${missed} missed`));
  });

  test("the run report, opened in Chromium: both protocols on the same charts, nothing cut off", async () => {
    const html = runHtml([chorus, sds]);
    assert.ok(!/<script|src=|href=/.test(html), "self-contained: no scripts, no external resources");
    for (const words of ["spurious_missing", "declared_lost_then_delivered", "acks.knowledge_p99_ms", "target ≤ 1 s"]) {
      assert.ok(html.includes(words), `the report mentions ${words}`);
    }
    const file = join(dir, "run.html");
    writeFileSync(file, html);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    try {
      await page.goto(`file://${file}`);
      const layout = await page.evaluate(() => {
        const main = document.querySelector("main")!;
        const charts = Array.from(document.querySelectorAll(".chart svg")).map((svg) => {
          const box = svg.getBoundingClientRect();
          const parent = svg.parentElement!.getBoundingClientRect();
          return {
            width: box.width,
            height: box.height,
            fits: box.right <= parent.right + 1,
            shapes: svg.querySelectorAll("path").length,
          };
        });
        const legends = Array.from(document.querySelectorAll(".chart svg")).map((svg) =>
          Array.from(svg.querySelectorAll("text")).map((t) => t.textContent ?? ""),
        );
        return {
          overflow: main.scrollWidth - main.clientWidth,
          charts,
          legends,
          marks: document.querySelectorAll(".mark").length,
        };
      });
      assert.ok(layout.overflow <= 0, `the page does not scroll sideways (${layout.overflow} px)`);
      assert.equal(layout.charts.length, 8, "4 CDFs, 2 timelines, convergence, bytes");
      for (const c of layout.charts) {
        assert.ok(c.width > 300 && c.height > 150 && c.fits, JSON.stringify(c));
        assert.ok(c.shapes > 5, "each chart draws something");
      }
      for (const i of [0, 1, 2, 3, 6, 7]) {
        const text = layout.legends[i]!.join(" ");
        assert.match(text, /chorus/, `chart ${i} shows chorus`);
        assert.match(text, /sds/, `chart ${i} shows sds`);
      }
      // Every purpose's bar carries its total, so a small bar is read even when it is thin.
      const bytesText = layout.legends[7]!.join(" ");
      for (const r of [chorus, sds]) {
        for (const [purpose, b] of Object.entries(r.series.bytes_per_member_per_minute)) {
          assert.ok(bytesText.includes(purpose), `the bytes chart names ${purpose}`);
          if (b.sent + b.received > 0) assert.match(bytesText, /\d+(\.\d+)? (B|KB|MB)/);
        }
      }
      assert.ok(layout.marks >= 10, "figures carry their target marks");
      for (const [i, y] of [0, 1800, 3600, 5400].entries()) {
        await page.evaluate((top) => window.scrollTo(0, top), y);
        const png = join(dir, `run-${i}.png`);
        await page.screenshot({ path: png });
        assert.ok(statSync(png).size > 20_000, `${png} holds a picture`);
      }
    } finally {
      await page.close();
    }
  });

  test("the sweep report, opened in Chromium: a chart per swept parameter with its targets", async () => {
    const html = sweepHtml(sweep);
    const file = join(dir, "sweep.html");
    writeFileSync(file, html);
    assert.match(html, /Against loss/);
    assert.match(html, /Against owner/);
    assert.match(html, /of 4 runs meet every target/);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    try {
      await page.goto(`file://${file}`);
      const info = await page.evaluate(() => ({
        charts: document.querySelectorAll(".chart svg").length,
        targets: Array.from(document.querySelectorAll(".chart svg text")).filter((t) =>
          /^target /.test(t.textContent ?? ""),
        ).length,
        cells: document.querySelectorAll("table.scorecard td.met, table.scorecard td.missed").length,
        overflow: document.querySelector("main")!.scrollWidth - document.querySelector("main")!.clientWidth,
      }));
      assert.equal(info.charts, 2 * 14, "every target metric and two costs, against each swept parameter");
      assert.ok(info.targets >= 2 * 10, `target lines drawn (${info.targets})`);
      assert.ok(info.cells >= 4 * 8, "the scorecard colours each judged figure");
      assert.ok(info.overflow <= 0, "the page does not scroll sideways");
      await page.screenshot({ path: join(dir, "sweep-0.png") });
      await page.evaluate(() => window.scrollTo(0, 1500));
      await page.screenshot({ path: join(dir, "sweep-1.png") });
    } finally {
      await page.close();
    }
  });
});
