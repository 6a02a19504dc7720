// Waku metadata (`/vac/waku/metadata/1.0.0`, RFC 66/WAKU2-METADATA): right after connecting, each side
// asks the other for its cluster and shards, one length-prefixed protobuf each way. js-waku uses no peer
// whose metadata it has not received, and Waku nodes hang up on peers of another cluster.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { WakuMetadataRequestSchema, WakuMetadataResponseSchema } from "../wire/gen/waku/v2/metadata_pb.js";
import { errorMessage } from "./libp2p-host.js";
import { frame, readFrame, type Stream, send } from "./stream-frames.js";

export const WAKU_METADATA_CODEC = "/vac/waku/metadata/1.0.0";

/** A node's place in the Waku network. */
export interface ShardInfo {
  readonly cluster: number;
  readonly shards: readonly number[];
}

/** A metadata message is two small integers and a short list; anything much larger is not one. */
const MAX_METADATA_BYTES = 4 * 1024;

export function encodeShardInfo(info: ShardInfo): Uint8Array {
  return toBinary(
    WakuMetadataResponseSchema,
    create(WakuMetadataResponseSchema, { clusterId: info.cluster, shards: [...info.shards] }),
  );
}

/** Decodes a metadata request or response (the two share their fields); undefined cluster when absent. */
export function decodeShardInfo(bytes: Uint8Array): { cluster: number | undefined; shards: number[] } {
  const m = fromBinary(WakuMetadataRequestSchema, bytes);
  return { cluster: m.clusterId, shards: [...m.shards] };
}

/** Answers one metadata request on `stream`: reads the peer's shard info, sends ours, closes. */
export async function answerMetadata(stream: Stream, own: ShardInfo, what: string): Promise<ShardInfo | undefined> {
  // js-waku 0.0.27 writes its own info before reading ours; reading first is still fine, each side's
  // frame is small enough to sit in the stream's buffer.
  const request = await readFrame(stream, MAX_METADATA_BYTES, what);
  await send(stream, frame([encodeShardInfo(own)]));
  await stream.close();
  const theirs = decodeShardInfo(request);
  return theirs.cluster === undefined ? undefined : { cluster: theirs.cluster, shards: theirs.shards };
}

/** Asks on `stream` for the peer's shard info, telling ours; rejects with a message naming the peer. */
export async function askMetadata(
  stream: Stream,
  own: ShardInfo,
  what: string,
  signal: AbortSignal,
): Promise<ShardInfo> {
  try {
    await send(stream, frame([encodeShardInfo(own)]), signal);
    await stream.close({ signal });
    const theirs = decodeShardInfo(await readFrame(stream, MAX_METADATA_BYTES, what));
    if (theirs.cluster === undefined) throw new Error("the response has no cluster id");
    return { cluster: theirs.cluster, shards: theirs.shards };
  } catch (error) {
    stream.abort(error instanceof Error ? error : new Error(String(error)));
    throw new Error(`${what}: ${errorMessage(error)}`, { cause: error });
  }
}
