import { equalBytes } from "../core/bytes.js";
import type { SignatureVerifier } from "../core/index.js";

/**
 * Verification done once per publication: one publication reaches every member, and the simulator
 * hands them all the same decoding, so the result is kept on its signature object (with the bytes and
 * sender it was computed for, which a forged copy would not share: a copy counts when its bytes are equal).
 */
export function verifyOnce(verify: SignatureVerifier): SignatureVerifier {
  const results = new WeakMap<Uint8Array, { bytes: Uint8Array; sender: string; ok: boolean }>();
  return (bytes, signature, senderId) => {
    const hit = results.get(signature);
    // Equal bytes in another buffer: a copy from another worker, given the decoding kept for the same bytes.
    if (hit !== undefined && hit.sender === senderId && equalBytes(hit.bytes, bytes)) return hit.ok;
    const ok = verify(bytes, signature, senderId);
    results.set(signature, { bytes, sender: senderId, ok });
    return ok;
  };
}
