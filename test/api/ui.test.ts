// The web UI in headless Chromium: two nodes (plus the owner) each serve their API and UI on 127.0.0.1.
// A message written on Alice's page shows on Bob's, its receipt mark on Alice's page rises from "sent" to
// "delivered to 2 of 2", and a message Bob missed shows as a gap that turns into "repaired".
// Screenshots of both pages go to test-artifacts/ (gitignored).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { artifact, launchChromium } from "../support/chromium.js";
import { pollUntil } from "../support/poll.js";
import { type Cluster, OWNER_ALICE_BOB, startCluster } from "./cluster.js";

describe("web UI", () => {
  let c: Cluster;
  let browser: Browser;
  const pages: Record<string, Page> = {};
  const pageErrors: string[] = [];

  before(async () => {
    c = await startCluster(OWNER_ALICE_BOB);
    browser = await launchChromium();
    await Promise.all(
      ["alice", "bob"].map(async (name) => {
        const url = await c.get(name).api.listen({ host: "127.0.0.1", port: 0 });
        const page = await browser.newPage({ viewport: { width: 1180, height: 760 } });
        page.on("pageerror", (err) => pageErrors.push(`${name}: ${err.message}`));
        page.on("console", (m) => {
          if (m.type() === "error") pageErrors.push(`${name} console: ${m.text()}`);
        });
        await page.goto(url);
        await page.locator("#conn[data-state=live]").waitFor();
        await page.locator("#channel-title", { hasText: "# general" }).waitFor();
        pages[name] = page;
      }),
    );
  });

  after(async () => {
    await browser?.close();
    await c?.close();
  });

  it("shows a message on the other node's page, and its receipt count rising on the sender's", async () => {
    const alice = pages.alice!;
    const bob = pages.bob!;
    // Record every text the receipt mark of the new message takes, from the moment its row appears.
    // A string, not a function: tsx would wrap a function's inner closures in helpers the page lacks.
    await alice.evaluate(`
      window.__marks = [];
      new MutationObserver(() => {
        const row = [...document.querySelectorAll(".msg.own")].find((r) => r.textContent.includes("Hello from Alice"));
        const text = row?.querySelector(".mark")?.textContent;
        if (text && window.__marks.at(-1) !== text) window.__marks.push(text);
      }).observe(document.getElementById("log"), { subtree: true, childList: true, characterData: true });
    `);
    await alice.fill("#content", "Hello from Alice");
    await alice.press("#content", "Enter");

    await bob.locator(".msg .text", { hasText: "Hello from Alice" }).waitFor({ timeout: 5_000 });
    const mark = alice.locator(".msg.own", { hasText: "Hello from Alice" }).locator(".mark");
    await mark.filter({ hasText: "delivered to 2 of 2" }).waitFor({ timeout: 5_000 });
    const marks = (await alice.evaluate("window.__marks")) as string[];
    assert.ok(["checking receipts…", "sent"].includes(marks[0]!), marks.join(" → "));
    assert.equal(marks.at(-1), "delivered to 2 of 2", marks.join(" → "));
    const counts = marks.map((m) => Number(/delivered to (\d+)/.exec(m)?.[1] ?? 0));
    assert.deepEqual(
      counts,
      [...counts].sort((a, b) => a - b),
      `receipts only rise: ${marks.join(" → ")}`,
    );
    assert.equal(await mark.getAttribute("data-state"), "all");

    // Bob answers on his page; Alice sees it, from Bob.
    await bob.fill("#content", "Hi Alice, Bob here.\nAll good on my side.");
    await bob.click("#send");
    const reply = alice.locator(".msg:not(.own)", { hasText: "Hi Alice, Bob here." });
    await reply.waitFor({ timeout: 5_000 });
    assert.equal(await reply.locator(".who").textContent(), c.get("bob").node.senderId.slice(0, 8));
  });

  it("shows a missed message as a gap that turns into 'repaired'", async () => {
    const alice = pages.alice!;
    const bob = pages.bob!;
    c.bus.setOffline("bob", true);
    await alice.fill("#content", "Bob is offline for this one");
    await alice.press("#content", "Enter");
    await alice.locator(".msg.own", { hasText: "Bob is offline for this one" }).waitFor();
    await pollUntil("the owner stored it", async () => {
      const log = c.get("owner").node.listDelivered("general", 0, 100);
      return log.length >= 3;
    });
    c.bus.setOffline("bob", false);
    await alice.fill("#content", "Now Bob notices the gap");
    await alice.press("#content", "Enter");

    await bob.locator(".gap[data-state=repaired]").waitFor({ timeout: 8_000 });
    assert.match(String(await bob.locator(".gap").first().textContent()), /^✓ Repaired: message #\d+ from \w{8}/);
    await bob.locator(".msg .text", { hasText: "Bob is offline for this one" }).waitFor();
    await bob.locator(".msg .text", { hasText: "Now Bob notices the gap" }).waitFor();
    // The page's log is in delivery order: the repaired message before the one that revealed the gap.
    const texts = await bob.locator(".msg .text").allTextContents();
    assert.ok(
      texts.indexOf("Bob is offline for this one") < texts.indexOf("Now Bob notices the gap"),
      texts.join(" | "),
    );

    // Every own message on Alice's page ends acknowledged by both other members.
    await pollUntil("all receipts complete", async () => {
      const all = await alice.locator(".msg.own .mark").allTextContents();
      return all.length === 3 && all.every((t) => t === "delivered to 2 of 2");
    });
    await alice.screenshot({ path: artifact("ui.png") });
    await bob.screenshot({ path: artifact("ui-receiver.png") });
    assert.deepEqual(pageErrors, []);
  });

  it("joins a channel from the page and switches to it", async () => {
    const bob = pages.bob!;
    await bob.fill("#join-id", "design review");
    await bob.click("#join button");
    await bob.locator("#channel-title", { hasText: "# design review" }).waitFor();
    await bob.locator(".channels a.active", { hasText: "design review" }).waitFor();
    // The empty-state text follows the title once the channel's (empty) log has loaded: wait for it.
    await bob.locator("#empty", { hasText: "No messages yet. Say hello." }).waitFor();
    assert.deepEqual(c.get("bob").node.listChannels(), ["design review", "general"]);
    // Back to the first channel: its log is still there.
    await bob.locator(".channels a", { hasText: "general" }).click();
    await bob.locator(".msg .text", { hasText: "Now Bob notices the gap" }).waitFor();
    assert.deepEqual(pageErrors, []);
  });
});

describe("web UI on a channel with a roster", () => {
  let c: Cluster;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    // Topic syncs far apart: what moves the mark within a second is the owner path.
    c = await startCluster(OWNER_ALICE_BOB, {
      roster: true,
      params: { syncIntervalMs: 60_000, resendAfterMs: 60_000 },
    });
    browser = await launchChromium();
    const url = await c.get("alice").api.listen({ host: "127.0.0.1", port: 0 });
    page = await browser.newPage({ viewport: { width: 1180, height: 760 } });
    page.on("pageerror", (err) => pageErrors.push(err.message));
    await pollUntil("alice's owner path up", () => c.get("alice").node.ownerPath("general") === "up", {
      timeoutMs: 10_000,
    });
    await page.goto(url);
    await page.locator("#conn[data-state=live]").waitFor();
    await page.locator("#channel-stats", { hasText: "3 members on the roster" }).waitFor();
  });

  after(async () => {
    await browser?.close();
    await c?.close();
  });

  it("counts the roster from the first mark, and the tick reaches 2 of 2 as the owner pushes receipts", async () => {
    await page.evaluate(`
      window.__marks = [];
      new MutationObserver(() => {
        const row = [...document.querySelectorAll(".msg.own")].find((r) => r.textContent.includes("Roster check"));
        const text = row?.querySelector(".mark")?.textContent;
        if (text && window.__marks.at(-1) !== text) window.__marks.push(text);
      }).observe(document.getElementById("log"), { subtree: true, childList: true, characterData: true });
    `);
    const started = Date.now();
    await page.fill("#content", "Roster check");
    await page.press("#content", "Enter");
    const mark = page.locator(".msg.own", { hasText: "Roster check" }).locator(".mark");
    await mark.filter({ hasText: "delivered to 2 of 2" }).waitFor({ timeout: 10_000 });
    console.log(`# web UI with a roster: "delivered to 2 of 2" ${Date.now() - started} ms after Enter`);
    const marks = (await page.evaluate("window.__marks")) as string[];
    assert.ok(
      marks.every((m) => m === "checking receipts…" || m === "sent" || /^delivered to [12] of 2$/.test(m)),
      `N is the roster's 2 throughout: ${marks.join(" → ")}`,
    );
    const title = String(await mark.getAttribute("title"));
    assert.match(title, /^held by \w{8}, \w{8}\nN: the channel's roster$/);
    // Who received it is on the page, not only in the tooltip; the owner is named as such.
    const receivers = String(
      await page.locator(".msg.own", { hasText: "Roster check" }).locator(".receivers").textContent(),
    );
    assert.match(receivers, /^✓ .*owner \w{8}/);
    assert.ok(receivers.includes(c.get("bob").node.senderId.slice(0, 8)), receivers);
    // The members list shows the roster, labels the owner and says who is online or not heard from.
    await page.locator("#members li .tag.owner").waitFor({ timeout: 10_000 });
    // Nobody is heard from on the topic here (receipts go through the owner): that is said, not "offline".
    await page.locator("#members li.unheard", { hasText: "not heard from" }).first().waitFor();
    // A 60 KB message without a single space wraps inside its bubble instead of running off the page.
    const long = "x".repeat(60_000);
    await page.evaluate(`fetch("/v1/channels/general/messages", { method: "POST",
      headers: { "content-type": "application/json" }, body: JSON.stringify({ content: "${long}" }) })`);
    const text = page.locator(".msg.own .text", { hasText: "xxxxxxxx" });
    await text.waitFor();
    const fits = (await page.evaluate(`(() => {
      const e = [...document.querySelectorAll(".msg.own .text")].find((x) => x.textContent.startsWith("xxxxxxxx"));
      return e.scrollWidth <= e.clientWidth + 1 && e.getBoundingClientRect().right <= window.innerWidth;
    })()`)) as boolean;
    assert.ok(fits, "the long message wraps");
    await page.screenshot({ path: artifact("ui-roster.png") });
    assert.deepEqual(pageErrors, []);
  });
});

