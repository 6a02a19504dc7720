// Driving @waku/sds 0.0.8's MessageChannel: building its history to a given size and producing the
// messages its peers would send. SDS's API is asynchronous (push, then processTasks) and reads the
// real clock; that is how it is used in js-waku, so that is how it is timed.
import { ContentMessage, type HistoryEntry, Message, MessageChannel } from "@waku/sds";
import { Mulberry32 } from "../../src/core/prng.js";
import { benchIdentity, CHANNEL } from "./chorus-traffic.js";

/** SDS's default causal history length (DEFAULT_CAUSAL_HISTORY_SIZE in message_channel.js). */
export const SDS_CAUSAL_HISTORY = 200;

/**
 * The private state of a MessageChannel this harness reads or fills. `localHistory` is SDS's default
 * MemLocalHistory, whose `items` array is kept sorted by (lamport timestamp, message id).
 */
interface SdsInternals {
  localHistory: { items: ContentMessage[] };
  filter: { insert(id: string): void; toBytes(): Uint8Array };
  outgoingBuffer: unknown[];
  lamportTimestamp: bigint;
}

export function internals(channel: MessageChannel): SdsInternals {
  return channel as unknown as SdsInternals;
}

/**
 * Members of an SDS channel sending content messages in turn, each carrying what SDS sends: the last
 * 200 ids of the log as causal history and the sender's full 18,752-byte bloom filter.
 * Sender ids are the same 64-hex keys as in the Chorus runs, so both sides see the same inputs.
 */
export class SdsTraffic {
  readonly senderIds: string[];
  private readonly log: HistoryEntry[] = [];
  private lamport: bigint;
  private readonly rng: Mulberry32;
  /** A peer's channel, used only for its bloom filter, which holds every id of the log. */
  private readonly peer = new MessageChannel(CHANNEL, "peer");
  private seq = 0;

  constructor(senders: number, startLamport: bigint, seed = 1) {
    this.senderIds = Array.from({ length: senders }, (_, i) => benchIdentity(`sender-${i}`).senderId);
    this.lamport = startLamport;
    this.rng = new Mulberry32(seed);
  }

  get lastLamport(): bigint {
    return this.lamport;
  }

  /** Records a message of the log (sent by the member under test, or generated here). */
  observe(messageId: string, senderId: string, lamport: bigint, intoFilter = true): void {
    this.log.push({ messageId, senderId });
    if (this.log.length > 2 * SDS_CAUSAL_HISTORY) this.log.splice(0, this.log.length - SDS_CAUSAL_HISTORY);
    if (lamport > this.lamport) this.lamport = lamport;
    if (intoFilter) internals(this.peer).filter.insert(messageId);
  }

  /**
   * A new content message of a random member, as SDS would build it: id = sha256(payload). `full: false`
   * leaves out the bloom filter and causal history (for filling a history quickly: SDS never reads them
   * back from there).
   */
  next(full = true): ContentMessage {
    const sender = this.senderIds[this.rng.int(this.senderIds.length)]!;
    this.seq++;
    const payload = new TextEncoder().encode(`message ${this.seq} from member ${sender.slice(0, 8)}: hello, channel`);
    const messageId = MessageChannel.getMessageId(payload);
    this.lamport++;
    const message = new ContentMessage(
      messageId,
      CHANNEL,
      sender,
      full ? this.log.slice(-SDS_CAUSAL_HISTORY) : [],
      this.lamport,
      full ? internals(this.peer).filter.toBytes() : undefined,
      payload,
      [],
    );
    this.observe(messageId, sender, this.lamport, full);
    return message;
  }
}

/**
 * A MessageChannel whose local history already holds `size` messages.
 *
 * Growing it through pushIncomingMessage costs O(n log n) per message (MemLocalHistory re-sorts the
 * whole array on every push), O(n^2 log n) in all: hours at 100k. Instead its history array is filled
 * directly with the sorted messages that receiving them would have left there, and the ids of the most
 * recent ones (up to 20,000, twice the filter's capacity, which saturates it as a long-lived channel
 * would be) go into its bloom filter. History entries carry no bloom filter and no causal history
 * here: SDS's operations never read them back, and 18.7 KB per entry would need gigabytes (memory is
 * measured separately, with real decoded messages).
 */
export function sdsAtLogSize(size: number, senders: number): { channel: MessageChannel; traffic: SdsTraffic } {
  const channel = new MessageChannel(CHANNEL, benchIdentity("member-under-test").senderId);
  const traffic = new SdsTraffic(senders, BigInt(Date.now()));
  const items: ContentMessage[] = new Array(size);
  for (let i = 0; i < size; i++) {
    const m = traffic.next(false);
    items[i] = m;
  }
  // SDS's order is by valueOf(): zero-padded lamport, then id; lamport timestamps here only increase.
  internals(channel).localHistory.items = items;
  // Delivering them would have advanced the channel's clock past their timestamps.
  internals(channel).lamportTimestamp = traffic.lastLamport;
  const filter = internals(channel).filter;
  for (let i = Math.max(0, size - 20_000); i < size; i++) filter.insert(items[i]!.messageId);
  return { channel, traffic };
}

/** Sends one message through SDS's public API; returns its encoding (what goes on the wire). */
export async function sdsSend(channel: MessageChannel, payload: Uint8Array): Promise<Uint8Array> {
  let bytes: Uint8Array | undefined;
  channel.pushOutgoingMessage(payload, async (m) => {
    bytes = m.encode();
    return { success: true };
  });
  await channel.processTasks();
  if (bytes === undefined) throw new Error("SDS did not send the message");
  return bytes;
}

/** Receives one encoded message through SDS's public API, as a Waku subscriber would. */
export async function sdsReceive(channel: MessageChannel, bytes: Uint8Array): Promise<void> {
  const message = Message.decode(bytes);
  if (message === undefined) throw new Error("SDS could not decode the message");
  channel.pushIncomingMessage(message, undefined);
  await channel.processTasks();
}
