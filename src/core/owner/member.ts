import { decodeOwnerNews, type OwnerNews } from "../../wire/owner-codec.js";
import type { OwnReceipts } from "../acks/receipts.js";
import { idKey, seqKey } from "../keys.js";
import type { GapTracker } from "../repair/gaps.js";
import type { SenderTable } from "../senders.js";
import { StepBuilder } from "../step.js";
import type { MessageRef, Step } from "../types.js";
import { reportIntervalMs } from "./cadence.js";
import type { OwnerLink, ReportToken } from "./link.js";
import type { RosterIndex } from "./roster.js";

/**
 * A member's side of the owner path, as the runtime drives it (`engine.owner`): the roster, receipt reports,
 * the owner's news and what the owner could not fill. Whether the path is up is the engine's
 * (`engine.setOwnerPath`), since it changes how the engine uses the topic.
 */
export class MemberOwnerPath {
  constructor(
    private readonly channelId: string,
    private readonly link: OwnerLink,
    private readonly gaps: GapTracker,
    private readonly senders: SenderTable,
    private readonly receipts: OwnReceipts,
  ) {}

  /** Whether the owner path is up (`engine.setOwnerPath`). */
  isUp(): boolean {
    return this.link.up;
  }

  /** The roster the owner published (already verified, see `openRoster`): membership, and N in "k of N". */
  setRoster(roster: RosterIndex): void {
    if (roster.roster.channelId !== this.channelId) {
      throw new RangeError(`roster is for channel "${roster.roster.channelId}", not "${this.channelId}"`);
    }
    this.link.setRoster(roster);
  }

  /** The roster in use, or undefined without one. */
  roster(): RosterIndex | undefined {
    return this.link.roster;
  }

  /**
   * A signed receipt report of what the owner has not been told yet, or undefined when there is nothing new.
   * Call `reportDone` with its token once the owner answered, or failed to.
   */
  takeReport(now: number): { bytes: Uint8Array; token: ReportToken } | undefined {
    return this.link.takeReport(now);
  }

  /**
   * The least time between two reports (cadence.ts): `floorMs`, or longer on a large roster so that the owner
   * receives at most `perSecond` reports a second in total (0: no bound). Without a roster, `floorMs`.
   */
  reportIntervalMs(floorMs?: number, perSecond?: number): number {
    return reportIntervalMs(this.link.roster?.size ?? 0, floorMs, perSecond);
  }

  reportDone(token: ReportToken, ok: boolean): void {
    this.link.reportDone(token, ok);
  }

  /** Something was delivered that the owner has not been told of. */
  hasReport(): boolean {
    return this.link.hasNews;
  }

  /** The cursor to send with the next report or watch. */
  cursor(): number {
    return this.link.cursor;
  }

  /**
   * News from the owner (encoded `OwnerNews`): receipts of our messages (`acknowledged` events, counted against
   * the roster) and every sender's head, which reveals messages missed at the tail of a quiet channel. `stale`
   * says the news is against another roster version: fetch the roster, then ask again.
   */
  applyNews(bytes: Uint8Array, now: number): Step & { stale: boolean } {
    return this.applyDecodedNews(decodeOwnerNews(bytes), now);
  }

  /**
   * `applyNews` for news already decoded (`decodeOwnerNews`), or made in the same process by the owner's service
   * (the simulator, where encoding news and decoding it again in one thread changes nothing but the CPU it costs).
   */
  applyDecodedNews(news: OwnerNews, now: number): Step & { stale: boolean } {
    const step = new StepBuilder();
    const resolved = this.link.resolve(news);
    if (resolved === undefined) return { outgoing: step.outgoing, events: step.events, stale: true };
    for (const r of resolved.receipts) this.receipts.confirmFromOwner(r.sequence, r.holders, step);
    for (const head of resolved.heads) {
      // A sender never heard from is met through its head, as through another member's mark: its newest
      // message is missing, and the usual chase goes back from there to what was sent since we joined.
      const state =
        this.senders.get(head.senderId) ??
        this.senders.firstContactFromMark(head.senderId, head.sequence, BigInt(Math.max(0, Math.floor(now))));
      if (state !== undefined && head.sequence > state.contiguous) {
        this.gaps.openSequenceGap(state, head.sequence, now, "owner-head", step);
      }
    }
    return { outgoing: step.outgoing, events: step.events, stale: false };
  }

  /**
   * What to fetch from the owner now: what is missing, less what the app holds back (`engine.holdRepair`: the
   * rest of a segment set may make it unneeded). `heldUntil` is when the earliest hold ends: fetch again then.
   */
  fetchable(now: number): { refs: MessageRef[]; heldUntil: number | undefined } {
    return this.gaps.fetchable(now);
  }

  /** The owner answered a fetch without these: ask the topic for them now. */
  lacks(refs: readonly MessageRef[], now: number): void {
    for (const ref of refs) {
      if (ref.messageId !== undefined) this.gaps.askTopic(idKey(ref.messageId), now);
      if (ref.senderId !== undefined && ref.sequence !== undefined) {
        this.gaps.askTopic(seqKey(ref.senderId, ref.sequence), now);
      }
    }
  }
}
