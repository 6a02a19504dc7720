import { equalBytes } from "../core/bytes.js";
import type { SenderId, SignatureVerifier } from "../core/index.js";
import { nativeSigner } from "../platform/native-crypto.js";
import { signedPortion } from "../wire/index.js";

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
 * checked once by the owner. The owner's CPU figure still includes real verifications: its sampled calls run
 * `strict` (owner-host.ts).
 */
export class SignatureLedger {
  private readonly made = new Map<string, Made>();
  /** While true, every check is a real verification. */
  strict = false;
  /** Signatures made and not yet checked. */
  get size(): number {
    return this.made.size;
  }

  /** Checks answered from the ledger, and checks verified. */
  readonly counts = { recognised: 0, verified: 0 };

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
          return true;
        }
      }
      this.counts.verified++;
      return verify(bytes, signature, senderId);
    };
  }
}

function keyOf(signature: Uint8Array): string {
  return Buffer.from(signature.buffer, signature.byteOffset, signature.length).toString("latin1");
}
