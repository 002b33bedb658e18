/** The kubelet stand-in: behaviours, crash-loop back-off on the simulated clock, OOM kills, readiness, ConfigMaps, logs. */
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1ContainerStatus, type V1Pod } from '@kubernetes/client-node';
import { startCluster, type Cluster } from './index.js';
import { configMap, deployment } from './objects.js';

const NS = 'default';
const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

let cluster: Cluster;
let core: CoreV1Api;
let apps: AppsV1Api;

beforeEach(async () => {
  cluster = await startCluster();
  core = cluster.kube.kubeConfig().makeApiClient(CoreV1Api);
  apps = cluster.kube.kubeConfig().makeApiClient(AppsV1Api);
});

afterEach(async () => {
  await cluster.close();
});

/** A bare pod (no controller), bound by the scheduler, run by the kubelet. */
function runPod(name: string, image: string, extra: Partial<V1Pod['spec']> = {}, memory?: string): void {
  cluster.kube.put<V1Pod>({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: { containers: [{ name: 'app', image, ...(memory ? { resources: { limits: { memory } } } : {}) }], ...extra },
  });
}
const pod = (name: string) => cluster.kube.get<V1Pod>('v1', 'Pod', NS, name)!;
/** Wire JSON: timestamps are strings. */
const app = (name: string) => pod(name).status!.containerStatuses![0]! as unknown as Omit<V1ContainerStatus, 'state' | 'lastState'> & {
  state: { running?: { startedAt: string }; waiting?: { reason: string; message?: string }; terminated?: { exitCode: number; reason: string } };
  lastState: { terminated?: { exitCode: number; reason: string; startedAt: string; finishedAt: string; containerID: string } };
};
const ready = (name: string) => pod(name).status!.conditions!.find((c) => c.type === 'Ready')!;
const at = (seconds: number) => new Date(cluster.clock.now() + seconds * 1000).toISOString().replace('.000Z', 'Z');

