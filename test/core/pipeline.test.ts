// The content pipeline (src/core/segments/pipeline.ts) with real engines: a large payload crosses as
// segments, a member that holds enough data and parity reassembles it and asks for nothing, and an app's
// authenticated cipher (AES-256-GCM from node:crypto) seals every message: members without the key
// deliver nothing and disturb nothing.
import assert from "node:assert/strict";
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { ChannelEngine, type SenderId, type Step } from "../../src/core/index.js";
import { ContentPipeline, type Forgo, type PayloadCipher } from "../../src/core/segments/pipeline.js";
import { decodeMessage } from "../../src/wire/index.js";
import { CHANNEL, cachedVerifier, identity, prng } from "./fixtures.js";

/** AES-256-GCM: 12-byte nonce || ciphertext || 16-byte tag. A wrong key fails authentication. */
function aesGcm(key: Uint8Array): PayloadCipher {
  return {
    encrypt(plain) {
      const nonce = randomBytes(12);
      const c = createCipheriv("aes-256-gcm", key, nonce);
      return Buffer.concat([nonce, c.update(plain), c.final(), c.getAuthTag()]);
    },
    decrypt(sealed) {
      if (sealed.length < 28) return undefined;
      const d = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, 12));
      d.setAuthTag(sealed.subarray(sealed.length - 16));
      return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
    },
  };
}

interface Member {
  readonly engine: ChannelEngine;
  readonly pipeline: ContentPipeline;
  readonly payloads: Uint8Array[];
  requests: number;
  rejected: number;
}

/**
 * A synchronous broadcast: every publication reaches every other member unless `drop(from, to, n)` says so,
 * n counting the publications of `from` from 0.
 */
class Net {
  readonly members: Member[];
  now = 1_000_000;
  private queue: { to: number; bytes: Uint8Array }[] = [];
  private readonly published: number[] = [];
  dropped = 0;

  constructor(
    keys: readonly (Uint8Array | undefined)[],
    private readonly drop: (from: number, to: number, n: number) => boolean = () => false,
  ) {
    const verify = cachedVerifier();
    this.members = keys.map((key, i) => ({
      engine: new ChannelEngine({
        channelId: CHANNEL,
        identity: identity(300 + i),
        random: prng(i + 7),
        now: this.now,
        verifySignature: verify,
      }),
      pipeline: new ContentPipeline({
        segmentation: { segmentSize: 64 * 1024 },
        channelId: CHANNEL,
        ...(key === undefined ? {} : { cipher: aesGcm(key) }),
      }),
      payloads: [],
      requests: 0,
      rejected: 0,
    }));
  }

  send(i: number, payload: Uint8Array): void {
    const m = this.members[i] as Member;
    for (const content of m.pipeline.split(payload)) this.handle(i, m.engine.send(content, this.now));
    this.flush();
  }

  run(untilMs: number): void {
    const end = this.now + untilMs;
    for (;;) {
      const next = Math.min(...this.members.map((m) => m.engine.nextDeadline() ?? Number.POSITIVE_INFINITY));
      if (next > end) break;
      this.now = Math.max(this.now, next);
      this.members.forEach((m, i) => {
        if ((m.engine.nextDeadline() ?? Number.POSITIVE_INFINITY) <= this.now) this.handle(i, m.engine.tick(this.now));
      });
      this.flush();
    }
    this.now = end;
  }

  private flush(): void {
    while (this.queue.length > 0) {
      const { to, bytes } = this.queue.shift() as { to: number; bytes: Uint8Array };
      const m = this.members[to] as Member;
      const opened = m.pipeline.open(bytes);
      if (opened !== undefined) this.handle(to, m.engine.receive(opened, this.now), opened);
    }
  }

  private handle(i: number, step: Step, received?: Uint8Array): void {
    const m = this.members[i] as Member;
    for (const out of step.outgoing) {
      m.requests += out.message.repairRequest.length + out.message.sequenceRepairRequest.length;
      const sealed = m.pipeline.seal(out.bytes);
      const n = this.published[i] ?? 0;
      this.published[i] = n + 1;
      this.members.forEach((_, to) => {
        if (to === i) return;
        if (this.drop(i, to, n)) this.dropped++;
        else this.queue.push({ to, bytes: sealed });
      });
    }
    for (const e of step.events) {
      if (e.type === "rejected") m.rejected++;
      if (e.type === "accepted" && received !== undefined) {
        const w = decodeMessage(received);
        const history = w.causalHistory.map((h) => h.messageId);
        const content = w.content ?? new Uint8Array();
        const inbound = m.pipeline.accepted(e.senderId, e.sequence, content, history, this.now, w.lamportTimestamp);
        if (inbound.kind === "payload") m.payloads.push(inbound.payload);
        if (inbound.kind === "payload" || inbound.kind === "pending") this.advise(i, inbound.forgo);
      }
      if (e.type === "missing") this.advise(i, m.pipeline.missing(e.ref, this.now));
    }
  }

