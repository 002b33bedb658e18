/**
 * The healer end to end against the wire-level fake API server, only through the real
 * @kubernetes/client-node: informers, owner lookups, patches, Events, Leases, pod logs. The cluster
 * starts from real object fixtures (a Deployment at revision 5 with its ReplicaSets) and a failing
 * pod is put the way the kubelet would report it.
 */
import { readFileSync } from 'node:fs';
import type { CoreV1Event, V1Deployment, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import type { Notification, Notifier } from '../notify/notifier.js';
import { waitFor } from '../test-support/fakes.js';
import { startFakeKube, type FakeKube } from '../test-support/fake-kube.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { Healer, type HealerOptions, type HealReport } from './healer.js';
import { makeClients } from './kube.js';
import { HEAL_RULES } from './rules.js';

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;
const NOW = Date.UTC(2024, 4, 14, 9, 0);
const NS = 'shop';

let kube: FakeKube;
let healers: Healer[] = [];
let notes: Notification[];
let heals: string[];
/** amadeus_healer_watch_up as set, in order: `scope:0|1`. */
let watchUp: string[];
let lines: Record<string, unknown>[];

beforeEach(async () => {
  kube = await startFakeKube();
  notes = [];
  heals = [];
  watchUp = [];
  lines = [];
  kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } });
  kube.put(fixture<V1Deployment>('web-deployment.json'));
  for (const rs of fixture<{ items: V1ReplicaSet[] }>('web-replicasets.json').items) kube.put({ apiVersion: 'apps/v1', kind: 'ReplicaSet', ...rs });
});

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
    metrics: { heal: (a, r) => heals.push(`${a}/${r}`), healerWatch: (scope, up) => watchUp.push(`${scope}:${up ? 1 : 0}`) },
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
const webContainer = () => deployment().spec!.template.spec!.containers.find((c) => c.name === 'web')!;
const events = () => kube.list<CoreV1Event>('v1', 'Event', NS);
const patches = () => kube.requests.filter((r) => r.method === 'PATCH' && r.path.includes('/deployments/'));

/** A fixture pod; `id` makes it another pod (and termination, which `finishedAt` dates), `limit` the web container's memory limit in it. */
function putPod(name: string, o: { container?: string; id?: string; limit?: string; finishedAt?: string } = {}): V1Pod {
  const pod = fixture<V1Pod>(name);
  if (o.limit) pod.spec!.containers.find((c) => c.name === 'web')!.resources!.limits!.memory = o.limit;
  if (o.id) {
    const s = pod.status!.containerStatuses!.find((c) => c.name === 'web')!;
    const t = (s.lastState?.terminated ?? s.state?.terminated)!;
    t.containerID = `containerd://${o.id}`;
    if (o.finishedAt) t.finishedAt = o.finishedAt as unknown as Date;
    pod.metadata!.name = `${pod.metadata!.name}-${o.id}`;
    delete pod.metadata!.uid;
  }
  return kube.put({ apiVersion: 'v1', kind: 'Pod', ...pod });
}

/**
 * A Ready pod of web's revision 4 (its ReplicaSet web-84f6b7c9d8, being scaled down by the rollout)
 * on the crash-looping fixture pod's node: the node runs web, so a crash loop there is the
 * revision's, not the node's (the rollback's node rule).
 */
function putReadyNeighbour(): V1Pod {
  const pod = fixture<V1Pod>('crashloop-pod.json');
  pod.metadata = {
    ...pod.metadata!,
    name: 'web-84f6b7c9d8-x7k2p',
    uid: undefined,
    labels: { ...pod.metadata!.labels, 'pod-template-hash': '84f6b7c9d8' },
    ownerReferences: [{ ...pod.metadata!.ownerReferences![0]!, name: 'web-84f6b7c9d8', uid: '3c5e7a9b-1d3f-4c5e-a0b7-9f1b3c5e7a9b' }],
  };
  pod.status = {
    ...pod.status!,
    conditions: pod.status!.conditions!.map((c) => ({ ...c, status: 'True', message: undefined, reason: undefined })),
    containerStatuses: pod.status!.containerStatuses!.map((c) => ({ ...c, ready: true, started: true, restartCount: 0, lastState: {}, state: { running: { startedAt: c.state?.running?.startedAt ?? ('2024-05-14T08:00:00Z' as unknown as Date) } } })),
  };
  return kube.put({ apiVersion: 'v1', kind: 'Pod', ...pod });
}

