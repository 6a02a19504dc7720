import { hash } from "node:crypto";
import { equalBytes } from "../core/bytes.js";
import { halfSipHash64 } from "../core/halfsiphash.js";
import { identityFromSecretKey, type SenderId, type SignatureVerifier } from "../core/index.js";
import { nativeSigner } from "../platform/native-crypto.js";
import { appendSignature, signedPortion } from "../wire/index.js";
import { REPORT_DOMAIN } from "../wire/owner-codec.js";

/** Signatures remembered at most: those made but not yet checked (reports in flight, copies under way). */
const MAX_REMEMBERED = 1 << 16;

interface Made {
  readonly unsigned: Uint8Array;
  readonly senderId: string;
}

/**
 * The signatures the simulated members made, so that checking one of them costs a look-up instead of an
 * ed25519 verification. Ed25519 signing is deterministic and a signature made with a key over some bytes always
 * verifies with that key over those bytes: a verifier asked about a signature made here, for the same signed
 * bytes and the signer's own id, answers true without the arithmetic, which is what the arithmetic would answer.
 * Anything else (another key, other bytes, a signature not made here) is verified.
 *
 * Members' receipt reports are the bulk of it: one per member every few hundred milliseconds, each checked once,
 * by the owner, and by nothing else. Their signatures are not made with ed25519 at all (its arithmetic was a sixth
 * of a 1,000-member run): a report's signature is a token, a keyed hash of the signed bytes under a key derived
 * from the member's secret key (`reportToken`), which this ledger checks the way ed25519 would answer, true exactly
 * for the signer's key over the same bytes. A report costs the same bytes on the wire. Channel messages keep real
 * signatures: they travel and are checked by every member and the owner's store.
 *
 * The owner's CPU figure still pays for every verification: while `charging`, a recognised signature adds
 * `verifyCostUs` (real OpenSSL verifications, timed when the ledger is made) to `chargedUs` (owner-host.ts).
 */
export class SignatureLedger {
  private readonly made = new Map<string, Made>();
  /** Signatures verified here (`rememberVerified`), the oldest forgotten first. */
  private readonly verifiedHere = new Map<string, Made>();
  /** The report-token key of every signer made or learnt here (`reportKey`). */
  private readonly keys = new Map<string, ReportKey>();
  /** While true, a recognised signature is charged at `verifyCostUs` into `chargedUs` (the owner's timed calls). */
  charging = false;
  /** CPU µs recognised signatures would have cost to verify while `charging`. */
  chargedUs = 0;
  /** Signatures made and not yet checked. */
  get size(): number {
    return this.made.size;
  }

  /** Checks answered from the ledger, and checks verified. */
  readonly counts = { recognised: 0, verified: 0 };

  /** `verifyCostUs`: CPU µs of one OpenSSL ed25519 verification, measured here (calibrateVerification). */
  constructor(readonly verifyCostUs = 0) {}

  /**
   * Knows `senderId`'s key without signing for it here: its report tokens are then checked in this ledger too (a
   * run split across workers checks reports in the owner's worker, signed in the member's).
   */
  learn(senderId: string, secretKey: Uint8Array): void {
    this.keys.set(senderId, reportKey(secretKey));
  }

  /** Node's ed25519 signer for `secretKey`, whose signatures are remembered; receipt reports get a token. */
  signer(secretKey: Uint8Array, senderId: string): (unsigned: Uint8Array) => Uint8Array {
    const sign = nativeSigner(secretKey);
    const key = reportKey(secretKey);
    this.keys.set(senderId, key);
    return (unsigned) => {
      if (isReport(unsigned)) return reportToken(key, unsigned);
      const signature = sign(unsigned);
      if (this.made.size >= MAX_REMEMBERED) this.made.delete(this.made.keys().next().value as string);
      this.made.set(keyOf(signature), { unsigned: unsigned.slice(), senderId });
      return signature;
    };
  }

  /** `verify`, skipped for signatures this ledger saw made over the same bytes by the claimed sender. */
  verifier(verify: SignatureVerifier): SignatureVerifier {
    return (bytes, signature, senderId: SenderId) => {
      if (signature.length === 64) {
        const signed = signedPortion(bytes);
        const key = signed !== undefined && isReport(signed) ? this.keys.get(senderId) : undefined;
        if (key !== undefined && isToken(key, signed!, signature)) return this.recognised();
        // Checked once, forgotten: the ledger holds only signatures still in flight.
        const madeKey = keyOf(signature);
        const made = this.made.get(madeKey);
        if (made !== undefined) this.made.delete(madeKey);
        if (made?.senderId === senderId && equalBytes(signed, made.unsigned)) return this.recognised();
        const seen = this.verifiedHere.get(madeKey);
        if (seen?.senderId === senderId && equalBytes(signed, seen.unsigned)) return this.recognised();
      }
      this.counts.verified++;
      const ok = verify(bytes, signature, senderId);
      if (ok && signature.length === 64) this.rememberVerified(signature, signedPortion(bytes), senderId);
      return ok;
    };
  }

  /**
   * A signature verified here, remembered as one made here is: in a run split across workers a signature made in
   * another worker's ledger reaches this one first in a publication, then again in every fetch answer that carries
   * the same message (bytes cloned across threads, so decoded and checked again), and each of those cost an
   * ed25519 verification where one thread checks it once.
   */
  private rememberVerified(signature: Uint8Array, signed: Uint8Array | undefined, senderId: string): void {
    if (signed === undefined) return;
    if (this.verifiedHere.size >= MAX_REMEMBERED) {
      this.verifiedHere.delete(this.verifiedHere.keys().next().value as string);
    }
    this.verifiedHere.set(keyOf(signature), { unsigned: signed.slice(), senderId });
  }

