/** The StatefulSet controller on the simulated cluster: ControllerRevisions, ordered pods, RollingUpdate, partition, OnDelete. */
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1ControllerRevision, type V1Pod, type V1StatefulSet } from '@kubernetes/client-node';
import { startCluster, type Cluster } from './index.js';
import { statefulSet } from './objects.js';

const NS = 'default';
const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

let cluster: Cluster;
let apps: AppsV1Api;
let core: CoreV1Api;

beforeEach(async () => {
  cluster = await startCluster();
  apps = cluster.kube.kubeConfig().makeApiClient(AppsV1Api);
  core = cluster.kube.kubeConfig().makeApiClient(CoreV1Api);
});

afterEach(async () => {
  await cluster.close();
});

const sts = () => cluster.kube.get<V1StatefulSet>('apps/v1', 'StatefulSet', NS, 'db')!;
const revisions = () => cluster.kube.list<V1ControllerRevision>('apps/v1', 'ControllerRevision', NS);
const revisionOf = (image: string) => revisions().find((r) => (r.data as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0]!.image === image)!;
const podImages = () => cluster.pods(NS).map((p) => `${p.metadata!.name} ${p.spec!.containers[0]!.image}`);
const pod = (name: string) => cluster.kube.get<V1Pod>('v1', 'Pod', NS, name)!;
const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
const setImage = (image: string) =>
  apps.patchNamespacedStatefulSet({ name: 'db', namespace: NS, body: { spec: { template: { spec: { containers: [{ name: 'app', image }] } } } } }, smp);

/** Pod ADDED / DELETED events, in order. */
function podEvents() {
  const events: string[] = [];
  const off = cluster.kube.onChange((c) => {
    if (c.kind === 'Pod' && c.type !== 'MODIFIED') events.push(`${c.type === 'ADDED' ? '+' : '-'}${c.object.metadata!.name}`);
  });
  return { events, off };
}

test('OrderedReady creation, a ControllerRevision per template, RollingUpdate highest ordinal first waiting for Ready, renumbering on revert', async () => {
  cluster.behave('db:1', 'healthy:5');
  cluster.behave('db:2', 'healthy:5');
  const created = podEvents();
  cluster.kube.put(statefulSet('db', { image: 'db:1', replicas: 3 }));
  await cluster.settle();
  // One at a time: db-1 waits for db-0 to be Ready (5 s).
  expect(cluster.pods(NS).map((p) => p.metadata!.name)).toEqual(['db-0']);
  await cluster.tick(15);
  created.off();
  expect(created.events).toEqual(['+db-0', '+db-1', '+db-2']);

  const [rev1] = revisions();
  const name1 = rev1!.metadata!.name!;
  expect(name1).toMatch(/^db-[bcdfghjklmnpqrstvwxz2456789]+$/);
  expect(rev1!.revision).toBe(1);
  expect(rev1!.metadata!.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: sts().metadata!.uid, controller: true, blockOwnerDeletion: true }]);
  expect(rev1!.data).toEqual({ spec: { template: { ...sts().spec!.template, $patch: 'replace' } } });
  for (const i of [0, 1, 2]) {
    expect(pod(`db-${i}`).metadata!.labels).toEqual({
      app: 'db',
      'controller-revision-hash': name1,
      'statefulset.kubernetes.io/pod-name': `db-${i}`,
      'apps.kubernetes.io/pod-index': String(i),
    });
    expect(pod(`db-${i}`).spec).toMatchObject({ hostname: `db-${i}`, subdomain: 'db' });
  }
  expect(sts().status).toEqual({
    observedGeneration: 1,
    replicas: 3,
    readyReplicas: 3,
    availableReplicas: 3,
    currentReplicas: 3,
    updatedReplicas: 3,
    currentRevision: name1,
    updateRevision: name1,
  });

  const updates = podEvents();
  await setImage('db:2');
  await cluster.settle();
  const name2 = revisionOf('db:2').metadata!.name!;
  expect(revisionOf('db:2').revision).toBe(2);
  // db-2 was replaced at once; db-1 waits for it to be Ready.
  expect(podImages()).toEqual(['db-0 db:1', 'db-1 db:1', 'db-2 db:2']);
  expect(sts().status).toMatchObject({ currentRevision: name1, updateRevision: name2, currentReplicas: 2, updatedReplicas: 1, readyReplicas: 2 });
  await cluster.tick(5);
  expect(podImages()).toEqual(['db-0 db:1', 'db-1 db:2', 'db-2 db:2']);
  await cluster.tick(10);
  updates.off();
  expect(updates.events).toEqual(['-db-2', '+db-2', '-db-1', '+db-1', '-db-0', '+db-0']);
  expect(sts().status).toMatchObject({ currentRevision: name2, updateRevision: name2, currentReplicas: 3, updatedReplicas: 3, readyReplicas: 3 });
  expect(pod('db-0').metadata!.labels!['controller-revision-hash']).toBe(name2);

  // Back to db:1: the first revision is renumbered, not copied.
  await setImage('db:1');
  await cluster.tick(30);
  expect(revisions()).toHaveLength(2);
  expect(revisionOf('db:1').metadata!.name).toBe(name1);
  expect(revisionOf('db:1').revision).toBe(3);
  expect(sts().status).toMatchObject({ currentRevision: name1, updateRevision: name1, updatedReplicas: 3 });
  expect(podImages()).toEqual(['db-0 db:1', 'db-1 db:1', 'db-2 db:1']);
});

