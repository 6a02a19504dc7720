/**
 * Every tunable of the engine, with its default. docs/parameters.md and spec/chorus.md give what each
 * one costs and buys; the defaults target a Status Communities channel (up to ~1,000 members, chat rates).
 */
export interface Params {
  /** Ids of the most recent messages named in each message's causal history (SDS: 2-3). */
  readonly causalHistorySize: number;
  /** Reliability overhead (wire bytes minus content) a message aims to stay under; the ack filter takes what is left. */
  readonly overheadBudgetBytes: number;
  /**
   * Filter bits per id; 16 bits gives a 0.046 % false-positive rate per filter at the optimal hash count,
   * and at most 1e-4 false receipts per member and message (see ack-filter.ts).
   */
  readonly ackFilterBitsPerId: number;
  readonly ackMaxFilterBytes: number;
  /** Per-sender received-up-to marks per summary (16 bytes each). */
  readonly ackMaxMarks: number;
  /** Recently received ids kept as candidates for the filter. */
  readonly ackRecentIds: number;
  /** Own messages checked against each incoming filter, newest first. */
  readonly ackFilterCheckDepth: number;
  /** Filters with more bits set than this are ignored as hostile ("I have everything"). */
  readonly ackMaxFillRatio: number;
  /** A message that missed dependencies this long is delivered anyway and the dependency declared lost. */
  readonly dependencyTimeoutMs: number;
  /** Messages stamped before join + this grace do not make a fresh member chase older history. */
  readonly joinGraceMs: number;
  /** Lamport timestamps further ahead of the local clock are rejected. */
  readonly maxFutureSkewMs: number;
  readonly resendAfterMs: number;
  readonly resendBackoff: number;
  readonly maxResends: number;
  /** After this long without sending, a member sends a sync message if it has something to acknowledge or ask. */
  readonly syncIntervalMs: number;
  /**
   * Delay before an owed sync while more progress waits for announcement than one summary has mark slots for
   * (busy channels with many senders); never longer than syncIntervalMs.
   */
  readonly backlogSyncIntervalMs: number;
  /** Relative jitter of the sync interval: 0.5 means ±50 %. */
  readonly syncJitter: number;
  /** Sync messages and repair requests a member sends per 600 s at most (Waku RLN allows ~100 messages in all). */
  readonly controlBudgetPer600s: number;
  /** Repair rebroadcasts a member sends per 600 s at most. */
  readonly responseBudgetPer600s: number;
  /**
   * Messages of every kind (content, sync, ephemeral) accepted from one other sender per 600 s, on average,
   * by arrival time (a token bucket, see quota.ts); 0 turns the quota off. Content pays for its sender's
   * sequence numbers, each once, so repairs of skipped numbers are free. Messages over it are rejected
   * unseen, so a legitimate one comes back through repair; bytes fetched on purpose (receive's
   * `requested`) are exempt. Waku's RLN allows about 100 per 10 minutes; the default leaves room for jitter.
   */
  readonly senderQuotaPer600s: number;
  /**
   * Messages of one sender accepted back to back before the quota's rate applies: two RLN epochs' worth,
   * since a fixed-epoch budget allows one full budget at the end of an epoch and another at the start of the next.
   */
  readonly senderQuotaBurst: number;
  /** Scale of the randomised delay before asking for a missing message (exponential suppression timer). */
  readonly repairRequestDelayMs: number;
  /** Wait for an answer before asking again; doubles with each attempt. */
  readonly repairRetryMs: number;
  /**
   * While the owner path is up, a gap is fetched from the owner at once; a repair request on the topic waits
   * this long on top of its usual delay, for when the owner lacks the message or its answer is lost.
   */
  readonly ownerFetchGraceMs: number;
  /** Scale of the randomised delay before answering a repair request. */
  readonly repairResponseDelayMs: number;
  /** Extra wait of ordinary members when a preferred responder (the owner) was heard recently. */
  readonly preferredResponderGraceMs: number;
  /**
   * While a preferred responder is online: how many other holders, in expectation, stand by to answer a repair
   * request should its answer not come (each with probability backupResponders / known members).
   */
  readonly backupResponders: number;
  /** A preferred responder counts as online if heard within this window. */
  readonly preferredResponderAliveMs: number;
  readonly maxRepairIdsPerMessage: number;
  readonly maxRepairRangesPerMessage: number;
  readonly maxPending: number;
  readonly maxPendingPerSender: number;
  readonly maxMissing: number;
  /** Missing sequence numbers one detection may open for a single sender. */
  readonly maxGapPerDetection: number;
  readonly maxTrackedOwn: number;
  readonly maxSeenIds: number;
  /** Recent messages kept (with their bytes) to answer repairs and to list the recent log. */
  readonly repairCacheSize: number;
  readonly maxMembers: number;
  /** Share of known members whose receipt makes an own message "acknowledged"; 0 means any one member. */
  readonly ackQuorum: number;
  /** Accept unsigned SDS messages (kind unspecified); Chorus messages are still verified. */
  readonly interop: boolean;
  /** Track receipts of every member's messages, not only our own (the owner node aggregates for everyone). */
  readonly trackAllReceipts: boolean;
  /** Messages of other senders whose receipts are tracked when trackAllReceipts is on. */
  readonly maxTrackedReceipts: number;
}

