import type { SenderId } from "./ids.js";
import { mutated, type Params } from "./params.js";

/** Given-up (or below-floor delivered) sequence numbers remembered per sender. */
export const MAX_REMEMBERED_SEQS = 1_024;

/**
 * What few senders need: the sets (most never hold a number out of order, nor give one up) and dismissed claims.
 * A state makes its own at its first write: a member of a large channel knows hundreds of senders, and five set
 * fields and a number on each state were 48 of its ~150 bytes.
 */
interface Rare {
  above: ReadonlySet<number>;
  givenUpAbove: ReadonlySet<number>;
  deliveredBelowRun: ReadonlySet<number>;
  givenUpBelow: ReadonlySet<number>;
  deliveredBelowFloor: ReadonlySet<number>;
  dismissedClaimsUpTo: number;
}

/** The set a state without its own reads (shared: never written; `writable` makes a state its own). */
const NONE: ReadonlySet<number> = new Set<number>();

type SetField = "above" | "givenUpAbove" | "deliveredBelowRun" | "givenUpBelow" | "deliveredBelowFloor";

function rareOf(state: SenderState): Rare {
  state.rare ??= {
    above: NONE,
    givenUpAbove: NONE,
    deliveredBelowRun: NONE,
    givenUpBelow: NONE,
    deliveredBelowFloor: NONE,
    dismissedClaimsUpTo: 0,
  };
  return state.rare;
}

/**
 * What this member knows of one sender's sequence numbers. Invariants (test/core/senders.test.ts):
 * - `floor <= contiguous`; every number in (floor, contiguous] is delivered or given up;
 * - `above` holds only numbers > contiguous + 1, and `givenUpAbove` is a subset of `above`;
 * - `runStart <= contiguous + 1`, and every number in [runStart, contiguous] is delivered (a mark may claim it);
 * - `givenUpBelow` holds numbers <= contiguous only, `deliveredBelowFloor` numbers <= floor only;
 * - `highest >= contiguous` once the sender itself has shown a number (marks never raise it).
 * Only SenderTable changes it, but `announced`, `announcements` (acks/summary.ts) and `toldFirst`, `toldLast`
 * (owner/link.ts).
 */
export class SenderState {
  /** Every sequence number up to here is delivered, given up, or before this member's horizon. */
  contiguous: number;
  /**
   * Highest sequence number the sender itself has shown to exist (its messages, each also vouching for the one
   * before). Other members' marks do not raise it: they are claims, which a lying member can make up.
   */
  highest: number;
  /** The floor was guessed at first contact; an in-scope message just above it lowers it by one. */
  tentative: boolean;
  floor: number;
  /** First sequence number of the run of delivered messages that ends at `contiguous`. */
  runStart: number;
  /** `contiguous` as last announced in one of our marks, and in how many summaries (acks/summary.ts). */
  announced = 0;
  announcements = 0;
  /**
   * The part of the current run, toldFirst..toldLast, the owner acknowledged a report of (owner/link.ts); none
   * while toldLast < toldFirst. Kept here rather than in a map of the link's: a member of a large channel knows
   * hundreds of senders, and an entry and an object each were ~80 bytes per sender.
   */
  toldFirst = 1;
  toldLast = 0;
  /** The sets and dismissed claims, once one was written (see `Rare`); SenderTable's alone. */
  rare: Rare | undefined = undefined;

  constructor(
    readonly id: SenderId,
    floor: number,
    highest: number,
    tentative: boolean,
  ) {
    this.contiguous = floor;
    this.highest = highest;
    this.tentative = tentative;
    this.floor = floor;
    this.runStart = floor + 1;
  }

