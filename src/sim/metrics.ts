import type { RejectionCode } from "../core/index.js";
import { receiptTimes, trafficOverContent } from "./receipt-stats.js";
import { mergeRecorderParts, RECORDER_FIELDS, type RecorderParts } from "./recorder-merge.js";
import { pathPurpose, SeriesRecorder, type SimSeries } from "./series.js";
import { Histogram, peakInWindow, round, sortKeys } from "./stats.js";

/**
 * Ground truth of a run, kept by the simulator beside the protocol, and the metrics computed from it.
 *
 * Vocabulary. A *node* is an ordinary member or the owner. A *pair* (m, x) is a node m and a content
 * message x. The pair is *expected* when m is an ordinary member, x was sent by another node, and x
 * was sent at or after m joined (earlier messages are history a newcomer is not owed). Everything is
 * measured in virtual milliseconds from the moment x was first published.
 *
 * Metric definitions (the JSON fields):
 * - delivery.expected: number of expected pairs. delivery.delivered: expected pairs whose member
 *   delivered x (an application-level "delivered" event) by the end of the run. ratio = delivered / expected.
 *   duplicates: "delivered" events beyond the first for one pair (any node; must be 0).
 *   lost: expected pairs not delivered by the end (expected - delivered), whatever the protocol said.
 * - latency_ms.delivery_p50/p99: over delivered expected pairs, delivery time - send time.
 * - latency_ms.gap_detection_p50/p90: over expected pairs whose first copy (the original publication)
 *   was dropped by the network and whose member reported x missing before delivering it:
 *   time of the first "missing" report naming x (by id or by sender and sequence number) - send time.
 * - latency_ms.repair_p50/p99: over the same pairs, when x was delivered in the end: delivery time -
 *   time of the first "missing" report.
 * - overhead_bytes_per_message: over every publication on the channel (content, sync, repair request,
 *   repair response, resend; each counted once, not per receiver): wire bytes - content bytes.
 * - bandwidth_bytes_per_member_per_minute: (bytes ordinary members published + bytes that reached
 *   them, over the whole run, settle phase included) / members / minutes of traffic (first to last
 *   content message): what a minute of chat costs a member, repairs and receipts included.
 * - control_messages_per_member_per_600s: for each ordinary member, the largest number of sync
 *   messages, repair requests and repair responses it published within any 600 s window (the
 *   rate-limit window of Waku RLN); the mean over members. detail.control_messages_max_member_per_600s
 *   is the largest.
 * - repair_broadcasts_per_loss: repair responses published (by anyone, owner included) / number of
 *   content messages whose original publication failed to reach at least one node that should have it.
 *   With independent loss p and one broadcast reaching each node with probability 1 - p, the floor is
 *   about 1 / (1 - p) at large member counts (1.25 at 20 % loss).
 * - acks.knowledge_p50_ms/p99_ms: over every acknowledgement a sender learns (one per message and
 *   acknowledging node; for protocols without per-member receipts, one per message): time of learning
 *   - send time.
 * - acks.k_of_n_abs_error_mean: over content messages the sender still tracks at the end,
 *   |receipts the sender's app shows - nodes other than the sender that delivered x| / (nodes - 1).
 *   With an owner, the app shows the sender's own receipts merged with the owner's (as the node's API
 *   does); detail.k_of_n_sender_local_error_mean is the same error for the sender's own receipts alone.
 * - acks.false_ack_rate: acknowledgements a sender learnt for a node that had not received x at that
 *   moment (no copy had reached it) / all acknowledgements learnt.
 * - undetected_gaps: expected pairs never delivered, of which no copy ever reached the member, and that
 *   the member never reported missing or lost: messages a member never received and never knew it missed.
 * - receipts.latency_p50_ms/p99_ms: over (message, recipient) pairs, recipient = any node other than the
 *   sender that delivered the message, once the sender's receipts (its engine's "acknowledged" events, owner
 *   news applied) include the recipient: that time - the recipient's delivery time.
 * - receipts.complete_p50_ms/p99_ms: over messages whose sender by the end shows every node that holds them:
 *   the time the last of those was shown - send time (the sender's count then equals the holders).
 * - bandwidth_vs_content: for each ordinary member, (bytes it sent + bytes that reached it, on the topic and
 *   on the direct path to the owner, after the warm-up) / (wire bytes of the content messages it delivered,
 *   each once at its size as sent); the mean over members. 1 is the floor: every chat message received once
 *   and nothing else. detail.bandwidth_vs_payload divides by the chat content alone instead.
 * - topic_repair_broadcasts_per_loss: repair requests and repair answers published on the topic / content
 *   messages whose original publication missed at least one node (as repair_broadcasts_per_loss).
 * - owner.cpu_us_per_message: CPU time of the owner's service work (reports with their signature checks, the
 *   ledger, news, the store, fetch answers), after the warm-up, / content messages sent. Measured on the
 *   machine's clocks (sim/owner-clock.ts; signature checks at a measured cost, sim/signature-ledger.ts): it
 *   varies between runs and is left out of `resultJson(r, false)`.
 * - owner.bytes_per_message: bytes the owner received and sent on direct paths, after the warm-up / content
 *   messages sent. Both owner figures are null without the owner path.
 */
