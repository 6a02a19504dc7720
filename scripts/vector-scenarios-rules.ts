// Scenarios of spec/vectors/scenarios.json written to pin participant rules and default parameters (spec
// sections 7 to 13 and 18): each step sits where a rule or a default decides what happens, often one ms before
// and at a deadline, so that an implementation that breaks the rule, or uses another default, fails the trace.
// test/spec/mutations.test.ts proves it for the reference: every mutant fails some scenario.
import { hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { buildFilter, channelSalt } from "../src/core/index.js";
import { decodeMessage } from "../src/wire/index.js";
import { craft } from "./vector-rejections.js";
import { CHANNEL, identityOf, member, Recorder, T0 } from "./vector-scenarios.js";

/** Default parameters except a sync timer without jitter (a random spread no trace can pin). */
const DEFAULTS = { syncJitter: 0 };

export function timersAtDefaults(): Record<string, unknown> {
  const r = new Recorder(
    "timers at the defaults",
    "Alice and dave send three messages each after the join grace; bob receives only the third of each and " +
      "carol only alice's third. Nobody answers. Bob's first contact with each sender chases one predecessor, and " +
      "one more when it arrives (the tentative floor); requests by id and by range ride in his control messages, " +
      "retried after repairRetryMs and then twice that; carol waits for bob's request instead of asking; at " +
      "dependencyTimeoutMs the gaps are lost and the run restarts after them. Alice resends her unheard messages " +
      "at resendAfterMs and then with backoff, at most maxResends times. Ticks one ms before each deadline see " +
      "nothing.",
    CHANNEL,
    DEFAULTS,
    [member("alice", 81), member("bob", 82), member("carol", 83), member("dave", 84)],
  );
  const t = T0 + 11_000;
  const a = ["a1", "a2", "a3"].map((text, i) => r.send(t + i * 100, "alice", text));
  const d = ["d1", "d2", "d3"].map((text, i) => r.send(t + 400 + i * 100, "dave", text));
  r.receive(t + 1_000, "bob", a[2]!, "first contact after the grace: floor 1, tentative; alice.1, alice.2 missing");
  r.receive(t + 1_000, "bob", d[2]!);
  r.receive(t + 1_000, "carol", a[2]!);
  r.receive(t + 1_010, "bob", a[1]!, "alice.2 sits on the tentative floor: the floor drops to 0, alice.1 is chased");
  const [request] = r.tick(t + 2_010, "bob", "the requests of both senders, by id and by range");
  r.receive(t + 2_020, "carol", request!, "carol misses alice.1 and 2 too: her own requests wait");
  r.tick(t + 2_020, "carol", "suppressed: nothing to send");
  r.tick(t + 7_009, "bob", "one ms before the first retry");
  r.tick(t + 7_010, "bob", "first retry, repairRetryMs after the first request");
  r.tick(t + 17_009, "bob");
  r.tick(t + 17_010, "bob", "second retry, twice repairRetryMs later");
  r.tick(t + 29_999, "alice", "one ms before the first resend");
  r.tick(t + 30_000, "alice", "alice.1 was heard by nobody: resent at resendAfterMs");
  r.tick(t + 30_200, "alice", "alice.2 and 3");
  r.tick(t + 89_999, "alice");
  r.tick(t + 90_200, "alice", "second resends, resendAfterMs x resendBackoff later");
  r.tick(t + 120_999, "bob", "one ms before the loss deadline");
  r.tick(t + 120_999, "carol", "one ms before carol's sync (owed since alice.3) and her losses");
  r.tick(t + 121_000, "bob", "dependencyTimeoutMs after detection: the ids are lost");
  r.tick(t + 121_000, "carol", "carol's sync, syncIntervalMs after she accepted alice.3; her losses");
  r.tick(t + 121_010, "bob", "alice's sequence 1, detected 10 ms later, is lost: what waited is delivered");
  r.tick(t + 210_200, "alice", "third and last resends");
  r.tick(t + 500_000, "alice", "no fourth resend");
  r.send(t + 500_000, "bob", "after the losses", "bob's marks start after the lost sequence numbers");
  return r.toJson();
}

export function receiptsByEvidence(): Record<string, unknown> {
  const r = new Recorder(
    "receipts by each kind of evidence",
    "Bob writes marks only (no causal history, no filter), carol causal histories only (no marks, no filter): " +
      "each confirms alice's message by one kind of evidence alone. A message stamped ahead of the local clock " +
      "raises the receiver's lamport clock on delivery. Dave's forged syncs carry a filter with every bit set, " +
      "and a filter naming alice's message but stamped no later than it: neither counts. Erin hears bob's mark " +
      "for alice before she hears from alice, sets it aside, and opens the gap once alice turns up. Bob's mark " +
      "that stops short of alice's second message, written well after it, brings its resend forward.",
    CHANNEL,
    DEFAULTS,
    [
      member("alice", 91),
      member("bob", 92, { params: { causalHistorySize: 0, ackMaxFilterBytes: 0 } }),
      member("carol", 93, { params: { ackMaxMarks: 0, ackMaxFilterBytes: 0 } }),
      member("dave", 94),
      member("erin", 95),
    ],
  );
  const t = T0 + 1_000;
  const a1 = r.send(t, "alice", "first");
  const a2 = r.send(t + 100, "alice", "second");
  const a3 = r.send(t + 110, "alice", "third");
  r.receive(t + 150, "bob", a1);
  r.receive(t + 150, "carol", a1);
  for (const label of [a1, a2, a3]) r.receive(t + 150, "dave", label);
  const a1Id = r.idOf(a1);
  const a1Lamport = decodeMessage(hexToBytes(r.messages[a1]!.hex)).lamportTimestamp!;
  const dave = identityOf("dave").senderId;
  const future = craft(
    {
      senderId: identityOf("frank").senderId,
      channelId: CHANNEL,
      kind: "content",
      sequence: 1,
      lamportTimestamp: BigInt(t + 200 + 200_000),
      content: utf8ToBytes("from a fast clock"),
    },
    "frank",
  );
  r.inject("frank.1", "frank", future);
  r.receive(t + 200, "bob", "frank.1", "stamped 200 s ahead, within maxFutureSkewMs: delivered");
  const b1 = r.send(t + 20_000, "bob", "marks only", "lamport follows frank.1's; the mark stops at alice 1");
  const c1 = r.send(t + 20_000, "carol", "history only");
  const d1 = r.send(t + 20_000, "dave", "a mark for alice 1..3");
  r.receive(t + 20_050, "alice", b1, "the mark confirms alice.1; alice.2 is lacked by an online member");
  r.receive(t + 20_050, "alice", c1, "the causal history confirms alice.1");
  r.tick(t + 21_050, "alice", "the lacked alice.2 is resent early (at most repairResponseDelayMs)");
  const sync = (nonce: bigint, lamport: bigint, filter: Uint8Array, hashCount: number) =>
    craft(
      {
        senderId: dave,
        channelId: CHANNEL,
        kind: "sync",
        lamportTimestamp: lamport,
        ack: { nonce, filter, hashCount, marks: [] },
      },
      "dave",
    );
  const full = new Uint8Array(16).fill(0xff);
  const salt = channelSalt(CHANNEL);
  const early = (nonce: bigint) => buildFilter(salt, nonce, [a1Id], 16, 11);
  r.inject("dave.full.1", "dave", sync(1n, BigInt(t + 21_000), full, 1));
  r.inject("dave.full.2", "dave", sync(2n, BigInt(t + 21_001), full, 1));
  r.inject("dave.early.1", "dave", sync(3n, a1Lamport, early(3n), 11));
  r.inject("dave.early.2", "dave", sync(4n, a1Lamport - 1n, early(4n), 11));
  for (const label of ["dave.full.1", "dave.full.2"])
    r.receive(t + 21_100, "alice", label, "a filter over ackMaxFillRatio is ignored");
  for (const label of ["dave.early.1", "dave.early.2"])
    r.receive(t + 21_100, "alice", label, "a filter stamped no later than alice.1 says nothing about it");
  r.receive(t + 21_200, "erin", d1, "alice is unknown to erin: the mark alice 1..3 is set aside (ids by history)");
  r.receive(t + 21_300, "erin", a1, "alice turns up: the set-aside mark opens alice 2..3 in one detection");
  r.receive(t + 21_400, "erin", a2);
  r.receive(t + 21_400, "erin", a3);
  r.tick(t + 141_199, "erin", "one ms before erin's sync");
  r.tick(t + 141_200, "erin", "syncIntervalMs after erin accepted dave.1");
  return r.toJson();
}

export function pendingDeadline(): Record<string, unknown> {
  const r = new Recorder(
    "a pending message delivered at its deadline",
    "Bob's missing set holds one entry (maxMissing 1). Alice's third message, his first contact after the join " +
      "grace, waits for alice.1 (registered missing) and for alice's sequence 2, which the full set refused: " +
      "nothing will ever give that up. When alice.1 is lost, alice.3 still waits; it is delivered without its " +
      "predecessor at receivedAt + 2 x dependencyTimeoutMs.",
    CHANNEL,
    DEFAULTS,
    [member("alice", 121), member("bob", 122, { params: { maxMissing: 1 } })],
  );
  const t = T0 + 11_000;
  r.send(t, "alice", "one");
  r.send(t + 10, "alice", "two");
  const a3 = r.send(t + 20, "alice", "three");
  r.receive(t + 100, "bob", a3);
  r.tick(t + 120_100, "bob", "alice.1 is lost; alice.3 still waits for sequence 2");
  r.tick(t + 240_099, "bob", "one ms before the pending deadline");
  r.tick(t + 240_100, "bob", "the deadline: alice.3 is delivered");
  return r.toJson();
}

export function fullFilter(): Record<string, unknown> {
  const r = new Recorder(
    "a long wait fills the filter",
    "Bob misses alice's first message and receives the next 39, which all wait. His request carries a filter " +
      "of every id he holds, at ackFilterBitsPerId bits each up to ackMaxFilterBytes; his second request, under " +
      "another nonce, confirms alice's older messages too (ackFilterCheckDepth of them).",
    CHANNEL,
    DEFAULTS,
    [member("alice", 131), member("bob", 132)],
  );
  const t = T0 + 1_000;
  const labels: string[] = [];
  for (let i = 1; i <= 40; i++) labels.push(r.send(t + i * 10, "alice", `message ${i}`));
  for (const label of labels.slice(1)) r.receive(t + 500, "bob", label);
  const [first] = r.tick(t + 1_500, "bob", "the request, with a filter of 39 ids");
  r.receive(t + 1_550, "alice", first!, "one hit each");
  const [second] = r.tick(t + 6_500, "bob", "the retry, another nonce");
  r.receive(t + 6_550, "alice", second!, "second hits confirm");
  return r.toJson();
}

export function ownerAnswerLost(): Record<string, unknown> {
  const r = new Recorder(
    "the owner's answer is lost; a backup answers",
    "The owner answers bob's request at once, but its copy never reaches bob. Carol, who heard the owner " +
      "recently and holds the message, stands by (backupResponders / members is at least 1 here) and answers " +
      "after the preferred responder's grace: not within repairResponseDelayMs, and within it plus " +
      "preferredResponderGraceMs.",
    CHANNEL,
    DEFAULTS,
    [
      member("alice", 101, { preferredResponders: ["owner"] }),
      member("bob", 102, { preferredResponders: ["owner"] }),
      member("carol", 103, { preferredResponders: ["owner"] }),
      member("owner", 104, { preferredResponders: ["owner"] }),
    ],
  );
  const t = T0 + 1_000;
  const o1 = r.send(t, "owner", "welcome");
  r.receive(t + 50, "carol", o1, "carol hears the owner: it is alive");
  const a1 = r.send(t + 100, "alice", "one");
  const a2 = r.send(t + 200, "alice", "two");
  r.receive(t + 250, "carol", a1);
  r.receive(t + 250, "carol", a2);
  r.receive(t + 250, "owner", a1);
  r.receive(t + 250, "owner", a2);
  r.receive(t + 250, "bob", a2, "bob misses alice.1");
  const [request] = r.tick(t + 1_250, "bob");
  r.receive(t + 1_300, "owner", request!, "the owner answers at once; the answer is lost on its way to bob");
  r.receive(t + 1_300, "carol", request!);
  r.tick(t + 2_300, "carol", "within repairResponseDelayMs: carol still defers to the owner");
  r.tick(t + 4_300, "carol", "after the grace: carol answers");
  return r.toJson();
}

export function marksAndBacklog(): Record<string, unknown> {
  const r = new Recorder(
    "the announcement queue, spare slots and the backlog sync",
    "Bob reads four senders and announces with one mark per summary (ackMaxMarks 1): the queue serves the " +
      "oldest unannounced progress first, then the repeats; more unannounced progress than one summary holds " +
      "owes a sync after backlogSyncIntervalMs; once everything was announced twice, the spare slot carries the " +
      "most recent sender. Dave's summary holds marks for three senders in queue order and a filter of the ids " +
      "no mark covers.",
    CHANNEL,
    DEFAULTS,
    [
      member("alice", 111),
      member("bob", 112, { params: { ackMaxMarks: 1 } }),
      member("carol", 113),
      member("dave", 114),
      member("erin", 115),
    ],
  );
  const t = T0 + 1_000;
  const a1 = r.send(t, "alice", "a");
  const c1 = r.send(t + 10, "carol", "c");
  const e1 = r.send(t + 20, "erin", "e");
  const e2 = r.send(t + 30, "erin", "e2");
  const e4 = r.send(t + 40, "erin", "e3");
  for (const label of [a1, c1, e1]) r.receive(t + 100, "bob", label);
  for (const label of [a1, c1, e1, e4]) r.receive(t + 100, "dave", label, label === e4 ? "erin.3 waits" : undefined);
  r.send(t + 1_000, "bob", "b1", "one mark: alice's, the oldest unannounced");
  r.tick(t + 30_999, "bob", "one ms before the backlog sync");
  r.tick(t + 31_000, "bob", "backlogSyncIntervalMs after the send: carol's mark");
  r.send(t + 32_000, "bob", "b2", "erin's mark");
  r.send(t + 33_000, "bob", "b3", "the repeats: alice's mark again");
  r.send(t + 34_000, "bob", "b4", "carol's repeat");
  r.send(t + 35_000, "bob", "b5", "erin's repeat");
  r.send(t + 36_000, "bob", "b6", "nothing queued: the spare slot names the most recent sender");
  r.send(t + 36_000, "dave", "d1", "marks for alice, carol and erin 1..1; erin.3, pending, in the filter");
  r.receive(t + 36_100, "dave", e2, "erin.2 releases erin.3");
  r.send(t + 36_200, "dave", "d2");
  return r.toJson();
}
