// A scenario of spec/vectors/scenarios.json for receipts in a quiet channel (spec sections 12 and 13): a message that
// one filter hit from every member vouches for is resent, and a copy of a message already held owes a sync.
import { buildFilter, channelSalt } from "../src/core/index.js";
import { craft } from "./vector-rejections.js";
import { CHANNEL, identityOf, member, Recorder, T0 } from "./vector-scenarios.js";

export function quietReceipts(): Record<string, unknown> {
  const r = new Recorder(
    "receipts in a quiet channel",
    "Bob's and carol's syncs never reach alice; dave's one summary covers her message by filter only. Alice resends " +
      "it unheard at resendAfterMs; the copies find bob's and carol's syncs armed and owe nothing more. Once dave's " +
      "hit is in, every member alice heard from that did not confirm the message has hit it once: she keeps resending " +
      "it (at the old rule's silence). The last copy reaches bob after his sync went out: a copy of a message he " +
      "holds owes a sync, syncIntervalMs after his last, and its mark confirms. Carol, whose control budget (2) is " +
      "half spent, owes none.",
    CHANNEL,
    { syncJitter: 0 },
    [member("alice", 111), member("bob", 112), member("carol", 113, { params: { controlBudgetPer600s: 2 } })],
  );
  const t = T0 + 1_000;
  const a1 = r.send(t, "alice", "anyone there?");
  const a1Id = r.idOf(a1);
  r.receive(t + 50, "bob", a1);
  r.receive(t + 50, "carol", a1);
  r.tick(t + 30_000, "alice", "unheard: resent at resendAfterMs");
  r.receive(t + 30_050, "bob", a1, "a copy while a sync is armed owes nothing more");
  const nonce = 5n;
  const filter = buildFilter(channelSalt(CHANNEL), nonce, [a1Id], 16, 11);
  const dave = identityOf("dave").senderId;
  const summary = { nonce, filter, hashCount: 11, marks: [] };
  r.inject(
    "dave.1",
    "dave",
    craft(
      { senderId: dave, channelId: CHANNEL, kind: "sync", lamportTimestamp: BigInt(t + 60_000), ack: summary },
      "dave",
    ),
  );
  r.receive(t + 60_000, "alice", "dave.1", "one filter hit: possibly held by dave, the only member alice heard from");
  r.tick(t + 90_000, "alice", "one hit from every member that did not confirm it: resent");
  r.receive(t + 90_050, "carol", a1, "carol's sync is armed");
  r.tick(t + 120_050, "bob", "syncIntervalMs after bob accepted alice.1 (lost on its way to alice)");
  r.tick(t + 120_050, "carol", "lost too");
  r.tick(t + 209_999, "alice", "one ms before the third resend");
  r.tick(t + 210_000, "alice", "still only possibly held: resent a third and last time");
  r.receive(t + 210_050, "bob", a1, "a copy of a message bob holds, his sync sent: a sync is owed");
  r.receive(t + 210_050, "carol", a1, "carol spent half her control budget: no sync owed");
  r.tick(t + 330_049, "bob", "one ms before bob's sync");
  const [b2] = r.tick(t + 330_050, "bob", "syncIntervalMs after bob's last sync");
  r.tick(t + 330_050, "carol", "nothing owed");
  r.receive(t + 330_100, "alice", b2!, "bob's mark confirms");
  r.tick(t + 900_000, "alice", "no fourth resend");
  return r.toJson();
}
