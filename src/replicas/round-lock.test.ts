/** The per-workload fine-tuning lock, against the fake API server over real HTTP with the real client-node. */
import { CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { startFakeKube, type FakeKube } from '../test-support/fake-kube.js';
import { lockName, RoundLock } from './round-lock.js';

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

test('a holder that died (never released) loses the lock after its duration, not before', async () => {
  const [a, b] = [lock('a'), lock('b')];
  expect(await a.acquire('shop/web')).toBe(true);
  now += 299_000;
  expect(await b.acquire('shop/web')).toBe(false);
  now += 2_000;
  expect(await b.acquire('shop/web')).toBe(true);
  expect(holder('shop/web')).toBe('b');
});
