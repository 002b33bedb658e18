/**
 * keda/'s RBAC grants exactly what the healer and the replica membership use, in both variants, as
 * the real `kubectl kustomize` builds them (kubectl must be installed):
 *
 * - keda/base: the cluster-wide ClusterRole amadeus-healer (healing every namespace);
 * - keda/base + the component scripts/namespaced-healer.sh writes (healing listed namespaces):
 *   a Role per namespace, no ClusterRole.
 *
 * The healer runs through its actions against the fake API server (a Deployment's memory bump and
 * rollback, a StatefulSet's rollback, a DaemonSet's bump, the known-good marks, reports on a
 * CronJob's Job and an Argo Rollout, leader election; --heal-node-fit on, so its raises read the
 * nodes' room), with the namespaces the build's ConfigMap
 * gives it; beside it a replica joins and leaves the replica set (src/replicas/membership.ts: its
 * own Lease created and renewed, the set's Leases listed, its Lease deleted on a graceful stop).
 * Every request they made must be allowed by the build's RBAC — decided as the API server does:
 * its request attributes (k8s.io/apiserver's RequestInfo) against the bindings of the pod's
 * service account — and every granted verb must be used. For the namespaced variant, the same
 * healer requests in another namespace, or cluster-wide, must be denied, and so are the node room's
 * reads (cluster-scoped: its raises go unchecked there).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { CoordinationV1Api, type KubernetesObject, type V1ControllerRevision, type V1DaemonSet, type V1Deployment, type V1Pod, type V1ReplicaSet, type V1StatefulSet } from '@kubernetes/client-node';
import { parseOptions } from '../config/options.js';
import { SERVE_OPTIONS } from '../cli/options/serve.js';
import { waitFor } from '../test-support/fakes.js';
import { kustomize as kubectlKustomize } from '../test-support/kustomize.js';
import { startFakeKube, type FakeKube, type RecordedRequest } from '../test-support/fake-kube.js';
import { silentLogger } from '../telemetry/logger.js';
import { Healer } from '../healer/healer.js';
import { makeClients } from '../healer/kube.js';
import { HEAL_RULES } from '../healer/rules.js';
import { Membership, REPLICA_SET_LABEL } from '../replicas/membership.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts/namespaced-healer.sh');
const COMPONENT = join(ROOT, 'keda/components/namespaced-healer');
const COMPONENT_FILES = ['delete-clusterrole.yaml', 'delete-clusterrolebinding.yaml', 'heal-namespaces.yaml', 'kustomization.yaml', 'roles.yaml'];

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../healer/fixtures/${name}`, import.meta.url), 'utf8')) as T;
const NOW = Date.UTC(2024, 4, 14, 9, 0);
/** The workloads the healer patches live in NS; the Job and the Rollout it only reports on, in NS2. */
const NS = 'shop';
const NS2 = 'reports';
const LEASE_NS = 'amadeus';

// ---------------------------------------------------------------------------------------------
// Manifests, built by kubectl

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}
interface K8s {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Rule[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
  data?: Record<string, string>;
  spec?: { template?: { spec?: { serviceAccountName?: string; containers?: { name: string; args?: string[] }[] } } };
}

const kustomize = (dir: string): K8s[] => kubectlKustomize<K8s>(dir);

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'amadeus-rbac-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** An overlay of keda/base with `component`, as a user writes one (kustomize takes relative paths only). */
function overlayWith(component: string): string {
  const dir = join(tmp, 'overlay');
  mkdirSync(dir, { recursive: true });
  const k = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [relative(dir, join(ROOT, 'keda/base'))], components: [relative(dir, component)] };
  writeFileSync(join(dir, 'kustomization.yaml'), yaml.dump(k));
  return dir;
}

function runScript(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

const one = (objects: K8s[], kind: string, name: string, namespace?: string): K8s => {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);
  if (found.length !== 1) throw new Error(`${found.length} × ${kind} ${namespace ?? '-'}/${name}`);
  return found[0]!;
};
const amadeus = (objects: K8s[]) => one(objects, 'Deployment', 'amadeus', 'amadeus');
/** The service account the Amadeus pods run as. */
const serviceAccountOf = (objects: K8s[]) => ({ namespace: amadeus(objects).metadata.namespace!, name: amadeus(objects).spec!.template!.spec!.serviceAccountName! });
/** The namespaces the healer of this build watches, read as `amadeus serve` and startHealer read them. */
function healNamespacesOf(objects: K8s[]): string[] {
  const args = amadeus(objects).spec!.template!.spec!.containers!.find((c) => c.name === 'amadeus')!.args!.slice(1);
  return parseOptions(SERVE_OPTIONS, args, one(objects, 'ConfigMap', 'amadeus-config', 'amadeus').data!).healNamespaces.split(',').filter(Boolean);
}
const ids = (objects: K8s[], kinds: string[]) => objects.filter((o) => kinds.includes(o.kind)).map((o) => `${o.kind} ${o.metadata.namespace ?? '-'}/${o.metadata.name}`).sort();
const RBAC_KINDS = ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];
const ruleKeys = (rules: Rule[] = []) => rules.flatMap((r) => (r.apiGroups ?? []).flatMap((g) => (r.resources ?? []).flatMap((res) => r.verbs.map((v) => `${g}|${res}|${v}`)))).sort();

