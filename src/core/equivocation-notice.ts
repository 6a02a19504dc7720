// Equivocation notices (spec section 9.6): for a while after a member records a new version of a (sender,
// sequence), every message it sends names the recorded versions in its causal history, and it owes syncs, so
// that a member holding one version learns the other's id and fetches it by id (section 10.4) even when the
// one-shot publication of the versions was lost. Bounded whatever an equivocator does: a few notices per
// sender and in all, a few ids per message, and the syncs come out of the control budget.
import type { MessageId, SenderId } from "./ids.js";

/** How long a notice lasts after its pair's newest version was recorded: the control budget's window. */
export const NOTICE_MS = 600_000;
/** Pairs announced at once; a newer one replaces the oldest. */
export const MAX_NOTICES = 16;
/** Pairs of one sender announced at once, so that one equivocator cannot crowd out the others' notices. */
export const MAX_NOTICES_PER_SENDER = 4;
/** Ids a message names for notices beyond its ordinary causal history; more are named in turn. */
export const MAX_NAMED = 4;
const NONE_NAMED: readonly MessageId[] = Object.freeze([]);

interface Notice {
  readonly senderId: SenderId;
  /** The pair's recorded versions (the record's own array: a version recorded later is named too). */
  readonly ids: readonly MessageId[];
  until: number;
}

export class NoticeBoard {
  /** By pair key, in the order they are named in turn (oldest first). */
  private readonly notices = new Map<string, Notice>();
  private readonly perSender = new Map<SenderId, number>();
  /** Where the next message starts in the list of announced ids, when they do not all fit in one. */
  private cursor = 0;

  get size(): number {
    return this.notices.size;
  }

  /** Announces the pair `key` until `until` (a later version of a pair already announced extends it). */
  activate(key: string, senderId: SenderId, ids: readonly MessageId[], until: number): void {
    const known = this.notices.get(key);
    if (known !== undefined) {
      known.until = Math.max(known.until, until);
      return;
    }
    if ((this.perSender.get(senderId) ?? 0) >= MAX_NOTICES_PER_SENDER) {
      // The sender's oldest notice makes room: a scan of at most MAX_NOTICES entries, once per new pair.
      for (const [k, n] of this.notices) {
        if (n.senderId === senderId) {
          this.drop(k);
          break;
        }
      }
    }
    if (this.notices.size >= MAX_NOTICES) this.drop(this.notices.keys().next().value!);
    this.notices.set(key, { senderId, ids, until });
    this.perSender.set(senderId, (this.perSender.get(senderId) ?? 0) + 1);
  }

  drop(key: string): void {
    const n = this.notices.get(key);
    if (n === undefined) return;
    this.notices.delete(key);
    const left = (this.perSender.get(n.senderId) ?? 1) - 1;
    if (left === 0) this.perSender.delete(n.senderId);
    else this.perSender.set(n.senderId, left);
  }

  /** The ids that notices still running at `now` announce (0 when none is: the normal case). */
  announced(now: number): number {
    this.prune(now);
    let n = 0;
    for (const notice of this.notices.values()) n += notice.ids.length;
    return n;
  }

  /** The ids the next message names: all of them, or MAX_NAMED taken in turn when more are announced. */
  named(now: number): readonly MessageId[] {
    // Every message sent asks; almost always nothing is announced: one shared empty list, no fresh array each time.
    if (this.notices.size === 0) return NONE_NAMED;
    this.prune(now);
    const all: MessageId[] = [];
    for (const notice of this.notices.values()) all.push(...notice.ids);
    if (all.length <= MAX_NAMED) return all;
    const start = this.cursor % all.length;
    this.cursor = (start + MAX_NAMED) % all.length;
    return Array.from({ length: MAX_NAMED }, (_, i) => all[(start + i) % all.length]!);
  }

  /** When the pair's notice ends, if it has one. */
  untilOf(key: string): number | undefined {
    return this.notices.get(key)?.until;
  }

  private prune(now: number): void {
    for (const [key, notice] of this.notices) if (notice.until <= now) this.drop(key);
  }
}
