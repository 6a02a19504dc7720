// A Waku store v3 client (`/vac/waku/store-query/3.0.0`) for the catch-up fallback of spec 19.4: when the
// channel's owner cannot be reached (or has nothing), a node asks a Waku store node for the channel's
// content topic over a time range, page by page, and hands the payloads to its engine, which checks every
// one as it checks any message (signature, id, channel): a store node is trusted for nothing.
//
// Store peers are the connected peers whose identify lists the store protocol: a Chorus owner in Waku mode,
// an nwaku node with store enabled.
import { randomUUID } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { peerIdFromString } from "@libp2p/peer-id";
import { errorMessage } from "../../transport/libp2p-host.js";
import { frame, readFrame, send } from "../../transport/stream-frames.js";
import {
  StoreQueryRequestSchema,
  type StoreQueryResponse,
  StoreQueryResponseSchema,
} from "../../wire/gen/waku/v2/store_pb.js";
import type { WakuServiceHost } from "./exchange.js";
import { WAKU_STORE_CODEC } from "./store-service.js";

export interface StoreClientOptions {
  /** Messages asked per page (the server may give fewer). Default 100, Waku's usual maximum. */
  readonly pageLimit?: number;
  /** Pages one catch-up walks at most; the rest waits for the next one. Default 100. */
  readonly maxPages?: number;
  /** How long one page may take. Default 10 s. */
  readonly timeoutMs?: number;
}

/** What a store catch-up brought back. */
export interface StoreRange {
  /** The store peer that answered. */
  readonly peer: string;
  /** The payloads (Chorus message bytes) on the content topic, oldest first. */
  readonly payloads: Uint8Array[];
  readonly pages: number;
}

/** A page is at most 100 envelopes of at most 150 KiB; the server bounds its pages to 3 MiB besides. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const STORE_OK_BELOW = 300;

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/** The host side the client needs: the running libp2p node and the shard it publishes on. */
export type StoreClientHost = Pick<WakuServiceHost, "libp2p" | "peerId"> & { readonly pubsubTopic: string };

export class WakuStoreClient {
  readonly pageLimit: number;
  readonly maxPages: number;
  readonly timeoutMs: number;
  private readonly host: StoreClientHost;

  constructor(host: StoreClientHost, options: StoreClientOptions = {}) {
    this.host = host;
    this.pageLimit = positive("pageLimit", options.pageLimit ?? 100);
    this.maxPages = positive("maxPages", options.maxPages ?? 100);
    this.timeoutMs = positive("timeoutMs", options.timeoutMs ?? 10_000);
  }

  /** Connected peers that announce the store protocol, this node left out, sorted. */
  async storePeers(): Promise<string[]> {
    const node = this.host.libp2p;
    if (node === undefined) return [];
    const peers = new Set(node.getConnections().map((c) => c.remotePeer.toString()));
    peers.delete(this.host.peerId);
    const out: string[] = [];
    for (const peer of peers) {
      try {
        const info = await node.peerStore.get(peerIdFromString(peer));
        if (info.protocols.includes(WAKU_STORE_CODEC)) out.push(peer);
      } catch {
        // Not identified yet: not known as a store peer.
      }
    }
    return out.sort();
  }

  /**
   * The payloads of every message on `contentTopic` stamped from `sinceMs` on (all when undefined), asked of
   * the first store peer that answers; undefined when no store peer is known or none answered.
   */
  async range(
    contentTopic: string,
    sinceMs: number | undefined,
    peers?: readonly string[],
  ): Promise<StoreRange | undefined> {
    for (const peer of peers ?? (await this.storePeers())) {
      try {
        return await this.walk(peer, contentTopic, sinceMs);
      } catch {
        // That store node failed; the next one may answer.
      }
    }
    return undefined;
  }

  private async walk(peer: string, contentTopic: string, sinceMs: number | undefined): Promise<StoreRange> {
    const payloads: Uint8Array[] = [];
    let cursor: Uint8Array | undefined;
    let pages = 0;
    while (pages < this.maxPages) {
      const response = await this.query(peer, {
        requestId: randomUUID(),
        includeData: true,
        pubsubTopic: this.host.pubsubTopic,
        contentTopics: [contentTopic],
        ...(sinceMs === undefined ? {} : { timeStart: BigInt(Math.max(0, Math.floor(sinceMs))) * 1_000_000n }),
        ...(cursor === undefined ? {} : { paginationCursor: cursor }),
        paginationForward: true,
        paginationLimit: BigInt(this.pageLimit),
      });
      pages++;
      for (const entry of response.messages) {
        const m = entry.message;
        // The server filtered by content topic; an entry on another one is not what was asked for.
        if (m?.payload !== undefined && m.contentTopic === contentTopic) payloads.push(m.payload);
      }
      cursor = response.paginationCursor;
      if (response.messages.length === 0 || cursor === undefined || cursor.length === 0) break;
    }
    return { peer, payloads, pages };
  }

  /** One request and its answer; rejects when the peer fails or answers with an error status. */
  async query(
    peer: string,
    fields: Parameters<typeof create<typeof StoreQueryRequestSchema>>[1],
  ): Promise<StoreQueryResponse> {
    const node = this.host.libp2p;
    const what = `store query to ${peer}`;
    if (node === undefined) throw new Error(`${what}: the transport is not running`);
    const signal = AbortSignal.timeout(this.timeoutMs);
    const stream = await node.dialProtocol(peerIdFromString(peer), WAKU_STORE_CODEC, { signal });
    let response: StoreQueryResponse;
    // A peer that never answers: the read below ends when the stream is aborted.
    const onTimeout = () => stream.abort(new Error(`${what}: no answer within ${this.timeoutMs} ms`));
    signal.addEventListener("abort", onTimeout, { once: true });
    try {
      await send(stream, frame([toBinary(StoreQueryRequestSchema, create(StoreQueryRequestSchema, fields))]), signal);
      await stream.close({ signal });
      response = fromBinary(StoreQueryResponseSchema, await readFrame(stream, MAX_RESPONSE_BYTES, what));
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)));
      throw new Error(`${what}: ${errorMessage(error)}`, { cause: error });
    } finally {
      signal.removeEventListener("abort", onTimeout);
    }
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= STORE_OK_BELOW) {
      throw new Error(`${what}: status ${status} ${JSON.stringify(response.statusDesc ?? "")}`);
    }
    return response;
  }
}
