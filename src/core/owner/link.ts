import { encodeSignedReport, type HeldRange, type OwnerNews, type ReceiptReport } from "../../wire/owner-codec.js";
import { type SenderId, senderPrefixBytes } from "../ids.js";
import type { SenderState, SenderTable } from "../senders.js";
import type { RosterIndex } from "./roster.js";

/**
 * Own messages whose receipt bitmaps from news are remembered (the engine tracks 256 by default): an older one
 * forgotten is resolved whole again, which confirms nobody twice.
 */
const MAX_APPLIED = 1_024;

/** Encodes and signs a receipt report with the reporter's signer (the one that signs its channel messages). */
export function signReport(
  report: Omit<ReceiptReport, "signature">,
  sign: (unsigned: Uint8Array) => Uint8Array,
): Uint8Array {
  return encodeSignedReport(report, sign);
}

/** What a report claimed, per sender (the run it covers): acknowledged by the owner, the claims count as told. */
export type ReportToken = ReadonlyMap<SenderId, Told>;

/** A stretch of one sender's run, first..last. */
interface Told {
  readonly first: number;
  readonly last: number;
}

/** News from the owner, resolved against the roster. */
export interface ResolvedNews {
  readonly receipts: readonly { sequence: number; holders: SenderId[] }[];
  readonly heads: readonly { senderId: SenderId; sequence: number }[];
}

/**
 * A member's side of the owner path: which of its holdings the owner has been told of, what to report next,
 * where its news cursor stands, and whether the owner is reachable (the runtime says so). Reports carry only
 * what is new since the last acknowledged report; a report that failed is folded into the next one.
 */
export class OwnerLink {
  /** The owner answered recently: receipts and gap fill go over the direct path, not the topic. */
  up = false;
  /** Where our news from the owner stands. */
  cursor = 0;
  roster: RosterIndex | undefined;
  // Per sender, the part of its current run the owner has acknowledged a report of is on its state (`toldFirst`,
  // `toldLast`). A run also grows downward (a message that arrived after its successor around first contact, below
  // the floor, or a late copy of one given up on, see `SenderTable.extendRunDown`): that part is told too, or the
  // sender would never count us.
  private readonly dirty = new Set<SenderId>();
  /**
   * Per own sequence number, the holder bits news already brought under this roster. The owner sends a message's
   * whole bitmap each time it changes, and holders only join it (the ledger is a union per roster version): only
   * the bits not seen yet are resolved to ids, the rest were confirmed already (a receipt is never withdrawn).
   * On a large roster a receipt names thousands of holders and a sender gets news every few hundred ms.
   */
  private readonly applied = new Map<number, Uint8Array>();

  constructor(
    private readonly channelId: string,
    private readonly self: SenderId,
    private readonly sign: (unsigned: Uint8Array) => Uint8Array,
    private readonly senders: SenderTable,
  ) {}

  /** Another sender's run moved (its contiguous mark, or its start downward): the owner has news coming. */
  noteProgress(state: SenderState): void {
    this.dirty.add(state.id);
  }

  get hasNews(): boolean {
    return this.dirty.size > 0;
  }

  /** A signed report of what the owner has not been told yet, or undefined when there is nothing new. */
  takeReport(now: number): { bytes: Uint8Array; token: ReportToken } | undefined {
    const held: HeldRange[] = [];
    const token = new Map<SenderId, Told>();
    for (const sender of this.dirty) {
      const state = this.senders.get(sender);
      // Every number of the run, runStart..contiguous, is delivered (below the floor too, when it grew down).
      if (state === undefined || state.runStart > state.contiguous) continue;
      const run = { first: state.runStart, last: state.contiguous };
      const { toldFirst, toldLast } = state;
      const fresh = toldLast < toldFirst || run.first > toldLast + 1;
      const below = fresh || run.first < toldFirst;
      const above = !fresh && run.last > toldLast;
      if (!below && !above) continue;
      const prefix = senderPrefixBytes(sender);
      if (below) held.push({ senderPrefix: prefix, first: run.first, last: fresh ? run.last : toldFirst - 1 });
      if (above) held.push({ senderPrefix: prefix, first: toldLast + 1, last: run.last });
      token.set(sender, run);
    }
    this.dirty.clear();
    if (held.length === 0) return undefined;
    const bytes = signReport({ channelId: this.channelId, reporter: this.self, writtenAt: now, held }, this.sign);
    return { bytes, token };
  }

