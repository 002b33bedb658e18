/**
 * keda/base/rbac.yaml grants exactly what the healer uses: every request it makes across its actions
 * (a Deployment's memory bump and rollback, a StatefulSet's rollback, a DaemonSet's bump, the
 * known-good marks, leader election) is allowed by a rule, and every verb of every rule is used.
 * The same run checks the StatefulSet and DaemonSet paths themselves.
 */
import { readFileSync } from 'node:fs';
import { loadAllYaml, type V1ControllerRevision, type V1DaemonSet, type V1Deployment, type V1Pod, type V1ReplicaSet, type V1StatefulSet } from '@kubernetes/client-node';
import { waitFor } from '../test-support/fakes.js';
import { startFakeKube, type FakeKube, type RecordedRequest } from '../test-support/fake-kube.js';
import { silentLogger } from '../telemetry/logger.js';
import { Healer } from './healer.js';
import { makeClients } from './kube.js';
import { HEAL_RULES } from './rules.js';

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;
const NOW = Date.UTC(2024, 4, 14, 9, 0);
const NS = 'shop';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Rule[];
}

/** What RBAC sees of a request: API group, resource (with subresource), verb. */
function rbacOf(r: RecordedRequest): { group: string; resource: string; verb: string } {
  const parts = r.path.split('/').filter(Boolean);
  const [group, rest] = parts[0] === 'api' ? ['', parts.slice(2)] : [parts[1]!, parts.slice(3)];
  let i = 0;
  if (rest[0] === 'namespaces' && rest.length > 2) i = 2; // namespaced: skip namespaces/{ns}
  const resource = rest[i]!;
  const name = rest[i + 1];
  const sub = rest[i + 2];
  const verbs: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
  const verb = r.method === 'GET' ? (name === undefined ? (r.query.watch === 'true' || r.query.watch === '1' ? 'watch' : 'list') : 'get') : verbs[r.method]!;
  return { group, resource: sub ? `${resource}/${sub}` : resource, verb };
}

let kube: FakeKube;
afterEach(() => kube?.close());

function statefulSetWorld(): void {
  const labels = { app: 'db' };
  const template = (image: string) => ({ metadata: { labels }, spec: { containers: [{ name: 'db', image, resources: { limits: { memory: '512Mi' } } }] } });
  const sts = kube.put<V1StatefulSet>({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: NS, uid: 'sts-uid', annotations: { 'amadeus.io/heal': 'true' } },
    spec: { serviceName: 'db', replicas: 1, selector: { matchLabels: labels }, template: template('db:2') },
    status: { replicas: 1, readyReplicas: 0, currentRevision: 'db-2', updateRevision: 'db-2' },
  });
  const owner = [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: sts.metadata!.uid!, controller: true }];
  for (const [rev, image, good] of [[1, 'db:1', true], [2, 'db:2', false]] as const) {
    kube.put<V1ControllerRevision>({
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: { name: `db-${rev}`, namespace: NS, labels, ownerReferences: owner, annotations: good ? { 'amadeus.io/known-good': 'true' } : {} },
      revision: rev,
      data: { spec: { template: { ...template(image), $patch: 'replace' } } },
    });
  }
  kube.put<V1Pod>({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'db-0', namespace: NS, uid: 'db-0-uid', labels: { ...labels, 'controller-revision-hash': 'db-2' }, ownerReferences: owner },
    spec: { containers: [{ name: 'db', image: 'db:2' }] },
    status: {
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: [
        {
          name: 'db',
          image: 'db:2',
          imageID: '',
          ready: false,
          restartCount: 4,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 1m20s restarting failed container=db pod=db-0' } },
          lastState: { terminated: { exitCode: 1, reason: 'Error', containerID: 'containerd://db0', finishedAt: new Date(NOW - 60_000) } },
        },
      ],
    },
  });
}

