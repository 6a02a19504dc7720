// WakuLightTransport on unmodified js-waku 0.0.36 light nodes whose only service node is a Chorus Waku node
// (WakuTransport + WakuServices), all on 127.0.0.1. The contract network puts the service node second, so that
// requests go from a light node to its service node and messages between light nodes cross it.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { Transport } from "../../src/transport/transport.js";
import { WakuLightTransport } from "../../src/transport/waku-light-transport.js";
import { WakuTransport } from "../../src/transport/waku-transport.js";
import { decodeWakuMessage, wakuMessageHash } from "../../src/wire/waku-message.js";
import { CLUSTER, lightNode, type ServiceNode, SHARD, serviceNode, WAIT_MS } from "../node/waku/js-waku-light.js";
import { pollUntil, sleep } from "../support/poll.js";
import { transportContract } from "./contract.js";

const ABSENT_PEER = new WakuTransport({ secretKey: new Uint8Array(32).fill(0xcd) }).peerId;
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

async function light(service: ServiceNode): Promise<WakuLightTransport> {
  const node = await lightNode(service.ws);
  // No store catch-up here: the Transport contract has late subscribers see nothing earlier.
  const transport = new WakuLightTransport({ node, cluster: CLUSTER, shard: SHARD, stopNode: true, catchUpMs: 0 });
  await transport.start();
  return transport;
}

transportContract(
  "WakuLightTransport (js-waku 0.0.36 light push + filter through a Chorus service node)",
  async (n) => {
    const service = await serviceNode();
    const transports: Transport[] = [];
    for (let i = 0; i < n; i++) transports.push(i === 1 ? service.transport : await light(service));
    const lights = transports.filter((t): t is WakuLightTransport => t instanceof WakuLightTransport);
    return {
      transports,
      absentPeer: ABSENT_PEER,
      async close() {
        await Promise.all(lights.map((t) => t.stop()));
        await service.stop();
      },
      async ready(topic, members) {
        const subscribed = members.filter((m): m is WakuLightTransport => m instanceof WakuLightTransport);
        await pollUntil(`filter subscriptions to ${topic}`, () => subscribed.every((m) => m.isSubscribed(topic)), {
          timeoutMs: WAIT_MS,
        });
      },
    };
  },
  { waitMs: WAIT_MS, graceMs: 300, fromIsPublisher: false, peersByTopic: false, serviceIndex: 1 },
);

describe("WakuLightTransport", () => {
  const running: { stop(): Promise<void> }[] = [];
  after(async () => {
    for (const r of running.reverse()) await r.stop();
  });

  it("returns as retrieval hint the hash the service node relays and stores, on both sides", async () => {
    const service = await serviceNode();
    running.push(service);
    const [a, b] = [await light(service), await light(service)];
    running.push(a, b);
    const topic = "/chorus/1/light/proto";
    const got: { text: string; hint?: Uint8Array }[] = [];
    b.subscribe(topic, (bytes, _from, info) =>
      got.push({ text: str(bytes), ...(info?.retrievalHint ? { hint: info.retrievalHint } : {}) }),
    );
    const atService: Uint8Array[] = [];
    service.transport.subscribe(topic, (_bytes, from, info) => {
      assert.equal(from, a.peerId, "the service node's own subscriber hears the light node as sender");
      if (info?.retrievalHint) atService.push(info.retrievalHint);
    });
    await pollUntil("b subscribed", () => b.isSubscribed(topic), { timeoutMs: WAIT_MS });
    const sent = [];
    for (const s of ["one", "two", "three"]) sent.push((await a.publish(topic, text(s))).retrievalHint);
    await pollUntil("three deliveries", () => got.length === 3 && atService.length === 3, { timeoutMs: WAIT_MS });
    assert.deepEqual(got.map((g) => g.text).sort(), ["one", "three", "two"]);
    const hex = (h: Uint8Array) => Buffer.from(h).toString("hex");
    assert.deepEqual(got.map((g) => hex(g.hint as Uint8Array)).sort(), sent.map(hex).sort());
    assert.deepEqual(atService.map(hex).sort(), sent.map(hex).sort());
    const stored = await service.services.archive.byHashes(sent);
    assert.equal(stored.length, 3, "the service node's archive holds the three envelopes under those hashes");
    for (const entry of stored) {
      assert.deepEqual(wakuMessageHash(entry.pubsubTopic, decodeWakuMessage(entry.envelope)), entry.hash);
    }
  });

  it("rejects publish when no service node takes the light push, and naming why", async () => {
    const node = await lightNode(undefined);
    const t = new WakuLightTransport({ node, cluster: CLUSTER, stopNode: true });
    running.push(t);
    await t.start();
    await assert.rejects(t.publish("/chorus/1/alone/proto", text("x")), /PEER_UNREACHABLE.*light push failed/);
    assert.deepEqual(t.peers(), []);
    await sleep(10);
  });

  it("checks its options", () => {
    assert.throws(() => new WakuLightTransport({} as never), /options.node must be a started js-waku light node/);
    const node = { libp2p: { peerId: "x" } } as never;
    assert.throws(() => new WakuLightTransport({ node, cluster: -1 }), /options.cluster must be an integer/);
    assert.throws(
      () => new WakuLightTransport({ node, cluster: 1, shard: 70_000 }),
      /options.shard must be an integer/,
    );
  });
});