export interface SimMetrics {
  delivery: {
    expected: number;
    delivered: number;
    ratio: number | null;
    duplicates: number;
    lost: number;
  };
  latency_ms: {
    delivery_p50: number | null;
    delivery_p99: number | null;
    gap_detection_p50: number | null;
    gap_detection_p90: number | null;
    repair_p50: number | null;
    repair_p99: number | null;
  };
  overhead_bytes_per_message: { mean: number | null; p50: number | null; p99: number | null };
  bandwidth_bytes_per_member_per_minute: number | null;
  control_messages_per_member_per_600s: number | null;
  repair_broadcasts_per_loss: number | null;
  acks: {
    knowledge_p50_ms: number | null;
    knowledge_p99_ms: number | null;
    k_of_n_abs_error_mean: number | null;
    false_ack_rate: number | null;
  };
  undetected_gaps: number;
  receipts: {
    latency_p50_ms: number | null;
    latency_p99_ms: number | null;
    complete_p50_ms: number | null;
    complete_p99_ms: number | null;
  };
  bandwidth_vs_content: number | null;
  topic_repair_broadcasts_per_loss: number | null;
  owner: { cpu_us_per_message: number | null; bytes_per_message: number | null };
}

/** What the owner path adds to a run's figures (set by the protocol when it has one). */
export interface OwnerPathFigures {
  readonly detail: Record<string, unknown>;
  /** CPU µs of the owner's service work. */
  readonly cpuUs: number;
  /** Bytes the owner received and sent on direct paths. */
  readonly bytes: number;
}

/** Figures beyond the required ones, for diagnosis: where the numbers above come from. */
export interface SimDetail {
  simulated_ms: number;
  events: number;
  publications: Record<string, number>;
  publication_bytes: Record<string, number>;
  overhead_content_p99: number | null;
  overhead_max: number | null;
  control_messages_max_member_per_600s: number | null;
  /** Expected pairs whose original copy was dropped: what the protocol had to repair. */
  pairs_needing_repair: number;
  /** Of those, pairs the member reported missing before the message came back. */
  pairs_detected: number;
  /** "missing" reports for a pair whose original copy was not dropped (it was still in flight). */
  spurious_missing: number;
  /** Pairs the member declared lost (it gave up waiting). */
  declared_lost: number;
  /** Declared lost, yet delivered later (a repair arrived after the timeout). */
  declared_lost_then_delivered: number;
  messages_needing_repair: number;
  /** Mean share of the run ordinary members spent joined and online. */
  member_online_share: number | null;
  resends: number;
  acks_learnt: number;
  first_ack_p50_ms: number | null;
  first_ack_p99_ms: number | null;
  /** Content messages the sender saw acknowledged by at least one node by the end. */
  acknowledged_share: number | null;
  k_of_n_samples: number;
  /** k-of-N error of the sender's own receipts, without the owner's (equal to the above without an owner). */
  k_of_n_sender_local_error_mean: number | null;
  /** Alternative k-of-N reading for protocols without per-member receipts (SDS: "acknowledged" read as "everyone"). */
  k_of_n_acknowledged_as_all_error_mean: number | null;
  rejected: Record<string, number>;
  network: {
    copies: number;
    loss_measured: number | null;
    loss_configured: number;
    dropped: { independent: number; burst: number; partition: number; offline: number };
    latency_p50_ms: number | null;
    latency_p99_ms: number | null;
  };
  /** (message, recipient) pairs delivered, and the share of them the sender showed by the end. */
  receipts_pairs: number;
  receipts_shown_share: number | null;
  /** Messages held by someone besides the sender, and the share of them the sender showed complete. */
  receipts_messages: number;
  receipts_complete_share: number | null;
  bandwidth_vs_payload: number | null;
  /** Repair requests published on the topic (what topic_repair_broadcasts_per_loss adds to the answers). */
  topic_repair_requests: number;
  /** The direct path: calls by kind, their failures and bytes, and the owner's counters; null without it. */
  owner_path: Record<string, unknown> | null;
}

