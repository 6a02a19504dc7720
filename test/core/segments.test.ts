// Segmentation (src/core/segments, src/wire/segment.ts): wire shape of the spec's SegmentMessageProto,
// reassembly in any order from any k of k + p segments, hash verification, bounds and expiry.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { keccak_256 } from "@noble/hashes/sha3.js";
import fc from "fast-check";
import { Reassembler } from "../../src/core/segments/reassembler.js";
import { maxSegmentedBytes, parityCountFor, segmentPayload } from "../../src/core/segments/segmenter.js";
import { decodeSegment, encodeSegment } from "../../src/wire/index.js";

const SIZE = 1024;
const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 17 + (i >> 8)) & 255);

function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe("segment wire format", () => {
  test("field numbers are the spec's: hash 1, index 2, count 3, payload 4, parity index 5, parity count 6", () => {
    const hash = new Uint8Array(32).fill(0xaa);
    const data = encodeSegment({ kind: "data", hash, index: 1, count: 3, payload: Uint8Array.of(7) });
    // 0a 20 <hash> | 10 01 | 18 03 | 22 01 07
    assert.equal(Buffer.from(data).toString("hex"), `0a20${"aa".repeat(32)}1001180322010 7`.replace(" ", ""));
    const parity = encodeSegment({ kind: "parity", hash, index: 0, count: 2, payload: Uint8Array.of(9) });
    // index and segment_count are 0 (omitted); 22 01 09 | 28 00 omitted | 30 02
    assert.equal(Buffer.from(parity).toString("hex"), `0a20${"aa".repeat(32)}2201093002`);
    assert.deepEqual(decodeSegment(parity, 10), {
      kind: "parity",
      hash,
      index: 0,
      count: 2,
      payload: Uint8Array.of(9),
    });
  });

  test("the spec's validation rules, each with a precise error", () => {
    const hash = new Uint8Array(32);
    const raw = (fields: string) => Buffer.from(fields, "hex");
    const h = `0a20${"00".repeat(32)}`;
    assert.throws(() => decodeSegment(raw("0a0101"), 10), /entire_message_hash is 1 bytes, must be 32/);
    assert.throws(() => decodeSegment(raw(`${h}10011801`), 10), /data segment count 1 is outside \[2, 256\]/);
    assert.throws(() => decodeSegment(raw(`${h}10031803`), 10), /data segment index 3 is not below its count 3/);
    assert.throws(() => decodeSegment(raw(`${h}28003000`), 10), /parity segment count 0 is outside/);
    assert.throws(() => decodeSegment(raw(`${h}28023002`), 10), /parity segment index 2 is not below its count 2/);
    assert.throws(() => decodeSegment(raw(`${h}1801`), 10), /data segment count 1/);
    assert.throws(() => decodeSegment(raw(`${h}18fe03`), 10), /count 510 is outside/);
    assert.throws(() => decodeSegment(raw("ff"), 10), /not a valid protobuf encoding/);
    const big = encodeSegment({ kind: "data", hash, index: 0, count: 2, payload: new Uint8Array(11) });
    assert.throws(() => decodeSegment(big, 10), /payload: is 11 bytes, limit 10/);
    assert.throws(
      () => encodeSegment({ kind: "data", hash, index: 2, count: 2, payload: new Uint8Array() }),
      RangeError,
    );
  });
});

