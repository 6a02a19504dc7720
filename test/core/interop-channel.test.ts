// A channel where Chorus members (interop on) and @waku/sds 0.0.8 members talk: both sides deliver each
// other's messages and read each other's causal histories as acknowledgements.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Message, MessageChannel, MessageChannelEvent } from "@waku/sds";
import { ChannelEngine, type EngineEvent, identityFromSecretKey } from "../../src/index.js";

const CHANNEL = "mixed-channel";
const text = (s: string) => new TextEncoder().encode(s);

class SdsMember {
  readonly channel = new MessageChannel(CHANNEL, "sds-member", { causalHistorySize: 3 });
  readonly delivered: string[] = [];
  readonly acknowledged: string[] = [];
  constructor() {
    this.channel.addEventListener(MessageChannelEvent.InMessageDelivered, (e) =>
      this.delivered.push((e as CustomEvent<string>).detail),
    );
    this.channel.addEventListener(MessageChannelEvent.OutMessageAcknowledged, (e) =>
      this.acknowledged.push((e as CustomEvent<string>).detail),
    );
  }
  async send(content: string): Promise<{ id: string; bytes: Uint8Array }> {
    let sent: Message | undefined;
    this.channel.pushOutgoingMessage(text(content), async (m) => {
      sent = m;
      return { success: true };
    });
    await this.channel.processTasks();
    assert.ok(sent, "SDS produced no message");
    return { id: sent.messageId, bytes: sent.encode() };
  }
  async receive(bytes: Uint8Array): Promise<void> {
    const m = (await import("@waku/sds")).Message.decode(bytes);
    assert.ok(m, "SDS could not decode a Chorus message");
    this.channel.pushIncomingMessage(m, undefined);
    await this.channel.processTasks();
  }
}

function chorusMember(seed: number): ChannelEngine {
  let s = seed;
  return new ChannelEngine({
    channelId: CHANNEL,
    identity: identityFromSecretKey(new Uint8Array(32).fill(seed)),
    random: () => {
      s = (s * 16807) % 2147483647;
      return s / 2147483647;
    },
    now: Date.now() - 60_000,
    params: { interop: true, joinGraceMs: 0 },
  });
}

const deliveredIds = (events: readonly EngineEvent[]) =>
  events.flatMap((e) => (e.type === "delivered" ? [e.message.messageId as string] : []));

test("Chorus and @waku/sds members deliver each other's messages and acknowledge through causal history", async () => {
  const sds = new SdsMember();
  const alice = chorusMember(3);
  const bob = chorusMember(4);

  // SDS speaks first; both Chorus members deliver its unsigned message in interop mode.
  const first = await sds.send("hello from sds");
  for (const engine of [alice, bob]) {
    const step = engine.receive(first.bytes, Date.now());
    assert.deepEqual(deliveredIds(step.events), [first.id]);
  }

  // Alice answers; her causal history names the SDS message, so SDS counts it acknowledged.
  const reply = alice.send(text("hello from chorus"), Date.now());
  const replyBytes = reply.outgoing[0]!.bytes;
  await sds.receive(replyBytes);
  assert.ok(sds.delivered.includes(reply.messageId), "SDS did not deliver the Chorus message");
  assert.ok(sds.acknowledged.includes(first.id), "SDS did not read Chorus's causal history as an ack");
  const bobStep = bob.receive(replyBytes, Date.now());
  assert.deepEqual(deliveredIds(bobStep.events), [reply.messageId]);

  // SDS's next message names Alice's in its causal history: Alice learns SDS holds it.
  const second = await sds.send("got it");
  const aliceStep = alice.receive(second.bytes, Date.now());
  assert.deepEqual(deliveredIds(aliceStep.events), [second.id]);
  const status = alice.status(reply.messageId);
  assert.ok(status?.own);
  assert.ok(
    status.receipts.ackedBy.includes("sds-member" as never),
    "Chorus did not read SDS's causal history as an ack",
  );

  // Every member ends with the same three messages.
  bob.receive(second.bytes, Date.now());
  const expected = [first.id, reply.messageId, second.id].sort();
  assert.deepEqual(
    alice
      .deliveredLog()
      .map((m) => m.messageId)
      .sort(),
    expected,
  );
  assert.deepEqual(
    bob
      .deliveredLog()
      .map((m) => m.messageId)
      .sort(),
    expected,
  );
});

test("with interop off, unsigned SDS messages are rejected with a reason", async () => {
  const sds = new SdsMember();
  const engine = new ChannelEngine({
    channelId: CHANNEL,
    identity: identityFromSecretKey(new Uint8Array(32).fill(9)),
    random: () => 0.5,
    now: Date.now(),
  });
  const { bytes } = await sds.send("hi");
  const step = engine.receive(bytes, Date.now());
  assert.equal(step.events.length, 1);
  const event = step.events[0]!;
  assert.equal(event.type, "rejected");
  assert.match(event.type === "rejected" ? event.reason : "", /interop is off/);
  assert.equal(engine.deliveredLog().length, 0);
});
