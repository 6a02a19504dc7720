// The decoding cache shares one decoding among equal bytes (copies from another worker) and stays bounded.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DecodedCache } from "../../src/sim/decoded-cache.js";
import type { WireMessage } from "../../src/wire/index.js";

function message(i: number): { bytes: Uint8Array; decoded: WireMessage } {
  const bytes = new Uint8Array(100).map((_, k) => (i * 31 + k * 7) & 0xff);
  return { bytes, decoded: { messageId: `m${i}` } as unknown as WireMessage };
}

test("a kept decoding is found by its buffer and by an equal copy, never for other bytes", () => {
  const cache = new DecodedCache(4);
  const a = message(1);
  cache.keep(a.bytes, a.decoded);
  assert.equal(cache.ofBuffer(a.bytes), a.decoded);
  const copy = a.bytes.slice();
  assert.equal(cache.ofBuffer(copy), undefined, "by buffer: only the very buffer");
  const found = cache.find(copy);
  assert.equal(found?.decoded, a.decoded);
  assert.equal(found?.bytes, a.bytes, "the buffer the decoding was made from");
  const other = a.bytes.slice();
  other[0]! ^= 1;
  assert.equal(cache.find(other), undefined);
  assert.equal(cache.find(a.bytes.subarray(1)), undefined);
});

test("the cache keeps at most its bound, the oldest leaving first", () => {
  const cache = new DecodedCache(3);
  const kept = [0, 1, 2, 3, 4].map(message);
  for (const m of kept) cache.keep(m.bytes, m.decoded);
  assert.equal(cache.find(kept[0]!.bytes), undefined);
  assert.equal(cache.find(kept[1]!.bytes), undefined);
  assert.equal(cache.ofBuffer(kept[1]!.bytes), undefined);
  for (const m of kept.slice(2)) assert.equal(cache.find(m.bytes.slice())?.decoded, m.decoded);
});
