// A mixed channel on Waku: a Chorus member in interop mode (relay, its channel on the app's content topic)
// and a ReliableChannel app of @waku/sdk 0.0.36 (unmodified; light push and filter through a Chorus service
// node) exchange messages both ways on one content topic, and each reads the other's acknowledgements as far
// as its protocol lets it: the app counts a message acknowledged when a later Chorus message names it in its
// causal history (SDS's rule); Chorus counts the app among a message's receivers when a later app message
// names it in its causal history. Chorus's own acknowledgement summaries mean nothing to the app, and the
// app's bloom filter is not read by Chorus (spec 19.4).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { type LightNode, Protocols, ReliableChannel } from "waku-sdk-036";
import { ChorusNode } from "../../../src/node/node.js";
import { MemoryStore } from "../../../src/storage/index.js";
import { WakuTransport } from "../../../src/transport/waku-transport.js";
import { pollUntil } from "../../support/poll.js";
import { CLUSTER, lightNode, type ServiceNode, SHARD, serviceNode, WAIT_MS, waitForPeers } from "./js-waku-light.js";

const TOPIC = "/mixed-app/1/chat/proto";
const CHANNEL = "mixed-room";
const WAIT = { timeoutMs: WAIT_MS };
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe("a Chorus member and a ReliableChannel app on one content topic (js-waku 0.0.36)", () => {
  let service: ServiceNode | undefined;
  let chorus: ChorusNode | undefined;
  let light: LightNode | undefined;
  let channel: ReliableChannel<never> | undefined;
  after(async () => {
    channel?.stop();
    await light?.stop();
    await chorus?.stop();
    await service?.stop();
    // The js-waku (libp2p 2) WebSocket sockets that outlive their node (see reliable-channel.test.ts).
    setTimeout(() => process.exit(), 2_000).unref();
  });

  it("deliver each other's messages and read each other's causal histories as acknowledgements", async () => {
    service = await serviceNode();
    const tcp = service.transport.multiaddrs().find((a) => !a.includes("/ws")) as string;
    const transport = new WakuTransport({
      cluster: CLUSTER,
      shards: [SHARD],
      listen: ["/ip4/127.0.0.1/tcp/0"],
      bootstrap: [tcp],
    });
    chorus = new ChorusNode({
      store: new MemoryStore(),
      transport,
      role: "member",
      channels: [CHANNEL],
      contentTopics: { [CHANNEL]: TOPIC },
      newSecretKey: () => new Uint8Array(randomBytes(32)),
      random: Math.random,
      params: { interop: true, joinGraceMs: 0 },
    });
    await chorus.start();
    const chorusDelivered: string[] = [];
    chorus.on((e) => {
      if (e.type === "delivered") chorusDelivered.push(str(e.message.content ?? new Uint8Array()));
    });
    await pollUntil(
      "the Chorus member in the service node's mesh",
      () => service?.transport.meshPeers().length === 1,
      WAIT,
    );

    light = await lightNode(undefined);
    const encoder = light.createEncoder({ contentTopic: TOPIC, shardId: SHARD });
    const decoder = light.createDecoder({ contentTopic: TOPIC, shardId: SHARD });
    channel = (await ReliableChannel.create(light, CHANNEL, "sds-app", encoder, decoder, {
      retryIntervalMs: 0,
      syncMinIntervalMs: 0,
      processTaskMinElapseMs: 50,
    })) as ReliableChannel<never>;
    const appReceived: string[] = [];
    const appAcked = new Set<string>();
    channel.addEventListener("message-received", (e) => appReceived.push(str((e as CustomEvent).detail.payload)));
    channel.addEventListener("message-acknowledged", (e) => appAcked.add((e as CustomEvent<string>).detail));
    await light.dial(service.ws as never);
    await waitForPeers(light, [Protocols.Store, Protocols.Filter, Protocols.LightPush]);
    await pollUntil("the app's filter subscription", () => service?.services.filter.subscriptions.size() === 1, WAIT);

    // App -> Chorus: the unsigned SDS message is delivered in interop mode.
    const appFirst = channel.send(text("hello from the app"));
    await pollUntil("Chorus to deliver the app's message", () => chorusDelivered.includes("hello from the app"), WAIT);
    // Chorus -> app: the Chorus message, read as an SDS message; its causal history names the app's message.
    const room = chorus.channel(CHANNEL);
    const chorusFirst = room.send(text("hello from chorus"), false);
    await pollUntil("the app to receive the Chorus message", () => appReceived.includes("hello from chorus"), WAIT);
    await pollUntil("the app to count its message acknowledged", () => appAcked.has(appFirst), WAIT);

    // The app answers; its causal history names the Chorus message: Chorus counts the app as a receiver.
    channel.send(text("got it"));
    await pollUntil("Chorus to deliver the app's answer", () => chorusDelivered.includes("got it"), WAIT);
    const receipts = await pollUntil(
      "Chorus to count the app as a receiver",
      () => room.receipts(chorusFirst.messageId),
      { ...WAIT, accept: (r) => (r?.ackedBy ?? []).includes("sds-app" as never) },
    );
    assert.ok(receipts.count >= 1);
    assert.deepEqual(chorusDelivered.sort(), ["got it", "hello from chorus", "hello from the app"]);
    assert.equal(room.missingCount(), 0);
  });
});
