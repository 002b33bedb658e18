import type { V1Container, V1Node, V1Pod, V1Taint } from '@kubernetes/client-node';
import { addPods, daemonSetFit, nodeFit, noRoomMessage, podMemoryRequest, roomOf, tolerates } from './node-fit.js';
import { MiB } from './quantity.js';

const c = (name: string, memory: { request?: string; limit?: string } = {}, restartPolicy?: string): V1Container => ({
  name,
  ...(restartPolicy ? { restartPolicy } : {}),
  resources: { ...(memory.request ? { requests: { memory: memory.request } } : {}), ...(memory.limit ? { limits: { memory: memory.limit } } : {}) },
});

describe('podMemoryRequest: what the scheduler sums', () => {
  test('the containers\' requests; a request left unset is the limit; neither counts 0', () => {
    expect(podMemoryRequest({ containers: [c('a', { request: '100Mi', limit: '200Mi' }), c('b', { limit: '300Mi' }), c('c')] })).toBe(400 * MiB);
  });

  test('sidecars (restartable init containers) run beside the containers and add to them', () => {
    expect(podMemoryRequest({ containers: [c('app', { request: '100Mi' })], initContainers: [c('proxy', { request: '50Mi' }, 'Always')] })).toBe(150 * MiB);
  });

  test('a regular init container runs alone with the sidecars declared before it: its peak counts when larger', () => {
    const spec = {
      containers: [c('app', { request: '100Mi' })],
      initContainers: [c('migrate', { request: '300Mi' }), c('proxy', { request: '50Mi' }, 'Always'), c('warm', { request: '400Mi' })],
    };
    // running: 100 + 50 = 150; migrate alone: 300; warm beside the proxy: 450.
    expect(podMemoryRequest(spec)).toBe(450 * MiB);
    // A small init container does not count over the running sum.
    expect(podMemoryRequest({ ...spec, initContainers: [c('migrate', { request: '10Mi' })] })).toBe(100 * MiB);
  });

  test('overhead comes on top; a pod-level request takes precedence over the containers\'; a pod-level limit alone only when no container states its memory', () => {
    const containers = [c('app', { request: '100Mi' })];
    expect(podMemoryRequest({ containers, overhead: { memory: '20Mi' } })).toBe(120 * MiB);
    expect(podMemoryRequest({ containers, resources: { requests: { memory: '1Gi' } }, overhead: { memory: '20Mi' } })).toBe(1044 * MiB);
    // The API server defaults the pod's request to the containers' sum when any states one (KEP-2837).
    expect(podMemoryRequest({ containers, resources: { limits: { memory: '512Mi' } } })).toBe(100 * MiB);
    expect(podMemoryRequest({ containers: [c('app', { limit: '300Mi' })], resources: { limits: { memory: '2Gi' } } })).toBe(300 * MiB);
    expect(podMemoryRequest({ containers: [c('app', {})], resources: { limits: { memory: '512Mi' } } })).toBe(512 * MiB);
  });

  test('an unreadable quantity counts as unset', () => {
    expect(podMemoryRequest({ containers: [c('a', { request: 'lots', limit: '64Mi' })] })).toBe(64 * MiB);
    expect(podMemoryRequest(undefined)).toBe(0);
  });
});

describe('tolerates: kube\'s ToleratesTaint', () => {
  const taint = { key: 'pool', value: 'gpu', effect: 'NoSchedule' };
  test.each([
    [{ key: 'pool', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }, true],
    [{ key: 'pool', value: 'gpu' }, true], // operator defaults to Equal, effect to any
    [{ key: 'pool', operator: 'Equal', value: 'cpu' }, false],
    [{ key: 'pool', operator: 'Exists' }, true],
    [{ key: 'pool', operator: 'Exists', effect: 'NoExecute' }, false],
    [{ key: 'zone', operator: 'Exists' }, false],
    [{ operator: 'Exists' }, true], // empty key with Exists: every taint
    [{ operator: 'Exists', effect: 'NoExecute' }, false],
    [{ operator: 'Equal', value: 'gpu' }, false],
  ])('%j → %s', (t, want) => {
    expect(tolerates(t, taint)).toBe(want);
  });
});

const node = (name: string, memory: string | undefined, o: Partial<{ ready: boolean; cordoned: boolean; labels: Record<string, string>; taints: V1Taint[] }> = {}): V1Node => ({
  metadata: { name, labels: o.labels ?? {} },
  spec: { unschedulable: o.cordoned ?? false, taints: o.taints ?? [] },
  status: { ...(memory ? { allocatable: { memory } } : {}), conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
});
const pod = (name: string, onNode: string, request: string, o: { owner?: string; phase?: string } = {}): V1Pod => ({
  metadata: { name, ...(o.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.owner, uid: o.owner, controller: true }] } : {}) },
  spec: { nodeName: onNode, containers: [c('app', { request, limit: request })] },
  status: { phase: o.phase ?? 'Running' },
});

