// The contract every Transport implementation must pass, on a network without loss (the lossy
// behaviour of each implementation is tested on its own). Each implementation's test file calls
// `transportContract` with a factory for a small network of started, connected transports.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { type PeerId, type Transport, TransportError, type TransportErrorCode } from "../../src/transport/transport.js";
import { pollUntil, sleep } from "../support/poll.js";

export interface TransportNetwork {
  /** Started transports that can all reach each other. */
  readonly transports: readonly Transport[];
  /** A syntactically valid peer id that no running transport answers to. */
  readonly absentPeer: PeerId;
  /** Stops every transport (and whatever else the network holds). */
  close(): Promise<void>;
  /**
   * Resolves once a message published on `topic` by any member reaches every other member that
   * subscribed. Default: every member lists the others in peers(topic).
   */
  ready?(topic: string, members: readonly Transport[]): Promise<void>;
}

export interface ContractOptions {
  /** Upper bound for anything that should happen "soon". */
  readonly waitMs?: number;
  /** How long to wait before concluding that something did not arrive. */
  readonly graceMs?: number;
  /**
   * Whether handlers learn the publisher as `from` (signed gossipsub, the memory bus). When false (Waku relay,
   * anonymous by design) `from` is the peer the message came from, one of the network's other members.
   */
  readonly fromIsPublisher?: boolean;
  /**
   * Whether `peers(topic)` lists the peers subscribed to that very topic. When false (Waku relay, where topics
   * are content topics inside shared shards) it lists the peers on the shard, whatever the topic.
   */
  readonly peersByTopic?: boolean;
  /**
   * Light clients (js-waku light nodes): the member at this index is their service node, and every other member
   * has it as its only peer; a light client with no service node left cannot hand a message to the network, and
   * its publish rejects with PEER_UNREACHABLE instead of resolving.
   */
  readonly serviceIndex?: number;
}

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

interface Inbox {
  readonly messages: { text: string; from: PeerId }[];
  handler: (bytes: Uint8Array, from: PeerId) => void;
}

function inbox(): Inbox {
  const messages: { text: string; from: PeerId }[] = [];
  return { messages, handler: (bytes, from) => messages.push({ text: str(bytes), from }) };
}

