/**
 * The scheduler binds a pod only where kube-scheduler would for what the fake models: a Ready,
 * uncordoned node matching its nodeSelector, with no NoSchedule or NoExecute taint the pod does not
 * tolerate, whose allocatable memory, less the requests of the pods
 * bound there, fits the pod's request (NodeResourcesFit); a pod no node takes stays Pending,
 * PodScheduled=False, reason Unschedulable.
 */
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { startCluster, type Cluster } from './index.js';
import { deployment } from './objects.js';
import { podMemoryRequest } from './scheduler.js';

const NS = 'default';
const Mi = 1024 * 1024;
let cluster: Cluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const scheduled = (p: V1Pod) => p.status?.conditions?.find((c) => c.type === 'PodScheduled');
const placement = (c: Cluster) => c.pods(NS).map((p) => p.spec!.nodeName ?? `Pending ${scheduled(p)?.reason}`).sort();

describe('podMemoryRequest (PodRequests of k8s.io/component-helpers/resource, as NodeResourcesFit computes it)', () => {
  const c = (memory: string | null, o: { limit?: string; restartPolicy?: string } = {}) => ({
    resources: { ...(memory ? { requests: { memory } } : {}), ...(o.limit ? { limits: { memory: o.limit } } : {}) },
    ...(o.restartPolicy ? { restartPolicy: o.restartPolicy } : {}),
  });

  test("the containers' requests summed; a request unset is the limit (as the API server defaults it), none at all counts 0", () => {
    expect(podMemoryRequest({ containers: [c('100Mi'), c(null, { limit: '200Mi' }), c(null)] })).toBe(300 * Mi);
  });

  test('the largest regular init container when larger (kube-scheduler\'s example: IC 1G, 3G; C 1G, 1G → 3G)', () => {
    expect(podMemoryRequest({ initContainers: [c('1Gi'), c('3Gi')], containers: [c('1Gi'), c('1Gi')] })).toBe(3 * 1024 * Mi);
    expect(podMemoryRequest({ initContainers: [c('1Gi')], containers: [c('1Gi'), c('1Gi')] })).toBe(2 * 1024 * Mi);
  });

  test('sidecars (restartable init containers) add to the sum, and to each regular init container declared after them', () => {
    // sum: 100 + 50 (sidecar) = 150; init after the sidecar: 120 + 50 = 170; the one before it: 160.
    expect(podMemoryRequest({ initContainers: [c('160Mi'), c('50Mi', { restartPolicy: 'Always' }), c('120Mi')], containers: [c('100Mi')] })).toBe(170 * Mi);
    expect(podMemoryRequest({ initContainers: [c('50Mi', { restartPolicy: 'Always' })], containers: [c('100Mi')] })).toBe(150 * Mi);
  });

  test('pod-level requests when set (their limit when only it is), then the overhead', () => {
    expect(podMemoryRequest({ resources: { requests: { memory: '512Mi' } }, containers: [c('100Mi')] })).toBe(512 * Mi);
    expect(podMemoryRequest({ resources: { limits: { memory: '256Mi' } }, containers: [c(null)] })).toBe(256 * Mi);
    expect(podMemoryRequest({ containers: [c('100Mi')], overhead: { memory: '20Mi' } })).toBe(120 * Mi);
  });
});