describe('nodeFit: some node the pods may go to has room', () => {
  const owners = new Set<string>(['rs-web']);

  test('room is allocatable less the requests of the pods bound there (DaemonSet pods too); finished pods hold none', () => {
    const room = roomOf([node('n1', '1Gi'), node('n2', '1Gi')]);
    addPods(room, [pod('agent-1', 'n1', '300Mi', { owner: 'ds-agent' }), pod('agent-2', 'n2', '300Mi', { owner: 'ds-agent' }), pod('done', 'n2', '900Mi', { phase: 'Succeeded' }), pod('elsewhere', 'n9', '1Gi')]);
    expect(nodeFit(room, { requestBytes: 724 * MiB, owners })).toEqual({ fits: true, node: 'n1' });
    const no = nodeFit(room, { requestBytes: 725 * MiB, owners });
    expect(no).toEqual({ fits: false, requestBytes: 725 * MiB, nodes: 2, excluded: {}, best: { node: 'n1', roomBytes: 724 * MiB } });
    expect(noRoomMessage(no as Extract<typeof no, { fits: false }>)).toBe(
      "no node has room for the new pods' memory request of 725Mi: of 2 node(s), the most room a node it may go to has is 724Mi (n1; one of the workload's own pods there counted as freed)",
    );
  });

  test('one pod of the workload on each node is credited back (the largest of them), not all of them', () => {
    const room = roomOf([node('n1', '1Gi')]);
    addPods(room, [pod('web-a', 'n1', '300Mi', { owner: 'rs-web' }), pod('web-b', 'n1', '400Mi', { owner: 'rs-web' }), pod('other', 'n1', '200Mi', { owner: 'rs-other' })]);
    // 1024 − 900 = 124, + 400 credited = 524.
    expect(nodeFit(room, { requestBytes: 524 * MiB, owners }).fits).toBe(true);
    expect(nodeFit(room, { requestBytes: 525 * MiB, owners }).fits).toBe(false);
    expect(nodeFit(room, { requestBytes: 125 * MiB, owners: new Set() }).fits).toBe(false);
  });

  test('not Ready, cordoned, tainted without a toleration, or not matching the nodeSelector: not a place for the pods, counted by why', () => {
    const room = roomOf([
      node('down', '4Gi', { ready: false }),
      node('cordoned', '4Gi', { cordoned: true }),
      node('gpu', '4Gi', { labels: { pool: 'small' }, taints: [{ key: 'pool', value: 'gpu', effect: 'NoSchedule' }] }),
      node('evicting', '4Gi', { labels: { pool: 'small' }, taints: [{ key: 'maintenance', effect: 'NoExecute' }] }),
      node('big', '4Gi', { labels: { pool: 'big' } }),
      node('small', '1Gi', { labels: { pool: 'small' }, taints: [{ key: 'soft', effect: 'PreferNoSchedule' }] }),
    ]);
    const subject = { requestBytes: 2048 * MiB, owners, nodeSelector: { pool: 'small' } };
    const no = nodeFit(room, subject);
    expect(no).toEqual({
      fits: false,
      requestBytes: 2048 * MiB,
      nodes: 6,
      excluded: { 'not Ready': 1, cordoned: 1, 'tainted, not tolerated': 2, 'not matching its nodeSelector': 1 },
      best: { node: 'small', roomBytes: 1024 * MiB },
    });
    expect(noRoomMessage(no as Extract<typeof no, { fits: false }>)).toContain('of 6 node(s) (1 not Ready, 1 cordoned, 2 tainted, not tolerated, 1 not matching its nodeSelector), the most room a node it may go to has is 1024Mi (small;');
    // Without the selector the big node takes it; a toleration opens the tainted one.
    expect(nodeFit(room, { ...subject, nodeSelector: undefined })).toEqual({ fits: true, node: 'big' });
    expect(nodeFit(room, { ...subject, nodeSelector: undefined, tolerations: [{ key: 'pool', operator: 'Exists' }] })).toEqual({ fits: true, node: 'gpu' });
    // Tolerating everything tolerates a cordon too (kube-scheduler's NodeUnschedulable): the cordoned node comes first.
    expect(nodeFit(room, { ...subject, nodeSelector: {}, tolerations: [{ operator: 'Exists' }] })).toEqual({ fits: true, node: 'cordoned' });
    expect(nodeFit(room, { ...subject, nodeSelector: {}, tolerations: [{ key: 'pool', operator: 'Exists' }, { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] })).toEqual({ fits: true, node: 'cordoned' });
  });

  test("a DaemonSet's new pods must fit on every node its pods run on, each its own pod credited unless it surges, whatever the node's cordon, taints or Ready", () => {
    const ds = new Set(['ds-uid']);
    const pod = (name: string, nodeName: string, owner: string, request: string): V1Pod => ({
      metadata: { name, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: owner, controller: true }] },
      spec: { nodeName, containers: [c('c', { request })] },
    });
    const room = roomOf([node('roomy', '4Gi'), node('full', '1Gi', { cordoned: true }), node('bare', '1Gi')]);
    addPods(room, [pod('a-1', 'roomy', 'ds-uid', '100Mi'), pod('a-2', 'full', 'ds-uid', '100Mi'), pod('other', 'full', 'x', '800Mi'), pod('other-2', 'bare', 'x', '1000Mi')]);
    // full: 1024 − 900 + 100 (its own pod) = 224Mi; bare runs none of its pods and is not asked.
    expect(daemonSetFit(room, { requestBytes: 224 * MiB, owners: ds, surge: false })).toEqual({ fits: true, node: '*' });
    const no = daemonSetFit(room, { requestBytes: 225 * MiB, owners: ds, surge: false });
    expect(no).toEqual({ fits: false, requestBytes: 225 * MiB, pinned: [{ node: 'full', roomBytes: 224 * MiB }], of: 2 });
    expect(noRoomMessage(no as Extract<typeof no, { fits: false }>)).toBe(
      "the DaemonSet's new pods' memory request of 225Mi does not fit on 1 of the 2 node(s) its pods run on, where each must run (full has 224Mi)",
    );
    // A surging rolling update (maxSurge above 0) starts the new pod beside the old one: nothing is freed first.
    expect(daemonSetFit(room, { requestBytes: 125 * MiB, owners: ds, surge: true })).toMatchObject({ fits: false, pinned: [{ node: 'full', roomBytes: 124 * MiB }] });
    // Room that only preempting a lower-priority pod makes is said as such.
    addPods(room, [{ metadata: { name: 'low' }, spec: { nodeName: 'roomy', priority: -1, containers: [c('c', { request: '3900Mi' })] } }]);
    expect(daemonSetFit(room, { requestBytes: 225 * MiB, owners: ds, surge: false, priority: 0 })).toMatchObject({ fits: false }); // full's 224Mi
    // roomy: 196Mi beside the low-priority pod, 4Gi once it is preempted; full: 224Mi.
    expect(daemonSetFit(room, { requestBytes: 210 * MiB, owners: ds, surge: false, priority: 0 })).toEqual({ fits: true, node: '*', preempts: true });
    expect(daemonSetFit(room, { requestBytes: 190 * MiB, owners: ds, surge: false, priority: 0 })).toEqual({ fits: true, node: '*' });
    // Where none of its pods runs yet, nothing to check.
    expect(daemonSetFit(room, { requestBytes: 64 * 1024 * MiB, owners: new Set(['none']), surge: false }).fits).toBe(true);
  });

  test('no eligible node at all: no room, none best; a node without a readable allocatable memory has room for anything', () => {
    const no = nodeFit(roomOf([node('down', '4Gi', { ready: false })]), { requestBytes: MiB, owners });
    expect(no).toMatchObject({ fits: false, best: null });
    expect(noRoomMessage(no as Extract<typeof no, { fits: false }>)).toBe("no node has room for the new pods' memory request of 1Mi: of 1 node(s) (1 not Ready), none is left that its pods may go to");
    expect(nodeFit(roomOf([node('unknown', undefined)]), { requestBytes: 64 * 1024 * MiB, owners })).toEqual({ fits: true, node: 'unknown' });
  });
});

