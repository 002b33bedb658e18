/**
 * A rollback whose PATCH is in flight when the world moves, on the simulated cluster with its
 * controllers and the real Healer over HTTP:
 * - the API server applies it but its answer is lost (a reset, a gateway's 504): the healer reads the
 *   Deployment back and finds its mark — it does not roll back again, nor further back to an older
 *   known-good revision, and reports the rollback applied, once; a StatefulSet's stuck pod, not
 *   deleted by the attempt whose answer was lost, is recreated by the decision on its next crash;
 * - an operator releases web:3 while the patch is held: the patch, planned on web:2, is refused whole
 *   (its generation test), the decision made again on a fresh read refuses (web:2 is no longer the
 *   newest revision), and web:3 rolls out untouched.
 */
import type { V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import { deployment, statefulSet } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, NS, podReady as ready, replicaSetRunning, reportSummary, type HealerWorld } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const web = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'web');
const image = () => web().spec!.template.spec!.containers[0]!.image;
const running = () => w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${ready(p)}`);
const PATCH_WEB = { method: 'PATCH', path: `/apis/apps/v1/namespaces/${NS}/deployments/web` } as const;

test.each([
  ['the connection reset', 'reset'],
  ['a 504 after the write was committed', 'timeout'],
] as const)('web:0 and web:1 known-good, web:2 crash-loops; the rollback to web:1 answered by %s: applied once, never further back to web:0, reported applied once', async (_label, how) => {
  w = await healerWorld();
  w.cluster.behave('web:2', { run: 'crash', log: 'starting web:2\npanic: runtime error: index out of range\n' });
  w.kube.put(deployment('web', { namespace: NS, image: 'web:0', replicas: 3, annotations: HEAL }));
  const a = await w.start({ name: 'a' });
  await w.advance(11 * 60);
  w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:1'));
  await w.advance(12 * 60);
  expect(replicaSetRunning(w, 'web', 'web:0')!.metadata!.annotations!['amadeus.io/known-good']).toBe('true');
  expect(replicaSetRunning(w, 'web', 'web:1')!.metadata!.annotations!['amadeus.io/known-good']).toBe('true');

  w.kube.loseAnswerNext(PATCH_WEB, how);
  w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
  expect(await w.advance(10 * 60, { until: () => a.healer.reports.length > 0 })).toBe(true);
  await a.healer.idle();

  // One PATCH, applied by the server; none after it: the re-read found the crash loop answered.
  expect(w.patches('deployments/web').map((p) => p.status)).toEqual([200]);
  expect(image()).toBe('web:1');
  expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
  expect(w.reports()[0]!.message).toMatch(/^the rollback was applied: its answer was lost \(.+\), and reading the workload back found its mark$/);

  // An hour on: web:1 serves, nothing rolled back again or further, nothing said twice.
  await w.advance(60 * 60);
  expect(w.patches('deployments/web').map((p) => p.status)).toEqual([200]);
  expect(image()).toBe('web:1');
  expect(running()).toEqual(['web:1 true', 'web:1 true', 'web:1 true']);
  expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
  expect(w.events().map((e) => `${e.type} ${e.reason}`)).toEqual(['Normal RolledBack']);
  expect(w.lines().filter((l) => l.level === 'error')).toEqual([]);
});

test('an operator releases web:3 while the rollback of crash-looping web:2 is held in flight: the patch is refused (422), nothing is rolled back, web:3 rolls out untouched', async () => {
  w = await healerWorld();
  w.cluster.behave('web:2', { run: 'crash', log: 'starting web:2\npanic: runtime error: index out of range\n' });
  w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
  const a = await w.start({ name: 'a' });
  await w.advance(11 * 60);
  expect(replicaSetRunning(w, 'web', 'web:1')!.metadata!.annotations!['amadeus.io/known-good']).toBe('true');

  const stall = a.stallNext('patchNamespacedDeployment');
  let held = false;
  void stall.reached.then(() => (held = true));
  w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
  expect(await w.advance(10 * 60, { until: () => held })).toBe(true);

  // The operator's fix lands between the healer's decision and its patch.
  w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:3'));
  stall.release();
  await w.advance(30 * 60);
  await a.healer.idle();

  expect(w.patches('deployments/web').map((p) => p.status)).toEqual([422]);
  expect(image()).toBe('web:3');
  expect(running()).toEqual(['web:3 true', 'web:3 true', 'web:3 true']);
  // Re-decided on the fresh read: web:2's pods are being replaced by web:3's rollout.
  expect(reportSummary(w)).toEqual(['Deployment/web rollback/refused/not-newest-revision']);
  expect(w.events().filter((e) => e.reason === 'RolledBack')).toEqual([]);
  expect(w.lines().filter((l) => l.level === 'error')).toEqual([]);
});

test('StatefulSet (OnDelete): the rollback of db:2 answered by a 504 after the write was committed: applied once, reported applied once; db-2, stuck at db:2, is recreated at db:1 by a later decision, never rolled back twice', async () => {
  w = await healerWorld();
  w.cluster.behave('db:2', { run: 'crash', log: 'starting db:2\nfatal: unknown flag --wal-mode\n' });
  w.kube.put(statefulSet('db', { namespace: NS, image: 'db:1', replicas: 3, annotations: HEAL, updateStrategy: { type: 'OnDelete' } }));
  const a = await w.start({ name: 'a' });
  await w.advance(11 * 60);
  const set = () => w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db');
  const good = set().status!.updateRevision!;

  w.kube.loseAnswerNext({ method: 'PATCH', path: `/apis/apps/v1/namespaces/${NS}/statefulsets/db` }, 'timeout');
  w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => void (s.spec!.template.spec!.containers[0]!.image = 'db:2'));
  await w.advance(60);
  w.kube.remove('v1', 'Pod', NS, 'db-2'); // the operator rolls db:2 onto the highest ordinal
  expect(await w.advance(10 * 60, { until: () => a.healer.reports.length > 0 })).toBe(true);
  await a.healer.idle();
  expect(reportSummary(w)).toEqual(['StatefulSet/db rollback/applied/rolled-back']);
  expect(w.reports()[0]!.message).toMatch(/^the rollback was applied: its answer was lost/);

  await w.advance(30 * 60);
  expect(w.patches('statefulsets/db').map((p) => p.status)).toEqual([200]);
  expect(set().spec!.template.spec!.containers[0]!.image).toBe('db:1');
  expect(w.kube.requests.filter((q) => q.method === 'DELETE').map((q) => q.path)).toEqual([`/api/v1/namespaces/${NS}/pods/db-2`]);
  expect(w.pods({ app: 'db' }).map((p) => `${p.metadata!.name} ${p.metadata!.labels!['controller-revision-hash'] === good} ${ready(p)}`)).toEqual(['db-0 true true', 'db-1 true true', 'db-2 true true']);
  expect(reportSummary(w)).toEqual(['StatefulSet/db rollback/applied/rolled-back', 'StatefulSet/db rollback/applied/recreated-stuck-pods']);
  expect(w.lines().filter((l) => l.level === 'error')).toEqual([]);
});