// ---------------------------------------------------------------------------------------------
// Authorization, as the API server decides it

interface Attributes {
  group: string;
  /** With its subresource: "pods/log". */
  resource: string;
  verb: string;
  /** Null for a cluster-scoped or all-namespaces request. */
  namespace: string | null;
  name?: string;
}

const METHOD_VERBS: Record<string, string> = { GET: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/**
 * A request's attributes as k8s.io/apiserver's RequestInfoFactory derives them. Note the namespace
 * of GET /api/v1/namespaces/NAME: NAME, so a Role in NAME granting `namespaces: get` allows it.
 */
function attributesOf(r: Pick<RecordedRequest, 'method' | 'path' | 'query'>): Attributes {
  const parts = r.path.split('/').filter(Boolean);
  const group = parts[0] === 'api' ? '' : parts[1]!;
  let rest = parts.slice(parts[0] === 'api' ? 2 : 3);
  let namespace: string | null = null;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1]!;
    if (rest.length > 2 && !['status', 'finalize'].includes(rest[2]!)) rest = rest.slice(2);
  }
  const [resource, name, sub] = rest;
  const watch = r.query.watch === 'true' || r.query.watch === '1';
  let verb = METHOD_VERBS[r.method]!;
  if (name === undefined && verb === 'get') verb = watch ? 'watch' : 'list';
  if (name === undefined && verb === 'delete') verb = 'deletecollection';
  return { group, resource: sub ? `${resource}/${sub}` : resource!, verb, namespace, ...(name === undefined ? {} : { name }) };
}

const includes = (list: string[] | undefined, value: string) => (list ?? []).includes(value) || (list ?? []).includes('*');
const ruleAllows = (rule: Rule, a: Attributes) =>
  includes(rule.verbs, a.verb) && includes(rule.apiGroups, a.group) && includes(rule.resources, a.resource) && (!rule.resourceNames?.length || (a.name !== undefined && rule.resourceNames.includes(a.name)));

/** The RBAC authorizer: a ClusterRoleBinding's rules apply everywhere, a RoleBinding's in its own namespace only. */
function authorize(objects: K8s[], sa: { namespace: string; name: string }, a: Attributes): boolean {
  for (const b of objects) {
    if (!(b.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === sa.name && s.namespace === sa.namespace)) continue;
    let role: K8s | undefined;
    if (b.kind === 'ClusterRoleBinding') role = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === b.roleRef!.name);
    else if (b.kind === 'RoleBinding' && a.namespace === b.metadata.namespace) {
      role = objects.find((o) => o.kind === b.roleRef!.kind && o.metadata.name === b.roleRef!.name && (o.kind === 'ClusterRole' || o.metadata.namespace === b.metadata.namespace));
    }
    if (role?.rules?.some((rule) => ruleAllows(rule, a))) return true;
  }
  return false;
}

/** --heal-node-fit's reads of the nodes' room: the nodes, and the pods bound to them in all namespaces. */
const nodeRoomRead = (r: Pick<RecordedRequest, 'method' | 'path' | 'query'>) => r.method === 'GET' && (r.path === '/api/v1/nodes' || (r.path === '/api/v1/pods' && r.query.watch === undefined));
const show = (r: Pick<RecordedRequest, 'method' | 'path' | 'query'>) => `${r.method} ${r.path}${r.query.watch ? '?watch' : ''}`;
/** Requests the build's RBAC denies the service account. */
const denied = (objects: K8s[], requests: Pick<RecordedRequest, 'method' | 'path' | 'query'>[]) =>
  [...new Set(requests.filter((r) => !authorize(objects, serviceAccountOf(objects), attributesOf(r))).map(show))].sort();
