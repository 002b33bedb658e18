/** Rendezvous hashing: only the departed (or arriving) member's keys move; even balance; deterministic. */
import { seededRandom as rng } from '../test-support/cluster/util.js';
import { assign, owned, ownerOf, weight } from './rendezvous.js';

const randomName = (r: () => number, prefix: string) => `${prefix}-${Math.floor(r() * 1e9).toString(36)}`;

function randomWorld(seed: number) {
  const r = rng(seed);
  const size = 1 + Math.floor(r() * 8);
  const members = new Set<string>();
  while (members.size < size) members.add(randomName(r, 'amadeus'));
  const keys = new Set<string>();
  const nKeys = 50 + Math.floor(r() * 250);
  while (keys.size < nKeys) keys.add(`${randomName(r, 'ns')}/${randomName(r, 'deploy')}`);
  return { r, members: [...members], keys: [...keys] };
}

test('removing a member moves exactly the keys it owned; every other key keeps its owner', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const { r, members, keys } = randomWorld(seed);
    const gone = members[Math.floor(r() * members.length)];
    const rest = members.filter((m) => m !== gone);
    const before = assign(keys, members);
    const after = assign(keys, rest);
    for (const k of keys) {
      if (before.get(k) === gone) {
        expect(after.get(k)).not.toBe(gone);
        expect(rest.length === 0 ? after.get(k) === null : rest.includes(after.get(k)!)).toBe(true);
      } else {
        expect(after.get(k)).toBe(before.get(k));
      }
    }
  }
});

test('adding a member moves keys only to the newcomer', () => {
  for (let seed = 1000; seed <= 1200; seed++) {
    const { r, members, keys } = randomWorld(seed);
    const newcomer = randomName(r, 'fresh');
    const before = assign(keys, members);
    const after = assign(keys, [...members, newcomer]);
    let moved = 0;
    for (const k of keys) {
      if (after.get(k) !== before.get(k)) {
        expect(after.get(k)).toBe(newcomer);
        moved++;
      }
    }
    // The newcomer takes about 1/(n+1) of the keys; never all of them when others remain.
    if (members.length > 0) expect(moved).toBeLessThan(keys.length);
  }
});

test('every key has exactly one owner, and owned() partitions the keys', () => {
  for (let seed = 2000; seed <= 2050; seed++) {
    const { members, keys } = randomWorld(seed);
    const parts = members.map((m) => owned(keys, m, members));
    expect(parts.flat().sort()).toEqual([...keys].sort());
    expect(owned(keys, 'not-a-member', members)).toEqual([]);
  }
});

test('balance: each of 5 members owns 20% ± 5% of 10,000 keys', () => {
  const members = ['amadeus-0', 'amadeus-1', 'amadeus-2', 'amadeus-3', 'amadeus-4'];
  const counts = new Map(members.map((m) => [m, 0]));
  for (let i = 0; i < 10_000; i++) {
    const o = ownerOf(`workload-${i}`, members)!;
    counts.set(o, counts.get(o)! + 1);
  }
  for (const c of counts.values()) {
    expect(c).toBeGreaterThanOrEqual(1500);
    expect(c).toBeLessThanOrEqual(2500);
  }
});

test('deterministic: independent of membership order and duplicates, and pinned across processes and Node versions', () => {
  const members = ['c', 'a', 'b'];
  for (let i = 0; i < 100; i++) {
    const k = `k${i}`;
    expect(ownerOf(k, members)).toBe(ownerOf(k, ['b', 'c', 'a']));
    expect(ownerOf(k, members)).toBe(ownerOf(k, ['a', 'a', 'b', 'c', 'c']));
  }
  // The weight is the first 8 bytes of sha256("a\0k"): a change of hash would reshuffle every owner.
  expect(weight('a', 'k')).toBe(0x9a2a77afb0d50c76n);
  expect(weight('b', 'default/web')).toBe(0x3d72e7f1e84901fdn);
  expect(ownerOf('k', [])).toBeNull();
  expect(ownerOf('k', ['only'])).toBe('only');
});
