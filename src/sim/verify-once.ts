import type { SignatureVerifier } from "../core/index.js";

/**
 * Verification done once per publication: one publication reaches every member, and the simulator
 * hands them all the same decoding, so the result is kept on its signature object (with the bytes and
 * sender it was computed for, which a forged copy would not share).
 */
export function verifyOnce(verify: SignatureVerifier): SignatureVerifier {
  const results = new WeakMap<Uint8Array, { bytes: Uint8Array; sender: string; ok: boolean }>();
  return (bytes, signature, senderId) => {
    const hit = results.get(signature);
    if (hit !== undefined && hit.bytes === bytes && hit.sender === senderId) return hit.ok;
    const ok = verify(bytes, signature, senderId);
    results.set(signature, { bytes, sender: senderId, ok });
    return ok;
  };
}
