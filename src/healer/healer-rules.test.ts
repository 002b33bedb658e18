/**
 * The healer's rules as built, end to end against the wire-level fake API server (issue 19): each
 * `describe` names the defect its tests cover, and each test failed on the code before the fix.
 * The world is the fixtures' Deployment `web` at revision 5 with its ReplicaSets (revisions 2 and 3
 * known-good, 4 not), plus pods built here the way the kubelet reports them.
 */
import { readFileSync } from 'node:fs';
import type { CoreV1Event, KubernetesObject, V1ContainerStatus, V1ControllerRevision, V1Deployment, V1Pod, V1ReplicaSet, V1StatefulSet } from '@kubernetes/client-node';
import type { Notification, Notifier } from '../notify/notifier.js';
import { waitFor } from '../test-support/fakes.js';
import { startFakeKube, type FakeKube, type FakeKubeOptions, type RecordedRequest } from '../test-support/fake-kube.js';
import { isTemplateSeenRecord } from '../test-support/healer-world.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { Healer, type HealerOptions, type HealReport } from './healer.js';
import { makeClients } from './kube.js';
import { templateHash } from './known-good.js';
import { HEAL_RULES, resolveHealRules } from './rules.js';

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;
const NOW = Date.UTC(2024, 4, 14, 9, 0);
const NS = 'shop';
/** The fixture's ReplicaSets: name → uid and revision. */
const RS = {
  rev2: { name: 'web-5c8f7d9b6', uid: '1a3c5e7b-9d1f-4a3c-8e5b-7d9f1a3c5e7b', hash: '5c8f7d9b6' },
  rev3: { name: 'web-6b9d4c8f7', uid: '2b4d6f8a-0c2e-4b4d-9f6a-8e0a2b4d6f8a', hash: '6b9d4c8f7' },
  rev4: { name: 'web-84f6b7c9d8', uid: '3c5e7a9b-1d3f-4c5e-a0b7-9f1b3c5e7a9b', hash: '84f6b7c9d8' },
  rev5: { name: 'web-7d4b9c6f5d', uid: '0f6a2d8e-3c1b-4f5a-9e27-6b8d4c2a1e90', hash: '7d4b9c6f5d' },
} as const;
type RsRef = (typeof RS)[keyof typeof RS];

let kube: FakeKube;
let healers: Healer[] = [];
let notes: Notification[];
let lines: Record<string, unknown>[];

async function world(options: FakeKubeOptions = {}): Promise<void> {
  kube = await startFakeKube(options);
  notes = [];
  lines = [];
  kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  kube.put(fixture<V1Deployment>('web-deployment.json'));
  for (const rs of fixture<{ items: V1ReplicaSet[] }>('web-replicasets.json').items) kube.put({ apiVersion: 'apps/v1', kind: 'ReplicaSet', ...rs });
}

beforeEach(() => world());

afterEach(async () => {
  await Promise.all(healers.map((h) => h.stop()));
  healers = [];
  await kube.close();
});

const notifier: Notifier = { name: 'test', notify: async (n) => void notes.push(n) };
const log = (): Logger => createLogger({ level: 'debug', sink: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });

async function startHealer(o: Partial<HealerOptions> = {}): Promise<Healer> {
  const h = new Healer({
    clients: makeClients(kube.kubeConfig()),
    namespaces: [NS],
    rules: HEAL_RULES,
    dryRun: false,
    identity: `amadeus-${healers.length}`,
    lease: null,
    notifier,
    log: log(),
    clock: () => NOW,
    markIntervalMs: 3_600_000,
    restartDelayMs: 20,
    retry: { baseDelayMs: 5 },
    ...o,
  });
  healers.push(h);
  await h.start();
  return h;
}

const deployment = () => kube.get<V1Deployment>('apps/v1', 'Deployment', NS, 'web')!;
const replicaSet = (name: string) => kube.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', NS, name)!;
const webContainer = () => deployment().spec!.template.spec!.containers.find((c) => c.name === 'web')!;
const events = () => kube.list<CoreV1Event>('v1', 'Event', NS);
const isPatch = (r: RecordedRequest, what: string) => r.method === 'PATCH' && r.path.includes(`/${what}/`);
const patches = () => kube.requests.filter((r) => isPatch(r, 'deployments'));

/** As the workload's controller would: its status is for its latest generation. */
function observed<T extends V1StatefulSet | V1Deployment>(obj: T): T {
  return kube.put<T>({ ...obj, status: { ...obj.status, observedGeneration: obj.metadata!.generation } });
}

function setDeployment(edit: (d: V1Deployment) => void): void {
  const d = deployment();
  edit(d);
  kube.put(d);
}

function setReplicaSet(name: string, edit: (rs: V1ReplicaSet) => void): void {
  const rs = replicaSet(name);
  edit(rs);
  kube.put(rs);
}

type PodState = 'ready' | 'crash' | 'oom' | 'starting' | 'image-pull';

interface PodOptions {
  rs?: RsRef;
  /** A controller owner other than one of the fixture's ReplicaSets (null: a bare pod). */
  owner?: { apiVersion: string; kind: string; name: string; uid: string } | null;
  state?: PodState;
  restarts?: number;
  /** The web container's memory limit in the pod (what it was killed at). */
  limit?: string;
  finishedAt?: string;
  container?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** The node it runs on; its own by default (`node-<name>`: a cluster that spreads its pods). */
  node?: string;
}