  /** Delivered or given-up sequence numbers above `contiguous`. */
  get above(): ReadonlySet<number> {
    return this.rare?.above ?? NONE;
  }
  /** Given-up numbers above `contiguous`; when `contiguous` passes one, a new run starts after it. */
  get givenUpAbove(): ReadonlySet<number> {
    return this.rare?.givenUpAbove ?? NONE;
  }
  /** Delivered numbers just below `runStart`, waiting for the gap between them and the run to fill. */
  get deliveredBelowRun(): ReadonlySet<number> {
    return this.rare?.deliveredBelowRun ?? NONE;
  }
  /**
   * Numbers at or below `contiguous` given up on that have not arrived since (the newest MAX_REMEMBERED_SEQS):
   * a late copy of one of them is new, any other number up to `contiguous` was delivered.
   */
  get givenUpBelow(): ReadonlySet<number> {
    return this.rare?.givenUpBelow ?? NONE;
  }
  /** Numbers at or below `floor` (older than our first contact) delivered since (the newest MAX_REMEMBERED_SEQS). */
  get deliveredBelowFloor(): ReadonlySet<number> {
    return this.rare?.deliveredBelowFloor ?? NONE;
  }
  /** Highest number that only marks claimed and that was given up on: marks up to it are not chased again. */
  get dismissedClaimsUpTo(): number {
    return this.rare?.dismissedClaimsUpTo ?? 0;
  }
}

/** The state's own set for `field`, made on the first write. */
function writable(state: SenderState, field: SetField): Set<number> {
  const rare = rareOf(state);
  const set = rare[field];
  if (set !== NONE) return set as Set<number>;
  const own = new Set<number>();
  rare[field] = own;
  return own;
}

/** Deletes `value` from the state's set for `field`; the shared empty set holds nothing to delete. */
function remove(state: SenderState, field: SetField, value: number): boolean {
  const set = state.rare?.[field];
  return set !== undefined && set !== NONE && (set as Set<number>).delete(value);
}

/** Adds `value`, dropping the oldest entry beyond `max`: a set that keeps the newest `max` values. */
function addNewest(state: SenderState, field: SetField, value: number, max: number): void {
  const set = writable(state, field);
  set.add(value);
  if (set.size > max) set.delete(set.values().next().value as number);
}

/** Only another member's mark seeded `state` (the sender showed no number yet), and message `seq` sits below it. */
function onlyClaimedAbove(state: SenderState, seq: number): boolean {
  return state.highest === state.floor && seq <= state.contiguous;
}

/** The snapshot form of a SenderState (field names are part of the snapshot format). */
export interface SenderJson {
  id: string;
  contiguous: number;
  above: number[];
  highest: number;
  tentative: boolean;
  floor: number;
  runStart?: number;
  lostAbove?: number[];
  lostSeqs?: number[];
  heldBelowFloor?: number[];
}

/** Whether a (sender, sequence) below a floor was delivered as history; the cache answers it. */
export interface SequenceLookup {
  hasSequence(sender: string, seq: number): boolean;
}

/** The per-sender table: every change to a SenderState happens here. */
export class SenderTable {
  private readonly states = new Map<SenderId, SenderState>();
  /**
   * The state `get` found last: a message's sender is looked up at its admission, acceptance and delivery, and a
   * lookup in a large member's table is mostly a cache miss (a simulator runs thousands of them in one process).
   */
  private lastId: SenderId | undefined;
  private lastState: SenderState | undefined;

  constructor(
    private readonly params: Params,
    private readonly self: SenderId,
    /** Local time this member joined: messages stamped earlier are history. */
    private readonly horizon: number,
    /** Told when a sender's state is dropped or replaced (MemberDirectory may hold it). */
    private readonly onDrop?: (sender: SenderId) => void,
  ) {}

  get size(): number {
    return this.states.size;
  }

  get(sender: SenderId): SenderState | undefined {
    if (sender === this.lastId) return this.lastState;
    const state = this.states.get(sender);
    if (state !== undefined) {
      this.lastId = sender;
      this.lastState = state;
    }
    return state;
  }

  values(): IterableIterator<SenderState> {
    return this.states.values();
  }

