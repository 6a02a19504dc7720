// Edge cases of the signature rule (spec section 6.4, spec/vectors/signature-rule.json): signatures that RFC 8032
// verifiers disagree on (non-canonical S and R, small-order keys and R, mixed-order keys and R, "negative zero").
// Each is built with curve arithmetic from a known secret scalar, so that it satisfies the equation the lax rules
// check and isolates the one condition the Chorus rule adds. test/core/signature-rule.test.ts runs every
// verifier of the project (noble-based createVerifier and verifyEncoding, OpenSSL-based nativeVerifier) on them.
import { ED25519_TORSION_SUBGROUP, ed25519 } from "@noble/curves/ed25519.js";
import { bytesToNumberLE, numberToBytesLE } from "@noble/curves/utils.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { computeMessageId } from "../src/core/index.js";
import { encodeUnsigned, type WireMessage } from "../src/wire/index.js";

const Point = ed25519.Point;
const L = Point.Fn.ORDER;
const DOMAIN = utf8ToBytes("chorus/sig/v1");
/** The torsion point of order 8 the cases add; index 1 of noble's list has order 8. */
const T8 = Point.fromHex(ED25519_TORSION_SUBGROUP[1]!);

const k = (R: Uint8Array, A: Uint8Array, unsigned: Uint8Array) =>
  bytesToNumberLE(sha512(concatBytes(R, A, DOMAIN, unsigned))) % L;

/** An unsigned content message by `senderId`, numbered so that the cases can search for a suitable hash. */
function unsignedMessage(senderId: string, n: number): Uint8Array {
  const content = utf8ToBytes(`edge ${n}`);
  const fields = {
    senderId,
    channelId: "c",
    kind: "content" as const,
    sequence: 1,
    lamportTimestamp: 1_700_000_000_000n,
    content,
  };
  const message: WireMessage = {
    ...fields,
    messageId: computeMessageId(fields),
    causalHistory: [],
    repairRequest: [],
    sequenceRepairRequest: [],
  };
  return encodeUnsigned(message);
}

interface Case {
  name: string;
  publicKey: string;
  unsigned: string;
  signature: string;
  valid: boolean;
  /** The first check of the rule that fails, or "" for a valid signature. */
  failsAt: string;
  /** What a ZIP-215 (cofactored, lax decoding) verifier answers: where the rules differ. */
  zip215: boolean;
}

function zip215Verify(signature: Uint8Array, unsigned: Uint8Array, A: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, concatBytes(DOMAIN, unsigned), A);
  } catch {
    return false;
  }
}

function sig(R: Uint8Array, S: bigint): Uint8Array {
  return concatBytes(R, numberToBytesLE(S, 32));
}

function make(
  name: string,
  A: Uint8Array,
  unsigned: Uint8Array,
  signature: Uint8Array,
  valid: boolean,
  failsAt: string,
): Case {
  return {
    name,
    publicKey: bytesToHex(A),
    unsigned: bytesToHex(unsigned),
    signature: bytesToHex(signature),
    valid,
    failsAt,
    zip215: zip215Verify(signature, unsigned, A),
  };
}

/** The first message number whose k satisfies `want`, for the key encoding `A` and R from `rOf`. */
function search(A: Uint8Array, rOf: (unsigned: Uint8Array) => Uint8Array, want: (k: bigint) => boolean) {
  for (let n = 0; n < 1000; n++) {
    const unsigned = unsignedMessage(bytesToHex(A), n);
    const kk = k(rOf(unsigned), A, unsigned);
    if (want(kk)) return { unsigned, k: kk };
  }
  throw new RangeError("no message found");
}

