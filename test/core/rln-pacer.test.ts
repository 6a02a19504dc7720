// RLN-paced sending (src/core/rln-pacer.ts): whatever the bursts and whenever `release` is called, no
// epoch carries more than the limit, content leaves the control reserve alone, order is kept, and every
// queued message goes out once time moves on.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { DEFAULT_RLN_PACER, RlnPacer } from "../../src/core/rln-pacer.js";

const EPOCH = 600_000;

describe("RLN pacer", () => {
  test("defaults are Waku's RLN: 100 messages per 10-minute epoch aligned to Unix time", () => {
    assert.equal(DEFAULT_RLN_PACER.messagesPerEpoch, 100);
    assert.equal(DEFAULT_RLN_PACER.epochMs, EPOCH);
    const p = new RlnPacer<number>();
    assert.equal(p.epochOf(1_700_000_000_000), Math.floor(1_700_000_000_000 / EPOCH));
  });

  test("a burst of 250 messages goes out as 90 + 90 + 70 over three epochs, control first", () => {
    const p = new RlnPacer<string>({ messagesPerEpoch: 100, controlReserve: 10 });
    const t0 = 10 * EPOCH + 5;
    const burst = Array.from({ length: 250 }, (_, i) => `m${i}`);
    assert.deepEqual(p.submit(burst, "content", t0), { accepted: true, queued: 250 });
    assert.deepEqual(p.submit(["sync"], "control", t0), { accepted: true, queued: 251 });
    const first = p.release(t0);
    assert.equal(first.length, 91);
    assert.deepEqual(first[0], { item: "sync", cls: "control", epoch: 10 });
    assert.equal(first[1]?.item, "m0");
    assert.equal(p.release(t0 + 1000).length, 0, "nothing more in the same epoch");
    assert.equal(p.nextRelease(t0 + 1000), 11 * EPOCH);
    assert.deepEqual(p.state(t0 + 1000), {
      epoch: 10,
      used: 91,
      limit: 100,
      queuedControl: 0,
      queuedContent: 160,
      nextSlotAt: 11 * EPOCH,
    });
    assert.equal(p.submit(["answer"], "control", t0 + 2000).accepted, true);
    assert.deepEqual(
      p.release(t0 + 2000).map((r) => r.item),
      ["answer"],
      "the reserve is there for control",
    );
    assert.equal(p.release(11 * EPOCH).length, 90);
    assert.equal(p.release(12 * EPOCH + 1).at(-1)?.item, "m249");
    assert.equal(p.nextRelease(12 * EPOCH + 1), undefined);
  });

  test("ephemeral messages go while below 90 % of the limit, and are dropped after", () => {
    const p = new RlnPacer<string>({ messagesPerEpoch: 10, controlReserve: 0, ephemeralThreshold: 0.9 });
    const sent = Array.from({ length: 12 }, () => p.sendEphemeral(0));
    assert.deepEqual(sent.filter(Boolean).length, 9);
    assert.equal(p.sendEphemeral(EPOCH), true, "a new epoch has room again");
  });

  test("bounded queue, validated options, time never goes back", () => {
    const p = new RlnPacer<number>({ maxQueued: 5 });
    assert.equal(p.submit([1, 2, 3], "content", 0).accepted, true);
    const refused = p.submit([4, 5, 6], "content", 0);
    assert.deepEqual(refused, {
      accepted: false,
      reason: "queue holds 3 messages; 3 more exceeds maxQueued 5",
    });
    assert.throws(() => new RlnPacer({ controlReserve: 100 }), /controlReserve must be an integer in 0\.\.99/);
    assert.throws(() => new RlnPacer({ epochMs: 0 }), /epochMs must be a positive integer, got 0/);
    assert.throws(() => new RlnPacer({ ephemeralThreshold: 0 }), /ephemeralThreshold must be in \(0, 1\]/);
    p.release(5 * EPOCH);
    assert.throws(() => p.release(EPOCH), /time went back/);
  });

  test("property: any bursts, any release times: per epoch ≤ limit, content ≤ limit − reserve, FIFO, all sent", () => {
    const op = fc.record({
      dt: fc.integer({ min: 0, max: EPOCH / 2 }),
      cls: fc.constantFrom("control" as const, "content" as const, "content" as const),
      n: fc.integer({ min: 0, max: 40 }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 29 }),
        fc.array(op, { maxLength: 60 }),
        (limit, reserveWanted, ops) => {
          const reserve = Math.min(reserveWanted, limit - 1);
          const p = new RlnPacer<{ cls: string; n: number }>({ messagesPerEpoch: limit, controlReserve: reserve });
          let now = 0;
          const perEpoch = new Map<number, { all: number; content: number }>();
          const sentOrder = { control: [] as number[], content: [] as number[] };
          const submitted = { control: 0, content: 0 };
          const take = (t: number) => {
            for (const r of p.release(t)) {
              const e = perEpoch.get(r.epoch) ?? { all: 0, content: 0 };
              e.all++;
              if (r.cls === "content") e.content++;
              perEpoch.set(r.epoch, e);
              assert.equal(r.epoch, p.epochOf(t));
              sentOrder[r.cls].push(r.item.n);
            }
          };
          for (const o of ops) {
            now += o.dt;
            const items = Array.from({ length: o.n }, () => ({ cls: o.cls, n: submitted[o.cls]++ }));
            if (items.length > 0) p.submit(items, o.cls, now);
            take(now);
          }
          // Drain: every queued message leaves once enough epochs pass.
          for (let guard = 0; guard < 10_000 && p.nextRelease(now) !== undefined; guard++) {
            now = Math.max(now, p.nextRelease(now) as number);
            take(now);
          }
          for (const e of perEpoch.values()) {
            assert.ok(e.all <= limit, `an epoch carried ${e.all} > ${limit}`);
            assert.ok(e.content <= limit - reserve, `content took ${e.content} > ${limit - reserve}`);
          }
          for (const cls of ["control", "content"] as const) {
            assert.deepEqual(sentOrder[cls], [...Array(submitted[cls]).keys()], `${cls} in order, each once`);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
  test("promote moves a queued content message into the control queue, once", () => {
    const p = new RlnPacer<string>({ messagesPerEpoch: 3, epochMs: 1_000, controlReserve: 1 });
    p.submit(["c1", "c2", "c3", "c4"], "content", 0);
    assert.deepEqual(
      p.release(0).map((r) => r.item),
      ["c1", "c2"],
      "content's share of the epoch",
    );
    assert.equal(p.promote("c4"), true);
    assert.equal(p.promote("c4"), false, "no longer in the content queue");
    assert.equal(p.promote("c9"), false, "never queued");
    assert.deepEqual(
      p.release(0).map((r) => [r.item, r.cls]),
      [["c4", "control"]],
      "the promoted message takes control's slot",
    );
    assert.deepEqual(
      p.release(1_000).map((r) => r.item),
      ["c3"],
      "and leaves the content queue: c3 alone is left",
    );
    assert.equal(p.nextRelease(1_000), undefined);
  });
});
