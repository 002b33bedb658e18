/** Leader election against the fake API server: one holder, renewal, takeover only after expiry, release. */
import type { V1Lease } from '@kubernetes/client-node';
import { startFakeKube, type FakeKube } from '../test-support/fake-kube.js';
import { silentLogger } from '../telemetry/logger.js';
import { makeClients } from './kube.js';
import { LeaderElector } from './lease.js';

let kube: FakeKube;
let now = Date.UTC(2026, 10, 29, 3, 0);
beforeEach(async () => {
  kube = await startFakeKube();
  now = Date.UTC(2026, 10, 29, 3, 0);
});
afterEach(() => kube.close());

const elector = (identity: string) =>
  new LeaderElector({ api: makeClients(kube.kubeConfig()).coordination, namespace: 'amadeus', name: 'healer', identity, leaseDurationSeconds: 15, retryPeriodSeconds: 5, log: silentLogger, clock: () => now });
const lease = () => kube.get<V1Lease>('coordination.k8s.io/v1', 'Lease', 'amadeus', 'healer')!;

test('the first creates and holds the Lease; the second follows until it expires, then takes over', async () => {
  const a = elector('a');
  const b = elector('b');
  expect(await a.tryOnce()).toBe(true);
  expect(await b.tryOnce()).toBe(false);
  expect(lease().spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
  now += 10_000;
  expect(await a.tryOnce()).toBe(true); // renewal
  now += 10_000;
  expect(await b.tryOnce()).toBe(false); // renewed 10 s ago: still a's
  now += 16_000; // a stopped renewing
  expect(a.isLeader).toBe(false); // its own last renewal is too old to act on
  expect(await b.tryOnce()).toBe(true);
  expect(lease().spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  expect(await a.tryOnce()).toBe(false);
});

test('two candidates racing for an expired Lease: the API server lets one win', async () => {
  const a = elector('a');
  await a.tryOnce();
  now += 60_000;
  const [b, c] = [elector('b'), elector('c')];
  const results = await Promise.all([b.tryOnce(), c.tryOnce()]);
  expect(results.filter(Boolean)).toHaveLength(1);
  expect(lease().spec!.holderIdentity).toBe(results[0] ? 'b' : 'c');
});

test('stop releases the Lease so another replica takes over at once', async () => {
  const a = elector('a');
  a.start();
  await new Promise((r) => setTimeout(r, 200));
  expect(a.isLeader).toBe(true);
  await a.stop();
  expect(lease().spec!.holderIdentity).toBeUndefined();
  expect(await elector('b').tryOnce()).toBe(true);
});

test('an API failure means not leading, until a round succeeds again', async () => {
  const a = elector('a');
  await a.tryOnce();
  kube.failNext({ method: 'GET', path: /leases\/healer$/ }, 500);
  expect(await a.tryOnce()).toBe(false);
  expect(a.isLeader).toBe(false);
  expect(await a.tryOnce()).toBe(true);
});
