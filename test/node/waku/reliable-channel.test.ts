// Two ReliableChannel apps (@waku/sdk 0.0.36, unmodified) whose only service node is a Chorus node: they
// send with light push and receive with filter. One filter push is dropped by the service's push gate, and
// the message is repaired from the Chorus store by ReliableChannel itself, through the one path of 0.0.36
// that reaches it: the time-range query it runs when it reconnects to a store node after being offline.
//
// What was checked in the installed package (paths under node_modules/waku-sdk-036/), and why the test
// takes that path:
// - The retrieval hint path does not work reliably. `_wrapAndSend` encodes the message once to hash it,
//   without a timestamp (src/reliable_channel/reliable_channel.ts:329, hash at :339), then light-pushes the
//   unencoded message (:348), which the light push client encodes again (node_modules/@waku/core/src/lib/
//   light_push/protocol_handler.ts:40); each encoding stamps `new Date()` (node_modules/@waku/core/src/lib/
//   message/version_0.ts:111). The hint it then puts in the causal history is the hash of the relayed (and
//   stored) envelope only when both encodings fall in the same millisecond. So the app the push missed may
//   or may not find the message by hint (MissingMessageRetriever); bob's hint retriever is switched off
//   here (`retrieveFrequencyMs: 0`, a documented option) so that the test does not depend on the clock.
// - The first query-on-connect asks for the last 30 days (src/query_on_connect/query_on_connect.ts:146-150)
//   and the store client splits ranges over 24 h into 24 h pieces, leaving out the newest piece
//   (src/store/store.ts:321-334: the last, shorter piece is only added when there was no other): a first
//   connection never fetches the last 24 hours. Later queries cover the time since the last successful one.
// - It does mark itself offline: the health indicator turns Unhealthy when the last connection closes
//   (src/health_indicator/health_indicator.ts:105-107), query-on-connect notes the time (query_on_connect.ts
//   :198-201), and the next store connection queries from the last successful query to now (:105-110). A
//   connection loss after the lost push, then a reconnect, is therefore a legitimate way for an unmodified
//   ReliableChannel to repair from the store, and that is what is shown.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { peerIdFromString } from "@libp2p/peer-id";
import { MessageChannelEvent } from "@waku/sds";
import { type LightNode, Protocols, ReliableChannel, WakuEvent } from "waku-sdk-036";
import type { FilterPush } from "../../../src/node/waku/filter-service.js";
import { pollUntil } from "../../support/poll.js";
import { lightNode, type ServiceNode, SHARD, serviceNode, WAIT_MS, waitForPeers } from "./js-waku-light.js";

const TOPIC = "/reliable-app/1/chat/proto";
const CHANNEL = "chat-room";
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

interface App {
  readonly node: LightNode;
  readonly channel: ReliableChannel<never>;
  readonly received: string[];
  /** Ids of our messages SDS counts as sent (in its history, so later messages name them). */
  readonly sent: Set<string>;
  /** Health events of the light node, in order. */
  readonly health: string[];
  /** Retrieval hints SDS reported with missing messages. */
  readonly missingHints: string[];
}

