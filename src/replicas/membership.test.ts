/** Replica discovery over Leases, against the fake API server over real HTTP with the real client-node. */
import { CoordinationV1Api, V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { startFakeKube, type FakeKube } from '../test-support/fake-kube.js';
import { waitFor } from '../test-support/fakes.js';
import { LEASE_MAX_PAGES, LEASE_PAGE, Membership, REPLICA_SET_LABEL, type MembershipOptions } from './membership.js';
import { owned } from './rendezvous.js';

let kube: FakeKube;
let now = Date.UTC(2026, 11, 4, 1, 0);
beforeEach(async () => {
  kube = await startFakeKube();
  now = Date.UTC(2026, 11, 4, 1, 0);
});
afterEach(() => kube.close());

const member = (identity: string, extra: Partial<MembershipOptions> = {}, skewMs = 0) =>
  new Membership({
    api: kube.kubeConfig().makeApiClient(CoordinationV1Api),
    namespace: 'amadeus',
    set: 'amadeus',
    identity,
    leaseDurationSeconds: 15,
    renewMs: 5_000,
    clock: () => now + skewMs,
    ...extra,
  });
const lease = (identity: string) => kube.get<V1Lease>('coordination.k8s.io/v1', 'Lease', 'amadeus', `amadeus-replica-${identity}`);
const tickAll = (ms: Membership[]) => Promise.all(ms.map((m) => m.tick()));

test('three members see each other; each holds its own labelled Lease', async () => {
  const ms = [member('a'), member('b'), member('c')];
  await tickAll(ms);
  await tickAll(ms); // the first round of each may run before the others created theirs
  for (const m of ms) expect(m.members).toEqual(['a', 'b', 'c']);
  expect(lease('a')).toMatchObject({ metadata: { labels: { [REPLICA_SET_LABEL]: 'amadeus' } }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } });
  // Another replica set in the same namespace is invisible.
  const other = member('z', { set: 'other' });
  await other.tick();
  expect(other.members).toEqual(['z']);
  await tickAll(ms);
  expect(ms[0].members).toEqual(['a', 'b', 'c']);
});


test('a member whose wall clock jumps an hour ahead still counts the others live: ages are measured on its elapsed clock', async () => {
  let step = 0;
  const ms = [member('a'), member('b', { clock: () => now + step, elapsed: () => now }), member('c')];
  await tickAll(ms);
  await tickAll(ms);
  expect(ms[1]!.members).toEqual(['a', 'b', 'c']);
  step = 3_600_000;
  now += 2_000;
  await ms[1]!.tick(); // before a and c renew again
  expect(ms[1]!.members).toEqual(['a', 'b', 'c']);
});
test('a member that stops renewing (SIGKILL: no cleanup) drops out after the lease duration as observed; its keys move to survivors only', async () => {
  const [a, b, c] = [member('a'), member('b'), member('c')];
  await tickAll([a, b, c]);
  await tickAll([a, b, c]);
  const keys = Array.from({ length: 300 }, (_, i) => `ns/w${i}`);
  const before = new Map(['a', 'b', 'c'].map((m) => [m, owned(keys, m, a.members)]));
  // c is killed: its timers simply stop; its Lease stays behind.
  for (let t = 5_000; t <= 15_000; t += 5_000) {
    now += 5_000;
    await tickAll([a, b]);
    if (t < 15_000) expect(a.members).toEqual(['a', 'b', 'c']); // not yet a full duration unchanged
  }
  // 15 s after a and b last saw c's record change, c is out, for both.
  expect(a.members).toEqual(['a', 'b']);
  expect(b.members).toEqual(['a', 'b']);
  expect(lease('c')).toBeDefined();
  const afterA = owned(keys, 'a', a.members);
  const afterB = owned(keys, 'b', b.members);
  expect(afterA.length + afterB.length).toBe(keys.length);
  for (const k of before.get('a')!) expect(afterA).toContain(k);
  for (const k of before.get('b')!) expect(afterB).toContain(k);
});

