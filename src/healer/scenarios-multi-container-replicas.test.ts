/**
 * Two containers of one workload OOM-killed together, watched by two replicas of Amadeus electing a
 * leader on the fake API server's Lease: the leader raises both in one patch, and only it; when it
 * dies right after that patch, the replica that takes over re-plans from fresh reads — the kills
 * that go on at the raised limits, inside each container's cooldown, raise nothing more.
 */
import type { V1Container, V1Deployment, V1Lease } from '@kubernetes/client-node';
import { deployment } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, LEASE, NS, type Replica } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const holder = () => w.get<V1Lease>('coordination.k8s.io/v1', 'Lease', LEASE.name).spec!.holderIdentity;
const memory = (c: V1Container) => `${c.resources?.limits?.memory}/${c.resources?.requests?.memory}`;
const containers = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'api').spec!.template.spec!.containers;
/** Slots of the hourly budget a replica holds (recorded actions and reservations). */
const budgetTaken = (r: Replica) => (r.healer as unknown as { budget: { slots: unknown[] } }).budget.slots.length;
/** A replica's reports, a line each: `action/result/reason`. */
const reportsOf = (r: Replica) => r.healer.reports.map((x) => `${x.action}/${x.result}/${x.reason}`);

/** The Deployment `api`: its app (api:1, 256Mi) and a proxy sidecar (proxy:1, 64Mi), request = limit. */
function withProxy(): V1Deployment {
  const d = deployment('api', { namespace: NS, image: 'api:1', replicas: 2, memory: '256Mi', annotations: HEAL });
  d.spec!.template.spec!.containers.push({ name: 'proxy', image: 'proxy:1', resources: { limits: { memory: '64Mi' }, requests: { memory: '64Mi' } } });
  return d;
}

test('app and sidecar killed together under two replicas: the leader raises both in one patch and dies; the new leader raises nothing more while the kills go on inside the cooldown', async () => {
  w = await healerWorld({ marks: false });
  // Both need more than one step: killed at 256Mi and 64Mi, and again at the raised 356Mi and 164Mi.
  w.cluster.behave('api:1', 'oom-at:400Mi');
  w.cluster.behave('proxy:1', 'oom-at:200Mi');
  const a = await w.start({ name: 'a', elect: true });
  const b = await w.start({ name: 'b', elect: true });
  expect(a.healer.isLeader).toBe(true);
  expect(b.healer.isLeader).toBe(false);
  let dead = false;
  void a.cutAfter('patchNamespacedDeployment').then(() => (dead = true));
  w.kube.put(withProxy());
  expect(await w.advance(600, { until: () => dead })).toBe(true);
  const patchedAt = w.cluster.clock.now();

  // One patch, by the leader, both containers in it; one slot of its budget.
  expect(w.patches('deployments/api').map((p) => p.status)).toEqual([200]);
  expect(a.calls.filter((m) => m === 'patchNamespacedDeployment')).toHaveLength(1);
  expect(containers().map(memory)).toEqual(['356Mi/356Mi', '164Mi/164Mi']);
  expect(budgetTaken(a)).toBe(1);

  // A is gone right after its patch (the answer lost, no report): B takes the Lease and looks at
  // every pod again, the kills of both containers at the raised limits going on.
  await w.advance(40 * 60);
  expect(w.cluster.clock.now() - patchedAt).toBeLessThan(3600 * 1000);
  expect(holder()).toBe('b');
  expect(b.healer.isLeader).toBe(true);
  const killedAt = (name: string) =>
    w
      .pods({ app: 'api' })
      .flatMap((p) => p.status?.containerStatuses ?? [])
      .filter((s) => s.name === name && s.lastState?.terminated?.reason === 'OOMKilled' && Date.parse(String(s.lastState.terminated.finishedAt)) > patchedAt + 120_000);
  expect(killedAt('app').length).toBeGreaterThan(0);
  expect(killedAt('proxy').length).toBeGreaterThan(0);

  // Nothing more raised: the one patch, no write of B's to the Deployment, none of its budget.
  expect(w.patches('deployments/api').map((p) => p.status)).toEqual([200]);
  expect(containers().map(memory)).toEqual(['356Mi/356Mi', '164Mi/164Mi']);
  expect(b.calls.filter((m) => m === 'patchNamespacedDeployment')).toEqual([]);
  expect(budgetTaken(b)).toBe(0);
  expect(a.healer.reports).toEqual([]);
  expect(new Set(reportsOf(b))).toEqual(new Set(['oom-bump/refused/cooldown']));
  // Each container's kills refused for its own cooldown (a refusal repeated is logged, not reported again).
  const refusedFor = (c: string) => b.lines.filter((l) => /^heal oom-bump refused( again)?: the last oom-bump of /.test(l.msg) && l.msg.includes(`of ${c} was at`));
  expect(refusedFor('app').length).toBeGreaterThan(0);
  expect(refusedFor('proxy').length).toBeGreaterThan(0);
  expect(w.events().filter((e) => e.reason === 'MemoryLimitRaised')).toEqual([]);
});
