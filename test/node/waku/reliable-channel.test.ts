// Two ReliableChannel apps (@waku/sdk 0.0.36, unmodified) whose only service node is a Chorus node: they
// send with light push and receive with filter. One filter push is dropped by the service's push gate:
// the app notices and asks the Chorus store by the retrieval hint it was given, which (a ReliableChannel
// 0.0.36 defect) is not the hash of what was relayed; the store holds the message under its real hash
// and hands it to the app's light node by that hash.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { type LightNode, Protocols, ReliableChannel } from "waku-sdk-036";
import type { FilterPush } from "../../../src/node/waku/filter-service.js";
import { pollUntil } from "../../support/poll.js";
import { lightNode, PUBSUB_TOPIC, type ServiceNode, SHARD, serviceNode, WAIT_MS } from "./js-waku-light.js";

const TOPIC = "/reliable-app/1/chat/proto";
const CHANNEL = "chat-room";
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

interface App {
  readonly node: LightNode;
  readonly channel: ReliableChannel<never>;
  readonly received: string[];
  /** Ids of our messages SDS counts as sent (in its history, so later messages name them). */
  readonly sent: Set<string>;
}

async function app(service: string, sender: string): Promise<App> {
  // Connected only once the channel exists, so that its query-on-connect runs at the first connection
  // (and later ones ask only for the time since).
  const node = await lightNode(undefined);
  const encoder = node.createEncoder({ contentTopic: TOPIC, shardId: SHARD });
  const decoder = node.createDecoder({ contentTopic: TOPIC, shardId: SHARD });
  const channel = await ReliableChannel.create(node, CHANNEL, sender, encoder, decoder, {
    // No resends and no sync messages: what the other side gets is what the service node delivered.
    retryIntervalMs: 0,
    syncMinIntervalMs: 0,
    retrieveFrequencyMs: 300,
    processTaskMinElapseMs: 50,
  });
  const received: string[] = [];
  channel.addEventListener("message-received", (e) => received.push(str((e as CustomEvent).detail.payload)));
  const sent = new Set<string>();
  channel.addEventListener("message-sent", (e) => sent.add((e as CustomEvent).detail));
  await node.dial(service as never);
  await node.waitForPeers([Protocols.Store, Protocols.Filter, Protocols.LightPush], WAIT_MS);
  return { node, channel: channel as ReliableChannel<never>, received, sent };
}

describe("ReliableChannel apps through a Chorus service node (js-waku 0.0.36)", () => {
  let owner: ServiceNode | undefined;
  const apps: App[] = [];
  after(async () => {
    for (const a of apps) a.channel.stop();
    await Promise.all(apps.map((a) => a.node.stop()));
    await owner?.stop();
    // KNOWN PROBLEM: after every node stopped, three sockets of the js-waku (libp2p 2) WebSocket
    // connections stay open and keep the process alive indefinitely; until that is found, the file ends
    // itself once its results are out.
    setTimeout(() => process.exit(), 2_000).unref();
  });

  it("delivers both ways by light push and filter; a dropped push is asked for by hint and served by hash from the store", async () => {
    let dropFor: string | undefined;
    const dropped: FilterPush[] = [];
    owner = await serviceNode({
      filter: {
        pushGate: (push) => {
          if (push.peer !== dropFor) return true;
          dropFor = undefined;
          dropped.push(push);
          return false;
        },
      },
    });
    const alice = await app(owner.ws, "alice");
    const bob = await app(owner.ws, "bob");
    apps.push(alice, bob);
    await pollUntil("both apps subscribed", () => owner?.services.filter.subscriptions.size() === 2, {
      timeoutMs: WAIT_MS,
    });

    alice.channel.send(text("hello bob"));
    await pollUntil("bob to receive", () => bob.received.includes("hello bob"), { timeoutMs: WAIT_MS });
    bob.channel.send(text("hello alice"));
    await pollUntil("alice to receive", () => alice.received.includes("hello alice"), { timeoutMs: WAIT_MS });

    // The next push to bob is lost.
    dropFor = bob.node.libp2p.peerId.toString();
    const lost = alice.channel.send(text("lost on the way"));
    await pollUntil("the push to be dropped", () => dropped.length === 1, { timeoutMs: WAIT_MS });
    await pollUntil("alice's SDS to count it sent", () => alice.sent.has(lost), { timeoutMs: WAIT_MS });
    const queriesBefore = owner.services.stats.storeQueries;
    // The next message names the lost one in its causal history, with a retrieval hint.
    alice.channel.send(text("after the loss"));
    await pollUntil("bob to receive the next message", () => bob.received.includes("after the loss"), {
      timeoutMs: WAIT_MS,
    });
    // Bob asks the store by that hint, in vain: ReliableChannel 0.0.36 takes the hint from a first encoding
    // of the message and light-pushes a second one with a later timestamp, so the hint is not the hash of
    // what was relayed and stored (known to the issue). The store answers 200 with nothing.
    await pollUntil("bob's store query by hint", () => (owner?.services.stats.storeQueries ?? 0) > queriesBefore, {
      timeoutMs: WAIT_MS,
    });
    assert.equal(bob.received.includes("lost on the way"), false);
    // ReliableChannel 0.0.36 has no other way to the message here: its query-on-connect runs only when it
    // sees itself back from offline, and a first one (or one after a long absence) splits the range into
    // 24-hour pieces and drops the newest piece. So the repair from the Chorus store is shown with bob's
    // light node asking the store by the hash of what alice relayed (which the dropped push carried).
    const decoder = bob.node.createDecoder({ contentTopic: TOPIC, shardId: SHARD });
    const repaired: string[] = [];
    for await (const page of bob.node.store.queryGenerator([decoder], {
      messageHashes: [dropped[0]?.hash as Uint8Array],
      pubsubTopic: PUBSUB_TOPIC,
    })) {
      for (const m of await Promise.all(page)) {
        if (m !== undefined) repaired.push(Buffer.from(m.hash).toString("hex"));
        // The payload is alice's SDS message, whose content is the lost text.
        if (m !== undefined) assert.ok(str(m.payload).includes("lost on the way"));
      }
    }
    assert.deepEqual(repaired, [Buffer.from(dropped[0]?.hash as Uint8Array).toString("hex")]);
  });
});
