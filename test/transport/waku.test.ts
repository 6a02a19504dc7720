// WakuTransport between real libp2p hosts on 127.0.0.1 (TCP and WebSocket), ephemeral ports. Every wait is
// a bounded poll. Interop with unmodified js-waku is in waku-interop.test.ts.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { type EnvelopeEvent, WakuTransport, type WakuTransportOptions } from "../../src/transport/waku-transport.js";
import { decodeWakuMessage, encodeWakuMessage, wakuMessageHash } from "../../src/wire/waku-message.js";
import { pollUntil, sleep } from "../support/poll.js";
import { transportContract } from "./contract.js";

const WAIT_MS = 10_000;
const ABSENT_PEER = new WakuTransport({ secretKey: new Uint8Array(32).fill(0xab) }).peerId;
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

async function connectAll(transports: readonly WakuTransport[], ws = false): Promise<void> {
  await Promise.all(transports.map((t) => t.start()));
  const address = (t: WakuTransport) => t.multiaddrs().find((m) => m.includes("/ws/") === ws) as string;
  for (let i = 1; i < transports.length; i++) {
    for (let j = 0; j < i; j++) await (transports[i] as WakuTransport).dial(address(transports[j] as WakuTransport));
  }
  const n = transports.length;
  await pollUntil("every node to connect to every other", () => transports.every((t) => t.peers().length === n - 1), {
    timeoutMs: WAIT_MS,
  });
}

const LISTEN = ["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/0/ws"];

transportContract(
  "WakuTransport (Waku relay; TCP, noise, yamux)",
  async (n) => {
    const transports = Array.from({ length: n }, () => new WakuTransport({ listen: LISTEN }));
    await connectAll(transports);
    return {
      transports,
      absentPeer: ABSENT_PEER,
      async close() {
        await Promise.all(transports.map((t) => t.stop()));
      },
    };
  },
  { waitMs: WAIT_MS, graceMs: 200, fromIsPublisher: false, peersByTopic: false },
);

