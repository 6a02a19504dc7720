// The owner side of /chorus/owner/1 at community scale, in one process without a network: an OwnerServer
// with a roster of N members, every member holding a WATCH; one member sends a message, the other N - 1
// report it (each a signed report, as a member writes it), the owner answers each report and wakes the
// sender's watch, and a second later every watch with its new head.
//
//   npx tsx scripts/measure-owner-cost.ts [--members 10000] [--messages 5]
//
// Prints the owner's CPU time per report and per message, the bytes it receives and sends per message, and
// the ledger's size: what grows with N.
import { randomBytes } from "node:crypto";
import { senderPrefixBytes } from "../src/core/ids.js";
import { ChannelEngine, type Identity, identityFromSecretKey } from "../src/core/index.js";
import { signReport } from "../src/core/owner/link.js";
import { ChannelRuntime } from "../src/node/channel.js";
import { encodeOwnerRequest } from "../src/node/owner-protocol.js";
import { OwnerServer } from "../src/node/owner-server.js";
import { nativeSigner, nativeVerifier } from "../src/platform/native-crypto.js";
import { MemoryStore } from "../src/storage/index.js";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const N = arg("--members", 10_000);
const MESSAGES = arg("--messages", 5);
const CHANNEL = "community/general";
let now = 1_000_000;

const ids: Identity[] = Array.from({ length: N + 1 }, () => identityFromSecretKey(new Uint8Array(randomBytes(32))));
const [ownerId, ...members] = ids as [Identity, ...Identity[]];
const signers = members.map((m) => nativeSigner(m.secretKey));
const store = new MemoryStore();
store.joinChannel(CHANNEL);
const verify = nativeVerifier(N + 64);
const runtime = ChannelRuntime.open(
  {
    store,
    identity: ownerId,
    params: { senderQuotaPer600s: 0, trackAllReceipts: false },
    random: Math.random,
    clock: () => now,
    sign: nativeSigner(ownerId.secretKey),
    verifySignature: verify,
    publish: () => {},
    emit: (_c, e) => server.noteEvent(e),
  },
  CHANNEL,
);
const server: OwnerServer = new OwnerServer(
  {
    self: ownerId.senderId,
    store,
    clock: () => now,
    sign: nativeSigner(ownerId.secretKey),
    verify,
    maxHoldMs: 20_000,
    window: 256,
    channel: () => runtime,
  },
  members.map((m) => m.senderId),
);
server.open(runtime);
// The node says so once its channels are open; until then every request is refused as "starting".
server.ready();

const watch = (i: number, cursor: number, version: number) =>
  server.handle(
    encodeOwnerRequest({
      kind: "watch",
      channelId: CHANNEL,
      member: members[i]!.senderId,
      rosterVersion: version,
      cursor,
      holdMs: 20_000,
    }),
  );
const version = server.roster(CHANNEL)!.version;
// Every member waits for news, as members do between messages.
for (let i = 0; i < N; i++) void watch(i, 0, version);
const keepAlive = setInterval(() => {}, 1_000);

const sender = new ChannelEngine({
  channelId: CHANNEL,
  identity: members[0]!,
  random: Math.random,
  now,
  sign: signers[0],
});
let received = 0;
let sent = 0;
let cpu = 0;
for (let m = 1; m <= MESSAGES; m++) {
  now += 5_000;
  const step = sender.send(new TextEncoder().encode(`message ${m}`), now);
  runtime.receive(step.outgoing[0]!.bytes);
  const requests = members.slice(1).map((member, k) => {
    const held = [{ senderPrefix: senderPrefixBytes(members[0]!.senderId), first: m, last: m }];
    const report = signReport({ channelId: CHANNEL, reporter: member.senderId, writtenAt: now, held }, signers[k + 1]!);
    return encodeOwnerRequest({ kind: "report", channelId: CHANNEL, cursor: 0, report });
  });
  const started = process.cpuUsage();
  for (const r of requests) {
    received += r.length;
    sent += (await server.handle(r)).length;
  }
  const used = process.cpuUsage(started);
  cpu += used.user + used.system;
}
const stats = server.stats();
const perMessageMs = cpu / 1_000 / MESSAGES;
console.log(
  `owner with a roster of ${N} members (+ itself), ${MESSAGES} messages, each held and reported by ${N - 1} members`,
);
console.log(
  `owner CPU per message ${perMessageMs.toFixed(0)} ms, per report ${((perMessageMs * 1_000) / (N - 1)).toFixed(0)} µs`,
);
console.log(
  `per message: ${(received / MESSAGES / 1024).toFixed(0)} KiB of reports in, ${(sent / MESSAGES / 1024).toFixed(0)} KiB of news out`,
);
console.log(
  `reports accepted ${stats.reportsAccepted}, refused ${stats.reportsRefused}, pairs learnt ${stats.pairsLearnt}, news sent ${stats.newsSent}, open watches ${stats.watches}`,
);
console.log(`ledger: ${stats.ledgerMessages} messages, ${stats.ledgerBytes} bytes of holder bitmaps`);
server.stop();
runtime.stop();
clearInterval(keepAlive);
