// An app channel's delivered log, read back from its store: what a page shows after a reload (live events are
// for what happens from now on: a delivery is reported once, never again after a restart).
import type { SenderId } from "../core/index.js";
import { decodeMessage, tryDecodeSegment } from "../wire/index.js";
import type { AppChannelCore } from "./app-channel-core.js";

export interface HistoryEntry {
  /** The message id. */
  readonly id: string;
  readonly senderId: SenderId;
  readonly payload: Uint8Array;
  /** Position in the channel's delivered log, from 1. */
  readonly position: number;
  /** Sent by this member. */
  readonly own: boolean;
  /** Own messages: who holds it as far as this member knows now ("count of of"); undefined for others'. */
  readonly receipts: { readonly count: number; readonly of: number } | undefined;
}

const MAX_HISTORY_PAGE = 10_000;

export function historyPage(core: AppChannelCore, after: number, limit: number): HistoryEntry[] {
  if (!Number.isSafeInteger(after) || after < 0) {
    throw new RangeError(`after must be a non-negative integer position, got ${String(after)}`);
  }
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_HISTORY_PAGE) {
    throw new RangeError(`limit must be an integer from 1 to ${MAX_HISTORY_PAGE}, got ${String(limit)}`);
  }
  const runtime = core.runtime;
  const self = runtime.engine.senderId;
  const out: HistoryEntry[] = [];
  for (const m of core.store.listDelivered(runtime.channelId, { after, limit })) {
    // Stored messages were checked on the way in; a sync message carries no content to show.
    const content = decodeMessage(m.bytes).content;
    if (content === undefined || content.length === 0) continue;
    if (tryDecodeSegment(content, content.length) !== undefined) continue;
    const own = m.senderId === self;
    const r = own ? runtime.receipts(m.messageId) : undefined;
    out.push({
      id: m.messageId,
      senderId: m.senderId as SenderId,
      payload: content,
      position: m.deliveredPos as number,
      own,
      receipts: r === undefined ? undefined : { count: r.count, of: Math.max(r.members, r.count) },
    });
  }
  return out;
}
