/**
 * A replica becomes leader with a stale pod cache showing a crash loop that is over. Two replicas
 * on one Lease, B's pod watch through the watch-cutting proxy. A, the leader, spent its hourly
 * budget (one action an hour here) on a memory raise of Deployment api, so it refuses web:2's crash
 * loop (`rate-limit`); B, following, saw web:2's pods crash-loop. B's watch is cut; web:2 then
 * recovers (what it crashed on is back: its pods restart Ready, the same pods) and its rollout
 * completes, unseen by B. A goes away; B leads with a fresh budget and a cache still showing every
 * web:2 pod crash-looping. Nothing is wrong any more: B must not roll the healthy web:2 back.
 */
import type { V1Deployment, V1Lease } from '@kubernetes/client-node';
import { deployment } from '../test-support/cluster/objects.js';
import { cachedView, handOver, HEAL, type HealerWorld, healerWorld, LEASE, notWaitedFor, NS, podReady as ready, replicasBesideCutProxy, reportSummary } from '../test-support/healer-world.js';
import { waitFor } from '../test-support/fakes.js';
import { HEAL_RULES } from './rules.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

/** One action an hour: A's memory raise of api spends it. */
const RULES = { ...HEAL_RULES, maxActionsPerHour: 1 };

const image = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template.spec!.containers[0]!.image;
const holder = () => w.get<V1Lease>('coordination.k8s.io/v1', 'Lease', LEASE.name).spec!.holderIdentity;
const served = () => w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${ready(p)}`);
test('B leads from a stale cache showing web:2 crash-looping after web:2 recovered: no rollback of the healthy revision', async () => {
  w = await healerWorld();
  w.cluster.behave('web:1', 'healthy');
  w.cluster.behave('api:1', 'healthy');
  w.cluster.behave('web:2', { run: 'crash', log: 'starting web:2\nfatal: license check failed\n' });
  w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL, strategy: { type: 'Recreate' } }));
  w.kube.put(deployment('api', { namespace: NS, image: 'api:1', replicas: 2, memory: '256Mi', annotations: HEAL }));
  const { a, b, proxy } = await replicasBesideCutProxy(w, RULES);
  await w.advance(11 * 60);
  expect(holder()).toBe('a');

  // A's budget goes on api: a pod comes back OOM-killed, its limit is raised.
  w.cluster.behave('api:1', 'oom-at:300Mi');
  w.kube.remove('v1', 'Pod', NS, w.pods({ app: 'api' })[0]!.metadata!.name!);
  expect(await w.advance(5 * 60, { until: () => a.healer.reports.some((r) => r.result === 'applied') })).toBe(true);
  w.cluster.behave('api:1', 'healthy');

  // web:2 crash-loops; A refuses it for its budget. B saw it all.
  w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
  expect(await w.advance(10 * 60, { until: () => a.healer.reports.some((r) => r.reason === 'rate-limit') })).toBe(true);
  await w.quiet();
  expect(cachedView(b)).toEqual(Array(3).fill('web:2 crash-loop'));

  // B's watch is cut; web:2 recovers (its next start runs), its pods Ready, its rollout complete.
  proxy.cut();
  const release = notWaitedFor(b);
  w.cluster.behave('web:2', 'healthy');
  await w.advance(6 * 60);
  expect(served()).toEqual(Array(3).fill('web:2 true'));
  expect(cachedView(b)).toEqual(Array(3).fill('web:2 crash-loop')); // stale

  // A goes; B leads, resyncs its stale cache.
  await handOver(w, a, b);

  // Without the API server's word (healer.ts, stillFailingOnServer) B rolled web:2 back to web:1 here.
  expect(b.healer.reports).toEqual([]);
  expect(image()).toBe('web:2');
  expect(served()).toEqual(Array(3).fill('web:2 true'));
  expect(b.lines.filter((l) => l.msg.startsWith('crash loop not confirmed by the API server')).length).toBeGreaterThan(0);

  // Healed, B's cache catches up: web:2's pods Ready, nothing to do.
  proxy.heal();
  await waitFor(() => proxy.openWatches() === 1, 10_000, 'B’s pod watch is back through the proxy');
  release();
  await w.advance(5 * 60);
  expect(cachedView(b)).toEqual(Array(3).fill('web:2 ready'));
  expect(b.healer.reports).toEqual([]);
  expect(image()).toBe('web:2');
  expect(reportSummary(w).filter((s) => s.includes('applied'))).toEqual(['Deployment/api oom-bump/applied/raised']);
  expect(w.patches('deployments/web')).toEqual([]);
});
