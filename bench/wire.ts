// Wire bytes per message beyond the payload, on a realistic channel.
import { MessageChannel } from "@waku/sds";
import { ChannelEngine, type Outgoing, verifyEncoding } from "../src/core/index.js";
import { Mulberry32, seededRandom } from "../src/core/prng.js";
import { EventQueue } from "../src/sim/event-queue.js";
import { decodeMessage, type WireMessage } from "../src/wire/index.js";
import { START_MS } from "./lib/chorus-log.js";
import { benchIdentity, CHANNEL } from "./lib/chorus-traffic.js";
import { SdsTraffic, sdsReceive } from "./lib/sds-traffic.js";

export interface SizeStats {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export interface WireResult {
  readonly impl: "chorus" | "sds";
  readonly members: number;
  /** Overhead (encoded bytes minus payload bytes) of content messages: what a chat line costs beyond its text. */
  readonly content: SizeStats;
  /** Overhead of everything published: content, sync and repair messages, resends. */
  readonly all: SizeStats;
  /** Published messages by purpose. */
  readonly published: Record<string, number>;
  /** Virtual seconds simulated. */
  readonly virtualSeconds: number;
  readonly note: string;
}

function sizeStats(values: number[]): SizeStats {
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number) => v[Math.min(v.length - 1, Math.ceil(q * v.length) - 1)] ?? Number.NaN;
  return {
    count: v.length,
    mean: v.reduce((a, b) => a + b, 0) / Math.max(1, v.length),
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: v[v.length - 1] ?? Number.NaN,
  };
}

/** A chat line of 20 to 140 bytes. */
function chatLine(rng: Mulberry32, n: number): Uint8Array {
  const words = ["ok", "sure", "see you", "the", "release", "is", "ready", "thanks!", "what about", "tomorrow", "gm"];
  let s = `#${n}`;
  const target = 20 + rng.int(120);
  while (s.length < target) s += ` ${words[rng.int(words.length)]}`;
  return new TextEncoder().encode(s.slice(0, target));
}

// Event kinds on the agenda (src/sim/event-queue.ts); the node is the member, the payload a publication.
const CHAT = 0;
const DELIVER = 1;
const TIMER = 2;

export interface ChorusWireOptions {
  readonly members: number;
  /** Chat messages sent in all. */
  readonly chat: number;
  /** Chat messages per second, channel-wide. */
  readonly rate: number;
  /** Simulated time after the last chat message, during which sync messages go out. */
  readonly tailSeconds: number;
  /** Probability that a member misses a given publication. */
  readonly loss: number;
}

/**
 * A channel of `members` engines with default parameters, an owner node (member 0, the preferred
 * repair responder), Zipf-distributed senders, 50-300 ms latency and independent per-member loss.
 * Every message every engine publishes is measured. A publication is decoded and its signature
 * checked once and shared by all receivers (a simulator's shortcut; each engine still runs all of
 * its own validation and state updates).
 */
