// The mutants of the reference engine that test/spec/mutations.test.ts runs against the scenario vectors: one per
// participant rule of spec sections 7 to 13 (the switches of MUTATIONS in src/core/params.ts) and one per default
// parameter of section 18 (another default; a scenario's own params still win).
import { DEFAULT_PARAMS, type Params } from "../../src/core/index.js";

/** Another default for each parameter: a value an implementation could plausibly get wrong, in a direction the
 * traces can see. Random delays are pinned exactly where a trace lists its draws (spec Appendix B). */
export const PARAM_MUTANTS: Partial<Record<keyof Params, number | boolean>> = {
  causalHistorySize: 3,
  overheadBudgetBytes: 384,
  ackFilterBitsPerId: 10,
  ackMaxFilterBytes: 64,
  ackMaxMarks: 1,
  ackRecentIds: 1,
  ackFilterCheckDepth: 1,
  ackMaxFillRatio: 0.3,
  dependencyTimeoutMs: 60_000,
  joinGraceMs: 0,
  maxFutureSkewMs: 600_000,
  resendAfterMs: 20_000,
  resendBackoff: 3,
  maxResends: 2,
  syncIntervalMs: 100_000,
  syncJitter: 0.25,
  backlogSyncIntervalMs: 20_000,
  controlBudgetPer600s: 2,
  responseBudgetPer600s: 1,
  senderQuotaPer600s: 0,
  senderQuotaBurst: 1,
  repairRequestDelayMs: 500,
  repairRetryMs: 4_000,
  ownerFetchGraceMs: 2_000,
  repairResponseDelayMs: 2_000,
  preferredResponderGraceMs: 4_000,
  backupResponders: 0,
  preferredResponderAliveMs: 0,
  maxRepairIdsPerMessage: 1,
  maxRepairRangesPerMessage: 1,
  maxPending: 1,
  maxPendingPerSender: 1,
  maxMissing: 1,
  maxGapPerDetection: 1,
  maxTrackedOwn: 1,
  maxSeenIds: 1,
  repairCacheSize: 1,
  maxMembers: 1,
  maxTrackedReceipts: 1,
  ackQuorum: 0.75,
  interop: true,
  trackAllReceipts: true,
};

export const EVERY_PARAM = Object.keys(DEFAULT_PARAMS) as (keyof Params)[];
