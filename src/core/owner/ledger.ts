import type { ReceiptNews } from "../../wire/owner-codec.js";

/** Sequence numbers past a sender's head that a report may claim (it arrived at the member before the owner). */
export const CLAIM_MARGIN = 16;

/** One message of one sender in the window: who holds it, as a bitmap over roster indices. */
interface Track {
  readonly holders: Uint8Array;
  count: number;
  /** Ledger version of the last change. */
  changedAt: number;
  /** The last query that listed it (`ReceiptLedger.query`): each is listed once per query. */
  listedIn: number;
}

interface SenderBook {
  /** Highest sequence number the owner holds a message for (the sender's head). */
  head: number;
  headChangedAt: number;
  /** Sequence number -> holders, for the newest `window` numbers at or below the head. */
  readonly tracks: Map<number, Track>;
  /** (version, seq) of every change, in order; compacted when it outgrows the window. */
  readonly changes: number[];
  /** Receipts counted for numbers that left the window (summarised: totals only). */
  retiredCount: number;
  retiredMessages: number;
  /** The last query that listed its head. */
  listedIn: number;
}

/** A sender whose head moved since a cursor. */
export interface HeadNews {
  readonly sender: number;
  readonly sequence: number;
}

/**
 * The owner's receipt ledger for one channel, indexed by roster position: for each sender's recent messages,
 * which members hold them. Reports are unions (setting a bit twice changes nothing), so repeated and reordered
 * reports are harmless. Work is proportional to what a report adds; memory is one bit per member per message
 * in the window (`window` messages per sender), with totals kept for older ones.
 */
export class ReceiptLedger {
  private readonly books = new Map<number, SenderBook>();
  /** (version, sender) of every head change, in order. */
  private readonly headChanges: number[] = [];
  private version = 0;
  /**
   * Numbers the queries that list changes (`receiptsSince`, `headsSince`): an entry listed in this one is marked
   * with it, instead of a set of what was listed made for each (the owner answers every report with one).
   */
  private query = 0;
  private readonly bitmapBytes: number;