export interface Undelivered {
  readonly node: number;
  readonly x: number;
  readonly sentAt: number;
  readonly arrivedAt: number | null;
  readonly detectedAt: number | null;
  readonly declaredLost: boolean;
}

const F_ORIGINAL_DROPPED = 1;
const F_DECLARED_LOST = 2;
const F_DETECTED = 4;

export type Purpose = "content" | "resend" | "sync" | "repair-request" | "repair-response" | "store-query";

/** Purposes that count as control messages of a member (sync + repair). */
const CONTROL: ReadonlySet<string> = new Set(["sync", "repair-request", "repair-response"]);

export class Recorder {
  readonly sentAt: Float64Array;
  readonly sender: Int32Array;
  private readonly deliveredAt: Float64Array;
  private readonly arrivedAt: Float64Array;
  private readonly detectedAt: Float64Array;
  private readonly flags: Uint8Array;
  readonly joinedAt: Float64Array;
  readonly onlineMs: Float64Array;
  private readonly sentBytes: Float64Array;
  private readonly receivedBytes: Float64Array;
  private readonly controlTimes: number[][] = [];
  private sentCount = 0;
  /** Counters that a merge of shards adds up (recorder-merge.ts). */
  private readonly tally = { duplicates: 0, spurious: 0, acks: 0, unnamedFalseAcks: 0, repairBroadcasts: 0 };
  private readonly overhead = new Histogram(0.5);
  private readonly overheadContent = new Histogram(0.5);
  private readonly knowledge = new Histogram();
  private readonly firstAck: Float64Array;
  readonly publications: Record<string, number> = {};
  readonly publicationBytes: Record<string, number> = {};
  readonly rejected: Record<string, number> = {};
  /** Per content message: the receipt count the sender's app shows at the end, its own alone, SDS's reading; NaN for none. */
  private readonly shownCount: Float64Array;
  private readonly shownLocal: Float64Array;
  private readonly shownAsAll: Float64Array;
  /** When the sender first showed node n holding x, at n * messages + x. */
  private readonly ackedAt: Float64Array;
  /** Wire and content bytes of each content message, as first published. */
  private readonly contentWire: Float64Array;
  private readonly contentPayload: Float64Array;
  ownerPath: OwnerPathFigures | undefined;
  /** The timeline, distributions and bytes by purpose that the report draws. */
  readonly series: SeriesRecorder;

  constructor(
    /** Ordinary members are nodes 0..members-1; the owner, if any, is node `members`. */
    readonly members: number,
    readonly nodes: number,
    readonly messages: number,
    /** Publications and bytes before this instant (the warm-up) are not counted. */
    readonly measureFrom = Number.NEGATIVE_INFINITY,
  ) {
    const pairs = nodes * messages;
    this.sentAt = new Float64Array(messages).fill(Number.NaN);
    this.sender = new Int32Array(messages).fill(-1);
    this.deliveredAt = new Float64Array(pairs).fill(Number.NaN);
    this.arrivedAt = new Float64Array(pairs).fill(Number.NaN);
    this.detectedAt = new Float64Array(pairs).fill(Number.NaN);
    this.flags = new Uint8Array(pairs);
    this.joinedAt = new Float64Array(nodes).fill(Number.NaN);
    this.onlineMs = new Float64Array(nodes);
    this.sentBytes = new Float64Array(nodes);
    this.receivedBytes = new Float64Array(nodes);
    for (let i = 0; i < nodes; i++) this.controlTimes.push([]);
    this.firstAck = new Float64Array(messages).fill(Number.NaN);
    this.ackedAt = new Float64Array(pairs).fill(Number.NaN);
    this.contentWire = new Float64Array(messages);
    this.contentPayload = new Float64Array(messages);
    this.shownCount = new Float64Array(messages).fill(Number.NaN);
    this.shownLocal = new Float64Array(messages).fill(Number.NaN);
    this.shownAsAll = new Float64Array(messages).fill(Number.NaN);
    this.series = new SeriesRecorder(members, nodes, measureFrom);
  }