/** A pod of the web Deployment as the kubelet reports it. */
function webPod(name: string, o: PodOptions = {}): V1Pod {
  const rs = o.rs ?? RS.rev5;
  const state = o.state ?? 'ready';
  const failing = o.container ?? 'web';
  const owner = o.owner === undefined ? { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.name, uid: rs.uid } : o.owner;
  const ready = state === 'ready' || state === 'oom';
  const status = (container: string) => {
    const base = { name: container, image: `ghcr.io/acme/${container}:2.4.1`, imageID: '', containerID: `containerd://${name}-${container}`, started: true };
    if (container !== failing) return { ...base, ready: true, restartCount: 0, state: { running: { startedAt: '2024-05-14T08:00:00Z' } }, lastState: {} };
    switch (state) {
      case 'ready':
        return { ...base, ready: true, restartCount: o.restarts ?? 0, state: { running: { startedAt: '2024-05-14T08:00:00Z' } }, lastState: {} };
      case 'oom':
        return {
          ...base,
          ready: true,
          restartCount: o.restarts ?? 1,
          state: { running: { startedAt: '2024-05-14T09:47:42Z' } },
          lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', containerID: `containerd://${name}-oom`, startedAt: '2024-05-14T08:02:13Z', finishedAt: o.finishedAt ?? '2024-05-14T09:47:41Z' } },
        };
      case 'crash':
        return {
          ...base,
          ready: false,
          started: false,
          restartCount: o.restarts ?? 5,
          state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off 2m40s restarting failed container=${container} pod=${name}` } },
          lastState: { terminated: { exitCode: 1, reason: 'Error', containerID: `containerd://${name}-crash`, startedAt: '2024-05-14T10:25:47Z', finishedAt: o.finishedAt ?? '2024-05-14T10:25:49Z' } },
        };
      case 'starting':
        return { ...base, ready: false, started: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } }, lastState: {} };
      case 'image-pull':
        return { ...base, ready: false, started: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "ghcr.io/acme/${container}:2.4.2"` } }, lastState: {} };
    }
  };
  const container = (c: string, memory: string) => ({ name: c, image: `ghcr.io/acme/${c}:2.4.1`, resources: { limits: { cpu: '500m', memory }, requests: { cpu: '100m', memory: '32Mi' } } });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: NS,
      uid: `${name}-uid`,
      labels: o.labels ?? { 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/part-of': 'shop', 'pod-template-hash': rs.hash },
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(owner ? { ownerReferences: [{ ...owner, controller: true, blockOwnerDeletion: true }] } : {}),
    },
    spec: { nodeName: o.node ?? `node-${name}`, containers: [container('web', o.limit ?? '256Mi'), container('log-shipper', '64Mi')] },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      // Wire JSON (timestamps as strings), as the fake serves it.
      containerStatuses: [status('web'), status('log-shipper')] as unknown as V1ContainerStatus[],
    },
  };
}

const putPod = (name: string, o: PodOptions = {}) => kube.put(webPod(name, o));

async function nextReport(h: Healer, count = 1): Promise<HealReport> {
  await waitFor(() => h.reports.length >= count, 5000, `heal report #${count}`);
  await h.idle();
  return h.reports[count - 1]!;
}

/** For "nothing happens" tests: the informer has delivered what was put, and everything it started has finished. */
async function settle(h: Healer): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  await h.idle();
}

// ---------------------------------------------------------------------------------------------

describe('defect 1: after a StatefulSet rollback only its own stuck pods are recreated', () => {
  test('pods matched by labels alone (another StatefulSet\'s, a bare pod, a pod outside matchExpressions) are never deleted', async () => {
    const labels = { app: 'db' };
    const template = (image: string) => ({ metadata: { labels: { ...labels, role: 'primary' } }, spec: { containers: [{ name: 'db', image, resources: { limits: { memory: '512Mi' } } }] } });
    const selector = { matchLabels: labels, matchExpressions: [{ key: 'role', operator: 'In', values: ['primary'] }] };
    const sts = observed(
      kube.put<V1StatefulSet>({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db', namespace: NS, annotations: { 'amadeus.io/heal': 'true' } },
        spec: { serviceName: 'db', replicas: 1, selector, template: template('db:2') },
        status: { replicas: 1, readyReplicas: 0, currentRevision: 'db-2', updateRevision: 'db-2' },
      }),
    );
    const owner = (name: string, uid: string) => [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name, uid, controller: true }];
    for (const [rev, image, good] of [[1, 'db:1', true], [2, 'db:2', false]] as const) {
      kube.put<V1ControllerRevision>({
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: { name: `db-${rev}`, namespace: NS, creationTimestamp: '2024-04-01T00:00:00Z' as unknown as Date, labels: template(image).metadata.labels, ownerReferences: owner('db', sts.metadata!.uid!), annotations: good ? { 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-at': '2024-05-01T00:00:00Z' } : {} },
        revision: rev,
        data: { spec: { template: { ...template(image), $patch: 'replace' } } },
      });
    }
    const notReady = (name: string, podLabels: Record<string, string>, ownerRefs: ReturnType<typeof owner> | undefined, crash: boolean): V1Pod => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: NS, uid: `${name}-uid`, labels: podLabels, ...(ownerRefs ? { ownerReferences: ownerRefs } : {}) },
      spec: { nodeName: 'node-1', containers: [{ name: 'db', image: 'db:2' }] },
      status: {
        conditions: [{ type: 'Ready', status: 'False' }],
        containerStatuses: [
          crash
            ? { name: 'db', image: 'db:2', imageID: '', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, reason: 'Error', containerID: `containerd://${name}` } } }
            : { name: 'db', image: 'db:2', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } }, lastState: {} },
        ],
      },
    });
    // Look-alikes: another StatefulSet's pod with the same labels, a bare pod, and a pod the
    // selector's matchExpressions exclude — all not Ready, none at the target revision.
    const other = kube.put<V1StatefulSet>({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db-copy', namespace: NS }, spec: { serviceName: 'db', replicas: 1, selector: { matchLabels: labels }, template: template('db:9') } });
    kube.put(notReady('db-copy-0', { ...labels, role: 'primary', 'controller-revision-hash': 'db-copy-1' }, owner('db-copy', other.metadata!.uid!), false));
    kube.put(notReady('debug-db', { ...labels, role: 'primary', 'controller-revision-hash': 'db-x' }, undefined, false));
    kube.put(notReady('db-replica-0', { ...labels, role: 'replica', 'controller-revision-hash': 'db-0' }, owner('db', sts.metadata!.uid!), false));
    const h = await startHealer();
    // The rollout replaced db-0: at db-1 it ran Ready on node-1 until deleted; at db-2 it is made there again and crash-loops.
    const before = notReady('db-0', { ...labels, role: 'primary', 'controller-revision-hash': 'db-1' }, owner('db', sts.metadata!.uid!), false);
    kube.put({ ...before, metadata: { ...before.metadata, uid: 'db-0-before' }, status: { conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'db', image: 'db:1', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] } });
    await settle(h);
    kube.remove('v1', 'Pod', NS, 'db-0');
    await settle(h);
    kube.put(notReady('db-0', { ...labels, role: 'primary', 'controller-revision-hash': 'db-2' }, owner('db', sts.metadata!.uid!), true));
    const r = await nextReport(h);
    expect(r).toMatchObject({ action: 'rollback', result: 'applied' });
    expect(kube.get<V1StatefulSet>('apps/v1', 'StatefulSet', NS, 'db')!.spec!.template.spec!.containers[0]!.image).toBe('db:1');
    expect(kube.get('v1', 'Pod', NS, 'db-0')).toBeUndefined(); // its own stuck pod: recreated
    for (const name of ['db-copy-0', 'debug-db', 'db-replica-0']) expect(kube.get('v1', 'Pod', NS, name)).toBeDefined();
    // The pods were listed with the whole selector, not its labels alone.
    const list = kube.requests.find((q) => q.method === 'GET' && q.path === `/api/v1/namespaces/${NS}/pods` && q.query.labelSelector !== undefined && q.query.watch === undefined);
    expect(list?.query.labelSelector).toBe('app=db,role in (primary)');
  });
});

