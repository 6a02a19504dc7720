// A scenario of spec/vectors/scenarios.json whose steps list their random draws (spec section 18.1, Appendix B):
// the random delays land at exact times, so the trace pins the parameters that scale them (repairRequestDelayMs,
// syncJitter) and the draw-to-delay mappings of sections 11.3 and 13, besides ownerFetchGraceMs (the owner path
// is a step of its own), ackQuorum (the receipt states of the final state) and the sync owed when a tick
// delivers what a loss released. test/spec/mutations.test.ts shows that each wrong default fails it. Also the
// traces of an equivocation (section 9.6, Appendix A.1): found and published, and a lost publication made good
// by the notice.
import { member, Recorder, T0 } from "./vector-scenarios.js";

const CHANNEL = "community/draws";

/** The time `member` next has something to do, as a whole ms: a tick then fires it, a tick one ms earlier does not. */
function nextDue(r: Recorder, name: string): number {
  const at = r.engines.get(name)!.nextDeadline();
  if (at === undefined) throw new RangeError(`${r.name}: ${name} has nothing due`);
  return Math.ceil(at);
}

/**
 * Seeds whose draws pin something: bob's request-delay draw is above 1 / N (a lower one gives no delay at all)
 * and his second sync-jitter draw is far from 1/2 (which would give no jitter).
 */
export function drawsAndOwnerPath(seeds: readonly [number, number, number] = [6, 26, 8]): Record<string, unknown> {
  const r = new Recorder(
    "random draws as inputs, and the owner path",
    "Every step lists the random values it drew, which a replay must use (Appendix B), so each random delay " +
      "falls at an exact ms and a tick one ms before it sees nothing. Bob misses alice.2: his request goes out " +
      "repairRequestDelayMs x max(0, 1 + ln(u) / ln(N)) after detection. Carol's owner path is up: her request " +
      "for the same gap waits ownerFetchGraceMs longer. Nobody answers; at dependencyTimeoutMs bob gives alice.2 " +
      "up and delivers alice.3 in that tick, which owes a sync, sent syncIntervalMs x (1 + syncJitter x (2u - 1)) " +
      "later. Alice, having heard two members, counts alice.3 as acknowledged by one of them (ackQuorum 0).",
    CHANNEL,
    {},
    [member("alice", seeds[0]), member("bob", seeds[1]), member("carol", seeds[2])],
    true,
  );
  const t = T0 + 11_000;
  const a1 = r.send(t, "alice", "one");
  r.send(t + 100, "alice", "two"); // alice.2 reaches nobody
  const a3 = r.send(t + 200, "alice", "three");
  r.ownerPath(t + 300, "carol", true, "carol's direct path to the owner node is up");
  r.receive(t + 1_000, "bob", a1);
  r.receive(t + 1_000, "bob", a3, "alice.2 is missing: a request-delay draw");
  r.receive(t + 1_000, "carol", a1, "no sync is owed while the owner path is up");
  r.receive(t + 1_000, "carol", a3, "alice.2 is missing: fetched from the owner first");
  const bobAsks = nextDue(r, "bob");
  r.tick(bobAsks - 1, "bob", "one ms before the drawn request delay");
  r.tick(bobAsks, "bob", "the request, at the drawn delay");
  const carolAsks = nextDue(r, "carol");
  r.tick(carolAsks - 1, "carol", "one ms before the drawn delay plus ownerFetchGraceMs");
  const [request] = r.tick(carolAsks, "carol", "carol's request on the topic");
  r.receive(carolAsks + 10, "alice", request!, "carol's mark confirms alice.1; alice schedules an answer");
  r.tick(t + 120_999, "bob", "the retries due so far, in one control message");
  r.tick(t + 121_000, "bob", "dependencyTimeoutMs after detection: alice.2 is lost, alice.3 delivered");
  const bobSyncs = nextDue(r, "bob");
  r.tick(bobSyncs - 1, "bob", "one ms before the jittered sync");
  const [sync] = r.tick(bobSyncs, "bob", "the sync owed for what the loss released");
  r.receive(bobSyncs + 10, "alice", sync!, "bob's summary confirms alice.1 and alice.3");
  return r.toJson();
}

