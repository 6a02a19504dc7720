import { reviveHistogram } from "./recorder-merge.js";
import { Histogram, round } from "./stats.js";

/** `path:<call>` for each kind of direct call, made once (a fresh string per call was hashed per call). */
const pathPurposes = new Map<string, string>();

export function pathPurpose(call: string): string {
  let purpose = pathPurposes.get(call);
  if (purpose === undefined) {
    purpose = `path:${call}`;
    pathPurposes.set(call, purpose);
  }
  return purpose;
}

/**
 * What the charts of a report need beyond the headline figures: distributions and a timeline, each of a size
 * fixed in advance (a few hundred numbers), whatever the member and message counts. They are recorded while
 * the run goes (bucketed counts, histograms) and never from per-event lists.
 */

/** Quantiles at which a latency distribution is kept: its CDF at 0.5 % steps, with the tails at 0.1 %. */
export const CDF_QUANTILES: readonly number[] = [
  0.001,
  ...Array.from({ length: 200 }, (_, i) => round((i + 1) / 200, 4)!),
].flatMap((q) => (q === 0.995 ? [q, 0.999] : [q]));

/** A latency distribution: `ms[i]` is its `CDF_QUANTILES[i]`-quantile; `count` samples out of `of` pairs. */
export interface CdfSeries {
  /** Samples (pairs that got there). */
  readonly count: number;
  /** Pairs the share is of: the curve ends at count / of. */
  readonly of: number;
  readonly ms: readonly number[];
}

export interface TimelineSeries {
  /** Virtual ms of the first bucket from the start of the run; the traffic starts at 0 (after the warm-up). */
  readonly bucket_ms: number;
  /** Per bucket: gaps members reported (first "missing" of a (member, message) pair). */
  readonly opened: readonly number[];
  /** Per bucket: reported gaps filled (the message delivered) while still open. */
  readonly repaired: readonly number[];
  /** Per bucket: pairs a member declared lost (it gave up waiting). */
  readonly lost: readonly number[];
  /** Per bucket: pairs declared lost and delivered later all the same. */
  readonly late: readonly number[];
  /** At the end of each bucket: gaps reported and neither filled nor given up on. */
  readonly open: readonly number[];
  /** Per bucket: content messages sent. */
  readonly sent: readonly number[];
  /** Per bucket: mean share of the joined members that were offline. */
  readonly offline_share: readonly number[];
  /** The owner's outages, [from, to] in ms since the traffic started (at most `MAX_OUTAGES`). */
  readonly owner_outages: readonly (readonly [number, number])[];
}

export interface ConvergenceSeries {
  /** Times since send, ms (a log grid). */
  readonly ms: readonly number[];
  /** Share of (message, other node) pairs holding the message by then. */
  readonly held: readonly number[];
  /** Share of the same pairs the sender's receipts showed by then; null for protocols without per-member receipts. */
  readonly shown: readonly number[] | null;
  /** Share of messages the sender saw acknowledged by anyone by then. */
  readonly acknowledged: readonly number[];
}

export interface PurposeBytes {
  readonly sent: number;
  readonly received: number;
}

/** The `series` field of a result: what the report draws. */
export interface SimSeries {
  readonly cdf: {
    readonly delivery: CdfSeries;
    readonly gap_detection: CdfSeries;
    readonly repair: CdfSeries;
    readonly receipts: CdfSeries;
  };
  readonly timeline: TimelineSeries;
  readonly convergence: ConvergenceSeries;
  /** Bytes an ordinary member sent and received per minute of traffic, by purpose (topic purposes, then `path:<call>`). */
  readonly bytes_per_member_per_minute: Readonly<Record<string, PurposeBytes>>;
}

/** A timeline's state, for a merge of shards (`TimeBuckets.absorb`). */
export interface TimeBucketsParts {
  readonly width: number;
  readonly used: number;
  readonly channels: readonly Float64Array[];
}

/** A series recorder's state once its open spans are closed: one shard's share of a split run. */
export interface SeriesParts {
  readonly timeline: TimeBucketsParts;
  readonly held: Histogram;
  readonly shown: Histogram;
  readonly outages: readonly (readonly [number, number])[];
  readonly sentBytes: ReadonlyMap<string, number>;
  readonly receivedBytes: ReadonlyMap<string, number>;
  readonly named: boolean;
}

