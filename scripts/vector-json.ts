// A WireMessage as the encoding vectors (spec/vectors/encoding.json) write it: bytes as lowercase hex,
// 64-bit integers (lamport, nonce) as decimal strings, absent optional fields omitted. Written by
// scripts/make-vectors.ts; test/core/vectors.test.ts compares decoded vectors in this form.
import { bytesToHex } from "@noble/hashes/utils.js";
import type { MessageKind, WireMessage } from "../src/wire/index.js";

export type JsonHistory = { messageId: string; retrievalHint?: string; senderId?: string };

export interface JsonMessage {
  senderId: string;
  messageId: string;
  channelId: string;
  lamportTimestamp?: string;
  causalHistory: JsonHistory[];
  bloomFilter?: string;
  repairRequest: JsonHistory[];
  content?: string;
  kind?: MessageKind;
  sequence?: number;
  ack?: {
    nonce: string;
    filter: string;
    hashCount: number;
    marks: { senderPrefix: string; first?: number; sequence: number }[];
  };
  sequenceRepairRequest: { senderId: string; first: number; last: number }[];
  signature?: string;
}

export function historyJson(entries: WireMessage["causalHistory"]): JsonHistory[] {
  return entries.map((e) => ({
    messageId: e.messageId,
    ...(e.retrievalHint === undefined ? {} : { retrievalHint: bytesToHex(e.retrievalHint) }),
    ...(e.senderId === undefined ? {} : { senderId: e.senderId }),
  }));
}

export function messageJson(m: WireMessage): JsonMessage {
  return {
    senderId: m.senderId,
    messageId: m.messageId,
    channelId: m.channelId,
    ...(m.lamportTimestamp === undefined ? {} : { lamportTimestamp: m.lamportTimestamp.toString() }),
    causalHistory: historyJson(m.causalHistory),
    ...(m.bloomFilter === undefined ? {} : { bloomFilter: bytesToHex(m.bloomFilter) }),
    repairRequest: historyJson(m.repairRequest),
    ...(m.content === undefined ? {} : { content: bytesToHex(m.content) }),
    ...(m.kind === undefined ? {} : { kind: m.kind }),
    ...(m.sequence === undefined ? {} : { sequence: m.sequence }),
    ...(m.ack === undefined
      ? {}
      : {
          ack: {
            nonce: m.ack.nonce.toString(),
            filter: bytesToHex(m.ack.filter),
            hashCount: m.ack.hashCount,
            marks: m.ack.marks.map((k) => ({
              senderPrefix: bytesToHex(k.senderPrefix),
              ...(k.first === undefined ? {} : { first: k.first }),
              sequence: k.sequence,
            })),
          },
        }),
    sequenceRepairRequest: m.sequenceRepairRequest.map((r) => ({ senderId: r.senderId, first: r.first, last: r.last })),
    ...(m.signature === undefined ? {} : { signature: bytesToHex(m.signature) }),
  };
}
