// The simulator's instruments: the moments of its seeded draws (src/core/prng.ts), the event queue, the
// histogram, and the network model (measured loss and latency must match what was configured).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Sfc32 } from "../../src/core/prng.js";
import { EventQueue } from "../../src/sim/event-queue.js";
import { CopyKey, Network } from "../../src/sim/network.js";
import { runSimulation } from "../../src/sim/run.js";
import { resolveScenario } from "../../src/sim/scenario.js";
import { Histogram } from "../../src/sim/stats.js";

function close(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: measured ${actual}, configured ${expected}, tolerance ±${tolerance}`,
  );
}

describe("Sfc32", () => {
  test("uniform, exponential and log-normal draws have the right moments", () => {
    const r = new Sfc32("moments");
    const n = 100_000;
    let sum = 0;
    let exp = 0;
    const logs: number[] = [];
    for (let i = 0; i < n; i++) {
      const u = r.next();
      assert.ok(u >= 0 && u < 1);
      sum += u;
      exp += r.exponential(250);
      logs.push(Math.log(r.logNormal(100, 0.5)));
    }
    close(sum / n, 0.5, 0.005, "uniform mean");
    close(exp / n, 250, 5, "exponential mean");
    const mu = logs.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mu) ** 2, 0) / n);
    close(mu, Math.log(100), 0.01, "log-normal log-mean");
    close(sd, 0.5, 0.01, "log-normal sigma");
  });
});

describe("EventQueue", () => {
  test("pops by time, and events at the same instant in the order they were pushed", () => {
    const q = new EventQueue<string>();
    const r = new Sfc32("queue");
    // Pushes and pops interleaved, more events than the initial capacity, with many ties.
    const popped: string[] = [];
    const expectedPops: string[] = [];
    const pending: { at: number; i: number; name: string }[] = [];
    for (let i = 0; i < 5_000; i++) {
      const at = r.int(500);
      q.push(at, i % 7, i, `e${i}`);
      pending.push({ at, i, name: `e${i}` });
      if (i % 3 === 2) {
        pending.sort((a, b) => a.at - b.at || a.i - b.i);
        const next = pending.shift()!;
        expectedPops.push(next.name);
        assert.equal(q.pop(), true);
        assert.equal(q.at, next.at);
        assert.equal(q.kind, next.i % 7);
        assert.equal(q.node, next.i);
        popped.push(q.payload!);
      }
    }
    pending.sort((a, b) => a.at - b.at || a.i - b.i);
    for (const e of pending) expectedPops.push(e.name);
    assert.equal(q.size, pending.length);
    while (q.pop()) popped.push(q.payload!);
    assert.equal(q.size, 0);
    assert.deepEqual(popped, expectedPops);
  });
});

describe("EventQueue with tie keys", () => {
  test("events at the same instant pop in the order of their keys, whatever order they were pushed in", () => {
    const q = new EventQueue<string>();
    const r = new Sfc32("ties");
    const events: { at: number; tie: number }[] = [];
    for (let i = 0; i < 3_000; i++) events.push({ at: r.int(20), tie: i * 7 + r.int(7) });
    // Push in a shuffled order: only time and key may decide the order of the pops.
    const shuffled = [...events];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    for (const e of shuffled) q.push(e.at, 0, 0, `${e.at}/${e.tie}`, e.tie);
    const popped: string[] = [];
    while (q.pop()) popped.push(q.payload!);
    events.sort((a, b) => a.at - b.at || a.tie - b.tie);
    assert.deepEqual(
      popped,
      events.map((e) => `${e.at}/${e.tie}`),
    );
  });
});

describe("Histogram", () => {
  test("quantiles are within 0.5 % of the exact sample quantiles", () => {
    const h = new Histogram();
    const r = new Sfc32("hist");
    const xs: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const v = r.logNormal(200, 1);
      xs.push(v);
      h.add(v);
    }
    xs.sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = xs[Math.ceil(q * xs.length) - 1]!;
      close(h.quantile(q)!, exact, exact * 0.005, `p${q * 100}`);
    }
    assert.equal(new Histogram().quantile(0.5), null);
  });
});

describe("Network model", () => {
  const start = 1_000_000;

  test("latency: the measured median and 99th percentile match the configuration", () => {
    const s = resolveScenario({ latencyMs: 120, latencyP99Ms: 600, loss: 0 });
    const net = new Network(s, 10, new Set(), new Sfc32("lat"), start);
    for (let i = 0; i < 50_000; i++) net.sampleLatency();
    close(net.latency.quantile(0.5)!, 120, 120 * 0.03, "median latency");
    close(net.latency.quantile(0.99)!, 600, 600 * 0.08, "p99 latency");
  });

  test("independent loss: the measured rate matches", () => {
    const s = resolveScenario({ loss: 0.2 });
    const net = new Network(s, 10, new Set(), new Sfc32("loss"), start);
    let lost = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) if (net.dropOnSend()) lost++;
    close(lost / n, 0.2, 0.005, "independent loss");
    assert.equal(net.dropped.independent, lost);
  });

  test("keyed copy fates: the same copy has the same fate whatever order copies are drawn in", () => {
    const s = resolveScenario({ loss: 0.2, latencyMs: 120, latencyP99Ms: 600, latencyFloorMs: 30 });
    const a = new Network(s, 50, new Set(), new Sfc32("keyed"), start);
    const b = new Network(s, 50, new Set(), new Sfc32("keyed"), start);
    const keys: [CopyKey, number, number, number][] = [];
    for (let p = 0; p < 400; p++) {
      for (let to = 0; to < 50; to++)
        keys.push(p % 2 === 0 ? [CopyKey.Content, p, 0, to] : [CopyKey.Other, p % 7, p, to]);
    }
    const forward = keys.map((k) => a.copyFate(...k));
    const backward = [...keys].reverse().map((k) => b.copyFate(...k));
    assert.deepEqual(forward, backward.reverse());
    // Another seed: other fates.
    const c = new Network(resolveScenario({ ...s, seed: "2" }), 50, new Set(), new Sfc32("other"), start);
    assert.notDeepEqual(
      keys.slice(0, 200).map((k) => c.copyFate(...k)),
      forward.slice(0, 200),
    );
    // Loss, median, p99 and the floor as configured.
    const lost = forward.filter((d) => d < 0).length;
    close(lost / forward.length, 0.2, 0.01, "keyed loss");
    assert.equal(a.dropped.independent, lost);
    close(a.latency.quantile(0.5)!, 120, 120 * 0.04, "keyed median latency");
    close(a.latency.quantile(0.99)!, 600, 600 * 0.1, "keyed p99 latency");
    assert.equal(Math.min(...forward.filter((d) => d >= 0)), 30, "no copy is faster than the floor");
  });

  test("Gilbert-Elliott: long-run loss matches, and losses come in bursts of the configured length", () => {
    const s = resolveScenario({ loss: 0, burstLoss: 0.1, burstMeanMs: 2_000, burstBadLoss: 1 });
    const net = new Network(s, 1, new Set(), new Sfc32("ge"), start);
    const step = 10;
    const n = 2_000_000;
    let lost = 0;
    let bursts = 0;
    let previous = false;
    let lostAfterLost = 0;
    for (let i = 0; i < n; i++) {
      const dropped = net.dropOnArrival(0, 0, start + i * step) === "burst";
      if (dropped) {
        lost++;
        if (previous) lostAfterLost++;
        else bursts++;
      }
      previous = dropped;
    }
    close(lost / n, 0.1, 0.01, "burst loss share");
    // Mean burst length in ms: lost samples x spacing / number of bursts.
    close((lost * step) / bursts, 2_000, 200, "mean burst length (ms)");
    assert.ok(lostAfterLost / lost > 0.99, "a loss is followed by another within 10 ms: bursts, not independent");
  });

  test("partitions: the configured share is cut off from the rest during the window, and the owner never", () => {
    const s = resolveScenario({ members: 100, partitions: [{ atMs: 1_000, durationMs: 5_000, fraction: 0.3 }] });
    const owner = 100;
    const net = new Network(s, 101, new Set([owner]), new Sfc32("part"), start);
    const cut = (at: number) => {
      let n = 0;
      for (let i = 0; i < 100; i++) if (net.separated(owner, i, at)) n++;
      return n;
    };
    assert.equal(cut(start + 999), 0, "before the window");
    assert.equal(cut(start + 1_000), 30, "30 % of the members are on the other side");
    assert.equal(cut(start + 5_999), 30);
    assert.equal(cut(start + 6_000), 0, "healed");
    assert.equal(net.dropOnArrival(owner, 0, start + 2_000) === "partition", net.separated(owner, 0, start + 2_000));
  });

  test("in a run, the measured loss and latency of every copy match the configuration", async () => {
    const r = await runSimulation({
      seed: "net",
      members: 12,
      messages: 150,
      rate: 10,
      loss: 0.1,
      latencyMs: 80,
      latencyP99Ms: 320,
      owner: false,
      settleMs: 60_000,
    });
    const n = r.detail.network;
    assert.equal(n.loss_configured, 0.1);
    assert.equal(n.dropped.offline + n.dropped.burst + n.dropped.partition, 0);
    close(n.loss_measured!, 0.1, 0.02, "run loss");
    close(n.latency_p50_ms!, 80, 80 * 0.08, "run median latency");
    close(n.latency_p99_ms!, 320, 320 * 0.25, "run p99 latency");
  });
});