async function app(service: string, sender: string, retrieveFrequencyMs: number): Promise<App> {
  // Connected only once the channel exists, so that its query-on-connect runs at the first connection
  // (and later ones ask only for the time since).
  const node = await lightNode(undefined);
  const health: string[] = [];
  node.events.addEventListener(WakuEvent.Health, (e) => health.push(String((e as CustomEvent).detail)));
  const encoder = node.createEncoder({ contentTopic: TOPIC, shardId: SHARD });
  const decoder = node.createDecoder({ contentTopic: TOPIC, shardId: SHARD });
  const channel = await ReliableChannel.create(node, CHANNEL, sender, encoder, decoder, {
    // No resends and no sync messages: what the other side gets is what the service node delivered.
    retryIntervalMs: 0,
    syncMinIntervalMs: 0,
    retrieveFrequencyMs,
    processTaskMinElapseMs: 50,
  });
  const received: string[] = [];
  channel.addEventListener("message-received", (e) => received.push(str((e as CustomEvent).detail.payload)));
  const sent = new Set<string>();
  channel.addEventListener("message-sent", (e) => sent.add((e as CustomEvent).detail));
  const missingHints: string[] = [];
  channel.messageChannel.addEventListener(MessageChannelEvent.InMessageMissing, (e) => {
    for (const m of (e as CustomEvent<{ retrievalHint?: Uint8Array }[]>).detail) {
      if (m.retrievalHint !== undefined) missingHints.push(hex(m.retrievalHint));
    }
  });
  await node.dial(service as never);
  await waitForPeers(node, [Protocols.Store, Protocols.Filter, Protocols.LightPush]);
  return { node, channel: channel as ReliableChannel<never>, received, sent, health, missingHints };
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

  it("delivers both ways by light push and filter; a dropped push is repaired from the Chorus store after a reconnect", async (t) => {
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
    const alice = await app(owner.ws, "alice", 300);
    const bob = await app(owner.ws, "bob", 0);
    apps.push(alice, bob);
    await pollUntil("both apps subscribed", () => owner?.services.filter.subscriptions.size() === 2, {
      timeoutMs: WAIT_MS,
    });
    // Each app's first query-on-connect: 30 days in 24 h pieces, 29 empty queries (the newest piece is left
    // out, see above). Later ones start where it ended, so it has to end before anything is sent.
    await pollUntil("both first queries-on-connect to end", () => (owner?.services.stats.storeQueries ?? 0) >= 58, {
      timeoutMs: WAIT_MS,
    });

    alice.channel.send(text("hello bob"));
    await pollUntil("bob to receive", () => bob.received.includes("hello bob"), { timeoutMs: WAIT_MS });
    bob.channel.send(text("hello alice"));
    await pollUntil("alice to receive", () => alice.received.includes("hello alice"), { timeoutMs: WAIT_MS });

    // The next push to bob is lost.
    const bobPeer = bob.node.libp2p.peerId.toString();
    dropFor = bobPeer;
    const lost = alice.channel.send(text("lost on the way"));
    await pollUntil("the push to be dropped", () => dropped.length === 1, { timeoutMs: WAIT_MS });
    await pollUntil("alice's SDS to count it sent", () => alice.sent.has(lost), { timeoutMs: WAIT_MS });
    // The next message names the lost one in its causal history, with a retrieval hint.
    alice.channel.send(text("after the loss"));
    await pollUntil("bob to receive the next message", () => bob.received.includes("after the loss"), {
      timeoutMs: WAIT_MS,
    });
    await pollUntil("bob's SDS to see the gap", () => bob.missingHints.length > 0, { timeoutMs: WAIT_MS });
    const stored = hex(dropped[0]?.hash as Uint8Array);
    t.diagnostic(
      `the hint bob got ${bob.missingHints[0] === stored ? "is" : "is not"} the stored hash (two encodings, ${
        bob.missingHints[0] === stored ? "one" : "two"
      } milliseconds)`,
    );
    assert.equal(bob.received.includes("lost on the way"), false);

    // A network outage: the service node drops bob's connection, and bob's redial fails while it lasts (its
    // light node has no address to redial). Without that, js-waku redials at once on the last disconnect
    // (node_modules/@waku/core/src/lib/connection_manager/connection_limiter.ts:129-133), before its health
    // indicator's 100 ms debounce (health_indicator.ts:43) looks: a drop that the redial mends at once is
    // never seen as being offline, and no query follows. Bob's
    // light node turns Unhealthy; when the network is back, its query-on-connect asks the Chorus store for
    // everything since its last successful query.
    const queriesBefore = owner.services.stats.storeQueries;
    await bob.node.libp2p.peerStore.delete(bob.node.libp2p.getConnections()[0]?.remotePeer as never);
    await owner.transport.libp2p?.hangUp(peerIdFromString(bobPeer));
    await pollUntil("bob's light node to see itself offline", () => bob.health.at(-1) === "Unhealthy", {
      timeoutMs: WAIT_MS,
    });
    await bob.node.dial(owner.ws as never);
    await pollUntil("bob to repair the lost message", () => bob.received.includes("lost on the way"), {
      timeoutMs: WAIT_MS,
    });
    // From the store: the only push that carried it was dropped, and alice does not resend.
    assert.ok(owner.services.stats.storeQueries > queriesBefore);
    assert.equal(dropped.length, 1);
    // ReliableChannel 0.0.36 raises "message-received" for every content message it is handed, its own echoed
    // by filter and the ones it already had included (src/reliable_channel/reliable_channel.ts:442, after
    // SDS's own de-duplication at :419): the store answer repeats "after the loss" and bob's own message.
    assert.equal(bob.received.filter((m) => m === "lost on the way").length, 1);
    assert.deepEqual([...new Set(bob.received)].sort(), [
      "after the loss",
      "hello alice",
      "hello bob",
      "lost on the way",
    ]);
    assert.ok(bob.received.indexOf("after the loss") < bob.received.indexOf("lost on the way"));
  });
});