describe('defect 2: rollback semantics like a rollout controller', () => {
  test('one crash-looping pod of three is reported, not rolled back (more than half must fail)', async () => {
    const h = await startHealer();
    putPod('web-a', { state: 'ready' });
    putPod('web-b', { state: 'ready' });
    putPod('web-c', { state: 'crash' });
    const r = await nextReport(h);
    expect(r).toMatchObject({ action: 'rollback', result: 'refused', reason: 'too-few-failing' });
    expect(r.message).toContain('1 of 3 pods');
    expect(patches()).toHaveLength(0);
  });

  test('two of three crash-looping pods of the newest revision: rolled back', async () => {
    const h = await startHealer();
    putPod('web-a', { state: 'ready' });
    putPod('web-b', { state: 'crash' });
    putPod('web-c', { state: 'crash' });
    await waitFor(() => h.reports.some((r) => r.result === 'applied'), 5000, 'the rollback');
    await h.idle();
    expect(webContainer().image).toBe('ghcr.io/acme/web:2.3.0');
    expect(patches()).toHaveLength(1);
  });

  test('--heal-crash-loop-share: a configurable share, validated', async () => {
    expect(resolveHealRules({ crashLoopShare: 0.25 }).crashLoopShare).toBe(0.25);
    expect(() => resolveHealRules({ crashLoopShare: 0 })).toThrow(/crashLoopShare/);
    expect(() => resolveHealRules({ crashLoopShare: 1.5 })).toThrow(/crashLoopShare/);
    const h = await startHealer({ rules: resolveHealRules({ crashLoopShare: 0.25 }) });
    putPod('web-a', { state: 'ready' });
    putPod('web-b', { state: 'ready' });
    putPod('web-c', { state: 'ready' });
    putPod('web-d', { state: 'crash' }); // 1 of 4 is not more than 25%…
    expect(await nextReport(h)).toMatchObject({ result: 'refused', reason: 'too-few-failing' });
    putPod('web-e', { state: 'crash' }); // …2 of 5 is
    await waitFor(() => h.reports.some((r) => r.result === 'applied'), 5000, 'the rollback');
  });

  test('crash-looping pods of an older revision while a newer one rolls out: not rolled back', async () => {
    const h = await startHealer();
    putPod('old-a', { rs: RS.rev4, state: 'crash' });
    putPod('old-b', { rs: RS.rev4, state: 'crash' });
    const r = await nextReport(h);
    expect(r).toMatchObject({ action: 'rollback', result: 'refused', reason: 'not-newest-revision' });
    await settle(h);
    expect(patches()).toHaveLength(0);
  });

  test('the newest revision is itself known-good: not rolled back, and the crash loop is recorded on it', async () => {
    setReplicaSet(RS.rev5.name, (rs) => Object.assign(rs.metadata!.annotations!, { 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-at': '2024-05-14T08:20:00Z' }));
    const h = await startHealer();
    putPod('web-a', { state: 'crash' });
    putPod('web-b', { state: 'crash' });
    const r = await nextReport(h);
    expect(r).toMatchObject({ action: 'rollback', result: 'refused', reason: 'revision-known-good' });
    await settle(h);
    expect(patches()).toHaveLength(0);
    expect(replicaSet(RS.rev5.name).metadata!.annotations!['amadeus.io/crash-looped-at']).toBe(new Date(NOW).toISOString());
  });

  test('a known-good revision that crash-looped since it was marked is no rollback target, and is not rolled back past either: two releases back is for people to choose', async () => {
    setReplicaSet(RS.rev3.name, (rs) => (rs.metadata!.annotations!['amadeus.io/crash-looped-at'] = '2024-05-01T00:00:00Z')); // marked 2024-04-22
    const h = await startHealer();
    putPod('web-a', { state: 'crash' });
    putPod('web-b', { state: 'crash' });
    const r = await nextReport(h);
    expect(r).toMatchObject({ action: 'rollback', result: 'refused', reason: 'known-good-crash-looped' });
    expect(r.message).toContain('known-good revision 3, the newest, was seen crash-looping at 2024-05-01T00:00:00.000Z since its mark and is no target; rolling back past it to revision 2 would undo two releases');
    expect(webContainer().image).toBe('ghcr.io/acme/web:2.4.1');
  });

  test('the same with one of three pods crash-looping: too few failing is said, not where a rollback would go', async () => {
    setReplicaSet(RS.rev3.name, (rs) => (rs.metadata!.annotations!['amadeus.io/crash-looped-at'] = '2024-05-01T00:00:00Z'));
    const h = await startHealer();
    putPod('web-a', { state: 'ready' });
    putPod('web-b', { state: 'ready' });
    putPod('web-c', { state: 'crash' });
    expect(await nextReport(h)).toMatchObject({ action: 'rollback', result: 'refused', reason: 'too-few-failing' });
    expect(patches()).toHaveLength(0);
  });

  test('no oscillation: once the controller renumbers revisions, the revision rolled away from is never a target', async () => {
    let now = NOW;
    const h = await startHealer({ clock: () => now });
    putPod('web-a', { state: 'crash' });
    putPod('web-b', { state: 'crash' });
    await waitFor(() => h.reports.some((r) => r.result === 'applied'), 5000, 'the first rollback');
    await h.idle();
    expect(deployment().metadata!.annotations!['amadeus.io/rolled-back-from']).toBeDefined();
    // The Deployment controller reuses revision 3's ReplicaSet as revision 6; revision 5 is now
    // older. Suppose revision 5's ReplicaSet is marked known-good (an operator, or a mark that
    // survived a re-creation) and revision 6's mark is gone: the memory on the workload decides.
    setReplicaSet(RS.rev3.name, (rs) => {
      const a = rs.metadata!.annotations!;
      Object.assign(a, { 'deployment.kubernetes.io/revision': '6', 'deployment.kubernetes.io/revision-history': '3' });
      delete a['amadeus.io/known-good'];
      rs.spec!.replicas = 3;
    });
    setReplicaSet(RS.rev5.name, (rs) => {
      Object.assign(rs.metadata!.annotations!, { 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-at': '2024-05-14T08:20:00Z' });
      rs.spec!.replicas = 0;
    });
    // The controller writes its revision annotation through the status subresource: no new generation.
    const d = deployment();
    d.metadata!.annotations!['deployment.kubernetes.io/revision'] = '6';
    d.status!.observedGeneration = d.metadata!.generation; // the controller has seen the rollback
    kube.api.update(d, { status: true });
    kube.remove('v1', 'Pod', NS, 'web-a');
    kube.remove('v1', 'Pod', NS, 'web-b');
    now += 5 * 3_600_000; // past the rollback cooldown
    putPod('web-c', { rs: RS.rev3, state: 'crash' });
    putPod('web-d', { rs: RS.rev3, state: 'crash' });
    await waitFor(() => h.reports.filter((r) => r.result === 'applied').length >= 2, 5000, 'the second rollback');
    await h.idle();
    const second = h.reports.filter((r) => r.result === 'applied')[1]!;
    expect(second.message).toContain('to revision 2');
    expect(webContainer().image).toBe('ghcr.io/acme/web:2.2.0');
  });

  test('a paused Deployment is not rolled back (kubectl refuses it too)', async () => {
    setDeployment((d) => (d.spec!.paused = true));
    const h = await startHealer();
    putPod('web-a', { state: 'crash' });
    expect(await nextReport(h)).toMatchObject({ result: 'refused', reason: 'paused' });
    expect(patches()).toHaveLength(0);
  });
});

describe('defect 3: OOM sizing from the facts', () => {
  test('a pod of an old ReplicaSet OOMing at the old limit does not bump an already-raised template', async () => {
    setDeployment((d) => (d.spec!.template.spec!.containers[0]!.resources!.limits!.memory = '356Mi'));
    const h = await startHealer();
    putPod('web-old', { rs: RS.rev4, state: 'oom', limit: '256Mi' });
    await settle(h);
    expect(patches()).toHaveLength(0);
    expect(webContainer().resources!.limits!.memory).toBe('356Mi');
    expect(h.reports).toHaveLength(0);
  });

  test('a termination older than the workload\'s last bump is not acted on, even past the cooldown and by a restarted healer', async () => {
    const bumpedAt = '2024-05-14T09:50:00.000Z';
    setDeployment((d) => {
      d.metadata!.annotations!['amadeus.io/last-oom-bump'] = JSON.stringify({ at: bumpedAt, key: 'another-pod/web/oom-killed/abc', containers: { web: bumpedAt } });
    });
    const h = await startHealer({ clock: () => Date.parse(bumpedAt) + 2 * 3_600_000 });
    putPod('web-a', { state: 'oom', finishedAt: '2024-05-14T09:47:41Z' }); // killed before the bump
    await settle(h);
    expect(patches()).toHaveLength(0);
    expect(h.reports).toHaveLength(0);
  });

  test('the new limit starts from the limit the container was killed at, when it is above the template\'s', async () => {
    const h = await startHealer();
    putPod('web-a', { state: 'oom', limit: '512Mi' });
    expect(await nextReport(h)).toMatchObject({ result: 'applied' });
    expect(webContainer().resources!.limits!.memory).toBe('615Mi'); // 512 × 1.2 = 614.4, rounded up; not 256 + 100
  });

  test('the bookkeeping keeps each container\'s bump time and recent keys: another container is still bumped', async () => {
    const h = await startHealer({ rules: { ...HEAL_RULES, oomCooldownSeconds: 0 } });
    putPod('web-a', { state: 'oom' });
    await nextReport(h);
    const mark = JSON.parse(deployment().metadata!.annotations!['amadeus.io/last-oom-bump']!);
    expect(mark.containers).toEqual({ web: new Date(NOW).toISOString() });
    expect(mark.keys).toEqual([h.reports[0]!.failure.key]);
    // The log shipper was killed before the web bump: its own container was never bumped.
    putPod('web-b', { state: 'oom', container: 'log-shipper', finishedAt: '2024-05-14T08:59:00Z' });
    expect(await nextReport(h, 2)).toMatchObject({ result: 'applied' });
    const shipper = deployment().spec!.template.spec!.containers.find((c) => c.name === 'log-shipper')!;
    expect(shipper.resources!.limits!.memory).toBe('164Mi');
    const after = JSON.parse(deployment().metadata!.annotations!['amadeus.io/last-oom-bump']!);
    expect(Object.keys(after.containers).sort()).toEqual(['log-shipper', 'web']);
    expect(after.keys).toHaveLength(2);
  });
});

describe('defect 4: one queue and one cooldown per workload', () => {
  test('pods of two ReplicaSets of one Deployment OOMing at once: one bump, not two', async () => {
    const h = await startHealer();
    putPod('web-new', { rs: RS.rev5, state: 'oom' });
    putPod('web-old', { rs: RS.rev4, state: 'oom' });
    await waitFor(() => h.reports.length >= 1, 5000, 'a report');
    await settle(h);
    expect(patches().filter((p) => p.status === 200)).toHaveLength(1);
    expect(webContainer().resources!.limits!.memory).toBe('356Mi');
  });

  test('a retry after a concurrent write re-checks the cooldown, not only the idempotency key', async () => {
    const h = await startHealer();
    // Between the healer's read and its patch another writer (a second healer, a person) bumps.
    kube.beforeNext({ method: 'PATCH', path: /\/deployments\/web$/ }, () =>
      setDeployment((d) => {
        d.spec!.template.spec!.containers[0]!.resources!.limits!.memory = '356Mi';
        d.metadata!.annotations!['amadeus.io/last-oom-bump'] = JSON.stringify({ at: new Date(NOW - 60_000).toISOString(), key: 'someone-else' });
      }),
    );
    putPod('web-a', { state: 'oom', limit: '356Mi' });
    const r = await nextReport(h);
    expect(r).toMatchObject({ result: 'refused', reason: 'cooldown' });
    expect(webContainer().resources!.limits!.memory).toBe('356Mi');
    expect(patches().filter((p) => p.status === 200)).toHaveLength(0);
  });
});

describe('defect 5: concurrent writes are re-read and re-planned, never reported as failed', () => {
  test('a status write between read and patch does not fail the rollback', async () => {
    const h = await startHealer();
    kube.beforeNext({ method: 'PATCH', path: /\/deployments\/web$/ }, () => setDeployment((d) => (d.status = { ...d.status, readyReplicas: 0, availableReplicas: 0 })));
    putPod('web-a', { state: 'crash' });
    putPod('web-b', { state: 'crash' });
    await waitFor(() => h.reports.some((r) => r.result === 'applied' || r.result === 'failed'), 5000, 'the rollback');
    await h.idle();
    expect(h.reports.map((r) => r.result)).not.toContain('failed');
    expect(webContainer().image).toBe('ghcr.io/acme/web:2.3.0');
  });

  test('a spec change between read and patch (422 from the failed test): re-read, re-planned, applied on the new spec', async () => {
    const h = await startHealer();
    kube.beforeNext({ method: 'PATCH', path: /\/deployments\/web$/ }, () => setDeployment((d) => (d.spec!.template.spec!.containers[1]!.resources!.limits!.cpu = '200m')));
    putPod('web-a', { state: 'oom' });
    const r = await nextReport(h);
    expect(r).toMatchObject({ result: 'applied' });
    expect(patches().map((p) => p.status)).toEqual([422, 200]);
    expect(webContainer().resources!.limits!.memory).toBe('356Mi');
    expect(deployment().spec!.template.spec!.containers[1]!.resources!.limits!.cpu).toBe('200m'); // the other writer's change survived
  });
});

describe('defect 6: Argo CD 2.x default tracking (the app.kubernetes.io/instance label alone) is GitOps', () => {
  // What Argo CD 2.x's default label tracking leaves on a workload: its Application's name in
  // app.kubernetes.io/instance, no tracking-id annotation, no Helm release annotations.
  const argoLabelOnly = () => setDeployment((d) => (d.metadata!.labels = { ...d.metadata!.labels, 'app.kubernetes.io/instance': 'shop' }));
  const mutations = () => kube.requests.filter((r) => (r.method === 'PATCH' || r.method === 'DELETE') && !isTemplateSeenRecord(r));

  test.each([
    ['an OOM kill', 'oom-bump', ['web-a'] as const, 'oom' as const],
    ['a crash loop of the newest revision', 'rollback', ['web-a', 'web-b'] as const, 'crash' as const],
  ])('%s: refused as gitops, reported (Event, notice, log line), and nothing is patched', async (_, action, pods, state) => {
    argoLabelOnly();
    const template = deployment().spec!.template;
    const h = await startHealer();
    for (const p of pods) putPod(p, { state });
    const r = await nextReport(h);
    await settle(h);
    expect(h.reports).toHaveLength(1);
    expect(r).toMatchObject({ action, result: 'refused', reason: 'gitops', workload: { kind: 'Deployment', name: 'web' } });
    expect(r.message).toBe(
      'possibly managed by Argo CD (label app.kubernetes.io/instance=shop, its default tracking label, not explained by a Helm release of that name): not patched; fix it in Git, or set amadeus.io/gitops: "none" on the workload if nothing syncs it',
    );
    expect(events().map((e) => `${e.type} ${e.reason} ${e.involvedObject.kind}/${e.involvedObject.name}`)).toEqual(['Warning HealRefused Deployment/web']);
    expect(notes.map((n) => `${n.severity} ${n.result} ${n.object}`)).toEqual(['warning refused Deployment/web']);
    expect(lines.some((l) => l.level === 'warn' && l.reason === 'gitops')).toBe(true);
    expect(mutations()).toEqual([]);
    expect(deployment().spec!.template).toEqual(template);
  });

  test('the operator’s amadeus.io/gitops: "none" lifts it: the same OOM kill is answered', async () => {
    argoLabelOnly();
    setDeployment((d) => (d.metadata!.annotations!['amadeus.io/gitops'] = 'none'));
    const h = await startHealer();
    putPod('web-a', { state: 'oom' });
    expect(await nextReport(h)).toMatchObject({ action: 'oom-bump', result: 'applied' });
    expect(webContainer().resources!.limits!.memory).toBe('356Mi');
  });
});

describe('defect 7: a failing watch backs off exponentially', () => {
  const lists = () => kube.requests.filter((r) => r.method === 'GET' && r.path === `/api/v1/namespaces/${NS}/pods` && r.query.watch === undefined);

  test.each([403, 500])('lists answered %i: about 5 lists in 3 s, not about 28', async (status) => {
    kube.failNext({ method: 'GET', path: `/api/v1/namespaces/${NS}/pods` }, status, 1000);
    await startHealer({ restartDelayMs: 100 });
    await new Promise((r) => setTimeout(r, 3000));
    expect(lists().length).toBeGreaterThanOrEqual(3);
    expect(lists().length).toBeLessThanOrEqual(7);
  }, 10_000);

  test('once the API answers again, the watch resumes and failures are handled', async () => {
    kube.failNext({ method: 'GET', path: `/api/v1/namespaces/${NS}/pods` }, 500, 3);
    const h = await startHealer({ restartDelayMs: 20 });
    putPod('web-a', { state: 'oom' });
    expect(await nextReport(h)).toMatchObject({ result: 'applied' });
  });
});

describe('defect 8: known-good from continuous observation', () => {
  const fullyReady = (name: string) =>
    setReplicaSet(name, (rs) => {
      delete rs.metadata!.annotations!['amadeus.io/known-good'];
      rs.spec!.replicas = 3;
      rs.status = { replicas: 3, readyReplicas: 3, availableReplicas: 3, fullyLabeledReplicas: 3, observedGeneration: rs.metadata!.generation };
    });
  const mark = (name: string) => replicaSet(name).metadata!.annotations!['amadeus.io/known-good'];
  /** The marks, once a bookmark has shown the pod watch live at `now` (only watched time counts). */
  const markWatched = async (h: Healer, now: number) => {
    kube.bookmarkWatches();
    const liveAt = () => (h as unknown as { watchLiveAt: Map<string, number> }).watchLiveAt.get(NS) ?? -Infinity;
    await waitFor(() => liveAt() >= now, 5000, 'a bookmark received');
    await h.markKnownGood();
  };

  test('time while Amadeus was down does not count: a persisted ready-since from before is not trusted', async () => {
    fullyReady(RS.rev5.name); // its ready-since says 08:02:30, an hour before this process started
    let now = NOW;
    const h = await startHealer({ clock: () => now });
    for (const p of ['web-a', 'web-b', 'web-c']) putPod(p);
    await waitFor(() => h.observed(NS).pods === 3, 5000, 'the pods observed');
    await markWatched(h, now);
    expect(mark(RS.rev5.name)).toBeUndefined();
    now += 601_000;
    await markWatched(h, now);
    expect(mark(RS.rev5.name)).toBe('true');
  });

  test('a restart between two samples restarts the clock; so does a pod turning not Ready', async () => {
    fullyReady(RS.rev5.name);
    setReplicaSet(RS.rev5.name, (rs) => delete rs.metadata!.annotations!['amadeus.io/ready-since']);
    let now = NOW;
    const h = await startHealer({ clock: () => now });
    for (const p of ['web-a', 'web-b', 'web-c']) putPod(p);
    await waitFor(() => h.observed(NS).pods === 3, 5000, 'the pods observed');
    await markWatched(h, now);
    now += 300_000;
    const restarted = putPod('web-b', { restarts: 1 }); // it restarted and is Ready again before anyone sampled
    await waitFor(() => h.observed(NS).restarts === 1, 5000, 'the restart observed');
    now += 301_000; // 601 s after the first sample, 301 s after the restart
    await markWatched(h, now);
    expect(mark(RS.rev5.name)).toBeUndefined();
    // A pod that was Ready and is not any more: the clock restarts again.
    now += 200_000;
    kube.put({ ...restarted, status: { ...restarted.status!, conditions: [{ type: 'Ready', status: 'False' }] } });
    await waitFor(() => h.observed(NS).ready === 2, 5000, 'not Ready observed');
    kube.put(webPod('web-b', { restarts: 1 }));
    await waitFor(() => h.observed(NS).ready === 3, 5000, 'Ready again');
    now += 500_000; // 1001 s after the restart, 500 s after the pod was not Ready
    await markWatched(h, now);
    expect(mark(RS.rev5.name)).toBeUndefined();
    now += 101_000;
    await markWatched(h, now);
    expect(mark(RS.rev5.name)).toBe('true');
  });

  test('an OnDelete StatefulSet gets marks: the update revision its pods run', async () => {
    const labels = { app: 'db' };
    const template = { metadata: { labels }, spec: { containers: [{ name: 'db', image: 'db:2' }] } };
    const sts = kube.put<V1StatefulSet>({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: NS, annotations: { 'amadeus.io/heal': 'true' } },
      spec: { serviceName: 'db', replicas: 2, selector: { matchLabels: labels }, updateStrategy: { type: 'OnDelete' }, template },
    });
    // OnDelete: the controller never moves currentRevision; every pod runs the update revision.
    kube.put({ ...sts, status: { replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2, currentReplicas: 0, currentRevision: 'db-1', updateRevision: 'db-2', observedGeneration: sts.metadata!.generation } });
    const owner = [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: sts.metadata!.uid!, controller: true }];
    for (const rev of [1, 2]) kube.put<V1ControllerRevision>({ apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: `db-${rev}`, namespace: NS, labels, ownerReferences: owner }, revision: rev, data: { spec: { template: { ...template, $patch: 'replace' } } } });
    let now = NOW;
    const h = await startHealer({ clock: () => now });
    for (const i of [0, 1]) {
      kube.put<V1Pod>({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `db-${i}`, namespace: NS, uid: `db-${i}-uid`, labels: { ...labels, 'controller-revision-hash': 'db-2' }, ownerReferences: owner },
        spec: { containers: [{ name: 'db', image: 'db:2' }] },
        status: { conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'db', image: 'db:2', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] },
      });
    }
    await waitFor(() => h.observed(NS).pods === 2, 5000, 'the pods observed');
    await markWatched(h, now);
    now += 601_000;
    await markWatched(h, now);
    const revision = (name: string) => kube.get<V1ControllerRevision>('apps/v1', 'ControllerRevision', NS, name)!.metadata!.annotations?.['amadeus.io/known-good'];
    expect(revision('db-2')).toBe('true');
    expect(revision('db-1')).toBeUndefined();
  });
});

