// The browser entry (src/browser.ts): the same channel as the Node entry on the portable platform. A member on
// @noble/curves and a member on OpenSSL read each other's signatures and count each other's receipts; an app's
// own `crypto` is the one used; a SQLite path is refused; and the entry's import graph, bundled for a browser,
// holds nothing from Node.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import * as browser from "../../src/browser.js";
import * as nodeEntry from "../../src/index.js";
import { MemoryBus } from "../../src/transport/memory-bus.js";
import { pollUntil } from "../support/poll.js";

const FAST = { syncIntervalMs: 300, backlogSyncIntervalMs: 300, resendAfterMs: 1_000 };
const text = (s: string) => new TextEncoder().encode(s);
const open: browser.Channel[] = [];
after(async () => {
  for (const c of open) await c.close();
});

function record<K extends keyof browser.ChannelEvents>(channel: browser.Channel, name: K) {
  const seen: browser.ChannelEvents[K][] = [];
  channel.on(name, (e) => seen.push(e));
  return seen;
}

test("a portable member and an OpenSSL member deliver each other's messages and count each other's receipts", async () => {
  const bus = new MemoryBus({ latency: { min: 1, max: 5 } });
  let signed = 0;
  let verified = 0;
  // The app's crypto is the one used: the portable implementation, counted.
  const counted: browser.ChannelCrypto = {
    signer(secretKey) {
      const sign = browser.PORTABLE_CRYPTO.signer(secretKey);
      return (unsigned) => {
        signed++;
        return sign(unsigned);
      };
    },
    verifier() {
      const verify = browser.PORTABLE_CRYPTO.verifier();
      return (bytes, signature, sender) => {
        verified++;
        return verify(bytes, signature, sender);
      };
    },
  };
  const web = await browser.openChannel({ channelId: "mixed", transport: bus.createTransport("web"), params: FAST });
  const counting = await browser.openChannel({
    channelId: "mixed",
    transport: bus.createTransport("counting"),
    params: FAST,
    crypto: counted,
  });
  const native = await nodeEntry.openChannel({ channelId: "mixed", transport: bus.createTransport("n"), params: FAST });
  open.push(web, counting, native);
  const toNative = record(native, "received");
  const toWeb = record(web, "received");
  const webReceipts = record(web, "receipts");
  const nativeReceipts = record(native, "receipts");

  const fromWeb = web.send(text("signed by @noble/curves"));
  const fromNative = native.send(text("signed by OpenSSL"));
  await pollUntil(
    "both messages delivered and both senders told 2 of 2",
    () =>
      toNative.some((e) => e.id === fromWeb) &&
      toWeb.some((e) => e.id === fromNative) &&
      webReceipts.some((e) => e.id === fromWeb && e.count === 2) &&
      nativeReceipts.some((e) => e.id === fromNative && e.count === 2),
    { timeoutMs: 15_000 },
  );
  assert.equal(toNative.find((e) => e.id === fromWeb)?.senderId, web.senderId);
  assert.deepEqual(
    [...(webReceipts.find((e) => e.count === 2)?.by ?? [])].sort(),
    [counting.senderId, native.senderId].sort(),
  );
  assert.ok(signed > 0, "the app's signer signed the counting member's syncs");
  assert.ok(verified >= 2, `the app's verifier checked the others' messages (${verified} checks)`);
});

test("the browser entry refuses a SQLite path and a crypto without functions, before opening anything", async () => {
  const bus = new MemoryBus({ latency: 1 });
  await assert.rejects(
    browser.openChannel({ channelId: "c", transport: bus.createTransport("a"), store: "/tmp/chorus.db" }),
    { name: "TypeError", message: 'options.store is a SQLite path ("/tmp/chorus.db"), which needs Node: pass a Store' },
  );
  await assert.rejects(
    browser.openChannel({
      channelId: "c",
      transport: bus.createTransport("b"),
      crypto: { signer: "no" } as unknown as browser.ChannelCrypto,
    }),
    { name: "TypeError", message: "options.crypto must have signer(secretKey) and verifier() functions" },
  );
});

test("src/browser.ts bundles for a browser with no Node module, no SQLite and no OpenSSL binding", async () => {
  const result = await build({
    entryPoints: [fileURLToPath(new URL("../../src/browser.ts", import.meta.url))],
    bundle: true,
    platform: "browser",
    format: "esm",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const inputs = Object.keys(result.metafile.inputs);
  const unwanted = inputs.filter((p) => /^node:|better-sqlite3|sqlite-store|native-crypto|src\/platform\//.test(p));
  assert.deepEqual(unwanted, []);
  assert.ok(inputs.some((p) => p.endsWith("src/transport/waku-light-transport.ts")));
  assert.ok(inputs.some((p) => p.endsWith("src/storage/memory-store.ts")));
});
