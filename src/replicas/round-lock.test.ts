/** The per-workload fine-tuning lock, against the fake API server over real HTTP with the real client-node. */
import { CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { startFakeKube, type FakeKube } from '../test-support/fake-kube.js';
import { FIRST_SEEN_ANNOTATION, LAST_ROUND_ANNOTATION, lockName, RECALL_LIST_MS, RoundLock, SKEW_ALLOWANCE_MS } from './round-lock.js';

let kube: FakeKube;
let now = Date.UTC(2026, 11, 4, 3, 0);
beforeEach(async () => {
  kube = await startFakeKube();
  now = Date.UTC(2026, 11, 4, 3, 0);
});
afterEach(() => kube.close());

const lock = (identity: string) => new RoundLock({ api: kube.kubeConfig().makeApiClient(CoordinationV1Api), namespace: 'amadeus', identity, durationSeconds: 300, clock: () => now });
const holder = (key: string) => kube.get<V1Lease>('coordination.k8s.io/v1', 'Lease', 'amadeus', lockName(key))?.spec?.holderIdentity;

test('replicas racing for one workload\'s lock: exactly one wins (a 409 loses), and the others get it only once released', async () => {
  const replicas = ['a', 'b', 'c', 'd'].map(lock);
  for (let round = 0; round < 5; round++) {
    const got = await Promise.all(replicas.map((r) => r.acquire('shop/web')));
    expect(got.filter(Boolean)).toHaveLength(1);
    const winner = ['a', 'b', 'c', 'd'][got.indexOf(true)]!;
    expect(holder('shop/web')).toBe(winner);
    // While held, nobody else takes it, however often they try.
    expect(await Promise.all(replicas.map((r, i) => (got[i] ? Promise.resolve(false) : r.acquire('shop/web'))))).toEqual([false, false, false, false]);
    // A release by a non-holder changes nothing.
    await replicas[(got.indexOf(true) + 1) % 4]!.release('shop/web');
    expect(holder('shop/web')).toBe(winner);
    await replicas[got.indexOf(true)]!.release('shop/web');
    expect(holder('shop/web')).toBeFalsy();
  }
  // Another workload's lock is independent.
  expect(await replicas[0]!.acquire('shop/web')).toBe(true);
  expect(await replicas[1]!.acquire('shop/cart')).toBe(true);
});

test('a holder that died (never released) loses the lock once another replica has seen it unchanged for its duration, on that replica\'s clock', async () => {
  const [a, b] = [lock('a'), lock('b')];
  expect(await a.acquire('shop/web')).toBe(true);
  expect(a.holds('shop/web')).toBe(true);
  now += 60_000;
  expect(await b.acquire('shop/web')).toBe(false); // first seen now
  now += 299_000;
  expect(await b.acquire('shop/web')).toBe(false);
  now += 2_000; // unchanged for more than 300 s since b first saw it
  expect(await b.acquire('shop/web')).toBe(true);
  expect(holder('shop/web')).toBe('b');
  // A's renewal finds another holder: A has lost it, and says so.
  await a.renewHeld();
  expect(a.holds('shop/web')).toBe(false);
  expect(holder('shop/web')).toBe('b');
});

test('a live holder renews: however long its round runs, the others never see its lock expire', async () => {
  const [a, b] = [lock('a'), lock('b')];
  expect(await a.acquire('shop/web')).toBe(true);
  for (let i = 0; i < 10; i++) {
    now += 100_000; // a third of the duration, as the timer renews
    await a.renewHeld();
    expect(await b.acquire('shop/web')).toBe(false);
  }
  expect(a.holds('shop/web')).toBe(true);
  await a.release('shop/web');
  expect(a.holds('shop/web')).toBe(false);
  expect(await b.acquire('shop/web')).toBe(true);
});

test('clock skew: a holder whose clock runs minutes ahead or behind is judged by what this replica sees change, not by its renewTime', async () => {
  let aNow = now + 8 * 60_000; // A's clock 8 minutes ahead: its renewTime looks fresh for 8 minutes too long
  const a = new RoundLock({ api: kube.kubeConfig().makeApiClient(CoordinationV1Api), namespace: 'amadeus', identity: 'a', durationSeconds: 300, clock: () => aNow });
  const b = lock('b');
  expect(await a.acquire('shop/web')).toBe(true); // then A dies
  expect(await b.acquire('shop/web')).toBe(false);
  now += 301_000;
  expect(await b.acquire('shop/web')).toBe(true); // 5 minutes as B saw it, not 13
  await b.release('shop/web');

  // A (restarted) with its clock 8 minutes behind: its fresh renewals look old, but they change the record: not expired.
  aNow = now - 8 * 60_000;
  const a2 = new RoundLock({ api: kube.kubeConfig().makeApiClient(CoordinationV1Api), namespace: 'amadeus', identity: 'a', durationSeconds: 300, clock: () => aNow });
  expect(await a2.acquire('shop/web')).toBe(true);
  for (let i = 0; i < 5; i++) {
    now += 100_000;
    aNow += 100_000;
    await a2.renewHeld();
    expect(await b.acquire('shop/web')).toBe(false);
  }
});

test('a lock whose renewTime is older than its duration plus the skew allowance expires at first sight (a holder long dead)', async () => {
  const [a, b] = [lock('a'), lock('b')];
  expect(await a.acquire('shop/web')).toBe(true);
  now += 300_000 + SKEW_ALLOWANCE_MS + 1000;
  expect(await b.acquire('shop/web')).toBe(true);
});

test('a step of the wall clock (NTP) neither ends a live holder\'s lock early nor keeps a dead holder\'s: ages are measured on the monotonic clock', async () => {
  let tick = 0; // the monotonic clock both replicas measure durations on
  const stepped = (identity: string, wall: () => number) =>
    new RoundLock({ api: kube.kubeConfig().makeApiClient(CoordinationV1Api), namespace: 'amadeus', identity, durationSeconds: 300, clock: wall, elapsed: () => tick });
  let bWall = now;
  const a = stepped('a', () => now);
  const b = stepped('b', () => bWall);
  expect(await a.acquire('shop/web')).toBe(true);
  expect(await b.acquire('shop/web')).toBe(false); // first seen
  // B's wall clock jumps 6 minutes ahead (more than the duration) while only a minute passes: A's
  // lock, unchanged since B saw it a minute ago, is still live.
  tick += 60_000;
  now += 60_000;
  bWall = now + 6 * 60_000;
  expect(await b.acquire('shop/web')).toBe(false);
  // A renews; its own wall clock steps back an hour: its renewal still counts as one (the
  // record changed), and its own hold is not lost.
  tick += 40_000;
  now -= 60 * 60_000;
  await a.renewHeld();
  expect(a.holds('shop/web')).toBe(true);
  expect(await b.acquire('shop/web')).toBe(false); // the renewal seen
  // Then A dies. B's wall clock steps back an hour: five minutes after B saw the last renewal, the
  // lock is B's all the same.
  bWall -= 60 * 60_000;
  tick += 299_000;
  expect(await b.acquire('shop/web')).toBe(false);
  tick += 2_000;
  expect(await b.acquire('shop/web')).toBe(true);
  expect(holder('shop/web')).toBe('b');
});

test('a look at the lock long ago does not stand for a live holder: a lock changed since, by a holder long dead, expires at once', async () => {
  const [a, b, c] = [lock('a'), lock('b'), lock('c')];
  expect(await a.acquire('shop/web')).toBe(true);
  expect(await c.acquire('shop/web')).toBe(false); // C looks once
  await a.release('shop/web');
  now += 60 * 60_000;
  expect(await b.acquire('shop/web')).toBe(true); // then B takes it, and dies
  now += 300_000 + SKEW_ALLOWANCE_MS + 1000;
  expect(await c.acquire('shop/web')).toBe(true);
  expect(holder('shop/web')).toBe('c');
});

// holds() looked at `lost` only, which a renewal sets: a holder whose process stalled for longer than
// the duration (a GC pause, a frozen cgroup) still believed it held the lock when it resumed, before
// its renew timer ran — after another replica had taken it and started training.
test('a holder that has not written the lock for its duration no longer holds it, before any renewal says so', async () => {
  const [a, b] = [lock('a'), lock('b')];
  expect(await a.acquire('shop/web')).toBe(true);
  now += 299_000;
  expect(a.holds('shop/web')).toBe(true);
  now += 1_000; // stalled: no renewal for the whole duration
  expect(a.holds('shop/web')).toBe(false);
  // A renewal that succeeds (nobody took it meanwhile) makes it hold again.
  await a.renewHeld();
  expect(a.holds('shop/web')).toBe(true);
  expect(await b.acquire('shop/web')).toBe(false);
});

// The lock was re-entrant (holder === identity): two rounds of one key in one process (two triggers
// of one workload) both took it, the second's hold replaced the first's renew timer, and the first
// release dropped the second's hold while its round still ran.
test('not re-entrant: a process that holds a key\'s lock, or is taking it, does not get it again for another round until released', async () => {
  const a = lock('a');
  const [one, two] = await Promise.all([a.acquire('shop/web'), a.acquire('shop/web')]);
  expect([one, two]).toEqual([true, false]);
  expect(await a.acquire('shop/web')).toBe(false);
  expect(a.holds('shop/web')).toBe(true);
  await a.release('shop/web');
  expect(await a.acquire('shop/web')).toBe(true);
  expect(holder('shop/web')).toBe('a');
});

test('the clean-up deletes released locks of workloads no longer served, once unwritten for 7 days; a held, recent or served one stays, and one taken meanwhile (409) too', async () => {
  const a = lock('a');
  const DAY = 86_400_000;
  // Each lock taken and released at some time in the past.
  const at = async (key: string, daysAgo: number, release = true) => {
    const t = now;
    now -= daysAgo * DAY;
    expect(await a.acquire(key)).toBe(true);
    if (release) await a.release(key);
    now = t;
  };
  await at('shop/gone', 8);
  await at('shop/served', 30);
  await at('shop/recent', 6);
  await at('shop/taken', 9);
  await at('shop/held', 20, false);
  // Another replica takes shop/taken between the clean-up's list and its delete.
  kube.beforeNext({ method: 'DELETE', path: new RegExp(`leases/${lockName('shop/taken')}$`) }, () => {
    const l = kube.get<V1Lease>('coordination.k8s.io/v1', 'Lease', 'amadeus', lockName('shop/taken'))!;
    kube.put({ ...l, spec: { ...l.spec, holderIdentity: 'b' } });
  });
  const deleted = await a.collect(['shop/served']);
  expect(deleted).toEqual([lockName('shop/gone')]);
  expect(kube.get('coordination.k8s.io/v1', 'Lease', 'amadeus', lockName('shop/gone'))).toBeUndefined();
  for (const key of ['shop/served', 'shop/recent', 'shop/taken', 'shop/held']) expect(kube.get('coordination.k8s.io/v1', 'Lease', 'amadeus', lockName(key))).toBeDefined();
  expect(holder('shop/taken')).toBe('b');
  // Deleted, the lock is simply made again by the next round that wants it.
  expect(await a.acquire('shop/gone')).toBe(true);
});

// The schedule lived only in the process that ran it: an owner restarted more often than the
// interval, before any round was accepted, never fine-tuned, and a takeover just after a rejected
// round ran it again. The lock now recalls both.
describe('the fine-tuning schedule kept in the lock', () => {
  const MIN = 60_000;
  const HOUR = 60 * MIN;
  const t0 = Date.UTC(2026, 11, 4, 0, 0);
  const annotations = (key: string) => kube.get<V1Lease>('coordination.k8s.io/v1', 'Lease', 'amadeus', lockName(key))?.metadata?.annotations ?? {};

  test('a round released with its origin is recalled by the next taker: not taken again within the interval (it says when it ran), taken after', async () => {
    const [a, b] = [lock('a'), lock('b')];
    expect(await a.acquireRound('shop/web', { origin: t0, intervalMs: 6 * HOUR })).toEqual({ taken: true, lastRound: null });
    await a.release('shop/web', t0);
    expect(annotations('shop/web')[LAST_ROUND_ANNOTATION]).toBe(new Date(t0).toISOString());
    expect(await b.acquireRound('shop/web', { origin: t0 + 5 * MIN, intervalMs: 6 * HOUR })).toEqual({ taken: false, lastRound: t0 });
    expect(holder('shop/web')).toBeFalsy();
    expect(await b.acquireRound('shop/web', { origin: t0 + 6 * HOUR, intervalMs: 6 * HOUR })).toEqual({ taken: true, lastRound: t0 });
    // A release without a round run (the round found it was not due after all) leaves the record.
    await b.release('shop/web', null);
    expect(annotations('shop/web')[LAST_ROUND_ANNOTATION]).toBe(new Date(t0).toISOString());
    // acquire() without a round asks nothing of the record, as before.
    expect(await a.acquire('shop/web')).toBe(true);
  });

  test('a holder that dies mid-round records nothing: once its lock expires, its round is run again', async () => {
    const [a, b] = [lock('a'), lock('b')];
    expect((await a.acquireRound('shop/web', { origin: t0, intervalMs: 6 * HOUR })).taken).toBe(true);
    await a.release('shop/web', t0);
    expect((await a.acquireRound('shop/web', { origin: t0 + 6 * HOUR, intervalMs: 6 * HOUR })).taken).toBe(true); // then a dies
    expect((await b.acquireRound('shop/web', { origin: t0 + 6 * HOUR + MIN, intervalMs: 6 * HOUR })).taken).toBe(false);
    now += 301_000;
    expect(await b.acquireRound('shop/web', { origin: t0 + 6 * HOUR + 6 * MIN, intervalMs: 6 * HOUR })).toEqual({ taken: true, lastRound: t0 });
  });

  test('a recorded round later than the origin asked, or a damaged one, is not believed', async () => {
    const a = lock('a');
    expect((await a.acquireRound('shop/web', { origin: t0, intervalMs: HOUR })).taken).toBe(true);
    await a.release('shop/web', t0 + 100 * HOUR); // a hand-made or damaged record
    expect(await a.acquireRound('shop/web', { origin: t0 + MIN, intervalMs: HOUR })).toEqual({ taken: true, lastRound: null });
    await a.release('shop/web');
    const l = kube.get<V1Lease>('coordination.k8s.io/v1', 'Lease', 'amadeus', lockName('shop/web'))!;
    kube.put({ ...l, metadata: { ...l.metadata, annotations: { [LAST_ROUND_ANNOTATION]: 'yesterday', [FIRST_SEEN_ANNOTATION]: 'x'.repeat(100) } } });
    expect(await a.recall('shop/web')).toEqual({ firstSeen: null, lastRound: null });
    expect(await a.acquireRound('shop/web', { origin: t0 + 2 * MIN, intervalMs: HOUR })).toEqual({ taken: true, lastRound: null });
  });

  test('first sight: recorded once (the first writer wins), on a lock made for it, released, or added to an existing one; recall reads every lock with one listing', async () => {
    const [a, b] = [lock('a'), lock('b')];
    await a.noteFirstSeen('shop/web', t0);
    expect(annotations('shop/web')[FIRST_SEEN_ANNOTATION]).toBe(new Date(t0).toISOString());
    expect(holder('shop/web')).toBeFalsy();
    await b.noteFirstSeen('shop/web', t0 + HOUR);
    expect(annotations('shop/web')[FIRST_SEEN_ANNOTATION]).toBe(new Date(t0).toISOString());
    // A lock of an older release (no annotations), held: the record is added, the holder kept.
    expect(await b.acquire('shop/cart')).toBe(true);
    await b.noteFirstSeen('shop/cart', t0 + 2 * HOUR);
    expect(annotations('shop/cart')[FIRST_SEEN_ANNOTATION]).toBe(new Date(t0 + 2 * HOUR).toISOString());
    expect(holder('shop/cart')).toBe('b');
    expect(b.holds('shop/cart')).toBe(true);
    await b.renewHeld();
    expect(b.holds('shop/cart')).toBe(true);
    await b.release('shop/cart', t0 + 3 * HOUR);
    // Another replica writing between the read and the write (a 409): its record stands.
    kube.beforeNext({ method: 'POST', path: /leases$/ }, () => {
      kube.put({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: lockName('shop/ad'), namespace: 'amadeus', labels: { 'amadeus.io/finetune-lock': 'true' }, annotations: { [FIRST_SEEN_ANNOTATION]: new Date(t0 - HOUR).toISOString() } }, spec: {} });
    });
    await a.noteFirstSeen('shop/ad', t0);
    expect(annotations('shop/ad')[FIRST_SEEN_ANNOTATION]).toBe(new Date(t0 - HOUR).toISOString());

    const c = lock('c');
    const lists = () => kube.requests.filter((r) => r.method === 'GET' && /leases$/.test(r.path)).length;
    const before = lists();
    expect(await Promise.all(['shop/web', 'shop/cart', 'shop/new'].map((k) => c.recall(k)))).toEqual([
      { firstSeen: t0, lastRound: null },
      { firstSeen: t0 + 2 * HOUR, lastRound: t0 + 3 * HOUR },
      { firstSeen: null, lastRound: null },
    ]);
    expect(lists() - before).toBe(1);
    now += RECALL_LIST_MS + 1; // a listing answers for a while, then is read again
    await c.recall('shop/web');
    expect(lists() - before).toBe(2);
    // A failed listing is not kept.
    kube.failNext({ method: 'GET', path: /leases$/ }, 500);
    now += RECALL_LIST_MS + 1;
    await expect(c.recall('shop/web')).rejects.toThrow();
    expect(await c.recall('shop/web')).toEqual({ firstSeen: t0, lastRound: null });
  });

  test('a lock made only to record a first sight is cleaned up like any other once its workload is gone for 7 days', async () => {
    const a = lock('a');
    await a.noteFirstSeen('shop/gone', t0);
    now += 8 * 86_400_000;
    expect(await a.collect([])).toEqual([lockName('shop/gone')]);
  });
});
