// A Chorus member whose transport is an unmodified js-waku 0.0.36 light node (WakuLightTransport): it sends by
// light push and receives by filter through the channel's owner, a Chorus node in Waku mode serving light push,
// filter and store, beside a member that relays. Both ways, receipts "2 of 2" over the owner path (streams on the
// light node's own connection), and a filter push the owner drops is repaired from the owner's history.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { identityFromSecretKey, type Params } from "../../../src/core/index.js";
import { ChorusNode, type Role } from "../../../src/node/node.js";
import { WakuServices } from "../../../src/node/waku/services.js";
import { MemoryStore } from "../../../src/storage/index.js";
import { WakuArchive } from "../../../src/storage/waku-archive.js";
import type { Transport } from "../../../src/transport/transport.js";
import { WakuLightTransport } from "../../../src/transport/waku-light-transport.js";
import { WakuTransport } from "../../../src/transport/waku-transport.js";
import { pollUntil } from "../../support/poll.js";
import { CLUSTER, lightNode, SHARD, WAIT_MS } from "./js-waku-light.js";

const CHANNEL = "light";
const WAIT = { timeoutMs: WAIT_MS };
const text = (s: string) => new TextEncoder().encode(s);
// Slow topic syncs and resends: a gap is found by the next message or the owner's heads, and filled from the owner.
const PARAMS: Partial<Params> = { syncIntervalMs: 60_000, resendAfterMs: 60_000, repairRequestDelayMs: 50 };

describe("a Chorus member on a js-waku light node, through a Chorus owner serving light push and filter", () => {
  const stops: (() => Promise<void>)[] = [];
  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  });

  it("delivers both ways, counts receipts against the roster, and repairs a dropped filter push from the owner", async () => {
    const keys = ["owner", "relay", "light"].map(() => new Uint8Array(randomBytes(32)));
    const ids = keys.map((k) => identityFromSecretKey(k).senderId);
    const node = (i: number, role: Role, transport: Transport) =>
      new ChorusNode({
        store: new MemoryStore(),
        transport,
        role,
        channels: [CHANNEL],
        newSecretKey: () => keys[i] as Uint8Array,
        random: Math.random,
        params: PARAMS,
        ownerWatchHoldMs: 2_000,
        ...(role === "owner" ? { roster: ids.slice(1) } : { ownerSenderId: ids[0] as string }),
      });

    const ownerTransport = new WakuTransport({
      cluster: CLUSTER,
      shards: [SHARD],
      listen: ["/ip4/127.0.0.1/tcp/0/ws", "/ip4/127.0.0.1/tcp/0"],
    });
    const owner = node(0, "owner", ownerTransport);
    await owner.start();
    stops.push(() => owner.stop());
    let dropNext = false;
    const services = new WakuServices(ownerTransport, {
      archive: WakuArchive.inMemory(),
      filter: {
        pushGate: () => {
          if (!dropNext) return true;
          dropNext = false;
          return false;
        },
      },
    });
    await services.start();
    stops.push(() => services.stop());
    const ws = ownerTransport.multiaddrs().find((a) => a.includes("/ws/")) as string;

    const relay = node(1, "member", new WakuTransport({ cluster: CLUSTER, shards: [SHARD], bootstrap: [ws] }));
    await relay.start();
    stops.push(() => relay.stop());
    const lightTransport = new WakuLightTransport({
      node: await lightNode(ws),
      cluster: CLUSTER,
      shard: SHARD,
      stopNode: true,
    });
    const light = node(2, "member", lightTransport);
    await light.start();
    stops.push(() => light.stop());
    for (const m of [relay, light]) {
      await pollUntil(`${m.senderId.slice(0, 8)}'s owner path up`, () => m.ownerPath(CHANNEL) === "up", WAIT);
    }
    await pollUntil(
      "the light member's filter subscription",
      () => lightTransport.isSubscribed(`/chorus/1/${CHANNEL}/proto`),
      WAIT,
    );

    const delivered = (n: ChorusNode, id: string) => n.getMessage(CHANNEL, id)?.deliveredPos !== undefined;
    const twoOfTwo = (n: ChorusNode, id: string) =>
      pollUntil(
        `${id.slice(0, 8)} acknowledged by both others`,
        async () => {
          const v = await n.messageView(CHANNEL, id);
          return v?.receipts?.count === 2 ? v : undefined;
        },
        WAIT,
      );

    // Light to the others: light push, relayed by the owner; receipts come back over the owner path.
    const fromLight = light.channel(CHANNEL).send(text("from the light node"), false);
    await pollUntil(
      "owner and relay member to deliver it",
      () => delivered(owner, fromLight.messageId) && delivered(relay, fromLight.messageId),
      WAIT,
    );
    const seen = await twoOfTwo(light, fromLight.messageId);
    assert.deepEqual(seen.receipts?.ackedBy, [ids[0], ids[1]].sort());
    assert.equal(seen.receipts?.denominator, "roster");

    // The others to the light node: relay, then a filter push.
    const fromRelay = relay.channel(CHANNEL).send(text("from the relaying member"), false);
    await pollUntil("the light member to deliver it", () => delivered(light, fromRelay.messageId), WAIT);
    await twoOfTwo(relay, fromRelay.messageId);

    // The owner's filter service drops the next push to the light node: the light member learns of the gap
    // (from the next message, or the owner's heads) and fetches the message from the owner.
    const fetchedBefore = light.ownerPathStats().client.fetchedMessages;
    const historyBefore = light.catchUps.length;
    dropNext = true;
    const missed = relay.channel(CHANNEL).send(text("dropped on its way to the light node"), false);
    await pollUntil("the push to be dropped", () => !dropNext, WAIT);
    relay.channel(CHANNEL).send(text("the next one"), false);
    await pollUntil("the light member to repair the dropped message", () => delivered(light, missed.messageId), WAIT);
    const client = light.ownerPathStats().client;
    assert.ok(
      client.fetchedMessages > fetchedBefore || light.catchUps.length > historyBefore,
      `repaired from the owner (fetched ${client.fetchedMessages}, catch-ups ${light.catchUps.length})`,
    );
    assert.equal(lightTransport.peers().length, 1, "the light node's one peer is its service node");
  });
});