async function nextReport(h: Healer, count = 1): Promise<HealReport> {
  await waitFor(() => h.reports.length >= count, 5000, 'a heal report');
  await h.idle();
  return h.reports[count - 1]!;
}

describe('OOMKilled', () => {
  test('raises the container limit on the Deployment by 20% or 100 MiB, whichever is more, and says so everywhere', async () => {
    const h = await startHealer();
    kube.setLogs(NS, 'web-7d4b9c6f5d-x2k8p', 'web', 'listening on :8080\njava.lang.OutOfMemoryError: Java heap space\n', { previous: true });
    putPod('oomkilled-pod.json');
    const r = await nextReport(h);
    expect(r).toMatchObject({ action: 'oom-bump', result: 'applied', reason: 'raised' });
    // 256Mi: the minimum bump wins (256 × 1.2 = 307.2 < 356).
    expect(webContainer().resources!.limits!.memory).toBe('356Mi');
    expect(webContainer().resources!.requests!.memory).toBe('128Mi'); // below the limit: untouched
    const other = deployment().spec!.template.spec!.containers.find((c) => c.name === 'log-shipper')!;
    expect(other.resources!.limits!.memory).toBe('64Mi');
    expect(JSON.parse(deployment().metadata!.annotations!['amadeus.io/last-oom-bump']!)).toMatchObject({ at: new Date(NOW).toISOString() });
    expect(patches()).toHaveLength(1);
    // A JSON patch whose `test`s of generation and annotations guard what it was planned on.
    expect(patches()[0]!.contentType).toBe('application/json-patch+json');
    const ev = events();
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ reason: 'MemoryLimitRaised', type: 'Normal', involvedObject: { kind: 'Deployment', name: 'web', namespace: NS } });
    expect(ev[0]!.message).toContain('256Mi → 356Mi');
    expect(ev[0]!.message).toContain('out-of-memory');
    expect(heals).toEqual(['oom-bump/applied']);
    expect(notes[0]).toMatchObject({ source: 'heal', action: 'oom-bump', result: 'applied', object: 'Deployment/web' });
    expect(notes[0]!.excerpt).toContain('OutOfMemoryError');
    expect(notes[0]!.fields!.undo).toBe('kubectl -n shop set resources deployment/web -c web --limits=memory=256Mi');
    expect(lines.some((l) => l.msg === 'heal oom-bump applied: raised the memory limit of web: 256Mi → 356Mi')).toBe(true);
  });

  test('the factor wins above 500 MiB', async () => {
    const d = deployment();
    d.spec!.template.spec!.containers[0]!.resources = { limits: { memory: '1Gi' }, requests: { memory: '1Gi' } };
    kube.put(d);
    const h = await startHealer();
    putPod('oomkilled-pod.json', { limit: '1Gi' });
    await nextReport(h);
    expect(webContainer().resources!.limits!.memory).toBe('1229Mi'); // 1024 × 1.2 = 1228.8, rounded up
    expect(webContainer().resources!.requests!.memory).toBe('1229Mi'); // Guaranteed stays Guaranteed
  });

  test('at the cap: no patch, a "max reached" report', async () => {
    const d = deployment();
    d.metadata!.annotations!['amadeus.io/max-memory'] = '256Mi';
    kube.put(d);
    const h = await startHealer();
    putPod('oomkilled-pod.json');
    const r = await nextReport(h);
    expect(r).toMatchObject({ result: 'refused', reason: 'max-reached' });
    expect(patches()).toHaveLength(0);
    expect(events()[0]).toMatchObject({ reason: 'HealRefused', type: 'Warning' });
    expect(heals).toEqual(['oom-bump/refused']);
  });

  test('cooldown: a second OOM within the hour is refused, also by a restarted healer; a re-delivered event does nothing', async () => {
    const h = await startHealer();
    putPod('oomkilled-pod.json');
    await nextReport(h);
    // The same termination delivered again (a resync, a dropped watch): already handled.
    putPod('oomkilled-pod.json');
    // A new termination, in another pod of the same Deployment (made with the raised limit), ten minutes later.
    await h.stop();
    const later = await startHealer({ clock: () => NOW + 600_000 });
    putPod('oomkilled-pod.json', { id: 'second', limit: '356Mi' });
    const r = await nextReport(later);
    expect(r).toMatchObject({ result: 'refused', reason: 'cooldown' });
    expect(r.message).toContain('cooldown ends in 3000 s');
    expect(patches()).toHaveLength(1);
    expect(webContainer().resources!.limits!.memory).toBe('356Mi');
    // The restarted healer also saw the first pod again (its informer lists it) and did nothing.
    expect(later.reports).toHaveLength(1);
  });

  test('after the cooldown, the next OOM bumps again', async () => {
    const h = await startHealer();
    putPod('oomkilled-pod.json');
    await nextReport(h);
    await h.stop();
    const later = await startHealer({ clock: () => NOW + 3_700_000 });
    // Killed after the cooldown ended (10:00): a kill inside it is the cooldown's to refuse, also when looked at later.
    putPod('oomkilled-pod.json', { id: 'second', limit: '356Mi', finishedAt: '2024-05-14T10:01:00Z' });
    await nextReport(later);
    expect(webContainer().resources!.limits!.memory).toBe('456Mi');
  });
});

