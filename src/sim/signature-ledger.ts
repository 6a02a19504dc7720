import { equalBytes } from "../core/bytes.js";
import { identityFromSecretKey, type SenderId, type SignatureVerifier } from "../core/index.js";
import { nativeSigner } from "../platform/native-crypto.js";
import { appendSignature, signedPortion } from "../wire/index.js";

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
 * Anything else (another key, other bytes, a signature not made here, or any check while `strict`) is verified.
 *
 * Members' receipt reports are the bulk of it: one signature per member every few hundred milliseconds, each
 * checked once by the owner. The owner's CPU figure still pays for every verification: while `charging`, a
 * recognised signature adds `verifyCostUs` (real OpenSSL verifications, timed when the ledger is made) to
 * `chargedUs` instead of running the arithmetic again (owner-host.ts).
 */
export class SignatureLedger {
  private readonly made = new Map<string, Made>();
  /** While true, every check is a real verification. */
  strict = false;
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

  /** Node's ed25519 signer for `secretKey`, whose signatures are remembered. */
  signer(secretKey: Uint8Array, senderId: string): (unsigned: Uint8Array) => Uint8Array {
    const sign = nativeSigner(secretKey);
    return (unsigned) => {
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
        // Checked once, forgotten: also when `strict`, so that the ledger holds only signatures still in flight.
        const key = keyOf(signature);
        const made = this.made.get(key);
        if (made !== undefined) this.made.delete(key);
        if (!this.strict && made?.senderId === senderId && equalBytes(signedPortion(bytes), made.unsigned)) {
          this.counts.recognised++;
          if (this.charging) this.chargedUs += this.verifyCostUs;
          return true;
        }
      }
      this.counts.verified++;
      return verify(bytes, signature, senderId);
    };
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