export function equivocationFound(): Record<string, unknown> {
  const r = new Recorder(
    "an equivocation found and published",
    "Alice runs twice on one key (alice-twin): both processes sign sequence 1 with different content. Bob receives " +
      "both versions, delivers each once, reports the equivocation (sender, sequence, both ids sorted) and " +
      "publishes both versions (purpose equivocation). Carol, who held one version, receives the other from bob's " +
      "publication and finds it too; a version she holds already reports nothing.",
    CHANNEL,
    {},
    [member("alice", 21), member("alice-twin", 22), member("bob", 23), member("carol", 24)],
  );
  const t = T0 + 11_000;
  const left = r.send(t, "alice", "left");
  const right = r.send(t + 10, "alice-twin", "right");
  r.receive(t + 100, "bob", right);
  r.receive(t + 100, "carol", left);
  const published = r.receive(t + 200, "bob", left, "the second version of alice's sequence 1: an equivocation");
  for (const label of published) r.receive(t + 300, "carol", label);
  return r.toJson();
}

export function equivocationNotice(): Record<string, unknown> {
  const r = new Recorder(
    "an equivocation publication lost: the notice",
    "Alice and alice-twin sign sequence 1 with different content. Bob gets both and publishes them once, but " +
      "carol, who holds the left version, misses that publication; two messages of carol's then push both versions " +
      "out of bob's last-delivered causal history. Bob's notice (section 9.6) still names both versions in the " +
      "causal history of his next sync, owed syncIntervalMs after he accepted the first version: carol learns the " +
      "right version's id, asks for it by id and receives it from bob, finds the equivocation, publishes both " +
      "versions and starts a notice of her own.",
    CHANNEL,
    { syncJitter: 0 },
    [member("alice", 31), member("alice-twin", 32), member("bob", 33), member("carol", 34)],
  );
  const t = T0 + 11_000;
  const left = r.send(t, "alice", "left");
  const right = r.send(t + 10, "alice-twin", "right");
  r.receive(t + 100, "bob", right);
  r.receive(t + 100, "carol", left);
  r.receive(t + 200, "bob", left, "an equivocation: bob's publication of both versions reaches nobody");
  const c1 = r.send(t + 300, "carol", "one");
  const c2 = r.send(t + 400, "carol", "two");
  r.receive(t + 500, "bob", c1);
  r.receive(t + 500, "bob", c2, "bob's last two deliveries are now carol's; the versions are named by the notice");
  const [sync] = r.tick(t + 120_100, "bob", "the sync owed since t + 100 names both versions after carol's two");
  r.receive(t + 120_200, "carol", sync!, "carol misses the right version: a causal-history gap by id");
  const [request] = r.tick(t + 121_200, "carol", "the request, after at most repairRequestDelayMs");
  r.receive(t + 121_300, "bob", request!, "bob holds the right version: an answer after a suppression delay");
  const [answer] = r.tick(t + 122_300, "bob", "the answer, after at most repairResponseDelayMs");
  r.receive(t + 122_400, "carol", answer!, "the other version of a delivered number: carol finds the equivocation");
  return r.toJson();
}

export function equivocatorOwnProcess(): Record<string, unknown> {
  const r = new Recorder(
    "the equivocator's own process and the version it lacks",
    "Alice and alice-twin sign sequence 1 with different content; bob records both, and his publication of them " +
      "is lost. Bob's next message names both versions. Alice holds the left one and lacks the right one: a gap by " +
      "id, and bob's message waits for it. She asks for it once; bob answers. The answer is a message of her own " +
      "key, which she never takes (section 9.3 step 7), so its gap closes as given up, with no lost event, and bob's " +
      "message is delivered at once; a later mention of the right version opens no gap.",
    CHANNEL,
    { syncJitter: 0 },
    [member("alice", 41), member("alice-twin", 42), member("bob", 43)],
  );
  const t = T0 + 11_000;
  const left = r.send(t, "alice", "left");
  const right = r.send(t + 10, "alice-twin", "right");
  r.receive(t + 100, "bob", right);
  r.receive(t + 200, "bob", left, "an equivocation: bob's publication of both versions reaches nobody");
  const hi = r.send(t + 300, "bob", "hi");
  r.receive(t + 400, "alice", hi, "hi names the right version, which alice lacks: hi waits for it");
  const aliceAsks = nextDue(r, "alice");
  const [request] = r.tick(aliceAsks, "alice", "the request for the right version");
  r.receive(aliceAsks + 10, "bob", request!, "bob holds the right version: an answer at his drawn delay");
  const bobAnswers = nextDue(r, "bob");
  const [answer] = r.tick(bobAnswers, "bob", "the answer");
  r.receive(bobAnswers + 10, "alice", answer!, "her own key's other version: its gap closes, hi is delivered");
  const again = r.send(t + 20_000, "bob", "again");
  r.receive(t + 20_100, "alice", again, "bob's notice still names the right version: no gap, delivered at once");
  return r.toJson();
}