  /**
   * The sender's state, created at first contact with sequence number `seq`. Within the join grace (or for
   * history), older messages of this sender are not ours to chase.
   */
  firstContact(sender: SenderId, seq: number, historical: boolean, lamport?: bigint): SenderState {
    const known = this.get(sender);
    if (known !== undefined) return known;
    const early = historical || (lamport !== undefined && Number(lamport) < this.horizon + this.params.joinGraceMs);
    const own = sender === this.self;
    const floor = own ? 0 : early ? seq - 1 : Math.max(0, seq - 2);
    const state = new SenderState(sender, floor, seq, !own && !early && seq > 1);
    this.states.set(sender, state);
    return state;
  }

  /**
   * First contact through another member's mark claiming `sequence`: treated like a message with the next
   * number, so that the join grace and the one-step-back chase apply as for any first contact. Undefined when
   * the claim is too early to chase.
   */
  firstContactFromMark(sender: SenderId, sequence: number, lamport: bigint): SenderState | undefined {
    if (sequence < 1 || Number(lamport) < this.horizon + this.params.joinGraceMs) return undefined;
    const state = this.firstContact(sender, sequence + 1, false, lamport);
    state.highest = state.floor;
    return state;
  }

  /**
   * The state for a message of `sender` numbered `seq` (`firstContact`). A state seeded only by another member's
   * mark, which the message sits below, was wrong: it is dropped (unless messages of the sender wait in `buffer`),
   * so that the message starts over as the first contact. One lookup of the sender: this runs for every message.
   */
  contact(
    sender: SenderId,
    seq: number,
    historical: boolean,
    lamport: bigint,
    buffer: { waitingFrom(sender: SenderId): number },
  ): SenderState {
    const known = this.get(sender);
    if (known === undefined || !onlyClaimedAbove(known, seq) || buffer.waitingFrom(sender) > 0) {
      return known ?? this.firstContact(sender, seq, historical, lamport);
    }
    this.states.delete(sender);
    this.lastId = undefined;
    this.onDrop?.(sender);
    return this.firstContact(sender, seq, historical, lamport);
  }

  /**
   * An in-scope message `seq` sitting on a floor that was guessed at first contact: chase one step further back,
   * unless the message below arrived already (delivered as history), which ends the chase.
   */
  chaseFloor(state: SenderState, seq: number, cache: SequenceLookup): void {
    if (!(state.tentative && state.contiguous === state.floor && seq - 1 === state.floor)) return;
    if (mutated(this.params, "tentative-floor")) return;
    if (cache.hasSequence(state.id, seq - 1)) {
      state.tentative = false;
      return;
    }
    state.floor = seq - 2;
    state.contiguous = seq - 2;
    state.runStart = seq - 1;
  }

  /** A message from before our horizon: the floor is no guess. */
  settleFloor(state: SenderState): void {
    state.tentative = false;
  }

  /** `seq` waits for the sender's previous number: it is neither delivered nor given up yet. */
  waitsForPrevious(state: SenderState, seq: number): boolean {
    return seq - 1 > state.contiguous && !state.above.has(seq - 1);
  }

  /** The sender has shown (by its own messages) that numbers up to `seq` exist. */
  raiseHighest(state: SenderState, seq: number): void {
    if (seq > state.highest) state.highest = seq;
  }

  /**
   * Records `seq` as delivered or given up on, and advances the contiguous mark. Returns true when `contiguous`
   * moved: the sender's progress is news for our acknowledgement marks.
   */
  advance(state: SenderState, seq: number, delivered: boolean): boolean {
    if (delivered && seq <= state.floor) {
      // History from before our first contact (a repair answer for someone else, a catch-up page).
      addNewest(state, "deliveredBelowFloor", seq, MAX_REMEMBERED_SEQS);
      return false;
    }
    if (seq <= state.contiguous) {
      // A late copy of a number given up on: it is delivered now.
      if (delivered) remove(state, "givenUpBelow", seq);
      return false;
    }
    if (seq > state.highest) state.highest = seq;
    if (!delivered) addNewest(state, "givenUpBelow", seq, MAX_REMEMBERED_SEQS);
    if (seq !== state.contiguous + 1) {
      writable(state, "above").add(seq);
      if (!delivered) writable(state, "givenUpAbove").add(seq);
      return false;
    }
    state.contiguous = seq;
    const restart = !mutated(this.params, "run-restart");
    if (!delivered && restart) state.runStart = seq + 1;
    while (remove(state, "above", state.contiguous + 1)) {
      state.contiguous++;
      if (remove(state, "givenUpAbove", state.contiguous) && restart) state.runStart = state.contiguous + 1;
    }
    return true;
  }