describe('CrashLoopBackOff', () => {
  test('rolls the Deployment back to the newest known-good revision, as kubectl rollout undo does', async () => {
    const h = await startHealer();
    kube.setLogs(NS, 'web-7d4b9c6f5d-q9zvt', 'web', 'panic: invalid memory address or nil pointer dereference\ngoroutine 1 [running]:\n', { previous: true });
    putReadyNeighbour();
    putPod('crashloop-pod.json');
    const r = await nextReport(h);
    expect(r).toMatchObject({ action: 'rollback', result: 'applied', reason: 'rolled-back' });
    // Revision 4 is not known-good; 3 is.
    expect(r.message).toBe('rolled back from revision 5 to revision 3 (ReplicaSet web-6b9d4c8f7)');
    expect(webContainer().image).toBe('ghcr.io/acme/web:2.3.0');
    expect(deployment().spec!.template.metadata!.labels!['pod-template-hash']).toBeUndefined();
    expect(deployment().metadata!.annotations!['kubernetes.io/change-cause']).toBe('deploy web 2.3.0 (ci #1811)');
    // The stale bookkeeping on the old ReplicaSet did not come back; ours is there.
    expect(JSON.parse(deployment().metadata!.annotations!['amadeus.io/last-rollback']!).key).toBe(r.failure.key);
    expect(patches()[0]!.contentType).toBe('application/json-patch+json');
    expect(events()[0]).toMatchObject({ reason: 'RolledBack' });
    expect(notes[0]!.fields!.undo).toBe('kubectl -n shop rollout undo deployment/web');
    expect(events()[0]!.message).toContain('panic');
  });

  test('the target ReplicaSet, read whole before the patch, is gone since the list: re-planned on a fresh read — rolled back to the older known-good revision, never to a template rebuilt from the list', async () => {
    const h = await startHealer();
    await h.idle(); // its first mark round (which records the template it first saw on web-7d4b9c6f5d) before the crash loop
    kube.beforeNext({ method: 'GET', path: /\/replicasets\/web-6b9d4c8f7$/ }, () => void kube.remove('apps/v1', 'ReplicaSet', NS, 'web-6b9d4c8f7'));
    putReadyNeighbour();
    putPod('crashloop-pod.json');
    const r = await nextReport(h);
    expect(r).toMatchObject({ action: 'rollback', result: 'applied', reason: 'rolled-back' });
    expect(r.message).toBe('rolled back from revision 5 to revision 2 (ReplicaSet web-5c8f7d9b6)');
    expect(webContainer().image).toBe('ghcr.io/acme/web:2.2.0');
    expect(patches().map((p) => p.status)).toEqual([200]);
    expect(kube.requests.filter((q) => q.method === 'GET' && /\/replicasets\/web-/.test(q.path)).map((q) => `${q.path.split('/').pop()} ${q.status}`)).toEqual([
      'web-7d4b9c6f5d 200', // the failing pod's owner
      'web-6b9d4c8f7 404',
      'web-5c8f7d9b6 200',
    ]);
  });

  test('no known-good older revision: nothing is done, and it is reported', async () => {
    for (const name of ['web-5c8f7d9b6', 'web-6b9d4c8f7']) {
      const rs = kube.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', NS, name)!;
      delete rs.metadata!.annotations!['amadeus.io/known-good'];
      kube.put(rs);
    }
    const h = await startHealer();
    putReadyNeighbour();
    putPod('crashloop-pod.json');
    const r = await nextReport(h);
    expect(r).toMatchObject({ result: 'refused', reason: 'no-known-good' });
    expect(patches()).toHaveLength(0);
  });

  test('logs that point at a dependency outage: reported, not rolled back', async () => {
    const h = await startHealer();
    const text = [
      'starting web 2.4.1',
      'connecting to postgres://web:s3cr3t-Pa55@db.shop.svc:5432/orders',
      'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ3ZWIifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ',
      'FATAL: dial tcp 10.0.3.7:5432: connect: connection refused',
    ].join('\n');
    kube.setLogs(NS, 'web-7d4b9c6f5d-q9zvt', 'web', text, { previous: true });
    putReadyNeighbour();
    putPod('crashloop-pod.json');
    const r = await nextReport(h);
    expect(r).toMatchObject({ result: 'refused', reason: 'dependency-outage' });
    expect(patches()).toHaveLength(0);
    const note = notes[0]!;
    expect(note.excerpt).toContain('connection refused');
    for (const secret of ['s3cr3t-Pa55', 'eyJhbGciOiJIUzI1NiJ9']) {
      expect(note.excerpt).not.toContain(secret);
      expect(JSON.stringify(lines)).not.toContain(secret);
      expect(JSON.stringify(events())).not.toContain(secret);
    }
  });

  test('a crash loop caused by OOM kills raises memory rather than rolling back', async () => {
    const h = await startHealer();
    putPod('oom-crashloop-pod.json');
    const r = await nextReport(h);
    expect(r.action).toBe('oom-bump');
    expect(webContainer().image).toBe('ghcr.io/acme/web:2.4.1');
  });
});

