// What a restarted app channel gives its reassembler back (ContentPipeline.restore): the other members'
// content messages it accepted within the reassembler's timeout, read from the store. Older ones belong to
// sets that would have been dropped by now anyway. Lamport timestamps follow the senders' clocks in
// milliseconds (the engine stamps max(last + 1, now)), so the window is a Lamport range; the scan is bounded.
import {
  type AcceptedContent,
  DEFAULT_REASSEMBLER_LIMITS,
  type ReassemblerLimits,
  type SenderId,
} from "../core/index.js";
import type { Store } from "../storage/store.js";
import { DecodeError, decodeMessage, tryDecodeSegment } from "../wire/index.js";
import type { ChannelRuntime } from "./channel.js";

/** At most this many stored messages are read back at open: a channel busier than that loses its oldest sets. */
export const MAX_RESTORE_SCAN = 20_000;
const PAGE = 1_000;
/** Senders' clocks run apart: the window starts this much earlier. */
const SKEW_MS = 60_000;

export function storedSegments(
  store: Store,
  runtime: ChannelRuntime,
  now: number,
  limits: Partial<ReassemblerLimits> = {},
): AcceptedContent[] {
  const timeoutMs = limits.timeoutMs ?? DEFAULT_REASSEMBLER_LIMITS.timeoutMs;
  const maxSegmentBytes = limits.maxSegmentBytes ?? DEFAULT_REASSEMBLER_LIMITS.maxSegmentBytes;
  const from = BigInt(Math.max(0, Math.floor(now - timeoutMs - SKEW_MS)));
  const self: SenderId = runtime.engine.senderId;
  const out: AcceptedContent[] = [];
  // "~" sorts after every hex id: the first page starts at the first message stamped `from`.
  let after = from > 0n ? { lamport: from - 1n, messageId: "~" } : undefined;
  for (let scanned = 0; scanned < MAX_RESTORE_SCAN; ) {
    const page = store.listByLamport(runtime.channelId, { limit: PAGE, ...(after === undefined ? {} : { after }) });
    for (const m of page) {
      if (m.senderId === self) continue;
      let message: ReturnType<typeof decodeMessage>;
      try {
        message = decodeMessage(m.bytes);
      } catch (err) {
        if (err instanceof DecodeError) continue;
        throw err;
      }
      const content = message.content;
      if (content === undefined || tryDecodeSegment(content, maxSegmentBytes) === undefined) continue;
      out.push({
        sender: m.senderId,
        sequence: m.seq ?? undefined,
        content,
        history: message.causalHistory.map((h) => h.messageId),
        at: m.receivedAt,
        ...(message.lamportTimestamp === undefined ? {} : { lamport: message.lamportTimestamp }),
      });
    }
    scanned += page.length;
    const last = page.at(-1);
    if (page.length < PAGE || last === undefined) break;
    after = { lamport: last.lamport, messageId: last.messageId };
  }
  return out;
}
