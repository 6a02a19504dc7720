import type { WireMessage } from "../../wire/index.js";
import { BoundedMap } from "../bounded.js";
import { type MessageId, markPrefixHex, type SenderId } from "../ids.js";
import { seqKey } from "../keys.js";
import type { MemberDirectory } from "../members.js";
import type { Params } from "../params.js";
import type { SenderTable } from "../senders.js";

const MAX_RECEIPT_LOOKUPS_PER_MESSAGE = 16_384;

interface Tracked {
  readonly senderId: SenderId;
  readonly sequence: number | undefined;
  readonly ackedBy: Set<SenderId>;
}

/**
 * With trackAllReceipts (the owner node): who holds each recent message of every sender, from the causal
 * histories and marks of everyone's messages.
 */
export class OthersReceipts {
  private readonly tracked: BoundedMap<MessageId, Tracked>;
  private readonly bySeq = new Map<string, MessageId>();
  /** "member|sender" -> highest sequence of sender the member has marked. */
  private readonly marksSeen: BoundedMap<string, number>;

  constructor(
    private readonly params: Params,
    private readonly self: SenderId,
    private readonly members: MemberDirectory,
    private readonly senders: SenderTable,
  ) {
    this.tracked = new BoundedMap(params.maxTrackedReceipts, (_id, o) => {
      if (o.sequence !== undefined) this.bySeq.delete(seqKey(o.senderId, o.sequence));
    });
    this.marksSeen = new BoundedMap(params.trackAllReceipts ? params.maxMembers * 4 : 1);
  }

  /** We delivered `id`: track who else holds it (we do). */
  noteDelivered(id: MessageId, sender: SenderId, seq: number | undefined): void {
    this.tracked.set(id, { senderId: sender, sequence: seq, ackedBy: new Set([this.self]) });
    if (seq !== undefined) this.bySeq.set(seqKey(sender, seq), id);
  }

  /** The author of `message` holds what its causal history names and its marks cover. */
  read(message: WireMessage, by: SenderId): void {
    for (const entry of message.causalHistory) this.tracked.get(entry.messageId as MessageId)?.ackedBy.add(by);
    // Visits per message are capped, so that one message of marks (64 of them) cannot cost seconds.
    let budget = MAX_RECEIPT_LOOKUPS_PER_MESSAGE;
    for (const mark of message.ack?.marks ?? []) {
      const sender = this.members.byKeyPrefix(markPrefixHex(mark));
      if (sender === undefined || sender === this.self || sender === by) continue;
      // Only delivered messages are tracked, none beyond what the sender has shown: a mark claiming more visits nothing more.
      const upTo = Math.min(mark.sequence, this.senders.get(sender)?.highest ?? 0);
      const key = `${by}|${sender}`;
      const before = this.marksSeen.get(key) ?? 0;
      if (upTo <= before) continue;
      // Only recent messages are tracked; older sequence numbers need no visit.
      let seq = Math.max(before + 1, mark.first ?? 1, upTo - this.params.maxTrackedReceipts);
      for (; seq <= upTo && budget > 0; seq++, budget--) {
        const id = this.bySeq.get(seqKey(sender, seq));
        if (id !== undefined) this.tracked.get(id)?.ackedBy.add(by);
      }
      this.marksSeen.set(key, seq - 1);
    }
  }

  /** Who holds another sender's message (counting ourselves, not its sender); undefined when not tracked. */
  receipts(id: MessageId): { count: number; members: number; ackedBy: SenderId[] } | undefined {
    const tracked = this.tracked.get(id);
    if (tracked === undefined) return undefined;
    const ackedBy = [...tracked.ackedBy].filter((m) => m !== tracked.senderId);
    return { count: ackedBy.length, members: this.members.size, ackedBy };
  }
}
