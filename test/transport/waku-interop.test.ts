// WakuTransport against unmodified js-waku relay nodes (`createRelayNode` of @waku/sdk 0.0.27, libp2p 1,
// WebSocket + mplex + noise) in the same process, on 127.0.0.1. The js-waku side computes its message
// hashes itself (@waku/message-hash over the message as js-waku decoded it).
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { messageHash } from "@waku/message-hash";
import { createDecoder, createEncoder, type DecodedMessage, type RelayNode, waitForRemotePeer } from "waku-sdk-027";
import { createRelayNode } from "waku-sdk-027/relay";
import { type EnvelopeEvent, WakuTransport } from "../../src/transport/waku-transport.js";
import { within } from "../api/cluster.js";
import { pollUntil } from "../support/poll.js";

const WAIT_MS = 20_000;
const CLUSTER = 42;
const SHARD = 0;
const PUBSUB_TOPIC = `/waku/2/rs/${CLUSTER}/${SHARD}`;
const CONTENT_TOPIC = "/chorus/1/qa/proto";
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

// js-waku's node factory only dials wss:// unless NODE_ENV is "test", and then also stays quiet.
process.env.NODE_ENV = "test";

async function jsWakuRelay(): Promise<RelayNode> {
  const node = await createRelayNode({
    networkConfig: { clusterId: CLUSTER, shards: [SHARD] },
    libp2p: { addresses: { listen: ["/ip4/127.0.0.1/tcp/0/ws"] } },
  });
  await node.start();
  return node;
}

interface Received {
  readonly text: string;
  readonly hash: string;
}

function collect(node: RelayNode, into: Received[]): void {
  const decoder = createDecoder(CONTENT_TOPIC, { clusterId: CLUSTER, shard: SHARD });
  void node.relay.subscribeWithUnsubscribe([decoder], (m: DecodedMessage) => {
    into.push({ text: str(m.payload), hash: hex(messageHash(m.pubsubTopic, m)) });
  });
}

/**
 * js-waku 0.0.27 leaks its keep-alive intervals at stop: `stopAll` walks its Maps with Object.values (finding
 * nothing) and then empties them. They would keep the test process alive after every node stopped, so the
 * test clears them just before stopping the node.
 */
function releaseKeepAlive(node: RelayNode): void {
  const manager = (node as unknown as { connectionManager?: { keepAliveManager?: KeepAliveTimers } }).connectionManager
    ?.keepAliveManager;
  for (const timer of manager?.pingKeepAliveTimers?.values() ?? []) clearInterval(timer);
  for (const timers of manager?.relayKeepAliveTimers?.values() ?? []) for (const t of timers) clearInterval(t);
}

interface KeepAliveTimers {
  readonly pingKeepAliveTimers?: Map<unknown, ReturnType<typeof setInterval>>;
  readonly relayKeepAliveTimers?: Map<unknown, ReturnType<typeof setInterval>[]>;
}

const wsAddress = (node: RelayNode) =>
  node.libp2p
    .getMultiaddrs()
    .map(String)
    .find((a) => a.includes("/ws")) as string;

