// Synthetic Chorus channel traffic: valid, signed (or cheaply pseudo-signed) content messages from many
// senders, in the order a lossless channel would deliver them. Used to grow an engine's log to a
// given size quickly and to feed it fresh messages while it is being timed.
import { sha256 } from "@noble/hashes/sha2.js";
import {
  buildFilter,
  channelSalt,
  computeMessageId,
  type Identity,
  identityFromSecretKey,
  type MessageId,
  signEncoding,
} from "../../src/core/index.js";
import { Mulberry32 } from "../../src/core/prng.js";
import {
  type AckSummary,
  appendSignature,
  encodeUnsigned,
  type ReceivedUpTo,
  SIGNATURE_BYTES,
  type WireMessage,
} from "../../src/wire/index.js";

export const CHANNEL = "bench/general";
const FILTER_BYTES = 128;
const HASH_COUNT = 7;
const MARKS = 6;
const FILTER_IDS = Math.floor((FILTER_BYTES * 8) / 10);
const ZERO_SIGNATURE = new Uint8Array(SIGNATURE_BYTES);

export function benchIdentity(label: string): Identity {
  return identityFromSecretKey(sha256(new TextEncoder().encode(`chorus-bench/${label}`)));
}

interface Sent {
  readonly id: MessageId;
  readonly sender: number;
}

/**
 * Members of one channel sending content messages, Zipf-distributed (a few members write most of the
 * messages, as in real channels). Each message carries what a Chorus sender
 * would: a 2-entry causal history, and an ack summary of 6 received-up-to marks plus a 128-byte salted
 * filter (the ack budget of the defaults). `observe` records messages the member under test sent, so
 * later traffic names them in causal histories and marks, as a real channel would.
 */
export class ChorusTraffic {
  readonly identities: Identity[];
  private readonly prefixes: Uint8Array[];
  private readonly seqs: number[];
  private readonly recent: Sent[] = [];
  /** Sender indices, most recently heard last; index -1 is the member under test. */
  private markOrder: number[] = [];
  private lamport = 0n;
  private readonly rng: Mulberry32;
  private readonly pickSender: () => number;
  private readonly salt = channelSalt(CHANNEL);
  private ownPrefix: Uint8Array | undefined;
  private ownSeq = 0;

  constructor(
    readonly senders: number,
    seed = 1,
  ) {
    this.identities = Array.from({ length: senders }, (_, i) => benchIdentity(`sender-${i}`));
    this.prefixes = this.identities.map((id) => id.publicKey.subarray(0, 8));
    this.seqs = new Array(senders).fill(0);
    this.rng = new Mulberry32(seed);
    this.pickSender = this.rng.zipf(senders);
  }

  /** The member under test sent `id` with sequence `seq`. */
  observe(id: MessageId, senderId: string, seq: number, lamport: bigint): void {
    this.ownPrefix ??= hexPrefix(senderId);
    this.ownSeq = seq;
    if (lamport > this.lamport) this.lamport = lamport;
    this.push({ id, sender: -1 });
  }

  /**
   * The next message of the channel. `signed: false` writes a zero signature (for building large logs
   * with signature checks switched off); `realFilter: false` writes a random half-full filter instead
   * of hashing the recent ids (same size, same cost for the receiver, far cheaper to generate).
   */
  next(now: number, opts: { signed: boolean; realFilter: boolean }): { bytes: Uint8Array; message: WireMessage } {
    const sender = this.pickSender();
    const identity = this.identities[sender]!;
    const sequence = ++this.seqs[sender]!;
    const clock = BigInt(Math.floor(now));
    this.lamport = this.lamport + 1n > clock ? this.lamport + 1n : clock;
    const content = new TextEncoder().encode(`message ${sequence} from member ${sender}: hello, channel`);
    const messageId = computeMessageId({
      channelId: CHANNEL,
      senderId: identity.senderId,
      kind: "content",
      sequence,
      lamportTimestamp: this.lamport,
      content,
    });
    const base: WireMessage = {
      senderId: identity.senderId,
      messageId,
      channelId: CHANNEL,
      lamportTimestamp: this.lamport,
      causalHistory: this.recent.slice(-2).map((s) => ({ messageId: s.id })),
      repairRequest: [],
      sequenceRepairRequest: [],
      content,
      kind: "content",
      sequence,
      ack: this.summary(sender, opts.realFilter),
    };
    const unsigned = encodeUnsigned(base);
    const signature = opts.signed ? signEncoding(unsigned, identity.secretKey) : ZERO_SIGNATURE;
    this.push({ id: messageId, sender });
    const message: WireMessage = { ...base, signature };
    return { bytes: appendSignature(unsigned, signature), message };
  }

  private push(sent: Sent): void {
    this.recent.push(sent);
    if (this.recent.length > 4 * FILTER_IDS) this.recent.splice(0, this.recent.length - 2 * FILTER_IDS);
    const i = this.markOrder.indexOf(sent.sender);
    if (i >= 0) this.markOrder.splice(i, 1);
    this.markOrder.push(sent.sender);
    if (this.markOrder.length > 2 * MARKS) this.markOrder.shift();
  }

  private summary(author: number, realFilter: boolean): AckSummary {
    const marks: ReceivedUpTo[] = [];
    const marked = new Set<number>();
    for (let i = this.markOrder.length - 1; i >= 0 && marks.length < MARKS; i--) {
      const s = this.markOrder[i]!;
      if (s === author) continue;
      if (s === -1) {
        if (this.ownPrefix === undefined || this.ownSeq === 0) continue;
        marks.push({ senderPrefix: this.ownPrefix, sequence: this.ownSeq });
      } else {
        marks.push({ senderPrefix: this.prefixes[s]!, sequence: this.seqs[s]! });
      }
      marked.add(s);
    }
    const nonce = this.rng.u64();
    let filter: Uint8Array;
    if (realFilter) {
      const ids: string[] = [];
      for (let i = this.recent.length - 1; i >= 0 && ids.length < FILTER_IDS; i--) {
        const r = this.recent[i]!;
        if (!marked.has(r.sender)) ids.push(r.id);
      }
      filter = buildFilter(this.salt, nonce, ids, FILTER_BYTES, HASH_COUNT);
    } else {
      filter = new Uint8Array(FILTER_BYTES);
      for (let i = 0; i < FILTER_BYTES; i++) filter[i] = this.rng.int(256) & this.rng.int(256) & 0xff;
      // Two random bytes ANDed set a quarter of the bits; OR in another quarter for about half.
      for (let i = 0; i < FILTER_BYTES; i++) filter[i]! |= this.rng.int(256) & this.rng.int(256);
    }
    return { nonce, filter, hashCount: HASH_COUNT, marks };
  }
}

function hexPrefix(senderId: string): Uint8Array {
  const out = new Uint8Array(8);
  for (let i = 0; i < 8; i++) out[i] = Number.parseInt(senderId.slice(i * 2, i * 2 + 2), 16);
  return out;
}
