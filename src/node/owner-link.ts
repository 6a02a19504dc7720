// The owner path for an app channel (`openChannel({ owner: {} })`): the member side a Chorus node runs per
// channel (owner-client.ts), without the node. Over the transport's request streams (a js-waku light node's
// own connection to its service node, a libp2p connection) the member finds the owner by its signed roster,
// reports what it delivered, gets the receipts of its own messages counted against the roster ("k of N")
// and every sender's head, and fetches what it misses from the owner's history, which is also how it
// catches up after being away. While the owner does not answer, the topic carries receipts and repair.
import type { SenderId, SignatureVerifier } from "../core/index.js";
import type { Transport } from "../transport/transport.js";
import type { ChannelRuntime, NodeEvent } from "./channel.js";
import { OwnerClient, type OwnerClientStats, type OwnerPathState } from "./owner-client.js";

export interface OwnerPathOptions {
  /** The owner's sender id (64 hex digits), which its roster must be signed by; learnt from the first roster when absent. */
  readonly senderId?: string;
  /** How long a WATCH asks the owner to wait for news, in ms. Default 20,000; 1 to 20,000. */
  readonly watchHoldMs?: number;
}

const DEFAULT_WATCH_HOLD_MS = 20_000;

export function checkOwnerPathOptions(options: unknown): OwnerPathOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`options.owner must be an object ({} finds the owner by its roster), got ${String(options)}`);
  }
  const { senderId, watchHoldMs } = options as OwnerPathOptions;
  if (senderId !== undefined && !(typeof senderId === "string" && /^[0-9a-f]{64}$/.test(senderId))) {
    throw new TypeError(`options.owner.senderId must be 64 lowercase hex digits, got ${JSON.stringify(senderId)}`);
  }
  if (watchHoldMs !== undefined && !(Number.isSafeInteger(watchHoldMs) && watchHoldMs >= 1 && watchHoldMs <= 20_000)) {
    throw new RangeError(`options.owner.watchHoldMs must be an integer from 1 to 20000, got ${String(watchHoldMs)}`);
  }
  return options as OwnerPathOptions;
}

/** What the owner link needs of the member it runs in. */
export interface OwnerLinkContext {
  readonly transport: Transport;
  readonly self: SenderId;
  readonly clock: () => number;
  readonly verify: SignatureVerifier;
}

export class OwnerLink {
  private client: OwnerClient | undefined;
  private ownerId: string | undefined;
  private ownerPeer: string | undefined;

  constructor(
    private readonly ctx: OwnerLinkContext,
    private readonly options: OwnerPathOptions,
  ) {
    this.ownerId = options.senderId;
  }

  /** Starts finding the owner and watching for news; the transport must be running. */
  start(runtime: ChannelRuntime): void {
    if (this.client !== undefined) return;
    const client = new OwnerClient(
      {
        transport: this.ctx.transport,
        self: this.ctx.self,
        clock: this.ctx.clock,
        verify: this.ctx.verify,
        holdMs: this.options.watchHoldMs ?? DEFAULT_WATCH_HOLD_MS,
        ownerId: () => this.ownerId,
        candidates: () => (this.ownerPeer === undefined ? [] : [this.ownerPeer]).concat(this.ctx.transport.peers()),
        found: (peer, ownerId) => {
          this.ownerId ??= ownerId;
          if (peer !== undefined) this.ownerPeer = peer;
          // Repairs go to the owner first: it holds every message.
          runtime.engine.setPreferredResponders([ownerId]);
        },
        // No owner: the engine's own repair over the topic (peers, with suppression) is the other way.
        fallbackFetch: () => {},
      },
      runtime,
    );
    this.client = client;
    runtime.onMissing = () => client.onMissing();
    client.start();
  }

  noteEvent(event: NodeEvent): void {
    this.client?.noteEvent(event);
  }

  state(): OwnerPathState {
    return this.client?.state() ?? "none";
  }

  get stats(): OwnerClientStats | undefined {
    return this.client?.stats;
  }

  stop(): void {
    this.client?.stop();
  }
}
