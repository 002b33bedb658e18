/**
 * An operator's word landing between the leader's read and its bookkeeping write, on the simulated
 * cluster with the real Healer: a veto (`amadeus.io/known-good: "false"` on a ReplicaSet) is never
 * overwritten by a mark decided on a read without it; a workload opted out (`amadeus.io/heal`
 * removed) is not written by a cleanup decided while it was opted in.
 */
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { deployment } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, kubectlUndo, NS, replicaSetRunning, reportSummary } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

test('a veto put on web:1 as its mark is being written stays: web:1 is no target, web:2 crash-looping is not rolled back to it', async () => {
  w = await healerWorld();
  w.cluster.behave('web:1', 'healthy');
  w.cluster.behave('web:2', { run: 'crash', log: 'starting web:2\npanic: nil pointer dereference\n' });
  w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
  await w.start();
  const web1 = replicaSetRunning(w, 'web', 'web:1')!.metadata!.name!;
  // The operator vetoes web:1 just before the healer's first write to it (its mark) is served.
  w.kube.beforeNext({ method: 'PATCH', path: `/apis/apps/v1/namespaces/${NS}/replicasets/${web1}` }, () =>
    void w.edit<V1ReplicaSet>('apps/v1', 'ReplicaSet', web1, (rs) => void (rs.metadata!.annotations = { ...rs.metadata!.annotations, 'amadeus.io/known-good': 'false' })),
  );
  await w.advance(12 * 60);
  expect(w.kube.requests.some((q) => q.method === 'PATCH' && q.path.endsWith(`/replicasets/${web1}`))).toBe(true);
  expect(w.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', web1).metadata!.annotations!['amadeus.io/known-good']).toBe('false');

  w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
  await w.advance(10 * 60);
  expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template.spec!.containers[0]!.image).toBe('web:2');
  expect(reportSummary(w)).toEqual(['Deployment/web rollback/refused/no-known-good']);
  expect(w.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', web1).metadata!.annotations!['amadeus.io/known-good']).toBe('false');
});

/** web (2 replicas, healed) runs web:1 until it is marked known-good, then web:2 for three minutes. */
async function web1MarkedThenWeb2(): Promise<void> {
  w = await healerWorld();
  w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 2, annotations: HEAL }));
  await w.start();
  await w.advance(11 * 60);
  w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
  await w.advance(3 * 60);
}

test('a workload opted out as the leader removes the marks `kubectl rollout undo` copied onto it is not written', async () => {
  await web1MarkedThenWeb2();
  // The operator opts web out just before the healer's cleanup of the copied marks is served.
  w.kube.beforeNext({ method: 'PATCH', path: `/apis/apps/v1/namespaces/${NS}/deployments/web` }, () =>
    void w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void delete d.metadata!.annotations!['amadeus.io/heal']),
  );
  kubectlUndo(w, 'web', replicaSetRunning(w, 'web', 'web:1')!);
  await w.advance(5 * 60);
  const web = w.get<V1Deployment>('apps/v1', 'Deployment', 'web');
  expect(web.metadata!.annotations!['amadeus.io/heal']).toBeUndefined();
  expect(w.patches('deployments/web').map((q) => q.status)).toEqual([409]);
  expect(web.metadata!.annotations!['amadeus.io/known-good']).toBe('true'); // the copy, left as the operator has it
});

test('a busy Deployment, its status written between the leader\'s list and its cleanup every round: the marks `kubectl rollout undo` copied onto it are removed all the same', async () => {
  await web1MarkedThenWeb2();
  // Its status is written again (as a controller does at every pod change) each time the leader,
  // its Deployments listed, gets as far as reading the namespace's dry-run annotation: the list it
  // decided on is always one status behind by the cleanup's PATCH. Neither an opt-out nor a GitOps tool.
  let writes = 0;
  w.kube.beforeNext(
    { method: 'GET', path: `/api/v1/namespaces/${NS}` },
    () => {
      const d = w.get<V1Deployment>('apps/v1', 'Deployment', 'web');
      const conditions = (d.status?.conditions ?? []).filter((c) => c.type !== 'example.com/Probed');
      w.kube.api.update({ ...d, status: { ...d.status, conditions: [...conditions, { type: 'example.com/Probed', status: 'True', reason: 'Probed', message: `probe ${++writes}` }] } }, { status: true });
    },
    1_000_000,
  );
  kubectlUndo(w, 'web', replicaSetRunning(w, 'web', 'web:1')!);
  expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'web').metadata!.annotations!['amadeus.io/known-good']).toBe('true');
  await w.advance(5 * 60);
  expect(writes).toBeGreaterThanOrEqual(1);
  // The conflict was read again and the copies removed at once; they were left (409) round after round.
  const web = w.get<V1Deployment>('apps/v1', 'Deployment', 'web');
  expect(Object.keys(web.metadata!.annotations!).filter((k) => k.startsWith('amadeus.io/known-good'))).toEqual([]);
  expect(web.metadata!.annotations!['amadeus.io/heal']).toBe('true');
  expect(w.patches('deployments/web').map((q) => q.status)).toEqual([409, 200]);
});