function daemonSetWorld(): void {
  const labels = { app: 'agent' };
  const ds = kube.put<V1DaemonSet>({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: NS, uid: 'ds-uid', annotations: { 'amadeus.io/heal': 'true' } },
    spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'agent', image: 'agent:1', resources: { limits: { memory: '1000Mi' } } }] } } },
  });
  kube.put<V1Pod>({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'agent-x', namespace: NS, uid: 'agent-x-uid', labels, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: ds.metadata!.uid!, controller: true }] },
    spec: { containers: [{ name: 'agent', image: 'agent:1' }] },
    status: {
      containerStatuses: [
        { name: 'agent', image: 'agent:1', imageID: '', ready: true, restartCount: 1, state: { running: {} }, lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', containerID: 'containerd://ag1' } } },
      ],
    },
  });
}

test('every request is allowed by keda/base/rbac.yaml, and every granted verb is used', async () => {
  kube = await startFakeKube();
  kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  kube.put(fixture<V1Deployment>('web-deployment.json'));
  for (const rs of fixture<{ items: V1ReplicaSet[] }>('web-replicasets.json').items) kube.put({ apiVersion: 'apps/v1', kind: 'ReplicaSet', ...rs });
  statefulSetWorld();
  daemonSetWorld();

  let skew = 0;
  const healer = new Healer({
    clients: makeClients(kube.kubeConfig()),
    namespaces: [],
    rules: { ...HEAL_RULES, maxActionsPerHour: 100 },
    dryRun: false,
    identity: 'amadeus-0',
    lease: { namespace: 'amadeus', name: 'amadeus-healer', durationSeconds: 15, retrySeconds: 1 },
    notifier: { name: 'none', notify: async () => undefined },
    log: silentLogger,
    clock: () => Date.now() + skew,
    markIntervalMs: 3_600_000,
    retry: { baseDelayMs: 5 },
  });
  try {
    await healer.start();
    await waitFor(() => healer.isLeader, 5000, 'leadership');
    // The pods already there are handled as soon as this replica leads; then a Deployment's
    // failures: an OOM kill, and two of its three pods crash-looping.
    kube.put({ apiVersion: 'v1', kind: 'Pod', ...fixture<V1Pod>('oomkilled-pod.json') });
    kube.put({ apiVersion: 'v1', kind: 'Pod', ...fixture<V1Pod>('crashloop-pod.json') });
    const second = fixture<V1Pod>('crashloop-pod.json');
    second.metadata!.name = 'web-7d4b9c6f5d-second';
    second.metadata!.uid = 'second-crash-uid';
    kube.put({ apiVersion: 'v1', kind: 'Pod', ...second });
    await waitFor(() => healer.reports.length >= 4, 10_000, 'four reports');
    await healer.idle();
    // The revision restored crash-loops too (the cause was elsewhere): recorded on its ReplicaSet, no second rollback.
    const restored = fixture<V1Pod>('crashloop-pod.json');
    restored.metadata = { ...restored.metadata!, name: 'web-6b9d4c8f7-r1', uid: 'restored-uid', ownerReferences: [{ ...restored.metadata!.ownerReferences![0]!, name: 'web-6b9d4c8f7', uid: '2b4d6f8a-0c2e-4b4d-9f6a-8e0a2b4d6f8a' }] };
    kube.put({ apiVersion: 'v1', kind: 'Pod', ...restored });
    await waitFor(() => healer.reports.length >= 5, 10_000, 'five reports');
    await healer.idle();
    expect(kube.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', NS, 'web-6b9d4c8f7')!.metadata!.annotations!['amadeus.io/crash-looped-at']).toBeDefined();
    // The StatefulSet controller recorded the restored template as revision 3; its pod is Ready.
    const sts = kube.get<V1StatefulSet>('apps/v1', 'StatefulSet', NS, 'db')!;
    const stsOwner = [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'sts-uid', controller: true }];
    kube.put<V1ControllerRevision>({ ...kube.get<V1ControllerRevision>('apps/v1', 'ControllerRevision', NS, 'db-1')!, metadata: { name: 'db-3', namespace: NS, labels: { app: 'db' }, ownerReferences: stsOwner }, revision: 3 });
    kube.put({ ...sts, status: { replicas: 1, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1, currentReplicas: 1, currentRevision: 'db-3', updateRevision: 'db-3', observedGeneration: sts.metadata!.generation } });
    kube.put<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'db-0', namespace: NS, uid: 'db-0-restored', labels: { app: 'db', 'controller-revision-hash': 'db-3' }, ownerReferences: stsOwner },
      spec: { containers: [{ name: 'db', image: 'db:1' }] },
      status: { conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'db', image: 'db:1', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] },
    });
    await waitFor(() => healer.observed(NS).ready >= 2, 5000, 'the restored pod observed'); // with the OOM-killed web pod
    // Ten minutes later (this process's clock), revision 3 is marked known-good.
    skew += 601_000;
    await waitFor(() => healer.isLeader, 5000, 'leadership renewed on the new clock');
    await healer.markKnownGood();
    expect(kube.get<V1ControllerRevision>('apps/v1', 'ControllerRevision', NS, 'db-3')!.metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    await new Promise((r) => setTimeout(r, 1200)); // a Lease renewal
    expect(healer.reports.map((r) => `${r.workload.kind}/${r.action}/${r.result}`).sort()).toEqual([
      'DaemonSet/oom-bump/applied',
      'Deployment/oom-bump/applied',
      'Deployment/rollback/applied',
      'Deployment/rollback/refused',
      'StatefulSet/rollback/applied',
    ]);
  } finally {
    await healer.stop();
  }

  // The StatefulSet's template is revision 1's, and its pod stuck at revision 2 was deleted.
  const sts = kube.get<V1StatefulSet>('apps/v1', 'StatefulSet', NS, 'db')!;
  expect(sts.spec!.template.spec!.containers[0]!.image).toBe('db:1');
  expect(kube.get<V1Pod>('v1', 'Pod', NS, 'db-0')!.metadata!.uid).toBe('db-0-restored'); // the stuck one was deleted, the controller made this one
  // The DaemonSet's agent: 1000Mi × 1.2 = 1200Mi.
  const ds = kube.get<V1DaemonSet>('apps/v1', 'DaemonSet', NS, 'agent')!;
  expect(ds.spec!.template.spec!.containers[0]!.resources!.limits!.memory).toBe('1200Mi');

  const manifests = loadAllYaml(readFileSync(new URL('../../keda/base/rbac.yaml', import.meta.url), 'utf8')) as Manifest[];
  const granted = new Set<string>();
  for (const m of manifests.filter((x) => x.kind === 'ClusterRole' || x.kind === 'Role')) {
    for (const rule of m.rules ?? []) for (const g of rule.apiGroups) for (const res of rule.resources) for (const v of rule.verbs) granted.add(`${g}|${res}|${v}`);
  }
  const used = new Set(kube.requests.map((r) => rbacOf(r)).map((x) => `${x.group}|${x.resource}|${x.verb}`));
  expect([...used].filter((u) => !granted.has(u)).sort()).toEqual([]);
  expect([...granted].filter((g) => !used.has(g)).sort()).toEqual([]);
}, 30_000);

