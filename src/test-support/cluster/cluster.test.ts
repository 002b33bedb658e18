/**
 * The simulated cluster as a client sees it: watch events for the controllers' writes, 409s for
 * stale writes, timestamps on the simulated clock; controllers that lose a race redo their work;
 * garbage collection; settling on demand or on every outside write.
 */
import { ApiException, AppsV1Api, Watch, type V1Deployment, type V1Pod, type V1ReplicaSet } from '@kubernetes/client-node';
import { waitFor } from '../fakes.js';
import { DEFAULT_START, startCluster, type Cluster } from './index.js';
import { deployment } from './objects.js';

const NS = 'default';
let cluster: Cluster;

afterEach(async () => {
  await cluster.close();
});

test('a client watching pods sees the kubelet’s status updates, with timestamps on the simulated clock', async () => {
  cluster = await startCluster();
  cluster.behave('web:1', 'healthy:10');
  const kc = cluster.kube.kubeConfig();
  const events: string[] = [];
  const rvs: number[] = [];
  const watch = await new Watch(kc).watch(`/api/v1/namespaces/${NS}/pods`, {}, (type, p: V1Pod) => {
    events.push(`${type} ${p.status?.phase ?? '-'} ${p.status?.containerStatuses?.[0]?.ready ?? '-'}`);
    rvs.push(Number(p.metadata!.resourceVersion));
  }, () => undefined);
  await waitFor(() => cluster.kube.activeWatches() === 1, 5000, 'the watch');
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace: NS, body: deployment('web', { image: 'web:1' }) });
  await cluster.tick(10);
  await waitFor(() => events.length >= 4, 5000, 'pod events');
  watch.abort();
  // Created, bound by the scheduler, started by the kubelet, Ready 10 s later.
  expect(events).toEqual(['ADDED Pending -', 'MODIFIED Pending -', 'MODIFIED Running false', 'MODIFIED Running true']);
  expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
  const [p] = cluster.pods(NS);
  expect(p!.metadata!.creationTimestamp).toBe(new Date(DEFAULT_START).toISOString().replace('.000Z', 'Z'));
  expect(p!.status!.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime).toBe(new Date(DEFAULT_START + 10_000).toISOString().replace('.000Z', 'Z'));
});

test('a client writing with a resourceVersion the controllers have since moved on from gets 409', async () => {
  cluster = await startCluster();
  cluster.behave('web:1', 'healthy:10');
  const apps = cluster.kube.kubeConfig().makeApiClient(AppsV1Api);
  await apps.createNamespacedDeployment({ namespace: NS, body: deployment('web', { image: 'web:1', replicas: 2 }) });
  await cluster.settle();
  const read = await apps.readNamespacedDeployment({ name: 'web', namespace: NS });
  await cluster.tick(10); // pods become Ready: the controller writes the Deployment's status
  read.spec!.replicas = 5;
  const err = await apps.replaceNamespacedDeployment({ name: 'web', namespace: NS, body: read }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApiException);
  expect((err as ApiException<unknown>).code).toBe(409);
  expect(cluster.kube.get<V1Deployment>('apps/v1', 'Deployment', NS, 'web')!.spec!.replicas).toBe(2);
});

test('a controller whose write loses a race gets 409 and redoes it from a fresh read', async () => {
  cluster = await startCluster();
  // Another writer touches the Deployment right after the controller created its ReplicaSet,
  // before the controller writes the Deployment's revision annotation.
  const off = cluster.kube.onChange((c) => {
    if (c.kind !== 'ReplicaSet' || c.type !== 'ADDED') return;
    const d = cluster.kube.get<V1Deployment>('apps/v1', 'Deployment', NS, 'web')!;
    cluster.kube.put({ ...d, metadata: { ...d.metadata, annotations: { ...d.metadata!.annotations, 'other-writer': 'was here' } } });
  });
  cluster.kube.put(deployment('web', { image: 'web:1', replicas: 2 }));
  await cluster.settle();
  off();
  expect(cluster.conflicts).toBeGreaterThan(0);
  const d = cluster.kube.get<V1Deployment>('apps/v1', 'Deployment', NS, 'web')!;
  expect(d.metadata!.annotations).toEqual({ 'other-writer': 'was here', 'deployment.kubernetes.io/revision': '1' });
  expect(d.status).toMatchObject({ replicas: 2, availableReplicas: 2 });
});

test('deleting a Deployment takes its ReplicaSets and pods with it (garbage collection)', async () => {
  cluster = await startCluster();
  cluster.kube.put(deployment('web', { image: 'web:1', replicas: 2 }));
  await cluster.settle();
  await cluster.kube.kubeConfig().makeApiClient(AppsV1Api).deleteNamespacedDeployment({ name: 'web', namespace: NS });
  await cluster.settle();
  expect(cluster.kube.list<V1ReplicaSet>('apps/v1', 'ReplicaSet', NS)).toEqual([]);
  expect(cluster.pods(NS)).toEqual([]);
});

test('auto (default) reacts to outside writes by itself; auto: false only on settle()', async () => {
  cluster = await startCluster();
  cluster.kube.put(deployment('web', { image: 'web:1', replicas: 2 }));
  await waitFor(() => cluster.pods(NS).length === 2, 5000, 'the controllers to react');
  await cluster.close();

  cluster = await startCluster({ auto: false });
  cluster.kube.put(deployment('web', { image: 'web:1', replicas: 2 }));
  await new Promise((r) => setTimeout(r, 50));
  expect(cluster.pods(NS)).toEqual([]);
  await cluster.settle();
  expect(cluster.pods(NS)).toHaveLength(2);
});

test('until() reports a condition that cannot happen instead of spinning', async () => {
  cluster = await startCluster();
  cluster.kube.put(deployment('web', { image: 'web:1' }));
  await expect(cluster.until(() => false, { what: 'a miracle' })).rejects.toThrow('fake cluster: a miracle not reached and nothing is left to happen');
  cluster.behave('web:2', 'crash');
  cluster.kube.put(deployment('web', { image: 'web:2' }));
  await expect(cluster.until(() => false, { maxSeconds: 60, what: 'a miracle' })).rejects.toThrow('within 60 simulated seconds');
});