  constructor(
    /** Members in the roster. */
    readonly size: number,
    /** Messages per sender whose holders are kept. */
    private readonly window: number,
  ) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`roster size must be a positive integer, got ${size}`);
    if (!Number.isInteger(window) || window < 1)
      throw new RangeError(`window must be a positive integer, got ${window}`);
    this.bitmapBytes = Math.ceil(size / 8);
  }

  /** The version the next change gets; a cursor at this value has seen everything. */
  get cursor(): number {
    return this.version;
  }

  private book(sender: number): SenderBook {
    let book = this.books.get(sender);
    if (book === undefined) {
      book = {
        head: 0,
        headChangedAt: 0,
        tracks: new Map(),
        changes: [],
        retiredCount: 0,
        retiredMessages: 0,
        listedIn: 0,
      };
      this.books.set(sender, book);
    }
    return book;
  }

  /** The owner holds `sender`'s message `seq`: the sender's head may move, and the sender holds it. */
  noteMessage(sender: number, seq: number): void {
    const book = this.book(sender);
    if (seq > book.head) {
      book.head = seq;
      book.headChangedAt = ++this.version;
      this.headChanges.push(book.headChangedAt, sender);
      this.retire(book);
      if (this.headChanges.length > 4 * 2 * Math.max(64, this.books.size)) this.compactHeads();
    }
  }

  /** Member `holder` holds `sender`'s numbers first..last. Returns how many (message, holder) pairs were new. */
  noteHeld(holder: number, sender: number, first: number, last: number): number {
    if (holder === sender) return 0;
    const book = this.book(sender);
    // A member may report a message before the owner has it: claims reach a few numbers past the head, so that
    // a member making up claims cannot make the owner keep bitmaps for messages that do not exist.
    const from = Math.max(first, book.head - this.window + 1, 1);
    const to = Math.min(last, book.head + CLAIM_MARGIN);
    let added = 0;
    const byte = holder >> 3;
    const bit = 1 << (holder & 7);
    for (let seq = from; seq <= to; seq++) {
      let track = book.tracks.get(seq);
      if (track === undefined) {
        track = { holders: new Uint8Array(this.bitmapBytes), count: 0, changedAt: 0, listedIn: 0 };
        book.tracks.set(seq, track);
      }
      if ((track.holders[byte]! & bit) !== 0) continue;
      track.holders[byte]! |= bit;
      track.count++;
      track.changedAt = ++this.version;
      book.changes.push(track.changedAt, seq);
      added++;
    }
    if (book.changes.length > 8 * this.window) this.compact(book);
    return added;
  }

  /** Holders of `sender`'s message `seq`, or undefined when it is outside the window. */
  receipt(sender: number, seq: number): { count: number; holders: Uint8Array } | undefined {
    const track = this.books.get(sender)?.tracks.get(seq);
    return track === undefined ? undefined : { count: track.count, holders: track.holders };
  }

  /** Receipts of `sender`'s messages that changed after `cursor`, oldest change first, at most `limit`. */
  receiptsSince(sender: number, cursor: number, limit: number): ReceiptNews[] {
    const book = this.books.get(sender);
    if (book === undefined) return [];
    const changes = book.changes;
    // Entries are (version, seq) pairs in version order: find the first change after the cursor.
    let lo = 0;
    let hi = changes.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (changes[mid * 2]! <= cursor) lo = mid + 1;
      else hi = mid;
    }
    const query = ++this.query;
    const out: ReceiptNews[] = [];
    for (let i = lo * 2; i < changes.length && out.length < limit; i += 2) {
      const seq = changes[i + 1]!;
      const track = book.tracks.get(seq);
      if (track === undefined || track.listedIn === query) continue;
      track.listedIn = query;
      out.push({ sequence: seq, count: track.count, holders: track.holders.slice() });
    }
    return out;
  }

  /** Senders whose head moved after `cursor`. */
  headsSince(cursor: number): HeadNews[] {
    const out: HeadNews[] = [];
    const query = ++this.query;
    for (let i = this.headChanges.length - 2; i >= 0 && this.headChanges[i]! > cursor; i -= 2) {
      const sender = this.headChanges[i + 1]!;
      const book = this.books.get(sender)!;
      if (book.listedIn === query) continue;
      book.listedIn = query;
      out.push({ sender, sequence: book.head });
    }
    return out.reverse();
  }

  /** The highest sequence number of `sender` the owner holds (0: none). */
  headOf(sender: number): number {
    return this.books.get(sender)?.head ?? 0;
  }

  /** Every sender's head. */
  heads(): HeadNews[] {
    return [...this.books.entries()].filter(([, b]) => b.head > 0).map(([sender, b]) => ({ sender, sequence: b.head }));
  }

  /** Messages and holder bits kept, for bounds tests and metrics. */
  sizes(): { senders: number; tracked: number; changes: number; bytes: number } {
    let tracked = 0;
    let changes = 0;
    for (const b of this.books.values()) {
      tracked += b.tracks.size;
      changes += b.changes.length / 2;
    }
    return { senders: this.books.size, tracked, changes, bytes: tracked * this.bitmapBytes };
  }

  /** Numbers that fell out of the window keep only their totals. */
  private retire(book: SenderBook): void {
    const low = book.head - this.window;
    if (book.tracks.size <= this.window) return;
    for (const [seq, track] of book.tracks) {
      if (seq > low) continue;
      book.retiredCount += track.count;
      book.retiredMessages++;
      book.tracks.delete(seq);
    }
  }

  /** Keeps the newest change of each tracked number, in version order. */
  private compact(book: SenderBook): void {
    const latest: [number, number][] = [];
    for (const [seq, track] of book.tracks) if (track.changedAt > 0) latest.push([track.changedAt, seq]);
    latest.sort((a, b) => a[0] - b[0]);
    book.changes.length = 0;
    for (const [version, seq] of latest) book.changes.push(version, seq);
  }

  private compactHeads(): void {
    const latest: [number, number][] = [];
    for (const [sender, b] of this.books) if (b.headChangedAt > 0) latest.push([b.headChangedAt, sender]);
    latest.sort((a, b) => a[0] - b[0]);
    this.headChanges.length = 0;
    for (const [version, sender] of latest) this.headChanges.push(version, sender);
  }
}