  /** The owner acknowledged the report (`ok`), or it was lost: its claims go into the next report. */
  reportDone(token: ReportToken, ok: boolean): void {
    for (const [sender, run] of token) {
      if (!ok) {
        this.dirty.add(sender);
        continue;
      }
      // A state dropped since (only a mark had seeded it) has nothing to remember: its next run is reported afresh.
      const state = this.senders.get(sender);
      if (state === undefined) continue;
      // A run that restarted above what was told (a loss) replaces it: only the current run can grow downward.
      const joined =
        state.toldLast >= state.toldFirst && run.first <= state.toldLast + 1 && run.last >= state.toldFirst - 1;
      state.toldFirst = joined ? Math.min(state.toldFirst, run.first) : run.first;
      state.toldLast = joined ? Math.max(state.toldLast, run.last) : run.last;
    }
  }

  /** A new roster: the owner's ledger starts over, so everything is reported again. */
  setRoster(roster: RosterIndex): void {
    const changed = this.roster?.version !== roster.version;
    this.roster = roster;
    if (!changed) return;
    this.applied.clear();
    this.cursor = 0;
    for (const state of this.senders.values()) {
      state.toldFirst = 1;
      state.toldLast = 0;
      if (state.id !== this.self) this.dirty.add(state.id);
    }
  }

  /** Resolves news against the roster and moves the cursor. Undefined when it needs a roster we lack. */
  resolve(news: OwnerNews): ResolvedNews | undefined {
    const roster = this.roster;
    if (roster === undefined || news.rosterVersion !== roster.version) return undefined;
    this.cursor = Math.max(this.cursor, news.cursor);
    const receipts = news.receipts.map((r) => ({
      sequence: r.sequence,
      holders: this.unseen(roster, r.sequence, r.holders),
    }));
    const heads: { senderId: SenderId; sequence: number }[] = [];
    for (const h of news.heads) {
      const i = roster.indexOfPrefix(h.senderPrefix);
      const id = i === undefined ? undefined : roster.idAt(i);
      if (id !== undefined && id !== this.self) heads.push({ senderId: id, sequence: h.sequence });
    }
    return { receipts, heads };
  }

  /**
   * The holders of our message `seq` whose bits in `bitmap` no earlier news set; they count as seen from now on.
   * Read straight from the bitmap against the bits seen (no bitmap of the new bits is made for each receipt).
   */
  private unseen(roster: RosterIndex, seq: number, bitmap: Uint8Array): SenderId[] {
    let seen = this.applied.get(seq);
    if (seen === undefined) {
      if (this.applied.size >= MAX_APPLIED) this.applied.delete(this.applied.keys().next().value as number);
      this.applied.set(seq, bitmap.slice());
      return roster.holders(bitmap);
    }
    if (seen.length < bitmap.length) {
      const grown = new Uint8Array(bitmap.length);
      grown.set(seen);
      seen = grown;
      this.applied.set(seq, seen);
    }
    const out: SenderId[] = [];
    for (let byte = 0; byte < bitmap.length; byte++) {
      const bits = bitmap[byte]! & ~seen[byte]!;
      if (bits === 0) continue;
      seen[byte]! |= bits;
      for (let bit = 0; bit < 8; bit++) {
        if ((bits & (1 << bit)) === 0) continue;
        const id = roster.idAt(byte * 8 + bit);
        if (id !== undefined) out.push(id);
      }
    }
    return out;
  }

  /** Whether a sender id is on the roster (everyone is, without one). */
  admits(id: string): boolean {
    return this.roster === undefined || this.roster.has(id);
  }

  /** N for "delivered to k of N": the roster minus ourselves, or undefined without a roster. */
  denominator(): number | undefined {
    return this.roster === undefined ? undefined : this.roster.size - (this.roster.has(this.self) ? 1 : 0);
  }
}