/** Time spans are summed in units of 1/1024 ms from the origin: sums of them are exact whatever their grouping. */
const SPAN_UNITS = 1024;

const MAX_BUCKETS = 240;
const MAX_OUTAGES = 200;
const FIRST_BUCKET_MS = 1_000;

/**
 * Counts in time buckets that double their width when the run outgrows them: at most `MAX_BUCKETS`
 * buckets, each channel summed exactly, whatever the length of the run.
 */
export class TimeBuckets {
  private width = FIRST_BUCKET_MS;
  private used = 0;
  private readonly channels: Float64Array[];

  constructor(
    private readonly origin: number,
    channels: number,
  ) {
    this.channels = Array.from({ length: channels }, () => new Float64Array(MAX_BUCKETS));
  }

  get bucketMs(): number {
    return this.width;
  }

  get length(): number {
    return this.used;
  }

  private index(at: number): number {
    let i = Math.floor((at - this.origin) / this.width);
    while (i >= MAX_BUCKETS) {
      this.coarsen();
      i = Math.floor((at - this.origin) / this.width);
    }
    if (i + 1 > this.used) this.used = i + 1;
    return i;
  }

  private coarsen(): void {
    for (const c of this.channels) {
      for (let i = 0; i < MAX_BUCKETS / 2; i++) c[i] = c[2 * i]! + c[2 * i + 1]!;
      c.fill(0, MAX_BUCKETS / 2);
    }
    this.width *= 2;
    this.used = Math.ceil(this.used / 2);
  }

  /** Adds `value` to `channel` in the bucket of `at`; before the origin, nothing. */
  add(channel: number, at: number, value = 1): void {
    if (at < this.origin) return;
    this.channels[channel]![this.index(at)]! += value;
  }

  /**
   * Adds the time of [from, to) that falls in each bucket (a time integral). Instants are rounded to 1/1024 ms
   * first, so each piece is a difference of two such instants: the pieces of one span add up to the same total
   * however bucket boundaries cut it, and totals are exact, in whatever order spans are added (a split run).
   */
  addSpan(channel: number, from: number, to: number): void {
    const start = Math.max(from, this.origin);
    if (!(to > start)) return;
    this.index(to);
    const c = this.channels[channel]!;
    const q = (at: number) => Math.round((at - this.origin) * SPAN_UNITS) / SPAN_UNITS;
    let t = start;
    while (t < to) {
      const i = Math.floor((t - this.origin) / this.width);
      const end = Math.min(to, this.origin + (i + 1) * this.width);
      c[i]! += q(end) - q(t);
      t = end;
    }
  }

  parts(): TimeBucketsParts {
    return { width: this.width, used: this.used, channels: this.channels };
  }

  /** Adds another timeline of the same origin and channels, coarsening whichever is finer. */
  absorb(other: TimeBucketsParts): void {
    while (this.width < other.width) this.coarsen();
    const copy = new TimeBuckets(this.origin, this.channels.length);
    copy.width = other.width;
    copy.used = other.used;
    for (let k = 0; k < this.channels.length; k++) copy.channels[k]!.set(other.channels[k]!);
    while (copy.width < this.width) copy.coarsen();
    for (let k = 0; k < this.channels.length; k++) {
      const into = this.channels[k]!;
      const from = copy.channels[k]!;
      for (let i = 0; i < MAX_BUCKETS; i++) into[i]! += from[i]!;
    }
    this.used = Math.max(this.used, copy.used);
  }

  /** Extends the series to `at` (so that a quiet end still has its buckets). */
  reach(at: number): void {
    if (at >= this.origin) this.index(at);
  }

  values(channel: number): number[] {
    return Array.from(this.channels[channel]!.subarray(0, this.used));
  }
}

const OPENED = 0;
const REPAIRED = 1;
const LOST = 2;
const LOST_OPEN = 3;
const LATE = 4;
const SENT = 5;
const OFFLINE = 6;
const CHANNELS = 7;