/** Every verb the build's Roles and ClusterRoles grant is one the healer or the membership used (namespaces aside). */
function unusedGrants(objects: K8s[], requests: RecordedRequest[]): string[] {
  const used = new Set(requests.map(attributesOf).map((a) => `${a.group}|${a.resource}|${a.verb}`));
  const granted = new Set(objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole').flatMap((o) => ruleKeys(o.rules)));
  return [...granted].filter((g) => !used.has(g)).sort();
}

// ---------------------------------------------------------------------------------------------
// The healer's actions

let kube: FakeKube | undefined;
afterEach(async () => {
  await kube?.close();
  kube = undefined;
});

/** As the workload's controller would: its status is for the generation the fake API server gave it. */
function observed<T extends V1StatefulSet | V1Deployment>(k: FakeKube, obj: T): T {
  return k.put<T>({ ...obj, status: { ...obj.status, observedGeneration: obj.metadata!.generation } });
}

function statefulSetWorld(k: FakeKube): void {
  const labels = { app: 'db' };
  const template = (image: string) => ({ metadata: { labels }, spec: { containers: [{ name: 'db', image, resources: { limits: { memory: '512Mi' } } }] } });
  const sts = k.put<V1StatefulSet>({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: NS, uid: 'sts-uid', annotations: { 'amadeus.io/heal': 'true' } },
    spec: { serviceName: 'db', replicas: 2, selector: { matchLabels: labels }, template: template('db:2') },
    status: { replicas: 2, readyReplicas: 0, currentRevision: 'db-2', updateRevision: 'db-2' },
  });
  observed(k, sts);
  const owner = [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: sts.metadata!.uid!, controller: true }];
  for (const [rev, image, good] of [[1, 'db:1', true], [2, 'db:2', false]] as const) {
    k.put<V1ControllerRevision>({
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: { name: `db-${rev}`, namespace: NS, uid: `db-${rev}-uid`, labels, ownerReferences: owner, annotations: good ? { 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-for': `db-${rev}-uid` } : {} },
      revision: rev,
      data: { spec: { template: { ...template(image), $patch: 'replace' } } },
    });
  }
  // Both pods crash-loop at db:2, each on its own node: the revision's crash loop, not a node's.
  for (const [i, node] of [[0, 'node-1'], [1, 'node-2']] as const) k.put<V1Pod>({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `db-${i}`, namespace: NS, uid: `db-${i}-uid`, labels: { ...labels, 'controller-revision-hash': 'db-2' }, ownerReferences: owner },
    spec: { nodeName: node, containers: [{ name: 'db', image: 'db:2' }] },
    status: {
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: [
        {
          name: 'db',
          image: 'db:2',
          imageID: '',
          ready: false,
          restartCount: 4,
          state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off 1m20s restarting failed container=db pod=db-${i}` } },
          lastState: { terminated: { exitCode: 1, reason: 'Error', containerID: `containerd://db${i}`, finishedAt: new Date(NOW - 60_000) } },
        },
      ],
    },
  });
}

/** A running pod whose container was OOM-killed once, owned by `owner`. */
function oomPod(k: FakeKube, namespace: string, name: string, container: string, owner: { apiVersion: string; kind: string; name: string; uid: string }, labels: Record<string, string> = {}, memoryLimit?: string): void {
  k.put<V1Pod>({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, uid: `${name}-uid`, labels, ownerReferences: [{ ...owner, controller: true }] },
    // Killed at its limit: a pod without one was OOM-killed by its node, which raises nothing (5bc5de9).
    spec: { containers: [{ name: container, image: `${container}:1`, ...(memoryLimit ? { resources: { limits: { memory: memoryLimit } } } : {}) }] },
    status: {
      containerStatuses: [
        { name: container, image: `${container}:1`, imageID: '', ready: true, restartCount: 1, state: { running: {} }, lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', containerID: `containerd://${name}` } } },
      ],
    },
  });
}

function daemonSetWorld(k: FakeKube): void {
  const labels = { app: 'agent' };
  const ds = k.put<V1DaemonSet>({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: NS, uid: 'ds-uid', annotations: { 'amadeus.io/heal': 'true' } },
    spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'agent', image: 'agent:1', resources: { limits: { memory: '1000Mi' } } }] } } },
  });
  oomPod(k, NS, 'agent-x', 'agent', { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: ds.metadata!.uid! }, labels, '1000Mi');
}

