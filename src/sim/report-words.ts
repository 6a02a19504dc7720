import type { SimResult } from "./run.js";
import {
  formatBytes,
  formatCount,
  formatMs,
  formatShare,
  formatValue,
  TARGET_BY_METRIC,
  type Target,
  targetText,
  verdict,
} from "./targets.js";

/**
 * The summary in words of a run: what was delivered, what a member pays, how fast gaps are found and filled,
 * how accurate and fast receipts are, each figure beside its target. The same sentences are printed on a
 * terminal (✓ / ✗) and in the HTML report (coloured marks).
 */

/** A piece of a sentence: text, or a figure, checked against the target of `metric` when there is one. */
export type Piece = string | { readonly figure: string; readonly metric?: string };

export interface Paragraph {
  readonly heading: string;
  readonly pieces: readonly Piece[];
}

const fig = (figure: string, metric?: string): Piece => (metric === undefined ? { figure } : { figure, metric });
const ms = (v: number | null) => (v === null ? "–" : formatMs(v));

function deliveryWords(r: SimResult): Paragraph {
  const d = r.delivery;
  const pieces: Piece[] = [
    fig(d.ratio === null ? "–" : formatShare(d.ratio), "delivery.ratio"),
    ` of the ${formatCount(d.expected)} (member, message) pairs members were owed were delivered; `,
    fig(formatCount(d.lost)),
    " never arrived, ",
    fig(formatCount(r.undetected_gaps), "undetected_gaps"),
    " of them without the member knowing (undetected gaps), and there were ",
    fig(formatCount(d.duplicates), "delivery.duplicates"),
    " duplicate deliveries. Half of the messages arrived within ",
    fig(ms(r.latency_ms.delivery_p50)),
    ", 99 % within ",
    fig(ms(r.latency_ms.delivery_p99)),
    " (repairs and members coming back online included).",
  ];
  return { heading: "Delivered", pieces };
}

function costWords(r: SimResult): Paragraph {
  const bytes = r.series.bytes_per_member_per_minute;
  const totals = Object.entries(bytes).map(([k, b]) => [k, b.sent + b.received] as const);
  const all = totals.reduce((s, [, v]) => s + v, 0);
  const top = [...totals].sort((a, b) => b[1] - a[1])[0];
  const pieces: Piece[] = [
    "A member pays ",
    fig(r.bandwidth_bytes_per_member_per_minute === null ? "–" : formatBytes(r.bandwidth_bytes_per_member_per_minute)),
    " per minute of chat, sent and received, repairs and receipts included: ",
    fig(formatValue(r.bandwidth_vs_content, "ratio"), "bandwidth_vs_content"),
    " times the chat messages it receives.",
  ];
  if (top !== undefined && all > 0) pieces.push(` The largest share is ${top[0]} (${formatShare(top[1] / all)}).`);
  pieces.push(
    " On the topic it publishes ",
    fig(formatValue(r.control_messages_per_member_per_600s, "per600s"), "control_messages_per_member_per_600s"),
    " control messages per 600 s (sync, repair requests and answers), and a publication carries ",
    fig(formatValue(r.overhead_bytes_per_message.p99, "bytes"), "overhead_bytes_per_message.p99"),
    " of overhead at the 99th percentile.",
  );
  if (r.owner.bytes_per_message !== null) {
    const cpu = r.owner.cpu_us_per_message;
    pieces.push(
      " The owner handles ",
      fig(formatBytes(r.owner.bytes_per_message)),
      cpu === null || cpu === undefined ? " per message." : ` and ${formatMs(cpu / 1_000)} of CPU per message.`,
    );
  }
  return { heading: "Cost", pieces };
}