test("a dead replica's Lease is deleted once the live ones have watched it unchanged for 40 durations (10 min at least); one renewed after a long pause, or one a newcomer has just seen, stays", async () => {
  const said: Record<string, string[]> = { a: [], b: [], d: [] };
  const log = (id: string) => ({ log: { warn: (m: string) => said[id]!.push(m), info: (m: string) => said[id]!.push(m) } });
  const [a, b, c] = [member('a', log('a')), member('b', log('b')), member('c')];
  await tickAll([a, b, c]);
  await tickAll([a, b, c]);
  const rounds = async (ms: Membership[], n: number) => {
    for (let i = 0; i < n; i++) {
      now += 5_000;
      await tickAll(ms);
    }
  };
  const deletes = () => kube.requests.filter((r) => r.method === 'DELETE').length;
  // c stops (killed, no cleanup) for 9 minutes, then renews once: it was paused, not dead.
  await rounds([a, b], 108);
  expect(deletes()).toBe(0);
  await c.tick();
  await rounds([a, b], 60); // 5 minutes more: c's record changed 5 minutes ago
  expect(lease('c')).toBeDefined();
  expect(deletes()).toBe(0);
  // A newcomer d joins now; c stays silent. Once a and b have watched it unchanged for 10 minutes,
  // c's Lease goes (one DELETE wins; the other replica's is a 404 or never sent) — d, which has
  // watched it for less, deletes nothing and simply stops seeing it.
  const d = member('d', log('d'));
  await d.tick();
  await rounds([a, b, d], 73);
  await waitFor(() => lease('c') === undefined, 5000, "c's Lease deleted").catch(() => {});
  expect(lease('c')).toBeUndefined();
  for (const id of ['a', 'b', 'd']) expect(lease(id)).toBeDefined();
  await rounds([a, b, d], 1);
  expect(a.members).toEqual(['a', 'b', 'd']);
  expect(d.members).toEqual(['a', 'b', 'd']);
  expect([...said.a!, ...said.b!].filter((m) => m === "deleted a dead replica's lease")).toHaveLength(1);
  expect(said.d!.filter((m) => m.includes('dead replica'))).toEqual([]);
  expect(deletes()).toBeLessThanOrEqual(2);
});

test("liveness uses this replica's observation clock, never the holder's renewTime", async () => {
  const ahead = member('ahead', {}, 3_600_000); // its renewTime looks an hour in the future
  const behind = member('behind', {}, -3_600_000); // and this one's an hour in the past
  const c = member('c');
  await tickAll([ahead, behind, c]);
  await tickAll([ahead, behind, c]);
  expect(c.members).toEqual(['ahead', 'behind', 'c']);
  for (let i = 0; i < 6; i++) {
    now += 5_000;
    await tickAll([ahead, behind, c]);
    expect(c.members).toEqual(['ahead', 'behind', 'c']);
    expect(behind.members).toEqual(['ahead', 'behind', 'c']);
  }
  // A fresh observer counts a stale-looking Lease live for one duration after first seeing it.
  now += 5_000;
  await behind.tick(); // behind renews once more, then dies
  const fresh = member('fresh');
  await fresh.tick();
  expect(fresh.members).toContain('behind');
  now += 16_000;
  await tickAll([fresh, ahead, c]);
  expect(fresh.members).toEqual(['ahead', 'c', 'fresh']);
});

test('a fresh member joins: the others see it at their next round', async () => {
  const [a, b] = [member('a'), member('b')];
  await tickAll([a, b]);
  await tickAll([a, b]);
  const changes: string[][] = [];
  const d = member('d', { onChange: (m) => changes.push(m) });
  now += 5_000;
  await d.tick();
  expect(d.members).toEqual(['a', 'b', 'd']);
  expect(changes).toEqual([['a', 'b', 'd']]);
  await a.tick();
  expect(a.members).toEqual(['a', 'b', 'd']);
});

test('renewals are every renew period from the start of each round: a round the API server made slow does not push the next renewal later', async () => {
  const api = kube.kubeConfig().makeApiClient(CoordinationV1Api);
  // Each list takes 4 s of the member's clock (a slow API server); the renew period is 5 s.
  const slow = new Proxy(api, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'listNamespacedLease' || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v;
      return async (...args: unknown[]) => {
        const got = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        now += 4_000;
        return got;
      };
    },
  });
  const a = member('a', { api: slow });
  const renewals = () => kube.requests.filter((r) => /leases\/amadeus-replica-a$/.test(r.path) && (r.method === 'PUT' || r.method === 'POST')).length;
  a.start();
  try {
    await waitFor(() => renewals() >= 1, 3000, 'the first renewal');
    // 1 s of real time after the slow round (5 s − its 4 s), not 5 s.
    await waitFor(() => renewals() >= 2, 3000, 'the second renewal, a renew period after the first round started');
  } finally {
    await a.stop();
  }
});

