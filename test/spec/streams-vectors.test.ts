// Checks spec/vectors/streams.json (spec section 14.4) against the real encoders and decoders: the transport's
// framing (src/transport/framing.ts, used by the libp2p transport), the history service's request and response
// codecs (src/node/history-protocol.ts) and the owner protocol's (src/node/owner-protocol.ts). Every value must
// encode to the recorded payload and frame, every payload and frame must decode back to the value, and every
// rejected payload must be refused with an error that names the recorded field.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { streamJson } from "../../scripts/vector-streams.js";
import {
  decodeRequest as decodeHistoryRequest,
  decodeResponse as decodeHistoryResponse,
  encodeRequest as encodeHistoryRequest,
  encodeResponse as encodeHistoryResponse,
  type HistoryHeader,
  type HistoryRequest,
} from "../../src/node/history-protocol.js";
import {
  decodeOwnerRequest,
  decodeOwnerResponse,
  encodeOwnerRequest,
  encodeOwnerResponse,
  type OwnerRequest,
  type OwnerResponse,
} from "../../src/node/owner-protocol.js";
import { decodeFrame, encodeFrame, splitResponse } from "../../src/transport/framing.js";

const FILE = "streams.json";
const path = join(fileURLToPath(import.meta.url), "../../../spec/vectors", FILE);
const MAX = 4 * 1024 * 1024;

interface StreamVector {
  name: string;
  protocol: "transport" | "/chorus/history/1" | "/chorus/owner/1";
  direction: "request" | "response";
  value?: Record<string, unknown>;
  payload?: string;
  frame?: string;
  status?: number;
  body?: string;
  rejected?: boolean;
  field?: string;
}

const unhex = (text: string) => Uint8Array.from(Buffer.from(text, "hex"));
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const data = JSON.parse(readFileSync(path, "utf8")) as { description: string; vectors: StreamVector[] };

/** The owner protocol's values with their byte fields turned back from hex. */
function ownerValue(v: Record<string, unknown>): OwnerRequest | OwnerResponse {
  const out: Record<string, unknown> = { ...v };
  for (const k of ["report", "news", "roster"]) if (typeof v[k] === "string") out[k] = unhex(v[k] as string);
  if (Array.isArray(v.messages)) out.messages = (v.messages as string[]).map(unhex);
  return out as unknown as OwnerRequest | OwnerResponse;
}

function payloadOfFrame(v: StreamVector): Uint8Array {
  const payload = decodeFrame(unhex(v.frame!), MAX + 1, v.name);
  if (v.direction === "request") return payload;
  const { status, body } = splitResponse(payload, v.name);
  assert.equal(status, 0, `${v.name}: status ok`);
  return body;
}

function rejects(v: StreamVector): void {
  const bytes = unhex(v.payload!);
  const decode = (): unknown => {
    if (v.protocol === "transport") return decodeFrame(bytes, MAX, v.name);
    if (v.protocol === "/chorus/history/1") {
      return v.direction === "request" ? decodeHistoryRequest(bytes) : decodeHistoryResponse(bytes);
    }
    return v.direction === "request" ? decodeOwnerRequest(bytes) : decodeOwnerResponse(bytes);
  };
  assert.throws(decode, (err: Error & { field?: string }) => {
    const named = err.field === undefined ? err.message.includes(v.field!) : err.field === v.field;
    assert.ok(named, `${v.name}: the error names ${v.field}, got ${err.field ?? ""} "${err.message}"`);
    return true;
  });
}

function roundTrips(v: StreamVector): void {
  if (v.protocol === "transport") {
    if (v.direction === "request") {
      assert.equal(hex(encodeFrame([unhex(v.payload!)])), v.frame);
      assert.equal(hex(decodeFrame(unhex(v.frame!), MAX, v.name)), v.payload);
    } else {
      assert.equal(hex(encodeFrame([Uint8Array.of(v.status!), unhex(v.body!)])), v.frame);
      const { status, body } = splitResponse(decodeFrame(unhex(v.frame!), MAX + 1, v.name), v.name);
      assert.deepEqual({ status, body: hex(body) }, { status: v.status, body: v.body });
    }
    return;
  }
  const payload = unhex(v.payload!);
  assert.equal(hex(payloadOfFrame(v)), v.payload, `${v.name}: the frame carries the payload`);
  if (v.protocol === "/chorus/history/1") {
    if (v.direction === "request") {
      assert.equal(hex(encodeHistoryRequest(v.value as unknown as HistoryRequest)), v.payload);
      assert.deepEqual(decodeHistoryRequest(payload), v.value);
    } else {
      const { header, messages } = v.value as { header: HistoryHeader; messages: string[] };
      assert.equal(hex(encodeHistoryResponse(header, messages.map(unhex))), v.payload);
      const decoded = decodeHistoryResponse(payload);
      assert.deepEqual({ header: decoded.header, messages: decoded.messages.map(hex) }, v.value);
    }
    return;
  }
  const value = ownerValue(v.value!);
  if (v.direction === "request") {
    assert.equal(hex(encodeOwnerRequest(value as OwnerRequest)), v.payload);
    assert.deepEqual(streamJson(decodeOwnerRequest(payload)), v.value);
  } else {
    assert.equal(hex(encodeOwnerResponse(value as OwnerResponse)), v.payload);
    assert.deepEqual(streamJson(decodeOwnerResponse(payload)), v.value);
  }
}

describe(`stream protocol vectors (spec/vectors/${FILE})`, () => {
  test("every protocol has requests, responses and rejected inputs", () => {
    for (const protocol of ["transport", "/chorus/history/1", "/chorus/owner/1"]) {
      const mine = data.vectors.filter((v) => v.protocol === protocol);
      assert.ok(
        mine.some((v) => v.rejected === true),
        `${protocol}: a rejected input`,
      );
      for (const direction of ["request", "response"])
        assert.ok(
          mine.some((v) => v.direction === direction && v.rejected !== true),
          `${protocol}: a ${direction}`,
        );
    }
    const kinds = data.vectors.filter((v) => v.protocol === "/chorus/owner/1" && v.value !== undefined);
    const names = new Set(kinds.map((v) => String(v.value!.kind ?? v.value!.status)));
    for (const k of ["report", "watch", "fetch", "roster", "news", "messages", "unchanged", "refused"])
      assert.ok(names.has(k), `owner protocol: a ${k} vector`);
  });

  for (const v of data.vectors) test(v.name, () => (v.rejected === true ? rejects(v) : roundTrips(v)));
});