function gapWords(r: SimResult): Paragraph {
  const d = r.detail;
  if (d.pairs_needing_repair === 0) {
    return {
      heading: "Gaps",
      pieces: ["The network dropped no first copy of any message: there was nothing to repair."],
    };
  }
  const pieces: Piece[] = [
    `The network dropped the first copy of ${formatCount(d.pairs_needing_repair)} pairs (${formatCount(d.messages_needing_repair)} messages). Members reported `,
    fig(formatCount(d.pairs_detected)),
    ` of them missing before the message came back (${formatShare(d.pairs_detected / d.pairs_needing_repair)}; the others came back first, or with a catch-up after time away): half within `,
    fig(ms(r.latency_ms.gap_detection_p50)),
    " of the send, 90 % within ",
    fig(ms(r.latency_ms.gap_detection_p90), "latency_ms.gap_detection_p90"),
    ". Repair filled a reported gap in ",
    fig(ms(r.latency_ms.repair_p50)),
    " (median) and ",
    fig(ms(r.latency_ms.repair_p99), "latency_ms.repair_p99"),
    " (p99), with ",
    fig(formatValue(r.topic_repair_broadcasts_per_loss, "ratio"), "topic_repair_broadcasts_per_loss"),
    " repair broadcasts on the topic per lost message.",
  ];
  pieces.push(` Members gave up on ${formatCount(d.declared_lost)} pairs`);
  pieces.push(
    d.declared_lost_then_delivered > 0
      ? ` (${formatCount(d.declared_lost_then_delivered)} arrived later anyway).`
      : ".",
  );
  if (d.spurious_missing > 0) {
    pieces.push(
      ` ${formatCount(d.spurious_missing)} “missing” reports named a copy that was still on its way (spurious_missing: later messages overtake earlier ones).`,
    );
  }
  return { heading: "Gaps", pieces };
}

function receiptWords(r: SimResult): Paragraph {
  const d = r.detail;
  if (r.series.convergence.shown === null) {
    return {
      heading: "Receipts",
      pieces: [
        `${r.protocol} has no per-member receipts: a sender learns only that someone's filter probably holds its message (`,
        fig(d.acknowledged_share === null ? "–" : formatShare(d.acknowledged_share)),
        " of messages, the first after ",
        fig(ms(d.first_ack_p50_ms)),
        " at the median). Shown as “delivered to everyone”, that is off by ",
        fig(formatValue(d.k_of_n_acknowledged_as_all_error_mean, "share"), "acks.k_of_n_abs_error_mean"),
        " of the members on average.",
      ],
    };
  }
  const rc = r.receipts;
  const pieces: Piece[] = [
    "A recipient shows up in the sender's receipts ",
    fig(ms(rc.latency_p50_ms), "receipts.latency_p50_ms"),
    " after it got the message (median), ",
    fig(ms(rc.latency_p99_ms), "receipts.latency_p99_ms"),
    " at the 99th percentile. At the end a sender's count (“delivered to k of N”) is off by ",
    fig(formatValue(r.acks.k_of_n_abs_error_mean, "share"), "acks.k_of_n_abs_error_mean"),
    " of the members on average; ",
    fig(d.receipts_complete_share === null ? "–" : formatShare(d.receipts_complete_share)),
    " of the messages showed every member holding them, complete ",
    fig(ms(rc.complete_p50_ms)),
    " after the send (median) and ",
    fig(ms(rc.complete_p99_ms)),
    " at p99 (the last member back from time away sets it).",
  ];
  const fa = r.acks.false_ack_rate;
  pieces.push(fa === null || fa === 0 ? " No receipt was false." : ` ${formatShare(fa)} of the receipts were false.`);
  return { heading: "Receipts", pieces };
}

export function summaryParagraphs(r: SimResult): Paragraph[] {
  return [deliveryWords(r), costWords(r), gapWords(r), receiptWords(r)];
}

/** A target check: "✓ target ≤ 1 s" or "✗ target ≤ 1 s", empty for "n/a". */
export function checkText(t: Target, r: SimResult): string {
  const v = verdict(t, r);
  if (v === "n/a") return "";
  return `${v === "met" ? "✓" : "✗"} target ${targetText(t, r)}`;
}

/** A paragraph as plain text, each checked figure followed by its verdict in brackets. */
export function paragraphText(p: Paragraph, r: SimResult): string {
  const text = p.pieces
    .map((piece) => {
      if (typeof piece === "string") return piece;
      const t = piece.metric === undefined ? undefined : TARGET_BY_METRIC.get(piece.metric);
      const check = t === undefined ? "" : checkText(t, r);
      return check === "" ? piece.figure : `${piece.figure} [${check}]`;
    })
    .join("");
  return `${p.heading}: ${text}`;
}

/** Wraps text at `width` columns, continuation lines indented by `indent`. */
export function wrap(text: string, width = 100, indent = "  "): string {
  const words = text.split(" ");
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    if (line.length > 0 && line.length + 1 + w.length > width) {
      lines.push(line);
      line = indent + w;
    } else line = line.length === 0 ? w : `${line} ${w}`;
  }
  if (line.length > 0) lines.push(line);
  return lines.join("\n");
}
