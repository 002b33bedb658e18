/**
 * The Deployment controller on the simulated cluster, driven the way a user or the healer drives
 * a real one: through @kubernetes/client-node over HTTP.
 */
import { AppsV1Api, PatchStrategy, setHeaderOptions, type V1Deployment, type V1DeploymentStrategy, type V1Pod, type V1ReplicaSet } from '@kubernetes/client-node';
import { startCluster, type Cluster } from './index.js';
import { deployment } from './objects.js';

const NS = 'default';
const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

let cluster: Cluster;
let apps: AppsV1Api;

beforeEach(async () => {
  cluster = await startCluster();
  apps = cluster.kube.kubeConfig().makeApiClient(AppsV1Api);
});

afterEach(async () => {
  await cluster.close();
});

const get = (name = 'web') => cluster.kube.get<V1Deployment>('apps/v1', 'Deployment', NS, name)!;
const replicaSets = () => cluster.kube.list<V1ReplicaSet>('apps/v1', 'ReplicaSet', NS);
const rsByImage = (image: string) => replicaSets().find((rs) => rs.spec?.template?.spec?.containers[0]?.image === image)!;
const revision = (o: { metadata?: { annotations?: Record<string, string> } }) => o.metadata?.annotations?.['deployment.kubernetes.io/revision'];
const condition = (type: string) => get().status?.conditions?.find((c) => c.type === type);
const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
const setImage = (image: string, name = 'web') =>
  apps.patchNamespacedDeployment({ name, namespace: NS, body: { spec: { template: { spec: { containers: [{ name: 'app', image }] } } } } }, smp);

/** Watches every pod change and checks the rolling-update bounds at each one. */
function watchBounds(maxPods: number, minReady: number) {
  const seen = { maxPods: 0, minReady: Infinity };
  const off = cluster.kube.onChange((c) => {
    if (c.kind !== 'Pod') return;
    const pods = cluster.pods(NS);
    seen.maxPods = Math.max(seen.maxPods, pods.length);
    seen.minReady = Math.min(seen.minReady, pods.filter(ready).length);
  });
  return {
    check() {
      off();
      expect(seen.maxPods).toBeLessThanOrEqual(maxPods);
      expect(seen.minReady).toBeGreaterThanOrEqual(minReady);
    },
  };
}

