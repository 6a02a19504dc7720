// Measures how fast a sender's receipts reach "2 of 2" on real nodes: an owner and two members, each a
// `chorus node` process on loopback (libp2p gossipsub, SQLite, REST API), default parameters, a roster.
//
//   npx tsx scripts/measure-owner-receipts.ts [--messages 20] [--gap-ms 2000] [--burst]
//
// member1 sends each message through its REST API. The clock starts just before the POST and stops when
// member1's event stream (/v1/events) says the message is acknowledged by 2 of 2; a GET right after the POST
// gives the first answer's N. With --burst every message is sent at once, otherwise one every --gap-ms
// (a quiet channel: each message is alone).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exited, getJson, type LaunchedNode, launchMesh, postMessage } from "../src/cli/launch.js";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const MESSAGES = arg("--messages", 20);
const GAP_MS = arg("--gap-ms", 2_000);
const BURST = process.argv.includes("--burst");
const CHANNEL = "qa";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Follows a node's acknowledged events: resolves `whenAll(id)` once the message is held by every member. */
function followReceipts(node: LaunchedNode) {
  const done = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  const controller = new AbortController();
  const ready = (async () => {
    const res = await fetch(`${node.url}/v1/events?channel=${CHANNEL}&types=acknowledged`, {
      signal: controller.signal,
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    return async () => {
      let buffer = "";
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) return;
        buffer += value;
        for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (data === undefined) continue;
          const e = JSON.parse(data) as { messageId: string; count: number; members: number };
          if (e.count < e.members || done.has(e.messageId)) continue;
          const at = Date.now();
          done.set(e.messageId, at);
          waiting.get(e.messageId)?.(at);
        }
      }
    };
  })();
  return {
    async start() {
      const pump = await ready;
      pump().catch(() => {});
    },
    whenAll(id: string): Promise<number> {
      const at = done.get(id);
      if (at !== undefined) return Promise.resolve(at);
      return new Promise((resolve) => waiting.set(id, resolve));
    },
    stop: () => controller.abort(),
  };
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const root = mkdtempSync(join(tmpdir(), "chorus-measure-"));
const nodes: LaunchedNode[] = [];
try {
  const basePort = 40_000 + Math.floor(Math.random() * 10_000);
  await launchMesh({ root, channelId: CHANNEL, members: 2, basePort, roster: true }, nodes);
  for (const n of nodes.slice(1)) {
    await waitFor(`${n.spec.name}'s owner path`, async () => {
      const r = await getJson<{ ownerPath: string }>(`${n.url}/v1/channels/${CHANNEL}/roster`);
      return r.ownerPath === "up";
    });
  }
  const sender = nodes[1]!;
  const receipts = followReceipts(sender);
  await receipts.start();
  const firsts = new Set<number>();
  const pending: Promise<number>[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const at = Date.now();
    const { messageId } = await postMessage(sender, CHANNEL, `measure ${i}`);
    const took = receipts.whenAll(messageId).then((when) => when - at);
    pending.push(took);
    if (BURST) continue;
    const view = await getJson<{ receipts: { members: number } }>(
      `${sender.url}/v1/channels/${CHANNEL}/messages/${messageId}`,
    );
    firsts.add(view.receipts.members);
    await took;
    await sleep(GAP_MS);
  }
  const times = await Promise.all(pending);
  receipts.stop();
  const sorted = [...times].sort((a, b) => a - b);
  const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  console.log(
    `owner + 2 members on loopback, ${MESSAGES} messages from member1 ${BURST ? "at once" : `${GAP_MS} ms apart`}`,
  );
  if (!BURST) console.log(`N in the first GET of each message: ${[...firsts].join(", ")}`);
  console.log(`ms from send to "2 of 2": ${times.join(" ")}`);
  console.log(`median ${pick(0.5)} ms, p90 ${pick(0.9)} ms, max ${sorted.at(-1)} ms`);
} finally {
  for (const n of nodes) n.child.kill("SIGTERM");
  await Promise.all(nodes.map((n) => exited(n.child)));
  rmSync(root, { recursive: true, force: true });
}
