/**
 * A StatefulSet rollback finished by the next leader (its stuck pods recreated: ADR 0001, 5) under
 * `OnDelete`, where the controller replaces no pod and a delete recreates the pod from whatever the
 * template is then. The replica that rolled db:2 back stopped before it deleted db-2; an operator
 * applied db:3 meanwhile, to roll out pod by pod. The next leader must not delete db-2: the pod would
 * come back at db:3, rolled out by the healer where the operator has not rolled it (as a memory
 * raise never deletes a pod whose delete would roll out more than the raise). With the template
 * still the rollback's, it finishes as before.
 */
import type { V1ControllerRevision, V1Lease, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { statefulSet } from '../test-support/cluster/objects.js';
import { templateHash } from './known-good.js';
import { HEAL, healerWorld, LEASE, NS, podReady as ready, reportSummary, type HealerWorld } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const holder = (w: HealerWorld) => w.get<V1Lease>('coordination.k8s.io/v1', 'Lease', LEASE.name).spec!.holderIdentity;
const set = () => w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db');
const podsOf = (w: HealerWorld) => w.pods({ app: 'db' }).map((p: V1Pod) => `${p.metadata!.name} ${p.spec!.containers[0]!.image} ${ready(p)}`);
const deletes = (w: HealerWorld) => w.kube.requests.filter((q) => q.method === 'DELETE').map((q) => q.path);

const MARK = 'amadeus.io/last-rollback';
const mark = () => JSON.parse(set().metadata!.annotations![MARK]!) as Record<string, unknown>;
/** Rewrites the rollback's mark as another build would have written it. */
const remark = (edit: (m: Record<string, unknown>) => void) =>
  w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => {
    const m = JSON.parse(s.metadata!.annotations![MARK]!) as Record<string, unknown>;
    edit(m);
    s.metadata!.annotations![MARK] = JSON.stringify(m);
  });

/** db (OnDelete, 3 pods) known-good at db:1; db:2 applied and rolled onto db-2 by the operator; leader a rolls it back and is cut off before deleting db-2. */
async function rolledBackLeaderGone(): Promise<{ good: string }> {
  w = await healerWorld();
  w.cluster.behave('db:2', { run: 'crash', log: 'starting db:2\nfatal: unknown flag --wal-mode\n' });
  w.kube.put(statefulSet('db', { namespace: NS, image: 'db:1', replicas: 3, annotations: HEAL, updateStrategy: { type: 'OnDelete' } }));
  const a = await w.start({ name: 'a', elect: true });
  await w.start({ name: 'b', elect: true });
  await w.advance(11 * 60);
  const good = set().status!.updateRevision!;
  expect(w.get<V1ControllerRevision>('apps/v1', 'ControllerRevision', good).metadata!.annotations!['amadeus.io/known-good']).toBe('true');

  let dead = false;
  void a.cutAfter('patchNamespacedStatefulSet').then(() => (dead = true));
  w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => void (s.spec!.template.spec!.containers[0]!.image = 'db:2'));
  await w.advance(60);
  w.kube.remove('v1', 'Pod', NS, 'db-2'); // the operator rolls db:2 onto the highest ordinal
  expect(await w.advance(10 * 60, { until: () => dead })).toBe(true);
  expect(set().spec!.template.spec!.containers[0]!.image).toBe('db:1');
  expect(deletes(w)).toEqual([]);
  return { good };
}