describe('guard rails', () => {
  test('GitOps-managed: skipped and reported, never patched', async () => {
    const d = deployment();
    d.metadata!.labels = { ...d.metadata!.labels, 'argocd.argoproj.io/instance': 'shop' };
    kube.put(d);
    const h = await startHealer();
    putPod('oomkilled-pod.json');
    expect(await nextReport(h)).toMatchObject({ result: 'refused', reason: 'gitops' });
    expect(patches()).toHaveLength(0);
  });

  test('a Helm release Rancher Fleet deployed: reported as Fleet\'s, never patched (the Helm rule alone would have patched it)', async () => {
    const d = deployment();
    d.metadata!.labels = { ...d.metadata!.labels, 'app.kubernetes.io/instance': 'web', 'app.kubernetes.io/managed-by': 'Helm' };
    d.metadata!.annotations = { ...d.metadata!.annotations, 'meta.helm.sh/release-name': 'web', 'objectset.rio.cattle.io/id': 'default-web' };
    kube.put(d);
    const h = await startHealer();
    putPod('oomkilled-pod.json');
    const r = await nextReport(h);
    expect(r).toMatchObject({ result: 'refused', reason: 'gitops' });
    expect(r.message).toContain('managed by Rancher Fleet or another Rancher controller (annotation objectset.rio.cattle.io/id=default-web)');
    expect(patches()).toHaveLength(0);
  });

  test('a VerticalPodAutoscaler that updates the workload: memory left to it, reported', async () => {
    await kube.close();
    kube = await startFakeKube({ resources: [{ group: 'autoscaling.k8s.io', version: 'v1', kind: 'VerticalPodAutoscaler', plural: 'verticalpodautoscalers', namespaced: true }] });
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    kube.put(fixture<V1Deployment>('web-deployment.json'));
    for (const rs of fixture<{ items: V1ReplicaSet[] }>('web-replicasets.json').items) kube.put({ apiVersion: 'apps/v1', kind: 'ReplicaSet', ...rs });
    kube.put({ apiVersion: 'autoscaling.k8s.io/v1', kind: 'VerticalPodAutoscaler', metadata: { name: 'web', namespace: NS }, spec: { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, updatePolicy: { updateMode: 'Auto' } } });
    const h = await startHealer();
    putPod('oomkilled-pod.json');
    expect(await nextReport(h)).toMatchObject({ result: 'refused', reason: 'vpa' });
    expect(patches()).toHaveLength(0);
  });

  test('not opted in: silence', async () => {
    const d = deployment();
    delete d.metadata!.annotations!['amadeus.io/heal'];
    kube.put(d);
    const h = await startHealer();
    putPod('oomkilled-pod.json');
    await waitFor(() => kube.requests.some((r) => r.path.endsWith('/deployments/web') && r.method === 'GET'), 5000, 'the owner lookup');
    await h.idle();
    expect(h.reports).toHaveLength(0);
    expect(patches()).toHaveLength(0);
    expect(events()).toHaveLength(0);
  });

  test('dry-run, globally or by namespace annotation: decided and reported, not patched', async () => {
    const h = await startHealer({ dryRun: true });
    putPod('oomkilled-pod.json');
    const r = await nextReport(h);
    expect(r).toMatchObject({ result: 'dry-run' });
    expect(r.message).toBe('would raise the memory limit of web: 256Mi → 356Mi');
    expect(patches()).toHaveLength(0);
    expect(events()[0]).toMatchObject({ reason: 'HealDryRun' });
    await h.stop();

    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, annotations: { 'amadeus.io/heal-dry-run': 'true' } } });
    const h2 = await startHealer();
    // Two of the revision's three pods crash-loop (the OOM-killed one runs again): enough for a rollback.
    putPod('crashloop-pod.json');
    putPod('crashloop-pod.json', { id: 'second' });
    // A dry run leaves no mark, so the restarted healer reports the first pod's OOM again too.
    await nextReport(h2, 2);
    expect(h2.reports.map((r) => `${r.action}/${r.result}`).sort()).toEqual(['oom-bump/dry-run', 'rollback/dry-run']);
    expect(patches()).toHaveLength(0);
  });

  test('kube-system is never touched', async () => {
    const h = await startHealer({ namespaces: [] });
    const pod = fixture<V1Pod>('oomkilled-pod.json');
    pod.metadata!.namespace = 'kube-system';
    kube.put({ apiVersion: 'v1', kind: 'Pod', ...pod });
    putPod('oomkilled-pod.json'); // the shop pod, after it: handled
    await nextReport(h);
    expect(h.reports).toHaveLength(1);
    expect(h.reports[0]!.workload.namespace).toBe(NS);
  });

  test('the hourly budget stops a storm', async () => {
    const h = await startHealer({ rules: { ...HEAL_RULES, maxActionsPerHour: 1, oomCooldownSeconds: 0 } });
    putPod('oomkilled-pod.json');
    await nextReport(h);
    putPod('oomkilled-pod.json', { id: 'second', limit: '356Mi' });
    expect(await nextReport(h, 2)).toMatchObject({ result: 'refused', reason: 'rate-limit' });
    expect(patches()).toHaveLength(1);
  });

  test('two replicas, one Lease: only the leader acts', async () => {
    const lease = { namespace: NS, name: 'amadeus-healer', durationSeconds: 15, retrySeconds: 1 };
    const a = await startHealer({ lease, clock: Date.now });
    await waitFor(() => a.isLeader, 5000, 'the first replica to lead');
    const b = await startHealer({ lease, clock: Date.now });
    await new Promise((r) => setTimeout(r, 300));
    expect(b.isLeader).toBe(false);
    // On the wall clock (the Lease's), the kill dated a minute ago: the fixture's own date is too old to act on.
    putPod('oomkilled-pod.json', { id: 'recent', finishedAt: new Date(Date.now() - 60_000).toISOString() });
    await nextReport(a);
    await new Promise((r) => setTimeout(r, 300));
    await b.idle();
    expect(b.reports).toHaveLength(0);
    expect(patches()).toHaveLength(1);
    expect(kube.get<{ spec: { holderIdentity: string } }>('coordination.k8s.io/v1', 'Lease', NS, 'amadeus-healer')!.spec.holderIdentity).toBe('amadeus-0');
    // The leader steps down: the other takes over within a retry period.
    await a.stop();
    healers = healers.filter((x) => x !== a);
    await waitFor(() => b.isLeader, 5000, 'the second replica to take over');
  });
});

