/**
 * What every figure of a result means, in words a reader of the report can use: the definitions of
 * src/sim/metrics.ts, and for the detail counters why they can be nonzero in a healthy run. Keys are JSON
 * paths; `*` stands for any one name (a purpose, a kind of call).
 */

const ENTRIES: readonly (readonly [string, string])[] = [
  // Delivery.
  [
    "delivery.expected",
    "(member, message) pairs a member was owed: every message sent by someone else after the member joined. The owner is not counted.",
  ],
  ["delivery.delivered", "Owed pairs the member's application received by the end of the run."],
  ["delivery.ratio", "delivered / expected. 1 means every member got every message it was owed."],
  [
    "delivery.duplicates",
    "Times an application was handed a message it already had. Must be 0: the protocol promises exactly-once delivery.",
  ],
  ["delivery.lost", "Owed pairs never delivered (expected − delivered), whatever the protocol believed."],
  [
    "undetected_gaps",
    "Owed pairs never delivered, of which no copy ever reached the member, and that the member never reported missing: messages it missed without knowing. The worst failure; must be 0.",
  ],
  // Latencies.
  ["latency_ms.delivery_p50", "Half of the delivered pairs arrived within this time of the send."],
  ["latency_ms.delivery_p99", "99 % of the delivered pairs arrived within this time of the send (repairs included)."],
  [
    "latency_ms.gap_detection_p50",
    "For pairs whose first copy the network dropped and that the member reported missing: half were reported within this time of the send.",
  ],
  [
    "latency_ms.gap_detection_p90",
    "As above, for 90 % of them. Detection needs a later message, a head or a causal history naming the lost one, so it is about latency + the time to the next message.",
  ],
  ["latency_ms.repair_p50", "For the same pairs, once delivered: half were filled within this time of the report."],
  [
    "latency_ms.repair_p99",
    "99 % were filled within this time of the report; the tail is retries after a lost request or answer.",
  ],
  // Cost.
  [
    "overhead_bytes_per_message.mean",
    "Wire bytes minus chat content, over every publication on the topic (content, sync, repair, resend), each counted once.",
  ],
  ["overhead_bytes_per_message.p50", "Median overhead of one publication."],
  [
    "overhead_bytes_per_message.p99",
    "99th percentile of the overhead of one publication; the engine caps it at overheadBudgetBytes.",
  ],
  [
    "bandwidth_bytes_per_member_per_minute",
    "What a minute of chat costs a member: the bytes it sent plus the bytes that reached it (topic and direct path to the owner, repairs and receipts included), per minute of traffic, mean over members.",
  ],
  [
    "bandwidth_vs_content",
    "A member's traffic (sent + received, topic and path) over the wire bytes of the chat messages it delivered. 1 is the floor: every message received once and nothing else.",
  ],
  [
    "control_messages_per_member_per_600s",
    "Sync messages, repair requests and repair answers a member published on the topic within its busiest 600 s window (Waku RLN's window), mean over members.",
  ],
  [
    "repair_broadcasts_per_loss",
    "Repair answers published on the topic (by anyone) per message whose first publication missed at least one node.",
  ],
  [
    "topic_repair_broadcasts_per_loss",
    "Repair requests and answers on the topic per message whose first publication missed someone. With the owner path most gaps are filled over the direct path, so this stays near 0.",
  ],
  // Receipts.
  [
    "acks.knowledge_p50_ms",
    "Over every acknowledgement a sender learnt (one per message and acknowledging node): half were learnt within this time of the send.",
  ],
  [
    "acks.knowledge_p99_ms",
    "99 % of the acknowledgements were learnt within this time of the send. It includes members who were offline or joined late and acknowledged when they came back, minutes later: a long tail here is the members' absence, not a slow protocol. receipts.latency_p99_ms measures from each delivery instead.",
  ],
  [
    "acks.k_of_n_abs_error_mean",
    "At the end, |the receipt count the sender's app shows − the nodes that really hold the message| / (nodes − 1), mean over messages. 0 means “delivered to 37 of 40” is exact. For SDS, which has no per-member receipts, the reports read its “acknowledged” as “everyone” (detail.k_of_n_acknowledged_as_all_error_mean).",
  ],
  [
    "acks.false_ack_rate",
    "Acknowledgements a sender learnt for a node that had not received the message at that moment, over all learnt. Must be 0.",
  ],
  [
    "receipts.latency_p50_ms",
    "Over (message, recipient) pairs: time from the recipient's delivery to the moment the sender's receipts included it. Half within this.",
  ],
  [
    "receipts.latency_p99_ms",
    "99 % of recipients appeared in the sender's receipts within this time of their delivery.",
  ],
  [
    "receipts.complete_p50_ms",
    "Over messages whose sender by the end showed every node holding them: time from the send until the last holder was shown. It waits for the slowest member, offline ones included.",
  ],
  ["receipts.complete_p99_ms", "As above, 99th percentile over messages."],
  [
    "owner.cpu_us_per_message",
    "CPU µs of the owner's service work (reports and their signatures, the ledger, news, fetch answers) per message sent. Measured on the machine's clock: it varies between runs and is not part of the reproducible JSON.",
  ],
  ["owner.bytes_per_message", "Bytes the owner received and sent on the direct paths per message sent."],
  [
    "wall_ms",
    "Wall-clock time the run took on this machine; the one figure that differs between two runs of the same scenario.",
  ],
  [
    "memory.peak_rss_bytes",
    "The simulator process's peak resident memory on this machine (all members, the owner and the simulator itself). A machine figure, like wall_ms.",
  ],
  [
    "memory.per_member_bytes",
    "Peak resident memory divided by the number of simulated nodes: an upper bound on what one member's engine holds, since the simulator's own structures are counted in it.",
  ],
  // Detail.
  ["detail.simulated_ms", "Virtual time the run covered: warm-up, traffic and settle."],
  ["detail.events", "Events the simulator processed (arrivals, timers, sends, availability changes)."],
  [
    "detail.publications.*",
    "Publications on the topic of this purpose after the warm-up, each counted once (not per receiver).",
  ],
  ["detail.publication_bytes.*", "Wire bytes of those publications, each counted once."],
  [
    "detail.overhead_content_p99",
    "Overhead p99 of chat messages alone (their history, acknowledgement summary and signature).",
  ],
  ["detail.overhead_max", "The largest overhead of any publication."],
  ["detail.control_messages_max_member_per_600s", "The busiest member's control messages in its busiest 600 s window."],
  [
    "detail.pairs_needing_repair",
    "Owed pairs whose first copy the network dropped (loss, burst, partition, member offline): what the protocol had to repair.",
  ],
  [
    "detail.pairs_detected",
    "Of those, pairs the member reported missing before the message came back. Pairs a returning member got by catching up were never reported missing, so this can be well below pairs_needing_repair without anything going wrong.",
  ],
  [
    "detail.spurious_missing",
    "“Missing” reports for a pair whose first copy was not dropped: the copy was still on its way when a later message, a head from the owner or a causal history named it. Latency spreads (the p99 is 4 × the median by default), so later messages overtake earlier ones and such reports are normal; each costs a fetch or a request that turns out to be unneeded.",
  ],
  [
    "detail.declared_lost",
    "Pairs the member gave up on: it waited dependencyTimeoutMs for a repair that did not come.",
  ],
  [
    "detail.declared_lost_then_delivered",
    "Pairs given up on and delivered later all the same: a repair arrived after the timeout (the owner or the member was away, a partition healed). The message is delivered late and out of causal order; nonzero means the timeout was shorter than the outage.",
  ],
  ["detail.messages_needing_repair", "Messages whose first publication missed at least one node."],
  ["detail.member_online_share", "Mean share of the run ordinary members spent joined and online."],
  ["detail.resends", "Messages a sender published again because too few acknowledged them in time."],
  ["detail.acks_learnt", "Acknowledgements senders learnt (per message and acknowledging node)."],
  ["detail.first_ack_p50_ms", "Time from send to the sender's first acknowledgement, median over messages."],
  ["detail.first_ack_p99_ms", "The same, 99th percentile."],
  ["detail.acknowledged_share", "Messages acknowledged by at least one node by the end."],
  ["detail.k_of_n_samples", "Messages the k-of-N error is averaged over (those the sender still tracks at the end)."],
  [
    "detail.k_of_n_sender_local_error_mean",
    "k-of-N error of the sender's own receipts, without the owner's (the same as above without an owner).",
  ],
  [
    "detail.k_of_n_acknowledged_as_all_error_mean",
    "For protocols without per-member receipts (SDS): the error of an app that shows “acknowledged” as “delivered to everyone”.",
  ],
  ["detail.rejected.*", "Messages the engine refused, by reason (bad signature, over quota, buffer full…)."],
  ["detail.network.copies", "Copies the network carried: one per publication and receiver."],
  [
    "detail.network.loss_measured",
    "Share of copies dropped, all causes (loss, bursts, partitions, receivers offline).",
  ],
  ["detail.network.loss_configured", "The loss the scenario asked for (independent and burst loss combined)."],
  ["detail.network.dropped.independent", "Copies dropped by the independent loss."],
  ["detail.network.dropped.burst", "Copies dropped inside loss bursts."],
  ["detail.network.dropped.partition", "Copies that could not cross a partition."],
  ["detail.network.dropped.offline", "Copies that reached a node while it was offline."],
  ["detail.network.latency_p50_ms", "Median one-way latency the network drew."],
  ["detail.network.latency_p99_ms", "99th percentile of the one-way latency."],
  ["detail.receipts_pairs", "(message, recipient) pairs delivered: what receipts.latency is over."],
  ["detail.receipts_shown_share", "Share of those pairs the sender's receipts showed by the end."],
  ["detail.receipts_messages", "Messages held by someone besides their sender."],
  ["detail.receipts_complete_share", "Share of those whose sender by the end showed every holder."],
  [
    "detail.bandwidth_vs_payload",
    "A member's traffic over the chat content alone (without the wire format of the messages).",
  ],
  ["detail.topic_repair_requests", "Repair requests published on the topic."],
  [
    "detail.owner_path",
    "The direct path's figures; null when the run has no owner path (owner off, --owner-path off, or SDS).",
  ],
  ["detail.owner_path.calls.*.calls", "Calls of this kind from members to the owner over the direct path."],
  [
    "detail.owner_path.calls.*.failures",
    "Of those, calls that failed (path failure, owner away, timeout); the member retries or falls back to the topic.",
  ],
  ["detail.owner_path.calls.*.request_bytes", "Bytes of the requests."],
  ["detail.owner_path.calls.*.answer_bytes", "Bytes of the answers."],
  ["detail.owner_path.latency_p50_ms", "Median one-way latency of the direct path."],
  ["detail.owner_path.latency_p99_ms", "99th percentile of it."],
  ["detail.owner_path.timeout_ms", "How long a member waits for an answer before counting the call failed."],
  ["detail.owner_path.owner.refused", "Reports the owner refused (bad signature, not in the roster)."],
  ["detail.owner_path.owner.watches_answered", "Long polls the owner answered with news."],
  ["detail.owner_path.owner.fetched", "Messages the owner sent to fill members' gaps."],
  [
    "detail.owner_path.owner.lacking",
    "Fetches naming a message the owner did not hold yet (it was still on its way to the owner too); the member asks again or repairs on the topic.",
  ],
  ["detail.owner_path.owner.caught_up", "Messages sent to members catching up after time away."],
  ["detail.owner_path.owner.reports", "Receipt reports the owner accepted."],
  ["detail.owner_path.owner.pairs", "(member, message) receipts those reports added to the ledger."],
  ["detail.owner_path.owner.ledger.*", "Size of the owner's receipt ledger at the end."],
];

const EXACT = new Map<string, string>(ENTRIES.filter(([k]) => !k.includes("*")));
const PATTERNS: readonly [RegExp, string][] = ENTRIES.filter(([k]) => k.includes("*")).map(([k, v]) => [
  new RegExp(`^${k.replace(/\./g, "\\.").replace(/\*/g, "[^.]+")}$`),
  v,
]);

/** What the figure at a JSON path means; undefined for one the glossary does not know. */
export function explain(path: string): string | undefined {
  const exact = EXACT.get(path);
  if (exact !== undefined) return exact;
  for (const [re, text] of PATTERNS) if (re.test(path)) return text;
  return undefined;
}

/** Every path the glossary explains, for the definitions list of a report. */
export const GLOSSARY: readonly (readonly [string, string])[] = ENTRIES;