export const DEFAULT_PARAMS: Params = Object.freeze({
  causalHistorySize: 2,
  overheadBudgetBytes: 512,
  ackFilterBitsPerId: 16,
  ackMaxFilterBytes: 128,
  ackMaxMarks: 16,
  ackRecentIds: 512,
  ackFilterCheckDepth: 32,
  ackMaxFillRatio: 0.7,
  dependencyTimeoutMs: 120_000,
  joinGraceMs: 10_000,
  maxFutureSkewMs: 300_000,
  resendAfterMs: 30_000,
  resendBackoff: 2,
  maxResends: 3,
  syncIntervalMs: 120_000,
  backlogSyncIntervalMs: 30_000,
  syncJitter: 0.5,
  controlBudgetPer600s: 20,
  responseBudgetPer600s: 30,
  senderQuotaPer600s: 120,
  senderQuotaBurst: 240,
  repairRequestDelayMs: 1_000,
  repairRetryMs: 5_000,
  ownerFetchGraceMs: 3_000,
  repairResponseDelayMs: 1_000,
  preferredResponderGraceMs: 2_000,
  backupResponders: 4,
  preferredResponderAliveMs: 300_000,
  maxRepairIdsPerMessage: 16,
  maxRepairRangesPerMessage: 8,
  maxPending: 5_000,
  maxPendingPerSender: 1_000,
  maxMissing: 10_000,
  maxGapPerDetection: 2_000,
  maxTrackedOwn: 256,
  maxSeenIds: 100_000,
  repairCacheSize: 5_000,
  maxMembers: 10_000,
  ackQuorum: 0,
  interop: false,
  trackAllReceipts: false,
  maxTrackedReceipts: 20_000,
});

/**
 * What an owner node (the Communities profile's history keeper) changes from the defaults: it keeps every recent
 * message at hand and answers repairs for the whole channel, counts receipts for everyone's messages, and comes
 * back from restarts with gaps to close. The node and the simulator both start their owner from these.
 */
export const OWNER_PARAMS: Partial<Params> = Object.freeze({
  repairCacheSize: 100_000,
  responseBudgetPer600s: 10_000,
  controlBudgetPer600s: 60,
  trackAllReceipts: true,
  maxTrackedOwn: 100_000,
});

type NumericKey = { [K in keyof Params]: Params[K] extends number ? K : never }[keyof Params];

const RANGES: Record<NumericKey, readonly [number, number, boolean]> = {
  // [min, max, integer]
  causalHistorySize: [0, 64, true],
  overheadBudgetBytes: [128, 65_536, true],
  ackFilterBitsPerId: [1, 64, false],
  ackMaxFilterBytes: [0, 4_096, true],
  ackMaxMarks: [0, 64, true],
  ackRecentIds: [0, 100_000, true],
  ackFilterCheckDepth: [0, 10_000, true],
  ackMaxFillRatio: [0, 1, false],
  dependencyTimeoutMs: [1, 365 * 86_400_000, false],
  joinGraceMs: [0, 86_400_000, false],
  maxFutureSkewMs: [0, Number.MAX_SAFE_INTEGER, false],
  resendAfterMs: [1, 86_400_000, false],
  resendBackoff: [1, 100, false],
  maxResends: [0, 100, true],
  syncIntervalMs: [1, 86_400_000, false],
  backlogSyncIntervalMs: [1, 86_400_000, false],
  syncJitter: [0, 1, false],
  controlBudgetPer600s: [0, 10_000, true],
  responseBudgetPer600s: [0, 10_000, true],
  senderQuotaPer600s: [0, 10_000_000, false],
  senderQuotaBurst: [1, 10_000_000, true],
  repairRequestDelayMs: [0, 3_600_000, false],
  repairRetryMs: [1, 3_600_000, false],
  ownerFetchGraceMs: [0, 3_600_000, false],
  repairResponseDelayMs: [0, 3_600_000, false],
  preferredResponderGraceMs: [0, 3_600_000, false],
  backupResponders: [0, 1_000_000, false],
  preferredResponderAliveMs: [0, 86_400_000, false],
  maxRepairIdsPerMessage: [0, 64, true],
  maxRepairRangesPerMessage: [0, 16, true],
  maxPending: [1, 10_000_000, true],
  maxPendingPerSender: [1, 10_000_000, true],
  maxMissing: [1, 10_000_000, true],
  maxGapPerDetection: [1, 10_000, true],
  maxTrackedOwn: [1, 1_000_000, true],
  maxSeenIds: [1, 100_000_000, true],
  repairCacheSize: [1, 10_000_000, true],
  maxMembers: [1, 10_000_000, true],
  maxTrackedReceipts: [1, 10_000_000, true],
  ackQuorum: [0, 1, false],
};

