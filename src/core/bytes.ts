/** True when `a` holds the same bytes as `b` (the same buffer, at once). */
export function equalBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
