// The owner path in the simulator: members report to the owner, senders get receipts from it, gaps are fetched
// from it, and the topic is the fallback. The real engine and the real OwnerService run on both ends.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { refsBytes } from "../../src/sim/owner-host.js";
import { varintBytes } from "../../src/sim/owner-path.js";
import { runSimulation, type ScenarioInput, type SimResult } from "../../src/sim/run.js";

function show(r: SimResult): string {
  const { params: _p, ...rest } = r;
  return `seed ${r.seed}: ${JSON.stringify(rest)}`;
}

const base: ScenarioInput = {
  members: 12,
  messages: 150,
  rate: 5,
  loss: 0.2,
  owner: true,
  ownerAvailability: 1,
  warmupMs: 30_000,
  settleMs: 120_000,
};

type Calls = Record<string, { calls: number; failures: number; request_bytes: number; answer_bytes: number }>;
const calls = (r: SimResult) => (r.detail.owner_path as { calls: Calls }).calls;

describe("owner path", () => {
  test("an owner online: every gap filled from it, nothing undetected, receipts within a second", async () => {
    const r = await runSimulation({ ...base, seed: "path", offline: 0.1, offlineMeanMs: 20_000 });
    assert.equal(r.delivery.ratio, 1, show(r));
    assert.equal(r.undetected_gaps, 0, show(r));
    assert.equal(r.delivery.duplicates, 0, show(r));
    assert.ok(r.latency_ms.repair_p99! < 2_000, show(r));
    assert.ok(r.receipts.latency_p50_ms! < 1_000, show(r));
    assert.ok(r.receipts.latency_p99_ms! < 5_000, show(r));
    assert.ok(r.acks.k_of_n_abs_error_mean! <= 0.01, show(r));
    assert.equal(r.acks.false_ack_rate, 0, show(r));
    assert.ok(r.topic_repair_broadcasts_per_loss! <= 0.1, show(r));
    assert.ok(r.control_messages_per_member_per_600s! <= 5, show(r));
    assert.ok(r.bandwidth_vs_content! < 3, show(r));
    const k = calls(r);
    for (const kind of ["report", "watch", "fetch", "push", "poll", "range"]) assert.ok(k[kind]!.calls > 0, kind);
    assert.ok(r.owner.bytes_per_message! > 0, show(r));
  });

  test("the owner away: members fall back to the topic, and back to the owner when it returns", async () => {
    const r = await runSimulation({
      ...base,
      seed: "outage",
      ownerAvailability: 0.5,
      ownerOutageMeanMs: 30_000,
      settleMs: 300_000,
    });
    const k = calls(r);
    assert.ok(k.report!.failures > 0, show(r));
    // While the owner is away, syncs and repair on the topic carry the channel.
    assert.ok((r.detail.publications.sync ?? 0) > 0, show(r));
    assert.ok(r.delivery.ratio! >= 0.999, show(r));
    assert.equal(r.undetected_gaps, 0, show(r));
  });

  test("without the owner path the owner is a topic member as before; without an owner nothing of it runs", async () => {
    const topic = await runSimulation({ ...base, seed: "topic", ownerPath: false });
    assert.equal(topic.detail.owner_path, null);
    assert.equal(topic.owner.bytes_per_message, null);
    assert.equal(topic.params.owner_path, false);
    assert.ok((topic.detail.publications["repair-response"] ?? 0) > 0, show(topic));
    const none = await runSimulation({ ...base, seed: "topic", owner: false });
    assert.equal(none.detail.owner_path, null);
    assert.equal(none.owner.cpu_us_per_message, null);
    assert.ok(none.receipts.latency_p50_ms !== null, "topic receipts are timed too");
    assert.ok(none.bandwidth_vs_content! > 1, show(none));
  });

  test("the sizes of fetch requests follow their protobuf encoding", () => {
    assert.equal(varintBytes(0), 1);
    assert.equal(varintBytes(127), 1);
    assert.equal(varintBytes(128), 2);
    const s = "ab".repeat(32);
    // Three consecutive numbers of one sender are one range: tag, length, prefix (10), first (2), last (2).
    assert.equal(
      refsBytes([
        { senderId: s as never, sequence: 5 },
        { senderId: s as never, sequence: 6 },
        { senderId: s as never, sequence: 7 },
      ]),
      16,
    );
    assert.equal(refsBytes([{ messageId: "x".repeat(64) as never }]), 34);
  });
});