  get messagesSent(): number {
    return this.sentCount;
  }

  /** What this recorder holds, by reference: a shard's share of a run split across workers (recorder-merge.ts). */
  parts(): RecorderParts {
    const own = this as unknown as Record<(typeof RECORDER_FIELDS)[number], unknown>;
    const fields = Object.fromEntries(RECORDER_FIELDS.map((k) => [k, own[k]]));
    return { ...fields, sentCount: this.sentCount, series: this.series.parts() } as RecorderParts;
  }

  /** Adds the parts of one shard; `first`: the one whose replicated records (messages sent) count. */
  absorb(shard: RecorderParts, first: boolean): void {
    mergeRecorderParts(this.parts(), shard, first);
    this.series.absorb(shard.series, first);
    if (first) this.sentCount = shard.sentCount;
  }

  registerMessage(x: number, sender: number, at: number): void {
    this.sentAt[x] = at;
    this.sender[x] = sender;
    this.sentCount++;
    this.series.sent(at);
    // The sender holds its own message from the start.
    this.deliveredAt[sender * this.messages + x] = at;
    this.arrivedAt[sender * this.messages + x] = at;
  }

  joined(node: number, at: number): void {
    this.joinedAt[node] = at;
  }

  published(node: number, purpose: Purpose, wireBytes: number, contentBytes: number, x: number, at: number): void {
    if (purpose === "content" && x >= 0 && this.contentWire[x] === 0) {
      this.contentWire[x] = wireBytes;
      this.contentPayload[x] = contentBytes;
    }
    if (at < this.measureFrom) return;
    this.publications[purpose] = (this.publications[purpose] ?? 0) + 1;
    this.publicationBytes[purpose] = (this.publicationBytes[purpose] ?? 0) + wireBytes;
    this.sentBytes[node]! += wireBytes;
    this.series.bytes(node, purpose, wireBytes, 0);
    if (purpose !== "store-query") {
      this.overhead.add(wireBytes - contentBytes);
      if (purpose === "content") this.overheadContent.add(wireBytes - contentBytes);
    }
    if (CONTROL.has(purpose)) this.controlTimes[node]!.push(at);
    if (purpose === "repair-response" && x >= 0) this.tally.repairBroadcasts++;
  }

  /** Bytes that reached a node (whether or not the protocol then used them), published for `purpose`. */
  received(node: number, wireBytes: number, at: number, purpose: Purpose): void {
    if (at < this.measureFrom) return;
    this.receivedBytes[node]! += wireBytes;
    this.series.bytes(node, purpose, 0, wireBytes);
  }

  /** Bytes `node` sent and received on a direct path (to or from the owner), outside the topic, in a `call`. */
  direct(node: number, sent: number, received: number, at: number, call: string): void {
    if (at < this.measureFrom) return;
    this.sentBytes[node]! += sent;
    this.receivedBytes[node]! += received;
    this.series.bytes(node, pathPurpose(call), sent, received);
  }

  /** A copy of content message x reached `node` (any publication carrying it). */
  arrived(node: number, x: number, at: number): void {
    const i = node * this.messages + x;
    if (Number.isNaN(this.arrivedAt[i]!)) this.arrivedAt[i] = at;
  }

  originalDropped(node: number, x: number): void {
    this.flags[node * this.messages + x]! |= F_ORIGINAL_DROPPED;
  }