describe("WakuTransport with js-waku 0.0.27 relay nodes", () => {
  const chorus: WakuTransport[] = [];
  const jsWaku: RelayNode[] = [];
  after(async () => {
    for (const n of jsWaku) releaseKeepAlive(n);
    await Promise.all([...chorus.map((t) => t.stop()), ...jsWaku.map((n) => n.stop())]);
  });

  it("exchanges messages both ways, with the same message hashes on both sides", async () => {
    const js = await jsWakuRelay();
    jsWaku.push(js);
    const node = new WakuTransport({ cluster: CLUSTER, shards: [SHARD] });
    chorus.push(node);
    await node.start();
    const atChorus: { text: string; hint: string }[] = [];
    node.subscribe(CONTENT_TOPIC, (bytes, _from, info) =>
      atChorus.push({ text: str(bytes), hint: hex(info?.retrievalHint ?? new Uint8Array()) }),
    );
    const envelopes: EnvelopeEvent[] = [];
    node.onEnvelope((e) => envelopes.push(e));
    const atJs: Received[] = [];
    collect(js, atJs);

    await node.dial(`${wsAddress(js)}`);
    await within("js-waku to find a relay peer", waitForRemotePeer(js, ["relay" as never]), WAIT_MS);
    await pollUntil("the Chorus node to see js-waku on the shard", () => node.peers(CONTENT_TOPIC).length === 1, {
      timeoutMs: WAIT_MS,
    });

    // Chorus -> js-waku
    const sent = await node.publish(CONTENT_TOPIC, text("hello from chorus"));
    await pollUntil("js-waku to receive", () => atJs.length === 1, { timeoutMs: WAIT_MS });
    assert.deepEqual(atJs, [{ text: "hello from chorus", hash: hex(sent.retrievalHint) }]);

    // js-waku -> Chorus
    const encoder = createEncoder({
      contentTopic: CONTENT_TOPIC,
      pubsubTopicShardInfo: { clusterId: CLUSTER, shard: SHARD },
    });
    const result = await js.relay.send(encoder, { payload: text("hello from js-waku") });
    assert.equal(result.failures?.length ?? 0, 0);
    await pollUntil("Chorus to receive", () => atChorus.length === 1, { timeoutMs: WAIT_MS });
    assert.equal(atChorus[0]?.text, "hello from js-waku");
    const fromJs = envelopes.find((e) => e.from !== node.peerId);
    assert.ok(fromJs !== undefined);
    assert.equal(atChorus[0]?.hint, hex(fromJs.hash));
    // js-waku's hash of the envelope Chorus received, as js-waku's own decoder reads it.
    const decoded = await createDecoder(CONTENT_TOPIC, PUBSUB_TOPIC).fromWireToProtoObj(fromJs.bytes);
    assert.ok(decoded !== undefined);
    assert.equal(hex(messageHash(PUBSUB_TOPIC, decoded)), atChorus[0]?.hint);
    assert.equal(typeof fromJs.envelope.timestamp, "bigint");
  });

  it("forwards between two js-waku relay nodes that only know the Chorus node", async () => {
    const [left, right] = [await jsWakuRelay(), await jsWakuRelay()];
    jsWaku.push(left, right);
    const hub = new WakuTransport({ cluster: CLUSTER, shards: [SHARD] });
    chorus.push(hub);
    await hub.start();
    const atHub: EnvelopeEvent[] = [];
    hub.onEnvelope((e) => atHub.push(e));
    const atRight: Received[] = [];
    const atLeft: Received[] = [];
    collect(right, atRight);
    collect(left, atLeft);
    await hub.dial(wsAddress(left));
    await hub.dial(wsAddress(right));
    await within(
      "both js-waku nodes to find a relay peer",
      Promise.all([left, right].map((n) => waitForRemotePeer(n, ["relay" as never]))),
      WAIT_MS,
    );
    await pollUntil("the hub's mesh to hold both", () => hub.meshPeers().length === 2, { timeoutMs: WAIT_MS });
    assert.equal(left.libp2p.getPeers().length, 1);
    assert.equal(right.libp2p.getPeers().length, 1);

    const encoder = createEncoder({
      contentTopic: CONTENT_TOPIC,
      pubsubTopicShardInfo: { clusterId: CLUSTER, shard: SHARD },
    });
    await left.relay.send(encoder, { payload: text("left to right") });
    await right.relay.send(encoder, { payload: text("right to left") });
    await pollUntil(
      "both js-waku nodes to receive through the hub",
      () => atRight.length === 1 && atLeft.length === 1,
      {
        timeoutMs: WAIT_MS,
      },
    );
    assert.equal(atRight[0]?.text, "left to right");
    assert.equal(atLeft[0]?.text, "right to left");
    // Nobody on the hub subscribed to the content topic: it relays anyway, and hashes what it relays alike.
    assert.deepEqual(atHub.map((e) => hex(e.hash)).sort(), [atRight[0]?.hash, atLeft[0]?.hash].sort());
  });
});