describe('watch and API failures', () => {
  test('a watch dropped mid-stream resumes without missing or double-acting', async () => {
    const h = await startHealer();
    putPod('oomkilled-pod.json');
    await nextReport(h);
    kube.dropWatches();
    await new Promise((r) => setTimeout(r, 100));
    putPod('crashloop-pod.json');
    putPod('crashloop-pod.json', { id: 'second' });
    await waitFor(() => h.reports.some((r) => r.action === 'rollback'), 5000, 'the crash loop');
    await h.idle();
    // Both pods were seen after the drop: the crash loop is answered once — refused, as the memory
    // bump is a newer spec than the crash-looping revision (a rollback would undo it).
    expect(h.reports.map((r) => `${r.action}/${r.result}/${r.reason}`)).toEqual(['oom-bump/applied/raised', 'rollback/refused/rollout-not-observed']);
    expect(patches()).toHaveLength(1);
    expect(lines.some((l) => l.msg === 'pod watch failed; restarting')).toBe(true);
  });

  /** `n` running pods of another app in the namespace: what --heal-max-pods counts with the failing ones. */
  function putBystanders(n: number, from = 0): string[] {
    const names: string[] = [];
    for (let i = from; i < from + n; i++) {
      const name = `batch-${i}`;
      kube.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels: { app: 'batch' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] }, status: { phase: 'Running' } } as V1Pod);
      names.push(name);
    }
    return names;
  }
  const podLists = () => kube.requests.filter((r) => r.method === 'GET' && r.path === `/api/v1/namespaces/${NS}/pods` && r.query.watch !== 'true');
  const tooManyLogged = () => lines.filter((l) => l.msg === 'pod watch failed; restarting' && String(l.error).startsWith('more than --heal-max-pods 4 pods to watch (namespace shop: at least'));

  test('--heal-max-pods: a namespace with more pods is not watched — nothing healed there, the log says what to narrow — until a re-list fits', async () => {
    const batch = putBystanders(4);
    putPod('oomkilled-pod.json');
    const h = await startHealer({ maxPods: 4, restartDelayMs: 50, overBoundRetryMs: 100 });
    await waitFor(() => tooManyLogged().length >= 2, 5000, 'the refused list, retried');
    expect(tooManyLogged()[0]!.error).toContain('narrow --heal-namespaces or --heal-pod-selector, or raise --heal-max-pods');
    // Listed again after overBoundRetryMs, not on the watch's back-off (50 ms doubling).
    expect(tooManyLogged().map((l) => l.retryInMs as number).every((ms) => ms >= 100)).toBe(true);
    expect(h.reports).toEqual([]);
    expect(patches()).toHaveLength(0);
    expect(new Set(watchUp)).toEqual(new Set(['shop:0']));
    // Room again: the next re-list fits, and the OOM it finds is healed, once.
    kube.remove('v1', 'Pod', NS, batch[0]!);
    const r = await nextReport(h);
    expect(r).toMatchObject({ action: 'oom-bump', result: 'applied' });
    expect(patches()).toHaveLength(1);
    expect(podLists().every((l) => l.query.limit === '500')).toBe(true);
    expect(watchUp.at(-1)).toBe('shop:1');
  });

  test('--heal-max-pods: a watch that grows past it is dropped with its cache, and lists afresh once there is room; what was added meanwhile is healed then', async () => {
    putBystanders(3);
    const h = await startHealer({ maxPods: 4, restartDelayMs: 50, overBoundRetryMs: 100 });
    const listsBefore = podLists().length;
    // The fifth pod arrives through the watch: past the bound, the watch is dropped.
    const extra = putBystanders(2, 3);
    await waitFor(() => tooManyLogged().length >= 1, 5000, 'the watch dropped at the bound');
    // Restarted by listing again (a fresh cache, not a resumed watch), which is refused while five
    // pods are there: an OOM meanwhile is not seen.
    putPod('oomkilled-pod.json');
    await waitFor(() => tooManyLogged().length >= 3, 5000, 'the re-lists refused');
    expect(podLists().length).toBeGreaterThan(listsBefore);
    expect(h.reports).toEqual([]);
    expect(watchUp.slice(0, 2)).toEqual(['shop:1', 'shop:0']);
    kube.remove('v1', 'Pod', NS, extra[1]!);
    kube.remove('v1', 'Pod', NS, extra[0]!);
    const r = await nextReport(h);
    expect(r).toMatchObject({ action: 'oom-bump', result: 'applied' });
    expect(patches()).toHaveLength(1);
  });

  test('--heal-max-pods counts every watched namespace together: the one that grows past it is dropped, the others are still watched and healed', async () => {
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'batch' } });
    const h = await startHealer({ namespaces: [NS, 'batch'], maxPods: 4, restartDelayMs: 50, overBoundRetryMs: 100 });
    // batch fills the bound through its watch (shop holds none): dropped, its re-lists refused.
    for (let i = 0; i < 5; i++) kube.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `job-${i}`, namespace: 'batch' }, spec: { containers: [{ name: 'c', image: 'busybox' }] }, status: { phase: 'Running' } } as V1Pod);
    await waitFor(() => lines.some((l) => l.msg === 'pod watch failed; restarting' && l.namespace === 'batch' && String(l.error).includes('namespace batch: at least')), 5000, 'batch dropped');
    expect(watchUp).toContain('batch:0');
    // shop's watch holds: an OOM there is healed, once.
    putPod('oomkilled-pod.json');
    const r = await nextReport(h);
    expect(r).toMatchObject({ action: 'oom-bump', result: 'applied' });
    expect(patches()).toHaveLength(1);
    expect(watchUp.filter((u) => u.startsWith('shop:'))).toEqual(['shop:1']);
    expect(lines.some((l) => l.msg === 'pod watch failed; restarting' && l.namespace === NS)).toBe(false);
  });

  test('--heal-max-pods passed by a pod added in a small namespace: the largest one is dropped, not the one that added', async () => {
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'batch' } });
    for (let i = 0; i < 3; i++) kube.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `job-${i}`, namespace: 'batch' }, spec: { containers: [{ name: 'c', image: 'busybox' }] }, status: { phase: 'Running' } } as V1Pod);
    const h = await startHealer({ namespaces: [NS, 'batch'], maxPods: 4, restartDelayMs: 50, overBoundRetryMs: 100 });
    putBystanders(1);
    // The fifth pod, in shop: batch (3) is the largest and is dropped; shop (2) keeps its watch.
    putPod('oomkilled-pod.json');
    await waitFor(() => lines.some((l) => l.msg === 'pod watch failed; restarting' && l.namespace === 'batch'), 5000, 'batch dropped');
    const r = await nextReport(h);
    expect(r).toMatchObject({ action: 'oom-bump', result: 'applied' });
    expect(lines.filter((l) => l.msg === 'pod watch failed; restarting').map((l) => [l.namespace, String(l.error).split(';')[0]])).toContainEqual([
      'batch',
      'more than --heal-max-pods 4 pods to watch (namespace batch: at least 3, the other watched namespaces: 2)',
    ]);
    expect(lines.some((l) => l.msg === 'pod watch failed; restarting' && l.namespace === NS)).toBe(false);
    expect(watchUp.filter((u) => u.startsWith('shop:'))).toEqual(['shop:1']);
  });

  test('stopped while its pod list is in flight: no watch is opened once the list returns (client-node would open one)', async () => {
    kube.beforeNext({ method: 'GET', path: `/api/v1/namespaces/${NS}/pods` }, () => void healers[0]!.stop());
    await startHealer();
    await new Promise((r) => setTimeout(r, 200));
    expect(kube.requests.filter((r) => r.path === `/api/v1/namespaces/${NS}/pods`).map((r) => r.query.watch ?? 'list')).toEqual(['list']);
    expect(kube.activeWatches()).toBe(0);
  });

  test('409 Conflict: re-read, re-planned, applied once', async () => {
    const h = await startHealer();
    kube.failNext({ method: 'PATCH', path: /\/deployments\/web$/ }, 409);
    putPod('oomkilled-pod.json');
    expect(await nextReport(h)).toMatchObject({ result: 'applied' });
    expect(patches().map((p) => p.status)).toEqual([409, 200]);
    expect(webContainer().resources!.limits!.memory).toBe('356Mi');
  });

  test("the owner lookup fails (500): the failure is not taken as handled — the pod's next event raises the limit, once; a 403 is not tried again", async () => {
    const h = await startHealer();
    kube.failNext({ method: 'GET', path: /\/replicasets\/web-7d4b9c6f5d$/ }, 500);
    const pod = putPod('oomkilled-pod.json');
    await waitFor(() => lines.some((l) => l.msg === 'could not find what the failing pod belongs to'), 5000, 'the failed lookup');
    await h.idle();
    expect(h.reports).toEqual([]);
    // The same termination, in the pod's next event (a status update: its Ready condition, say).
    kube.put({ ...pod, metadata: { ...pod.metadata, labels: { ...pod.metadata!.labels, seen: 'again' } } });
    expect(await nextReport(h)).toMatchObject({ action: 'oom-bump', result: 'applied', reason: 'raised' });
    kube.put({ ...pod, metadata: { ...pod.metadata, labels: { ...pod.metadata!.labels, seen: 'thrice' } } });
    await new Promise((r) => setTimeout(r, 100));
    await h.idle();
    expect(patches().map((p) => p.status)).toEqual([200]);
    expect(h.reports).toHaveLength(1);

    kube.failNext({ method: 'GET', path: /\/replicasets\/web-7d4b9c6f5d$/ }, 403);
    const other = putPod('oomkilled-pod.json', { id: 'other' });
    await waitFor(() => lines.filter((l) => l.msg === 'could not find what the failing pod belongs to').length === 2, 5000, 'the refused lookup');
    kube.put({ ...other, metadata: { ...other.metadata, labels: { ...other.metadata!.labels, seen: 'again' } } });
    await new Promise((r) => setTimeout(r, 100));
    await h.idle();
    expect(kube.requests.filter((q) => q.method === 'GET' && q.path.endsWith('/replicasets/web-7d4b9c6f5d')).map((q) => q.status)).toEqual([500, 200, 403]);
  });

  test('500s that do not stop: reported as failed, nothing half-applied', async () => {
    const h = await startHealer();
    const before = deployment();
    kube.failNext({ method: 'PATCH', path: /\/deployments\/web$/ }, 500, 10);
    putReadyNeighbour();
    putPod('crashloop-pod.json');
    const r = await nextReport(h);
    expect(r).toMatchObject({ result: 'failed', reason: 'api-error' });
    expect(r.message).toContain('HTTP 500');
    expect(deployment()).toEqual(before);
    expect(events()[0]).toMatchObject({ reason: 'HealFailed', type: 'Warning' });
    expect(notes[0]!.severity).toBe('critical');
    expect(heals).toEqual(['rollback/failed']);
  });
});