describe("segmenting", () => {
  test("a payload that fits goes out whole; a larger one as ceil(n / size) data + ceil(12.5 %) parity", () => {
    const small = segmentPayload(bytes(SIZE), { segmentSize: SIZE });
    assert.equal(small.messages.length, 1);
    assert.equal(small.messages[0], small.messages[0]);
    const big = segmentPayload(bytes(10 * SIZE + 5), { segmentSize: SIZE });
    assert.equal(big.dataCount, 11);
    assert.equal(big.parityCount, 2);
    assert.deepEqual(big.hash, keccak_256(bytes(10 * SIZE + 5)));
    const last = decodeSegment(big.messages[10] as Uint8Array, SIZE);
    assert.equal(last.payload.length, 5, "the last data segment goes out at its true length");
    const p = decodeSegment(big.messages[11] as Uint8Array, SIZE);
    assert.equal(p.kind, "parity");
    assert.equal(p.payload.length, SIZE, "parity shards are the full segment size");
  });

  test("parity count: ceil in integer arithmetic (0.125 × 8 is exactly 1), never above the data count", () => {
    assert.deepEqual(
      [1, 2, 7, 8, 9, 16, 17, 224].map((k) => parityCountFor(k, 0.125)),
      [1, 1, 1, 1, 2, 2, 3, 28],
    );
    assert.equal(parityCountFor(3, 0.99), 3);
    assert.equal(parityCountFor(10, 0), 0);
    const none = segmentPayload(bytes(3 * SIZE), { segmentSize: SIZE, parityRate: 0 });
    assert.equal(none.parityCount, 0);
  });

  test("limits: at most 256 segments and Leopard's 8-bit field; options are checked", () => {
    assert.equal(maxSegmentedBytes({ segmentSize: SIZE }), 224 * SIZE);
    assert.throws(
      () => segmentPayload(bytes(224 * SIZE + 1), { segmentSize: SIZE }),
      /one set carries at most 229376 bytes/,
    );
    assert.throws(() => segmentPayload(bytes(10), { segmentSize: 1000 }), /multiple of 64 when parity is on/);
    assert.throws(() => segmentPayload(bytes(10), { segmentSize: 10 }), /at least 64 bytes/);
    assert.throws(
      () => segmentPayload(bytes(10), { segmentSize: SIZE, parityRate: 1 }),
      /parityRate must be in \[0, 1\)/,
    );
    assert.equal(segmentPayload(bytes(200 * 1000), { segmentSize: 1000, parityRate: 0 }).dataCount, 200);
  });

  test("a short payload that reads as a segment message is segmented, so it is never misread", () => {
    const lookalike = encodeSegment({ kind: "data", hash: new Uint8Array(32), index: 0, count: 2, payload: bytes(40) });
    const out = segmentPayload(lookalike, { segmentSize: SIZE });
    assert.equal(out.dataCount, 2);
    const r = new Reassembler();
    const results = out.messages.map((m) => r.accept("s", m, 0));
    const done = results.at(-1);
    assert.equal(done?.kind, "reassembled");
    assert.deepEqual(done?.kind === "reassembled" && done.payload, lookalike);
  });
});

