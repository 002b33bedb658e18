/**
 * The leader's own annotation-only write on a Deployment (removing revision marks copied onto it)
 * bumps its generation, as kube-apiserver does for any Deployment annotation change. Until the
 * Deployment controller has synced, observedGeneration is one behind: that lag is the healer's own
 * bookkeeping, not a newer spec, and must not refuse a rollback as "rollout not observed".
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { deployment } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS, replicaSetRunning, reportSummary } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

test('web:2 applied with web:1’s marks (an export of the live object): the leader removes them, the Deployment controller lags behind that write, and web:2 crash-looping is still rolled back to web:1', async () => {
  w = await healerWorld();
  w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
  await w.start();
  await w.advance(11 * 60);
  const web1 = replicaSetRunning(w, 'web', 'web:1')!;
  expect(web1.metadata!.annotations!['amadeus.io/known-good']).toBe('true');
  const marks = Object.fromEntries(Object.entries(web1.metadata!.annotations!).filter(([k]) => k.startsWith('amadeus.io/')));
  // The controller syncs nothing more once the cleanup is served (a busy kube-controller-manager).
  const cleanup = () => w.kube.requests.at(-1)?.contentType === 'application/merge-patch+json';
  w.kube.beforeNext({ method: 'PATCH', path: `/apis/apps/v1/namespaces/${NS}/deployments/web` }, () => void (cleanup() && w.cluster.pause('deployment')), 100);
  w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => {
    d.spec!.template.spec!.containers[0]!.image = 'web:2';
    d.metadata!.annotations = { ...d.metadata!.annotations, ...marks };
  });
  await w.advance(90);
  expect(w.patches('deployments/web').map((q) => q.contentType)).toEqual(['application/merge-patch+json']);
  const lagging = w.get<V1Deployment>('apps/v1', 'Deployment', 'web');
  expect([lagging.metadata!.generation, lagging.status!.observedGeneration]).toEqual([3, 2]);
  // web:2's pods crash-loop from their next start.
  w.cluster.behave('web:2', { run: 'crash', log: 'starting web:2\npanic: nil pointer dereference\n' });
  for (const p of w.pods({ app: 'web' }).filter((p) => p.spec!.containers[0]!.image === 'web:2')) w.kube.remove('v1', 'Pod', NS, p.metadata!.name!);
  await w.advance(10 * 60);
  const web = w.get<V1Deployment>('apps/v1', 'Deployment', 'web');
  // The cleanup left generation 3, observed 2 (the controller paused): refused as rollout-not-observed before.
  expect(w.patches('deployments/web').map((q) => `${q.contentType} ${q.status}`)).toEqual(['application/merge-patch+json 200', 'application/json-patch+json 200']);
  expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
  expect(web.spec!.template.spec!.containers[0]!.image).toBe('web:1');
  w.cluster.resume('deployment');
  await w.advance(5 * 60);
  expect(w.pods({ app: 'web' }).map((p) => p.spec!.containers[0]!.image)).toEqual(Array(3).fill('web:1'));
});