/** The histograms the recorder keeps anyway, handed over when the run ends. */
export interface FinishedHistograms {
  readonly delivery: Histogram;
  readonly detection: Histogram;
  readonly repair: Histogram;
  readonly receipts: Histogram;
  readonly firstAck: Histogram;
  readonly expected: number;
  readonly needing: number;
  readonly detected: number;
  readonly receiptPairs: number;
  readonly messagesSent: number;
  readonly trafficMinutes: number;
  readonly endMs: number;
}

/**
 * The recorder's companion for the report: the timeline (gaps, offline members, owner outages), receipts
 * convergence and bytes by purpose. Only ordinary members count, as in the metrics.
 */
export class SeriesRecorder {
  private readonly timeline: TimeBuckets;
  private readonly offlineSince: Float64Array;
  private readonly held: Histogram;
  private readonly shown: Histogram;
  private readonly outages: [number, number][] = [];
  private outageSince = Number.NaN;
  private readonly sentBytes = new Map<string, number>();
  private readonly receivedBytes = new Map<string, number>();
  private named = false;

  constructor(
    private readonly members: number,
    nodes: number,
    /** Where the traffic starts: the end of the warm-up. */
    private readonly origin: number,
  ) {
    this.timeline = new TimeBuckets(origin, CHANNELS);
    this.offlineSince = new Float64Array(nodes).fill(Number.NaN);
    this.held = new Histogram();
    this.shown = new Histogram();
  }

  sent(at: number): void {
    this.timeline.add(SENT, at);
  }

  gapOpened(node: number, at: number): void {
    if (node < this.members) this.timeline.add(OPENED, at);
  }

  /** A pair was delivered; `detected`/`lost`: whether it had been reported missing / declared lost. */
  delivered(node: number, sinceSend: number, at: number, detected: boolean, lost: boolean): void {
    this.held.add(sinceSend);
    if (node >= this.members) return;
    if (lost) this.timeline.add(LATE, at);
    else if (detected) this.timeline.add(REPAIRED, at);
  }

  /** A pair was declared lost (first time, not delivered); `open`: it had been reported missing. */
  lost(node: number, at: number, open: boolean): void {
    if (node >= this.members) return;
    this.timeline.add(LOST, at);
    if (open) this.timeline.add(LOST_OPEN, at);
  }

  /** The sender first showed a named node as holding its message. */
  shownTo(sinceSend: number): void {
    this.named = true;
    this.shown.add(sinceSend);
  }

  offline(node: number, at: number): void {
    if (node === this.members) this.outageSince = at;
    else this.offlineSince[node] = at;
  }

  online(node: number, at: number): void {
    if (node === this.members) {
      this.closeOutage(at);
      return;
    }
    const since = this.offlineSince[node]!;
    if (Number.isNaN(since)) return;
    this.offlineSince[node] = Number.NaN;
    this.timeline.addSpan(OFFLINE, since, at);
  }

  private closeOutage(at: number): void {
    const since = this.outageSince;
    if (Number.isNaN(since)) return;
    this.outageSince = Number.NaN;
    if (at <= this.origin || this.outages.length >= MAX_OUTAGES) return;
    this.outages.push([Math.max(0, Math.round(since - this.origin)), Math.round(at - this.origin)]);
  }

  /** Bytes a node sent or received for `purpose` (already filtered to the measured time). */
  /** Closes the spans still open at `endMs` (offline members, an owner outage): before `parts`. */
  close(endMs: number): void {
    for (let n = 0; n < this.offlineSince.length; n++) this.online(n, endMs);
  }

  /** What this recorder holds, by reference, once `close` has run. */
  parts(): SeriesParts {
    const { held, shown, outages, sentBytes, receivedBytes, named } = this;
    return { timeline: this.timeline.parts(), held, shown, outages, sentBytes, receivedBytes, named };
  }

  /** Adds a shard's series; `first`: the shard whose replicated records (messages sent) count. */
  absorb(shard: SeriesParts, first: boolean): void {
    const timeline = shard.timeline;
    if (!first) {
      // Every shard counts the messages sent (the traffic is replicated): only the first one's count.
      const channels = timeline.channels.map((c, k) => (k === SENT ? new Float64Array(c.length) : c));
      this.timeline.absorb({ ...timeline, channels });
    } else this.timeline.absorb(timeline);
    this.held.merge(reviveHistogram(shard.held));
    this.shown.merge(reviveHistogram(shard.shown));
    for (const o of shard.outages) if (this.outages.length < MAX_OUTAGES) this.outages.push([o[0], o[1]]);
    for (const [k, v] of shard.sentBytes) this.sentBytes.set(k, (this.sentBytes.get(k) ?? 0) + v);
    for (const [k, v] of shard.receivedBytes) this.receivedBytes.set(k, (this.receivedBytes.get(k) ?? 0) + v);
    this.named ||= shard.named;
  }

