/** The DaemonSet controller: a pod per node, revisions, a rolling update one node at a time, nodes coming and going. */
import { AppsV1Api, PatchStrategy, setHeaderOptions, type V1ControllerRevision, type V1DaemonSet } from '@kubernetes/client-node';
import { startCluster, type Cluster } from './index.js';
import { daemonSet } from './objects.js';

const NS = 'kube-system';
const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

let cluster: Cluster;

beforeEach(async () => {
  cluster = await startCluster();
});

afterEach(async () => {
  await cluster.close();
});

const ds = () => cluster.kube.get<V1DaemonSet>('apps/v1', 'DaemonSet', NS, 'agent')!;
const byNode = () => Object.fromEntries(cluster.pods(NS).map((p) => [p.spec!.nodeName, p.spec!.containers[0]!.image]));

test('one pod per node; an update replaces one node’s pod at a time; new nodes get one, gone nodes lose theirs', async () => {
  cluster.behave(/^agent:/, 'healthy:5');
  cluster.kube.put(daemonSet('agent', { namespace: NS, image: 'agent:1' }));
  await cluster.tick(5);
  expect(byNode()).toEqual({ 'node-1': 'agent:1', 'node-2': 'agent:1', 'node-3': 'agent:1' });
  const [rev] = cluster.kube.list<V1ControllerRevision>('apps/v1', 'ControllerRevision', NS);
  const hash = rev!.metadata!.labels!['controller-revision-hash'];
  expect(rev!.metadata!.name).toBe(`agent-${hash}`);
  expect(cluster.pods(NS).every((p) => p.metadata!.labels!['controller-revision-hash'] === hash && p.metadata!.labels!['pod-template-generation'] === '1')).toBe(true);
  expect(ds().status).toEqual({
    desiredNumberScheduled: 3,
    currentNumberScheduled: 3,
    numberMisscheduled: 0,
    numberReady: 3,
    numberAvailable: 3,
    updatedNumberScheduled: 3,
    observedGeneration: 1,
  });

  const apps = cluster.kube.kubeConfig().makeApiClient(AppsV1Api);
  await apps.patchNamespacedDaemonSet({ name: 'agent', namespace: NS, body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'agent:2' }] } } } } }, smp);
  await cluster.settle();
  expect(Object.values(byNode()).sort()).toEqual(['agent:1', 'agent:1', 'agent:2']);
  await cluster.tick(5);
  expect(Object.values(byNode()).sort()).toEqual(['agent:1', 'agent:2', 'agent:2']);
  await cluster.tick(5);
  expect(Object.values(byNode())).toEqual(['agent:2', 'agent:2', 'agent:2']);
  expect(cluster.kube.list<V1ControllerRevision>('apps/v1', 'ControllerRevision', NS).map((r) => r.revision).sort()).toEqual([1, 2]);

  cluster.addNode('node-4');
  cluster.removeNode('node-1');
  await cluster.tick(5);
  expect(byNode()).toEqual({ 'node-2': 'agent:2', 'node-3': 'agent:2', 'node-4': 'agent:2' });
  expect(ds().status).toMatchObject({ desiredNumberScheduled: 3, numberReady: 3, updatedNumberScheduled: 3 });
});
