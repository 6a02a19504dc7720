import { Histogram } from "./stats.js";

/** The recorder's per-(node, message) arrays, indexed node * messages + x. */
export interface PairArrays {
  readonly nodes: number;
  readonly members: number;
  readonly messages: number;
  readonly sender: Int32Array;
  readonly sentAt: Float64Array;
  readonly deliveredAt: Float64Array;
  /** When the sender first showed the node as holding the message (NaN: never). */
  readonly ackedAt: Float64Array;
}

export interface ReceiptTimes {
  /** Over (message, recipient) pairs the sender showed: shown - delivered. */
  readonly latency: Histogram;
  /** Over messages whose sender showed every holder: the last holder shown - sent. */
  readonly complete: Histogram;
  /** (message, recipient) pairs delivered, and of those, shown to the sender by the end. */
  readonly pairs: number;
  readonly shown: number;
  /** Messages someone other than the sender holds, and of those, shown complete by the end. */
  readonly held: number;
  readonly completed: number;
}

/**
 * Receipt timing as a sender's app shows it: for each message and each node that delivered it, when the
 * sender's receipts first included that node; a message is complete once every node holding it at the end is
 * included. A receipt shown before the delivery (a false one) counts as 0 ms.
 */
export function receiptTimes(a: PairArrays): ReceiptTimes {
  const latency = new Histogram();
  const complete = new Histogram();
  let pairs = 0;
  let shown = 0;
  let held = 0;
  let completed = 0;
  const M = a.messages;
  for (let x = 0; x < M; x++) {
    const sent = a.sentAt[x]!;
    if (Number.isNaN(sent)) continue;
    const from = a.sender[x]!;
    let holders = 0;
    let last = sent;
    let all = true;
    for (let node = 0; node < a.nodes; node++) {
      if (node === from) continue;
      const i = node * M + x;
      const got = a.deliveredAt[i]!;
      if (Number.isNaN(got)) continue;
      holders++;
      pairs++;
      const at = a.ackedAt[i]!;
      if (Number.isNaN(at)) {
        all = false;
        continue;
      }
      shown++;
      latency.add(Math.max(0, at - got));
      if (at > last) last = at;
    }
    if (holders === 0) continue;
    held++;
    if (all) {
      completed++;
      complete.add(last - sent);
    }
  }
  return { latency, complete, pairs, shown, held, completed };
}

/**
 * A member's traffic (bytes sent and received, topic and direct path) over the chat it got: the wire bytes of
 * the content messages it delivered (`wire`, each message counted once at its own size), and the same over
 * their content alone (`payload`). Means over members that delivered anything; null without any.
 */
export function trafficOverContent(
  a: PairArrays,
  traffic: (member: number) => number,
  contentWire: Float64Array,
  contentPayload: Float64Array,
): { wire: number | null; payload: number | null } {
  let wireSum = 0;
  let payloadSum = 0;
  let counted = 0;
  const M = a.messages;
  for (let m = 0; m < a.members; m++) {
    let wire = 0;
    let payload = 0;
    for (let x = 0; x < M; x++) {
      if (a.sender[x] === m || Number.isNaN(a.deliveredAt[m * M + x]!)) continue;
      wire += contentWire[x]!;
      payload += contentPayload[x]!;
    }
    if (wire === 0 || payload === 0) continue;
    const t = traffic(m);
    wireSum += t / wire;
    payloadSum += t / payload;
    counted++;
  }
  return counted === 0 ? { wire: null, payload: null } : { wire: wireSum / counted, payload: payloadSum / counted };
}
