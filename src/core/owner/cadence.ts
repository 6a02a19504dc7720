/**
 * How often a member sends the owner a receipt report (spec 14.3.2). Every member that has news reports at most
 * every 250 ms, which at 1,000 members is 4,000 signed reports a second for the owner to verify and merge, and
 * grows with the channel. The interval grows with the roster instead, so that the owner receives at most
 * OWNER_REPORTS_PER_SECOND reports a second in total whatever the channel's size: a receipt then reaches its
 * sender about half an interval later at the median (measured in docs/parameters.md, item 9b).
 */

/** A member's shortest time between two reports, in ms. */
export const MIN_REPORT_INTERVAL_MS = 250;
/** Reports a second the owner of a channel receives in total, at most, when every member has news all the time. */
export const OWNER_REPORTS_PER_SECOND = 2_000;

/**
 * The least time between two reports of a member of a roster of `rosterSize` members, in whole ms:
 * max(`floorMs`, ceil(`rosterSize` x 1,000 / `perSecond`)). `perSecond` 0 means no bound (the floor only).
 */
export function reportIntervalMs(
  rosterSize: number,
  floorMs = MIN_REPORT_INTERVAL_MS,
  perSecond = OWNER_REPORTS_PER_SECOND,
): number {
  if (!Number.isInteger(rosterSize) || rosterSize < 0) {
    throw new RangeError(`roster size must be a non-negative integer, got ${rosterSize}`);
  }
  if (!(floorMs >= 0) || !Number.isFinite(floorMs))
    throw new RangeError(`floorMs must be finite and >= 0, got ${floorMs}`);
  if (!(perSecond >= 0) || !Number.isFinite(perSecond)) {
    throw new RangeError(`perSecond must be finite and >= 0 (0: no bound), got ${perSecond}`);
  }
  if (perSecond === 0) return floorMs;
  return Math.max(floorMs, Math.ceil((rosterSize * 1_000) / perSecond));
}
