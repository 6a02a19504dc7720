/**
 * The one key format for "a message by id" and "a message by (sender, sequence)". Missing entries,
 * waiters and every by-sequence index use it; the `i:` / `s:` forms also appear in snapshots.
 */
export type DependencyKey = string;

export function idKey(id: string): DependencyKey {
  return `i:${id}`;
}

export function seqKey(sender: string, seq: number): DependencyKey {
  return `s:${sender}:${seq}`;
}
