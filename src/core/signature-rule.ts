/**
 * The one signature rule every verifier of the project follows (spec section 6.4): RFC 8032 verification with
 * canonical encodings, no small-order points and the cofactorless equation, as libsodium verifies. These are the
 * checks that come before the equation; they read bytes only, so they cost next to nothing beside the equation.
 */

/** Why a signature or key is refused before any curve arithmetic; undefined when the bytes pass. */
export type SignatureRuleRefusal =
  | "signature-length"
  | "s-not-canonical"
  | "key-not-canonical"
  | "key-small-order"
  | "r-not-canonical"
  | "r-small-order";

/** The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const L_BYTES = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0x10,
]);

/**
 * The y-coordinates (little-endian, sign bit clear) of the eight points of small order: the identity (y = 1),
 * the point of order 2 (y = p − 1), the two of order 4 (y = 0) and the four of order 8 (two values of y). A point
 * has small order exactly when its y is one of these, whatever its sign bit.
 */
const SMALL_ORDER_Y: readonly Uint8Array[] = [
  "0100000000000000000000000000000000000000000000000000000000000000",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
].map((hex) => Uint8Array.from({ length: 32 }, (_, i) => Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16)));

/** S (32 bytes little-endian at `offset`) is below L. */
function scalarIsCanonical(bytes: Uint8Array, offset: number): boolean {
  for (let i = 31; i >= 0; i--) {
    const a = bytes[offset + i]!;
    const b = L_BYTES[i]!;
    if (a !== b) return a < b;
  }
  return false;
}

/** The encoded y (sign bit cleared) is below p = 2^255 − 19: not y + p written for some small y. */
function yIsCanonical(bytes: Uint8Array, offset: number): boolean {
  if ((bytes[offset + 31]! & 0x7f) !== 0x7f) return true;
  for (let i = 30; i >= 1; i--) if (bytes[offset + i] !== 0xff) return true;
  return bytes[offset]! < 0xed;
}

function sameY(bytes: Uint8Array, offset: number, y: Uint8Array): boolean {
  if ((bytes[offset + 31]! & 0x7f) !== y[31]) return false;
  for (let i = 0; i < 31; i++) if (bytes[offset + i] !== y[i]) return false;
  return true;
}

function isSmallOrderY(bytes: Uint8Array, offset: number): boolean {
  for (const y of SMALL_ORDER_Y) if (sameY(bytes, offset, y)) return true;
  return false;
}

/** The sign bit is set while x = 0, which only y = 1 and y = p − 1 have: "negative zero", a second encoding. */
function isNegativeZero(bytes: Uint8Array, offset: number): boolean {
  if ((bytes[offset + 31]! & 0x80) === 0) return false;
  return sameY(bytes, offset, SMALL_ORDER_Y[0]!) || sameY(bytes, offset, SMALL_ORDER_Y[1]!);
}

/** A 32-byte point encoding, checked as a public key or an R: canonical and not of small order. */
function pointRefusal(bytes: Uint8Array, offset: number): "not-canonical" | "small-order" | undefined {
  if (!yIsCanonical(bytes, offset) || isNegativeZero(bytes, offset)) return "not-canonical";
  return isSmallOrderY(bytes, offset) ? "small-order" : undefined;
}

/** Checks a public key once, before it is used: its encoding is canonical and it is not of small order. */
export function keyRefusal(publicKey: Uint8Array): SignatureRuleRefusal | undefined {
  if (publicKey.length !== 32) return "key-not-canonical";
  const r = pointRefusal(publicKey, 0);
  return r === undefined ? undefined : r === "small-order" ? "key-small-order" : "key-not-canonical";
}

/** Checks a signature's bytes: 64 of them, R canonical and not of small order, S below L. */
export function signatureRefusal(signature: Uint8Array): SignatureRuleRefusal | undefined {
  if (signature.length !== 64) return "signature-length";
  if (!scalarIsCanonical(signature, 32)) return "s-not-canonical";
  const r = pointRefusal(signature, 0);
  return r === undefined ? undefined : r === "small-order" ? "r-small-order" : "r-not-canonical";
}