test('rbacOf reads paths as the API server authorizes them', () => {
  const req = (method: string, path: string, query: Record<string, string> = {}) => ({ method, path, query, contentType: undefined, headers: {}, body: undefined });
  expect(rbacOf(req('GET', '/api/v1/namespaces/shop/pods', { watch: 'true' }))).toEqual({ group: '', resource: 'pods', verb: 'watch' });
  expect(rbacOf(req('GET', '/api/v1/pods'))).toEqual({ group: '', resource: 'pods', verb: 'list' });
  expect(rbacOf(req('GET', '/api/v1/namespaces/shop/pods/web-1/log'))).toEqual({ group: '', resource: 'pods/log', verb: 'get' });
  expect(rbacOf(req('GET', '/api/v1/namespaces/shop'))).toEqual({ group: '', resource: 'namespaces', verb: 'get' });
  expect(rbacOf(req('PATCH', '/apis/apps/v1/namespaces/shop/deployments/web'))).toEqual({ group: 'apps', resource: 'deployments', verb: 'patch' });
  expect(rbacOf(req('PUT', '/apis/coordination.k8s.io/v1/namespaces/amadeus/leases/amadeus-healer'))).toEqual({ group: 'coordination.k8s.io', resource: 'leases', verb: 'update' });
  expect(rbacOf(req('GET', '/apis/apps/v1/deployments'))).toEqual({ group: 'apps', resource: 'deployments', verb: 'list' });
});
