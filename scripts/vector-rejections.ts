// The scenario of spec/vectors/scenarios.json that reaches every rejection code of the event model (spec
// Appendix A.2): each receiver is set up so that exactly one check of spec section 9.3 refuses each input.
// Crafted inputs are signed with the members' fixed keys, so they are as deterministic as the rest of the trace.
import { hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { computeMessageId, signEncoding } from "../src/core/index.js";
import { appendSignature, encodeUnsigned, type WireMessage } from "../src/wire/index.js";
import { BASE, CHANNEL, identityOf, member, Recorder, T0 } from "./vector-scenarios.js";

type Fields = Omit<WireMessage, "messageId" | "causalHistory" | "repairRequest" | "sequenceRepairRequest"> &
  Partial<Pick<WireMessage, "messageId" | "sequenceRepairRequest">>;

/** Encodes `fields` with the id its fields give (unless one is set), signed with `signer`'s key when named. */
export function craft(fields: Fields, signer: string | undefined): Uint8Array {
  const message: WireMessage = {
    causalHistory: [],
    repairRequest: [],
    sequenceRepairRequest: [],
    ...fields,
    messageId:
      fields.messageId ??
      computeMessageId({
        channelId: fields.channelId,
        senderId: fields.senderId,
        kind: fields.kind ?? "content",
        sequence: fields.sequence ?? 0,
        lamportTimestamp: fields.lamportTimestamp ?? 0n,
        content: fields.content ?? new Uint8Array(),
      }),
  };
  const unsigned = encodeUnsigned(message);
  if (signer === undefined) return unsigned;
  return appendSignature(unsigned, signEncoding(unsigned, identityOf(signer).secretKey));
}

export function rejectionCodes(): Record<string, unknown> {
  const r = new Recorder(
    "every rejection code",
    "Each receiver is configured so that one check of section 9.3 refuses each input, and the event names it: " +
      "bob keeps a member list; carol runs in interop mode; dave has default parameters; erin a quota of one " +
      "message; frank a pending buffer of one message; grace one pending message per sender. Refused messages " +
      "change nothing: later inputs behave as if they had never arrived.",
    CHANNEL,
    BASE,
    [
      member("alice", 61),
      member("bob", 62, { memberList: ["alice", "bob", "carol"] }),
      member("carol", 63, { params: { interop: true } }),
      member("dave", 64),
      member("erin", 65, { params: { senderQuotaPer600s: 1, senderQuotaBurst: 1 } }),
      member("frank", 66, { params: { maxPending: 1 } }),
      member("grace", 67, { params: { maxPendingPerSender: 1 } }),
    ],
  );
  const t = T0 + 1_000;
  const alice = identityOf("alice").senderId;
  const a1 = r.send(t, "alice", "one");
  const a2 = r.send(t + 100, "alice", "two");
  const a3 = r.send(t + 200, "alice", "three");
  const lamport = BigInt(t + 300);
  const content = (senderId: string, extra: Partial<Fields> = {}): Fields => ({
    senderId,
    channelId: CHANNEL,
    kind: "content",
    sequence: 7,
    lamportTimestamp: lamport,
    content: utf8ToBytes("crafted"),
    ...extra,
  });
  const sds = (extra: Partial<Fields>): Fields => ({
    senderId: "sds-peer",
    channelId: CHANNEL,
    lamportTimestamp: lamport,
    content: utf8ToBytes("from SDS"),
    ...extra,
  });
  const a1bytes = hexToBytes(r.messages[a1]!.hex);
  const badSig = a1bytes.slice();
  badSig[badSig.length - 1]! ^= 0x01;
  const inputs: [string, string, Uint8Array, string][] = [
    ["bob", "garbage.1", Uint8Array.of(0xff, 0xff), "undecodable: a truncated varint"],
    ["bob", "other.1", craft(content(alice, { channelId: "community/other" }), "alice"), "wrong-channel"],
    ["bob", "mallory.1", craft(content(identityOf("mallory").senderId), "mallory"), "not-a-member"],
    ["carol", "sds.1", craft(sds({ senderId: alice }), undefined), "unsigned-claims-chorus-id"],
    ["carol", "sds.2", craft(sds({ sequence: 3 }), undefined), "unsigned-chorus-fields"],
    ["carol", "upper.1", craft(content(alice.toUpperCase()), undefined), "bad-sender-id (upper-case hex)"],
    ["carol", "unsigned.1", a1bytes.subarray(0, a1bytes.length - 67), "missing-signature: alice.1 without field 40"],
    ["carol", "wrongid.1", craft(content(alice, { messageId: "00".repeat(16) }), "alice"), "id-mismatch"],
    [
      "carol",
      "syncseq.1",
      craft({ senderId: alice, channelId: CHANNEL, kind: "sync", sequence: 4, lamportTimestamp: lamport }, "alice"),
      "sync-with-sequence",
    ],
    ["carol", "badsig.1", badSig, "bad-signature: last signature byte flipped"],
    [
      "carol",
      "future.1",
      craft(content(alice, { lamportTimestamp: BigInt(t + 300 + 300_001) }), "alice"),
      "future-timestamp: more than maxFutureSkewMs ahead",
    ],
    ["dave", "sds.3", craft(sds({}), undefined), "unsigned-not-allowed: interop is off"],
  ];
  for (const [who, label, bytes, note] of inputs) {
    r.inject(label, "crafted", bytes);
    r.receive(t + 300, who, label, note);
  }
  const sync = craft({ senderId: alice, channelId: CHANNEL, kind: "sync", lamportTimestamp: lamport + 1n }, "alice");
  r.inject("alice.sync", "alice", sync);
  r.receive(t + 400, "dave", "alice.sync", "a sync is charged one token");
  r.receive(t + 410, "dave", "alice.sync", "replayed-sync: the same lamport as a sync already charged");
  r.receive(t + 500, "erin", a1, "the quota's only token");
  r.receive(t + 510, "erin", a2, "over-quota: nothing left, alice.2 stays unseen");
  r.receive(t + 520, "frank", a2, "waits for alice.1 (named in its causal history)");
  r.receive(t + 530, "frank", a3, "pending-full: the buffer holds one message");
  r.receive(t + 540, "grace", a2, "waits for alice.1");
  r.receive(t + 550, "grace", a3, "sender-pending-full: alice's share is one message");
  r.receive(t + 600, "frank", a1, "alice.1 releases alice.2; alice.3 comes back by repair or resend");
  return r.toJson();
}