test('known-good marks: a fully ready ReplicaSet whose pods this process observed healthy for the window is marked', async () => {
  let now = NOW;
  const h = await startHealer({ clock: () => now });
  const current = () => kube.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', NS, 'web-7d4b9c6f5d')!;
  const rs = current();
  rs.status = { ...rs.status!, replicas: 3, readyReplicas: 3, availableReplicas: 3 };
  kube.put(rs);
  for (const id of ['a', 'b', 'c']) {
    const pod = fixture<V1Pod>('oomkilled-pod.json'); // running and Ready again
    pod.metadata!.name = `web-ready-${id}`;
    pod.metadata!.uid = `ready-${id}`;
    kube.put({ apiVersion: 'v1', kind: 'Pod', ...pod });
  }
  await waitFor(() => h.observed(NS).ready === 3, 5000, 'three Ready pods observed');
  await h.markKnownGood();
  expect(current().metadata!.annotations!['amadeus.io/known-good']).toBeUndefined();
  now += 601_000;
  await h.markKnownGood();
  // Only time up to the pod watch's last proof of life counts: none since the pods came.
  expect(current().metadata!.annotations!['amadeus.io/known-good']).toBeUndefined();
  kube.bookmarkWatches();
  await waitFor(() => ((h as unknown as { watchLiveAt: Map<string, number> }).watchLiveAt.get(NS) ?? -Infinity) >= now, 5000, 'a bookmark received');
  await h.markKnownGood();
  expect(current().metadata!.annotations).toMatchObject({ 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-at': new Date(now).toISOString() });
  // The ready-since an earlier version wrote is not trusted, and goes with the mark.
  expect(current().metadata!.annotations!['amadeus.io/ready-since']).toBeUndefined();
});