describe('smaller: leadership, what is not healed', () => {
  test('leadership is checked again right before the patch', async () => {
    let now = NOW;
    const h = await startHealer({ clock: () => now, lease: { namespace: NS, name: 'amadeus-healer', durationSeconds: 15, retrySeconds: 5 } });
    await waitFor(() => h.isLeader, 5000, 'leadership');
    // The namespace (its dry-run annotation) is the last read before the patch: by then this
    // replica's last renewal is older than the Lease, so another may lead.
    kube.beforeNext({ method: 'GET', path: `/api/v1/namespaces/${NS}` }, () => (now += 20_000));
    putPod('web-a', { state: 'oom' });
    await waitFor(() => kube.requests.some((r) => r.method === 'GET' && r.path === `/api/v1/namespaces/${NS}`), 5000, 'the namespace read');
    await settle(h);
    expect(patches()).toHaveLength(0);
    expect(lines.some((l) => typeof l.msg === 'string' && l.msg.includes('no longer leads'))).toBe(true);
  });

  test('a bare pod OOM-killed: an Event on the pod, a log line and a notice say why nothing was patched', async () => {
    const h = await startHealer();
    putPod('scratch', { owner: null, state: 'oom', annotations: { 'amadeus.io/heal': 'true' } });
    const r = await nextReport(h);
    expect(r).toMatchObject({ action: 'oom-bump', result: 'refused', reason: 'bare-pod', workload: { kind: 'Pod', name: 'scratch' } });
    expect(events()[0]).toMatchObject({ reason: 'HealRefused', involvedObject: { kind: 'Pod', name: 'scratch' } });
    expect(notes[0]).toMatchObject({ result: 'refused', object: 'Pod/scratch' });
    expect(lines.some((l) => l.reason === 'bare-pod')).toBe(true);
    expect(patches()).toHaveLength(0);
  });

  test('a Job\'s pod OOM-killed: reported on its CronJob, nothing patched', async () => {
    await kube.close();
    await world({
      resources: [
        { group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true, statusSubresource: true, generation: true },
        { group: 'batch', version: 'v1', kind: 'CronJob', plural: 'cronjobs', namespaced: true, statusSubresource: true, generation: true },
      ],
    });
    const cron = kube.put<KubernetesObject & { spec?: unknown }>({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'report', namespace: NS, annotations: { 'amadeus.io/heal': 'true' } }, spec: { schedule: '0 * * * *', jobTemplate: { spec: { template: { spec: { containers: [] } } } } } });
    const job = kube.put<KubernetesObject & { spec?: unknown }>({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'report-28612345', namespace: NS, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'report', uid: cron.metadata!.uid!, controller: true }] }, spec: { template: { spec: { containers: [] } } } });
    const h = await startHealer();
    putPod('report-28612345-x', { owner: { apiVersion: 'batch/v1', kind: 'Job', name: 'report-28612345', uid: job.metadata!.uid! }, state: 'oom', labels: { 'job-name': 'report-28612345' } });
    const r = await nextReport(h);
    expect(r).toMatchObject({ action: 'oom-bump', result: 'refused', reason: 'job', workload: { kind: 'CronJob', name: 'report' } });
    expect(events()[0]!.involvedObject).toMatchObject({ apiVersion: 'batch/v1', kind: 'CronJob', name: 'report' });
    expect(r.message).toContain('jobTemplate');
  });

  test('a bare pod crash-looping: an Event on the pod, a log line and a notice say why nothing was rolled back', async () => {
    const h = await startHealer();
    putPod('scratch', { owner: null, state: 'crash', annotations: { 'amadeus.io/heal': 'true' } });
    const r = await nextReport(h);
    expect(r).toMatchObject({ action: 'rollback', result: 'refused', reason: 'bare-pod', workload: { kind: 'Pod', name: 'scratch' } });
    expect(r.message).toBe('a bare pod has no controller and no revisions to roll back to: fix it where it is created');
    expect(events().map((e) => `${e.type} ${e.reason} ${e.involvedObject.kind}/${e.involvedObject.name}`)).toEqual(['Warning HealRefused Pod/scratch']);
    expect(events()[0]!.message).toContain('container web is in CrashLoopBackOff (5 restarts)');
    expect(notes.map((n) => `${n.severity} ${n.action} ${n.result} ${n.object}`)).toEqual(['warning rollback refused Pod/scratch']);
    expect(lines.some((l) => l.level === 'warn' && l.reason === 'bare-pod' && l.failure === 'crash-loop')).toBe(true);
    expect(kube.requests.filter((q) => (q.method === 'PATCH' || q.method === 'DELETE') && !isTemplateSeenRecord(q))).toHaveLength(0);
  });

  test.each([
    ['the pods of a CronJob’s Job', true, 'CronJob', 'report', "a Job has no revisions to roll back to: fix the image or configuration in the CronJob's jobTemplate; the next run gets it"],
    ['the pods of a Job without a CronJob', false, 'Job', 'report-28612345', "a Job has no revisions to roll back to: fix the image or configuration in the Job's spec and run it again"],
  ])('%s crash-looping: reported once (rate-limited like an OOM report) on its owner, nothing patched', async (_, cronJob, kind, name, message) => {
    await kube.close();
    await world({
      resources: [
        { group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true, statusSubresource: true, generation: true },
        { group: 'batch', version: 'v1', kind: 'CronJob', plural: 'cronjobs', namespaced: true, statusSubresource: true, generation: true },
      ],
    });
    const heal = { 'amadeus.io/heal': 'true' };
    const cron = cronJob ? kube.put<KubernetesObject & { spec?: unknown }>({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'report', namespace: NS, annotations: heal }, spec: { schedule: '0 * * * *', jobTemplate: { spec: { template: { spec: { containers: [] } } } } } }) : null;
    const job = kube.put<KubernetesObject & { spec?: unknown }>({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'report-28612345', namespace: NS, ...(cron ? { ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'report', uid: cron.metadata!.uid!, controller: true }] } : { annotations: heal }) },
      spec: { template: { spec: { containers: [] } } },
    });
    const h = await startHealer();
    const owner = { apiVersion: 'batch/v1', kind: 'Job', name: 'report-28612345', uid: job.metadata!.uid! };
    putPod('report-28612345-x', { owner, state: 'crash', labels: { 'job-name': 'report-28612345' } });
    putPod('report-28612345-y', { owner, state: 'crash', labels: { 'job-name': 'report-28612345' } });
    const r = await nextReport(h);
    await settle(h);
    expect(h.reports).toHaveLength(1); // the second pod's crash loop is the same story within 15 minutes
    expect(r).toMatchObject({ action: 'rollback', result: 'refused', reason: 'job', workload: { kind, name }, message });
    expect(events().map((e) => `${e.type} ${e.reason} ${e.involvedObject.apiVersion} ${e.involvedObject.kind}/${e.involvedObject.name}`)).toEqual([`Warning HealRefused batch/v1 ${kind}/${name}`]);
    expect(notes.map((n) => `${n.severity} ${n.result} ${n.object}`)).toEqual([`warning refused ${kind}/${name}`]);
    expect(lines.filter((l) => l.level === 'warn' && l.reason === 'job' && l.failure === 'crash-loop')).toHaveLength(1);
    expect(lines.some((l) => l.level === 'debug' && typeof l.msg === 'string' && l.msg.startsWith('heal rollback refused again'))).toBe(true);
    expect(kube.requests.filter((q) => (q.method === 'PATCH' || q.method === 'DELETE') && !isTemplateSeenRecord(q))).toHaveLength(0);
  });

  test('ImagePullBackOff: reported once per workload, nothing patched', async () => {
    const h = await startHealer();
    putPod('web-a', { state: 'image-pull' });
    putPod('web-b', { state: 'image-pull' });
    const r = await nextReport(h);
    expect(r).toMatchObject({ result: 'refused', reason: 'image-pull', workload: { kind: 'Deployment', name: 'web' } });
    expect(r.message).toContain('ghcr.io/acme/web:2.4.2');
    await settle(h);
    expect(h.reports).toHaveLength(1); // the second pod's is the same refusal, within 15 minutes
    expect(patches()).toHaveLength(0);
  });

  test('pods of an Argo Rollouts Rollout: reported, never patched (Argo Rollouts owns rollbacks)', async () => {
    await kube.close();
    await world({ resources: [{ group: 'argoproj.io', version: 'v1alpha1', kind: 'Rollout', plural: 'rollouts', namespaced: true }] });
    const rollout = kube.put<KubernetesObject & { spec?: unknown }>({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'checkout', namespace: NS, annotations: { 'amadeus.io/heal': 'true' } }, spec: {} });
    const rs = kube.put<V1ReplicaSet>({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'checkout-6d5f', namespace: NS, ownerReferences: [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'checkout', uid: rollout.metadata!.uid!, controller: true }] },
      spec: { selector: { matchLabels: { app: 'checkout' } } },
    });
    const h = await startHealer();
    const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'checkout-6d5f', uid: rs.metadata!.uid! };
    putPod('checkout-6d5f-a', { owner, state: 'crash' });
    putPod('checkout-6d5f-b', { owner, state: 'oom' });
    await waitFor(() => h.reports.length >= 2, 5000, 'two reports');
    await h.idle();
    expect(h.reports.map((r) => `${r.action}/${r.result}/${r.reason}/${r.workload.kind}`).sort()).toEqual(['oom-bump/refused/argo-rollouts/Rollout', 'rollback/refused/argo-rollouts/Rollout']);
    expect(kube.requests.filter((r) => r.method === 'PATCH' && !isTemplateSeenRecord(r))).toHaveLength(0);
  });
});

