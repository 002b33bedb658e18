/**
 * `--heal-pod-selector` scopes every write, the known-good bookkeeping included (review 11, G). A
 * workload opted in (`amadeus.io/heal`) none of whose pods the selector selects is out of the
 * healer's view: it is never healed, and its revisions get no known-good mark, no record of the
 * template first seen, and no removal of marks copied onto it — the leader's rounds write nothing to
 * its objects, while a selected workload beside it is marked as usual.
 */
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { deployment, statefulSet } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS, replicaSetRunning, replicaSetsOf, templateSeenRecords } from '../test-support/healer-world.js';
import { HEAL_ANNOTATIONS, HEAL_RULES } from './rules.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const { knownGood: KNOWN_GOOD, templateSeen: TEMPLATE_SEEN } = HEAL_ANNOTATIONS;
const WINDOW = HEAL_RULES.knownGoodSeconds;
const storefront = (app: string) => ({ app, team: 'storefront' });
const payments = (app: string) => ({ app, team: 'payments' });
/** The objects of the workloads the selector leaves out: their names (and their ReplicaSets', pods', ControllerRevisions') start so. */
const OUT_OF_SCOPE = /^(api|worker|db)(-|$)/;
/** Every write (but Events and the Lease) to an object of an out-of-scope workload, from request `from` on: `METHOD path status`. */
const writesOutOfScope = (from = 0) =>
  w.kube.requests
    .slice(from)
    .filter((q) => ['PATCH', 'PUT', 'POST', 'DELETE'].includes(q.method) && OUT_OF_SCOPE.test(q.path.split('?')[0]!.split('/').at(-1)!))
    .map((q) => `${q.method} ${q.path} ${q.status}`);

describe('--heal-pod-selector: a workload whose pods it selects none of gets no bookkeeping writes either', () => {
  test('web (selected) is marked known-good as usual; api, worker (marks copied onto it by kubectl rollout undo) and StatefulSet db, opted in but their pods not selected, get no write over an hour of known-good rounds and a release of api', async () => {
    w = await healerWorld();
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 2, labels: storefront('web'), annotations: HEAL }));
    w.kube.put(deployment('api', { namespace: NS, image: 'api:1', replicas: 2, labels: payments('api'), annotations: HEAL }));
    // Marks a `kubectl rollout undo` copied from a ReplicaSet marked before the selector was set:
    // a leader in scope removes them (`dropRevisionMarks`); out of scope, they are left as they are.
    const copied = { [KNOWN_GOOD]: 'true', [HEAL_ANNOTATIONS.knownGoodAt]: '2024-05-01T00:00:00.000Z', [HEAL_ANNOTATIONS.knownGoodFor]: 'a-replicaset-long-gone' };
    w.kube.put(deployment('worker', { namespace: NS, image: 'worker:1', replicas: 1, labels: payments('worker'), annotations: { ...HEAL, ...copied } }));
    w.kube.put(statefulSet('db', { namespace: NS, image: 'db:1', replicas: 2, labels: payments('db'), annotations: HEAL }));
    await w.start({ podSelector: 'team=storefront' });
    const from = 0;

    // Several known-good rounds (one a minute): web earns its mark.
    await w.advance(WINDOW + 5 * 60);
    const web = replicaSetRunning(w, 'web', 'web:1')!;
    expect(web.metadata!.annotations![KNOWN_GOOD]).toBe('true');
    expect(templateSeenRecords(w, from)).toEqual([`${web.metadata!.name} 200`]);
    expect(w.patches(`replicasets/${web.metadata!.name}`).map((q) => q.status)).toEqual([200, 200]); // the template first seen, then the mark

    // A release of api, and more rounds: its new ReplicaSet is not written either.
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'api', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'api:2'));
    await w.advance(2 * WINDOW + 30 * 60);
    expect(replicaSetsOf(w, 'api')).toHaveLength(2);
    expect(w.pods({ app: 'api' }).every((p) => p.spec!.containers[0]!.image === 'api:2')).toBe(true);

    expect(writesOutOfScope(from)).toEqual([]);
    for (const rs of [...replicaSetsOf(w, 'api'), ...replicaSetsOf(w, 'worker')]) {
      expect(Object.keys(rs.metadata!.annotations ?? {}).filter((k) => k === TEMPLATE_SEEN || k === KNOWN_GOOD)).toEqual(rs.metadata!.name!.startsWith('worker') ? [KNOWN_GOOD] : []);
    }
    expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'worker').metadata!.annotations).toMatchObject(copied);
    expect(w.kube.list<V1ReplicaSet>('apps/v1', 'ControllerRevision', NS).every((cr) => cr.metadata!.annotations?.[KNOWN_GOOD] === undefined)).toBe(true);
    // Nothing said about them either.
    expect(w.events().filter((e) => OUT_OF_SCOPE.test(e.involvedObject.name!))).toEqual([]);
    // web, beside them, as ever: its mark stands, nothing else written to it.
    expect(replicaSetRunning(w, 'web', 'web:1')!.metadata!.annotations![KNOWN_GOOD]).toBe('true');
    expect(w.patches('deployments/web')).toEqual([]);
  });
});