  private advise(i: number, f: Forgo | undefined): void {
    if (f === undefined) return;
    const engine = (this.members[i] as Member).engine;
    engine.holdRepair(f.sender as SenderId, f.hold, f.until, f.holdIds);
    if (f.sequences.length > 0 || f.ids.length > 0)
      this.handle(i, engine.forgo(f.sender as SenderId, f.sequences, this.now, f.ids));
  }
}

const payload = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + (i >> 9)) & 255);

describe("content pipeline", () => {
  test("a 600 KB payload crosses as 10 data + 2 parity segments and is delivered once, whole", () => {
    const net = new Net([undefined, undefined, undefined]);
    net.send(0, new TextEncoder().encode("hello"));
    const big = payload(600_000);
    net.send(0, big);
    net.run(60_000);
    for (const m of net.members.slice(1)) {
      assert.deepEqual(
        m.payloads.map((p) => p.length),
        [5, 600_000],
      );
      assert.deepEqual(m.payloads[1], big);
    }
  });

  test("a member that lost two segments rebuilds from parity and asks for nothing; the gaps close unasked", () => {
    // Publication 1 and 2 of member 0 (after its hello, publication 0) are lost on the way to member 1.
    const net = new Net(
      [undefined, undefined, undefined],
      (from, to, n) => from === 0 && to === 1 && (n === 2 || n === 5),
    );
    net.send(0, new TextEncoder().encode("hello"));
    const big = payload(600_000);
    net.send(0, big);
    net.run(3_600_000);
    const m1 = net.members[1] as Member;
    assert.equal(net.dropped, 2);
    assert.deepEqual(m1.payloads[1], big, "reassembled with parity");
    assert.equal(m1.requests, 0, "asked for nothing");
    assert.equal(m1.engine.missingCount(), 0, "and misses nothing");
  });

  test("three segments lost, two parity: one is kept for repair, held until the set's tail is in; the rest never asked", () => {
    // Publications 2, 3 and 4 of member 0 (data segments 1 to 3) are lost on the way to member 1.
    const net = new Net([undefined, undefined, undefined], (from, to, n) => from === 0 && to === 1 && n >= 2 && n <= 4);
    net.send(0, new TextEncoder().encode("hello"));
    net.send(0, payload(600_000));
    const m1 = net.members[1] as Member;
    assert.equal(m1.engine.missingCount(), 1, "two of the three gaps are given up at once");
    const held = m1.engine.owner.fetchable(net.now);
    assert.deepEqual(held.refs, [], "nothing to fetch from the owner while the hold lasts");
    assert.equal(held.heldUntil, net.now + 2_000);
    const due = m1.engine.owner.fetchable(held.heldUntil as number);
    assert.deepEqual(
      due.refs.map((r) => r.sequence),
      [3],
      "then the lowest one it needs (data segment 1, after the hello at 1)",
    );
    net.run(3_600_000);
    assert.equal(m1.payloads.length, 2);
    assert.equal(m1.requests, 1, "asked for that one only");
  });

  test("a history naming a segment the reassembled set did without opens no gap (its id is worked out)", () => {
    // Both parity segments (publications 11 and 12) are lost on the way to member 1: all data arrived.
    const net = new Net(
      [undefined, undefined, undefined],
      (from, to, n) => from === 0 && to === 1 && n >= 11 && n <= 12,
    );
    net.send(0, new TextEncoder().encode("hello"));
    net.send(0, payload(600_000));
    // Member 0's next message names its latest messages, the parity segments, in its causal history.
    net.send(0, new TextEncoder().encode("after"));
    const m1 = net.members[1] as Member;
    assert.deepEqual(
      m1.payloads.map((p) => p.length),
      [5, 600_000, 5],
    );
    assert.equal(m1.engine.missingCount(), 0, "the named parity segments are closed, not missing");
    net.run(3_600_000);
    assert.equal(m1.requests, 0, "asked for nothing");
  });

  test("AES-GCM per message: members with the key deliver everything; one without delivers nothing and breaks nothing", () => {
    const key = new Uint8Array(randomBytes(32));
    const other = new Uint8Array(randomBytes(32));
    const net = new Net([key, key, key, other]);
    const big = payload(300_000);
    net.send(0, big);
    net.send(3, new TextEncoder().encode("from outside"));
    net.send(1, new TextEncoder().encode("chat"));
    net.run(3_600_000);
    const [, bob, carol, dave] = net.members as [Member, Member, Member, Member];
    for (const m of [bob, carol]) {
      assert.ok(
        m.payloads.some((p) => Buffer.compare(p, big) === 0),
        "the large payload arrives sealed and opens",
      );
      assert.ok(
        !m.payloads.some((p) => new TextDecoder().decode(p) === "from outside"),
        "the outsider's message does not open",
      );
      assert.equal(m.rejected, 0, "nothing reached the engine that it had to refuse");
      assert.equal(m.engine.missingCount(), 0);
    }
    assert.ok(carol.payloads.some((p) => new TextDecoder().decode(p) === "chat"));
    assert.equal(dave.payloads.length, 0, "without the key nothing is delivered");
    assert.ok(dave.pipeline.undecryptable > 0);
    assert.ok(bob.pipeline.undecryptable > 0, "the outsider's traffic is counted and dropped");
  });
});
