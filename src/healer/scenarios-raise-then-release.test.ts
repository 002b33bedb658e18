/**
 * A memory raise followed by a bad release, on the simulated cluster: the healer's own raise must
 * survive the rollback that answers the release.
 */
import type { V1Container, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { deployment } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS, replicaSetsOf, reportSummary } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
const memory = (c: V1Container | undefined) => `${c?.resources?.limits?.memory}/${c?.resources?.requests?.memory}`;

test('api:1 known-good at 256Mi, OOM-killed once usage grows → raised; api:2 crash-loops before the raised revision is marked: the rollback keeps the raise', async () => {
  w = await healerWorld();
  w.cluster.behave('api:1', 'healthy');
  w.cluster.behave('api:2', 'crash');
  w.kube.put(deployment('api', { namespace: NS, image: 'api:1', replicas: 3, memory: '256Mi', annotations: HEAL }));
  const a = await w.start();
  await w.advance(11 * 60);
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

const summary = () => reportSummary(w);
