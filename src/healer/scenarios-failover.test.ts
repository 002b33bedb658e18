/**
 * Multi-step scenarios of the healer under concurrency (issue 19), on the simulated cluster: two
 * replicas of Amadeus electing a leader on the fake API server's Lease with a fail-over in the
 * middle of an action, and a 409 or a 422 answered to the first attempt of every kind of patch.
 * The end state must be one action, whole: never none, never two, never half of one.
 */
import type { V1ControllerRevision, V1DaemonSet, V1Deployment, V1Lease, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { daemonSet, deployment, statefulSet } from '../test-support/cluster/objects.js';
import { beforeNextBody, HEAL, healerWorld, type HealerWorld, isTemplateSeenRecord, LEASE, NS, reportSummary, strayTemplateSeenRecords, podReady as ready } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const summary = reportSummary;
const holder = (w: HealerWorld) => w.get<V1Lease>('coordination.k8s.io/v1', 'Lease', LEASE.name).spec!.holderIdentity;
const image = (obj: V1Deployment | V1StatefulSet | V1DaemonSet) => obj.spec!.template.spec!.containers[0]!.image;
const memory = (obj: V1Deployment | V1StatefulSet | V1DaemonSet) => obj.spec!.template.spec!.containers[0]!.resources!.limits!.memory;
/** The DELETEs the server carried out (a refused one is retried, and counted once). */
const deleted = (w: HealerWorld) => w.kube.requests.filter((q) => q.method === 'DELETE' && q.status! < 300).map((q) => q.path);
const noAlarm = (w: HealerWorld) => {
  expect(w.reports().filter((r) => r.result === 'failed')).toEqual([]);
  expect(w.notes().filter((n) => n.severity === 'critical')).toEqual([]);
  expect(w.lines().filter((l) => l.level === 'error')).toEqual([]);
};

describe('two replicas, one Lease, a fail-over in the middle of an action', () => {
  test('the leader’s rollback patch is held up past its Lease: the new leader rolls back, the old one’s late patch is refused (422) and it re-plans to nothing', async () => {
    w = await healerWorld();
    w.cluster.behave('web:2', 'crash');
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
    const a = await w.start({ name: 'a', elect: true });
    const b = await w.start({ name: 'b', elect: true });
    await w.advance(11 * 60);
    expect(a.healer.isLeader).toBe(true);
    expect(b.healer.isLeader).toBe(false);

    const stall = a.stallNext('patchNamespacedDeployment');
    let held = false;
    void stall.reached.then(() => (held = true));
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    expect(await w.advance(5 * 60, { until: () => held })).toBe(true);
    // A pauses (a long GC, a partition) with its patch in flight: it renews its Lease no more.
    a.electing = false;
    await w.advance(3 * 60);
    expect(holder(w)).toBe('b');
    expect(b.healer.reports.map((r) => `${r.action}/${r.result}`)).toEqual(['rollback/applied']);
    expect(image(w.get<V1Deployment>('apps/v1', 'Deployment', 'web'))).toBe('web:1');

    // A wakes up: its patch arrives, planned on a Deployment that has changed since.
    stall.release();
    a.electing = true;
    await w.advance(10 * 60);
    expect(w.patches('deployments/web').map((p) => p.status)).toEqual([200, 422]);
    // A read the Deployment again after the 422 and found the revision already rolled back from.
    expect(a.lines.filter((l) => l.msg === 'crash loop of a revision already rolled back from')).toHaveLength(1);
    expect(a.healer.reports).toEqual([]);
    expect(a.healer.isLeader).toBe(false);
    expect(summary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    const d = w.get<V1Deployment>('apps/v1', 'Deployment', 'web');
    expect(image(d)).toBe('web:1');
    expect(JSON.parse(d.metadata!.annotations!['amadeus.io/rolled-back-from']!)).toHaveLength(1);
    expect(w.events().map((e) => `${e.reason} by ${e.reportingInstance}`)).toEqual(['RolledBack by b']);
    expect(w.pods({ app: 'web' }).map((p) => `${image({ spec: { template: { spec: p.spec } } } as V1Deployment)} ${ready(p)}`)).toEqual(['web:1 true', 'web:1 true', 'web:1 true']);
    noAlarm(w);
  });

  test('the leader dies right after its StatefulSet rollback patch, before recreating the stuck pod: the new leader finishes the rollback, never repeats it', async () => {
    w = await healerWorld();
    w.cluster.behave('db:2', 'crash');
    w.kube.put(statefulSet('db', { namespace: NS, image: 'db:1', replicas: 3, annotations: HEAL }));
    const a = await w.start({ name: 'a', elect: true });
    const b = await w.start({ name: 'b', elect: true });
    await w.advance(11 * 60);
    const set = () => w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db');
    const good = set().status!.updateRevision!;
    expect(w.get<V1ControllerRevision>('apps/v1', 'ControllerRevision', good).metadata!.annotations!['amadeus.io/known-good']).toBe('true');

    let dead = false;
    void a.cutAfter('patchNamespacedStatefulSet').then(() => (dead = true));
    w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => void (s.spec!.template.spec!.containers[0]!.image = 'db:2'));
    expect(await w.advance(5 * 60, { until: () => dead })).toBe(true);
    // The template is back, the broken pod is not: OrderedReady waits for it forever.
    expect(image(set())).toBe('db:1');
    await w.advance(10 * 60);

    expect(holder(w)).toBe('b');
    expect(w.patches('statefulsets/db').map((p) => p.status)).toEqual([200]);
    expect(summary(w)).toEqual(['StatefulSet/db rollback/applied/recreated-stuck-pods']);
    expect(b.healer.reports[0]!.message).toMatch(/^recreated 1 stuck pod\(s\) at db-[a-z0-9]+, which this StatefulSet was rolled back from$/);
    expect(w.kube.requests.filter((q) => q.method === 'DELETE').map((q) => q.path)).toEqual([`/api/v1/namespaces/${NS}/pods/db-2`]);
    expect(set().status).toMatchObject({ updateRevision: good, currentRevision: good, readyReplicas: 3, updatedReplicas: 3 });
    expect(w.pods().every(ready)).toBe(true);
    noAlarm(w);
  });

  test('the leader dies right after its memory bump: the new leader re-plans from fresh reads and bumps nothing', async () => {
    w = await healerWorld({ marks: false });
    w.cluster.behave('api:1', 'leak:1Mi'); // 256Mi in 256 s
    const a = await w.start({ name: 'a', elect: true });
    const b = await w.start({ name: 'b', elect: true });
    let dead = false;
    void a.cutAfter('patchNamespacedDeployment').then(() => (dead = true));
    w.kube.put(deployment('api', { namespace: NS, image: 'api:1', replicas: 2, memory: '256Mi', annotations: HEAL }));
    await w.quiet();
    // Paused: the OOM-killed pods stay, at the old limit, for the new leader to see.
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'api', (d) => void (d.spec!.paused = true));
    const pods = w.pods().map((p) => p.metadata!.uid).sort();
    expect(await w.advance(600, { until: () => dead })).toBe(true);
    await w.advance(30 * 60);
    expect(w.pods().map((p) => p.metadata!.uid).sort()).toEqual(pods);

    expect(holder(w)).toBe('b');
    expect(b.healer.isLeader).toBe(true);
    expect(w.patches('deployments/api').map((p) => p.status)).toEqual([200]);
    expect(memory(w.get<V1Deployment>('apps/v1', 'Deployment', 'api'))).toBe('356Mi');
    expect(b.healer.reports).toEqual([]);
    expect(w.pods().every((p) => p.status!.containerStatuses![0]!.restartCount! >= 5)).toBe(true);
    expect(b.lines.filter((l) => l.msg.includes('already raised, its replacement has more')).length).toBeGreaterThan(0);
    noAlarm(w);
  });
});