test('OnDelete: leader a rolls db:2 back and is cut off before deleting db-2; the operator applies db:3 meanwhile → the next leader does not delete db-2 (it would come back at db:3, which nobody rolled onto it)', async () => {
  await rolledBackLeaderGone();
  // The operator's next release, to be rolled out pod by pod (OnDelete: nothing moves until a pod is deleted).
  w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => void (s.spec!.template.spec!.containers[0]!.image = 'db:3'));
  await w.advance(20 * 60);

  expect(holder(w)).toBe('b');
  // db-2 left where the operator put it; no pod runs db:3 until the operator rolls it.
  expect(deletes(w)).toEqual([]);
  expect(podsOf(w)).toEqual(['db-0 db:1 true', 'db-1 db:1 true', 'db-2 db:2 false']);
  expect(set().spec!.template.spec!.containers[0]!.image).toBe('db:3');
  expect(w.patches('statefulsets/db').map((p) => p.status)).toEqual([200]);
  // Said, not done (once a quarter of an hour): the pod keeps crash-looping until the operator rolls db:3 out.
  expect(reportSummary(w)).toEqual(Array(2).fill('StatefulSet/db rollback/refused/template-changed-since-rollback'));
  expect(w.reports()[0]!.message).toContain('pods stuck at');
  expect(w.lines().filter((l) => l.level === 'error')).toEqual([]);
});

test('OnDelete: the same with the template still the rollback\'s → the next leader deletes db-2, which comes back at db:1', async () => {
  const { good } = await rolledBackLeaderGone();
  await w.advance(20 * 60);

  expect(holder(w)).toBe('b');
  expect(deletes(w)).toEqual([`/api/v1/namespaces/${NS}/pods/db-2`]);
  expect(reportSummary(w)).toEqual(['StatefulSet/db rollback/applied/recreated-stuck-pods']);
  expect(podsOf(w)).toEqual(['db-0 db:1 true', 'db-1 db:1 true', 'db-2 db:1 true']);
  expect(w.pods({ app: 'db' }).every((p) => p.metadata!.labels!['controller-revision-hash'] === good)).toBe(true);
  expect(w.patches('statefulsets/db').map((p) => p.status)).toEqual([200]);
});

test('OnDelete: the rollback\'s mark names the ControllerRevision restored; a mark of the build before it (`to` a template hash) still finishes', async () => {
  const { good } = await rolledBackLeaderGone();
  expect(mark().to).toBe(`ControllerRevision/${good}`);
  remark((m) => (m.to = templateHash(set().spec!.template)));
  await w.advance(20 * 60);

  expect(holder(w)).toBe('b');
  expect(deletes(w)).toEqual([`/api/v1/namespaces/${NS}/pods/db-2`]);
  expect(reportSummary(w)).toEqual(['StatefulSet/db rollback/applied/recreated-stuck-pods']);
  expect(podsOf(w)).toEqual(['db-0 db:1 true', 'db-1 db:1 true', 'db-2 db:1 true']);
});

test('OnDelete: a mark written before the template was recorded (no `to`) → refused and said, db-2 not deleted', async () => {
  await rolledBackLeaderGone();
  remark((m) => delete m.to);
  await w.advance(20 * 60);

  expect(holder(w)).toBe('b');
  expect(deletes(w)).toEqual([]);
  expect(podsOf(w)).toEqual(['db-0 db:1 true', 'db-1 db:1 true', 'db-2 db:2 false']);
  expect(reportSummary(w)).toEqual(Array(2).fill('StatefulSet/db rollback/refused/template-changed-since-rollback'));
  expect(w.reports()[0]!.message).toContain('recorded by an earlier Amadeus');
});

test('OnDelete: the operator applies db:3 between the next leader\'s look at the set and its deletes (as it lists the pods) → db-2 not deleted (it was, and came back at db:3, before)', async () => {
  await rolledBackLeaderGone();
  w.kube.beforeNext({ method: 'GET', path: `/api/v1/namespaces/${NS}/pods` }, () =>
    w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => void (s.spec!.template.spec!.containers[0]!.image = 'db:3')),
  );
  await w.advance(20 * 60);

  expect(holder(w)).toBe('b');
  expect(set().spec!.template.spec!.containers[0]!.image).toBe('db:3');
  expect(deletes(w)).toEqual([]);
  expect(podsOf(w)).toEqual(['db-0 db:1 true', 'db-1 db:1 true', 'db-2 db:2 false']);
  expect(w.lines().filter((l) => l.level === 'error')).toEqual([]);
});