  /**
   * A delivered `seq` below the run (reordered around first contact) extends the run downwards. Returns true
   * when the run start moved: the owner has not been told of the numbers it gained (owner/link.ts).
   */
  extendRunDown(state: SenderState, seq: number): boolean {
    if (seq >= state.runStart || state.deliveredBelowRun.size >= 256) return false;
    const start = state.runStart;
    writable(state, "deliveredBelowRun").add(seq);
    while (remove(state, "deliveredBelowRun", state.runStart - 1)) state.runStart--;
    return state.runStart < start && state.runStart <= state.contiguous;
  }

  /**
   * A missing `seq` was given up on. Beyond what the sender has shown, only a mark claimed it: the claim is
   * dismissed rather than the number counted as given up, or a lying mark would switch off gap detection for
   * the sender's real messages to come. Returns true when `contiguous` moved (see `advance`).
   */
  giveUp(state: SenderState, seq: number): boolean {
    if (seq > state.highest) {
      const rare = rareOf(state);
      rare.dismissedClaimsUpTo = Math.max(rare.dismissedClaimsUpTo, seq);
      return false;
    }
    return this.advance(state, seq, false);
  }

  /**
   * Whether `seq` was delivered here: true, false, or "unless-given-up" when only the id set can tell (below the
   * run, above the floor, and not among the remembered given-up numbers).
   */
  delivered(state: SenderState, seq: number): boolean | "unless-given-up" {
    // Above the contiguous mark: delivered out of order (its predecessor given up), unless given up itself.
    if (seq > state.contiguous) return state.above.has(seq) && !state.givenUpAbove.has(seq);
    // Every number from runStart to contiguous was delivered; below the run, every number after the first
    // contact was delivered too, except those given up on. This holds once an id has left the seen set.
    if (seq >= state.runStart) return true;
    if (seq <= state.floor) return state.deliveredBelowFloor.has(seq);
    return state.givenUpBelow.has(seq) ? false : "unless-given-up";
  }

  /** Records that a mark announcing `state.contiguous` went out; returns in how many summaries it has been. */
  recordAnnouncement(state: SenderState): number {
    if (state.announced === state.contiguous) state.announcements++;
    else {
      state.announced = state.contiguous;
      state.announcements = 1;
    }
    return state.announcements;
  }

  toJSON(): SenderJson[] {
    return [...this.states.values()].map((s) => ({
      id: s.id,
      contiguous: s.contiguous,
      above: [...s.above],
      highest: s.highest,
      tentative: s.tentative,
      floor: s.floor,
      runStart: s.runStart,
      lostAbove: [...s.givenUpAbove],
      lostSeqs: [...s.givenUpBelow],
      heldBelowFloor: [...s.deliveredBelowFloor],
    }));
  }

  restore(senders: readonly SenderJson[]): void {
    this.lastId = undefined;
    for (const x of senders) {
      const id = x.id as SenderId;
      // Not persisted: announcements (after a restart, queued progress is announced twice more) and what the owner
      // was told.
      const state = new SenderState(id, x.floor, x.highest, x.tentative);
      state.contiguous = x.contiguous;
      state.runStart = x.runStart ?? x.floor + 1;
      const sets = {
        above: x.above,
        givenUpAbove: x.lostAbove,
        givenUpBelow: x.lostSeqs,
        deliveredBelowFloor: x.heldBelowFloor,
      };
      for (const [field, values] of Object.entries(sets)) {
        if (values !== undefined && values.length > 0) rareOf(state)[field as SetField] = new Set(values);
      }
      if (this.states.has(id)) this.onDrop?.(id);
      this.states.set(id, state);
    }
  }
}