  bytes(node: number, purpose: string, sent: number, received: number): void {
    if (node >= this.members) return;
    if (sent !== 0) this.sentBytes.set(purpose, (this.sentBytes.get(purpose) ?? 0) + sent);
    if (received !== 0) this.receivedBytes.set(purpose, (this.receivedBytes.get(purpose) ?? 0) + received);
  }

  finish(h: FinishedHistograms): SimSeries {
    this.close(h.endMs);
    this.timeline.reach(h.endMs);
    const others = h.messagesSent === 0 ? 0 : h.messagesSent * (this.offlineSince.length - 1);
    return {
      cdf: {
        delivery: cdf(h.delivery, h.expected),
        gap_detection: cdf(h.detection, h.needing),
        repair: cdf(h.repair, h.detected),
        receipts: cdf(h.receipts, h.receiptPairs),
      },
      timeline: this.timelineSeries(),
      convergence: this.convergence(h, others),
      bytes_per_member_per_minute: this.perPurpose(h.trafficMinutes),
    };
  }

  private timelineSeries(): TimelineSeries {
    const t = this.timeline;
    const opened = t.values(OPENED);
    const repaired = t.values(REPAIRED);
    const lostOpen = t.values(LOST_OPEN);
    const open: number[] = [];
    let level = 0;
    for (let i = 0; i < opened.length; i++) {
      level += opened[i]! - repaired[i]! - lostOpen[i]!;
      open.push(level);
    }
    const perMember = this.members * t.bucketMs;
    return {
      bucket_ms: t.bucketMs,
      opened,
      repaired,
      lost: t.values(LOST),
      late: t.values(LATE),
      open,
      sent: t.values(SENT),
      offline_share: t.values(OFFLINE).map((v) => round(v / perMember, 4)!),
      owner_outages: this.outages,
    };
  }

  private convergence(h: FinishedHistograms, others: number): ConvergenceSeries {
    const top = Math.max(1_000, h.endMs - this.origin);
    const ms: number[] = [];
    for (let k = 10; 10 ** (k / 10) < top * 1.26; k++) ms.push(round(10 ** (k / 10), 0)!);
    const share = (counts: number[], of: number) => counts.map((c) => (of === 0 ? 0 : round(c / of, 5)!));
    return {
      ms,
      held: share(this.held.cumulative(ms), others),
      shown: this.named ? share(this.shown.cumulative(ms), others) : null,
      acknowledged: share(h.firstAck.cumulative(ms), h.messagesSent),
    };
  }

  private perPurpose(minutes: number): Record<string, PurposeBytes> {
    const keys = [...new Set([...this.sentBytes.keys(), ...this.receivedBytes.keys()])].sort(byPurpose);
    const out: Record<string, PurposeBytes> = {};
    const per = (v: number | undefined) => round((v ?? 0) / Math.max(1, this.members) / minutes, 0)!;
    for (const k of keys) out[k] = { sent: per(this.sentBytes.get(k)), received: per(this.receivedBytes.get(k)) };
    return out;
  }
}

const PURPOSE_ORDER = ["content", "resend", "sync", "repair-request", "repair-response", "store-query"];

/** Topic purposes in the order of a message's life, then the direct path's calls by name. */
function byPurpose(a: string, b: string): number {
  const ia = PURPOSE_ORDER.indexOf(a);
  const ib = PURPOSE_ORDER.indexOf(b);
  if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  return a < b ? -1 : a > b ? 1 : 0;
}

function cdf(h: Histogram, of: number): CdfSeries {
  return {
    count: h.count,
    of,
    ms: h.count === 0 ? [] : CDF_QUANTILES.map((q) => round(h.quantile(q), 1)!),
  };
}