describe('a blip of the Lease during a queued decision', () => {
  // One OOM kill and no other: the cache warms up past its limit on its first start only, so the
  // pod's later events carry that same termination and nothing new comes to look at it again.
  const oomOnce = (w: HealerWorld) => {
    const started = new Set<string>();
    w.cluster.behaviour(({ pod }) => {
      const uid = pod.metadata!.uid!;
      if (started.has(uid)) return undefined;
      started.add(uid);
      return 'oom-at:300Mi';
    });
  };

  test.each([
    ['the Lease read fails (500) once', (w: HealerWorld) => w.kube.failNext({ method: 'GET', path: /\/leases\// }, 500)],
    ['the Lease is renewed late (its last renewal older than the Lease)', null],
  ] as const)('%s while the only replica decides an OOM kill: the decision is abandoned, then the same replica leads again and raises the limit, once', async (_, blip) => {
    w = await healerWorld({ marks: false });
    oomOnce(w);
    const a = await w.start({ name: 'a', elect: true });
    expect(a.healer.isLeader).toBe(true);
    // The decision is held on its first read of the workload's ReplicaSets.
    const stall = a.stallNext('listNamespacedReplicaSet');
    let held = false;
    void stall.reached.then(() => (held = true));
    w.kube.put(deployment('cache', { namespace: NS, image: 'cache:1', replicas: 1, memory: '256Mi', annotations: HEAL }));
    expect(await w.advance(60, { until: () => held })).toBe(true);
    const [pod] = w.pods({ app: 'cache' });
    expect(pod!.status!.containerStatuses![0]!).toMatchObject({ restartCount: 1, ready: true, lastState: { terminated: { reason: 'OOMKilled' } } });

    // Leadership lapses while it is held: a failed round, or rounds that come too late.
    if (blip) {
      blip(w);
      await w.advance(30, { until: () => !a.healer.isLeader });
    } else {
      a.electing = false;
      await w.advance(61);
    }
    expect(a.healer.isLeader).toBe(false);
    stall.release();
    await w.advance(5); // not to the next round of the Lease
    expect(a.lines.filter((l) => l.msg === 'this replica no longer leads: oom-bump of Deployment/cache left to the leader')).toHaveLength(1);
    expect(w.patches('deployments/cache')).toEqual([]);
    expect(a.healer.reports).toEqual([]);

    // The same replica leads again (no other took the Lease): its resync looks at the kill again.
    a.electing = true;
    await w.advance(60);
    expect(a.healer.isLeader).toBe(true);
    expect(w.patches('deployments/cache').map((p) => p.status)).toEqual([200]);
    expect(summary(w)).toEqual(['Deployment/cache oom-bump/applied/raised']);
    expect(memory(w.get<V1Deployment>('apps/v1', 'Deployment', 'cache'))).toBe('356Mi');

    // Once: another hour, and another blip and return, change nothing.
    w.kube.failNext({ method: 'GET', path: /\/leases\// }, 500);
    await w.advance(60 * 60);
    expect(w.patches('deployments/cache').map((p) => p.status)).toEqual([200]);
    expect(summary(w)).toEqual(['Deployment/cache oom-bump/applied/raised']);
    expect(w.pods({ app: 'cache' }).map((p) => `${p.spec!.containers[0]!.resources!.limits!.memory} ${ready(p)}`)).toEqual(['356Mi true']);
    noAlarm(w);
  });
});

// ---------------------------------------------------------------------------------------------

interface Case {
  resource: string;
  /**
   * Builds the world up to just before the failure; `arm` is called before the failure happens.
   * `before`: more seconds before the bad rollout (a rollback's known-good mark needs a round more).
   */
  run(arm: () => void, o?: { before?: number }): Promise<void>;
  /** The end state, applied once. */
  check(): void;
  apiVersion: string;
  kind: string;
  name: string;
}

const CASES: Record<string, () => Case> = {
  'Deployment rollback': () => ({
    resource: 'deployments/web',
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    name: 'web',
    async run(arm, o = {}) {
      w.cluster.behave('web:2', 'crash');
      w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
      await w.start();
      await w.advance(11 * 60 + (o.before ?? 0));
      arm();
      w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
      await w.advance(30 * 60);
    },
    check() {
      const d = w.get<V1Deployment>('apps/v1', 'Deployment', 'web');
      expect(image(d)).toBe('web:1');
      expect(JSON.parse(d.metadata!.annotations!['amadeus.io/rolled-back-from']!)).toHaveLength(1);
      expect(JSON.parse(d.metadata!.annotations!['amadeus.io/last-rollback']!).keys).toHaveLength(1);
      expect(w.pods().map((p) => `${p.spec!.containers[0]!.image} ${ready(p)}`)).toEqual(['web:1 true', 'web:1 true', 'web:1 true']);
    },
  }),
  'StatefulSet rollback': () => ({
    resource: 'statefulsets/db',
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    name: 'db',
    async run(arm, o = {}) {
      w.cluster.behave('db:2', 'crash');
      w.kube.put(statefulSet('db', { namespace: NS, image: 'db:1', replicas: 3, annotations: HEAL }));
      await w.start();
      await w.advance(11 * 60 + (o.before ?? 0));
      arm();
      w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => void (s.spec!.template.spec!.containers[0]!.image = 'db:2'));
      await w.advance(30 * 60);
    },
    check() {
      const s = w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db');
      expect(image(s)).toBe('db:1');
      expect(JSON.parse(s.metadata!.annotations!['amadeus.io/rolled-back-from']!)).toHaveLength(1);
      expect(s.status).toMatchObject({ readyReplicas: 3, updatedReplicas: 3 });
      expect(s.status!.currentRevision).toBe(s.status!.updateRevision);
      expect(deleted(w)).toEqual([`/api/v1/namespaces/${NS}/pods/db-2`]);
      expect(w.pods().map((p) => `${p.metadata!.name} ${p.spec!.containers[0]!.image} ${ready(p)}`)).toEqual(['db-0 db:1 true', 'db-1 db:1 true', 'db-2 db:1 true']);
    },
  }),
  ...Object.fromEntries(
    (
      [
        ['Deployment', 'deployments', () => deployment('app', { namespace: NS, image: 'app:1', replicas: 2, memory: '256Mi', annotations: HEAL })],
        ['StatefulSet', 'statefulsets', () => statefulSet('app', { namespace: NS, image: 'app:1', replicas: 2, memory: '256Mi', annotations: HEAL })],
        ['DaemonSet', 'daemonsets', () => daemonSet('app', { namespace: NS, image: 'app:1', memory: '256Mi', annotations: HEAL })],
      ] as const
    ).map(([kind, plural, build]) => [
      `${kind} memory bump`,
      (): Case => ({
        resource: `${plural}/app`,
        apiVersion: 'apps/v1',
        kind,
        name: 'app',
        async run(arm) {
          w.cluster.behave('app:1', 'oom-at:300Mi');
          await w.start();
          arm();
          w.kube.put(build());
          await w.advance(2 * 3600);
        },
        check() {
          const obj = w.get<V1Deployment>('apps/v1', kind, 'app');
          expect(memory(obj)).toBe('356Mi'); // once: not 456Mi
          expect(JSON.parse(obj.metadata!.annotations!['amadeus.io/last-oom-bump']!).keys).toHaveLength(1);
          const pods = w.pods();
          expect(pods.length).toBe(kind === 'DaemonSet' ? 3 : 2);
          expect(pods.map((p) => `${p.spec!.containers[0]!.resources!.limits!.memory} ${ready(p)}`)).toEqual(pods.map(() => '356Mi true'));
          // Only a StatefulSet's pod OOM-killed at the old limit is the healer's to recreate (OrderedReady waits on it).
          expect(deleted(w)).toEqual(kind === 'StatefulSet' ? [`/api/v1/namespaces/${NS}/pods/app-0`] : []);
        },
      }),
    ]),
  ),
};

describe('409 and 422 on the first attempt of every patch', () => {
  const matrix = Object.keys(CASES).flatMap((name) => [
    [name, 409],
    [name, 422],
  ]) as [string, 409 | 422][];

  test.each(matrix)('%s, first answered %i: re-read, re-planned, applied once', async (name, status) => {
    w = await healerWorld({ marks: name.includes('rollback') });
    const c = CASES[name]!();
    const path = `/apis/apps/v1/namespaces/${NS}/${c.resource}`;
    await c.run(() => {
      if (status === 409) w.kube.failNext({ method: 'PATCH', path }, 409);
      // A person writes the workload's annotations (sets a cap) between the healer's read and its
      // patch: the patch's `test` of the annotations fails, as on a real API server.
      else w.kube.beforeNext({ method: 'PATCH', path }, () => void w.edit(c.apiVersion, c.kind, c.name, (o) => void (o.metadata!.annotations = { ...o.metadata!.annotations, 'amadeus.io/max-memory': '4Gi' })));
    });
    expect(w.patches(c.resource).map((p) => p.status)).toEqual([status, 200]);
    const action = name.includes('rollback') ? 'rollback' : 'oom-bump';
    expect(w.reports().filter((r) => r.result === 'applied').map((r) => `${r.workload.kind}/${r.workload.name} ${r.action}`)).toEqual([`${c.kind}/${c.name} ${action}`]);
    c.check();
    if (status === 422) expect(w.get<V1Deployment>(c.apiVersion, c.kind, c.name).metadata!.annotations!['amadeus.io/max-memory']).toBe('4Gi'); // planned on, not clobbered
    expect(w.events().filter((e) => e.type === 'Normal')).toHaveLength(1);
    noAlarm(w);
  });

  test('a status write between read and patch is no conflict: applied at the first attempt', async () => {
    w = await healerWorld({ marks: false });
    const c = CASES['Deployment memory bump']!();
    const path = `/apis/apps/v1/namespaces/${NS}/${c.resource}`;
    await c.run(() =>
      w.kube.beforeNext({ method: 'PATCH', path }, () => void w.edit<V1Deployment>('apps/v1', 'Deployment', 'app', (d) => void (d.status = { ...d.status, observedGeneration: 99 }))),
    );
    expect(w.patches(c.resource).map((p) => p.status)).toEqual([200]);
    c.check();
    noAlarm(w);
  });
});

// ---------------------------------------------------------------------------------------------
// The writes around the workload patch: the known-good marks and crash-loop records (JSON merge
// patches of a ReplicaSet's or ControllerRevision's annotations) and the DELETE of a StatefulSet's
// stuck pod. A 422 does not apply to them (no `test` preconditions: it would be a malformed
// request, not a race); a 409 does (a namesake replaced the pod since the list, or a conflict the
// server gave up retrying). Each must be decided again on a fresh read, never half done.

describe('409 on the first attempt of the bookkeeping patches and the stuck-pod delete', () => {
  /** The PATCHes of revisions: marks and records (the template first seen, a ReplicaSet's bookkeeping for the next leader, left out). */
  const revisionPatches = (w: HealerWorld, plural: 'replicasets' | 'controllerrevisions') => w.kube.requests.filter((q) => q.method === 'PATCH' && q.path.includes(`/namespaces/${NS}/${plural}/`) && !isTemplateSeenRecord(q));
  /** The next PATCH of a revision that writes a known-good mark is answered 409 (after the write of another). */
  const failNextMark = (w: HealerWorld, plural: 'replicasets' | 'controllerrevisions') => {
    const match = { method: 'PATCH', path: new RegExp(`/namespaces/${NS}/${plural}/`) };
    beforeNextBody(w, match, (body) => JSON.stringify(body).includes('amadeus.io/known-good'), () => w.kube.failNext(match, 409));
  };
  const annotations = (w: HealerWorld, kind: 'ReplicaSet' | 'ControllerRevision', name: string) => w.get<V1ControllerRevision>('apps/v1', kind, name).metadata!.annotations ?? {};

  test.each([
    ['Deployment rollback', 'ReplicaSet', 'replicasets'],
    ['StatefulSet rollback', 'ControllerRevision', 'controllerrevisions'],
  ] as const)('%s: the known-good mark of its %s first answered 409 → written at the next round from a fresh list; then the rollback, once', async (name, kind, plural) => {
    w = await healerWorld();
    const c = CASES[name]!();
    failNextMark(w, plural);
    // The case's own run, with one more minute before the bad rollout for the mark's second round.
    await c.run(() => void 0, { before: 60 });
    // The known-good mark's writes (the failing revision's crash-loop record is written too, once).
    const marks = revisionPatches(w, plural).filter((q) => JSON.stringify(q.body).includes('amadeus.io/known-good'));
    expect(marks.map((q) => q.status)).toEqual([409, 200]);
    expect(marks[0]!.path).toBe(marks[1]!.path);
    const good = marks[1]!.path.split('/').pop()!;
    expect(annotations(w, kind, good)['amadeus.io/known-good']).toBe('true');
    expect(w.lines().filter((l) => l.msg.startsWith('could not write a known-good mark'))).toHaveLength(1);
    expect(strayTemplateSeenRecords(w, 0, c.name)).toEqual([]); // the template-seen records left out above: once a ReplicaSet, its own workload's only
    expect(w.patches(c.resource).map((p) => p.status)).toEqual([200]);
    expect(summary(w)).toEqual([`${c.kind}/${c.name} rollback/applied/rolled-back`]);
    c.check();
    noAlarm(w);
  });

  test.each([
    ['Deployment', 'ReplicaSet', 'replicasets'],
    ['StatefulSet', 'ControllerRevision', 'controllerrevisions'],
  ] as const)('%s: the crash-loop record on its known-good %s first answered 409 → the revision re-read and the record written; no rollback, one report', async (kind, revisionKind, plural) => {
    w = await healerWorld();
    const name = kind === 'Deployment' ? 'web' : 'db';
    w.kube.put(kind === 'Deployment' ? deployment(name, { namespace: NS, image: 'app:1', replicas: 3, annotations: HEAL }) : statefulSet(name, { namespace: NS, image: 'app:1', replicas: 3, annotations: HEAL }));
    const a = await w.start();
    await w.advance(11 * 60);
    const marks = revisionPatches(w, plural);
    expect(marks.map((q) => q.status)).toEqual([200]);
    const good = marks[0]!.path.split('/').pop()!;
    const template = w.get<V1Deployment>('apps/v1', kind, name).spec!.template;

    // The same revision breaks (a dependency, data): its pods are restarted and crash-loop.
    w.cluster.behave('app:1', 'crash');
    for (const p of w.pods({ app: name })) w.kube.remove('v1', 'Pod', NS, p.metadata!.name!);
    w.kube.failNext({ method: 'PATCH', path: `/apis/apps/v1/namespaces/${NS}/${plural}/${good}` }, 409);
    await w.advance(10 * 60);

    const [, refused, written] = revisionPatches(w, plural);
    expect([refused!.status, written!.status]).toEqual([409, 200]);
    expect(revisionPatches(w, plural)).toHaveLength(3);
    expect(strayTemplateSeenRecords(w, 0, name)).toEqual([]); // the template-seen records left out above: once a ReplicaSet, its own workload's only
    // The retry read the revision again, between the refused record and the written one.
    const at = (q: object) => w.kube.requests.indexOf(q as (typeof w.kube.requests)[number]);
    const reads = w.kube.requests.filter((q) => q.method === 'GET' && q.path === `/apis/apps/v1/namespaces/${NS}/${plural}/${good}` && at(q) > at(refused!) && at(q) < at(written!));
    expect(reads).toHaveLength(1);
    const record = annotations(w, revisionKind, good);
    expect(Date.parse(record['amadeus.io/crash-looped-at']!)).toBeGreaterThan(Date.parse(record['amadeus.io/known-good-at']!));
    expect(a.healer.reports.map((r) => `${r.action}/${r.result}/${r.reason}`)).toEqual(['rollback/refused/revision-known-good']);
    expect(w.patches(`${kind === 'Deployment' ? 'deployments' : 'statefulsets'}/${name}`)).toEqual([]);
    expect(w.get<V1Deployment>('apps/v1', kind, name).spec!.template).toEqual(template);
    expect(w.kube.requests.filter((q) => q.method === 'DELETE')).toEqual([]);
    noAlarm(w);
  });

  test.each(['StatefulSet rollback', 'StatefulSet memory bump'])('%s: the DELETE of the stuck pod first answered 409 → the pods listed again, the stuck one deleted; the patch applied once', async (name) => {
    w = await healerWorld({ marks: name.includes('rollback') });
    const c = CASES[name]!();
    await c.run(() => w.kube.failNext({ method: 'DELETE', path: new RegExp(`^/api/v1/namespaces/${NS}/pods/`) }, 409));
    const pod = name.includes('rollback') ? 'db-2' : 'app-0';
    const deletes = w.kube.requests.filter((q) => q.method === 'DELETE');
    expect(deletes.map((q) => `${q.status} ${q.path}`)).toEqual([409, 200].map((s) => `${s} /api/v1/namespaces/${NS}/pods/${pod}`));
    // Listed again between the two.
    const lists = w.kube.requests.filter((q) => q.method === 'GET' && q.path === `/api/v1/namespaces/${NS}/pods` && q.query.watch === undefined && q.query.labelSelector !== undefined);
    const at = (q: (typeof deletes)[number]) => w.kube.requests.indexOf(q);
    expect(lists.filter((q) => at(q) > at(deletes[0]!) && at(q) < at(deletes[1]!))).toHaveLength(1);
    expect(w.patches(c.resource).map((p) => p.status)).toEqual([200]);
    const applied = w.reports().filter((r) => r.result === 'applied');
    expect(applied).toHaveLength(1);
    expect(applied[0]!.message).toMatch(/; recreated 1 stuck pod\(s\)$/);
    c.check();
    noAlarm(w);
  });

  test('StatefulSet rollback: the stuck pod replaced by a healthy namesake between the list and the DELETE → 409 on its uid precondition, listed again, nothing left to delete; the namesake untouched then and at the next cycle', async () => {
    w = await healerWorld();
    const c = CASES['StatefulSet rollback']!();
    const path = `/api/v1/namespaces/${NS}/pods/db-2`;
    const set = () => w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db');
    let good = '';
    let stuckUid = '';
    let namesakeUid = '';
    const gone: string[] = [];
    w.kube.onChange((ch) => void (ch.kind === 'Pod' && ch.type === 'DELETED' && gone.push(ch.object.metadata!.uid!)));
    await c.run(() => {
      good = set().status!.updateRevision!;
      // After the rollback patch, before its DELETE lands: db-2 is gone and back (someone deleted
      // it, the controller recreated it from the restored template), Ready at the known-good revision.
      w.kube.beforeNext({ method: 'DELETE', path }, () => {
        const stuck = w.get<V1Pod>('v1', 'Pod', 'db-2');
        stuckUid = stuck.metadata!.uid!;
        const namesake = structuredClone(stuck);
        delete namesake.metadata!.uid;
        delete namesake.metadata!.resourceVersion;
        delete namesake.metadata!.creationTimestamp;
        namesake.metadata!.labels = { ...namesake.metadata!.labels, 'controller-revision-hash': good };
        namesake.spec!.containers[0]!.image = 'db:1';
        namesake.status = w.get<V1Pod>('v1', 'Pod', 'db-1').status; // Running, Ready, no restarts
        w.kube.remove('v1', 'Pod', NS, 'db-2');
        namesakeUid = w.kube.put(namesake).metadata!.uid!;
      });
    });
    expect(stuckUid).toMatch(/^[0-9a-f-]{36}$/);
    expect(namesakeUid).toMatch(/^[0-9a-f-]{36}$/);
    expect(namesakeUid).not.toBe(stuckUid);

    // One DELETE, for the pod listed (its uid), refused as the server refuses it: never retried blind.
    const deletes = w.kube.requests.filter((q) => q.method === 'DELETE');
    expect(deletes.map((q) => `${q.status} ${q.path}`)).toEqual([`409 ${path}`]);
    expect(deletes[0]!.body).toMatchObject({ preconditions: { uid: stuckUid } });
    expect(deleted(w)).toEqual([]);
    // Listed again after the 409, before the action was recorded: the re-decision found nothing stuck.
    const at = (q: (typeof deletes)[number]) => w.kube.requests.indexOf(q);
    const event = w.kube.requests.find((q) => q.method === 'POST' && q.path === `/api/v1/namespaces/${NS}/events`)!;
    const lists = w.kube.requests.filter((q) => q.method === 'GET' && q.path === `/api/v1/namespaces/${NS}/pods` && q.query.watch === undefined && q.query.labelSelector !== undefined);
    expect(lists.filter((q) => at(q) > at(deletes[0]!) && at(q) < at(event))).toHaveLength(1);

    // The rollback once, and recorded as just that: no pod recreated, no failure to recreate one.
    expect(w.patches(c.resource).map((p) => p.status)).toEqual([200]);
    expect(summary(w)).toEqual(['StatefulSet/db rollback/applied/rolled-back']);
    const message = w.reports()[0]!.message;
    expect(message).toMatch(new RegExp(`^rolled back from db-[a-z0-9]+ to revision \\d+ \\(ControllerRevision ${good}\\)$`));
    expect(w.events().map((e) => `${e.type} ${e.reason} ${e.message!.endsWith(`: ${message}`)}`)).toEqual(['Normal RolledBack true']);
    expect(w.notes().map((n) => `${n.severity} ${n.title.endsWith(` — ${message}`)}`)).toEqual(['info true']);
    expect(w.lines().filter((l) => /recreate/.test(l.msg))).toEqual([]);
    const s = set();
    expect(JSON.parse(s.metadata!.annotations!['amadeus.io/rolled-back-from']!)).toHaveLength(1);
    expect(JSON.parse(s.metadata!.annotations!['amadeus.io/last-rollback']!).keys).toHaveLength(1);
    expect(s.status).toMatchObject({ updateRevision: good, currentRevision: good, readyReplicas: 3, updatedReplicas: 3 });
    const pods = () => w.pods().map((p) => `${p.metadata!.name} ${p.metadata!.uid === namesakeUid} ${p.spec!.containers[0]!.image} ${ready(p)}`);
    const settled = ['db-0 false db:1 true', 'db-1 false db:1 true', 'db-2 true db:1 true'];
    expect(pods()).toEqual(settled);
    noAlarm(w);

    // The next cycle, by a restarted replica (a fresh informer, nothing remembered): it sees every
    // pod again, marks and re-decides, and leaves the namesake and the StatefulSet alone.
    const requests = w.kube.requests.length;
    await w.stop(w.replicas[0]!);
    await w.start({ name: 'again' });
    await w.advance(30 * 60);
    const later = w.kube.requests.slice(requests);
    expect(later.filter((q) => q.method === 'DELETE' || (q.method === 'PATCH' && q.path.includes('/statefulsets/')))).toEqual([]);
    expect(gone).toContain(stuckUid);
    expect(gone).not.toContain(namesakeUid);
    expect(pods()).toEqual(settled);
    expect(summary(w)).toEqual(['StatefulSet/db rollback/applied/rolled-back']);
    expect(w.events()).toHaveLength(1);
    noAlarm(w);
  });
});
