// One Waku request/response exchange on a libp2p stream, as js-waku and nwaku frame it: the client writes
// one varint-length-prefixed protobuf and the server answers with one, then closes. Shared by the store,
// filter-subscribe and light push services.

import type { AnyLibp2p } from "../../transport/libp2p-host.js";
import { errorMessage } from "../../transport/libp2p-host.js";
import { frame, readFrame, type Stream, send } from "../../transport/stream-frames.js";

/** What the Waku services need from the node's Waku relay transport (WakuTransport has all of it). */
export interface WakuServiceHost {
  /** The running libp2p 3 host; undefined before start and after stop. */
  readonly libp2p: AnyLibp2p | undefined;
  readonly peerId: string;
  readonly cluster: number;
  readonly shards: readonly number[];
  readonly pubsubTopics: readonly string[];
  /**
   * Relays an encoded WakuMessage unchanged on one of `pubsubTopics`, and hands it to this node's own subscriber
   * of its content topic as a message from `from` (the light node that pushed it).
   */
  publishEnvelope(pubsubTopic: string, envelopeBytes: Uint8Array, from?: string): Promise<{ recipients: number }>;
  /** Every valid WakuMessage on the node's shards, received or published; returns the remover. */
  onEnvelope(listener: (e: EnvelopeSeen) => void): () => void;
}

/** One envelope seen on the node's shards (WakuTransport's EnvelopeEvent). */
export interface EnvelopeSeen {
  readonly pubsubTopic: string;
  readonly bytes: Uint8Array;
  readonly envelope: { readonly contentTopic: string; readonly timestamp?: bigint; readonly ephemeral?: boolean };
  readonly hash: Uint8Array;
  readonly from: string;
}

export interface ExchangeOptions {
  /** Largest request accepted; a longer length prefix aborts the stream at once. */
  readonly maxRequestBytes: number;
  /** How long the exchange may take. */
  readonly timeoutMs: number;
}

/**
 * Reads one request from `stream`, writes `answer(request)` back and closes. A request that never comes,
 * is too long or whose answer fails aborts the stream: the client sees its exchange fail.
 */
export async function serveExchange(
  stream: Stream,
  what: string,
  options: ExchangeOptions,
  answer: (request: Uint8Array) => Uint8Array | Promise<Uint8Array>,
): Promise<void> {
  const timer = setTimeout(
    () => stream.abort(new Error(`${what}: no exchange within ${options.timeoutMs} ms`)),
    options.timeoutMs,
  );
  try {
    const request = await readFrame(stream, options.maxRequestBytes, what);
    const reply = await answer(request);
    await send(stream, frame([reply]));
    await stream.close();
  } catch (error) {
    stream.abort(error instanceof Error ? error : new Error(`${what}: ${errorMessage(error)}`));
  } finally {
    clearTimeout(timer);
  }
}
