// The Reed–Solomon code of segmentation (src/core/segments/leopard8.ts): parity identical to Leopard-RS's
// `leo_encode` in its 8-bit field, and reconstruction from any shards that number the data count.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import { fitsLeopard8, gfMul, leopard8Decode, leopard8Encode } from "../../src/core/segments/leopard8.js";

// Made with catid/leopard (commit 6e5725e, leo_encode, built here with g++ -O2) over shards whose byte j of
// shard i is (i*131 + j*7 + (i*j mod 251) + case) mod 256: [data, parity, bytes, case, SHA-256 of the
// parity shards concatenated].
const LEOPARD_REFERENCE: readonly [number, number, number, number, string][] = [
  [2, 1, 64, 0, "92dfe1b4d46d539e6f071a0a9efa82ce6f2c2e2e23bbade9a30d6b65934e59fa"],
  [3, 1, 64, 1, "eaa5ff38a22271039f269ea6eed75b87c5dd850fb12ac6299ec2bea8415a47e0"],
  [8, 1, 64, 2, "2cf06c265a193688aa77b24169a90736de589b5100cd7c9b974fe366955eb2d6"],
  [9, 2, 64, 3, "d608afcae4f1c82c28bce217a00cf6343d9cc15b28f0baf4ee28fae73c92051b"],
  [10, 2, 128, 4, "3e487e0caa13117eba3ef0db6ff4da7fbd042b1db82259a989eca00054842ff0"],
  [11, 2, 64, 5, "5407379f2f993db8e4224c6808f8ef4f62ee499818fd9db8a938464f82dfc6f7"],
  [16, 2, 64, 6, "2ee6d48519b20bfdba8a0c7a0e2ef1d5bc6e13c38e6d910512bdda626979b2ff"],
  [20, 3, 64, 7, "dba2744c303ea6d4e7165c7f44ba1e7593e473b0d2718f2b6ba3a109e2e63249"],
  [30, 4, 64, 8, "86bda0b0ad0b08c8adf0299a0b8cf3cfcce25d01ce5932d073a4270e961093dc"],
  [64, 8, 64, 9, "0ddca28cf4094f73bc2d1a498555608d45c4c0207418f309864afe8d14743dee"],
  [100, 13, 64, 10, "3573248d488f79ea2d3ad10269b97866e3acc6631233a68031d8434b703ffe57"],
  [200, 25, 64, 11, "7cd6834373cb876b4c3fd6b1b67f8d2f696605f5fef3f36b8f0681690f3b7c16"],
  [224, 28, 64, 12, "0ec57b523f6628950985a8714c4adfadb2b872b87e3ebe72be7a2c0645836c9f"],
];

function referenceData(k: number, bytes: number, c: number): Uint8Array[] {
  return Array.from({ length: k }, (_, i) =>
    Uint8Array.from({ length: bytes }, (_, j) => (i * 131 + j * 7 + ((i * j) % 251) + c) & 255),
  );
}

const sha256 = (parts: readonly Uint8Array[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
};

describe("Leopard-RS 8-bit field", () => {
  test("parity is byte-identical to the C++ library's for 2..224 data shards", () => {
    for (const [k, r, bytes, c, digest] of LEOPARD_REFERENCE) {
      assert.equal(sha256(leopard8Encode(referenceData(k, bytes, c), r)), digest, `${k} data + ${r} parity`);
    }
  });

  test("one parity shard is the XOR of the data (Leopard's m = 1 case)", () => {
    const data = referenceData(5, 64, 3);
    const [p] = leopard8Encode(data, 1);
    const xor = new Uint8Array(64);
    for (const d of data) for (let i = 0; i < 64; i++) xor[i] = (xor[i] as number) ^ (d[i] as number);
    assert.deepEqual(p, xor);
  });

  test("field: 1 is the identity, multiplication commutes and every nonzero element has an inverse", () => {
    for (let a = 0; a < 256; a++) {
      assert.equal(gfMul(a, 1), a);
      assert.equal(gfMul(a, 0), 0);
      if (a > 0)
        assert.ok(
          [...Array(255).keys()].some((b) => gfMul(a, b + 1) === 1),
          `inverse of ${a}`,
        );
    }
    for (let i = 0; i < 500; i++) {
      const a = (i * 37) & 255;
      const b = (i * 101 + 7) & 255;
      assert.equal(gfMul(a, b), gfMul(b, a));
    }
  });

  test("shapes: Leopard's 8-bit field holds NextPow2(NextPow2(parity) + data) <= 256", () => {
    assert.ok(fitsLeopard8(224, 28));
    assert.ok(!fitsLeopard8(225, 29), "225 + 32 > 256: Leopard switches to its 16-bit field");
    assert.ok(!fitsLeopard8(4, 5), "parity never outnumbers data");
    assert.ok(!fitsLeopard8(0, 1));
    assert.throws(() => leopard8Encode(referenceData(225, 64, 0), 29), /outside Leopard's 8-bit field/);
    assert.throws(
      () => leopard8Encode([new Uint8Array(64), new Uint8Array(32)], 1),
      /shard 1 is 32 bytes, expected 64/,
    );
  });

  test("any erasure pattern up to the parity count is recovered exactly (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 96 }),
        fc.integer(),
        (k, rWanted, bytes, seed) => {
          const r = Math.min(k, rWanted);
          if (!fitsLeopard8(k, r)) return;
          let s = seed >>> 0;
          const next = () => {
            s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
            return s;
          };
          const data = Array.from({ length: k }, () => Uint8Array.from({ length: bytes }, () => next() & 255));
          const parity = leopard8Encode(data, r);
          const all: (Uint8Array | undefined)[] = [...data, ...parity];
          const lose = next() % (r + 1);
          for (let n = 0; n < lose; n++) all[next() % all.length] = undefined;
          const out = leopard8Decode(all.slice(0, k), all.slice(k));
          assert.deepEqual(out, data);
        },
      ),
      { numRuns: 150 },
    );
  });

  test("too few shards: a RangeError that counts them", () => {
    const data = referenceData(6, 64, 1);
    const parity = leopard8Encode(data, 1);
    assert.throws(
      () => leopard8Decode([undefined, undefined, ...data.slice(2)], parity),
      /2 data shards missing but only 1 parity shards held/,
    );
  });
});
