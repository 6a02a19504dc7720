// The light-node page in headless Chromium: a Chorus member whose core runs in the browser (the bundle of
// src/web/light, built here with esbuild) on an unmodified js-waku 0.0.36 light node, through a Chorus owner
// in this process serving filter, light push and store over WebSocket on 127.0.0.1, beside a member that
// relays. The page sees both others' messages, its own message is delivered by both nodes, its receipt mark
// rises to "delivered to 2 of 2", and its acknowledgements reach the owner. Then the owner publishes a roster
// with the page on it, the page goes away while the relaying member talks, and comes back (same origin, same
// IndexedDB, the light node's store read off): it shows its history with its receipts, keeps its identity, catches
// up from the owner over the owner path (fetches counted by the owner), and its next message takes the next
// sequence number; both own messages read "delivered to 2 of 3" against the roster. The screenshots
// go to test-artifacts/light-page.png and light-page-reloaded.png (gitignored).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { buildLightPage, serveFolder } from "../../scripts/build-browser.js";
import type { Params } from "../../src/core/index.js";
import { ChorusNode, type Role } from "../../src/node/node.js";
import { WakuServices } from "../../src/node/waku/services.js";
import { MemoryStore } from "../../src/storage/index.js";
import { WakuArchive } from "../../src/storage/waku-archive.js";
import { WakuTransport } from "../../src/transport/waku-transport.js";
import { artifact, launchChromium } from "../support/chromium.js";
import { pollUntil } from "../support/poll.js";

const CLUSTER = 42;
const SHARD = 0;
const CHANNEL = "web";
const WAIT_MS = 20_000;
// Syncs every second or so: receipts ride them both ways (this channel has no roster, so no owner path).
const PARAMS: Partial<Params> = { syncIntervalMs: 1_000, backlogSyncIntervalMs: 1_000, controlBudgetPer600s: 600 };
const text = (s: string) => new TextEncoder().encode(s);

