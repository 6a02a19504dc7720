import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seededRandom } from "../../src/core/prng.js";
import { ManualScheduler, MemoryBus, type MemoryTransport } from "../../src/transport/memory-bus.js";
import { TransportError } from "../../src/transport/transport.js";
import { transportContract } from "./contract.js";

transportContract("MemoryBus (lossless, real timers)", async (n) => {
  const bus = new MemoryBus({ latency: { min: 0, max: 5 } });
  const transports = Array.from({ length: n }, (_, i) => bus.createTransport(`peer-${i}`));
  await Promise.all(transports.map((t) => t.start()));
  return {
    transports,
    absentPeer: "peer-absent",
    async close() {
      await Promise.all(transports.map((t) => t.stop()));
      bus.close();
    },
  };
});

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

/** A bus on virtual time with a seeded random source, and started transports a, b, c, ... */
async function virtualBus(options: ConstructorParameters<typeof MemoryBus>[0], peers: number, seed = 1) {
  const scheduler = new ManualScheduler();
  const bus = new MemoryBus({ ...options, scheduler, random: seededRandom(seed) });
  const transports: MemoryTransport[] = [];
  for (let i = 0; i < peers; i++) {
    const t = bus.createTransport(String.fromCharCode(97 + i));
    await t.start();
    transports.push(t);
  }
  return { scheduler, bus, transports };
}

/** Subscribes every transport to `topic` and returns what each received, as "from:text" strings. */
function record(transports: readonly MemoryTransport[], topic: string): Map<string, string[]> {
  const received = new Map<string, string[]>();
  for (const t of transports) {
    const list: string[] = [];
    received.set(t.peerId, list);
    t.subscribe(topic, (bytes, from) => list.push(`${from}:${str(bytes)}`));
  }
  return received;
}