test('a concurrent update (409 Conflict) is re-read and retried', async () => {
  const a = member('a');
  await a.tick();
  // Between a's read and its write, someone else writes the record (resourceVersion changes).
  kube.beforeNext({ method: 'PUT', path: /leases\/amadeus-replica-a$/ }, () => {
    const l = kube.get<V1Lease>('coordination.k8s.io/v1', 'Lease', 'amadeus', 'amadeus-replica-a')!;
    kube.put({ ...l, metadata: { ...l.metadata, annotations: { touched: 'yes' } } });
  });
  const puts = () => kube.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/leases/amadeus-replica-a'));
  now += 5_000;
  await a.tick();
  expect(puts().map((r) => r.status)).toEqual([409, 200]);
  expect(a.members).toEqual(['a']);
  expect(lease('a')!.spec!.renewTime).toBeDefined();
  expect(new Date(lease('a')!.spec!.renewTime as unknown as string).getTime()).toBe(now);
  expect(lease('a')!.metadata!.annotations).toEqual({ touched: 'yes' }); // the other writer's change kept
});

test('a member that cannot renew for a lease duration stops counting itself', async () => {
  const [a, b] = [member('a'), member('b')];
  await tickAll([a, b]);
  await tickAll([a, b]);
  kube.failNext({ path: /leases\/amadeus-replica-a$/ }, 500, 100);
  for (let i = 0; i < 4; i++) {
    now += 5_000;
    await tickAll([a, b]);
  }
  expect(a.members).toEqual(['b']);
  expect(b.members).toEqual(['b']);
});

test('start renews on a timer; a killed member expires after its duration; stop deletes the Lease so the others drop it at once', async () => {
  const a = member('a', { clock: Date.now, renewMs: 50, leaseDurationSeconds: 2 });
  const b = member('b', { clock: Date.now, renewMs: 50, leaseDurationSeconds: 2 });
  a.start();
  b.start();
  const until = async (pred: () => boolean) => {
    for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(pred()).toBe(true);
  };
  const c = member('c', { clock: Date.now, renewMs: 50, leaseDurationSeconds: 1 });
  c.start();
  await until(() => a.members.length === 3 && b.members.length === 3);
  // c killed: timers stop, no cleanup; the others drop it once its record has not changed for 1 s.
  await c.stop({ release: false });
  const killedAt = Date.now();
  expect(lease('c')).toBeDefined();
  await until(() => a.members.join() === 'a,b');
  expect(Date.now() - killedAt).toBeGreaterThanOrEqual(900);
  await b.stop();
  expect(lease('b')).toBeUndefined();
  await until(() => a.members.join() === 'a');
  await a.stop();
  expect(kube.list<V1Lease>('coordination.k8s.io/v1', 'Lease', 'amadeus').map((l) => l.metadata!.name)).toEqual(['amadeus-replica-c']);
});

test('without a Kubernetes client a single replica owns everything', async () => {
  const solo = new Membership({ identity: 'solo' });
  expect(solo.members).toEqual(['solo']);
  solo.start();
  expect(await solo.tick()).toEqual(['solo']);
  await solo.stop();
  expect(owned(['x', 'y'], 'solo', solo.members)).toEqual(['x', 'y']);
});

test("the set's Leases are listed in pages: members beyond the first page count; beyond the page limit the round fails and the members stand", async () => {
  const renewed = (name: string, holder: string): V1Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace: 'amadeus', labels: { [REPLICA_SET_LABEL]: 'amadeus' } },
    spec: { holderIdentity: holder, leaseDurationSeconds: 15, renewTime: new V1MicroTime(now) },
  });
  // More Leases than one page holds: the last ones sort after the first page.
  for (let i = 0; i < LEASE_PAGE + 20; i++) kube.put(renewed(`amadeus-replica-m${String(i).padStart(4, '0')}`, `m${String(i).padStart(4, '0')}`));
  const warnings: string[] = [];
  const a = member('zz', { log: { warn: (msg, fields) => warnings.push(`${msg}: ${String(fields?.error)}`) } });
  await a.tick();
  expect(a.members).toHaveLength(LEASE_PAGE + 21);
  expect(a.members).toContain(`m${String(LEASE_PAGE + 19).padStart(4, '0')}`);
  const lists = kube.requests.filter((q) => q.method === 'GET' && q.path.endsWith('/leases'));
  expect(lists.map((q) => q.query.limit)).toEqual([String(LEASE_PAGE), String(LEASE_PAGE)]);
  // Past the page limit: the round fails (said), and the members seen before stand.
  for (let i = LEASE_PAGE + 20; i < LEASE_PAGE * LEASE_MAX_PAGES + 5; i++) kube.put(renewed(`amadeus-replica-m${String(i).padStart(4, '0')}`, `m${String(i).padStart(4, '0')}`));
  await a.tick();
  expect(warnings).toEqual(['listing replica leases failed; keeping the last live set: replica leases: more than 1000 in set amadeus, refused']);
  expect(a.members).toHaveLength(LEASE_PAGE + 21);
});