test('pods of a lower priority than the new ones hold no room (the scheduler preempts them); of the same or higher, they do', () => {
  const owners = new Set(['rs']);
  const pod = (name: string, priority: number | undefined, request: string): V1Pod => ({ metadata: { name }, spec: { nodeName: 'n', priority, containers: [c('c', { request })] } });
  const room = roomOf([node('n', '1Gi')]);
  addPods(room, [pod('batch', -10, '600Mi'), pod('web', 0, '300Mi'), pod('critical', 2_000_000_000, '100Mi')]);
  expect(nodeFit(room, { requestBytes: 200 * MiB, owners }).fits).toBe(false); // every pod holds: 24Mi free
  expect(nodeFit(room, { requestBytes: 600 * MiB, owners, priority: 0 })).toEqual({ fits: true, node: 'n', preempts: true }); // the batch pod preempted: 624Mi
  expect(nodeFit(room, { requestBytes: 20 * MiB, owners, priority: 0 })).toEqual({ fits: true, node: 'n' }); // room without preempting anyone
  expect(nodeFit(room, { requestBytes: 625 * MiB, owners, priority: 0 }).fits).toBe(false);
  expect(nodeFit(room, { requestBytes: 900 * MiB, owners, priority: 1_000_000 }).fits).toBe(true); // only the critical pod holds
});
