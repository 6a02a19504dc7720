// The store v3 service (`/vac/waku/store-query/3.0.0`): answers js-waku and nwaku store clients from the
// node's Waku archive. The rules are the query engine's (src/storage/waku-store-query.ts); this file only
// frames them on the wire.
import { fromBinary } from "@bufbuild/protobuf";
import { type ArchiveReader, answerStoreQuery, STORE_STATUS } from "../../storage/waku-store-query.js";
import { type StoreQueryRequest, StoreQueryRequestSchema } from "../../wire/gen/waku/v2/store_pb.js";
import { encodeStoreQueryResponse } from "../../wire/waku-rpc.js";

export const WAKU_STORE_CODEC = "/vac/waku/store-query/3.0.0";
/** 100 hashes and 10 content topics with room to spare; a larger request is not a store query. */
export const MAX_STORE_REQUEST_BYTES = 64 * 1024;

/** The encoded StoreQueryResponse to one encoded request; never throws. */
export function answerStoreRequest(archive: ArchiveReader, bytes: Uint8Array): Uint8Array {
  let request: StoreQueryRequest;
  try {
    request = fromBinary(StoreQueryRequestSchema, bytes);
  } catch (error) {
    return encodeStoreQueryResponse(
      {
        statusCode: STORE_STATUS.BAD_REQUEST,
        statusDesc: `not a StoreQueryRequest: ${(error as Error).message}`,
      },
      [],
    );
  }
  try {
    const { head, entries } = answerStoreQuery(archive, request);
    return encodeStoreQueryResponse(head, entries);
  } catch (error) {
    // The archive failed (disk, database): the query itself may be fine, so it is the service that is down.
    return encodeStoreQueryResponse(
      {
        requestId: request.requestId,
        statusCode: STORE_STATUS.SERVICE_UNAVAILABLE,
        statusDesc: `archive error: ${(error as Error).message}`,
      },
      [],
    );
  }
}