  private recognised(): true {
    this.counts.recognised++;
    if (this.charging) this.chargedUs += this.verifyCostUs;
    return true;
  }
}

/** Signed bytes of a receipt report: its domain, then its unsigned encoding (wire/owner-codec.ts). */
function isReport(signed: Uint8Array): boolean {
  if (signed.length < REPORT_DOMAIN.length) return false;
  for (let i = 0; i < REPORT_DOMAIN.length; i++) if (signed[i] !== REPORT_DOMAIN[i]) return false;
  return true;
}

const TOKEN_DOMAIN = Buffer.from("chorus/sim/report-token/v2");
const TAG_BYTES = 16;
const SIGNER_BYTES = 64 - TAG_BYTES;

/**
 * A member's report-token key, derived once: SHA-512(domain || secret key) gives two 64-bit HalfSipHash keys (its
 * first 16 bytes, never on the wire) and the token's signer part (its other 48 bytes).
 */
interface ReportKey {
  readonly k: Int32Array;
  readonly signer: Uint8Array;
}

function reportKey(secretKey: Uint8Array): ReportKey {
  const digest = new Uint8Array(hash("sha512", Buffer.concat([TOKEN_DOMAIN, secretKey]), "buffer"));
  const view = new DataView(digest.buffer, digest.byteOffset, TAG_BYTES);
  const k = Int32Array.of(
    view.getInt32(0, true),
    view.getInt32(4, true),
    view.getInt32(8, true),
    view.getInt32(12, true),
  );
  return { k, signer: digest.slice(TAG_BYTES) };
}

/**
 * A simulated member's signature over report bytes, 64 bytes: the signer part of its key (48 bytes), then a 128-bit
 * tag of the bytes, HalfSipHash-2-4-64 under each of its two secret keys. What the ledger needs of it, and why this
 * gives it:
 * - a function of the key and the bytes only, so a run is reproducible (no randomness, no counter);
 * - true for no other signer: the signer parts of two keys are 48 bytes of SHA-512 of different secrets;
 * - true for no other bytes under the same key, except with probability 2^-128: HalfSipHash is a keyed
 *   pseudo-random function, and its keys are secret to the member (collisions only the key holder could look for,
 *   and it can sign whatever it likes).
 * It replaces SHA-512 over the key and the bytes, a native call (~2.5 µs a report, ~3 % of a 10,000-member run's
 * profile): two HalfSipHash passes over a report cost a few tenths of that.
 */
function reportToken(key: ReportKey, signed: Uint8Array): Uint8Array {
  const token = new Uint8Array(64);
  token.set(key.signer, 0);
  writeTag(key, signed, token, SIGNER_BYTES);
  return token;
}

/** `reportToken(key, signed)` equals `signature`, without making the token. */
function isToken(key: ReportKey, signed: Uint8Array, signature: Uint8Array): boolean {
  for (let i = 0; i < SIGNER_BYTES; i++) if (signature[i] !== key.signer[i]) return false;
  const tag = scratchTag;
  writeTag(key, signed, tag, 0);
  for (let i = 0; i < TAG_BYTES; i++) if (signature[SIGNER_BYTES + i] !== tag[i]) return false;
  return true;
}

const scratchTag = new Uint8Array(TAG_BYTES);

/** The 16-byte tag of `signed` under `key`, little-endian words, into `out[at .. at + 16)`. */
function writeTag(key: ReportKey, signed: Uint8Array, out: Uint8Array, at: number): void {
  for (let half = 0; half < 2; half++) {
    const words = halfSipHash64(key.k[2 * half]!, key.k[2 * half + 1]!, signed, signed.length);
    for (let w = 0; w < 2; w++) {
      const word = words[w]!;
      const o = at + 8 * half + 4 * w;
      out[o] = word;
      out[o + 1] = word >>> 8;
      out[o + 2] = word >>> 16;
      out[o + 3] = word >>> 24;
    }
  }
}

/**
 * CPU µs of one ed25519 verification through `verifier` (a key it has cached, as an owner has its members'):
 * the median of `batches` timed batches of `perBatch` verifications of one real signature over report-sized bytes.
 */
export function calibrateVerification(verifier: SignatureVerifier, batches = 7, perBatch = 16): number {
  const secretKey = new Uint8Array(32).fill(7);
  const { senderId } = identityFromSecretKey(secretKey);
  const unsigned = new Uint8Array(200).fill(1);
  const bytes = appendSignature(unsigned, nativeSigner(secretKey)(unsigned));
  const signature = bytes.subarray(bytes.length - 64);
  if (!verifier(bytes, signature, senderId)) throw new Error("calibrateVerification: a real signature did not verify");
  const perCheck: number[] = [];
  for (let b = 0; b < batches; b++) {
    const start = process.cpuUsage();
    for (let i = 0; i < perBatch; i++) verifier(bytes, signature, senderId);
    const used = process.cpuUsage(start);
    perCheck.push((used.user + used.system) / perBatch);
  }
  return perCheck.sort((x, y) => x - y)[batches >> 1]!;
}

function keyOf(signature: Uint8Array): string {
  return Buffer.from(signature.buffer, signature.byteOffset, signature.length).toString("latin1");
}
