/**
 * A memory raise followed by a bad release, on the simulated cluster: the healer's own raise must
 * survive the rollback that answers the release.
 */
import type { KubernetesObject, V1Container, V1ControllerRevision, V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import { deployment, statefulSet } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS, raiseSeenCrashLooping, replicaSetsOf, reportSummary, podReady as ready } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const memory = (c: V1Container | undefined) => `${c?.resources?.limits?.memory}/${c?.resources?.requests?.memory}`;

/** A world where `name`:1 runs healthy at 256Mi and `name`:2 crash-loops; `workload` put, a healer started, 11 minutes on (the known-good window). */
async function healthyThenBadRelease(name: string, workload: KubernetesObject) {
  w = await healerWorld();
  w.cluster.behave(`${name}:1`, 'healthy');
  w.cluster.behave(`${name}:2`, 'crash');
  w.kube.put(workload);
  const a = await w.start();
  await w.advance(11 * 60);
  return a;
}

test('api:1 known-good at 256Mi, OOM-killed once usage grows → raised; api:2 crash-loops before the raised revision is marked: the rollback keeps the raise', async () => {
  const a = await healthyThenBadRelease('api', deployment('api', { namespace: NS, image: 'api:1', replicas: 3, memory: '256Mi', annotations: HEAL }));
  expect(replicaSetsOf(w, 'api')[0]!.metadata!.annotations).toMatchObject({ 'amadeus.io/known-good': 'true' });

  // Usage grows past the limit: the next start of api:1 needs 300Mi. A pod lost (a node drained) comes back at 256Mi and is OOM-killed.
  w.cluster.behave('api:1', 'oom-at:300Mi');
  const victim = w.pods()[0]!;
  w.kube.remove('v1', 'Pod', NS, victim.metadata!.name!);
  await w.advance(3 * 60);
  expect(summary()).toEqual(['Deployment/api oom-bump/applied/raised']);
  const template = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'api').spec!.template.spec!.containers[0];
  expect(memory(template())).toBe('356Mi/356Mi');

  // Five minutes later (the raised revision not yet marked known-good), a bad release.
  await w.advance(2 * 60);
  w.edit<V1Deployment>('apps/v1', 'Deployment', 'api', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'api:2'));
  await w.advance(10 * 60);

  expect(summary()).toEqual(['Deployment/api oom-bump/applied/raised', 'Deployment/api rollback/applied/rolled-back']);
  const raised = replicaSetsOf(w, 'api').find((rs) => rs.spec!.template!.spec!.containers[0]!.image === 'api:1' && memory(rs.spec!.template!.spec!.containers[0]) === '356Mi/356Mi')!;
  expect(a.healer.reports[1]!.message).toBe(`rolled back from revision 3 to revision 2 (ReplicaSet ${raised.metadata!.name}: known-good revision 1 with its memory raised since)`);
  expect(template()!.image).toBe('api:1');
  expect(memory(template())).toBe('356Mi/356Mi');

  // An hour on: the raised pods serve, nothing is OOM-killed again, no second bump, no other rollback; the controller reused the raise's ReplicaSet.
  await w.advance(60 * 60);
  expect(summary()).toEqual(['Deployment/api oom-bump/applied/raised', 'Deployment/api rollback/applied/rolled-back']);
  const pods = w.pods({ app: 'api' });
  expect(pods).toHaveLength(3);
  expect(pods.map((p) => `${p.spec!.containers[0]!.image} ${memory(p.spec!.containers[0])} ${p.status!.containerStatuses![0]!.restartCount} ${ready(p)}`)).toEqual(Array(3).fill('api:1 356Mi/356Mi 0 true'));
  expect(replicaSetsOf(w, 'api')).toHaveLength(3);
  expect(w.patches('deployments/api').map((p) => p.status)).toEqual([200, 200]);
  expect(w.kube.requests.filter((q) => q.method === 'DELETE')).toEqual([]);
});