describe("web UI on a node alone, then down", () => {
  let c: Cluster;
  let browser: Browser;

  before(async () => {
    // Started with "zeta" first: the page opens it, not the alphabetically first "alpha".
    c = await startCluster([{ name: "solo", role: "member" }], { channels: ["zeta", "alpha"] });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await c?.close();
  });

  it("opens the start channel, says why a message stays 'sent', and says when the node is down", async () => {
    const url = await c.get("solo").api.listen({ host: "127.0.0.1", port: 0 });
    const page = await browser.newPage({ viewport: { width: 1180, height: 760 } });
    await page.goto(url);
    await page.locator("#channel-title", { hasText: "# zeta" }).waitFor();
    await page.fill("#content", "Anyone here?");
    await page.press("#content", "Enter");
    const mark = page.locator(".msg.own", { hasText: "Anyone here?" }).locator(".mark");
    await mark.filter({ hasText: "no other member has joined this channel yet" }).waitFor({ timeout: 5_000 });
    // After a reload the mark says the same at once, not a bare "sent".
    await page.reload();
    await mark.filter({ hasText: "no other member has joined this channel yet" }).waitFor({ timeout: 5_000 });
    await c.get("solo").api.close();
    await page.locator("#conn[data-state=down]", { hasText: "node unreachable" }).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: artifact("ui-alone-down.png") });
  });
});
