/**
 * Two StatefulSets whose label selectors overlap, on the simulated cluster with the real Healer:
 * `db` selects `app=db`, and `db-analytics` (app=db, role=analytics) runs pods that `db`'s selector
 * matches too, and ControllerRevisions it lists too. Only ownership (the controller reference, by
 * uid) tells them apart. `db-analytics` crash-looping must never be taken for `db`'s release: `db`'s
 * healthy db:2, not yet known-good, is not rolled back to db:1, none of its pods is deleted; and
 * when `db`'s own db:3 crash-loops, it goes back to a revision of its own, only its stuck pod is
 * deleted, and of `db-analytics` (its pods never Ready) no pod is deleted and nothing written but
 * the record of its own crash loop on its own revision.
 */
import type { V1ControllerRevision, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { statefulSet } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, NS, reportSummary, type HealerWorld } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const set = (name: string) => w.get<V1StatefulSet>('apps/v1', 'StatefulSet', name);
const image = (name: string) => set(name).spec!.template.spec!.containers[0]!.image;
const uids = (pods: V1Pod[]) => pods.map((p) => p.metadata!.uid!).sort();
const analyticsPods = () => w.pods({ role: 'analytics' });
/** Each kind of report once (a refusal is said again every quarter of an hour). */
const said = () => [...new Set(reportSummary(w))];
const dbPods = () => w.pods({ app: 'db' }).filter((p) => p.metadata!.labels!.role === undefined);

test("db-analytics, whose pods db's selector matches, crash-loops beside db's healthy db:2 → db:2 is not rolled back, nothing of db's touched; db's own db:3 crash-looping → back to db's known-good revision, only db-2 deleted; no pod of db-analytics deleted, its template never written", async () => {
  w = await healerWorld();
  w.cluster.behave('db-analytics:1', { run: 'crash', log: 'starting analytics\npanic: schema mismatch\n' });
  w.cluster.behave('db:3', { run: 'crash', log: 'starting db:3\nfatal: unknown flag --wal-mode\n' });
  w.kube.put(statefulSet('db', { namespace: NS, image: 'db:1', replicas: 3, annotations: HEAL }));
  const a = await w.start({ name: 'a' });
  await w.advance(11 * 60);
  const first = set('db').status!.updateRevision!;
  expect(w.get<V1ControllerRevision>('apps/v1', 'ControllerRevision', first).metadata!.annotations!['amadeus.io/known-good']).toBe('true');

  // db:2 released, healthy; db-analytics appears beside it, opted in too, and crash-loops from its start.
  w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => void (s.spec!.template.spec!.containers[0]!.image = 'db:2'));
  w.kube.put(statefulSet('db-analytics', { namespace: NS, image: 'db-analytics:1', replicas: 2, labels: { app: 'db', role: 'analytics' }, annotations: HEAL }));
  await w.advance(5 * 60);
  const second = set('db').status!.updateRevision!;
  expect(second).not.toBe(first);
  const db2Pods = uids(dbPods());
  expect(dbPods().map((p) => p.spec!.containers[0]!.image)).toEqual(['db:2', 'db:2', 'db:2']);
  expect(analyticsPods().some((p) => (p.status!.containerStatuses![0]!.restartCount ?? 0) >= 3)).toBe(true);
  await w.advance(30 * 60);

  // db-analytics' crash loop is its own (nothing to roll back to); db is not touched at all.
  expect(image('db')).toBe('db:2');
  expect(uids(dbPods())).toEqual(db2Pods);
  expect(w.patches('statefulsets/db')).toEqual([]);
  // Its first pod alone, on a node that never ran it Ready (OrderedReady makes no second): the node rule refuses first.
  expect(said()).toEqual(['StatefulSet/db-analytics rollback/refused/one-node']);
  expect(w.get<V1ControllerRevision>('apps/v1', 'ControllerRevision', second).metadata!.annotations!['amadeus.io/known-good']).toBe('true');

  // db's own bad release: rolled back to db:2 (its newest known-good), db-2 alone deleted.
  const analytics = uids(analyticsPods());
  const analyticsSpec = set('db-analytics').spec;
  w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => void (s.spec!.template.spec!.containers[0]!.image = 'db:3'));
  await w.advance(10 * 60);

  expect(image('db')).toBe('db:2');
  expect(said()).toEqual(['StatefulSet/db-analytics rollback/refused/one-node', 'StatefulSet/db rollback/applied/rolled-back']);
  expect(a.healer.reports.find((r) => r.workload.name === 'db')!.message).toMatch(new RegExp(`^rolled back from db-[a-z0-9]+ to revision \\d+ \\(ControllerRevision ${second}\\); recreated 1 stuck pod\\(s\\)$`));
  expect(w.kube.requests.filter((q) => q.method === 'DELETE').map((q) => q.path)).toEqual([`/api/v1/namespaces/${NS}/pods/db-2`]);
  expect(dbPods().map((p) => p.spec!.containers[0]!.image)).toEqual(['db:2', 'db:2', 'db:2']);
  // db-analytics: every pod kept, its template never written; its revision carries only the record of its own crash loop.
  expect(uids(analyticsPods())).toEqual(analytics);
  expect(set('db-analytics').spec).toEqual(analyticsSpec);
  expect(w.patches('statefulsets/db-analytics')).toEqual([]);
  const theirs = w.kube.requests.filter((q) => q.method !== 'GET' && q.path.includes('controllerrevisions/db-analytics'));
  expect(theirs.map((q) => Object.keys((q.body as { metadata: { annotations: object } }).metadata.annotations))).toEqual([['amadeus.io/crash-looped-at']]);
  expect(w.lines().filter((l) => l.level === 'error')).toEqual([]);
});
