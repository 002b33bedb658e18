/** Which `current` a follower reads and which version read it takes (state snapshots and weights alike). */
import type { Seen } from './publish.js';
import { LINEAGE_PEEK_MINUTES, VersionCursor } from './version-cursor.js';

const MIN = 60_000;

/** A volume whose current version, and each version's lineage, the test sets; counting reads. */
function volume() {
  const v = { current: null as Seen | null, lineages: new Map<number, string | undefined>(), failReads: 0, reads: 0, peeks: 0 };
  const reads = {
    lineage: async (n: number) => (v.peeks++, v.lineages.has(n) ? v.lineages.get(n) : null),
    read: async () => (v.reads++, v.failReads > 0 ? (v.failReads--, null) : v.current),
  };
  return { v, reads };
}

test('a higher current is read and taken; an equal one is not read', async () => {
  const c = new VersionCursor();
  const { v, reads } = volume();
  v.current = { version: 1, lineage: 'a' };
  v.lineages.set(1, 'a');
  expect(await c.next(1, 0, reads)).toEqual(v.current);
  c.take(v.current);
  for (let m = 1; m < 20; m++) expect(await c.next(1, m * MIN, reads)).toBeNull();
  expect(v.reads).toBe(1);
  expect(await c.next(null, 20 * MIN, reads)).toBeNull(); // nothing published (or a failed pointer read)
});

// A follower that took v1 of a lineage never read the owner's v1 of a new one (the volume emptied
// and published anew between two of its looks) until v2: up to a fine-tuning interval.
test('an equal current of a lineage never seen is noticed from its meta.json within LINEAGE_PEEK_MINUTES, and read; its files are not read otherwise', async () => {
  const c = new VersionCursor();
  const { v, reads } = volume();
  c.take({ version: 1, lineage: 'old' });
  v.lineages.set(1, 'old');
  for (let m = 0; m < 30; m++) expect(await c.next(1, m * MIN, reads)).toBeNull();
  expect(v.peeks).toBe(30 / LINEAGE_PEEK_MINUTES); // one small read every LINEAGE_PEEK_MINUTES
  expect(v.reads).toBe(0);
  v.current = { version: 1, lineage: 'new' };
  v.lineages.set(1, 'new');
  let got: Seen | null = null;
  let m = 30;
  for (; !got; m++) got = await c.next(1, m * MIN, reads);
  expect(m - 30).toBeLessThanOrEqual(LINEAGE_PEEK_MINUTES);
  expect(got).toEqual({ version: 1, lineage: 'new' });
  c.take(got);
  // A lineage seen before (a stale view of the old one) is not gone back to; an unreadable meta tells nothing.
  v.lineages.set(1, 'old');
  v.current = { version: 1, lineage: 'old' };
  for (let k = 0; k < 20; k++) expect(await c.next(1, (m + k) * MIN, reads)).toBeNull();
  v.lineages.delete(1);
  for (let k = 20; k < 40; k++) expect(await c.next(1, (m + k) * MIN, reads)).toBeNull();
  expect(v.reads).toBe(1);
});

test('a lower current is read once: passed over when its version was read and does not supersede, taken when of a new lineage', async () => {
  const c = new VersionCursor();
  const { v, reads } = volume();
  c.take({ version: 5, lineage: 'a' });
  v.current = { version: 3, lineage: 'a' }; // stale
  for (let m = 0; m < 10; m++) expect(await c.next(3, m * MIN, reads)).toBeNull();
  expect(v.reads).toBe(1);
  v.current = { version: 1, lineage: 'b' }; // emptied and published anew
  expect(await c.next(1, 10 * MIN, reads)).toEqual(v.current);
});

// One failed read (NFS showing the new `current` before `v1/`, a version being pruned) passed the
// new lineage's v1 over until `current` changed: up to a fine-tuning interval for weights.
test('a read that gives nothing, or another version than the pointed one, passes nothing over: the next look reads again', async () => {
  const c = new VersionCursor();
  const { v, reads } = volume();
  c.take({ version: 5, lineage: 'a' });
  v.current = { version: 1, lineage: 'b' };
  v.failReads = 1;
  expect(await c.next(1, 0, reads)).toBeNull();
  expect(await c.next(1, MIN, reads)).toEqual(v.current);
  // The pointed version not readable yet, an older one of the lineage taken read instead (readCurrent's fallback).
  const d = new VersionCursor();
  d.take({ version: 5, lineage: 'a' });
  v.current = { version: 4, lineage: 'a' };
  expect(await d.next(1, 0, reads)).toBeNull();
  v.current = { version: 1, lineage: 'b' };
  expect(await d.next(1, MIN, reads)).toEqual(v.current);
});

test('reset: the next current is read whatever its number; lineages seen are still not gone back to', async () => {
  const c = new VersionCursor();
  const { v, reads } = volume();
  c.take({ version: 3, lineage: 'a' });
  c.reset();
  expect(c.seen).toEqual({ version: 0 });
  v.current = { version: 1, lineage: 'b' };
  expect(await c.next(1, 0, reads)).toEqual(v.current);
  c.take(v.current);
  v.current = { version: 1, lineage: 'a' };
  v.lineages.set(1, 'a');
  for (let m = 1; m < 20; m++) expect(await c.next(1, m * MIN, reads)).toBeNull();
  // Without a way to look at the lineage (a store without one), an equal current is never read.
  const e = new VersionCursor();
  e.take({ version: 1, lineage: 'a' });
  v.current = { version: 1, lineage: 'z' };
  expect(await e.next(1, 0, { read: reads.read })).toBeNull();
});

// A lower current passed over stays unread while it stays; the volume emptied and published anew up
// to that very number brought a new lineage under it, which was never read (for weights, until the
// owner's next round: hours).
test('a passed-over current is peeked at like an equal one: the same number of a new lineage is read within LINEAGE_PEEK_MINUTES', async () => {
  const c = new VersionCursor();
  const { v, reads } = volume();
  c.take({ version: 5, lineage: 'a' });
  v.current = { version: 3, lineage: 'a' }; // stale
  v.lineages.set(3, 'a');
  expect(await c.next(3, 0, reads)).toBeNull();
  for (let m = 1; m < 10; m++) expect(await c.next(3, m * MIN, reads)).toBeNull();
  expect(v.reads).toBe(1);
  v.current = { version: 3, lineage: 'b' }; // emptied, and published anew up to v3
  v.lineages.set(3, 'b');
  let got: Seen | null = null;
  let m = 10;
  for (; !got && m < 30; m++) got = await c.next(3, m * MIN, reads);
  expect(got).toEqual({ version: 3, lineage: 'b' });
  expect(m - 10).toBeLessThanOrEqual(LINEAGE_PEEK_MINUTES);
});

test('a lineage peek that could not read is tried again at the next look, not LINEAGE_PEEK_MINUTES later', async () => {
  const c = new VersionCursor();
  const { v, reads } = volume();
  c.take({ version: 1, lineage: 'old' });
  v.lineages.set(1, 'old');
  expect(await c.next(1, 0, reads)).toBeNull(); // peeked: old
  v.lineages.delete(1); // the new lineage's meta.json not readable yet
  v.current = { version: 1, lineage: 'new' };
  expect(await c.next(1, LINEAGE_PEEK_MINUTES * MIN, reads)).toBeNull();
  v.lineages.set(1, 'new');
  expect(await c.next(1, (LINEAGE_PEEK_MINUTES + 1) * MIN, reads)).toEqual({ version: 1, lineage: 'new' });
});