describe("the light-node page: a Chorus member in Chromium on a js-waku light node", () => {
  const stops: (() => Promise<void>)[] = [];
  const pageErrors: string[] = [];
  let owner: ChorusNode;
  let relay: ChorusNode;
  let browser: Browser;
  let page: Page;
  let pageUrl: string;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), "chorus-light-page-"));
    stops.push(async () => rmSync(dir, { recursive: true, force: true }));
    const built = await buildLightPage(dir);
    assert.ok(!built.inputs.some((p) => p.startsWith("node:")), "no Node module in the bundle");

    const node = (role: Role, transport: WakuTransport) =>
      new ChorusNode({
        store: new MemoryStore(),
        transport,
        role,
        channels: [CHANNEL],
        newSecretKey: () => new Uint8Array(randomBytes(32)),
        random: Math.random,
        params: PARAMS,
      });
    const ownerTransport = new WakuTransport({
      cluster: CLUSTER,
      shards: [SHARD],
      listen: ["/ip4/127.0.0.1/tcp/0/ws", "/ip4/127.0.0.1/tcp/0"],
    });
    owner = node("owner", ownerTransport);
    await owner.start();
    stops.push(() => owner.stop());
    const services = new WakuServices(ownerTransport, { archive: WakuArchive.inMemory() });
    await services.start();
    stops.push(() => services.stop());
    const ws = ownerTransport.multiaddrs().find((a) => a.includes("/ws/")) as string;
    relay = node("member", new WakuTransport({ cluster: CLUSTER, shards: [SHARD], bootstrap: [ws] }));
    await relay.start();
    stops.push(() => relay.stop());

    const { server, url } = await serveFolder(dir);
    stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    browser = await launchChromium();
    stops.push(() => browser.close());
    page = await browser.newPage({ viewport: { width: 1000, height: 560 } });
    page.on("pageerror", (err) => pageErrors.push(err.message));
    page.on("console", (m) => {
      if (m.type() === "error") pageErrors.push(`console: ${m.text()}`);
    });
    const query = new URLSearchParams({ service: ws, channel: CHANNEL, cluster: `${CLUSTER}`, shard: `${SHARD}` });
    query.set("sync", "1000");
    pageUrl = `${url}/index.html?${query}`;
    await page.goto(pageUrl);
    await page.locator("#me[data-sender]").waitFor({ timeout: WAIT_MS });
    await page.locator("#status[data-state=live]").waitFor({ timeout: WAIT_MS });
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  });

  it("talks both ways with the owner and a relaying member, and shows its receipt as 2 of 2", async () => {
    const me = (await page.locator("#me").getAttribute("data-sender")) ?? "";
    assert.match(me, /^[0-9a-f]{64}$/, "the page shows its sender id");

    // The others to the page: relayed to the owner, pushed to the light node by its filter service.
    const fromOwner = owner.channel(CHANNEL).send(text("hello from the owner"), false).messageId;
    const fromRelay = relay.channel(CHANNEL).send(text("hello from a relaying member"), false).messageId;
    for (const [id, words] of [
      [fromOwner, "hello from the owner"],
      [fromRelay, "hello from a relaying member"],
    ] as const) {
      const row = page.locator(`.msg[data-id="${id}"]`);
      await row.locator(".text", { hasText: words }).waitFor({ timeout: WAIT_MS });
    }

    // The page to the others: light push to the owner, which relays it. Every text its receipt mark takes is
    // recorded (a string, not a function: tsx would wrap a function's closures in helpers the page lacks).
    await page.evaluate(`
      window.__marks = [];
      new MutationObserver(() => {
        const row = [...document.querySelectorAll(".msg.own")].find((r) => r.textContent.includes("from Chromium"));
        const text = row?.querySelector(".mark")?.textContent;
        if (text && window.__marks.at(-1) !== text) window.__marks.push(text);
      }).observe(document.getElementById("log"), { subtree: true, childList: true, characterData: true });
    `);
    await page.fill("#content", "hello from Chromium");
    await page.press("#content", "Enter");
    const own = page.locator(".msg.own", { hasText: "hello from Chromium" });
    await own.waitFor();
    const id = (await own.getAttribute("data-id")) ?? "";
    assert.match(id, /^[0-9a-f]+$/, "the row carries the message id");
    const delivered = (n: ChorusNode) => n.getMessage(CHANNEL, id)?.deliveredPos !== undefined;
    await pollUntil(
      "the owner and the relaying member to deliver the page's message",
      () => delivered(owner) && delivered(relay),
      { timeoutMs: WAIT_MS },
    );
    const view = await owner.messageView(CHANNEL, id);
    assert.equal(view?.senderId, me, "signed by the page's key (ed25519 from @noble/curves, checked by OpenSSL)");
    assert.equal(new TextDecoder().decode(view?.content ?? new Uint8Array()), "hello from Chromium");

    // Receipts: the others' acknowledgements reach the page (its mark), and the page's reach the owner.
    await own.locator(".mark[data-state=all]", { hasText: "delivered to 2 of 2" }).waitFor({ timeout: WAIT_MS });
    const marks = (await page.evaluate("window.__marks")) as string[];
    assert.ok(["sending…", "sent"].includes(marks[0] ?? ""), marks.join(" → "));
    const counts = marks.map((m) => Number(/delivered to (\d+)/.exec(m)?.[1] ?? 0));
    assert.deepEqual(
      counts,
      [...counts].sort((a, b) => a - b),
      `receipts only rise: ${marks.join(" → ")}`,
    );
    const ownerView = await pollUntil(
      "the owner to count the page among the holders of its message",
      async () => {
        const v = await owner.messageView(CHANNEL, fromOwner);
        return v?.receipts?.ackedBy.includes(me) ? v : undefined;
      },
      { timeoutMs: WAIT_MS },
    );
    assert.deepEqual([...(ownerView.receipts?.ackedBy ?? [])].sort(), [me, relay.senderId].sort());
    await page.screenshot({ path: artifact("light-page.png") });
    assert.deepEqual(pageErrors, []);
  });

  it("after a reload keeps its identity and history, catches up from the owner, continues its sequence", async () => {
    const me = (await page.locator("#me").getAttribute("data-sender")) ?? "";
    const first = page.locator(".msg.own", { hasText: "hello from Chromium" });
    const firstId = (await first.getAttribute("data-id")) ?? "";
    const firstSeq = owner.getMessage(CHANNEL, firstId)?.seq;
    assert.equal(typeof firstSeq, "number", "the owner holds the page's first message with its sequence number");
    // N is the roster from now on, not the members heard from: one member on it never shows up.
    const absent = "ab".repeat(32);
    owner.setRoster([relay.senderId, me, absent]);

    // Away: the page is gone (its light node with it) while the relaying member talks. It leaves as a script
    // that navigates does, after its store has written everything (a bare navigation can cut the last write).
    await page.evaluate(() => (globalThis as unknown as { chorusLeave: () => Promise<void> }).chorusLeave());
    await page.goto("about:blank");
    const whileAway = ["while you were away (1)", "while you were away (2)"].map(
      (words) => relay.channel(CHANNEL).send(text(words), false).messageId,
    );
    await pollUntil(
      "the owner to hold what was said while the page was away",
      () => whileAway.every((id) => owner.getMessage(CHANNEL, id)?.deliveredPos !== undefined),
      { timeoutMs: WAIT_MS },
    );
    // From now on only the owner can tell the page what it missed: the relaying member neither publishes nor
    // hears anything (its syncs would otherwise reveal the gap and its peers could answer the repair).
    relay.setFaults({ loss: 1 });
    const servedBefore = owner.ownerPathStats().server?.fetchedMessages ?? 0;

    // Back without the light node's store read on subscribe (catchup=0): what was missed can come only over the
    // owner path (test/transport/waku-light.test.ts covers the store read).
    await page.goto(`${pageUrl}&catchup=0`);
    await page.locator("#me[data-sender]").waitFor({ timeout: WAIT_MS });
    // History from IndexedDB, before anything arrives: the rows the page showed, with the same identity.
    assert.equal(await page.locator("#me").getAttribute("data-sender"), me, "the same sender id after the reload");
    assert.ok(Number(await page.locator("#log").getAttribute("data-history")) >= 3, "the history is shown");
    await page.locator(`.msg.own[data-id="${firstId}"]`, { hasText: "hello from Chromium" }).waitFor();
    // Its receipts from before the reload, read back from the engine's snapshot (N is the roster once it is here).
    const restored = (await first.locator(".mark").textContent()) ?? "";
    console.log(`# the first message's mark at the reload: ${restored}`);
    assert.match(restored, /^delivered to 2 of [23]$/, "its receipts are read back, not shown as only 'sent'");
    await page.locator("#status[data-state=live]").waitFor({ timeout: WAIT_MS });
    // The roster: the owner, the relaying member and the absent one besides the page.
    await page.locator("#owner[data-state=up]").waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator("#owner").textContent(), "owner path up · roster of 3");

    // Caught up from the owner, the only one left who can tell (the filter service pushes only what arrives while
    // the page is subscribed, and the store read is off): its news carries every sender's head, the page fetches
    // the gap from the owner's history.
    for (const id of whileAway) await page.locator(`.msg[data-id="${id}"]`).waitFor({ timeout: WAIT_MS });
    const served = (owner.ownerPathStats().server?.fetchedMessages ?? 0) - servedBefore;
    console.log(`# of the ${whileAway.length} missed, the owner path served ${served}`);
    assert.ok(served >= 1, `the owner path served what was missed (${served} messages)`);
    await page.locator("#sync", { hasText: "all caught up" }).waitFor({ timeout: WAIT_MS });
    relay.setFaults({ loss: 0 });

    await page.fill("#content", "hello again after the reload");
    await page.press("#content", "Enter");
    const again = page.locator(".msg.own", { hasText: "hello again after the reload" });
    await again.waitFor();
    const againId = (await again.getAttribute("data-id")) ?? "";
    const held = await pollUntil(
      "the owner to deliver the page's new message",
      () => owner.getMessage(CHANNEL, againId),
      {
        timeoutMs: WAIT_MS,
      },
    );
    assert.equal(held.senderId, me);
    assert.equal(held.seq, (firstSeq as number) + 1, "the sequence continues: no number is used twice");
    assert.deepEqual(owner.channel(CHANNEL).equivocations(), [], "no equivocation");
    await again.locator(".mark", { hasText: "delivered to 2 of 3" }).waitFor({ timeout: WAIT_MS });
    // The message from before the reload is counted against the roster too: the owner and the relaying member.
    await first.locator(".mark", { hasText: "delivered to 2 of 3" }).waitFor({ timeout: WAIT_MS });
    await page.screenshot({ path: artifact("light-page-reloaded.png") });
    assert.deepEqual(pageErrors, []);
  });
});