describe("MemoryBus", () => {
  it("loses and duplicates at the configured rates (seeded, 20,000 attempts)", async () => {
    const { scheduler, bus, transports } = await virtualBus(
      { loss: 0.2, duplicate: 0.1, latency: { min: 1, max: 20 } },
      5,
    );
    const received = record(transports, "room");
    const [publisher] = transports as [MemoryTransport];
    for (let i = 0; i < 5_000; i++) await publisher.publish("room", text(`m${i}`));
    scheduler.runAll();

    const stats = bus.stats;
    assert.equal(stats.published, 5_000);
    assert.equal(stats.attempts, 20_000);
    const lossRate = stats.lost / stats.attempts;
    const dupRate = stats.duplicated / (stats.attempts - stats.lost);
    // 4 standard deviations: sqrt(0.2 * 0.8 / 20000) = 0.0028, sqrt(0.1 * 0.9 / 16000) = 0.0024.
    assert.ok(Math.abs(lossRate - 0.2) < 0.012, `loss rate ${lossRate}`);
    assert.ok(Math.abs(dupRate - 0.1) < 0.01, `duplicate rate ${dupRate}`);
    assert.equal(stats.delivered, stats.attempts - stats.lost + stats.duplicated);
    assert.equal(stats.discarded, 0);

    const handlerCalls = [...received.values()].reduce((n, list) => n + list.length, 0);
    assert.equal(handlerCalls, stats.delivered);
    assert.deepEqual(received.get(publisher.peerId), []);
    // Per recipient, what arrived is a subset of what was sent, some of it twice, in some other order.
    for (const t of transports.slice(1)) {
      const list = received.get(t.peerId) ?? [];
      const distinct = new Set(list);
      assert.ok(distinct.size < 5_000 && distinct.size > 3_700, `${t.peerId} got ${distinct.size} distinct`);
      assert.ok(list.length > distinct.size, "some duplicates");
      const indices = list.map((s) => Number(s.slice(s.indexOf(":m") + 2)));
      assert.ok(
        indices.some((v, i) => i > 0 && v < (indices[i - 1] as number)),
        "latency jitter reorders messages",
      );
    }
  });

  it("replays exactly with the same seed, and differs with another", async () => {
    const trace = async (seed: number) => {
      const { scheduler, transports } = await virtualBus(
        { loss: 0.3, duplicate: 0.2, latency: { min: 0, max: 30 } },
        3,
        seed,
      );
      const log: string[] = [];
      transports.forEach((t) => {
        t.subscribe("room", (bytes, from) =>
          log.push(`${scheduler.now.toFixed(3)} ${t.peerId}<-${from} ${str(bytes)}`),
        );
      });
      for (let i = 0; i < 50; i++) await (transports[i % 3] as MemoryTransport).publish("room", text(`${i}`));
      scheduler.runAll();
      return log;
    };
    const first = await trace(42);
    assert.deepEqual(await trace(42), first);
    assert.notDeepEqual(await trace(43), first);
  });

  it("delivers nothing before the latency has passed, and everything after", async () => {
    const { scheduler, transports } = await virtualBus({ latency: { min: 10, max: 50 } }, 3);
    const received = record(transports, "room");
    for (let i = 0; i < 20; i++) await transports[0]?.publish("room", text(`${i}`));
    scheduler.advance(9);
    assert.equal(received.get("b")?.length, 0);
    scheduler.advance(41);
    assert.equal(received.get("b")?.length, 20);
    assert.equal(received.get("c")?.length, 20);
    assert.equal(scheduler.pending, 0);
  });

  it("partitions: groups do not reach each other, unlisted peers reach all, heal restores", async () => {
    const { scheduler, bus, transports } = await virtualBus({}, 4);
    const [a, b, c, d] = transports as [MemoryTransport, MemoryTransport, MemoryTransport, MemoryTransport];
    const received = record(transports, "room");
    b.handle("/echo", (bytes) => bytes);

    bus.partition(["a"], ["b", "c"]);
    assert.deepEqual(a.peers("room"), ["d"]);
    assert.deepEqual(b.peers("room"), ["c", "d"]);
    await a.publish("room", text("from-a"));
    await b.publish("room", text("from-b"));
    scheduler.runAll();
    assert.deepEqual(received.get("a"), []);
    assert.deepEqual(received.get("b"), []);
    assert.deepEqual(received.get("c"), ["b:from-b"]);
    assert.deepEqual(received.get("d")?.sort(), ["a:from-a", "b:from-b"]);
    const unreachable = a.request("b", "/echo", text("?"));
    await assert.rejects(unreachable, (e: unknown) => e instanceof TransportError && e.code === "PEER_UNREACHABLE");

    bus.heal();
    await a.publish("room", text("healed"));
    scheduler.runAll();
    assert.ok(received.get("b")?.includes("a:healed"));
    const pending = a.request("b", "/echo", text("back"));
    await scheduler.settle();
    assert.equal(str(await pending), "back");
    void d;
    void c;
  });

  it("discards what is in flight when the link breaks before it lands", async () => {
    const { scheduler, bus, transports } = await virtualBus({ latency: 10 }, 2);
    const received = record(transports, "room");
    await transports[0]?.publish("room", text("doomed"));
    scheduler.advance(5);
    bus.partition(["a"], ["b"]);
    scheduler.runAll();
    assert.deepEqual(received.get("b"), []);
    assert.equal(bus.stats.discarded, 1);
  });

  it("offline peers send and receive nothing, even across a restart", async () => {
    const { scheduler, bus, transports } = await virtualBus({}, 3);
    const [a, b] = transports as [MemoryTransport, MemoryTransport, MemoryTransport];
    const received = record(transports, "room");
    bus.setOffline("b", true);
    assert.equal(bus.isOffline("b"), true);
    assert.deepEqual(a.peers(), ["c"]);
    await a.publish("room", text("while-b-away"));
    await b.publish("room", text("b-talks-to-nobody"));
    scheduler.runAll();
    assert.deepEqual(received.get("b"), []);
    assert.deepEqual(received.get("c"), ["a:while-b-away"]);

    // b restarts with the same peer id: still offline until told otherwise.
    assert.throws(() => bus.createTransport("b"), /already attached/);
    await b.stop();
    const b2 = bus.createTransport("b");
    await b2.start();
    const again: string[] = [];
    b2.subscribe("room", (bytes) => again.push(str(bytes)));
    await a.publish("room", text("still-away"));
    scheduler.runAll();
    assert.deepEqual(again, []);
    bus.setOffline("b", false);
    await a.publish("room", text("welcome-back"));
    scheduler.runAll();
    assert.deepEqual(again, ["welcome-back"]);
  });

  it("fails requests at the configured rate", async () => {
    const { scheduler, transports } = await virtualBus({ requestFailure: 0.25 }, 2, 7);
    const [a, b] = transports as [MemoryTransport, MemoryTransport];
    b.handle("/echo", (bytes) => bytes);
    const outcomes = Array.from({ length: 2_000 }, () =>
      a.request("b", "/echo", text("x")).then(
        () => "ok",
        (e: TransportError) => e.code,
      ),
    );
    await scheduler.settle();
    const results = await Promise.all(outcomes);
    const failures = results.filter((r) => r === "PEER_UNREACHABLE").length;
    assert.equal(results.filter((r) => r === "ok").length + failures, 2_000);
    assert.ok(Math.abs(failures / 2_000 - 0.25) < 0.04, `failure rate ${failures / 2_000}`);
  });

  it("times requests out on the injected clock", async () => {
    const { scheduler, transports } = await virtualBus({ latency: 5, requestTimeoutMs: 1_000 }, 2);
    const [a, b] = transports as [MemoryTransport, MemoryTransport];
    b.handle("/never", () => new Promise<Uint8Array>(() => {}));
    const outcome: { error?: unknown } = {};
    a.request("b", "/never", text("?")).catch((e) => {
      outcome.error = e;
    });
    scheduler.advance(999);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(outcome.error, undefined);
    scheduler.advance(1);
    await new Promise((resolve) => setImmediate(resolve));
    const error = (outcome as { error?: unknown }).error as unknown;
    assert.ok(error instanceof TransportError && error.code === "TIMEOUT", String(error));
    assert.equal(scheduler.pending, 0);
  });

  it("stop fails the transport's outstanding requests and close cancels everything in flight", async () => {
    const { scheduler, bus, transports } = await virtualBus({ latency: 100 }, 2);
    const [a, b] = transports as [MemoryTransport, MemoryTransport];
    b.handle("/echo", (bytes) => bytes);
    const pending = a.request("b", "/echo", text("?"));
    await a.publish("room", text("x"));
    await a.stop();
    await assert.rejects(pending, (e: unknown) => e instanceof TransportError && e.code === "NOT_STARTED");
    assert.ok(scheduler.pending > 0);
    bus.close();
    assert.equal(scheduler.pending, 0);
    assert.throws(() => bus.createTransport("z"), /closed/);
    void b;
  });

  it("validates its options", () => {
    assert.throws(
      () => new MemoryBus({ loss: 1.5 }),
      (e: unknown) => e instanceof RangeError && /loss must be a probability/.test(String(e)),
    );
    assert.throws(() => new MemoryBus({ duplicate: -0.1 }), /duplicate must be a probability/);
    assert.throws(() => new MemoryBus({ requestFailure: Number.NaN }), /requestFailure/);
    assert.throws(() => new MemoryBus({ latency: -1 }), /latency must be >= 0/);
    assert.throws(() => new MemoryBus({ latency: { min: 5, max: 1 } }), /0 <= min <= max/);
    assert.throws(() => new MemoryBus({ maxMessageBytes: 0 }), /maxMessageBytes must be a positive integer/);
    assert.throws(() => new MemoryBus({ random: 4 as never }), /random must be a function/);
    assert.throws(() => new MemoryBus().createTransport(""), /peerId must not be empty/);
  });
});