  delivered(node: number, x: number, at: number): void {
    const i = node * this.messages + x;
    if (Number.isNaN(this.deliveredAt[i]!)) {
      this.deliveredAt[i] = at;
      const f = this.flags[i]!;
      if (this.sender[x] !== node) {
        this.series.delivered(node, at - this.sentAt[x]!, at, (f & F_DETECTED) !== 0, (f & F_DECLARED_LOST) !== 0);
      }
    } else if (this.sender[x] !== node) this.tally.duplicates++;
    // Some protocols deliver a message whose bytes arrived through another path (a store query).
    if (Number.isNaN(this.arrivedAt[i]!)) this.arrivedAt[i] = at;
  }

  missing(node: number, x: number, at: number): void {
    const i = node * this.messages + x;
    if (this.flags[i]! & F_DETECTED) return;
    if (!Number.isNaN(this.deliveredAt[i]!)) return;
    this.flags[i]! |= F_DETECTED;
    this.detectedAt[i] = at;
    if (!(this.flags[i]! & F_ORIGINAL_DROPPED)) this.tally.spurious++;
    this.series.gapOpened(node, at);
  }

  lost(node: number, x: number, at: number): void {
    const i = node * this.messages + x;
    const f = this.flags[i]!;
    if (!(f & F_DECLARED_LOST) && Number.isNaN(this.deliveredAt[i]!)) {
      this.series.lost(node, at, (f & F_DETECTED) !== 0);
    }
    this.flags[i] = f | F_DECLARED_LOST;
  }

  /**
   * The sender of x learnt that `by` holds it (by = -1: someone, unnamed). A named acknowledgement (once per
   * message and node: engines report each once) is judged false at the end, when every node's arrivals are known
   * (a run split across workers learns them late): false when `by` had no copy of x at that moment.
   */
  acknowledged(x: number, by: number, at: number): void {
    this.tally.acks++;
    const sent = this.sentAt[x]!;
    this.knowledge.add(at - sent);
    if (Number.isNaN(this.firstAck[x]!)) this.firstAck[x] = at;
    if (by >= 0) {
      const i = by * this.messages + x;
      if (Number.isNaN(this.ackedAt[i]!)) {
        this.ackedAt[i] = at;
        this.series.shownTo(at - sent);
      }
    } else {
      // Unnamed acknowledgement: false when no other node had received x by then.
      let anyone = false;
      for (let n = 0; n < this.nodes && !anyone; n++) {
        if (n === this.sender[x]) continue;
        const arrived = this.arrivedAt[n * this.messages + x]!;
        if (!Number.isNaN(arrived) && arrived <= at) anyone = true;
      }
      if (!anyone) this.tally.unnamedFalseAcks++;
    }
  }

  reject(code: RejectionCode): void {
    this.rejected[code] = (this.rejected[code] ?? 0) + 1;
  }

  /** Expected pairs not delivered by the end, first `limit` of them: for diagnosis and test messages. */
  undelivered(limit = 20): Undelivered[] {
    const out: Undelivered[] = [];
    for (let node = 0; node < this.members && out.length < limit; node++) {
      for (let x = 0; x < this.messages && out.length < limit; x++) {
        const sent = this.sentAt[x]!;
        if (Number.isNaN(sent) || this.sender[x] === node || !(sent >= this.joinedAt[node]!)) continue;
        const i = node * this.messages + x;
        if (!Number.isNaN(this.deliveredAt[i]!)) continue;
        const d = this.detectedAt[i]!;
        const a = this.arrivedAt[i]!;
        out.push({
          node,
          x,
          sentAt: sent,
          arrivedAt: Number.isNaN(a) ? null : a,
          detectedAt: Number.isNaN(d) ? null : d,
          declaredLost: (this.flags[i]! & F_DECLARED_LOST) !== 0,
        });
      }
    }
    return out;
  }

  /** Nodes other than the sender of x that delivered it by the end. */
  holders(x: number): number {
    let n = 0;
    for (let node = 0; node < this.nodes; node++) {
      if (node === this.sender[x]) continue;
      if (!Number.isNaN(this.deliveredAt[node * this.messages + x]!)) n++;
    }
    return n;
  }

