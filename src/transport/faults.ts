// Faults on demand: a Transport that wraps another and drops what a QA engineer asks it to drop, so that gaps
// and repairs can be watched on a live node (`chorus up --loss P`, the REST fault endpoint).
//
// - `loss`: each message published and each message received is dropped with this probability, independently
//   (a message between two faulty nodes crosses two of them). Requests (catch-up, the owner path) are not
//   dropped: they are the repair path, and a lossy link there would only make the request time out and retry.
// - `isolated`: peers this node no longer talks to: their publications are dropped on arrival, requests to
//   them fail as PEER_UNREACHABLE, and their requests are refused. This node's own publications still reach
//   them through other peers' relays, as across a real cut link in a mesh; isolate on both sides to cut both
//   directions.
import {
  type MessageHandler,
  type PeerId,
  type PublishOptions,
  type PublishResult,
  type RequestHandler,
  type RequestOptions,
  type Transport,
  TransportError,
} from "./transport.js";
import { WrappedTransport } from "./wrapped.js";

export interface FaultSettings {
  /** Probability in [0, 1] that one published or one received message is dropped. */
  readonly loss: number;
  /** Peer ids this node is cut off from. */
  readonly isolated: readonly PeerId[];
}

export interface FaultState extends FaultSettings {
  /** Messages dropped so far, by direction (since the node started). */
  readonly dropped: { readonly incoming: number; readonly outgoing: number; readonly requests: number };
}

/** At most this many isolated peers: a bounded set, and more than any test needs. */
export const MAX_ISOLATED = 256;

export function checkFaults(settings: Partial<FaultSettings>): void {
  const { loss, isolated } = settings;
  if (loss !== undefined && !(typeof loss === "number" && loss >= 0 && loss <= 1)) {
    throw new RangeError(`loss must be a probability from 0 to 1, got ${String(loss)}`);
  }
  if (isolated !== undefined) {
    if (!Array.isArray(isolated)) throw new TypeError("isolated must be an array of peer ids");
    if (isolated.length > MAX_ISOLATED) {
      throw new RangeError(`isolated names ${isolated.length} peers, at most ${MAX_ISOLATED}`);
    }
    const bad = isolated.find((p) => typeof p !== "string" || p.length === 0 || p.length > 1024);
    if (bad !== undefined) throw new TypeError(`isolated must hold peer ids, got ${JSON.stringify(bad)}`);
  }
}

export class FaultyTransport extends WrappedTransport {
  private loss = 0;
  private isolated = new Set<PeerId>();
  private readonly dropped = { incoming: 0, outgoing: 0, requests: 0 };

  constructor(
    inner: Transport,
    private readonly random: () => number,
  ) {
    super(inner);
  }

  /** Changes what is dropped; fields left out keep their value. */
  setFaults(settings: Partial<FaultSettings>): FaultState {
    checkFaults(settings);
    if (settings.loss !== undefined) this.loss = settings.loss;
    if (settings.isolated !== undefined) this.isolated = new Set(settings.isolated);
    return this.faults();
  }

  /** Drops nothing any more. */
  heal(): FaultState {
    return this.setFaults({ loss: 0, isolated: [] });
  }

  faults(): FaultState {
    return { loss: this.loss, isolated: [...this.isolated], dropped: { ...this.dropped } };
  }

  override subscribe(topic: string, handler: MessageHandler): void {
    this.inner.subscribe(topic, (bytes, from, info) => {
      if (this.isolated.has(from) || (this.loss > 0 && this.random() < this.loss)) {
        this.dropped.incoming++;
        return;
      }
      handler(bytes, from, info);
    });
  }
  override publish(topic: string, bytes: Uint8Array, options?: PublishOptions): Promise<PublishResult | void> {
    if (this.loss > 0 && this.random() < this.loss) {
      this.dropped.outgoing++;
      return Promise.resolve();
    }
    return this.inner.publish(topic, bytes, options);
  }

  override peers(topic?: string): PeerId[] {
    const all = this.inner.peers(topic);
    return this.isolated.size === 0 ? all : all.filter((p) => !this.isolated.has(p));
  }

  override handle(protocol: string, handler: RequestHandler): void {
    this.inner.handle(protocol, (bytes, from) => {
      if (this.isolated.has(from)) {
        this.dropped.requests++;
        throw new TransportError("PEER_UNREACHABLE", `peer ${from} is isolated by a fault`);
      }
      return handler(bytes, from);
    });
  }
  override request(peer: PeerId, protocol: string, bytes: Uint8Array, options?: RequestOptions): Promise<Uint8Array> {
    if (this.isolated.has(peer)) {
      this.dropped.requests++;
      return Promise.reject(new TransportError("PEER_UNREACHABLE", `peer ${peer} is isolated by a fault`));
    }
    return this.inner.request(peer, protocol, bytes, options);
  }
}