export function buildSignatureRuleVectors() {
  const a = 0x1234567890abcdefn; // a known secret scalar
  const A = Point.BASE.multiply(a);
  const Ab = A.toBytes();
  const r = 0x0fedcba987654321n;
  const Rpt = Point.BASE.multiply(r);
  const honest = (unsigned: Uint8Array, Rb: Uint8Array, key: Uint8Array, scalar: bigint, nonce: bigint) =>
    sig(Rb, (nonce + k(Rb, key, unsigned) * scalar) % L);
  const cases: Case[] = [];

  const u0 = unsignedMessage(bytesToHex(Ab), 0);
  const good = honest(u0, Rpt.toBytes(), Ab, a, r);
  cases.push(make("honest signature", Ab, u0, good, true, ""));
  const S0 = bytesToNumberLE(good.subarray(32));
  cases.push(make("S + L: the same scalar, not reduced", Ab, u0, sig(Rpt.toBytes(), S0 + L), false, "s-not-canonical"));

  // The identity as the key: [S]B = R + [k]A holds for R = rB, S = r, whatever k.
  const identity = Point.ZERO.toBytes();
  const rb = Rpt.toBytes();
  const uId = unsignedMessage(bytesToHex(identity), 0);
  cases.push(make("key of small order (the identity)", identity, uId, sig(rb, r), false, "key-small-order"));
  // The identity written as y = p + 1: a non-canonical key encoding.
  const idNonCanonical = hexToBytes("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  const uIdN = unsignedMessage(bytesToHex(idNonCanonical), 0);
  cases.push(
    make(
      "key written with y >= p (the identity as p + 1)",
      idNonCanonical,
      uIdN,
      sig(rb, r),
      false,
      "key-not-canonical",
    ),
  );
  // Honest key, R the identity written as y = p + 1, S = k·a: [S]B = [k]A = R + [k]A.
  const uR = unsignedMessage(bytesToHex(Ab), 1);
  cases.push(
    make(
      "R written with y >= p",
      Ab,
      uR,
      sig(idNonCanonical, (k(idNonCanonical, Ab, uR) * a) % L),
      false,
      "r-not-canonical",
    ),
  );
  // R the identity with the sign bit set ("negative zero").
  const negZero = hexToBytes("0100000000000000000000000000000000000000000000000000000000000080");
  const uNz = unsignedMessage(bytesToHex(Ab), 2);
  cases.push(
    make("R is negative zero", Ab, uNz, sig(negZero, (k(negZero, Ab, uNz) * a) % L), false, "r-not-canonical"),
  );
  // R a point of order 8, S = k·a: only the cofactored equation holds.
  const t8 = T8.toBytes();
  const uT = unsignedMessage(bytesToHex(Ab), 3);
  cases.push(make("R of order 8", Ab, uT, sig(t8, (k(t8, Ab, uT) * a) % L), false, "r-small-order"));
  // R of mixed order (rB + T8), S = r + k·a: passes every byte check, fails the cofactorless equation.
  const Rmixed = Rpt.add(T8).toBytes();
  const uM = unsignedMessage(bytesToHex(Ab), 4);
  cases.push(make("R of mixed order", Ab, uM, honest(uM, Rmixed, Ab, a, r), false, "equation"));
  // A key of mixed order (aB + T8), signed honestly with a: [k]A = [k]aB + [k]T8, so the cofactorless equation
  // holds exactly when 8 divides k.
  const Amixed = A.add(T8).toBytes();
  const even = search(
    Amixed,
    () => rb,
    (kk) => kk % 8n === 0n,
  );
  cases.push(
    make("key of mixed order, k divisible by 8", Amixed, even.unsigned, sig(rb, (r + even.k * a) % L), true, ""),
  );
  const odd = search(
    Amixed,
    () => rb,
    (kk) => kk % 8n !== 0n,
  );
  cases.push(
    make(
      "key of mixed order, k not divisible by 8",
      Amixed,
      odd.unsigned,
      sig(rb, (r + odd.k * a) % L),
      false,
      "equation",
    ),
  );
  // A key of order 8, R = rB, S = r: the cofactorless equation holds when 8 divides k.
  const t8key = search(
    t8,
    () => rb,
    (kk) => kk % 8n === 0n,
  );
  cases.push(make("key of order 8", t8, t8key.unsigned, sig(rb, r), false, "key-small-order"));
  return {
    description:
      "The signature rule of spec section 6.4, at its edges. Verify `signature` over utf8('chorus/sig/v1') || " +
      "unsigned with `publicKey`: the result must be `valid`. `failsAt` names the first check of the rule that " +
      "refuses it ('equation' for the cofactorless equation); `zip215` is what a ZIP-215 verifier (lax decoding, " +
      "cofactored equation, @noble/curves' default) answers, informative.",
    vectors: cases,
  };
}