  /** The sender's receipt count for x at the end; `acknowledgedAsAll`: the count an SDS app would show. */
  receipts(x: number, count: number | undefined, acknowledgedAsAll?: boolean, localCount?: number): void {
    if (count !== undefined) this.shownCount[x] = count;
    const local = localCount ?? count;
    if (local !== undefined) this.shownLocal[x] = local;
    if (acknowledgedAsAll !== undefined) this.shownAsAll[x] = acknowledgedAsAll ? 1 : 0;
  }

  /** k-of-N errors over the messages with receipts, in message order, once every node's deliveries are known. */
  private kOfNStats() {
    const out = { all: [] as number[], local: [] as number[], asAll: [] as number[] };
    const others = this.nodes - 1;
    for (let x = 0; x < this.messages; x++) {
      const count = this.shownCount[x]!;
      const local = this.shownLocal[x]!;
      const asAll = this.shownAsAll[x]!;
      if (Number.isNaN(count) && Number.isNaN(local) && Number.isNaN(asAll)) continue;
      const truth = this.holders(x);
      if (!Number.isNaN(count)) out.all.push(Math.abs(count - truth) / others);
      if (!Number.isNaN(local)) out.local.push(Math.abs(local - truth) / others);
      if (!Number.isNaN(asAll)) out.asAll.push(Math.abs((asAll === 1 ? others : 0) - truth) / others);
    }
    return out;
  }

  /** Named acknowledgements learnt for a node that had no copy of the message then (see `acknowledged`). */
  private falseNamedAcks(): number {
    let n = 0;
    for (let i = 0; i < this.ackedAt.length; i++) {
      const at = this.ackedAt[i]!;
      if (Number.isNaN(at)) continue;
      const arrived = this.arrivedAt[i]!;
      if (Number.isNaN(arrived) || arrived > at) n++;
    }
    return n;
  }

  /** Delivery, detection and repair over every (member, message) pair a member should have received. */
  private pairStats() {
    const M = this.messages;
    const out = {
      delivery: new Histogram(),
      detection: new Histogram(),
      repair: new Histogram(),
      expected: 0,
      delivered: 0,
      undetected: 0,
      needing: 0,
      detected: 0,
      declaredLost: 0,
      lostThenDelivered: 0,
      messagesNeedingRepair: 0,
    };
    const messageNeedsRepair = new Uint8Array(M);
    for (let node = 0; node < this.nodes; node++) {
      const joined = this.joinedAt[node]!;
      const ordinary = node < this.members;
      for (let x = 0; x < M; x++) {
        const sent = this.sentAt[x]!;
        if (Number.isNaN(sent) || this.sender[x] === node || !(sent >= joined)) continue;
        const i = node * M + x;
        const f = this.flags[i]!;
        const got = this.deliveredAt[i]!;
        if (f & F_ORIGINAL_DROPPED) messageNeedsRepair[x] = 1;
        if (!ordinary) continue;
        out.expected++;
        const isDelivered = !Number.isNaN(got);
        if (isDelivered) {
          out.delivered++;
          out.delivery.add(got - sent);
        }
        if (f & F_DECLARED_LOST) {
          out.declaredLost++;
          if (isDelivered) out.lostThenDelivered++;
        }
        if (f & F_ORIGINAL_DROPPED) {
          out.needing++;
          if (f & F_DETECTED) {
            out.detected++;
            const at = this.detectedAt[i]!;
            out.detection.add(at - sent);
            if (isDelivered) out.repair.add(got - at);
          }
        }
        // Received but stuck (waiting for a dependency) is not a gap the member is unaware of: it holds the bytes.
        if (!isDelivered && !(f & (F_DETECTED | F_DECLARED_LOST)) && Number.isNaN(this.arrivedAt[i]!)) out.undetected++;
      }
    }
    for (let x = 0; x < M; x++) out.messagesNeedingRepair += messageNeedsRepair[x]!;
    return out;
  }

