/**
 * Per-sender rate quota: one token bucket per sender, refilled at `perWindow` tokens per 600 s up to `burst`,
 * driven by arrival times. Waku's RLN lets a member publish about 100 messages per 10-minute epoch; since a
 * fixed epoch allows a full budget at the end of one epoch and another at the start of the next, a bucket
 * with `burst` = 2 × `perWindow` does not refuse a sender that keeps to RLN, and holds a flooder to
 * `perWindow` per 600 s on average once its burst is spent.
 *
 * What is charged:
 * - A sync or ephemeral message costs one token. A sync message with the lamport timestamp of one of the
 *   sender's last `RECENT_SYNCS` charged syncs is a replay (a sender's syncs carry strictly increasing
 *   timestamps): it is "stale", refused, and costs nothing, so that replaying a member's recent syncs cannot
 *   spend its quota. A sync older than those is charged like any other (syncs can overtake each other in
 *   flight, so an older timestamp alone proves nothing); replays of old syncs are the network's to drop
 *   (gossipsub's seen cache, Waku's RLN epoch check), and so are replays of ephemeral messages.
 * - A content message pays for the sender's sequence numbers, each once, when it first shows them to exist:
 *   seq n after n - 3 costs three tokens, and the two numbers in between cost nothing when they arrive
 *   later. That is what makes repairs free without trusting who asks for them: a gap is filled by numbers
 *   already paid for. (Exempting whatever is in the engine's missing map instead would let a flooder through,
 *   since its own sequence numbers open gaps there.) A jump after a silence may spend what the sender
 *   earned during the silence beyond `burst`: members come back from hours offline with hundreds of new
 *   sequence numbers, all within RLN. Numbers at or below the first one seen (history from before first
 *   contact) cost one token each.
 *
 * The bucket map is bounded: beyond `maxSenders` the least recently charged sender's bucket is dropped.
 * A dropped bucket comes back full, which is what it would have refilled to anyway unless the sender was
 * charged within the last burst / rate (1,200 s at the defaults) and `maxSenders` others were charged since.
 */

export type QuotaVerdict = "ok" | "over" | "stale";

interface Bucket {
  tokens: number;
  /** Arrival time the tokens were last brought up to date at. */
  at: number;
  /** Sequence numbers in (floor, paid] are paid for; -1 while no content message was charged. */
  floor: number;
  paid: number;
  /** Lamport timestamps of the sender's last syncs charged, oldest first. */
  readonly syncs: bigint[];
}

const WINDOW_MS = 600_000;
const RECENT_SYNCS = 4;

export class SenderQuota {
  /** Least recently charged first. */
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    readonly perWindow: number,
    readonly burst: number,
    readonly maxSenders: number,
  ) {
    this.perMs = perWindow / WINDOW_MS;
  }

  /** Senders with a bucket. */
  get size(): number {
    return this.buckets.size;
  }

  /** Tokens left to `sender` at `now` (capped at `burst`); a sender never charged has a full bucket. */
  tokens(sender: string, now: number): number {
    const b = this.buckets.get(sender);
    return b === undefined ? this.burst : Math.min(this.burst, b.tokens + Math.max(0, now - b.at) * this.perMs);
  }

  /**
   * Charges one message of `sender` arriving at `now`: a content message with its `sequence`, a sync message
   * with its `syncLamport`, anything else (ephemeral, unsigned) with neither.
   */
  take(sender: string, now: number, sequence?: number, syncLamport?: bigint): QuotaVerdict {
    let b = this.buckets.get(sender);
    if (b === undefined) {
      b = { tokens: this.burst, at: now, floor: -1, paid: -1, syncs: [] };
      if (this.buckets.size >= this.maxSenders) {
        const oldest = this.buckets.keys().next();
        if (!oldest.done) this.buckets.delete(oldest.value);
      }
    } else this.buckets.delete(sender);
    this.buckets.set(sender, b);
    // Earned since the last charge, not yet capped: a jump in sequence numbers may spend a whole silence.
    // Arrival times may step back (a caller replaying stored messages): never earn for negative time.
    const earned = b.tokens + Math.max(0, now - b.at) * this.perMs;
    if (now > b.at) b.at = now;
    b.tokens = Math.min(this.burst, earned);
    if (syncLamport !== undefined && b.syncs.includes(syncLamport)) return "stale";
    let cost = 1;
    if (sequence !== undefined) {
      if (b.paid < 0) b.floor = b.paid = sequence - 1;
      if (sequence > b.floor && sequence <= b.paid) return "ok";
      if (sequence > b.paid) cost = sequence - b.paid;
    }
    if (cost > earned) return "over";
    b.tokens = Math.min(this.burst, earned - cost);
    if (sequence !== undefined && sequence > b.paid) b.paid = sequence;
    if (syncLamport !== undefined) {
      b.syncs.push(syncLamport);
      if (b.syncs.length > RECENT_SYNCS) b.syncs.shift();
    }
    return "ok";
  }
}
