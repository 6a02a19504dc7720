import { hash } from "node:crypto";
import { equalBytes } from "../core/bytes.js";
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
 * of a 1,000-member run): a report's signature is a token, SHA-512 over the member's secret key and the signed
 * bytes, which this ledger checks the way ed25519 would answer, true exactly for the signer's key over the same
 * bytes. A report costs the same bytes on the wire. Channel messages keep real signatures: they travel and are
 * checked by every member and the owner's store.
 *
 * The owner's CPU figure still pays for every verification: while `charging`, a recognised signature adds
 * `verifyCostUs` (real OpenSSL verifications, timed when the ledger is made) to `chargedUs` (owner-host.ts).
 */
export class SignatureLedger {
  private readonly made = new Map<string, Made>();
  /** Signatures verified here (`rememberVerified`), the oldest forgotten first. */
  private readonly verifiedHere = new Map<string, Made>();
  /** The secret key of every signer made here, for report tokens. */
  private readonly keys = new Map<string, Uint8Array>();
  /**
   * Per signer, its newest report token and the bytes it covers. A member has one report in flight at a time, so
   * the owner checks nearly every token against this instead of hashing again; any other token is recomputed.
   */
  private readonly lastReport = new Map<string, { readonly signed: Uint8Array; readonly token: Uint8Array }>();
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
    this.keys.set(senderId, secretKey);
  }

  /** Node's ed25519 signer for `secretKey`, whose signatures are remembered; receipt reports get a token. */
  signer(secretKey: Uint8Array, senderId: string): (unsigned: Uint8Array) => Uint8Array {
    const sign = nativeSigner(secretKey);
    this.keys.set(senderId, secretKey);
    return (unsigned) => {
      if (isReport(unsigned)) {
        const token = reportToken(secretKey, unsigned);
        // `unsigned` is the signing input made for this call (signOwnerMessage): nothing writes to it later (the
        // trailer goes after it in the same buffer).
        this.lastReport.set(senderId, { signed: unsigned, token });
        return token;
      }
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
        if (key !== undefined) {
          const last = this.lastReport.get(senderId);
          if (last !== undefined && equalBytes(last.token, signature) && equalBytes(last.signed, signed!)) {
            return this.recognised();
          }
          if (equalBytes(reportToken(key, signed!), signature)) return this.recognised();
        }
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

const TOKEN_DOMAIN = Buffer.from("chorus/sim/report-token/v1");

/** A simulated member's signature over report bytes: SHA-512(domain || secret key || bytes), 64 bytes. */
function reportToken(secretKey: Uint8Array, signed: Uint8Array): Uint8Array {
  // One-shot over the joined input: a Hash object with three updates cost twice as much per report.
  const input = new Uint8Array(TOKEN_DOMAIN.length + secretKey.length + signed.length);
  input.set(TOKEN_DOMAIN, 0);
  input.set(secretKey, TOKEN_DOMAIN.length);
  input.set(signed, TOKEN_DOMAIN.length + secretKey.length);
  return new Uint8Array(hash("sha512", input, "buffer"));
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
