// Real libp2p nodes on 127.0.0.1, ephemeral ports. Every wait is a bounded poll, never a fixed sleep.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { generateKeyPairFromSeed } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { Libp2pTransport, type Libp2pTransportOptions } from "../../src/transport/libp2p-transport.js";
import { TransportError } from "../../src/transport/transport.js";
import { pollUntil } from "../support/poll.js";
import { transportContract } from "./contract.js";

const WAIT_MS = 10_000;

/** A valid peer id that nothing listens for: the key is never used to start a node. */
const ABSENT_PEER = new Libp2pTransport({ secretKey: new Uint8Array(32).fill(0xab) }).peerId;

async function startAll(transports: readonly Libp2pTransport[]): Promise<void> {
  await Promise.all(transports.map((t) => t.start()));
}

/** Starts n nodes and connects every pair. */
async function fullMesh(n: number, options: Libp2pTransportOptions = {}): Promise<Libp2pTransport[]> {
  const transports = Array.from({ length: n }, () => new Libp2pTransport(options));
  await startAll(transports);
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++)
      await (transports[i] as Libp2pTransport).dial((transports[j] as Libp2pTransport).multiaddrs()[0] as string);
  }
  await pollUntil("every node to connect to every other", () => transports.every((t) => t.peers().length === n - 1), {
    timeoutMs: WAIT_MS,
  });
  return transports;
}

transportContract(
  "Libp2pTransport (TCP, noise, yamux, gossipsub)",
  async (n) => {
    const transports = await fullMesh(n);
    return {
      transports,
      absentPeer: ABSENT_PEER,
      async close() {
        await Promise.all(transports.map((t) => t.stop()));
      },
    };
  },
  { waitMs: WAIT_MS, graceMs: 200 },
);