test('the same with a StatefulSet (RollingUpdate, OrderedReady): the rollback goes to the raise\'s ControllerRevision, its stuck pod recreated; the raise holds', async () => {
  const a = await healthyThenBadRelease('db', statefulSet('db', { namespace: NS, image: 'db:1', replicas: 2, memory: '256Mi', annotations: HEAL }));
  const revisions = () => w.kube.list<V1ControllerRevision>('apps/v1', 'ControllerRevision', NS);
  expect(revisions().map((r) => r.metadata!.annotations?.['amadeus.io/known-good'])).toEqual(['true']);

  w.cluster.behave('db:1', 'oom-at:300Mi');
  w.kube.remove('v1', 'Pod', NS, 'db-1');
  await w.advance(5 * 60);
  expect(summary()).toEqual(['StatefulSet/db oom-bump/applied/raised']);
  const template = () => w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db').spec!.template.spec!.containers[0];
  expect(memory(template())).toBe('356Mi/356Mi');

  w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'db:2'));
  await w.advance(10 * 60);
  expect(summary()).toEqual(['StatefulSet/db oom-bump/applied/raised', 'StatefulSet/db rollback/applied/rolled-back']);
  expect(a.healer.reports[1]!.message).toMatch(/^rolled back from db-[a-z0-9]+ to revision 2 \(ControllerRevision db-[a-z0-9]+: known-good revision 1 with its memory raised since\)/);
  expect(template()!.image).toBe('db:1');
  expect(memory(template())).toBe('356Mi/356Mi');

  await w.advance(60 * 60);
  expect(summary()).toEqual(['StatefulSet/db oom-bump/applied/raised', 'StatefulSet/db rollback/applied/rolled-back']);
  expect(w.pods({ app: 'db' }).map((p) => `${p.metadata!.name} ${p.spec!.containers[0]!.image} ${memory(p.spec!.containers[0])} ${ready(p)}`)).toEqual(['db-0 db:1 356Mi/356Mi true', 'db-1 db:1 356Mi/356Mi true']);
  expect(w.patches('statefulsets/db').map((p) => p.status)).toEqual([200, 200]);
});

const summary = () => reportSummary(w);

test('the raise itself seen crash-looping (one pod of it, too few for a rollback): a release crash-looping next is left to people — neither the raise nor the known-good revision under it is rolled out', async () => {
  w = await healerWorld();
  const { started: a, raised } = await raiseSeenCrashLooping(w, () => w.start());
  expect(summary()).toEqual(['Deployment/api oom-bump/applied/raised', 'Deployment/api rollback/refused/too-few-failing']);
  // Unmarked, yet its crash loop is recorded on it.
  expect(raised.metadata!.annotations!['amadeus.io/known-good']).toBeUndefined();
  expect(raised.metadata!.annotations!['amadeus.io/crash-looped-at']).toEqual(expect.any(String));

  // A release five minutes later crash-loops on every pod.
  w.edit<V1Deployment>('apps/v1', 'Deployment', 'api', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'api:2'));
  await w.advance(10 * 60);
  expect(summary()).toEqual(['Deployment/api oom-bump/applied/raised', 'Deployment/api rollback/refused/too-few-failing', 'Deployment/api rollback/refused/raise-crash-looped']);
  expect(a.healer.reports[2]!.message).toMatch(/^no rollback: revision 2 raised the memory of known-good revision 1 since, and its pods were seen crash-looping at .*: rolling back to it could bring that crash loop back, and rolling back to revision 1 would undo the raise and bring back the OOM kills it answered/);
  // An hour on, the refusal said again each quarter of an hour; the Deployment was patched once (the
  // raise), nothing deleted: the release is where the operator left it.
  await w.advance(60 * 60);
  expect(new Set(summary().slice(2))).toEqual(new Set(['Deployment/api rollback/refused/raise-crash-looped']));
  expect(w.patches('deployments/api').map((p) => p.status)).toEqual([200]);
  expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'api').spec!.template.spec!.containers[0]!.image).toBe('api:2');
  expect(w.kube.requests.filter((q) => q.method === 'DELETE')).toEqual([]);
});