function isTransportError(code: TransportErrorCode, pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof TransportError, `expected a TransportError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (pattern) assert.match(error.message, pattern);
    return true;
  };
}

/** Names of the sockets and servers the process holds; stdio pipes excluded. */
function socketHandles(): string[] {
  return process.getActiveResourcesInfo().filter((r) => /TCP|UDP/.test(r));
}

export function transportContract(
  name: string,
  makeNetwork: (n: number) => Promise<TransportNetwork>,
  options: ContractOptions = {},
): void {
  const waitMs = options.waitMs ?? 5_000;
  const graceMs = options.graceMs ?? 150;
  const fromIsPublisher = options.fromIsPublisher ?? true;
  const peersByTopic = options.peersByTopic ?? true;
  const serviceIndex = options.serviceIndex;
  /** The peers `t` should list among `all`: every other member, or for a light client its service node. */
  const peersOf = (t: Transport, all: readonly Transport[]): PeerId[] => {
    const service = serviceIndex === undefined ? undefined : all[serviceIndex];
    const others = all.filter((o) => o !== t && (service === undefined || t === service || o === service));
    return others.map((o) => o.peerId).sort();
  };

  describe(`Transport contract: ${name}`, () => {
    let network: TransportNetwork | undefined;
    afterEach(async () => {
      await network?.close();
      network = undefined;
    });

    async function start(n: number): Promise<Transport[]> {
      network = await makeNetwork(n);
      assert.equal(network.transports.length, n);
      return [...network.transports];
    }

    async function ready(topic: string, members: readonly Transport[]): Promise<void> {
      if (network?.ready) return network.ready(topic, members);
      await pollUntil(
        `every member to see the others subscribed to ${topic}`,
        () => members.every((m) => members.every((o) => o === m || m.peers(topic).includes(o.peerId))),
        { timeoutMs: waitMs },
      );
    }

    describe("publish/subscribe", () => {
      it("reaches every subscriber of the topic, with the publisher as from, and not the publisher", async () => {
        const [a, b, c] = (await start(3)) as [Transport, Transport, Transport];
        const boxes = [inbox(), inbox(), inbox()];
        [a, b, c].forEach((t, i) => {
          t.subscribe("room", (boxes[i] as Inbox).handler);
        });
        await ready("room", [a, b, c]);
        await a.publish("room", text("hello"));
        await pollUntil("delivery", () => boxes[1]?.messages.length === 1 && boxes[2]?.messages.length === 1, {
          timeoutMs: waitMs,
        });
        if (fromIsPublisher) {
          assert.deepEqual(boxes[1]?.messages, [{ text: "hello", from: a.peerId }]);
          assert.deepEqual(boxes[2]?.messages, [{ text: "hello", from: a.peerId }]);
        } else {
          for (const [i, box] of [boxes[1], boxes[2]].entries()) {
            assert.deepEqual(
              box?.messages.map((m) => m.text),
              ["hello"],
            );
            const others = [a, b, c].filter((_, j) => j !== i + 1).map((t) => t.peerId);
            assert.ok(others.includes(box?.messages[0]?.from ?? ""), `from is another member of the network`);
          }
        }
        await sleep(graceMs);
        assert.deepEqual(boxes[0]?.messages, []);
      });

      it("keeps topics apart", async () => {
        const [a, b, c] = (await start(3)) as [Transport, Transport, Transport];
        const onB = inbox();
        const onC = inbox();
        b.subscribe("topic-1", onB.handler);
        c.subscribe("topic-2", onC.handler);
        a.subscribe("topic-1", () => {});
        a.subscribe("topic-2", () => {});
        await ready("topic-1", [a, b]);
        await ready("topic-2", [a, c]);
        await a.publish("topic-1", text("one"));
        await a.publish("topic-2", text("two"));
        await pollUntil("delivery on both topics", () => onB.messages.length > 0 && onC.messages.length > 0, {
          timeoutMs: waitMs,
        });
        await sleep(graceMs);
        assert.deepEqual(
          onB.messages.map((m) => m.text),
          ["one"],
        );
        assert.deepEqual(
          onC.messages.map((m) => m.text),
          ["two"],
        );
      });

      it("stops delivery at unsubscribe, and a new subscribe resumes it", async () => {
        const [a, b, c] = (await start(3)) as [Transport, Transport, Transport];
        const onB = inbox();
        const onC = inbox();
        a.subscribe("room", () => {});
        b.subscribe("room", onB.handler);
        c.subscribe("room", onC.handler);
        await ready("room", [a, b, c]);
        await a.publish("room", text("before"));
        await pollUntil("first delivery", () => onB.messages.length === 1 && onC.messages.length === 1, {
          timeoutMs: waitMs,
        });

        b.unsubscribe("room");
        b.unsubscribe("room");
        await a.publish("room", text("after"));
        await pollUntil("second delivery to c", () => onC.messages.length === 2, { timeoutMs: waitMs });
        await sleep(graceMs);
        assert.deepEqual(
          onB.messages.map((m) => m.text),
          ["before"],
        );

        const again = inbox();
        b.subscribe("room", again.handler);
        await ready("room", [a, b]);
        await a.publish("room", text("again"));
        await pollUntil("delivery after resubscribing", () => again.messages.length === 1, { timeoutMs: waitMs });
        assert.equal(again.messages[0]?.text, "again");
      });

      it("never calls a handler from inside publish, and sends a copy of the bytes", async () => {
        const [a, b] = (await start(2)) as [Transport, Transport];
        let insidePublish = false;
        const seen: { inside: boolean; text: string }[] = [];
        b.subscribe("room", (bytes) => seen.push({ inside: insidePublish, text: str(bytes) }));
        a.subscribe("room", () => {});
        await ready("room", [a, b]);
        const bytes = text("original");
        insidePublish = true;
        const sent = a.publish("room", bytes);
        insidePublish = false;
        bytes.set(text("MUTATED!"));
        await sent;
        await pollUntil("delivery", () => seen.length === 1, { timeoutMs: waitMs });
        assert.deepEqual(seen, [{ inside: false, text: "original" }]);
      });

      it("carries binary payloads of every byte value, including empty ones", async () => {
        const [a, b] = (await start(2)) as [Transport, Transport];
        const got: Uint8Array[] = [];
        b.subscribe("bin", (bytes) => got.push(bytes));
        a.subscribe("bin", () => {});
        await ready("bin", [a, b]);
        const all = Uint8Array.from({ length: 256 }, (_, i) => i);
        const large = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
        await a.publish("bin", all);
        await a.publish("bin", large);
        await pollUntil("two binary messages", () => got.length === 2, { timeoutMs: waitMs });
        const sorted = got.sort((x, y) => x.length - y.length);
        assert.deepEqual(sorted[0], all);
        assert.deepEqual(sorted[1], large);
      });

      it("lists connected peers, and subscribed peers per topic", async () => {
        const [a, b, c] = (await start(3)) as [Transport, Transport, Transport];
        const all = [a, b, c];
        await pollUntil(
          "every transport to list its peers",
          () => all.every((t) => t.peers().length === peersOf(t, all).length),
          { timeoutMs: waitMs },
        );
        for (const t of all) assert.deepEqual(t.peers(), peersOf(t, all));
        b.subscribe("only-b", () => {});
        if (!peersByTopic) {
          await pollUntil(
            "a to see its peers on the shard",
            () => a.peers("only-b").length === peersOf(a, all).length,
            {
              timeoutMs: waitMs,
            },
          );
          assert.deepEqual(a.peers("only-b"), a.peers());
          assert.deepEqual(a.peers("nobody"), a.peers());
          return;
        }
        await pollUntil("a to see b's subscription", () => a.peers("only-b").length === 1, { timeoutMs: waitMs });
        assert.deepEqual(a.peers("only-b"), [b.peerId]);
        assert.deepEqual(a.peers("nobody"), []);
      });

      it("resolves publish with no subscriber at all", async () => {
        const [a] = (await start(1)) as [Transport];
        await a.publish("empty-room", text("anyone?"));
      });
    });

    describe("request/response", () => {
      it("round-trips a request, telling the handler who asked", async () => {
        const [a, b] = (await start(2)) as [Transport, Transport];
        b.handle("/test/echo/1", (bytes, from) => text(`${str(bytes)} from ${from}`));
        const response = await a.request(b.peerId, "/test/echo/1", text("ping"));
        assert.equal(str(response), `ping from ${a.peerId}`);
      });

      it("awaits async handlers, answers concurrent requests separately, and carries large bodies", async () => {
        const [a, b] = (await start(2)) as [Transport, Transport];
        b.handle("/test/slow/1", async (bytes) => {
          await sleep(bytes[0] ?? 0);
          return Uint8Array.from([...bytes].reverse());
        });
        const requests = Array.from({ length: 10 }, (_, i) => Uint8Array.of(50 - i * 5, i));
        const responses = await Promise.all(requests.map((r) => a.request(b.peerId, "/test/slow/1", r)));
        responses.forEach((response, i) => {
          assert.deepEqual(response, Uint8Array.of(i, 50 - i * 5));
        });

        const big = new Uint8Array(300_000).map((_, i) => (i * 13) & 0xff);
        b.handle("/test/big/1", (bytes) => bytes);
        assert.deepEqual(await a.request(b.peerId, "/test/big/1", big), big);
        assert.deepEqual(await a.request(b.peerId, "/test/big/1", new Uint8Array(0)), new Uint8Array(0));
      });

      it("fails with UNSUPPORTED_PROTOCOL for a protocol the peer does not handle, or no longer handles", async () => {
        const [a, b] = (await start(2)) as [Transport, Transport];
        await assert.rejects(
          a.request(b.peerId, "/test/nobody-home/1", text("?")),
          isTransportError("UNSUPPORTED_PROTOCOL", /\/test\/nobody-home\/1/),
        );
        b.handle("/test/brief/1", () => text("ok"));
        assert.equal(str(await a.request(b.peerId, "/test/brief/1", text("?"))), "ok");
        b.unhandle("/test/brief/1");
        b.unhandle("/test/brief/1");
        await assert.rejects(a.request(b.peerId, "/test/brief/1", text("?")), isTransportError("UNSUPPORTED_PROTOCOL"));
      });

      it("fails with HANDLER_FAILED carrying the handler's error message", async () => {
        const [a, b] = (await start(2)) as [Transport, Transport];
        b.handle("/test/throws/1", () => {
          throw new Error("no such page");
        });
        b.handle("/test/rejects/1", async () => {
          throw new RangeError("cursor out of range");
        });
        await assert.rejects(
          a.request(b.peerId, "/test/throws/1", text("?")),
          isTransportError("HANDLER_FAILED", /no such page/),
        );
        await assert.rejects(
          a.request(b.peerId, "/test/rejects/1", text("?")),
          isTransportError("HANDLER_FAILED", /cursor out of range/),
        );
      });

      it("fails with PEER_UNREACHABLE for a peer that is not there", async () => {
        const [a] = (await start(2)) as [Transport, Transport];
        await assert.rejects(
          a.request(network?.absentPeer as string, "/test/echo/1", text("?"), { timeoutMs: waitMs }),
          isTransportError("PEER_UNREACHABLE"),
        );
      });

      it("fails with TIMEOUT when no answer comes in time, or when aborted", async () => {
        const [a, b] = (await start(2)) as [Transport, Transport];
        b.handle("/test/never/1", () => new Promise<Uint8Array>(() => {}));
        const started = Date.now();
        await assert.rejects(
          a.request(b.peerId, "/test/never/1", text("?"), { timeoutMs: 200 }),
          isTransportError("TIMEOUT", /200 ms/),
        );
        assert.ok(Date.now() - started >= 190, "the timeout fired early");
        const controller = new AbortController();
        const pending = a.request(b.peerId, "/test/never/1", text("?"), { signal: controller.signal });
        setTimeout(() => controller.abort(), 50);
        await assert.rejects(pending, isTransportError("TIMEOUT", /aborted/));
      });
    });

    describe("limits and arguments", () => {
      it("refuses oversized messages and requests with a RangeError before sending", async () => {
        const [a, b] = (await start(2)) as [Transport, Transport];
        await assert.rejects(a.publish("room", new Uint8Array(a.maxMessageBytes + 1)), RangeError);
        await assert.rejects(
          a.request(b.peerId, "/test/echo/1", new Uint8Array(a.maxFrameBytes + 1)),
          (e: unknown) => e instanceof RangeError && /over the limit/.test((e as Error).message),
        );
      });

      it("checks arguments with errors that name them", async () => {
        const [a] = (await start(1)) as [Transport];
        assert.throws(
          () => a.subscribe("", () => {}),
          (e: unknown) => e instanceof RangeError && /topic/.test(String(e)),
        );
        assert.throws(
          () => a.subscribe("t", "handler" as never),
          (e: unknown) => e instanceof TypeError && /handler must be a function/.test(String(e)),
        );
        a.subscribe("t", () => {});
        assert.throws(() => a.subscribe("t", () => {}), /already subscribed/);
        await assert.rejects(
          a.publish("t", "text" as never),
          (e: unknown) => e instanceof TypeError && /bytes must be a Uint8Array/.test(String(e)),
        );
        assert.throws(
          () => a.handle("", () => new Uint8Array()),
          (e: unknown) => e instanceof RangeError && /protocol/.test(String(e)),
        );
        a.handle("/p/1", () => new Uint8Array());
        assert.throws(() => a.handle("/p/1", () => new Uint8Array()), /already handles/);
        await assert.rejects(
          a.request("", "/p/1", new Uint8Array()),
          (e: unknown) => e instanceof RangeError && /peer/.test(String(e)),
        );
        await assert.rejects(
          a.request(a.peerId, "/p/1", new Uint8Array(), { timeoutMs: -1 }),
          (e: unknown) => e instanceof RangeError && /timeoutMs/.test(String(e)),
        );
      });
    });

    describe("lifecycle", () => {
      it("after stop: nothing is delivered, publish and request fail NOT_STARTED, stop is idempotent", async () => {
        const [a, b] = (await start(2)) as [Transport, Transport];
        const onB = inbox();
        b.subscribe("room", onB.handler);
        a.subscribe("room", () => {});
        b.handle("/test/echo/1", (bytes) => bytes);
        await ready("room", [a, b]);
        await b.stop();
        await b.stop();
        if (serviceIndex === 1) {
          await assert.rejects(a.publish("room", text("into the void")), isTransportError("PEER_UNREACHABLE"));
        } else {
          await a.publish("room", text("into the void"));
        }
        await sleep(graceMs);
        assert.deepEqual(onB.messages, []);
        await assert.rejects(b.publish("room", text("x")), isTransportError("NOT_STARTED"));
        await assert.rejects(b.request(a.peerId, "/test/echo/1", text("x")), isTransportError("NOT_STARTED"));
        assert.throws(() => b.subscribe("other", () => {}), isTransportError("NOT_STARTED"));
        assert.deepEqual(b.peers(), []);
        await assert.rejects(b.start(), isTransportError("NOT_STARTED"));
      });

      it("stop releases every socket", async () => {
        const before = socketHandles().length;
        const [a, b] = (await start(2)) as [Transport, Transport];
        b.handle("/test/echo/1", (bytes) => bytes);
        a.subscribe("room", () => {});
        b.subscribe("room", () => {});
        await ready("room", [a, b]);
        await a.publish("room", text("x"));
        await a.request(b.peerId, "/test/echo/1", text("x"));
        await network?.close();
        network = undefined;
        await pollUntil(`sockets to close (${socketHandles().join(", ")})`, () => socketHandles().length <= before, {
          timeoutMs: waitMs,
        });
      });
    });
  });
}
