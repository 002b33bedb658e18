/** The ReplicaSet controller: replaces deleted pods, removes surplus ones (not-ready first), reports status. */
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod, type V1ReplicaSet } from '@kubernetes/client-node';
import { startCluster, type Cluster } from './index.js';

const NS = 'default';
const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

let cluster: Cluster;

beforeEach(async () => {
  cluster = await startCluster();
});

afterEach(async () => {
  await cluster.close();
});

function replicaSet(replicas: number, minReadySeconds?: number): V1ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web', namespace: NS },
    spec: {
      replicas,
      ...(minReadySeconds ? { minReadySeconds } : {}),
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' }, annotations: { note: 'copied' } }, spec: { containers: [{ name: 'app', image: 'web:1' }] } },
    },
  };
}
const rs = () => cluster.kube.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', NS, 'web')!;
const names = () => cluster.pods(NS).map((p) => p.metadata!.name!);
const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

test('keeps spec.replicas pods, replacing deleted ones under new names', async () => {
  cluster.kube.put(replicaSet(3));
  await cluster.settle();
  const before = names();
  expect(before).toHaveLength(3);
  const owner = rs();
  for (const p of cluster.pods(NS)) {
    expect(p.metadata).toMatchObject({ generateName: 'web-', labels: { app: 'web' }, annotations: { note: 'copied' } });
    expect(p.metadata!.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: owner.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
  }
  // Pods are spread over the nodes.
  expect(new Set(cluster.pods(NS).map((p) => p.spec!.nodeName))).toEqual(new Set(['node-1', 'node-2', 'node-3']));

  const core = cluster.kube.kubeConfig().makeApiClient(CoreV1Api);
  await core.deleteNamespacedPod({ name: before[1]!, namespace: NS });
  await cluster.settle();
  const after = names();
  expect(after).toHaveLength(3);
  expect(after).not.toContain(before[1]);
  expect(after.filter((n) => before.includes(n))).toHaveLength(2);
  expect(rs().status).toEqual({ replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 });
});

test('scaling down deletes the pods that are not ready first', async () => {
  cluster.kube.put(replicaSet(2));
  await cluster.settle();
  const healthy = names();
  // From now on new containers never become ready.
  cluster.behave('web:1', 'not-ready');
  const apps = cluster.kube.kubeConfig().makeApiClient(AppsV1Api);
  await apps.patchNamespacedReplicaSet({ name: 'web', namespace: NS, body: { spec: { replicas: 4 } } }, smp);
  await cluster.settle();
  expect(cluster.pods(NS).filter(ready)).toHaveLength(2);
  expect(rs().status).toMatchObject({ replicas: 4, readyReplicas: 2, availableReplicas: 2 });
  await apps.patchNamespacedReplicaSet({ name: 'web', namespace: NS, body: { spec: { replicas: 2 } } }, smp);
  await cluster.settle();
  expect(names().sort()).toEqual([...healthy].sort());
});

test('availableReplicas waits minReadySeconds of simulated time', async () => {
  cluster.kube.put(replicaSet(2, 10));
  await cluster.settle();
  expect(rs().status).toMatchObject({ replicas: 2, readyReplicas: 2 });
  expect(rs().status!.availableReplicas).toBeUndefined();
  await cluster.tick(9);
  expect(rs().status!.availableReplicas).toBeUndefined();
  await cluster.tick(1);
  expect(rs().status!.availableReplicas).toBe(2);
});

test('a pod creation a ResourceQuota refuses (403): ReplicaFailure FailedCreate, tried again at every sync, created once there is room', async () => {
  const quota = (hard: string) => cluster.kube.put({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'mem', namespace: NS }, spec: { hard: { 'limits.memory': hard } } });
  quota('600Mi');
  const set = replicaSet(3);
  set.spec!.template!.spec!.containers[0]!.resources = { limits: { memory: '256Mi' } };
  cluster.kube.put(set);
  await cluster.settle();
  expect(names()).toHaveLength(2);
  expect(rs().status).toMatchObject({ replicas: 2, readyReplicas: 2 });
  expect(rs().status!.conditions).toEqual([
    {
      type: 'ReplicaFailure',
      status: 'True',
      reason: 'FailedCreate',
      message: expect.stringMatching(/^pods "web-\w{5}" is forbidden: exceeded quota: mem, requested: limits\.memory=256Mi, used: limits\.memory=512Mi, limited: limits\.memory=600Mi$/),
      lastTransitionTime: expect.any(String),
    },
  ]);
  // Tried again at the next sync; a refusal writes nothing, so the rounds still come to rest.
  const [refused, version] = [cluster.refusals, cluster.kube.resourceVersion];
  await cluster.tick(60);
  expect(cluster.refusals).toBeGreaterThan(refused);
  expect(cluster.kube.resourceVersion).toBe(version);

  // A pod deleted frees its room for a moment (the quota controller counts it gone): replaced at once.
  await cluster.kube.kubeConfig().makeApiClient(CoreV1Api).deleteNamespacedPod({ name: names()[0]!, namespace: NS });
  await cluster.settle();
  expect(names()).toHaveLength(2);

  quota('1Gi');
  await cluster.settle();
  expect(names()).toHaveLength(3);
  expect(rs().status).toEqual({ replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 });
});
