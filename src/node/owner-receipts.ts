import type { ReceiptSummary } from "./history-protocol.js";

/** What the policy needs of the node: its role, whether it knows an owner, and the raw receipts query. */
export interface OwnerReceiptsSource {
  readonly role: "owner" | "member";
  ownerPeerId(): string | undefined;
  ownerReceipts(channelId: string, ids: readonly string[]): Promise<Record<string, ReceiptSummary>>;
}

export interface OwnerQueryOptions {
  /** How long one question waits for the owner's answer. Default 1,500 ms. */
  readonly timeoutMs?: number;
  /** After the owner failed to answer, how long to stop asking it (answers are local-only meanwhile). Default 5 s. */
  readonly retryMs?: number;
  /** Unix milliseconds. Default Date.now. */
  readonly clock?: () => number;
}

export const DEFAULT_OWNER_TIMEOUT_MS = 1_500;
export const DEFAULT_OWNER_RETRY_MS = 5_000;

/**
 * The owner's receipt counts of one message, within a bounded time. The owner's aggregate needs a round
 * trip; while the owner is away (it did not answer in time, or the query failed), answers are undefined and
 * immediate for `retryMs`. An owner node has nobody to ask.
 */
export class OwnerReceipts {
  private readonly timeoutMs: number;
  private readonly retryMs: number;
  private readonly clock: () => number;
  private awayUntil = 0;

  constructor(
    private readonly node: OwnerReceiptsSource,
    options: OwnerQueryOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_OWNER_TIMEOUT_MS;
    this.retryMs = options.retryMs ?? DEFAULT_OWNER_RETRY_MS;
    this.clock = options.clock ?? Date.now;
  }

  async of(channelId: string, messageId: string): Promise<ReceiptSummary | undefined> {
    if (this.node.role !== "member" || this.clock() < this.awayUntil) return undefined;
    const pending = this.node.ownerReceipts(channelId, [messageId]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.timeoutMs);
    });
    try {
      const answer = await Promise.race([pending, timeout]);
      if (answer === "timeout" || this.node.ownerPeerId() === undefined) {
        this.awayUntil = this.clock() + this.retryMs;
        pending.catch(() => {
          // Answered too late, or failed after we stopped waiting: nobody is listening any more.
        });
        return undefined;
      }
      return answer[messageId];
    } catch {
      this.awayUntil = this.clock() + this.retryMs;
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}
