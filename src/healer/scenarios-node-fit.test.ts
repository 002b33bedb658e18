/**
 * Scenarios of --heal-node-fit on the simulated cluster: a memory raise that raises the pods'
 * request, checked against the nodes' room (node-fit.ts, node-room.ts) before it is patched. The
 * fake scheduler binds pods as kube-scheduler would for memory, nodeSelector, taints and cordons,
 * so what the check foresees is what the rollout then meets: `refuse` keeps a workload its pods
 * where no node can hold the raised ones, `warn` raises and says the rollout stays a pod short,
 * `off` is as before. The room counts every pod on a node (DaemonSets' too), only the nodes the
 * pods may go to, and one of the workload's own pods on each as freed; a read that fails leaves
 * the raise unchecked, never held back.
 */
import type { V1Container, V1DaemonSet, V1Deployment, V1Node, V1Pod } from '@kubernetes/client-node';
import { daemonSet, deployment } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS, type Replica, reportSummary as summary, podReady as ready } from '../test-support/healer-world.js';
import type { NodeFitMode } from './node-fit.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const memory = (c: V1Container | undefined) => `${c?.resources?.limits?.memory}/${c?.resources?.requests?.memory}`;
const cache = () => w.pods({ app: 'cache' });
const template = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'cache');
const unschedulable = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable') === true;
const view = () => cache().map((p) => `${memory(p.spec!.containers[0])} ${ready(p)} ${unschedulable(p)}`).sort();
/** The healer's reads of the nodes' room: its node lists and its pod lists of all namespaces. */
const roomReads = () => w.kube.requests.filter((q) => q.method === 'GET' && (q.path === '/api/v1/nodes' || (q.path === '/api/v1/pods' && q.query.watch !== 'true'))).map((q) => q.path);

/** The first cache:1 container the kubelet starts leaks until its limit kills it: one OOM kill. */
function oneLeak(world: HealerWorld): void {
  let leaked = false;
  world.cluster.behaviour((c) => (c.container.image !== 'cache:1' || leaked ? undefined : ((leaked = true), 'leak')));
}

function editNode(name: string, change: (n: V1Node) => void): void {
  const n = w.kube.get<V1Node>('v1', 'Node', undefined, name)!;
  change(n);
  w.kube.put(n);
}

async function firstReport(nodeFit: NodeFitMode): Promise<Replica> {
  const a = await w.start({ name: 'a', nodeFit });
  expect(await w.advance(3600, { until: () => a.healer.reports.length > 0 })).toBe(true);
  return a;
}