/** Owners the healer reads but never patches, in NS2: a CronJob's Job and an Argo Rollout, each with an OOM-killed pod. */
function reportedWorld(k: FakeKube): void {
  const heal = { 'amadeus.io/heal': 'true' };
  const cron = k.put<KubernetesObject>({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'report', namespace: NS2, annotations: heal }, spec: { schedule: '0 * * * *', jobTemplate: { spec: { template: { spec: { containers: [] } } } } } } as KubernetesObject);
  const job = k.put<KubernetesObject>({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'report-1', namespace: NS2, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'report', uid: cron.metadata!.uid!, controller: true }] },
    spec: { template: { spec: { containers: [] } } },
  } as KubernetesObject);
  const rollout = k.put<KubernetesObject>({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'checkout', namespace: NS2, annotations: heal }, spec: {} } as KubernetesObject);
  const rs = k.put<V1ReplicaSet>({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'checkout-6d5f', namespace: NS2, ownerReferences: [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'checkout', uid: rollout.metadata!.uid!, controller: true }] },
    spec: { selector: { matchLabels: { app: 'checkout' } } },
  });
  oomPod(k, NS2, 'report-1-x', 'report', { apiVersion: 'batch/v1', kind: 'Job', name: 'report-1', uid: job.metadata!.uid! }, { 'job-name': 'report-1' });
  oomPod(k, NS2, 'checkout-6d5f-a', 'checkout', { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'checkout-6d5f', uid: rs.metadata!.uid! }, { app: 'checkout' });
}

/**
 * A replica's whole life in the replica set, in the Leases' namespace: joins (creates its Lease,
 * lists the set's), renews (reads and replaces it), leaves gracefully (deletes it).
 */
async function replicaLifecycle(k: FakeKube): Promise<void> {
  const m = new Membership({ api: k.kubeConfig().makeApiClient(CoordinationV1Api), namespace: LEASE_NS, set: 'amadeus', identity: 'amadeus-0', leaseDurationSeconds: 15, renewMs: 5_000 });
  await m.tick();
  await m.tick();
  expect(m.members).toEqual(['amadeus-0']);
  expect(k.get('coordination.k8s.io/v1', 'Lease', LEASE_NS, 'amadeus-replica-amadeus-0')).toMatchObject({ metadata: { labels: { [REPLICA_SET_LABEL]: 'amadeus' } } });
  await m.stop();
  expect(k.get('coordination.k8s.io/v1', 'Lease', LEASE_NS, 'amadeus-replica-amadeus-0')).toBeUndefined();
}

/**
 * Runs the healer (watching `namespaces`, all when empty; --heal-node-fit warn, so its memory raises
 * read the nodes' room) through every action, and a replica through the replica set; their requests.
 */
