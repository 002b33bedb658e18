/**
 * Rendezvous (highest-random-weight) hashing: a key belongs to the member whose hash of
 * `member + '\0' + key` is the highest. Each member's weight for a key is independent of the
 * other members, so when a member leaves only its own keys move (each to its runner-up), and when
 * one joins it takes only the keys for which it now scores highest. The weight is the first 64
 * bits of a SHA-256, identical in every process and Node version; ties (astronomically rare) go
 * to the smaller member name, so the answer never depends on the order of the membership list.
 */
import { createHash } from 'node:crypto';

/** The 64-bit weight of `member` for `key`. */
export function weight(member: string, key: string): bigint {
  return createHash('sha256').update(`${member}\0${key}`).digest().readBigUInt64BE(0);
}

/** The member owning `key`, or null when there are no members. Duplicates in `members` are harmless. */
export function ownerOf(key: string, members: readonly string[]): string | null {
  let best: string | null = null;
  let bestWeight = -1n;
  for (const m of members) {
    const w = weight(m, key);
    if (w > bestWeight || (w === bestWeight && best !== null && m < best)) {
      best = m;
      bestWeight = w;
    }
  }
  return best;
}

/** The keys `self` owns among `members` (none when `self` is not a member), in the order given. */
export function owned(keys: Iterable<string>, self: string, members: readonly string[]): string[] {
  if (!members.includes(self)) return [];
  const mine: string[] = [];
  for (const k of keys) if (ownerOf(k, members) === self) mine.push(k);
  return mine;
}

/** Every key's owner (null with no members). */
export function assign(keys: Iterable<string>, members: readonly string[]): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const k of keys) out.set(k, ownerOf(k, members));
  return out;
}