  /** Bytes per member per minute of traffic, peak control messages per 600 s, and the share of time online. */
  private trafficStats(endMs: number, startMs: number) {
    let firstSend = Number.POSITIVE_INFINITY;
    let lastSend = Number.NEGATIVE_INFINITY;
    for (let x = 0; x < this.messages; x++) {
      const t = this.sentAt[x]!;
      if (Number.isNaN(t)) continue;
      if (t < firstSend) firstSend = t;
      if (t > lastSend) lastSend = t;
    }
    const trafficMin = Math.max(1_000, lastSend - firstSend) / 60_000;
    const out = { bw: 0, controlTotal: 0, controlMax: null as number | null, onlineShare: 0, trafficMin };
    for (let m = 0; m < this.members; m++) {
      out.onlineShare += this.onlineMs[m]! / Math.max(1, endMs - startMs);
      out.bw += (this.sentBytes[m]! + this.receivedBytes[m]!) / trafficMin;
      const peak = peakInWindow(this.controlTimes[m]!, 600_000);
      out.controlTotal += peak;
      if (out.controlMax === null || peak > out.controlMax) out.controlMax = peak;
    }
    return out;
  }

  /** Time from send to the first acknowledgement the sender learnt, and how many messages got one. */
  private firstAckStats() {
    const firstAck = new Histogram();
    let acknowledged = 0;
    for (let x = 0; x < this.messages; x++) {
      if (Number.isNaN(this.sentAt[x]!)) continue;
      const at = this.firstAck[x]!;
      if (!Number.isNaN(at)) {
        acknowledged++;
        firstAck.add(at - this.sentAt[x]!);
      }
    }
    return { firstAck, acknowledged };
  }

  /** Receipt timing, traffic over content, topic repair traffic and the owner's cost: the owner path's figures. */
  private ownerPathStats(messagesNeedingRepair: number) {
    const arrays = {
      nodes: this.nodes,
      members: this.members,
      messages: this.messages,
      sender: this.sender,
      sentAt: this.sentAt,
      deliveredAt: this.deliveredAt,
      ackedAt: this.ackedAt,
    };
    const r = receiptTimes(arrays);
    const traffic = (m: number) => this.sentBytes[m]! + this.receivedBytes[m]!;
    const ratio = trafficOverContent(arrays, traffic, this.contentWire, this.contentPayload);
    const requests = this.publications["repair-request"] ?? 0;
    const o = this.ownerPath;
    const perMessage = (v: number | undefined, digits: number) =>
      v === undefined || this.sentCount === 0 ? null : round(v / this.sentCount, digits);
    const broadcasts = this.tally.repairBroadcasts;
    const metrics: Pick<
      SimMetrics,
      "receipts" | "bandwidth_vs_content" | "topic_repair_broadcasts_per_loss" | "owner"
    > = {
      receipts: {
        latency_p50_ms: round(r.latency.quantile(0.5), 1),
        latency_p99_ms: round(r.latency.quantile(0.99), 1),
        complete_p50_ms: round(r.complete.quantile(0.5), 1),
        complete_p99_ms: round(r.complete.quantile(0.99), 1),
      },
      bandwidth_vs_content: round(ratio.wire, 3),
      topic_repair_broadcasts_per_loss:
        messagesNeedingRepair === 0 ? null : round((requests + broadcasts) / messagesNeedingRepair, 3),
      owner: { cpu_us_per_message: perMessage(o?.cpuUs, 1), bytes_per_message: perMessage(o?.bytes, 0) },
    };
    const detail: Pick<
      SimDetail,
      | "receipts_pairs"
      | "receipts_shown_share"
      | "receipts_messages"
      | "receipts_complete_share"
      | "bandwidth_vs_payload"
      | "topic_repair_requests"
      | "owner_path"
    > = {
      receipts_pairs: r.pairs,
      receipts_shown_share: r.pairs === 0 ? null : round(r.shown / r.pairs, 6),
      receipts_messages: r.held,
      receipts_complete_share: r.held === 0 ? null : round(r.completed / r.held, 6),
      bandwidth_vs_payload: round(ratio.payload, 3),
      topic_repair_requests: requests,
      owner_path: o?.detail ?? null,
    };
    return { metrics, detail, receipts: r };
  }

