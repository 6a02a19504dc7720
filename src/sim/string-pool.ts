import type { HistoryEntry, WireMessage } from "../wire/index.js";

/**
 * One string object per distinct value. A thousand engines in one process key their maps by the sender
 * and message ids of the same decoded messages; when the key looked up is the very object stored, a Map
 * look-up compares pointers and never reads the stored key, which at that scale is a cache miss per
 * look-up. Only equal strings are swapped: what the engines compute is unchanged.
 */
export class StringPool {
  private readonly strings = new Map<string, string>();

  intern<S extends string>(text: S): S {
    const known = this.strings.get(text);
    if (known !== undefined) return known as S;
    this.strings.set(text, text);
    return text;
  }

  /**
   * `message` with its ids taken from the pool. A sync message's own id is left as it is: nothing
   * refers to it again, and the pool would only grow.
   */
  internMessage(message: WireMessage): WireMessage {
    const entry = (e: HistoryEntry): HistoryEntry =>
      e.senderId === undefined
        ? { ...e, messageId: this.intern(e.messageId) }
        : { ...e, messageId: this.intern(e.messageId), senderId: this.intern(e.senderId) };
    return {
      ...message,
      senderId: this.intern(message.senderId),
      messageId: message.content === undefined ? message.messageId : this.intern(message.messageId),
      causalHistory: message.causalHistory.map(entry),
      repairRequest: message.repairRequest.map(entry),
      sequenceRepairRequest: message.sequenceRepairRequest.map((r) => ({ ...r, senderId: this.intern(r.senderId) })),
    };
  }
}