test('healthy: Running and Ready, with the status fields a kubelet reports', async () => {
  runPod('p', 'ghcr.io/acme/app:1.2');
  await cluster.settle();
  const p = pod('p');
  expect(p.spec!.nodeName).toBe('node-1');
  const now = at(0);
  expect(p.status).toMatchObject({
    phase: 'Running',
    startTime: now,
    hostIP: '10.0.1.10',
    qosClass: 'BestEffort',
    conditions: [
      { type: 'PodReadyToStartContainers', status: 'True' },
      { type: 'Initialized', status: 'True' },
      { type: 'Ready', status: 'True', lastTransitionTime: now },
      { type: 'ContainersReady', status: 'True' },
      { type: 'PodScheduled', status: 'True' },
    ],
  });
  expect(p.status!.podIP).toMatch(/^10\.244\.0\.\d+$/);
  expect(app('p')).toMatchObject({
    name: 'app',
    image: 'ghcr.io/acme/app:1.2',
    ready: true,
    started: true,
    restartCount: 0,
    state: { running: { startedAt: now } },
    lastState: {},
  });
  expect(app('p').imageID).toMatch(/^ghcr\.io\/acme\/app@sha256:[0-9a-f]{64}$/);
  expect(app('p').containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
  expect(await core.readNamespacedPodLog({ name: 'p', namespace: NS, container: 'app' })).toBe('starting ghcr.io/acme/app:1.2\nready\n');
});

test('crash: restartCount grows, CrashLoopBackOff doubles from 10 s to 300 s on the simulated clock, previous logs are served', async () => {
  cluster.behave('app:bad', { run: 'crash', log: 'panic: nil pointer dereference\n' });
  runPod('p', 'app:bad');
  await cluster.settle();
  // The first exit restarts at once; the second waits 10 s.
  const start = cluster.clock.now();
  expect(app('p')).toMatchObject({ ready: false, started: false, restartCount: 1, state: { waiting: { reason: 'CrashLoopBackOff' } } });
  expect(app('p').state.waiting!.message).toBe(`back-off 10s restarting failed container=app pod=p_default(${pod('p').metadata!.uid})`);
  expect(app('p').lastState.terminated).toMatchObject({ exitCode: 1, reason: 'Error', finishedAt: at(0) });
  expect(pod('p').status!.phase).toBe('Running');
  expect(ready('p')).toMatchObject({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [app]' });
  expect(await core.readNamespacedPodLog({ name: 'p', namespace: NS, container: 'app', previous: true })).toBe('panic: nil pointer dereference\n');

  const firstId = app('p').containerID;
  const restarts: [number, number, string][] = [];
  for (let i = 0; i < 9; i++) {
    await cluster.until(() => app('p').restartCount! > restarts.length + 1, { what: 'the next restart' });
    restarts.push([(cluster.clock.now() - start) / 1000, app('p').restartCount!, app('p').state.waiting!.message!.split(' ')[1]!]);
  }
  expect(restarts).toEqual([
    [10, 2, '20s'],
    [30, 3, '40s'],
    [70, 4, '1m20s'],
    [150, 5, '2m40s'],
    [310, 6, '5m0s'],
    [610, 7, '5m0s'],
    [910, 8, '5m0s'],
    [1210, 9, '5m0s'],
    [1510, 10, '5m0s'],
  ]);
  expect(app('p').containerID).not.toBe(firstId);
  expect(app('p').lastState.terminated!.containerID).toBe(app('p').containerID);
});

test('oom-at: OOMKilled (137) under a lower memory limit; raising the Deployment’s limit fixes it', async () => {
  cluster.behave('web:1', 'oom-at:300Mi');
  cluster.kube.put(deployment('web', { image: 'web:1', replicas: 1, memory: '256Mi' }));
  await cluster.settle();
  const [p] = cluster.pods(NS);
  const status = p!.status!.containerStatuses![0]!;
  expect(status.lastState!.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  expect(status.state!.waiting!.reason).toBe('CrashLoopBackOff');

  await apps.patchNamespacedDeployment(
    { name: 'web', namespace: NS, body: { spec: { template: { spec: { containers: [{ name: 'app', resources: { limits: { memory: '512Mi' } } }] } } } } },
    smp,
  );
  await cluster.settle();
  const [fixed] = cluster.pods(NS);
  expect(fixed!.metadata!.name).not.toBe(p!.metadata!.name);
  expect(fixed!.status!.containerStatuses![0]).toMatchObject({ ready: true, restartCount: 0, state: { running: {} } });
});

test('pod-level resources: a container without a limit of its own is OOM-killed at the pod-level limit; one with a lower limit of its own at that', async () => {
  cluster.behave('web:1', 'oom-at:300Mi');
  runPod('unbounded', 'web:1', { resources: { limits: { memory: '256Mi' } } });
  runPod('own', 'web:1', { resources: { limits: { memory: '512Mi' } } }, '200Mi');
  runPod('room', 'web:1', { resources: { limits: { memory: '512Mi' } } });
  await cluster.settle();
  expect(app('unbounded').lastState.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  expect(app('own').lastState.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  expect(app('room')).toMatchObject({ ready: true, restartCount: 0, state: { running: {} } });
});

test('leak: Ready until it reaches its limit at 1 MiB/s, then OOMKilled, again and again, whatever the limit', async () => {
  cluster.behave('leaky', 'leak');
  runPod('small', 'leaky', {}, '64Mi');
  runPod('large', 'leaky', {}, '1Gi');
  await cluster.tick(63);
  expect(app('small')).toMatchObject({ ready: true, restartCount: 0 });
  await cluster.tick(1);
  expect(app('small')).toMatchObject({ restartCount: 1, state: { running: {} }, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } } });
  await cluster.tick(64);
  expect(app('small')).toMatchObject({ restartCount: 1, state: { waiting: { reason: 'CrashLoopBackOff' } } });
  expect(app('large')).toMatchObject({ ready: true, restartCount: 0 });
  await cluster.tick(1024 - 128);
  expect(app('large').lastState.terminated).toMatchObject({ reason: 'OOMKilled' });
});

test('readiness after a delay: Running, not Ready, then Ready with its transition time', async () => {
  cluster.behave('slow', 'healthy:30');
  runPod('p', 'slow');
  await cluster.tick(29);
  expect(pod('p').status!.phase).toBe('Running');
  expect(app('p').ready).toBe(false);
  expect(ready('p').status).toBe('False');
  await cluster.tick(1);
  expect(app('p').ready).toBe(true);
  expect(ready('p')).toMatchObject({ status: 'True', lastTransitionTime: at(0) });
});

test('healthy-then-crash: Ready and serving until it exits after s seconds; the restart decides again', async () => {
  let down = false;
  cluster.behaviour(({ container }) => (container.image !== 'db-client' ? undefined : down ? { run: 'crash', log: 'fatal: primary lost\n' } : 'healthy-then-crash:3600'));
  runPod('p', 'db-client');
  await cluster.tick(3599);
  expect(app('p')).toMatchObject({ ready: true, restartCount: 0, state: { running: { startedAt: at(-3599) } } });
  down = true;
  await cluster.tick(1);
  // The run ended after an hour; the restart (at once, the first one) crashed at start.
  expect(app('p')).toMatchObject({ ready: false, restartCount: 1, state: { waiting: { reason: 'CrashLoopBackOff' } } });
  expect(app('p').lastState.terminated).toMatchObject({ exitCode: 1, reason: 'Error', finishedAt: at(0) });
  expect(() => cluster.behave('x', 'healthy-then-crash')).toThrow(/unknown behaviour/);
});

test('a ConfigMap-caused crash loop: same image, broken config; fixing the ConfigMap fixes it at the next restart', async () => {
  cluster.kube.put(configMap('web-config', { 'app.yaml': 'mode: ok\n' }));
  // The app crashes on a config it cannot parse.
  cluster.behaviour((c) => (c.configMaps['web-config']?.['app.yaml']?.includes('broken') ? { run: 'crash', log: 'error: invalid config: mode\n' } : undefined));
  const d = deployment('web', { image: 'web:1', replicas: 2 });
  d.spec!.template.spec!.volumes = [{ name: 'config', configMap: { name: 'web-config' } }];
  cluster.kube.put(d);
  await cluster.settle();
  expect(cluster.pods(NS).every((p) => p.status!.containerStatuses![0]!.ready)).toBe(true);

  // Edit the ConfigMap, then restart the rollout (kubectl rollout restart).
  cluster.kube.put(configMap('web-config', { 'app.yaml': 'mode: broken\n' }));
  await apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-05-14T09:01:00Z' } } } } } }, smp);
  await cluster.tick(60);
  const newPods = cluster.pods(NS).filter((p) => p.metadata!.annotations?.['kubectl.kubernetes.io/restartedAt']);
  expect(newPods).toHaveLength(1); // maxUnavailable 0 (25% of 2): the rollout is stuck on the first new pod
  expect(newPods[0]!.spec!.containers[0]!.image).toBe('web:1');
  expect(newPods[0]!.status!.containerStatuses![0]!.state!.waiting!.reason).toBe('CrashLoopBackOff');
  expect(await core.readNamespacedPodLog({ name: newPods[0]!.metadata!.name!, namespace: NS, container: 'app', previous: true })).toBe('error: invalid config: mode\n');

  cluster.kube.put(configMap('web-config', { 'app.yaml': 'mode: ok\n' }));
  await cluster.tick(300);
  expect(cluster.pods(NS)).toHaveLength(2);
  expect(cluster.pods(NS).every((p) => p.metadata!.annotations?.['kubectl.kubernetes.io/restartedAt'] && p.status!.containerStatuses![0]!.ready)).toBe(true);
});

test('FAKE_BEHAVIOUR from a ConfigMap key; a missing ConfigMap is a CreateContainerConfigError until it exists', async () => {
  cluster.kube.put(deployment('web', { image: 'web:1', env: { FAKE_BEHAVIOUR: { configMap: 'flags', key: 'behaviour' } } }));
  await cluster.settle();
  const [p] = cluster.pods(NS);
  expect(p!.status!.phase).toBe('Pending');
  expect(p!.status!.containerStatuses![0]).toMatchObject({ ready: false, restartCount: 0, state: { waiting: { reason: 'CreateContainerConfigError', message: 'configmap "flags" not found' } } });

  // No memory limit: the node's 8Gi is what it can use.
  cluster.kube.put(configMap('flags', { behaviour: 'oom-at:16Gi' }));
  await cluster.settle();
  expect(cluster.pods(NS)[0]!.status!.containerStatuses![0]!.lastState!.terminated).toMatchObject({ reason: 'OOMKilled' });
});

test('restartPolicy Never: a crash leaves the pod Failed; an unknown behaviour is a test error', async () => {
  cluster.behave('job', 'crash');
  runPod('p', 'job', { restartPolicy: 'Never' });
  await cluster.tick(60);
  expect(pod('p').status!.phase).toBe('Failed');
  expect(app('p')).toMatchObject({ restartCount: 0, state: { terminated: { exitCode: 1, reason: 'Error' } } });
  expect(() => cluster.behave('x', 'explode')).toThrow('unknown behaviour "explode"');
});