describe('binding', () => {
  test('a pod is bound only where the allocatable memory less the requests bound there fits it; the one that fits nowhere stays Pending, Unschedulable, until a node has room', async () => {
    cluster = await startCluster({ nodeMemory: '1Gi' });
    // 600Mi each: one a node of 1Gi (two would make 1200Mi).
    cluster.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 4, memory: '600Mi' }));
    await cluster.settle();
    expect(placement(cluster)).toEqual(['Pending Unschedulable', 'node-1', 'node-2', 'node-3']);
    const pending = cluster.pods(NS).find((p) => !p.spec!.nodeName)!;
    expect(pending.status!.phase).toBe('Pending');
    expect(scheduled(pending)).toMatchObject({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient memory.' });
    // Nothing changes by waiting: it is not retried into a node without room.
    await cluster.tick(600);
    expect(placement(cluster)).toEqual(['Pending Unschedulable', 'node-1', 'node-2', 'node-3']);

    cluster.addNode('node-4');
    await cluster.tick(30);
    expect(placement(cluster)).toEqual(['node-1', 'node-2', 'node-3', 'node-4']);
    const bound = cluster.pods(NS).find((p) => p.spec!.nodeName === 'node-4')!;
    expect(scheduled(bound)).toMatchObject({ status: 'True' });
    expect(bound.status!.phase).toBe('Running');
  });

  test('pods that fit together share a node; the fewest pods first', async () => {
    cluster = await startCluster({ nodeMemory: '1Gi', nodes: ['node-1', 'node-2'] });
    cluster.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 4, memory: '500Mi' }));
    await cluster.settle();
    expect(placement(cluster)).toEqual(['node-1', 'node-1', 'node-2', 'node-2']);
  });

  test('a cordoned node, a node not Ready and one without the nodeSelector\'s labels are not bound to, whatever their room', async () => {
    cluster = await startCluster();
    const edit = (name: string, change: (n: V1Node) => void) => {
      const n = cluster!.kube.get<V1Node>('v1', 'Node', undefined, name)!;
      change(n);
      cluster!.kube.put(n);
    };
    edit('node-1', (n) => void (n.spec = { unschedulable: true }));
    edit('node-2', (n) => void (n.status!.conditions = [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady' }]));
    edit('node-3', (n) => void (n.metadata!.labels = { ...n.metadata!.labels, pool: 'batch' }));
    const d = deployment('web', { namespace: NS, image: 'web:1', replicas: 1, memory: '100Mi' });
    d.spec!.template.spec!.nodeSelector = { pool: 'web' };
    cluster.kube.put(d);
    await cluster.settle();
    const [pod] = cluster.pods(NS);
    expect(pod!.spec!.nodeName).toBeUndefined();
    expect(scheduled(pod!)).toMatchObject({
      status: 'False',
      reason: 'Unschedulable',
      message: "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable.",
    });

    edit('node-3', (n) => void (n.metadata!.labels = { ...n.metadata!.labels, pool: 'web' }));
    await cluster.settle();
    expect(placement(cluster)).toEqual(['node-3']);
  });

  test('a NoSchedule or NoExecute taint keeps off the pods that do not tolerate it (PreferNoSchedule only steers); a toleration lets them on', async () => {
    cluster = await startCluster({ nodes: ['node-1', 'node-2'] });
    const taint = (name: string, taints: { key: string; value?: string; effect: string }[]) => {
      const n = cluster!.kube.get<V1Node>('v1', 'Node', undefined, name)!;
      cluster!.kube.put({ ...n, spec: { ...n.spec, taints } });
    };
    taint('node-1', [{ key: 'pool', value: 'gpu', effect: 'NoSchedule' }]);
    taint('node-2', [{ key: 'maintenance', effect: 'NoExecute' }, { key: 'soft', effect: 'PreferNoSchedule' }]);
    cluster.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 1, memory: '100Mi' }));
    await cluster.settle();
    const [pod] = cluster.pods(NS);
    expect(scheduled(pod!)).toMatchObject({ status: 'False', reason: 'Unschedulable', message: '0/2 nodes are available: 1 node(s) had untolerated taint {maintenance: }, 1 node(s) had untolerated taint {pool: gpu}.' });

    const tolerant = deployment('gpu', { namespace: NS, image: 'gpu:1', replicas: 1, memory: '100Mi' });
    tolerant.spec!.template.spec!.tolerations = [{ key: 'pool', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }];
    const any = deployment('any', { namespace: NS, image: 'any:1', replicas: 1, memory: '100Mi' });
    any.spec!.template.spec!.nodeSelector = { 'kubernetes.io/hostname': 'node-2' };
    any.spec!.template.spec!.tolerations = [{ operator: 'Exists' }];
    cluster.kube.put(tolerant);
    cluster.kube.put(any);
    await cluster.settle();
    expect(cluster.pods(NS, { app: 'gpu' }).map((p) => p.spec!.nodeName)).toEqual(['node-1']);
    expect(cluster.pods(NS, { app: 'any' }).map((p) => p.spec!.nodeName)).toEqual(['node-2']);
  });
});