describe("WakuTransport", () => {
  const running: WakuTransport[] = [];
  after(async () => {
    await Promise.all(running.map((t) => t.stop()));
  });
  const make = (n: number, options: WakuTransportOptions = {}) => {
    const made = Array.from({ length: n }, () => new WakuTransport({ listen: LISTEN, ...options }));
    running.push(...made);
    return made;
  };

  it("listens on TCP and WebSocket, relays on /vac/waku/relay/2.0.0 only, and answers metadata over /ws", async () => {
    const [a, b] = make(2, { cluster: 7, shards: [3, 1] }) as [WakuTransport, WakuTransport];
    assert.deepEqual(a.pubsubTopics, ["/waku/2/rs/7/3", "/waku/2/rs/7/1"]);
    await connectAll([a, b], true);
    const addrs = a.multiaddrs();
    assert.ok(addrs.some((m) => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\//.test(m)));
    assert.ok(addrs.some((m) => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//.test(m)));
    assert.ok(addrs.every((m) => m.endsWith(`/p2p/${a.peerId}`)));
    const protocols = a.libp2p?.getProtocols() ?? [];
    assert.ok(protocols.includes("/vac/waku/relay/2.0.0"));
    assert.ok(protocols.includes("/vac/waku/metadata/1.0.0"));
    assert.deepEqual(
      protocols.filter((p) => p.startsWith("/meshsub") || p.startsWith("/floodsub")),
      [],
    );
    await pollUntil("both to learn the other's shards", () => a.peerShards(b.peerId) && b.peerShards(a.peerId), {
      timeoutMs: WAIT_MS,
    });
    assert.deepEqual(a.peerShards(b.peerId), { cluster: 7, shards: [3, 1] });
  });

  it("hangs up on a peer of another cluster", async () => {
    const [a] = make(1, { cluster: 7 }) as [WakuTransport];
    const [b] = make(1, { cluster: 8 }) as [WakuTransport];
    await Promise.all([a.start(), b.start()]);
    await b.dial(a.multiaddrs()[0] as string).catch(() => {});
    await pollUntil("the connection to be closed", () => a.peers().length === 0 && b.peers().length === 0, {
      timeoutMs: WAIT_MS,
    });
  });

  it("wraps messages in WakuMessages with ns timestamps, strictly increasing, and hashes them on both sides", async () => {
    const [a, b] = make(2, { cluster: 42, shards: [0] }) as [WakuTransport, WakuTransport];
    const onA: EnvelopeEvent[] = [];
    const onB: EnvelopeEvent[] = [];
    a.onEnvelope((e) => onA.push(e));
    b.onEnvelope((e) => onB.push(e));
    const got: { text: string; hint: Uint8Array | undefined }[] = [];
    b.subscribe("/chorus/1/qa/proto", (bytes, _from, info) =>
      got.push({ text: str(bytes), hint: info?.retrievalHint }),
    );
    await connectAll([a, b]);
    // In each other's mesh, not only subscribed: a learns b's subscription on b's stream, and gossipsub drops what
    // a publishes to b before a's own stream to b is open (a graft needs that stream, so the mesh shows it).
    await pollUntil(
      "a and b in each other's mesh on the shard",
      () => a.peers("/chorus/1/qa/proto").length === 1 && a.meshPeers().length === 1 && b.meshPeers().length === 1,
      { timeoutMs: WAIT_MS },
    );
    const before = BigInt(Date.now()) * 1_000_000n;
    const hints: Uint8Array[] = [];
    for (let i = 0; i < 5; i++) {
      const result = await a.publish("/chorus/1/qa/proto", text(`m${i}`), { ephemeral: i === 4 });
      hints.push(result.retrievalHint);
    }
    await pollUntil("five deliveries", () => got.length === 5, { timeoutMs: WAIT_MS });
    assert.deepEqual(got.map((g) => g.text).sort(), ["m0", "m1", "m2", "m3", "m4"]);
    // Own envelopes are reported to the listeners too, in publish order.
    assert.equal(onA.length, 5);
    const stamps = onA.map((e) => e.envelope.timestamp as bigint);
    for (let i = 1; i < stamps.length; i++) assert.ok((stamps[i] as bigint) > (stamps[i - 1] as bigint));
    assert.ok((stamps[0] as bigint) >= before && (stamps[0] as bigint) < before + 60_000_000_000n);
    for (const [i, e] of onA.entries()) {
      assert.equal(e.pubsubTopic, "/waku/2/rs/42/0");
      assert.equal(e.from, a.peerId);
      assert.deepEqual(e.hash, hints[i]);
      assert.deepEqual(decodeWakuMessage(e.bytes), e.envelope);
      assert.deepEqual(e.hash, wakuMessageHash("/waku/2/rs/42/0", decodeWakuMessage(e.bytes)));
      assert.equal(e.envelope.ephemeral, i === 4 ? true : undefined);
      assert.equal(e.envelope.contentTopic, "/chorus/1/qa/proto");
    }
    // The receiver computes the same hashes from the bytes it got, and hands them to the handler.
    await pollUntil("b's listener to see all five", () => onB.length === 5, { timeoutMs: WAIT_MS });
    const sentHashes = hints.map((h) => Buffer.from(h).toString("hex")).sort();
    assert.deepEqual(onB.map((e) => Buffer.from(e.hash).toString("hex")).sort(), sentHashes);
    assert.deepEqual(got.map((g) => Buffer.from(g.hint as Uint8Array).toString("hex")).sort(), sentHashes);
    assert.ok(onB.every((e) => e.from === a.peerId));
  });

  it("relays every valid WakuMessage whatever its content topic, drops what is not one, and relays light-pushed envelopes unchanged", async () => {
    const [a, b, c] = make(3) as [WakuTransport, WakuTransport, WakuTransport];
    await Promise.all([a, b, c].map((t) => t.start()));
    await a.dial(b.multiaddrs()[0] as string);
    await c.dial(b.multiaddrs()[0] as string);
    const atB: EnvelopeEvent[] = [];
    const atC: EnvelopeEvent[] = [];
    b.onEnvelope((e) => atB.push(e));
    c.onEnvelope((e) => atC.push(e));
    const got: string[] = [];
    c.subscribe("/other-app/1/chat/proto", (bytes) => got.push(str(bytes)));
    await pollUntil("b's mesh to hold a and c", () => b.meshPeers().length === 2, { timeoutMs: WAIT_MS });
    assert.equal(a.peers().includes(c.peerId), false);

    // Not a WakuMessage: b's validator rejects it (b's listeners never see it), so b does not forward it.
    const pubsub = a.libp2p?.services.pubsub;
    await pubsub?.publish(a.pubsubTopic, Uint8Array.of(0xff, 0xff, 0xff));
    // A foreign app's envelope, pushed into a (as light push does): b relays it although nobody there wants it.
    const foreign = encodeWakuMessage({
      payload: text("from an SDS app"),
      contentTopic: "/other-app/1/chat/proto",
      timestamp: 1_700_000_000_000_000_000n,
      meta: Uint8Array.of(1, 2),
    });
    assert.deepEqual(await a.publishEnvelope(a.pubsubTopic, foreign), { recipients: 1 });
    await pollUntil("c to receive the foreign envelope through b", () => got.length === 1, { timeoutMs: WAIT_MS });
    assert.deepEqual(got, ["from an SDS app"]);
    assert.deepEqual(atC[0]?.bytes, foreign);
    assert.deepEqual(
      atB.map((e) => e.envelope.contentTopic),
      ["/other-app/1/chat/proto"],
    );
    // The same envelope again is a duplicate: nobody gets it twice.
    assert.deepEqual(await a.publishEnvelope(a.pubsubTopic, foreign), { recipients: 0 });
    await sleep(200);
    assert.equal(atC.length, 1);

    await assert.rejects(a.publishEnvelope("/waku/2/rs/42/9", foreign), /not relayed here/);
    await assert.rejects(a.publishEnvelope(a.pubsubTopic, Uint8Array.of(0xff)), /WakuMessage/);
  });

  it("validates its options", () => {
    assert.throws(() => new WakuTransport({ cluster: 70_000 }), /cluster must be an integer from 0 to 65535/);
    assert.throws(() => new WakuTransport({ shards: [] }), /options\.shards must be a non-empty array/);
    assert.throws(() => new WakuTransport({ shards: [1.5] }), /shard must be an integer/);
    assert.throws(() => new WakuTransport({ maxMessageBytes: 200_000 }), /options\.maxMessageBytes must be an integer/);
  });
});