export function chorusWire(opts: ChorusWireOptions): WireResult {
  const rng = new Mulberry32(42 + opts.members);
  const identities = Array.from({ length: opts.members }, (_, i) => benchIdentity(`member-${i}`));
  const verified = new WeakMap<Uint8Array, boolean>();
  const verifySignature = (bytes: Uint8Array, signature: Uint8Array, senderId: string) => {
    let ok = verified.get(bytes);
    if (ok === undefined) {
      ok = verifyEncoding(bytes, signature, senderId as never);
      verified.set(bytes, ok);
    }
    return ok;
  };
  const engines = identities.map(
    (identity, i) =>
      new ChannelEngine({
        channelId: CHANNEL,
        identity,
        random: seededRandom(1000 + i),
        now: START_MS,
        preferredResponders: [identities[0]!.senderId],
        verifySignature,
        // Zipf senders at 2-5 messages per second channel-wide exceed Waku's RLN budget: the rate quota is
        // charged as usual but set never to refuse, so that every message is measured.
        params: { senderQuotaPer600s: 10_000_000, senderQuotaBurst: 10_000_000 },
      }),
  );
  const queue = new EventQueue<Outgoing>();
  const scheduled: (number | undefined)[] = new Array(opts.members).fill(undefined);
  const content: number[] = [];
  const all: number[] = [];
  const published: Record<string, number> = {};
  const pickSender = rng.zipf(opts.members);

  const reschedule = (member: number) => {
    const at = engines[member]!.nextDeadline();
    if (at === undefined || at === scheduled[member]) return;
    scheduled[member] = at;
    queue.push(at, TIMER, member);
  };
  const decodedOf = new WeakMap<Uint8Array, WireMessage>();
  const decode = (bytes: Uint8Array) => {
    let decoded = decodedOf.get(bytes);
    if (decoded === undefined) {
      decoded = decodeMessage(bytes);
      decodedOf.set(bytes, decoded);
    }
    return decoded;
  };
  const publish = (member: number, outgoing: readonly Outgoing[], now: number) => {
    for (const out of outgoing) {
      const decoded = decode(out.bytes);
      const overhead = out.bytes.length - (decoded.content?.length ?? 0);
      all.push(overhead);
      if (out.purpose === "content") content.push(overhead);
      published[out.purpose] = (published[out.purpose] ?? 0) + 1;
      queue.push(now + 50 + rng.int(250), DELIVER, member, out);
    }
  };

  let t = START_MS;
  for (let i = 0; i < opts.chat; i++) {
    t += (-Math.log(1 - rng.next()) * 1000) / opts.rate;
    queue.push(Math.round(t), CHAT, pickSender());
  }
  const end = Math.round(t) + opts.tailSeconds * 1000;
  let chatSent = 0;
  while (queue.pop() && queue.at <= end) {
    const now = queue.at;
    const member = queue.node;
    if (queue.kind === CHAT) {
      const sent = engines[member]!.send(chatLine(rng, chatSent++), now);
      publish(member, sent.outgoing, now);
      reschedule(member);
    } else if (queue.kind === TIMER) {
      if (scheduled[member] !== now) continue;
      scheduled[member] = undefined;
      const step = engines[member]!.tick(now);
      publish(member, step.outgoing, now);
      reschedule(member);
    } else {
      const out = queue.payload!;
      const decoded = decode(out.bytes);
      for (let m = 0; m < opts.members; m++) {
        if (m === member || rng.next() < opts.loss) continue;
        const step = engines[m]!.receive(out.bytes, now, decoded);
        if (step.outgoing.length > 0) publish(m, step.outgoing, now);
        reschedule(m);
      }
    }
  }
  return {
    impl: "chorus",
    members: opts.members,
    content: sizeStats(content),
    all: sizeStats(all),
    published,
    virtualSeconds: (end - START_MS) / 1000,
    note:
      `${opts.chat} chat messages at ${opts.rate}/s from Zipf-distributed senders, ${opts.tailSeconds} s more for ` +
      `sync messages, ${(opts.loss * 100).toFixed(0)} % loss per member, owner node answering repairs; default parameters`,
  };
}

/**
 * SDS's message size depends on the sender's history (its last 200 ids, with sender ids) and on its
 * bloom filter (always 18,752 bytes), not on the number of members. One real MessageChannel takes part
 * in a lossless channel with `members - 1` others (their messages built the way SDS builds them) and
 * sends every other message; each of its messages is measured as SDS encodes it.
 */
export async function sdsWire(members: number, messages: number): Promise<WireResult> {
  const rng = new Mulberry32(42 + members);
  const channel = new MessageChannel(CHANNEL, benchIdentity("member-under-test").senderId);
  const others = new SdsTraffic(Math.max(1, members - 1), BigInt(Date.now()));
  const sizes: number[] = [];
  for (let i = 0; i < messages; i++) {
    if (i % 2 === 0) {
      const payload = chatLine(rng, i);
      let bytes: Uint8Array | undefined;
      let id = "";
      let lamport = 0n;
      channel.pushOutgoingMessage(payload, async (m) => {
        bytes = m.encode();
        id = m.messageId;
        lamport = m.lamportTimestamp ?? 0n;
        return { success: true };
      });
      await channel.processTasks();
      if (bytes === undefined) throw new Error("SDS did not send");
      sizes.push(bytes.length - payload.length);
      others.observe(id, channel.senderId, lamport);
    } else {
      await sdsReceive(channel, others.next(true).encode());
    }
  }
  return {
    impl: "sds",
    members,
    content: sizeStats(sizes),
    all: sizeStats(sizes),
    published: { content: sizes.length },
    virtualSeconds: 0,
    note: `${messages} messages, lossless, one real MessageChannel sending every other one (default options)`,
  };
}