  /** Long because it lays out the whole JSON report, field by field, in the order readers see it. */
  finish(
    endMs: number,
    startMs: number,
    events: number,
    network: SimDetail["network"],
  ): { metrics: SimMetrics; detail: SimDetail; series: SimSeries } {
    const pairs = this.pairStats();
    const { delivery, detection, repair, expected, delivered, undetected, needing, detected } = pairs;
    const { declaredLost, lostThenDelivered, messagesNeedingRepair } = pairs;
    const { bw, controlTotal, controlMax, onlineShare, trafficMin } = this.trafficStats(endMs, startMs);
    const { firstAck, acknowledged } = this.firstAckStats();
    const extra = this.ownerPathStats(messagesNeedingRepair);
    const mean = (xs: number[]) => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);
    const kOfN = this.kOfNStats();
    const { acks, duplicates, spurious, repairBroadcasts } = this.tally;
    const falseAcks = this.tally.unnamedFalseAcks + this.falseNamedAcks();

    const metrics: SimMetrics = {
      delivery: {
        expected,
        delivered,
        ratio: expected === 0 ? null : round(delivered / expected, 6),
        duplicates,
        lost: expected - delivered,
      },
      latency_ms: {
        delivery_p50: round(delivery.quantile(0.5), 1),
        delivery_p99: round(delivery.quantile(0.99), 1),
        gap_detection_p50: round(detection.quantile(0.5), 1),
        gap_detection_p90: round(detection.quantile(0.9), 1),
        repair_p50: round(repair.quantile(0.5), 1),
        repair_p99: round(repair.quantile(0.99), 1),
      },
      overhead_bytes_per_message: {
        mean: round(this.overhead.mean(), 1),
        p50: round(this.overhead.quantile(0.5), 0),
        p99: round(this.overhead.quantile(0.99), 0),
      },
      bandwidth_bytes_per_member_per_minute: this.members === 0 ? null : round(bw / this.members, 0),
      control_messages_per_member_per_600s: this.members === 0 ? null : round(controlTotal / this.members, 3),
      repair_broadcasts_per_loss:
        messagesNeedingRepair === 0 ? null : round(repairBroadcasts / messagesNeedingRepair, 3),
      acks: {
        knowledge_p50_ms: round(this.knowledge.quantile(0.5), 1),
        knowledge_p99_ms: round(this.knowledge.quantile(0.99), 1),
        k_of_n_abs_error_mean: round(mean(kOfN.all), 4),
        false_ack_rate: acks === 0 ? null : round(falseAcks / acks, 6),
      },
      undetected_gaps: undetected,
      ...extra.metrics,
    };
    const sentTotal = this.sentCount;
    const detail: SimDetail = {
      simulated_ms: round(endMs - startMs, 0)!,
      events,
      publications: sortKeys(this.publications),
      publication_bytes: sortKeys(this.publicationBytes),
      overhead_content_p99: round(this.overheadContent.quantile(0.99), 0),
      overhead_max: round(this.overhead.max(), 0),
      control_messages_max_member_per_600s: round(controlMax, 3),
      pairs_needing_repair: needing,
      pairs_detected: detected,
      spurious_missing: spurious,
      declared_lost: declaredLost,
      declared_lost_then_delivered: lostThenDelivered,
      messages_needing_repair: messagesNeedingRepair,
      member_online_share: this.members === 0 ? null : round(onlineShare / this.members, 4),
      resends: this.publications.resend ?? 0,
      acks_learnt: acks,
      first_ack_p50_ms: round(firstAck.quantile(0.5), 1),
      first_ack_p99_ms: round(firstAck.quantile(0.99), 1),
      acknowledged_share: sentTotal === 0 ? null : round(acknowledged / sentTotal, 6),
      k_of_n_samples: kOfN.all.length,
      k_of_n_sender_local_error_mean: round(mean(kOfN.local), 4),
      k_of_n_acknowledged_as_all_error_mean: round(mean(kOfN.asAll), 4),
      rejected: sortKeys(this.rejected),
      network,
      ...extra.detail,
    };
    const series = this.series.finish({
      ...{ delivery, detection, repair, expected, needing, detected, firstAck, endMs },
      receipts: extra.receipts.latency,
      receiptPairs: extra.receipts.pairs,
      messagesSent: sentTotal,
      trafficMinutes: trafficMin,
    });
    return { metrics, detail, series };
  }
}