test('a rollout v1 → v2 end to end, then a template reverted to v1’s renumbers the old ReplicaSet to revision 3', async () => {
  await apps.createNamespacedDeployment({ namespace: NS, body: deployment('web', { image: 'web:1', replicas: 3 }) });
  await cluster.settle();

  const d1 = get();
  const [rs1] = replicaSets();
  const hash = rs1.metadata!.labels!['pod-template-hash'];
  expect(rs1.metadata!.name).toBe(`web-${hash}`);
  expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
  expect(revision(rs1)).toBe('1');
  expect(rs1.metadata!.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: d1.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
  expect(rs1.spec!.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
  expect(rs1.spec!.template!.metadata!.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
  expect(rs1.metadata!.annotations).toMatchObject({ 'deployment.kubernetes.io/desired-replicas': '3', 'deployment.kubernetes.io/max-replicas': '4' });
  expect(rs1.status).toEqual({ replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 });

  const pods = cluster.pods(NS);
  expect(pods).toHaveLength(3);
  for (const p of pods) {
    expect(p.metadata!.name).toMatch(new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
    expect(p.metadata!.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(p.metadata!.ownerReferences![0]).toMatchObject({ kind: 'ReplicaSet', name: rs1.metadata!.name, uid: rs1.metadata!.uid, controller: true });
    expect(p.status!.phase).toBe('Running');
    expect(ready(p)).toBe(true);
  }
  expect(revision(d1)).toBe('1');
  expect(d1.status).toMatchObject({ observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
  expect(condition('Available')).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable' });
  expect(condition('Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rs1.metadata!.name}" has successfully progressed.` });

  // v2: maxSurge 25% of 3 rounds up to 1, maxUnavailable rounds down to 0: never more than 4 pods, never fewer than 3 ready.
  const bounds = watchBounds(4, 3);
  await setImage('web:2');
  await cluster.settle();
  bounds.check();
  const rs2 = rsByImage('web:2');
  expect(replicaSets()).toHaveLength(2);
  expect(revision(rs2)).toBe('2');
  expect(rs2.spec!.replicas).toBe(3);
  expect(rsByImage('web:1').spec!.replicas).toBe(0);
  // Scaled down 3 → 2 → 1 → 0, a generation each.
  expect(rsByImage('web:1').status).toEqual({ replicas: 0, observedGeneration: 4 });
  expect(cluster.pods(NS).map((p) => p.spec!.containers[0]!.image)).toEqual(['web:2', 'web:2', 'web:2']);
  expect(revision(get())).toBe('2');
  expect(get().status).toMatchObject({ observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 });
  expect(condition('Progressing')).toMatchObject({ reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rs2.metadata!.name}" has successfully progressed.` });

  // Back to v1's template: no new ReplicaSet, the old one becomes revision 3.
  await setImage('web:1');
  await cluster.settle();
  expect(replicaSets()).toHaveLength(2);
  const back = rsByImage('web:1');
  expect(back.metadata!.uid).toBe(rs1.metadata!.uid);
  expect(revision(back)).toBe('3');
  expect(back.metadata!.annotations!['deployment.kubernetes.io/revision-history']).toBe('1');
  expect(back.spec!.replicas).toBe(3);
  expect(revision(rsByImage('web:2'))).toBe('2');
  expect(rsByImage('web:2').spec!.replicas).toBe(0);
  expect(revision(get())).toBe('3');
  expect(cluster.pods(NS).every((p) => p.metadata!.labels!['pod-template-hash'] === hash && ready(p))).toBe(true);
});

test('a broken rollout stalls within maxUnavailable, exceeds its progress deadline on simulated time, and a rollback patch recovers it', async () => {
  cluster.behave('web:2', 'crash');
  cluster.kube.put(deployment('web', { image: 'web:1', replicas: 4, progressDeadlineSeconds: 120 }));
  await cluster.settle();
  await setImage('web:2');
  await cluster.tick(60);

  // maxSurge 1, maxUnavailable 1: one surge pod and one more from the old ReplicaSet's scale-down, both crashing.
  const broken = rsByImage('web:2');
  expect(broken.spec!.replicas).toBe(2);
  expect(rsByImage('web:1').spec!.replicas).toBe(3);
  expect(cluster.pods(NS).filter(ready)).toHaveLength(3);
  expect(condition('Progressing')).toMatchObject({ status: 'True', reason: 'ReplicaSetUpdated' });
  expect(condition('Available')).toMatchObject({ status: 'True' });
  const crashing = cluster.pods(NS).filter((p) => p.spec!.containers[0]!.image === 'web:2');
  expect(crashing.map((p) => p.status!.containerStatuses![0]!.state!.waiting?.reason)).toEqual(['CrashLoopBackOff', 'CrashLoopBackOff']);

  await cluster.tick(120);
  expect(condition('Progressing')).toMatchObject({
    status: 'False',
    reason: 'ProgressDeadlineExceeded',
    message: `ReplicaSet "${broken.metadata!.name}" has timed out progressing.`,
  });

  // What `kubectl rollout undo` (and the healer) send: the old template, as a JSON patch.
  const old = rsByImage('web:1');
  const template = structuredClone(old.spec!.template!);
  delete template.metadata!.labels!['pod-template-hash'];
  await apps.patchNamespacedDeployment({
    name: 'web',
    namespace: NS,
    body: [
      { op: 'test', path: '/metadata/resourceVersion', value: get().metadata!.resourceVersion },
      { op: 'replace', path: '/spec/template', value: template },
    ],
  });
  await cluster.settle();
  expect(revision(rsByImage('web:1'))).toBe('3');
  expect(rsByImage('web:2').spec!.replicas).toBe(0);
  expect(cluster.pods(NS)).toHaveLength(4);
  expect(cluster.pods(NS).every(ready)).toBe(true);
  expect(condition('Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
});

test('paused: a template change makes no ReplicaSet, scaling still applies; resuming rolls out', async () => {
  cluster.kube.put(deployment('web', { image: 'web:1', replicas: 2 }));
  await cluster.settle();
  await apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body: { spec: { paused: true } } }, smp);
  await setImage('web:2');
  await cluster.settle();
  expect(replicaSets()).toHaveLength(1);
  expect(condition('Progressing')).toMatchObject({ status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' });
  expect(get().status!.observedGeneration).toBe(get().metadata!.generation);

  await apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body: { spec: { replicas: 4 } } }, smp);
  await cluster.settle();
  expect(replicaSets()).toHaveLength(1);
  expect(rsByImage('web:1').spec!.replicas).toBe(4);
  expect(cluster.pods(NS).filter(ready)).toHaveLength(4);

  await apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body: { spec: { paused: false } } }, smp);
  await cluster.settle();
  expect(revision(rsByImage('web:2'))).toBe('2');
  expect(cluster.pods(NS).map((p) => p.spec!.containers[0]!.image)).toEqual(Array(4).fill('web:2'));
  expect(condition('Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
});

test('Recreate: the old pods are all gone before any new one exists', async () => {
  cluster.kube.put(deployment('web', { image: 'web:1', replicas: 3, strategy: { type: 'Recreate' } }));
  await cluster.settle();
  let mixed = false;
  const off = cluster.kube.onChange(() => {
    const images = new Set(cluster.pods(NS).map((p) => p.spec!.containers[0]!.image));
    mixed ||= images.size > 1;
  });
  await setImage('web:2');
  await cluster.settle();
  off();
  expect(mixed).toBe(false);
  expect(cluster.pods(NS).map((p) => p.spec!.containers[0]!.image)).toEqual(Array(3).fill('web:2'));
  expect(rsByImage('web:1').spec!.replicas).toBe(0);
});

test('revisionHistoryLimit: old ReplicaSets scaled to zero beyond it are deleted, oldest revision first', async () => {
  cluster.kube.put(deployment('web', { image: 'web:1', replicas: 1, revisionHistoryLimit: 1 }));
  for (const image of ['web:2', 'web:3', 'web:4']) {
    await cluster.settle();
    await setImage(image);
  }
  await cluster.settle();
  expect(replicaSets().map((rs) => [rs.spec!.template!.spec!.containers[0]!.image, revision(rs)]).sort()).toEqual([
    ['web:3', '3'],
    ['web:4', '4'],
  ]);
  // Their pods went with them (the garbage collector).
  expect(cluster.pods(NS).map((p) => p.spec!.containers[0]!.image)).toEqual(['web:4']);
});

test('minReadySeconds: pods count as available only after that much simulated time, and the rollout waits for it', async () => {
  cluster.kube.put(deployment('web', { image: 'web:1', replicas: 2, minReadySeconds: 30 }));
  await cluster.settle();
  expect(get().status).toMatchObject({ readyReplicas: 2, unavailableReplicas: 2 });
  expect(get().status!.availableReplicas).toBeUndefined(); // omitempty, as on the wire
  expect(condition('Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });
  await cluster.tick(30);
  expect(get().status).toMatchObject({ readyReplicas: 2, availableReplicas: 2 });
  expect(condition('Available')).toMatchObject({ status: 'True' });
  const start = cluster.clock.now();
  await setImage('web:2');
  await cluster.until(() => get().status?.updatedReplicas === 2 && get().status?.availableReplicas === 2 && get().status?.replicas === 2, { what: 'the v2 rollout' });
  // Surge 1, unavailable 0: two pods replaced one after the other, each waiting 30 s to be available.
  expect((cluster.clock.now() - start) / 1000).toBe(60);
});

describe("a ResourceQuota refusing the rollout's pods (403 at creation): maxSurge and maxUnavailable still hold, and the controllers keep trying", () => {
  const quota = (hard: string) => cluster.kube.put({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'mem', namespace: NS }, spec: { hard: { 'limits.memory': hard } } });
  const setMemory = (memory: string) =>
    apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body: { spec: { template: { spec: { containers: [{ name: 'app', resources: { limits: { memory }, requests: { memory } } }] } } } } }, smp);
  const memoryOf = (t: { spec?: { containers: { resources?: { limits?: Record<string, string> } }[] } } | undefined) => t?.spec?.containers[0]?.resources?.limits?.memory;
  const memories = () => cluster.pods(NS).map((p) => memoryOf(p)).sort();
  const rsWith = (memory: string) => replicaSets().find((rs) => memoryOf(rs.spec?.template) === memory)!;
  const failure = (rs: V1ReplicaSet) => rs.status?.conditions?.find((c) => c.type === 'ReplicaFailure');
  const start = async (hard: string, strategy?: V1DeploymentStrategy) => {
    quota(hard);
    cluster.kube.put(deployment('web', { image: 'web:1', replicas: 4, memory: '256Mi', strategy }));
    await cluster.settle();
    expect(cluster.pods(NS).filter(ready)).toHaveLength(4);
  };

  test('maxUnavailable 0: a refused pod takes no old one away; the rollout waits, tries again, and completes once the quota has room', async () => {
    await start('1400Mi', { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    const bounds = watchBounds(5, 4);
    await setMemory('356Mi');
    await cluster.tick(700);
    // 4 × 256Mi + 356Mi fit in 1400Mi, 3 × 256Mi + 2 × 356Mi do not: one new pod, one old one gone for it, and there it stops.
    expect(memories()).toEqual(['256Mi', '256Mi', '256Mi', '356Mi']);
    const raised = rsWith('356Mi');
    expect(raised.spec!.replicas).toBe(2);
    expect(raised.status).toMatchObject({ replicas: 1, availableReplicas: 1 });
    expect(failure(raised)).toMatchObject({
      status: 'True',
      reason: 'FailedCreate',
      message: expect.stringMatching(/^pods "web-\w+-\w{5}" is forbidden: exceeded quota: mem, requested: limits\.memory=356Mi, used: limits\.memory=1124Mi, limited: limits\.memory=1400Mi$/),
    });
    expect(condition('Progressing')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    expect(cluster.refusals).toBeGreaterThan(0);

    quota('2000Mi');
    await cluster.settle();
    bounds.check();
    expect(memories()).toEqual(Array(4).fill('356Mi'));
    expect(failure(rsWith('356Mi'))).toBeUndefined();
    expect(condition('Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    expect(cluster.kube.get<{ status: unknown }>('v1', 'ResourceQuota', NS, 'mem')!.status).toEqual({ hard: { 'limits.memory': '2000Mi' }, used: { 'limits.memory': '1424Mi' } });
  });

  test('25%/25% (the default): old pods go by maxUnavailable and their room lets new ones in, until the quota admits no more — stuck one pod short', async () => {
    await start('1200Mi');
    const bounds = watchBounds(5, 3);
    await setMemory('356Mi');
    await cluster.tick(700);
    bounds.check();
    // 2 × 256Mi + 356Mi = 868Mi; one more 356Mi pod would make 1224Mi.
    expect(memories()).toEqual(['256Mi', '256Mi', '356Mi']);
    expect(cluster.pods(NS).filter(ready)).toHaveLength(3);
    expect(rsWith('256Mi').spec!.replicas).toBe(2);
    expect(rsWith('356Mi')).toMatchObject({ spec: { replicas: 3 }, status: { replicas: 1, availableReplicas: 1 } });
    expect(failure(rsWith('356Mi'))).toMatchObject({ reason: 'FailedCreate' });
    expect(get().status).toMatchObject({ availableReplicas: 3, unavailableReplicas: 1 });
    expect(condition('Progressing')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
  });

  test('25%/25%: a quota the rolled-out pods fit completes, some creations refused on the way', async () => {
    await start('1450Mi');
    const bounds = watchBounds(5, 3);
    await setMemory('356Mi');
    await cluster.settle();
    bounds.check();
    expect(memories()).toEqual(Array(4).fill('356Mi'));
    expect(cluster.refusals).toBeGreaterThan(0);
    expect(condition('Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
  });
});

test('an annotation write bumps the generation and the next sync observes it; the controller’s own revision annotation (a status write) does not', async () => {
  cluster.kube.put(deployment('web', { image: 'web:1', replicas: 2 }));
  await cluster.settle();
  expect(revision(get())).toBe('1');
  expect([get().metadata!.generation, get().status!.observedGeneration]).toEqual([1, 1]);

  const patched = await apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body: { metadata: { annotations: { 'example.com/mark': 'x' } } } }, smp);
  expect(patched.metadata!.generation).toBe(2);
  expect(patched.status!.observedGeneration).toBe(1);
  await cluster.settle();
  expect([get().metadata!.generation, get().status!.observedGeneration]).toEqual([2, 2]);
  expect(rsByImage('web:1').metadata!.annotations!['example.com/mark']).toBe('x'); // copied to the ReplicaSet

  await setImage('web:2');
  await cluster.settle();
  expect(revision(get())).toBe('2');
  expect([get().metadata!.generation, get().status!.observedGeneration]).toEqual([3, 3]);
});