describe('five nodes of 1Gi, four Guaranteed pods of 900Mi OOM-killed once: the raise to 1080Mi fits no node', () => {
  async function fiveNodes(): Promise<void> {
    w = await healerWorld({ marks: false, nodes: ['node-1', 'node-2', 'node-3', 'node-4', 'node-5'], nodeMemory: '1Gi' });
    oneLeak(w);
    w.kube.put(deployment('cache', { namespace: NS, image: 'cache:1', replicas: 4, memory: '900Mi', annotations: HEAL }));
    await w.quiet();
    expect(cache().filter(ready)).toHaveLength(4);
  }
  const NO_ROOM =
    "no node has room for the new pods' memory request of 1080Mi: of 5 node(s), the most room a node it may go to has is 1024Mi (node-1; one of the workload's own pods there counted as freed)";

  test('refuse: nothing patched, the report names the nodes\' room, the workload keeps its four pods', async () => {
    await fiveNodes();
    const a = await firstReport('refuse');
    expect(summary(w)).toEqual(['Deployment/cache oom-bump/refused/no-node-room']);
    expect(a.healer.reports[0]!.message).toBe(
      `memory limit of app: ${NO_ROOM}: the rollout's new pods would stay Unschedulable and the workload a pod short; not raised (--heal-node-fit refuse: with a node autoscaler, use warn or off)`,
    );
    expect(a.notes[0]).toMatchObject({ severity: 'warning', result: 'refused', fields: { reason: 'no-node-room' } });
    expect(roomReads()).toEqual(['/api/v1/nodes', '/api/v1/pods']);
    await w.advance(60 * 60);
    expect(w.patches('deployments/cache')).toEqual([]);
    expect(view()).toEqual(Array(4).fill('900Mi/900Mi true false'));
    expect(template().status).toMatchObject({ availableReplicas: 4 });
  });

  test('warn: raised, and the report says plainly that no node has room and the rollout stays a pod short (a warning Event and notice); the rollout then is', async () => {
    await fiveNodes();
    const a = await firstReport('warn');
    expect(summary(w)).toEqual(['Deployment/cache oom-bump/applied/raised']);
    expect(a.healer.reports[0]!.message).toBe(
      `raised the memory limit of app: 900Mi → 1080Mi (request → 1080Mi); warning: ${NO_ROOM}: the rollout's new pods stay Unschedulable and the workload a pod short unless a node is added (--heal-node-fit warn)`,
    );
    expect(a.notes[0]).toMatchObject({ severity: 'warning', result: 'applied' });
    expect(w.events().filter((e) => e.reason === 'MemoryLimitRaised').map((e) => e.type)).toEqual(['Warning']);
    expect(a.lines.some((l) => l.level === 'warn' && l.msg.startsWith('heal oom-bump applied: raised'))).toBe(true);
    await w.advance(60 * 60);
    expect(view()).toEqual(['1080Mi/1080Mi false true', '1080Mi/1080Mi false true', '900Mi/900Mi true false', '900Mi/900Mi true false', '900Mi/900Mi true false']);
    expect(template().status).toMatchObject({ availableReplicas: 3 });
  });

  test('off (the default): raised as before, the nodes never listed', async () => {
    await fiveNodes();
    const a = await firstReport('off');
    expect(a.healer.reports.map((r) => r.message)).toEqual(['raised the memory limit of app: 900Mi → 1080Mi (request → 1080Mi)']);
    expect(a.notes[0]).toMatchObject({ severity: 'info' });
    expect(roomReads()).toEqual([]);
  });

  test('the nodes cannot be listed (403: RBAC without nodes): unchecked, the raise is made even under refuse, the report says so and the log warns once', async () => {
    await fiveNodes();
    w.kube.failNext({ method: 'GET', path: '/api/v1/nodes' }, 403);
    const a = await firstReport('refuse');
    expect(summary(w)).toEqual(['Deployment/cache oom-bump/applied/raised']);
    expect(a.healer.reports[0]!.message).toMatch(/^raised the memory limit of app: 900Mi → 1080Mi \(request → 1080Mi\); the nodes' room could not be checked \(HTTP 403: .*\): raised without it$/);
    const warned = a.lines.filter((l) => l.msg.startsWith("could not read the nodes' room"));
    expect(warned).toEqual([expect.objectContaining({ level: 'warn', workload: 'Deployment/cache', namespace: NS, error: expect.stringMatching(/^HTTP 403/) })]);
    expect(warned[0]!.msg).toContain('grant "list" on nodes, and on pods in all namespaces');
    expect(w.patches('deployments/cache').map((p) => p.status)).toEqual([200]);
  });

  test('a list that fails otherwise (500) is unchecked too; a burst of kills within the cache\'s 30 s reads once, and a failed read is not asked again for each', async () => {
    w = await healerWorld({ marks: false, nodes: ['node-1', 'node-2', 'node-3'], nodeMemory: '1Gi' });
    // Two workloads killed at once: one read of the room serves both raises.
    w.cluster.behave('cache:1', 'oom-at:150Mi');
    w.cluster.behave('queue:1', 'oom-at:150Mi');
    w.kube.put(deployment('cache', { namespace: NS, image: 'cache:1', replicas: 1, memory: '100Mi', annotations: HEAL }));
    w.kube.put(deployment('queue', { namespace: NS, image: 'queue:1', replicas: 1, memory: '100Mi', annotations: HEAL }));
    w.kube.failNext({ method: 'GET', path: '/api/v1/nodes' }, 500);
    const a = await w.start({ name: 'a', nodeFit: 'refuse' });
    expect(await w.advance(600, { until: () => a.healer.reports.length >= 2 })).toBe(true);
    expect(summary(w).sort()).toEqual(['Deployment/cache oom-bump/applied/raised', 'Deployment/queue oom-bump/applied/raised']);
    for (const r of a.healer.reports) expect(r.message).toMatch(/the nodes' room could not be checked \(HTTP 500: .*\): raised without it$/);
    expect(roomReads()).toEqual(['/api/v1/nodes']);
    expect(a.lines.filter((l) => l.msg.startsWith("could not read the nodes' room"))).toHaveLength(1);
  });
});

describe('the room of a node counts every pod bound there, DaemonSets\' too', () => {
  /** Three nodes of 1Gi, Deployment cache (2 × 700Mi, Guaranteed) on two of them; with `agent`, a DaemonSet pod of 300Mi on each node. */
  async function world(agent: boolean): Promise<Replica> {
    w = await healerWorld({ marks: false, nodes: ['node-1', 'node-2', 'node-3'], nodeMemory: '1Gi' });
    oneLeak(w);
    if (agent) w.kube.put<V1DaemonSet>(daemonSet('agent', { namespace: NS, image: 'agent:1', memory: '300Mi' }));
    await w.quiet();
    w.kube.put(deployment('cache', { namespace: NS, image: 'cache:1', replicas: 2, memory: '700Mi', annotations: HEAL }));
    await w.quiet();
    expect(cache().filter(ready)).toHaveLength(2);
    return firstReport('refuse');
  }

  test('a DaemonSet pod on each node: 700Mi → 840Mi fits none (724Mi at most, the empty node\'s less the agent): refused, and the Deployment keeps its pods', async () => {
    const a = await world(true);
    expect(summary(w)).toEqual(['Deployment/cache oom-bump/refused/no-node-room']);
    expect(a.healer.reports[0]!.message).toContain("no node has room for the new pods' memory request of 840Mi: of 3 node(s), the most room a node it may go to has is 724Mi");
    await w.advance(30 * 60);
    expect(view()).toEqual(Array(2).fill('700Mi/700Mi true false'));
  });

  test('without it the empty node has 1024Mi: raised, and the rollout completes', async () => {
    const a = await world(false);
    expect(a.healer.reports.map((r) => `${r.result} ${r.message}`)).toEqual(['applied raised the memory limit of app: 700Mi → 840Mi (request → 840Mi)']);
    await w.advance(30 * 60);
    expect(view()).toEqual(Array(2).fill('840Mi/840Mi true false'));
  });
});

describe('only the nodes the new pods may go to count', () => {
  /**
   * Three nodes of 1Gi, node-3 given 4Gi and changed by `node3` first; Deployment cache (2 × 900Mi,
   * Guaranteed, `spec` changing its template) on node-1 and node-2: the raise to 1080Mi fits node-3 alone.
   */
  async function world(node3: (n: V1Node) => void, spec: (d: V1Deployment) => void = () => {}): Promise<Replica> {
    w = await healerWorld({ marks: false, nodes: ['node-1', 'node-2', 'node-3'], nodeMemory: '1Gi' });
    oneLeak(w);
    for (const name of ['node-1', 'node-2']) editNode(name, (n) => void (n.metadata!.labels = { ...n.metadata!.labels, pool: 'small' }));
    editNode('node-3', (n) => {
      n.status!.allocatable = { ...n.status!.allocatable, memory: '4Gi' };
      n.metadata!.labels = { ...n.metadata!.labels, pool: 'big' };
      node3(n);
    });
    const d = deployment('cache', { namespace: NS, image: 'cache:1', replicas: 2, memory: '900Mi', annotations: HEAL });
    spec(d);
    w.kube.put(d);
    await w.quiet();
    expect(cache().map((p) => `${p.spec!.nodeName} ${ready(p)}`).sort()).toEqual(['node-1 true', 'node-2 true']);
    return firstReport('refuse');
  }
  const tainted = (n: V1Node) => void (n.spec = { ...n.spec, taints: [{ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }] });

  test.each<[string, (n: V1Node) => void, (d: V1Deployment) => void, string]>([
    ['tainted (NoSchedule), not tolerated', tainted, () => {}, '1 tainted, not tolerated'],
    ['cordoned', (n) => void (n.spec = { ...n.spec, unschedulable: true }), () => {}, '1 cordoned'],
    ['not Ready', (n) => void (n.status!.conditions = [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady' }]), () => {}, '1 not Ready'],
    ['outside the template\'s nodeSelector', () => {}, (d) => void (d.spec!.template.spec!.nodeSelector = { pool: 'small' }), '1 not matching its nodeSelector'],
  ])('the only roomy node %s: refused, nothing patched', async (_what, node3, spec, excluded) => {
    const a = await world(node3, spec);
    expect(summary(w)).toEqual(['Deployment/cache oom-bump/refused/no-node-room']);
    expect(a.healer.reports[0]!.message).toContain(`memory request of 1080Mi: of 3 node(s) (${excluded}), the most room a node it may go to has is 1024Mi (node-1;`);
    await w.advance(30 * 60);
    expect(w.patches('deployments/cache')).toEqual([]);
    expect(view()).toEqual(Array(2).fill('900Mi/900Mi true false'));
  });

  test('the taint tolerated by the template: the roomy node counts, raised, and the rollout puts the new pods there', async () => {
    const a = await world(tainted, (d) => void (d.spec!.template.spec!.tolerations = [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }]));
    expect(summary(w)).toEqual(['Deployment/cache oom-bump/applied/raised']);
    expect(a.healer.reports[0]!.message).toBe('raised the memory limit of app: 900Mi → 1080Mi (request → 1080Mi)');
    await w.advance(30 * 60);
    expect(cache().map((p) => `${memory(p.spec!.containers[0])} ${p.spec!.nodeName} ${ready(p)}`)).toEqual(Array(2).fill('1080Mi/1080Mi node-3 true'));
  });
});

describe('one of the workload\'s own pods on a node is counted as freed (a rolling replacement frees it)', () => {
  test('four nodes of 1Gi, a DaemonSet pod of 400Mi and a cache pod of 500Mi on each: 124Mi free, 624Mi with the cache pod freed: the raise to 600Mi is made, and the rollout completes', async () => {
    w = await healerWorld({ marks: false, nodes: ['node-1', 'node-2', 'node-3', 'node-4'], nodeMemory: '1Gi' });
    oneLeak(w);
    w.kube.put<V1DaemonSet>(daemonSet('agent', { namespace: NS, image: 'agent:1', memory: '400Mi' }));
    await w.quiet();
    w.kube.put(deployment('cache', { namespace: NS, image: 'cache:1', replicas: 4, memory: '500Mi', annotations: HEAL }));
    await w.quiet();
    expect(cache().map((p) => p.spec!.nodeName).sort()).toEqual(['node-1', 'node-2', 'node-3', 'node-4']);
    const a = await firstReport('refuse');
    expect(a.healer.reports.map((r) => `${r.result} ${r.message}`)).toEqual(['applied raised the memory limit of app: 500Mi → 600Mi (request → 600Mi)']);
    expect(roomReads()).toEqual(['/api/v1/nodes', '/api/v1/pods']);
    // maxUnavailable 1 (25% of 4): an old pod goes, and a new one takes its room, node by node.
    await w.advance(30 * 60);
    expect(view()).toEqual(Array(4).fill('600Mi/600Mi true false'));
    expect(template().status).toMatchObject({ availableReplicas: 4, updatedReplicas: 4 });
  });
});

describe('only raises that raise the pods\' request are checked', () => {
  test('a request below the limit stays where it is: no check, no list, raised under refuse though no node could hold the new limit as a request', async () => {
    w = await healerWorld({ marks: false, nodes: ['node-1'], nodeMemory: '1Gi' });
    oneLeak(w);
    const d = deployment('cache', { namespace: NS, image: 'cache:1', replicas: 1, memory: '900Mi', annotations: HEAL });
    d.spec!.template.spec!.containers[0]!.resources!.requests = { memory: '300Mi' };
    w.kube.put(d);
    await w.quiet();
    const a = await firstReport('refuse');
    expect(a.healer.reports.map((r) => `${r.result} ${r.message}`)).toEqual(['applied raised the memory limit of app: 900Mi → 1080Mi']);
    expect(roomReads()).toEqual([]);
  });

  test('a request left unset follows the limit: checked, and refused where no node has room', async () => {
    w = await healerWorld({ marks: false, nodes: ['node-1'], nodeMemory: '1Gi' });
    oneLeak(w);
    const d = deployment('cache', { namespace: NS, image: 'cache:1', replicas: 1, memory: '900Mi', annotations: HEAL });
    delete d.spec!.template.spec!.containers[0]!.resources!.requests;
    w.kube.put(d);
    await w.quiet();
    const a = await firstReport('refuse');
    expect(summary(w)).toEqual(['Deployment/cache oom-bump/refused/no-node-room']);
    expect(a.healer.reports[0]!.message).toContain("no node has room for the new pods' memory request of 1080Mi: of 1 node(s), the most room a node it may go to has is 1024Mi (node-1;");
  });
});

describe('review of the first build: what the check must not hold back, and what it must see', () => {
  /** Deployment `api` (its app at `app`, request = limit, killed at `appOom`; a proxy of 64Mi asking `proxyRequest`, killed at `proxyOom`) on two nodes of `nodeMemory`. */
  async function appAndProxy(o: { nodeMemory: string; replicas: number; app: string; appOom: string; proxyRequest: string; proxyOom: string }): Promise<void> {
    w = await healerWorld({ marks: false, nodes: ['node-1', 'node-2'], nodeMemory: o.nodeMemory });
    w.cluster.behave('api:1', `oom-at:${o.appOom}`);
    w.cluster.behave('proxy:1', `oom-at:${o.proxyOom}`);
    const d = deployment('api', { namespace: NS, image: 'api:1', replicas: o.replicas, memory: o.app, annotations: HEAL });
    d.spec!.template.spec!.containers.push({ name: 'proxy', image: 'proxy:1', resources: { limits: { memory: '64Mi' }, requests: { memory: o.proxyRequest } } });
    w.kube.put(d);
  }
  const apiContainers = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'api').spec!.template.spec!.containers.map(memory);

  test('app and proxy killed together, the app\'s raise fits no node: the proxy (its request below its limit: no scheduling change) is still raised, the app named as not raised', async () => {
    await appAndProxy({ nodeMemory: '1Gi', replicas: 2, app: '900Mi', appOom: '1000Mi', proxyRequest: '32Mi', proxyOom: '100Mi' });
    const a = await w.start({ name: 'a', nodeFit: 'refuse' });
    expect(await w.advance(3600, { until: () => a.healer.reports.some((r) => r.result === 'applied') })).toBe(true);
    expect(apiContainers()).toEqual(['900Mi/900Mi', '164Mi/32Mi']);
    const applied = a.healer.reports.find((r) => r.result === 'applied')!;
    expect(applied.message).toMatch(/^raised the memory limit of proxy: 64Mi → 164Mi; not raised: memory limit of app: no node has room for the new pods' memory request of 1112Mi: /);
    expect(w.patches('deployments/api').map((p) => p.status)).toEqual([200]);
  });

  test("Guaranteed app and proxy (request = limit) killed together, the proxy's raise fits alone and the app's does not: the proxy is raised, the app named", async () => {
    // The pod: 850 + 64 = 914Mi. The app raised: 1020 + 64 = 1084Mi, no node; the proxy raised: 850 + 164 = 1014Mi, fits.
    await appAndProxy({ nodeMemory: '1Gi', replicas: 1, app: '850Mi', appOom: '1100Mi', proxyRequest: '64Mi', proxyOom: '100Mi' });
    const a = await w.start({ name: 'a', nodeFit: 'refuse' });
    expect(await w.advance(3600, { until: () => a.healer.reports.some((r) => r.result === 'applied') })).toBe(true);
    expect(apiContainers()).toEqual(['850Mi/850Mi', '164Mi/164Mi']);
    expect(a.healer.reports.find((r) => r.result === 'applied')!.message).toMatch(/^raised the memory limit of proxy: 64Mi → 164Mi \(request → 164Mi\); not raised: memory limit of app: no node has room for the new pods' memory request of 1084Mi/);
  });

  test("a raise left out for the nodes' room does not shrink the others': under a LimitRange Pod max, the proxy is raised by its whole step", async () => {
    // Nodes of 960Mi: the pod (850 + 32 = 882Mi) fits; the app raised to 1020Mi (1052Mi with the proxy's request) does not, nor later to what the Pod max leaves it (936Mi, 968Mi).
    await appAndProxy({ nodeMemory: '960Mi', replicas: 1, app: '850Mi', appOom: '1100Mi', proxyRequest: '32Mi', proxyOom: '150Mi' });
    w.kube.put({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'pod-max', namespace: NS }, spec: { limits: [{ type: 'Pod', max: { memory: '1100Mi' } }] } });
    // Both killed before the healer starts: its first look decides the app's kill (the pod's first container) with the proxy's beside it.
    expect(await w.advance(1800, { until: () => w.pods({ app: 'api' }).some((p) => (p.status?.containerStatuses ?? []).every((c) => c.lastState?.terminated?.reason === 'OOMKilled')) })).toBe(true);
    const a = await w.start({ name: 'a', nodeFit: 'refuse' });
    expect(await w.advance(3600, { until: () => a.healer.reports.some((r) => r.result === 'applied') })).toBe(true);
    // The app left out: the Pod max leaves 1100 − 850 = 250Mi for the proxy, room for its 100Mi step
    // (counting the app's refused raise, 1100 − 1020 = 80Mi: the proxy clamped to 80Mi, and killed again).
    expect(apiContainers()).toEqual(['850Mi/850Mi', '164Mi/32Mi']);
    expect(a.healer.reports.find((r) => r.result === 'applied')!.message).toMatch(/^raised the memory limit of proxy: 64Mi → 164Mi; not raised: memory limit of app: no node has room/);
  });

  test("a DaemonSet's raise must fit on every node its pods run on: one node full (its pod credited) refuses it under refuse — its pod there would be deleted and its replacement stay Pending", async () => {
    w = await healerWorld({ marks: false, nodes: ['node-1', 'node-2'], nodeMemory: '1Gi' });
    let leaked = false;
    w.cluster.behaviour((c) => (c.container.image !== 'agent:1' || leaked ? undefined : ((leaked = true), 'leak')));
    w.kube.put<V1DaemonSet>(daemonSet('agent', { namespace: NS, image: 'agent:1', memory: '100Mi', annotations: HEAL }));
    // node-2 filled by another workload: 1024 − 900 − 100 (the agent) = 24Mi, 124Mi with the agent's pod freed.
    const filler = deployment('filler', { namespace: NS, image: 'filler:1', replicas: 1, memory: '900Mi' });
    filler.spec!.template.spec!.nodeSelector = { 'kubernetes.io/hostname': 'node-2' };
    w.kube.put(filler);
    await w.quiet();
    const a = await firstReport('refuse');
    expect(summary(w)).toEqual(['DaemonSet/agent oom-bump/refused/no-node-room']);
    expect(a.healer.reports[0]!.message).toContain("the DaemonSet's new pods' memory request of 200Mi does not fit on 1 of the 2 node(s) its pods run on, where each must run (node-2 has 124Mi");
    expect(w.patches('daemonsets/agent')).toEqual([]);
  });

  test('tolerations a webhook (or a RuntimeClass) adds to the pods count: the only roomy node, tainted for them, takes the raised pods', async () => {
    w = await healerWorld({ marks: false, nodes: ['node-1', 'node-2'], nodeMemory: '1Gi' });
    oneLeak(w);
    editNode('node-2', (n) => {
      n.status!.allocatable = { ...n.status!.allocatable, memory: '4Gi' };
      n.spec = { ...n.spec, taints: [{ key: 'sandbox.gke.io/runtime', value: 'gvisor', effect: 'NoSchedule' }] };
    });
    // As GKE Sandbox's RuntimeClass does at admission: the pods carry a toleration their template lacks.
    w.kube.mutateOnCreate('v1', 'Pod', (p) => {
      const pod = p as V1Pod;
      pod.spec!.tolerations = [...(pod.spec!.tolerations ?? []), { key: 'sandbox.gke.io/runtime', operator: 'Equal', value: 'gvisor', effect: 'NoSchedule' }];
    });
    w.kube.put(deployment('cache', { namespace: NS, image: 'cache:1', replicas: 1, memory: '900Mi', annotations: HEAL }));
    await w.quiet();
    const a = await firstReport('refuse');
    expect(a.healer.reports.map((r) => `${r.result} ${r.message}`)).toEqual(['applied raised the memory limit of app: 900Mi → 1080Mi (request → 1080Mi)']);
    await w.advance(30 * 60);
    expect(cache().map((p) => `${memory(p.spec!.containers[0])} ${p.spec!.nodeName} ${ready(p)}`)).toEqual(['1080Mi/1080Mi node-2 true']);
  });
});

describe("a VPA that sets the container's request (RequestsOnly) caps its target at the container's limit: the raise is checked against what the pods will ask", () => {
  /** One node of 1Gi, cache (900Mi, request = limit) OOM-killed once, a RequestsOnly VPA on it recommending `target` (none: no recommendation yet). The fake cluster has no VPA admission: only the healer's decision is looked at. */
  async function world(target: string | undefined): Promise<Replica> {
    const VPA_TYPE = { group: 'autoscaling.k8s.io', version: 'v1', kind: 'VerticalPodAutoscaler', plural: 'verticalpodautoscalers', namespaced: true };
    w = await healerWorld({ marks: false, nodes: ['node-1'], nodeMemory: '1Gi', fake: { resources: [VPA_TYPE] } });
    oneLeak(w);
    w.kube.put({
      apiVersion: 'autoscaling.k8s.io/v1',
      kind: 'VerticalPodAutoscaler',
      metadata: { name: 'cache', namespace: NS },
      spec: { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'cache' }, resourcePolicy: { containerPolicies: [{ containerName: '*', controlledValues: 'RequestsOnly' }] } },
      ...(target ? { status: { recommendation: { containerRecommendations: [{ containerName: 'app', target: { memory: target } }] } } } : {}),
    });
    w.kube.put(deployment('cache', { namespace: NS, image: 'cache:1', replicas: 1, memory: '900Mi', annotations: HEAL }));
    await w.quiet();
    return firstReport('refuse');
  }

  test('its target (300Mi) below the old limit: the pods ask 300Mi before and after, so nothing to check — no read, raised under refuse', async () => {
    const a = await world('300Mi');
    expect(a.healer.reports.map((r) => `${r.result} ${r.message}`)).toEqual(['applied raised the memory limit of app: 900Mi → 1080Mi (request → 1080Mi)']);
    expect(roomReads()).toEqual([]);
  });

  test('its target above the old limit (after the OOM kill, 2Gi), or no recommendation yet: the pods will ask the new limit, checked and refused where no node has room', async () => {
    for (const target of ['2Gi', undefined]) {
      const a = await world(target);
      expect(summary(w)).toEqual(['Deployment/cache oom-bump/refused/no-node-room']);
      expect(a.healer.reports[0]!.message).toContain("no node has room for the new pods' memory request of 1080Mi");
      await w.close();
    }
  });
});

describe('third review: the template decides where the new pods go, what a VPA sets counts, every container left out is said', () => {
  test("the template's nodeSelector, not the failed pod's: a paused Deployment moved from pool a to pool b is raised where pool b has room", async () => {
    w = await healerWorld({ marks: false, nodes: ['node-1', 'node-2'], nodeMemory: '1Gi' });
    oneLeak(w);
    editNode('node-1', (n) => void (n.metadata!.labels = { ...n.metadata!.labels, pool: 'a' }));
    editNode('node-2', (n) => {
      n.status!.allocatable = { ...n.status!.allocatable, memory: '4Gi' };
      n.metadata!.labels = { ...n.metadata!.labels, pool: 'b' };
    });
    const d = deployment('cache', { namespace: NS, image: 'cache:1', replicas: 1, memory: '900Mi', annotations: HEAL });
    d.spec!.template.spec!.nodeSelector = { pool: 'a' };
    w.kube.put(d);
    await w.quiet();
    // Paused, then moved to pool b: its pods stay on pool a until it is resumed.
    const moved = template();
    moved.spec!.paused = true;
    moved.spec!.template.spec!.nodeSelector = { pool: 'b' };
    w.kube.put(moved);
    await w.quiet();
    expect(cache().map((p) => `${p.spec!.nodeName} ${p.spec!.nodeSelector?.pool}`)).toEqual(['node-1 a']);
    await firstReport('refuse');
    expect(summary(w)).toEqual(['Deployment/cache oom-bump/applied/raised']);
  });

  test("a VPA setting the proxy's requests and limits (its target 50Mi, the template 200Mi): the pods ask its target, and the app's raise fits", async () => {
    const VPA_TYPE = { group: 'autoscaling.k8s.io', version: 'v1', kind: 'VerticalPodAutoscaler', plural: 'verticalpodautoscalers', namespaced: true };
    w = await healerWorld({ marks: false, nodes: ['node-1'], nodeMemory: '1Gi', fake: { resources: [VPA_TYPE] } });
    w.cluster.behave('api:1', 'oom-at:900Mi');
    w.kube.put({
      apiVersion: 'autoscaling.k8s.io/v1',
      kind: 'VerticalPodAutoscaler',
      metadata: { name: 'api', namespace: NS },
      spec: { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, resourcePolicy: { containerPolicies: [{ containerName: 'app', mode: 'Off' }, { containerName: 'proxy' }] } },
      status: { recommendation: { containerRecommendations: [{ containerName: 'proxy', target: { memory: '50Mi' } }] } },
    });
    // VPA's admission, as it sets the proxy's resources (request = target, limit in proportion).
    w.kube.mutateOnCreate('v1', 'Pod', (p) => {
      for (const c of (p as V1Pod).spec!.containers) if (c.name === 'proxy') c.resources = { limits: { memory: '50Mi' }, requests: { memory: '50Mi' } };
    });
    const d = deployment('api', { namespace: NS, image: 'api:1', replicas: 1, memory: '800Mi', annotations: HEAL });
    d.spec!.template.spec!.containers.push({ name: 'proxy', image: 'proxy:1', resources: { limits: { memory: '200Mi' }, requests: { memory: '200Mi' } } });
    w.kube.put(d);
    await w.quiet();
    const a = await firstReport('refuse');
    // 960 + 50 = 1010Mi of a 1024Mi node (960 + 200 = 1160Mi, counting the template's proxy).
    expect(a.healer.reports.map((r) => `${r.result} ${r.message}`)).toEqual(['applied raised the memory limit of app: 800Mi → 960Mi (request → 960Mi)']);
  });

  test('app and proxy killed together and neither fits: the refusal names both', async () => {
    w = await healerWorld({ marks: false, nodes: ['node-1'], nodeMemory: '1Gi' });
    w.cluster.behave('api:1', 'oom-at:1100Mi');
    w.cluster.behave('proxy:1', 'oom-at:400Mi');
    const d = deployment('api', { namespace: NS, image: 'api:1', replicas: 1, memory: '850Mi', annotations: HEAL });
    d.spec!.template.spec!.containers.push({ name: 'proxy', image: 'proxy:1', resources: { limits: { memory: '150Mi' }, requests: { memory: '150Mi' } } });
    w.kube.put(d);
    expect(await w.advance(1800, { until: () => w.pods({ app: 'api' }).some((p) => (p.status?.containerStatuses ?? []).every((c) => c.lastState?.terminated?.reason === 'OOMKilled')) })).toBe(true);
    const a = await firstReport('refuse');
    expect(summary(w)).toEqual(['Deployment/api oom-bump/refused/no-node-room']);
    // One message, the shared ending said once: "memory limit of app: …; and memory limit of proxy: …: the rollout's new pods would stay Unschedulable …".
    expect(a.healer.reports[0]!.message).toMatch(/^memory limit of (app|proxy): no node has room .*; and memory limit of (proxy|app): no node has room .*: the rollout's new pods would stay Unschedulable and the workload a pod short; not raised \(--heal-node-fit refuse: with a node autoscaler, use warn or off\)$/);
    expect(a.healer.reports[0]!.message.match(/not raised \(--heal-node-fit refuse/g)).toHaveLength(1);
    expect(w.patches('deployments/api')).toEqual([]);
  });

  test('a template naming another priority class than the failed pod\'s: its value is not read, so any pod may be preempted for all the check knows — raised, said as preempting', async () => {
    w = await healerWorld({ marks: false, nodes: ['node-1'], nodeMemory: '1Gi' });
    oneLeak(w);
    const batch = deployment('batch', { namespace: NS, image: 'batch:1', replicas: 1, memory: '200Mi' });
    batch.spec!.template.spec!.priority = 500;
    w.kube.put(batch);
    await w.quiet();
    w.kube.put(deployment('cache', { namespace: NS, image: 'cache:1', replicas: 1, memory: '800Mi', annotations: HEAL }));
    await w.quiet();
    // Paused, then given a higher class (the fake cluster resolves no class: the value is set beside it).
    const moved = template();
    moved.spec!.paused = true;
    moved.spec!.template.spec!.priorityClassName = 'high';
    moved.spec!.template.spec!.priority = 1000;
    w.kube.put(moved);
    await w.quiet();
    const a = await firstReport('refuse');
    // 960Mi: 24Mi free beside the batch pod (824Mi with the cache pod freed): fits only by preempting the batch pod.
    expect(a.healer.reports.map((r) => r.result)).toEqual(['applied']);
    expect(a.healer.reports[0]!.message).toMatch(/^raised the memory limit of app: 800Mi → 960Mi \(request → 960Mi\); the new pods fit only by preempting lower-priority pods \(on node-1, say\); the Deployment is paused/);
  });

  test("the app left to its VPA and the proxy refused for the nodes' room, killed together: each refusal is said once, in its own container's report", async () => {
    const VPA_TYPE = { group: 'autoscaling.k8s.io', version: 'v1', kind: 'VerticalPodAutoscaler', plural: 'verticalpodautoscalers', namespaced: true };
    w = await healerWorld({ marks: false, nodes: ['node-1'], nodeMemory: '1Gi', fake: { resources: [VPA_TYPE] } });
    w.cluster.behave('api:1', 'oom-at:900Mi');
    w.cluster.behave('proxy:1', 'oom-at:200Mi');
    w.kube.put({
      apiVersion: 'autoscaling.k8s.io/v1',
      kind: 'VerticalPodAutoscaler',
      metadata: { name: 'api', namespace: NS },
      spec: { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, resourcePolicy: { containerPolicies: [{ containerName: 'app' }, { containerName: 'proxy', mode: 'Off' }] } },
      status: { recommendation: { containerRecommendations: [{ containerName: 'app', target: { memory: '850Mi' } }] } },
    });
    const d = deployment('api', { namespace: NS, image: 'api:1', replicas: 1, memory: '850Mi', annotations: HEAL });
    d.spec!.template.spec!.containers.push({ name: 'proxy', image: 'proxy:1', resources: { limits: { memory: '150Mi' }, requests: { memory: '150Mi' } } });
    w.kube.put(d);
    expect(await w.advance(1800, { until: () => w.pods({ app: 'api' }).some((p) => (p.status?.containerStatuses ?? []).every((c) => c.lastState?.terminated?.reason === 'OOMKilled')) })).toBe(true);
    const a = await w.start({ name: 'a', nodeFit: 'refuse' });
    expect(await w.advance(600, { until: () => a.healer.reports.length > 1 })).toBe(true);
    const said = a.healer.reports.map((r) => `${r.reason}: ${r.message.split(':')[0]}`).sort();
    expect(said).toEqual(['no-node-room: memory limit of proxy', 'vpa: app']);
    expect(a.healer.reports.every((r) => !r.message.includes('; and ') && !r.message.includes('not raised: '))).toBe(true);
  });

  test("a DaemonSet's container dropped since its pods were made (OnDelete) is not counted in its new pods: its revision is read", async () => {
    w = await healerWorld({ marks: false, nodes: ['node-1'], nodeMemory: '1Gi' });
    let leaked = false;
    w.cluster.behaviour((c) => (c.container.image !== 'agent:1' || leaked ? undefined : ((leaked = true), 'leak')));
    w.kube.put(deployment('batch', { namespace: NS, image: 'batch:1', replicas: 1, memory: '150Mi' }));
    await w.quiet();
    const ds = daemonSet('agent', { namespace: NS, image: 'agent:1', memory: '600Mi', annotations: HEAL, updateStrategy: { type: 'OnDelete' } });
    ds.spec!.template.spec!.containers.push({ name: 'exporter', image: 'exporter:1', resources: { limits: { memory: '200Mi' }, requests: { memory: '200Mi' } } });
    w.kube.put(ds);
    await w.quiet();
    // The exporter dropped from the template; OnDelete: the pod keeps it until it is deleted.
    const now = w.get<V1DaemonSet>('apps/v1', 'DaemonSet', 'agent');
    now.spec!.template.spec!.containers = now.spec!.template.spec!.containers.filter((c) => c.name !== 'exporter');
    w.kube.put(now);
    await w.quiet();
    expect(w.pods({ app: 'agent' }).map((p) => p.spec!.containers.map((c) => c.name).join('+'))).toEqual(['app+exporter']);
    const a = await firstReport('refuse');
    // 150 + 800 on node-1; the new pod asks 720Mi (no exporter), its old pod (800Mi) credited: 874Mi of room (920Mi counting the exporter).
    expect(summary(w)).toEqual(['DaemonSet/agent oom-bump/applied/raised']);
    expect(a.healer.reports[0]!.message).toMatch(/^raised the memory limit of app: 600Mi → 720Mi \(request → 720Mi\)/);
  });
});

test('a 409 on the patch of a checked raise (under warn): re-read, decided again from the cached room, patched once, one slot of the budget, the warning said once', async () => {
  w = await healerWorld({ marks: false, nodes: ['node-1', 'node-2', 'node-3', 'node-4', 'node-5'], nodeMemory: '1Gi' });
  oneLeak(w);
  w.kube.put(deployment('cache', { namespace: NS, image: 'cache:1', replicas: 4, memory: '900Mi', annotations: HEAL }));
  await w.quiet();
  w.kube.failNext({ method: 'PATCH', path: `/apis/apps/v1/namespaces/${NS}/deployments/cache` }, 409);
  const a = await firstReport('warn');
  await w.advance(30 * 60);
  expect(w.patches('deployments/cache').map((p) => p.status)).toEqual([409, 200]);
  expect(summary(w)).toEqual(['Deployment/cache oom-bump/applied/raised']);
  expect(a.healer.reports[0]!.message.match(/; warning: no node has room/g)).toHaveLength(1);
  expect(roomReads()).toEqual(['/api/v1/nodes', '/api/v1/pods']);
  expect((a.healer as unknown as { budget: { slots: unknown[] } }).budget.slots).toHaveLength(1);
});