describe("Libp2pTransport", () => {
  const running: Libp2pTransport[] = [];
  after(async () => {
    await Promise.all(running.map((t) => t.stop()));
  });
  const track = (...transports: Libp2pTransport[]) => {
    running.push(...transports);
    return transports;
  };

  it("derives a stable peer id from the secret key, the same one libp2p derives", async () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i * 3);
    const a = new Libp2pTransport({ secretKey: key });
    const b = new Libp2pTransport({ secretKey: key.slice() });
    assert.equal(a.peerId, b.peerId);
    assert.equal(a.peerId, peerIdFromPrivateKey(await generateKeyPairFromSeed("Ed25519", key)).toString());
    assert.notEqual(new Libp2pTransport().peerId, new Libp2pTransport().peerId);
    await a.start();
    track(a);
    assert.ok(a.multiaddrs().every((m) => m.startsWith("/ip4/127.0.0.1/tcp/") && m.endsWith(`/p2p/${a.peerId}`)));
  });

  it("dials its bootstrap list at start", async () => {
    const [hub] = track(new Libp2pTransport());
    await hub?.start();
    const [leaf] = track(new Libp2pTransport({ bootstrap: [...(hub?.multiaddrs() ?? [])] }));
    await leaf?.start();
    await pollUntil("the leaf to connect to the hub", () => leaf?.peers().includes(hub?.peerId ?? "") ?? false, {
      timeoutMs: WAIT_MS,
    });
  });

  it("starts even when a bootstrap peer is down", async () => {
    const ghost = `/ip4/127.0.0.1/tcp/9/p2p/${ABSENT_PEER}`;
    const [t] = track(new Libp2pTransport({ bootstrap: [ghost] }));
    await t?.start();
    assert.deepEqual(t?.peers(), []);
  });

  it("relays through the mesh: a line a - b - c delivers a's message to c", async () => {
    const [a, b, c] = track(new Libp2pTransport(), new Libp2pTransport(), new Libp2pTransport()) as [
      Libp2pTransport,
      Libp2pTransport,
      Libp2pTransport,
    ];
    await startAll([a, b, c]);
    await a.dial(b.multiaddrs()[0] as string);
    await c.dial(b.multiaddrs()[0] as string);
    const got: string[] = [];
    a.subscribe("line", () => {});
    b.subscribe("line", () => {});
    c.subscribe("line", (bytes, from) =>
      got.push(`${from === a.peerId ? "a" : from}:${new TextDecoder().decode(bytes)}`),
    );
    // b forwards only to peers in its mesh for the topic; grafting happens on a heartbeat (1 s).
    await pollUntil(
      "b's mesh to hold a and c",
      () => b.meshPeers("line").includes(a.peerId) && b.meshPeers("line").includes(c.peerId),
      { timeoutMs: WAIT_MS },
    );
    assert.equal(a.peers().includes(c.peerId), false);
    await a.publish("line", new TextEncoder().encode("over the hill"));
    await pollUntil("c to receive a's message through b", () => got.length === 1, { timeoutMs: WAIT_MS });
    assert.deepEqual(got, ["a:over the hill"]);
  });

  it("enforces frame limits on both sides of a request", async () => {
    const [small, big] = track(new Libp2pTransport({ maxFrameBytes: 1_000 }), new Libp2pTransport()) as [
      Libp2pTransport,
      Libp2pTransport,
    ];
    await startAll([small, big]);
    await big.dial(small.multiaddrs()[0] as string);
    let calls = 0;
    small.handle("/test/count/1", () => {
      calls++;
      return new Uint8Array(10);
    });
    big.handle("/test/huge/1", () => new Uint8Array(5_000));

    // A request over the responder's limit is cut off before its handler runs.
    await assert.rejects(big.request(small.peerId, "/test/count/1", new Uint8Array(5_000)), TransportError);
    assert.equal(calls, 0);
    assert.equal((await big.request(small.peerId, "/test/count/1", new Uint8Array(1_000))).length, 10);
    assert.equal(calls, 1);
    // A response over the requester's limit is refused as soon as its length prefix arrives.
    await assert.rejects(
      small.request(big.peerId, "/test/huge/1", new Uint8Array(1)),
      (e: unknown) =>
        e instanceof TransportError && e.code === "PROTOCOL_ERROR" && /over the limit of 1001/.test(e.message),
    );
  });

  it("refuses to take over a libp2p protocol, and serves many concurrent requests without warnings", async () => {
    const [a, b] = track(new Libp2pTransport(), new Libp2pTransport()) as [Libp2pTransport, Libp2pTransport];
    await startAll([a, b]);
    assert.throws(() => a.handle("/meshsub/1.1.0", () => new Uint8Array()), /already handled by libp2p/);
    await a.dial(b.multiaddrs()[0] as string);
    b.handle("/test/echo/1", (bytes) => bytes);
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      const replies = await Promise.all(
        Array.from({ length: 30 }, (_, i) => a.request(b.peerId, "/test/echo/1", Uint8Array.of(i))),
      );
      assert.deepEqual(
        replies.map((r) => r[0]),
        Array.from({ length: 30 }, (_, i) => i),
      );
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", onWarning);
    }
    assert.deepEqual(
      warnings.map((w) => w.message),
      [],
    );
  });

  it("stops cleanly while still starting", async () => {
    const t = new Libp2pTransport();
    const starting = t.start();
    await t.stop();
    await assert.rejects(starting, (e: unknown) => e instanceof TransportError && e.code === "NOT_STARTED");
  });

  it("validates its options", () => {
    assert.throws(
      () => new Libp2pTransport({ secretKey: new Uint8Array(31) }),
      /secretKey must be a 32-byte Uint8Array, got 31 bytes/,
    );
    assert.throws(
      () => new Libp2pTransport({ listen: ["not a multiaddr"] }),
      /options\.listen\[0\] is not a valid multiaddr/,
    );
    assert.throws(() => new Libp2pTransport({ bootstrap: "x" as never }), /options\.bootstrap must be an array/);
    assert.throws(
      () => new Libp2pTransport({ maxMessageBytes: 8 * 1024 * 1024 }),
      /options\.maxMessageBytes must be an integer from 1 to/,
    );
    assert.throws(() => new Libp2pTransport({ requestTimeoutMs: 0 }), /timeoutMs must be a positive number/);
  });
});