async function exercise(namespaces: string[]): Promise<RecordedRequest[]> {
  const k = (kube = await startFakeKube({
    resources: [
      { group: '', version: 'v1', kind: 'Node', plural: 'nodes', namespaced: false, statusSubresource: true },
      { group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true, statusSubresource: true, generation: true },
      { group: 'batch', version: 'v1', kind: 'CronJob', plural: 'cronjobs', namespaced: true, statusSubresource: true, generation: true },
      { group: 'argoproj.io', version: 'v1alpha1', kind: 'Rollout', plural: 'rollouts', namespaced: true },
    ],
  }));
  for (const name of [NS, NS2]) k.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  for (const name of ['node-1', 'node-2']) k.put({ apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { allocatable: { memory: '64Gi' }, conditions: [{ type: 'Ready', status: 'True' }] } });
  observed(k, k.put(fixture<V1Deployment>('web-deployment.json')));
  for (const rs of fixture<{ items: V1ReplicaSet[] }>('web-replicasets.json').items) k.put({ apiVersion: 'apps/v1', kind: 'ReplicaSet', ...rs });
  statefulSetWorld(k);
  daemonSetWorld(k);
  reportedWorld(k);

  let skew = 0;
  const healer = new Healer({
    clients: makeClients(k.kubeConfig()),
    namespaces,
    rules: { ...HEAL_RULES, maxActionsPerHour: 100 },
    dryRun: false,
    nodeFit: 'warn',
    identity: 'amadeus-0',
    lease: { namespace: LEASE_NS, name: 'amadeus-healer', durationSeconds: 15, retrySeconds: 1 },
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
    // failures: two of its three pods crash-looping (rolled back), then an OOM kill. (An OOM bump
    // first would make the rollback wait for the bumped spec's rollout, which no controller runs here.)
    k.put({ apiVersion: 'v1', kind: 'Pod', ...fixture<V1Pod>('crashloop-pod.json') });
    const second = fixture<V1Pod>('crashloop-pod.json');
    second.metadata!.name = 'web-7d4b9c6f5d-second';
    second.metadata!.uid = 'second-crash-uid';
    second.spec!.nodeName = 'ip-10-0-45-67.eu-west-1.compute.internal'; // on another node: the revision's crash loop, not a node's
    k.put({ apiVersion: 'v1', kind: 'Pod', ...second });
    await waitFor(() => healer.reports.some((r) => r.workload.kind === 'Deployment' && r.action === 'rollback'), 10_000, 'the rollback');
    await healer.idle();
    // The OOM kill is in the revision restored (the template the Deployment runs now): raised. (One
    // in the revision rolled back from would be answered by the rollback, with nothing to patch.)
    const oom = fixture<V1Pod>('oomkilled-pod.json');
    oom.metadata = { ...oom.metadata!, labels: { ...oom.metadata!.labels, 'pod-template-hash': '6b9d4c8f7' }, ownerReferences: [{ ...oom.metadata!.ownerReferences![0]!, name: 'web-6b9d4c8f7', uid: '2b4d6f8a-0c2e-4b4d-9f6a-8e0a2b4d6f8a' }] };
    // Killed just now on this process's clock: the fixture's date is too old to act on.
    for (const s of oom.status!.containerStatuses!) if (s.lastState?.terminated?.reason === 'OOMKilled') s.lastState.terminated.finishedAt = new Date(Date.now() + skew);
    k.put({ apiVersion: 'v1', kind: 'Pod', ...oom });
    await waitFor(() => healer.reports.length >= 6, 10_000, 'six reports');
    await healer.idle();
    // The revision restored crash-loops too (the cause was elsewhere): recorded on its ReplicaSet, no second rollback.
    const restored = fixture<V1Pod>('crashloop-pod.json');
    restored.metadata = { ...restored.metadata!, name: 'web-6b9d4c8f7-r1', uid: 'restored-uid', ownerReferences: [{ ...restored.metadata!.ownerReferences![0]!, name: 'web-6b9d4c8f7', uid: '2b4d6f8a-0c2e-4b4d-9f6a-8e0a2b4d6f8a' }] };
    k.put({ apiVersion: 'v1', kind: 'Pod', ...restored });
    await waitFor(() => healer.reports.length >= 7, 10_000, 'seven reports');
    await healer.idle();
    expect(k.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', NS, 'web-6b9d4c8f7')!.metadata!.annotations!['amadeus.io/crash-looped-at']).toBeDefined();
    // The StatefulSet controller recorded the restored template as revision 3; its pods are Ready.
    const sts = k.get<V1StatefulSet>('apps/v1', 'StatefulSet', NS, 'db')!;
    const stsOwner = [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'sts-uid', controller: true }];
    k.put<V1ControllerRevision>({ ...k.get<V1ControllerRevision>('apps/v1', 'ControllerRevision', NS, 'db-1')!, metadata: { name: 'db-3', namespace: NS, labels: { app: 'db' }, ownerReferences: stsOwner }, revision: 3 });
    k.put({ ...sts, status: { replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2, currentReplicas: 2, currentRevision: 'db-3', updateRevision: 'db-3', observedGeneration: sts.metadata!.generation } });
    for (const [i, node] of [[0, 'node-1'], [1, 'node-2']] as const) {
      k.put<V1Pod>({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `db-${i}`, namespace: NS, uid: `db-${i}-restored`, labels: { app: 'db', 'controller-revision-hash': 'db-3' }, ownerReferences: stsOwner },
        spec: { nodeName: node, containers: [{ name: 'db', image: 'db:1' }] },
        status: { conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'db', image: 'db:1', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] },
      });
    }
    await waitFor(() => healer.observed(NS).ready >= 3, 5000, 'the restored pods observed'); // with the OOM-killed web pod
    // Ten minutes later (this process's clock), revision 3 is marked known-good.
    skew += 601_000;
    await waitFor(() => healer.isLeader, 5000, 'leadership renewed on the new clock');
    // The server's periodic bookmark: the pod watch was alive through the window (time it was not
    // watching never counts toward a mark).
    const bookmarkedAt = Date.now() + skew;
    k.bookmarkWatches();
    const watchLiveAt = (healer as unknown as { watchLiveAt: Map<string, number> }).watchLiveAt;
    await waitFor(() => [...watchLiveAt.values()].some((t) => t >= bookmarkedAt), 5000, 'a bookmark received');
    await healer.markKnownGood();
    expect(k.get<V1ControllerRevision>('apps/v1', 'ControllerRevision', NS, 'db-3')!.metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    await new Promise((r) => setTimeout(r, 1200)); // a Lease renewal
    expect(healer.reports.map((r) => `${r.workload.kind}/${r.action}/${r.result}`).sort()).toEqual([
      'CronJob/oom-bump/refused',
      'DaemonSet/oom-bump/applied',
      'Deployment/oom-bump/applied',
      'Deployment/rollback/applied',
      'Deployment/rollback/refused',
      'Rollout/oom-bump/refused',
      'StatefulSet/rollback/applied',
    ]);
    // Reported because their owners were read: the CronJob through its Job, the Rollout through its ReplicaSet.
    expect(healer.reports.filter((r) => r.workload.namespace === NS2).map((r) => r.reason).sort()).toEqual(['argo-rollouts', 'job']);
  } finally {
    await healer.stop();
  }

  // The StatefulSet's template is revision 1's, and its pods stuck at revision 2 were deleted.
  expect(k.get<V1StatefulSet>('apps/v1', 'StatefulSet', NS, 'db')!.spec!.template.spec!.containers[0]!.image).toBe('db:1');
  expect(['db-0', 'db-1'].map((name) => k.get<V1Pod>('v1', 'Pod', NS, name)!.metadata!.uid)).toEqual(['db-0-restored', 'db-1-restored']);
  // The DaemonSet's agent: 1000Mi × 1.2 = 1200Mi.
  expect(k.get<V1DaemonSet>('apps/v1', 'DaemonSet', NS, 'agent')!.spec!.template.spec!.containers[0]!.resources!.limits!.memory).toBe('1200Mi');
  // Nothing the healer only reports on was written to.
  expect(k.requests.filter((r) => r.method !== 'GET' && /\/(jobs|cronjobs|rollouts)\//.test(r.path))).toEqual([]);
  await replicaLifecycle(k);
  return k.requests;
}

// ---------------------------------------------------------------------------------------------

test('keda/base: every request of the healer watching all namespaces, and of a replica\'s membership, is allowed, and every granted verb is used', async () => {
  const objects = kustomize(join(ROOT, 'keda/base'));
  expect(ids(objects, RBAC_KINDS)).toEqual([
    'ClusterRole -/amadeus-healer',
    'ClusterRoleBinding -/amadeus-healer',
    'Role amadeus/amadeus-leader-election',
    'RoleBinding amadeus/amadeus-leader-election',
  ]);
  const namespaces = healNamespacesOf(objects);
  expect(namespaces).toEqual([]);
  const requests = await exercise(namespaces);
  // All namespaces: one cluster-wide pod watch.
  expect(requests.some((r) => r.path === '/api/v1/pods' && r.query.watch === 'true')).toBe(true);
  // --heal-node-fit on: the memory raises read the nodes' room (granted: nodes list, pods list everywhere).
  expect(requests.filter(nodeRoomRead).map(show)).toEqual(expect.arrayContaining(['GET /api/v1/nodes', 'GET /api/v1/pods']));
  expect(denied(objects, requests)).toEqual([]);
  expect(unusedGrants(objects, requests)).toEqual([]);
  // The replica Leases: every verb of the Role used, in the Leases' namespace only.
  const leases = requests.map(attributesOf).filter((a) => a.resource === 'leases');
  expect([...new Set(leases.map((a) => a.verb))].sort()).toEqual(['create', 'delete', 'get', 'list', 'update']);
  expect([...new Set(leases.map((a) => a.namespace))]).toEqual([LEASE_NS]);
}, 30_000);

test('keda/components/namespaced-healer (from scripts/namespaced-healer.sh): Roles in the listed namespaces allow every request there, and nothing elsewhere; the replica Leases stay allowed', async () => {
  const component = join(tmp, 'component');
  expect(runScript(['-o', component, NS, NS2]).status).toBe(0);
  const objects = kustomize(overlayWith(component));
  // No ClusterRole or ClusterRoleBinding at all: a Role + RoleBinding per namespace, and the Lease's.
  expect(ids(objects, RBAC_KINDS)).toEqual([
    'Role amadeus/amadeus-leader-election',
    `Role ${NS2}/amadeus-healer`,
    `Role ${NS}/amadeus-healer`,
    'RoleBinding amadeus/amadeus-leader-election',
    `RoleBinding ${NS2}/amadeus-healer`,
    `RoleBinding ${NS}/amadeus-healer`,
  ]);
  // Each Role is the base ClusterRole's rules, no more, no less — but for nodes, which are cluster-scoped: a Role cannot grant them.
  const clusterRole = one(kustomize(join(ROOT, 'keda/base')), 'ClusterRole', 'amadeus-healer');
  const namespaced = ruleKeys(clusterRole.rules).filter((k) => !k.startsWith('|nodes|'));
  expect(namespaced).toHaveLength(ruleKeys(clusterRole.rules).length - 1);
  for (const ns of [NS, NS2]) expect(ruleKeys(one(objects, 'Role', 'amadeus-healer', ns).rules)).toEqual(namespaced);
  // The healer is told the same namespaces.
  const namespaces = healNamespacesOf(objects);
  expect(namespaces).toEqual([NS, NS2]);

  const requests = await exercise(namespaces);
  // Only --heal-node-fit's reads of the nodes' room are denied: cluster-wide, they are not this
  // component's to grant. On a cluster they fail (403), and each raise is made unchecked and says so
  // (scenarios-node-fit.test.ts: the nodes cannot be listed).
  expect(denied(objects, requests)).toEqual(['GET /api/v1/nodes', 'GET /api/v1/pods']);
  expect(denied(objects, requests.filter((r) => !nodeRoomRead(r)))).toEqual([]);
  expect(unusedGrants(objects, requests)).toEqual([]);
  // Every request names a listed namespace (the Lease's aside, and the node room's reads): nothing cluster-wide, watches included.
  const outside = requests.filter((r) => !nodeRoomRead(r)).map(attributesOf).filter((a) => !(a.namespace && [...namespaces, LEASE_NS].includes(a.namespace)));
  expect(outside).toEqual([]);
  expect(requests.filter((r) => r.query.watch === 'true').map((r) => r.path).sort()).toEqual(expect.arrayContaining([`/api/v1/namespaces/${NS}/pods`, `/api/v1/namespaces/${NS2}/pods`]));

  // The same requests in another namespace, or across all of them, are denied.
  const healerRequests = requests.filter((r) => attributesOf(r).namespace !== LEASE_NS);
  const elsewhere = healerRequests.map((r) => ({ ...r, path: r.path.replace(/\/namespaces\/[^/]+/, '/namespaces/elsewhere') }));
  expect(denied(objects, elsewhere)).toHaveLength(new Set(elsewhere.map(show)).size);
  const collections = healerRequests.filter((r) => ['list', 'watch'].includes(attributesOf(r).verb));
  const clusterWide = collections.map((r) => ({ ...r, path: r.path.replace(/\/namespaces\/[^/]+/, '') }));
  expect(clusterWide.length).toBeGreaterThan(0);
  expect(denied(objects, clusterWide)).toHaveLength(new Set(clusterWide.map(show)).size);
  // Only a listed namespace's own object is readable.
  expect(authorize(objects, serviceAccountOf(objects), attributesOf({ method: 'GET', path: `/api/v1/namespaces/${NS}`, query: {} }))).toBe(true);
  expect(authorize(objects, serviceAccountOf(objects), attributesOf({ method: 'GET', path: '/api/v1/namespaces/elsewhere', query: {} }))).toBe(false);
  expect(authorize(objects, serviceAccountOf(objects), attributesOf({ method: 'GET', path: '/api/v1/namespaces', query: {} }))).toBe(false);
}, 30_000);

test('the shipped component is the script\'s output for online-boutique, and builds on the base', () => {
  const fresh = join(tmp, 'component');
  expect(runScript(['-o', fresh, 'online-boutique']).status).toBe(0);
  expect(readdirSync(COMPONENT).sort()).toEqual(COMPONENT_FILES);
  expect(readdirSync(fresh).sort()).toEqual(COMPONENT_FILES);
  for (const f of COMPONENT_FILES) expect([f, readFileSync(join(COMPONENT, f), 'utf8')]).toEqual([f, readFileSync(join(fresh, f), 'utf8')]);

  const objects = kustomize(overlayWith(COMPONENT));
  expect(healNamespacesOf(objects)).toEqual(['online-boutique']);
  expect(ids(objects, ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']).filter((id) => id.includes('amadeus-healer'))).toEqual(['Role online-boutique/amadeus-healer', 'RoleBinding online-boutique/amadeus-healer']);
  // Everything else is the base's, unchanged.
  const base = kustomize(join(ROOT, 'keda/base'));
  const rest = (os: K8s[]) => os.filter((o) => !o.metadata.name.startsWith('amadeus-healer') && o.metadata.name !== 'amadeus-config');
  expect(rest(objects)).toEqual(rest(base));
  const { AMADEUS_HEAL_NAMESPACES, ...config } = one(objects, 'ConfigMap', 'amadeus-config', 'amadeus').data!;
  expect(AMADEUS_HEAL_NAMESPACES).toBe('online-boutique');
  expect(config).toEqual(one(base, 'ConfigMap', 'amadeus-config', 'amadeus').data);
});

test('scripts/namespaced-healer.sh refuses what is not a namespace to heal', () => {
  const out = join(tmp, 'refused');
  for (const args of [[], ['Shop'], ['shop', 'shop'], ['kube-system'], ['-shop'], ['a'.repeat(64)]]) {
    const r = runScript(['-o', out, ...args]);
    expect([args, r.status]).toEqual([args, 2]);
    expect(r.stderr).not.toBe('');
  }
  expect(() => readdirSync(out)).toThrow(); // nothing written
  // A name YAML 1.1 would read as a boolean stays a string.
  expect(runScript(['-o', out, 'on', 'no']).status).toBe(0);
  const objects = yaml.loadAll(readFileSync(join(out, 'roles.yaml'), 'utf8')) as K8s[];
  expect(objects.map((o) => o.metadata.namespace)).toEqual(['on', 'on', 'no', 'no']);
  expect(readFileSync(join(out, 'roles.yaml'), 'utf8')).toContain('namespace: "on"');
});

test('attributesOf reads paths as the API server does', () => {
  const req = (method: string, path: string, query: Record<string, string> = {}) => attributesOf({ method, path, query });
  expect(req('GET', '/api/v1/namespaces/shop/pods', { watch: 'true' })).toEqual({ group: '', resource: 'pods', verb: 'watch', namespace: 'shop' });
  expect(req('GET', '/api/v1/pods', { watch: 'true' })).toEqual({ group: '', resource: 'pods', verb: 'watch', namespace: null });
  expect(req('GET', '/api/v1/pods')).toEqual({ group: '', resource: 'pods', verb: 'list', namespace: null });
  expect(req('GET', '/api/v1/namespaces/shop/pods/web-1/log')).toEqual({ group: '', resource: 'pods/log', verb: 'get', namespace: 'shop', name: 'web-1' });
  expect(req('GET', '/api/v1/namespaces/shop')).toEqual({ group: '', resource: 'namespaces', verb: 'get', namespace: 'shop', name: 'shop' });
  expect(req('GET', '/api/v1/namespaces')).toEqual({ group: '', resource: 'namespaces', verb: 'list', namespace: null });
  expect(req('PUT', '/api/v1/namespaces/shop/finalize')).toEqual({ group: '', resource: 'namespaces/finalize', verb: 'update', namespace: 'shop', name: 'shop' });
  expect(req('PATCH', '/apis/apps/v1/namespaces/shop/deployments/web')).toEqual({ group: 'apps', resource: 'deployments', verb: 'patch', namespace: 'shop', name: 'web' });
  expect(req('PUT', '/apis/coordination.k8s.io/v1/namespaces/amadeus/leases/amadeus-healer')).toEqual({ group: 'coordination.k8s.io', resource: 'leases', verb: 'update', namespace: 'amadeus', name: 'amadeus-healer' });
  expect(req('GET', '/apis/apps/v1/deployments')).toEqual({ group: 'apps', resource: 'deployments', verb: 'list', namespace: null });
  expect(req('DELETE', '/api/v1/namespaces/shop/pods')).toEqual({ group: '', resource: 'pods', verb: 'deletecollection', namespace: 'shop' });
});

test('authorize: a ClusterRoleBinding grants everywhere, a RoleBinding in its namespace only, and only to its subject', () => {
  const sa = { namespace: 'amadeus', name: 'amadeus' };
  const subjects = [{ kind: 'ServiceAccount', ...sa }];
  const rules: Rule[] = [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }];
  const objects: K8s[] = [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r', namespace: 'shop' }, rules },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'r', namespace: 'shop' }, roleRef: { kind: 'Role', name: 'r' }, subjects },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'c' }, rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'], resourceNames: ['web'] }] },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'c' }, roleRef: { kind: 'ClusterRole', name: 'c' }, subjects },
  ];
  const can = (path: string, who = sa) => authorize(objects, who, attributesOf({ method: 'GET', path, query: {} }));
  expect(can('/api/v1/namespaces/shop/pods')).toBe(true);
  expect(can('/api/v1/namespaces/other/pods')).toBe(false);
  expect(can('/api/v1/pods')).toBe(false);
  expect(can('/api/v1/namespaces/shop/pods', { namespace: 'amadeus', name: 'default' })).toBe(false);
  expect(can('/apis/apps/v1/namespaces/other/deployments/web')).toBe(true);
  expect(can('/apis/apps/v1/namespaces/other/deployments/api')).toBe(false);
  expect(can('/apis/apps/v1/namespaces/other/deployments')).toBe(false);
});
