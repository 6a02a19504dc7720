// The ids of the segments a member gave up once it reassembled their set (spec/chorus.md, section 19.7).
// Later causal histories (of syncs, of chat) still name those segments by id, and an id gap would fetch a
// segment the member does not need. The member rebuilds each such segment from the payload, as its sender
// encoded it, and its id from its sequence and lamport timestamp: a Chorus sender sends a set in one go, one
// lamport tick per segment. Where that guess fails (another encoder, a clock step between two segments) the
// id simply matches nothing and the gap is repaired as any other.
import { encodeSegment } from "../../wire/index.js";
import { computeMessageId } from "../ids.js";
import { leopard8Encode } from "./leopard8.js";

export interface FinishedSet {
  readonly channelId: string;
  readonly sender: string;
  readonly payload: Uint8Array;
  readonly hash: Uint8Array;
  /** Sequence of data segment 0. */
  readonly start: number;
  readonly dataCount: number;
  readonly parityCount: number;
  /** Bytes of a full data chunk (a parity shard's length). */
  readonly chunk: number;
  /** Whether the sender wrote the parity count on its data segments (Chorus does). */
  readonly parityOnData: boolean;
  /** Sequences held, and the lamport timestamp of some of them. */
  readonly held: ReadonlySet<number>;
  readonly lamports: ReadonlyMap<number, bigint>;
}

/** The ids of the set's segments not held, as the sender would have computed them. */
export function forgoneSegmentIds(set: FinishedSet): string[] {
  const anchor = set.lamports.entries().next().value;
  if (anchor === undefined) return [];
  const [anchorSeq, anchorLamport] = anchor;
  const { dataCount: k, parityCount: p, chunk, payload, hash } = set;
  const chunks = Array.from({ length: k }, (_, i) => payload.subarray(i * chunk, (i + 1) * chunk));
  let parity: Uint8Array[] | undefined;
  const ids: string[] = [];
  for (let index = 0; index < k + p; index++) {
    const sequence = set.start + index;
    if (set.held.has(sequence)) continue;
    let content: Uint8Array;
    if (index < k) {
      const parityCount = set.parityOnData ? p : undefined;
      content = encodeSegment({ kind: "data", hash, index, count: k, payload: chunks[index]!, parityCount });
    } else {
      parity ??= leopard8Encode(
        chunks.map((c) => {
          const padded = new Uint8Array(chunk);
          padded.set(c);
          return padded;
        }),
        p,
      );
      content = encodeSegment({ kind: "parity", hash, index: index - k, count: p, payload: parity[index - k]! });
    }
    const lamportTimestamp = anchorLamport + BigInt(sequence - anchorSeq);
    ids.push(
      computeMessageId({
        channelId: set.channelId,
        senderId: set.sender,
        kind: "content",
        sequence,
        lamportTimestamp,
        content,
      }),
    );
  }
  return ids;
}
