import type { Equivocation } from "../core/index.js";
import type { LogEntry, MessageView } from "../node/message-view.js";

/** An equivocation as the API shows it (events, the channel's list, a log entry). */
export function equivocationJson(e: Equivocation): Record<string, unknown> {
  return { senderId: e.senderId, seq: e.sequence, messageIds: [...e.messageIds], detectedAt: e.detectedAt };
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const lenientUtf8 = new TextDecoder("utf-8");

/** Content as JSON text; bytes that are not UTF-8 (an SDS peer may send any) also come as base64. */
export function textOf(content: Uint8Array): { content: string; contentBase64?: string } {
  try {
    return { content: strictUtf8.decode(content) };
  } catch {
    return { content: lenientUtf8.decode(content), contentBase64: Buffer.from(content).toString("base64") };
  }
}

/** The retrieval hint as hex (on Waku, the message hash store nodes know it by), when there is one. */
function hintJson(hint: Uint8Array | undefined): { retrievalHint?: string } {
  return hint === undefined ? {} : { retrievalHint: Buffer.from(hint).toString("hex") };
}

/** A log entry as the API shows it, in the log and in `delivered` events: the lamport timestamp as a decimal string. */
export function logEntryJson(entry: LogEntry): Record<string, unknown> {
  return {
    position: entry.position,
    messageId: entry.messageId,
    senderId: entry.senderId,
    seq: entry.seq,
    lamportTimestamp: entry.lamportTimestamp.toString(),
    ...textOf(entry.content),
    receivedAt: entry.receivedAt,
    own: entry.own,
    ...(entry.equivocation === undefined ? {} : { equivocation: equivocationJson(entry.equivocation) }),
    ...hintJson(entry.retrievalHint),
  };
}

/** The answer to GET one message. Its content is the text only, null when the message is not stored here. */
export function messageViewJson(view: MessageView): Record<string, unknown> {
  return {
    ...view,
    lamportTimestamp: view.lamportTimestamp?.toString() ?? null,
    content: view.content === null ? null : textOf(view.content).content,
    ...hintJson(view.retrievalHint),
  };
}