describe('found by the scenarios: stuck OrderedReady pods (an OrderedReady StatefulSet replaces no pod that is not Ready): the pods a change left stuck are recreated, by whoever finds them', () => {
  const labels = { app: 'db' };
  const template = (image: string, memory = '256Mi') => ({ metadata: { labels }, spec: { containers: [{ name: 'db', image, resources: { limits: { memory }, requests: { memory } } }] } });
  const stsPatches = () => kube.requests.filter((r) => isPatch(r, 'statefulsets'));
  const deletes = () => kube.requests.filter((r) => r.method === 'DELETE').map((r) => r.path.split('/').pop());

  function putSet(o: { image?: string; memory?: string; annotations?: Record<string, string>; updateRevision?: string } = {}): V1StatefulSet {
    return observed(kube.put<V1StatefulSet>({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: NS, annotations: { 'amadeus.io/heal': 'true', ...o.annotations } },
      spec: { serviceName: 'db', replicas: 2, selector: { matchLabels: labels }, template: template(o.image ?? 'db:1', o.memory) },
      status: { replicas: 2, readyReplicas: 1, currentRevision: o.updateRevision ?? 'db-aaa', updateRevision: o.updateRevision ?? 'db-aaa' },
    }));
  }

  /** A pod of `owner` at `revision`: Ready, crash-looping, or OOM-killed (and waiting to restart) at `memory`. */
  function putSetPod(name: string, owner: V1StatefulSet, o: { revision: string; memory?: string; image?: string; state: 'ready' | 'crash' | 'oom'; finishedAt?: string }): V1Pod {
    const ready = o.state === 'ready';
    const image = o.image ?? 'db:1';
    const lastState =
      o.state === 'ready'
        ? {}
        : { terminated: { exitCode: o.state === 'oom' ? 137 : 1, reason: o.state === 'oom' ? 'OOMKilled' : 'Error', containerID: `containerd://${name}-${o.finishedAt ?? 'x'}`, startedAt: '2024-05-14T08:59:00Z', finishedAt: o.finishedAt ?? '2024-05-14T08:59:30Z' } };
    return kube.put<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: NS, uid: `${name}-uid`, labels: { ...labels, 'controller-revision-hash': o.revision }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true }] },
      // One node (kind, minikube): a crash loop beside a Ready pod of the set is the revision's (the rollback's node rule).
      spec: { nodeName: 'node-1', containers: [{ name: 'db', image, resources: { limits: { memory: o.memory ?? '256Mi' }, requests: { memory: o.memory ?? '256Mi' } } }] },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
        containerStatuses: [
          (ready
            ? { name: 'db', image, imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: '2024-05-14T08:00:00Z' } }, lastState }
            : { name: 'db', image, imageID: '', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState }) as unknown as V1ContainerStatus,
        ],
      },
    });
  }

  test('a memory bump recreates the set’s own pods still OOM-killed at the old limit (not a Ready one, not a look-alike)', async () => {
    const sts = putSet();
    putRevisions(sts, [['db-aaa', 1, template('db:1'), false]]);
    const other = kube.put<V1StatefulSet>({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db-copy', namespace: NS }, spec: { serviceName: 'db', replicas: 1, selector: { matchLabels: labels }, template: template('db:1') } });
    putSetPod('db-1', sts, { revision: 'db-aaa', state: 'ready' });
    putSetPod('db-copy-0', other, { revision: 'db-copy-aaa', state: 'crash' });
    const h = await startHealer();
    putSetPod('db-0', sts, { revision: 'db-aaa', state: 'oom' });
    const r = await nextReport(h);
    expect(r).toMatchObject({ action: 'oom-bump', result: 'applied', reason: 'raised' });
    expect(r.message).toBe('raised the memory limit of db: 256Mi → 356Mi (request → 356Mi); recreated 1 stuck pod(s)');
    expect(deletes()).toEqual(['db-0']);
    expect(stsPatches()).toHaveLength(1);
  });

  test('a bump whose stuck pods were never recreated (the replica stopped first): finished at the next OOM kill, no second bump; not in dry-run', async () => {
    const mark = JSON.stringify({ at: '2024-05-14T08:30:00.000Z', key: 'db-0-uid/db/oom-killed/before', containers: { db: '2024-05-14T08:30:00.000Z' } });
    const sts = putSet({ memory: '356Mi', annotations: { 'amadeus.io/last-oom-bump': mark } });
    // db-0's revision: the set's template but for the memory raised since.
    putRevisions(sts, [['db-aaa', 1, template('db:1'), false]]);
    const dry = await startHealer({ dryRun: true });
    putSetPod('db-0', sts, { revision: 'db-aaa', state: 'oom', finishedAt: '2024-05-14T08:59:30Z' });
    await settle(dry);
    expect(dry.reports).toEqual([]);
    expect(deletes()).toEqual([]);
    await dry.stop();

    const h = await startHealer();
    const r = await nextReport(h);
    expect(r).toMatchObject({ action: 'oom-bump', result: 'applied', reason: 'recreated-stuck-pods', message: "recreated 1 stuck pod(s) still at a memory limit below the template's 356Mi" });
    expect(deletes()).toEqual(['db-0']);
    expect(stsPatches()).toHaveLength(0);
  });

  /** The set's ControllerRevisions: [name, revision, template, known-good]. */
  const putRevisions = (sts: V1StatefulSet, revisions: readonly (readonly [string, number, ReturnType<typeof template>, boolean])[]) => {
    const owner = [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: sts.metadata!.uid!, controller: true }];
    for (const [name, rev, t, good] of revisions) {
      kube.put<V1ControllerRevision>({
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: { name, namespace: NS, creationTimestamp: '2024-04-01T00:00:00Z' as unknown as Date, labels, ownerReferences: owner, annotations: good ? { 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-at': '2024-05-01T00:00:00Z' } : {} },
        revision: rev,
        data: { spec: { template: { ...t, $patch: 'replace' } } },
      });
    }
  };

  test.each(['oom-bump', 'rollback'] as const)('%s: leadership lost between the StatefulSet patch and the deletes that finish it → no DELETE, left to the new leader', async (action) => {
    let now = NOW;
    const lease = { namespace: NS, name: 'amadeus-healer', durationSeconds: 15, retrySeconds: 5 };
    let sts: V1StatefulSet;
    if (action === 'oom-bump') {
      sts = putSet();
      putSetPod('db-1', sts, { revision: 'db-aaa', state: 'ready' });
    } else {
      sts = putSet({ image: 'db:2', updateRevision: 'db-bbb' });
      putRevisions(sts, [['db-aaa', 1, template('db:1'), true], ['db-bbb', 2, template('db:2'), false]]);
      putSetPod('db-0', sts, { revision: 'db-aaa', state: 'ready' });
    }
    const h = await startHealer({ clock: () => now, lease });
    await waitFor(() => h.isLeader, 5000, 'leadership');
    // The patch is the replica's last renewal-fresh act: by the time it is answered the Lease has expired.
    kube.beforeNext({ method: 'PATCH', path: `/apis/apps/v1/namespaces/${NS}/statefulsets/db` }, () => (now += 20_000));
    if (action === 'oom-bump') putSetPod('db-0', sts, { revision: 'db-aaa', state: 'oom' });
    else putSetPod('db-1', sts, { revision: 'db-bbb', image: 'db:2', state: 'crash' });
    const r = await nextReport(h);
    await settle(h);
    expect(r).toMatchObject({ action, result: 'applied' });
    expect(r.message).not.toContain('recreated');
    expect(stsPatches().map((q) => q.status)).toEqual([200]);
    expect(deletes()).toEqual([]);
    expect(kube.get('v1', 'Pod', NS, action === 'oom-bump' ? 'db-0' : 'db-1')).toBeDefined();
    expect(lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith(`this replica no longer leads: ${action} of StatefulSet/db`))).toHaveLength(1);
  });

  /** db rolled back from db:2 (db-bbb) to db:1 (db-aaa), its pod db-1 still at db-bbb and now failing as `state` says: the report, after the healer acted. */
  async function stuckAtRolledBackFrom(state: 'oom' | 'crash') {
    const bad = template('db:2');
    const sts = putSet({
      updateRevision: 'db-aaa',
      annotations: {
        'amadeus.io/rolled-back-from': JSON.stringify([templateHash(bad)]),
        'amadeus.io/last-rollback': JSON.stringify({ at: '2024-05-14T08:59:00.000Z', key: 'db-1-uid/db/crash-loop/before' }),
      },
    });
    putRevisions(sts, [['db-aaa', 3, template('db:1'), true], ['db-bbb', 2, bad, false]]);
    putSetPod('db-0', sts, { revision: 'db-aaa', state: 'ready' });
    const h = await startHealer();
    putSetPod('db-1', sts, { revision: 'db-bbb', image: 'db:2', state });
    return nextReport(h);
  }

  test('an OOM kill of a pod at a revision the set was rolled back from: no memory raise; the stuck pod is recreated at the template rolled back to', async () => {
    const r = await stuckAtRolledBackFrom('oom');
    expect(r).toMatchObject({ action: 'oom-bump', result: 'applied', reason: 'recreated-stuck-pods', message: 'recreated 1 stuck pod(s) at db-bbb, which this StatefulSet was rolled back from' });
    expect(deletes()).toEqual(['db-1']);
    expect(stsPatches()).toHaveLength(0);
  });

  test('a rollback whose stuck pod was never recreated: finished when it crash-loops again (no cooldown: not a new rollback), never rolled back twice', async () => {
    const r = await stuckAtRolledBackFrom('crash');
    expect(r).toMatchObject({ action: 'rollback', result: 'applied', reason: 'recreated-stuck-pods', message: 'recreated 1 stuck pod(s) at db-bbb, which this StatefulSet was rolled back from' });
    expect(deletes()).toEqual(['db-1']);
    expect(stsPatches()).toHaveLength(0);
  });
});