describe("reassembly", () => {
  test("any order, any k of k + p segments: the payload, verified (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: SIZE + 1, max: 40 * SIZE }), fc.integer(), fc.boolean(), (n, seed, zeroTail) => {
        const payload = bytes(n, seed & 0xff);
        if (zeroTail) payload.fill(0, n - Math.min(n, 300));
        const set = segmentPayload(payload, { segmentSize: SIZE });
        const order = shuffle(set.messages, seed);
        const kept = order.slice(0, set.dataCount);
        const r = new Reassembler();
        const outcomes = kept.map((m) => r.accept("alice", m, 0));
        const last = outcomes.at(-1);
        assert.equal(last?.kind, "reassembled");
        assert.deepEqual(last?.kind === "reassembled" ? last.payload : undefined, payload);
        assert.ok(outcomes.slice(0, -1).every((o) => o.kind === "stored"));
        assert.equal(r.openSets, 0);
        assert.equal(r.heldBytes, 0);
        for (const late of order.slice(set.dataCount)) {
          assert.deepEqual(r.accept("alice", late, 1).kind, "ignored", "the rest of a finished set is ignored");
        }
      }),
      { numRuns: 60 },
    );
  });

  test("a payload ending in zeros, its last data segment lost: the true length is found by the hash", () => {
    const payload = new Uint8Array(3 * SIZE + 100);
    payload.set(bytes(3 * SIZE), 0);
    const set = segmentPayload(payload, { segmentSize: SIZE });
    assert.equal(set.dataCount, 4);
    const r = new Reassembler();
    const withoutLast = set.messages.filter((_, i) => i !== 3);
    const out = withoutLast.map((m) => r.accept("a", m, 0)).at(-1);
    assert.equal(out?.kind, "reassembled");
    assert.equal(out?.kind === "reassembled" && out.payload.length, payload.length);
    assert.equal(out?.kind === "reassembled" && out.parityUsed, 1);
  });

  test("a tampered segment fails the hash: the set is refused, not delivered", () => {
    const set = segmentPayload(bytes(3 * SIZE), { segmentSize: SIZE, parityRate: 0 });
    const bad = decodeSegment(set.messages[1] as Uint8Array, SIZE);
    const forged = encodeSegment({ ...bad, payload: bytes(SIZE, 99) });
    const r = new Reassembler();
    r.accept("a", set.messages[0] as Uint8Array, 0);
    r.accept("a", forged, 0);
    const out = r.accept("a", set.messages[2] as Uint8Array, 0);
    assert.equal(out.kind, "refused");
    assert.match(out.kind === "refused" ? out.reason : "", /Keccak-256 of the reassembled payload is not/);
    assert.equal(r.openSets, 0);
  });

  test("duplicates, count and length disagreements, sets from two senders kept apart", () => {
    const set = segmentPayload(bytes(4 * SIZE), { segmentSize: SIZE });
    const r = new Reassembler();
    const first = set.messages[0] as Uint8Array;
    assert.equal(r.accept("a", first, 0).kind, "stored");
    assert.equal(r.accept("a", first, 0).kind, "ignored");
    assert.equal(r.accept("b", first, 0).kind, "stored", "another sender's set is its own");
    const seg = decodeSegment(first, SIZE);
    const wrongCount = encodeSegment({ ...seg, index: 1, count: 5 });
    const out = r.accept("a", wrongCount, 0);
    assert.equal(out.kind === "refused" && out.code, "count-mismatch");
    const short = encodeSegment({ ...seg, index: 1, payload: new Uint8Array(10) });
    const out2 = r.accept("a", short, 0);
    assert.equal(out2.kind === "refused" && out2.code, "length-mismatch");
    assert.match(out2.kind === "refused" ? out2.reason : "", /data segment 1 is 10 bytes, the set's shards 1024/);
  });

  test("parity first: a set opened by parity segments completes when data arrives", () => {
    const set = segmentPayload(bytes(9 * SIZE), { segmentSize: SIZE });
    assert.equal(set.parityCount, 2);
    const r = new Reassembler();
    const parity = set.messages.slice(9);
    const data = set.messages.slice(0, 7);
    const outs = [...parity, ...data].map((m) => r.accept("a", m, 0));
    assert.equal(outs.at(-1)?.kind, "reassembled");
  });

  test("bounds: sets and bytes per sender and in all are refused, never evicted; expiry drops idle sets", () => {
    const r = new Reassembler({ maxSetsPerSender: 2, maxSets: 3, maxBytesPerSender: 3 * SIZE, timeoutMs: 1000 });
    const sets = [1, 2, 3, 4].map((s) => segmentPayload(bytes(3 * SIZE, s), { segmentSize: SIZE, parityRate: 0 }));
    const m = (i: number, j: number) => sets[i]?.messages[j] as Uint8Array;
    assert.equal(r.accept("a", m(0, 0), 0).kind, "stored");
    assert.equal(r.accept("a", m(1, 0), 10).kind, "stored");
    const full = r.accept("a", m(2, 0), 20);
    assert.equal(full.kind === "refused" && full.code, "sender-full");
    assert.match(full.kind === "refused" ? full.reason : "", /sender has 2 incomplete sets, limit 2/);
    assert.equal(r.accept("a", m(0, 1), 30).kind, "stored");
    const bytesFull = r.accept("a", m(1, 1), 40);
    assert.equal(bytesFull.kind === "refused" && bytesFull.code, "sender-full", "3 KiB per sender");
    assert.equal(r.accept("b", m(2, 0), 50).kind, "stored");
    const storeFull = r.accept("c", m(3, 0), 60);
    assert.equal(storeFull.kind === "refused" && storeFull.code, "store-full");
    assert.equal(r.nextExpiry(), 1010, "the oldest untouched set is a's second (a's first was touched at 30)");
    const dropped = r.expire(1035);
    assert.deepEqual(
      dropped.map((d) => [d.sender, d.held, d.needed]),
      [
        ["a", 1, 3],
        ["a", 2, 3],
      ],
    );
    assert.equal(r.openSets, 1);
    assert.equal(r.heldBytes, SIZE);
    assert.throws(() => new Reassembler({ maxSets: 0 }), /maxSets must be a positive integer, got 0/);
  });

  test("a set as the anchor sends it (no parity count on data segments) reassembles with its parity", () => {
    const payload = bytes(8 * SIZE + 300, 9);
    assert.equal(segmentPayload(payload, { segmentSize: SIZE }).parityCount, 2);
    const set = segmentPayload(payload, { segmentSize: SIZE });
    const anchorStyle = set.messages.map((m) => {
      const s = decodeSegment(m, SIZE);
      return s.kind === "data" ? encodeSegment({ ...s, parityCount: 0 }) : m;
    });
    assert.notDeepEqual(anchorStyle[0], set.messages[0], "field 6 is gone from data segments");
    const r = new Reassembler();
    // Data segments 0 and 3 lost; the parity comes last, as the anchor sends it.
    const outs = anchorStyle.filter((_, i) => i !== 0 && i !== 3).map((m) => r.accept("a", m, 0));
    const done = outs.at(-1);
    assert.equal(done?.kind, "reassembled");
    assert.deepEqual(done?.kind === "reassembled" ? done.payload : undefined, payload);
  });

  test("a content that is not a segment is a whole payload", () => {
    const r = new Reassembler();
    const out = r.accept("a", bytes(50), 0);
    assert.equal(out.kind, "whole");
  });
});