test('RollingUpdate with a partition updates only the ordinals at or above it', async () => {
  cluster.kube.put(statefulSet('db', { image: 'db:1', replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }));
  await cluster.settle();
  const name1 = sts().status!.currentRevision;
  await setImage('db:2');
  await cluster.settle();
  expect(podImages()).toEqual(['db-0 db:1', 'db-1 db:1', 'db-2 db:2']);
  expect(sts().status).toMatchObject({ currentRevision: name1, currentReplicas: 2, updatedReplicas: 1 });
  // A deleted pod below the partition comes back at the current revision.
  await core.deleteNamespacedPod({ name: 'db-0', namespace: NS });
  await cluster.settle();
  expect(podImages()).toEqual(['db-0 db:1', 'db-1 db:1', 'db-2 db:2']);
  await apps.patchNamespacedStatefulSet({ name: 'db', namespace: NS, body: { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } } }, smp);
  await cluster.settle();
  expect(podImages()).toEqual(['db-0 db:2', 'db-1 db:2', 'db-2 db:2']);
  expect(sts().status!.currentRevision).toBe(sts().status!.updateRevision);
});

test('OnDelete: a new revision replaces only the pods that are deleted; currentRevision stays', async () => {
  cluster.kube.put(statefulSet('db', { image: 'db:1', replicas: 3, updateStrategy: { type: 'OnDelete' } }));
  await cluster.settle();
  const name1 = sts().status!.currentRevision;
  await setImage('db:2');
  await cluster.tick(60);
  const name2 = revisionOf('db:2').metadata!.name;
  expect(podImages()).toEqual(['db-0 db:1', 'db-1 db:1', 'db-2 db:1']);
  expect(sts().status).toMatchObject({ currentRevision: name1, updateRevision: name2, currentReplicas: 3 });
  expect(sts().status!.updatedReplicas).toBeUndefined();

  await core.deleteNamespacedPod({ name: 'db-1', namespace: NS });
  await cluster.settle();
  expect(podImages()).toEqual(['db-0 db:1', 'db-1 db:2', 'db-2 db:1']);
  expect(pod('db-1').metadata!.labels!['controller-revision-hash']).toBe(name2);
  expect(sts().status).toMatchObject({ currentRevision: name1, updateRevision: name2, currentReplicas: 2, updatedReplicas: 1 });
});

test('a pod stuck broken at a bad revision blocks an OrderedReady set after the revert until it is deleted (kubernetes#67250)', async () => {
  cluster.behave('db:2', 'crash');
  cluster.kube.put(statefulSet('db', { image: 'db:1', replicas: 3 }));
  await cluster.settle();
  await setImage('db:2');
  await cluster.tick(120);
  expect(podImages()).toEqual(['db-0 db:1', 'db-1 db:1', 'db-2 db:2']);
  expect(pod('db-2').status!.containerStatuses![0]!.state!.waiting!.reason).toBe('CrashLoopBackOff');

  await setImage('db:1');
  await cluster.tick(600);
  // Reverted, and still stuck: the broken pod is never replaced.
  expect(sts().status!.updateRevision).toBe(revisionOf('db:1').metadata!.name);
  expect(podImages()).toEqual(['db-0 db:1', 'db-1 db:1', 'db-2 db:2']);

  await core.deleteNamespacedPod({ name: 'db-2', namespace: NS });
  await cluster.settle();
  expect(podImages()).toEqual(['db-0 db:1', 'db-1 db:1', 'db-2 db:1']);
  expect(cluster.pods(NS).every(ready)).toBe(true);
  expect(sts().status!.currentRevision).toBe(sts().status!.updateRevision);
});

test('scaling down removes the highest ordinals first, one at a time; Parallel creates all at once', async () => {
  cluster.kube.put(statefulSet('db', { image: 'db:1', replicas: 4 }));
  await cluster.settle();
  const events = podEvents();
  await apps.patchNamespacedStatefulSet({ name: 'db', namespace: NS, body: { spec: { replicas: 1 } } }, smp);
  await cluster.settle();
  events.off();
  expect(events.events).toEqual(['-db-3', '-db-2', '-db-1']);

  cluster.behave('web:1', 'healthy:10');
  cluster.kube.put(statefulSet('web', { image: 'web:1', replicas: 3, podManagementPolicy: 'Parallel' }));
  await cluster.settle();
  expect(cluster.pods(NS, { app: 'web' }).map((p) => p.metadata!.name)).toEqual(['web-0', 'web-1', 'web-2']);
  expect(cluster.pods(NS, { app: 'web' }).some(ready)).toBe(false);
});
