// An app-side Chorus channel on a js-waku 0.0.36 light node (WakuLightTransport: light push, filter,
// store) talks to a Chorus node on the relay, through a Chorus node serving light push, filter and store:
// each side receives the other's messages and the app's message reads "1 of 1". All on 127.0.0.1.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { type Channel, openChannel } from "../../../src/index.js";
import type { NodeEvent } from "../../../src/node/channel.js";
import { ChorusNode } from "../../../src/node/node.js";
import { MemoryStore } from "../../../src/storage/index.js";
import { WakuLightTransport } from "../../../src/transport/waku-light-transport.js";
import { WakuTransport } from "../../../src/transport/waku-transport.js";
import { pollUntil } from "../../support/poll.js";
import { CLUSTER, lightNode, type ServiceNode, SHARD, serviceNode, WAIT_MS } from "./js-waku-light.js";

const TOPIC = "/chorus-app/1/general/proto";
const CHANNEL = "general";
const FAST = { syncIntervalMs: 500, backlogSyncIntervalMs: 500, repairRequestDelayMs: 50, repairResponseDelayMs: 50 };
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe("openChannel over a js-waku light node (WakuLightTransport)", () => {
  let service: ServiceNode | undefined;
  let member: ChorusNode | undefined;
  let channel: Channel | undefined;
  let light: Awaited<ReturnType<typeof lightNode>> | undefined;
  after(async () => {
    await channel?.close();
    await light?.stop();
    await member?.stop();
    await service?.stop();
    // KNOWN PROBLEM (as in reliable-channel.test.ts): js-waku's WebSocket sockets keep the process alive.
    setTimeout(() => process.exit(), 2_000).unref();
  });

  it("carries messages both ways and receipts back to the app", async () => {
    service = await serviceNode();
    const tcp = service.transport.multiaddrs().find((a) => !a.includes("/ws")) as string;
    const relay = new WakuTransport({
      cluster: CLUSTER,
      shards: [SHARD],
      listen: ["/ip4/127.0.0.1/tcp/0"],
      bootstrap: [tcp],
    });
    member = new ChorusNode({
      store: new MemoryStore(),
      transport: relay,
      role: "member",
      channels: [CHANNEL],
      contentTopics: { [CHANNEL]: TOPIC },
      newSecretKey: () => new Uint8Array(randomBytes(32)),
      random: Math.random,
      params: FAST,
    });
    const memberGot: string[] = [];
    member.on((e: NodeEvent) => {
      if (e.type === "delivered" && !e.message.own) memberGot.push(str(e.message.content));
    });
    await member.start();
    await pollUntil("the relay mesh between the two Chorus nodes", () => relay.peers(TOPIC).length > 0, {
      timeoutMs: WAIT_MS,
    });

    light = await lightNode(service.ws);
    channel = await openChannel({
      channelId: CHANNEL,
      transport: new WakuLightTransport({ node: light, cluster: CLUSTER, shard: SHARD }),
      topic: TOPIC,
      params: FAST,
    });
    const appGot: string[] = [];
    channel.on("received", (m) => appGot.push(str(m.payload)));
    const receipts: { count: number; of: number }[] = [];
    channel.on("receipts", (r) => receipts.push(r));
    await pollUntil("the app's filter subscription", () => service?.services.filter.subscriptions.size() === 1, {
      timeoutMs: WAIT_MS,
    });

    channel.send(text("from the app"));
    await pollUntil("the relay member to deliver the app's message", () => memberGot.includes("from the app"), {
      timeoutMs: WAIT_MS,
    });
    member.channel(CHANNEL).send(text("from the relay"), false);
    await pollUntil("the app to receive the member's message", () => appGot.includes("from the relay"), {
      timeoutMs: WAIT_MS,
    });
    await pollUntil("the app's receipt", () => receipts.some((r) => r.count === 1 && r.of === 1), {
      timeoutMs: WAIT_MS,
    });
    assert.equal(channel.syncStatus().text, "all caught up");
  });
});
