// The events an app channel (`openChannel`) reports, by name. An app payload has one id: the message id
// of a payload that went out whole, or the Keccak-256 (hex) of a segmented one, whose segments each have
// a message id of their own.
import type { GapSource, MessageRef, SenderId } from "../core/index.js";

export interface ChannelEvents {
  /** Another member's payload, whole (in causal order, with its log position) or reassembled from segments. */
  readonly received: {
    readonly id: string;
    readonly senderId: SenderId;
    readonly payload: Uint8Array;
    /** Log position of a whole payload; undefined for a reassembled one (its segments have their own). */
    readonly position: number | undefined;
    /** Parity segments a reassembled payload needed (0 for a whole one). */
    readonly parityUsed: number;
  };
  /** Every message of an own payload was handed to the network (after the RLN queue, if any). */
  readonly sent: { readonly id: string; readonly messageIds: readonly string[] };
  /** Members known to hold an own payload changed: "count of N". A segmented one is held once reconstructable. */
  readonly receipts: {
    readonly id: string;
    readonly count: number;
    readonly of: number;
    readonly by: readonly SenderId[];
  };
  /** An own payload reached the app's quorum (`quorum` of N members hold it). Once per payload. */
  readonly delivered: { readonly id: string; readonly count: number; readonly of: number };
  /** An own payload could not be sent: refused by the send queue, or rejected by the transport. */
  readonly "send-error": { readonly id: string | undefined; readonly error: Error };
  /** An own payload was resent as often as the engine resends and still did not reach the quorum. */
  readonly "delivery-error": { readonly id: string; readonly count: number; readonly of: number };
  /** A message of another member is known to exist and is not here. */
  readonly missing: { readonly ref: MessageRef; readonly source: GapSource };
  /** A message reported missing arrived. */
  readonly repaired: { readonly messageId: string; readonly senderId: SenderId; readonly afterMs: number };
  /** A missing message was given up on; what waited for it was delivered without it. */
  readonly lost: { readonly ref: MessageRef; readonly dependents: number };
  /** What this member still lacks changed: see `SyncStatus`. */
  readonly sync: SyncStatus;
}

export interface SyncStatus {
  /** Nothing known to be missing. */
  readonly caughtUp: boolean;
  /** Messages known to be missing and still being fetched or repaired. */
  readonly toFetch: number;
  /** Messages given up on since the channel opened. */
  readonly givenUp: number;
  /** "all caught up", "3 to fetch", "3 to fetch, 1 given up", "all caught up, 1 given up". */
  readonly text: string;
}

export type ChannelEventName = keyof ChannelEvents;
export type ChannelListener<K extends ChannelEventName> = (event: ChannelEvents[K]) => void;

export function syncStatus(toFetch: number, givenUp: number): SyncStatus {
  const head = toFetch === 0 ? "all caught up" : `${toFetch} to fetch`;
  return { caughtUp: toFetch === 0, toFetch, givenUp, text: givenUp === 0 ? head : `${head}, ${givenUp} given up` };
}

/** Listeners by event name; a throwing listener does not keep the others from hearing the event. */
export class ChannelEmitter {
  private readonly listeners = new Map<ChannelEventName, Set<(event: never) => void>>();
  /** What a listener threw, for the app to see: the channel goes on. */
  onListenerError: (error: unknown) => void = (error) => queueMicrotask(() => Promise.reject(error));

  on<K extends ChannelEventName>(name: K, listener: ChannelListener<K>): () => void {
    if (typeof listener !== "function") throw new TypeError(`listener for "${name}" must be a function`);
    let set = this.listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  emit<K extends ChannelEventName>(name: K, event: ChannelEvents[K]): void {
    const set = this.listeners.get(name);
    if (set === undefined) return;
    for (const listener of set) {
      try {
        (listener as ChannelListener<K>)(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}
