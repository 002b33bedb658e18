/**
 * A crash loop inside the rollback cooldown, on the simulated cluster: it comes back at every
 * restart of each of its pods, and each time the healer decides again. The refusal (`cooldown`) is
 * said once per quiet period (an Event, a notice), repeats only logged at debug — and what confirms
 * a crash loop on the API server (a pod list) is spent only on a refusal that is said.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { deployment } from '../test-support/cluster/objects.js';
import { cachedView, handOver, HEAL, type HealerWorld, healerWorld, notWaitedFor, NS, podReady as ready, replicasBesideCutProxy, reportSummary } from '../test-support/healer-world.js';
import { HEAL_RULES } from './rules.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const release = (image: string) => w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = image));
/** The healer's pod lists at a decision (its informer's list has no label selector). */
const podLists = (from: number) => w.kube.requests.slice(from).filter((q) => q.method === 'GET' && q.path === `/api/v1/namespaces/${NS}/pods` && q.query.watch === undefined && q.query.labelSelector !== undefined);

test('web:2 rolled back, then web:3 crash-loops inside the cooldown for 40 minutes: refused at every restart, said once a quarter of an hour — and the pods listed only for the refusals said, not at every restart', async () => {
  w = await healerWorld();
  w.cluster.behave('web:2', { run: 'crash', log: 'panic: nil map\n' });
  w.cluster.behave('web:3', { run: 'crash', log: 'panic: index out of range\n' });
  w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
  const a = await w.start();
  await w.advance(11 * 60);
  release('web:2');
  await w.advance(5 * 60);
  expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
  await w.advance(5 * 60);

  const from = w.kube.requests.length;
  const lines = a.lines.length;
  release('web:3');
  await w.advance(40 * 60);
  const said = reportSummary(w).slice(1);
  expect(said.length).toBeGreaterThanOrEqual(2);
  expect(new Set(said)).toEqual(new Set(['Deployment/web rollback/refused/cooldown']));
  const repeats = a.lines.slice(lines).filter((l) => l.msg.startsWith('heal rollback refused again'));
  expect(repeats.length).toBeGreaterThan(said.length); // the crash loop was decided at many more restarts
  // One list for each refusal said (it is confirmed before anyone is told); none for the repeats,
  // nor a read of the logs, which only go with a refusal said.
  expect(podLists(from)).toHaveLength(said.length);
  expect(w.kube.requests.slice(from).filter((q) => q.method === 'GET' && q.path.endsWith('/log'))).toHaveLength(said.length);
  expect(w.patches('deployments/web').map((p) => p.status)).toEqual([200]);
});

test('a new leader inside the cooldown, its pod cache behind and still showing web:3 crash-looping after it recovered: the API server shows it over — nothing said, not a cooldown refusal', async () => {
  w = await healerWorld();
  w.cluster.behave('web:2', { run: 'crash', log: 'panic: nil map\n' });
  w.cluster.behave('web:3', { run: 'crash', log: 'fatal: license check failed\n' });
  w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
  const { a, b, proxy } = await replicasBesideCutProxy(w, HEAL_RULES);
  await w.advance(11 * 60);
  release('web:2');
  await w.advance(5 * 60);
  expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
  await w.advance(5 * 60);

  // web:3 crash-loops inside the cooldown: A refuses it. B, following, saw it.
  release('web:3');
  expect(await w.advance(10 * 60, { until: () => a.healer.reports.some((r) => r.reason === 'cooldown') })).toBe(true);
  await w.quiet();
  expect(cachedView(b).filter((v) => v.startsWith('web:3'))).toEqual(['web:3 crash-loop']);

  // B's watch is cut; web:3 recovers, its rollout completes, unseen by B.
  proxy.cut();
  const unblock = notWaitedFor(b);
  w.cluster.behave('web:3', 'healthy');
  await w.advance(6 * 60);
  expect(w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${ready(p)}`)).toEqual(Array(3).fill('web:3 true'));
  expect(cachedView(b).filter((v) => v.startsWith('web:3'))).toEqual(['web:3 crash-loop']); // stale

  // A goes; B leads and looks again at what its cache shows, inside the cooldown the Deployment carries.
  await handOver(w, a, b);
  // The cooldown is local and first at hand, but no refusal is said for a crash loop that is over.
  expect(b.healer.reports).toEqual([]);
  expect(b.lines.filter((l) => l.msg.startsWith('crash loop not confirmed by the API server')).length).toBeGreaterThan(0);
  expect(w.events().filter((e) => e.reportingInstance === 'b')).toEqual([]);
  unblock();
  proxy.heal();
  expect(w.patches('deployments/web').map((p) => p.status)).toEqual([200]);
});