/**
 * Test-only switches, one per participant rule of spec sections 7 to 13: with a rule's switch on, the engine
 * behaves as an implementation that left the rule out. test/spec/mutations.test.ts turns them on one at a time
 * and shows that every such mutant fails some scenario vector. They are not part of the API: a test passes them
 * as the override `__mutations` (an array of names), which `resolveParams` attaches to the resolved parameters
 * under a symbol; nothing else reads them, and an engine without them checks one absent property per rule.
 */
export const MUTATIONS = [
  "causal-confirm", // 7.4 step 1: causal histories confirm own messages
  "mark-confirm", // 7.4 step 2: marks confirm own messages
  "filter-confirm", // 7.4 step 3: filters confirm own messages
  "filter-one-hit", // 7.4 step 3: a confirmation needs hits under two nonces
  "fill-ratio", // 7.4 step 3: filters over ackMaxFillRatio are ignored
  "filter-lamport-guard", // 7.4 step 3: only messages older than the summary are checked
  "lacking", // 7.4 step 4: an online member that lacks a message brings its resend forward
  "mark-gaps", // 7.4 step 5: marks of third senders open gaps
  "stray-marks", // 7.4 step 5: marks for unknown prefixes are set aside until the sender is heard
  "mark-queue", // 7.3 step 2: the announcement queue
  "spare-slots", // 7.3 step 3: spare mark slots
  "filter-skip-marked", // 7.3 step 5: ids a mark covers stay out of the filter
  "unannounced-sync", // 13: progress never announced keeps a sync owed
  "clock-skew", // 9.3 step 5: timestamps too far ahead are rejected
  "quota", // 9.4: the per-sender quota
  "replayed-sync", // 9.4: replays of recent syncs are rejected
  "lamport-on-delivery", // 9.5: the clock rises to a delivered message's timestamp
  "run-restart", // 10.2: a loss restarts the run
  "tentative-floor", // 10.3: a tentative floor chases one more predecessor
  "causal-deps", // 10.4 step 1: causal-history dependencies
  "sequence-deps", // 10.4 step 2: sequence dependencies and gaps
  "sync-history-gaps", // 10.5: causal histories of sync messages open gaps
  "pending-deadline", // 10.6: pending messages are delivered at their deadline
  "declare-loss", // 10.7: missing entries are given up at their deadline
  "retry-backoff", // 11.1: retries after repairRetryMs, then 2 × repairRetryMs
  "piggyback", // 11.1: requests never asked ride on every outgoing message
  "request-suppression", // 11.1: another member's request postpones ours
  "answer-cancel", // 11.2: a copy on the wire cancels a scheduled answer
  "on-wire", // 11.2: no answer for a message seen on the wire within repairRetryMs / 2
  "preferred-at-once", // 11.2: a preferred responder answers at once
  "resend", // 12: unheard own messages are resent
  "sync-owed", // 13: accepting a content message owes a sync
  "sync-owed-release", // 13: delivering held messages (a loss, a pending deadline, a forgone own version) owes a sync
  "sync-owed-copy", // 13: a copy of a message already held owes a sync (its sender may have missed our summaries)
  "resend-possibly", // 12: a message only one filter hit vouches for, from every member that did not confirm it, is resent
  "equivocation-notice", // 9.6: a member that records a new version names the versions in what it sends for a while
  "own-version-gap", // 9.3 step 7: a version of one's own number that one lacks closes its gap by id on arrival
] as const;
export type Mutation = (typeof MUTATIONS)[number];

const MUTATION_KEY = Symbol("chorus.mutations");

/** Whether a test switched rule `m` off (see MUTATIONS); always false outside the mutation tests. */
export function mutated(p: Params, m: Mutation): boolean {
  const set = (p as unknown as Record<symbol, ReadonlySet<Mutation> | undefined>)[MUTATION_KEY];
  return set?.has(m) === true;
}

/** Merges overrides into the defaults; throws a RangeError naming the parameter for any bad value. */
export function resolveParams(overrides: Partial<Params> = {}): Params {
  const out: Record<string | symbol, unknown> = { ...DEFAULT_PARAMS };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (name === "__mutations") {
      const list = value as unknown as readonly string[];
      const unknown = list.filter((m) => !(MUTATIONS as readonly string[]).includes(m));
      if (unknown.length > 0) throw new RangeError(`unknown mutation ${unknown.join(", ")}`);
      out[MUTATION_KEY] = new Set(list);
      continue;
    }
    if (!(name in DEFAULT_PARAMS)) throw new RangeError(`unknown parameter "${name}"`);
    if (name === "interop" || name === "trackAllReceipts") {
      if (typeof value !== "boolean") throw new TypeError(`parameter ${name} must be a boolean, got ${typeof value}`);
      out[name] = value;
      continue;
    }
    const [min, max, integer] = RANGES[name as NumericKey];
    if (typeof value !== "number" || Number.isNaN(value)) {
      throw new TypeError(`parameter ${name} must be a number, got ${String(value)}`);
    }
    if (value < min || value > max) throw new RangeError(`parameter ${name} must be in ${min}..${max}, got ${value}`);
    if (integer && !Number.isInteger(value)) throw new RangeError(`parameter ${name} must be an integer, got ${value}`);
    out[name] = value;
  }
  return Object.freeze(out) as unknown as Params;
}
