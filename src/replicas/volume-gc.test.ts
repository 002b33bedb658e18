/** The shared volume's clean-up, on a real directory. */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CURRENT } from './publish.js';
import { collectVolume } from './volume-gc.js';

const DAY = 86_400_000;
let root: string;
const now = Date.now();
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'amadeus-gc-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A published directory whose pointer last changed `daysAgo` days ago (a version inside it). */
function published(name: string, daysAgo: number, pointer = true): void {
  const dir = join(root, name);
  mkdirSync(join(dir, 'v1'), { recursive: true });
  writeFileSync(join(dir, 'v1', 'meta.json'), '{}');
  const t = (now - daysAgo * DAY) / 1000;
  if (pointer) {
    writeFileSync(join(dir, CURRENT), '1');
    utimesSync(join(dir, CURRENT), t, t);
  }
  utimesSync(dir, t, t);
}
const run = <T>(_what: string, op: () => Promise<T>) => op();

test('removes state untouched for a week and weights untouched for 30 days that no workload served here uses; keeps everything else', async () => {
  published('state-shop_web-aaaa', 8);
  published('state-shop_cart-bbbb', 6);
  published('state-shop_gone-cccc', 9, false); // never published a pointer: the directory's own age
  published('weights-shop_web-dddd', 40); // old, but served here: its rounds may all have been rejected
  published('weights-shop_old-eeee', 31);
  published('weights-shop_new-ffff', 29);
  writeFileSync(join(root, 'notes.txt'), 'kept');
  mkdirSync(join(root, 'lost+found'));
  const got = await collectVolume({ root, now, run, weightsInUse: new Set(['weights-shop_web-dddd']) });
  expect(got.removed.sort()).toEqual(['state-shop_gone-cccc', 'state-shop_web-aaaa', 'weights-shop_old-eeee']);
  expect(readdirSync(root).sort()).toEqual(['lost+found', 'notes.txt', 'state-shop_cart-bbbb', 'weights-shop_new-ffff', 'weights-shop_web-dddd']);
});

test('weights are left alone when the replica cannot tell which are in use; a run removes at most maxRemovals and reads at most maxEntries names', async () => {
  for (let i = 0; i < 6; i++) published(`state-s${i}-0000`, 10);
  published('weights-shop_old-eeee', 60);
  const first = await collectVolume({ root, now, run, weightsInUse: null, maxRemovals: 4 });
  expect(first.removed).toHaveLength(4);
  const second = await collectVolume({ root, now, run, weightsInUse: null, maxEntries: 1 });
  expect(second.scanned).toBe(1);
  expect(second.removed.length).toBeLessThanOrEqual(1);
  await collectVolume({ root, now, run, weightsInUse: null });
  expect(readdirSync(root)).toEqual(['weights-shop_old-eeee']);
});

test('every file system call goes through the gate, and a refused one removes nothing', async () => {
  published('state-shop_web-aaaa', 8);
  const asked: string[] = [];
  const refusing = <T>(what: string, op: () => Promise<T>) => {
    asked.push(what);
    return what.startsWith('remove') ? Promise.reject(new Error('the volume looks hung')) : op();
  };
  await expect(collectVolume({ root, now, run: refusing, weightsInUse: null })).rejects.toThrow('the volume looks hung');
  expect(asked).toEqual(['list the shared volume', 'read the age of state-shop_web-aaaa', 'remove state-shop_web-aaaa']);
  expect(readdirSync(root)).toEqual(['state-shop_web-aaaa']);
});

test('a run reads the ages of at most maxChecks directories, from where the caller says, around the listing', async () => {
  for (let i = 0; i < 5; i++) published(`state-s${i}-0000`, 10);
  const first = await collectVolume({ root, now, run, weightsInUse: null, maxChecks: 2 });
  expect(first).toMatchObject({ scanned: 5, checked: 2 });
  expect(first.removed).toHaveLength(2);
  // The next run starts past what the first read (less what it removed, which left the listing).
  const second = await collectVolume({ root, now, run, weightsInUse: null, maxChecks: 2, start: first.checked - first.removed.length });
  expect(second).toMatchObject({ scanned: 3, checked: 2 });
  const third = await collectVolume({ root, now, run, weightsInUse: null, maxChecks: 2, start: 7 });
  expect(third).toMatchObject({ scanned: 1, checked: 1 });
  expect(readdirSync(root)).toEqual([]);
});
