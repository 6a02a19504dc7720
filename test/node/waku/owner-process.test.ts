// A real `chorus node --role owner --transport waku` process on loopback is a Waku service node: a Chorus
// member process publishes on the channel, an unmodified js-waku 0.0.36 light node light-pushes a message of
// another application's content topic through it, and the owner's SQLite archive serves both to the light
// node's store queries, envelopes unchanged; /v1/health and /metrics count the service work.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { IDecodedMessage, LightNode } from "waku-sdk-036";
import { exited, getJson, type LaunchedNode, launchNode, postMessage } from "../../../src/cli/launch.js";
import { pollUntil } from "../../support/poll.js";
import { lightNode, SHARD, WAIT_MS } from "./js-waku-light.js";

const CHANNEL = "qa";
const CHORUS_TOPIC = "/chorus/1/qa/proto";
const APP_TOPIC = "/other-app/1/chat/proto";
const root = mkdtempSync(join(tmpdir(), "chorus-waku-owner-"));
const nodes: LaunchedNode[] = [];
let light: LightNode | undefined;
const POLL = { timeoutMs: WAIT_MS, intervalMs: 200 };
const params = { syncIntervalMs: 2_000, repairRetryMs: 500, senderQuotaPer600s: 0 };

after(async () => {
  await light?.stop();
  for (const n of nodes) n.child.kill("SIGKILL");
  await Promise.all(nodes.map((n) => exited(n.child)));
  for (const n of nodes) for (const pipe of [n.child.stdin, n.child.stdout, n.child.stderr]) pipe?.destroy();
  rmSync(root, { recursive: true, force: true });
});

interface Health {
  peerId: string;
  multiaddrs: string[];
  wakuServices: Record<string, number> | null;
}

async function query(node: LightNode, contentTopic: string): Promise<IDecodedMessage[]> {
  const decoder = node.createDecoder({ contentTopic, shardId: SHARD });
  const out: IDecodedMessage[] = [];
  for await (const page of node.store.queryGenerator([decoder], { paginationLimit: 100 })) {
    for (const m of await Promise.all(page)) if (m !== undefined) out.push(m);
  }
  return out;
}

test("a chorus owner process in Waku mode archives its shard and serves store and light push to js-waku", async () => {
  const owner = await launchNode({
    name: "owner",
    role: "owner",
    transport: "waku",
    dataDir: join(root, "owner"),
    channels: [CHANNEL],
    listen: ["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/0/ws"],
    params,
  });
  nodes.push(owner);
  const health = await getJson<Health>(`${owner.url}/v1/health`);
  assert.deepEqual(health.wakuServices?.archivedMessages, 0);
  const tcp = health.multiaddrs.find((a) => !a.includes("/ws/")) as string;
  const ws = health.multiaddrs.find((a) => a.includes("/ws/")) as string;
  const member = await launchNode({
    name: "member",
    role: "member",
    transport: "waku",
    dataDir: join(root, "member"),
    channels: [CHANNEL],
    listen: ["/ip4/127.0.0.1/tcp/0"],
    bootstrap: [tcp],
    params,
  });
  nodes.push(member);
  assert.equal((await getJson<Health>(`${member.url}/v1/health`)).wakuServices, null, "a member runs no services");
  // Connected is not yet relaying: until the member has the owner's shard subscription, its publishes reach
  // no one (Chorus repairs them later, but through the owner path, not the relay the archive listens to).
  // A first message, sent again until the owner archives one, shows the relay is up.
  for (let i = 0; ; i++) {
    await postMessage(member, CHANNEL, `warm-up ${i}`);
    const archived = await pollUntil(
      "the owner to archive a warm-up",
      () => getJson<Health>(`${owner.url}/v1/health`),
      {
        timeoutMs: 2_000,
        intervalMs: 200,
        accept: (h) => (h.wakuServices?.archivedMessages ?? 0) > 0,
      },
    ).catch(() => undefined);
    if (archived !== undefined) break;
    assert.ok(i < 10, "the member's messages never reached the owner's relay");
  }
  const warm = (await getJson<Health>(`${owner.url}/v1/health`)).wakuServices?.archivedMessages ?? 0;

  const sent: string[] = [];
  for (const text of ["one", "two", "three"]) sent.push((await postMessage(member, CHANNEL, text)).messageId);
  // The member's hint for each message is the Waku hash of the envelope it relayed.
  const hints = await pollUntil(
    "the member's retrieval hints",
    async () => {
      const { messages } = await getJson<{ messages: { messageId: string; retrievalHint?: string }[] }>(
        `${member.url}/v1/channels/${CHANNEL}/messages?limit=100`,
      );
      const mine = messages.filter((m) => sent.includes(m.messageId) && m.retrievalHint !== undefined);
      return mine.length === sent.length ? mine.map((m) => m.retrievalHint as string) : undefined;
    },
    POLL,
  );

  // An application that is not Chorus, on the same shard, through the owner's light push.
  light = await lightNode(ws);
  const encoder = light.createEncoder({ contentTopic: APP_TOPIC, shardId: SHARD });
  const stamp = new Date(Date.now() - 1_000);
  const pushed = await light.lightPush.send(
    encoder,
    { payload: new TextEncoder().encode("not chorus"), timestamp: stamp },
    { autoRetry: false },
  );
  assert.equal(pushed.successes.length, 1, `light push failed: ${JSON.stringify(pushed.failures)}`);

  // Archived within seconds, any content topic.
  await pollUntil("the owner's archive to hold the four envelopes", () => getJson<Health>(`${owner.url}/v1/health`), {
    ...POLL,
    accept: (h) => (h.wakuServices?.archivedMessages ?? 0) >= warm + 4,
  });
  const chorus = await pollUntil("the Chorus messages in the owner's store", () => query(light!, CHORUS_TOPIC), {
    ...POLL,
    accept: (ms) => hints.every((h) => ms.some((m) => Buffer.from(m.hash).toString("hex") === h)),
  });
  // Timestamps in ns, strictly increasing per node, as published; the store orders by them.
  const stamps = chorus.map((m) => m.timestamp?.getTime() ?? 0);
  assert.deepEqual(
    stamps,
    [...stamps].sort((a, b) => a - b),
  );
  const app = await query(light, APP_TOPIC);
  assert.equal(app.length, 1);
  assert.equal(new TextDecoder().decode(app[0]?.payload), "not chorus");
  // The envelope is the light node's, unchanged: its own timestamp, not the owner's clock.
  assert.equal(app[0]?.timestamp?.getTime(), stamp.getTime());

  const report = (await getJson<Health>(`${owner.url}/v1/health`)).wakuServices;
  assert.equal(report?.lightPushes, 1);
  assert.ok((report?.storeQueries ?? 0) >= 2);
  const metrics = await (await fetch(`${owner.url}/metrics`)).text();
  assert.match(metrics, /^chorus_waku_lightpush_total\{[^}]*\} 1$/m);
  const archivedLine = /^chorus_waku_archive_messages\{[^}]*\} (\d+)$/m.exec(metrics);
  assert.ok(Number(archivedLine?.[1]) >= warm + 4, `archive size in /metrics: ${archivedLine?.[0]}`);
  assert.match(metrics, /^chorus_waku_store_queries_total\{[^}]*\} [1-9]/m);
});