interface SegmentVectorFile {
  vectors: {
    name: string;
    segmentSize: number;
    parityRate: number;
    payload: string;
    hash?: string;
    dataCount: number;
    parityCount: number;
    messages: string[];
  }[];
}

describe("spec vectors: segmentation.json", () => {
  const name = "segmentation.json";
  const file = JSON.parse(
    readFileSync(new URL(`../../spec/vectors/${name}`, import.meta.url), "utf8"),
  ) as SegmentVectorFile;
  const fromHex = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));

  test("segmenting each payload gives exactly the recorded messages", () => {
    assert.ok(file.vectors.length >= 5);
    for (const v of file.vectors) {
      const out = segmentPayload(fromHex(v.payload), { segmentSize: v.segmentSize, parityRate: v.parityRate });
      assert.deepEqual(
        out.messages.map((m) => Buffer.from(m).toString("hex")),
        v.messages,
        v.name,
      );
      assert.equal(out.dataCount, v.dataCount, v.name);
      assert.equal(out.parityCount, v.parityCount, v.name);
      if (v.hash !== undefined) assert.equal(Buffer.from(keccak_256(fromHex(v.payload))).toString("hex"), v.hash);
    }
  });

  test("the recorded messages reassemble, also without the first data segments when parity stands in", () => {
    for (const v of file.vectors.filter((x) => x.hash !== undefined)) {
      const lose = v.parityCount;
      const kept = v.messages.slice(lose);
      const r = new Reassembler({ maxSegmentBytes: v.segmentSize });
      const out = kept.map((m) => r.accept("a", fromHex(m), 0)).find((o) => o.kind === "reassembled");
      assert.ok(out !== undefined && out.kind === "reassembled", v.name);
      assert.equal(Buffer.from(out.payload).toString("hex"), v.payload, v.name);
      assert.equal(out.parityUsed, lose, v.name);
    }
  });
});
