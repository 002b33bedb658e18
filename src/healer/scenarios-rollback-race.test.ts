/**
 * Multi-step scenarios of the races around a rollback's decision, on the simulated cluster: real
 * controllers, a kubelet stand-in, and the real Healer(s) talking HTTP to the fake API server.
 *
 * - The Deployment rollback's target ReplicaSet is read raw right before the patch (fd9f4d2); what
 *   the healer listed and planned on may have been replaced (deleted, re-created under its name)
 *   or changed (its known-good mark withdrawn) by then. The rollback must be re-planned on a fresh
 *   read — never a template from another object, or from one that no longer qualifies. A
 *   StatefulSet's target ControllerRevision is read again the same way (review 11, D).
 * - A `restart-only` refusal (c922552) decided by a leader that loses its Lease before it says so:
 *   the new leader decides the same, and the cluster hears it once; nothing is written.
 */
import type { V1ControllerRevision, V1Deployment, V1Lease, V1PodTemplateSpec, V1ReplicaSet, V1StatefulSet } from '@kubernetes/client-node';
import { configMap, deployment, statefulSet } from '../test-support/cluster/objects.js';
import { apiWrites, configReadingWeb, HEAL, healerWorld, type HealerWorld, isTemplateSeenRecord, LEASE, NS, replicaSetRunning, replicaSetsOf, reportSummary, templateSeenRecords, podReady as ready } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const summary = reportSummary;
const rsRunning = (w: HealerWorld, image: string) => replicaSetRunning(w, 'web', image)!;
const image = (t: V1PodTemplateSpec | undefined) => t!.spec!.containers[0]!.image;
const rsReads = (w: HealerWorld, from: number) =>
  w.kube.requests
    .slice(from)
    .filter((q) => q.method === 'GET' && q.path.startsWith(`/apis/apps/v1/namespaces/${NS}/replicasets/`))
    .map((q) => `${q.path.split('/').pop()} ${q.status}`);

describe("the rollback target changes between the healer's list and its raw read", () => {
  // What happens to the newest known-good ReplicaSet (web:1b's) at the raw read of it, just before
  // it is served. Either way the re-plan's target is web:1's, the older known-good revision.
  const races = {
    // Deleted and re-created under its name (a restore from a backup, a person's `kubectl replace
    // --force`): another object, another uid, another template, no mark.
    'replaced by a namesake with another template': (w: HealerWorld, rs: V1ReplicaSet) => {
      const namesake = structuredClone(rs);
      delete namesake.metadata!.uid;
      delete namesake.metadata!.resourceVersion;
      delete namesake.metadata!.creationTimestamp;
      delete namesake.status;
      for (const k of Object.keys(namesake.metadata!.annotations!)) if (k.startsWith('amadeus.io/')) delete namesake.metadata!.annotations![k];
      namesake.spec!.template!.spec!.containers[0]!.image = 'web:1b-rebuilt';
      namesake.spec!.replicas = 0;
      w.kube.remove('apps/v1', 'ReplicaSet', NS, rs.metadata!.name!);
      w.kube.put(namesake);
    },
    // The same object, its known-good mark withdrawn by a person who knows that release is bad
    // after all (`kubectl annotate rs … amadeus.io/known-good-`): no rollback target any more.
    'its known-good mark withdrawn': (w: HealerWorld, rs: V1ReplicaSet) =>
      void w.edit<V1ReplicaSet>('apps/v1', 'ReplicaSet', rs.metadata!.name!, (x) => {
        delete x.metadata!.annotations!['amadeus.io/known-good'];
        delete x.metadata!.annotations!['amadeus.io/known-good-at'];
        delete x.metadata!.annotations!['amadeus.io/known-good-for'];
      }),
  };

  test.each(Object.keys(races) as (keyof typeof races)[])(
    'web:3 crash-loops; the target web:1b is %s → re-read and re-planned: rolled back to web:1 in one whole patch, never to what was listed',
    async (how) => {
      // Two nodes for two replicas: the rollout's surge pod lands beside a Ready pod of the old revision (the node runs web), as the rollback's node rule wants.
      w = await healerWorld({ nodes: ['node-1', 'node-2'] });
      w.cluster.behave('web:3', { run: 'crash', log: 'panic: nil map\n' });
      w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 2, annotations: HEAL }));
      const a = await w.start();
      await w.advance(11 * 60);
      w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:1b'));
      await w.advance(11 * 60);
      const one = rsRunning(w, 'web:1');
      const oneB = rsRunning(w, 'web:1b');
      for (const rs of [one, oneB]) expect(rs.metadata!.annotations!['amadeus.io/known-good']).toBe('true');
      expect(oneB.metadata!.annotations!['deployment.kubernetes.io/revision']).toBe('2');

      // The race: at the healer's raw read of web:1b's ReplicaSet, after it listed and picked it.
      let raced = 0;
      w.kube.beforeNext({ method: 'GET', path: new RegExp(`/replicasets/${oneB.metadata!.name}$`) }, () => {
        raced++;
        races[how](w, w.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', oneB.metadata!.name!));
      });
      const from = w.kube.requests.length;
      w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:3'));
      await w.advance(5 * 60);
      expect(raced).toBe(1);

      // Re-planned: the raw read of web:1b's, refused; then web:1's, read and restored.
      const three = rsRunning(w, 'web:3');
      expect(rsReads(w, from)).toEqual([`${three.metadata!.name} 200`, `${oneB.metadata!.name} 200`, `${one.metadata!.name} 200`]);
      expect(summary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
      expect(a.healer.reports[0]!.message).toBe(`rolled back from revision 3 to revision 1 (ReplicaSet ${one.metadata!.name})`);
      // One patch, whole: web:1's template and the marks together.
      const patches = w.patches('deployments/web');
      expect(patches.map((p) => p.status)).toEqual([200]);
      const ops = patches[0]!.body as { op: string; path: string; value: V1PodTemplateSpec }[];
      expect(image(ops.find((op) => op.op !== 'test' && op.path === '/spec/template')!.value)).toBe('web:1');
      expect(JSON.stringify(ops)).not.toContain('web:1b');
      const d = w.get<V1Deployment>('apps/v1', 'Deployment', 'web');
      expect(image(d.spec!.template)).toBe('web:1');
      expect(JSON.parse(d.metadata!.annotations!['amadeus.io/rolled-back-from']!)).toHaveLength(1);
      expect(JSON.parse(d.metadata!.annotations!['amadeus.io/last-rollback']!).keys).toHaveLength(1);
      // The controller took web:1's ReplicaSet back (renumbered 4): no ReplicaSet made for a
      // template that was never web:1's; every pod web:1 and Ready.
      expect(rsRunning(w, 'web:1').metadata).toMatchObject({ uid: one.metadata!.uid, annotations: { 'deployment.kubernetes.io/revision': '4' } });
      expect(replicaSetsOf(w, 'web').map((rs) => image(rs.spec!.template)).sort()).toEqual(['web:1', how.startsWith('replaced') ? 'web:1b-rebuilt' : 'web:1b', 'web:3']);
      expect(w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${ready(p)}`)).toEqual(['web:1 true', 'web:1 true']);
      expect(w.events().map((e) => `${e.involvedObject.name} ${e.type} ${e.reason}`)).toEqual(['web Normal RolledBack']);

      // An hour on: nothing more.
      await w.advance(60 * 60);
      expect(summary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
      expect(w.patches('deployments/web')).toHaveLength(1);
      expect(w.reports().filter((r) => r.result === 'failed')).toEqual([]);
    },
  );
});

describe('the StatefulSet rollback target vetoed between the list and the patch (review 11, D)', () => {
  // The ControllerRevision a StatefulSet rollback goes to is read again right before the patch,
  // as a Deployment's ReplicaSet is: an operator's veto (`amadeus.io/known-good: "false"`) landing
  // after the list — here while the leader reads the failing pod's logs — is a conflict, re-planned.
  const veto = (w: HealerWorld, name: string) =>
    w.kube.beforeNext({ method: 'GET', path: /\/pods\/db-\d+\/log$/ }, () =>
      void w.edit<V1ControllerRevision>('apps/v1', 'ControllerRevision', name, (cr) => void (cr.metadata!.annotations!['amadeus.io/known-good'] = 'false')),
    );
  const setImage = (w: HealerWorld) => image(w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db').spec!.template);
  const revisionReads = (w: HealerWorld, from: number) =>
    w.kube.requests
      .slice(from)
      .filter((q) => q.method === 'GET' && (q.path.includes('/controllerrevisions/') || q.path.endsWith('/log')))
      .map((q) => `${q.path.includes('/log') ? 'log' : q.path.split('/').pop()} ${q.status}`);

  test('db:2 crash-loops; db:1, its only known-good revision, is vetoed while the leader reads the logs → re-read, refused as `no-known-good` (as a Deployment is): the set stays at db:2, no pod deleted', async () => {
    w = await healerWorld();
    w.cluster.behave('db:2', { run: 'crash', log: 'starting db:2\nfatal: unknown flag --wal-mode\n' });
    w.kube.put(statefulSet('db', { namespace: NS, image: 'db:1', replicas: 3, annotations: HEAL }));
    const a = await w.start();
    await w.advance(11 * 60);
    const good = w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db').status!.updateRevision!;
    expect(w.get<V1ControllerRevision>('apps/v1', 'ControllerRevision', good).metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    veto(w, good);
    const from = w.kube.requests.length;
    w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (x) => void (x.spec!.template.spec!.containers[0]!.image = 'db:2'));
    await w.advance(5 * 60);
    expect(w.get<V1ControllerRevision>('apps/v1', 'ControllerRevision', good).metadata!.annotations!['amadeus.io/known-good']).toBe('false');

    // The target read again after the logs (the veto served), refused, and the decision re-planned.
    expect(revisionReads(w, from).slice(0, 2)).toEqual(['log 200', `${good} 200`]);
    expect(summary(w)).toEqual(['StatefulSet/db rollback/refused/no-known-good']);
    expect(a.healer.reports[0]!.message).toMatch(/^no rollback: /);
    expect(w.patches('statefulsets/db')).toEqual([]);
    expect(setImage(w)).toBe('db:2');
    expect(w.kube.requests.filter((q) => q.method === 'DELETE')).toEqual([]);
  });

  test('db:3 crash-loops; db:2, the newest known-good revision, is vetoed while the leader reads the logs → re-planned: rolled back to db:1, never to db:2', async () => {
    w = await healerWorld();
    w.cluster.behave('db:3', { run: 'crash', log: 'starting db:3\nfatal: unknown flag --wal-mode\n' });
    w.kube.put(statefulSet('db', { namespace: NS, image: 'db:1', replicas: 3, annotations: HEAL }));
    const a = await w.start();
    await w.advance(11 * 60);
    const one = w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db').status!.updateRevision!;
    w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (x) => void (x.spec!.template.spec!.containers[0]!.image = 'db:2'));
    await w.advance(11 * 60);
    const two = w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db').status!.updateRevision!;
    for (const r of [one, two]) expect(w.get<V1ControllerRevision>('apps/v1', 'ControllerRevision', r).metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    veto(w, two);
    const from = w.kube.requests.length;
    w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (x) => void (x.spec!.template.spec!.containers[0]!.image = 'db:3'));
    await w.advance(5 * 60);

    // db:2's read after the logs refused; re-planned, db:1's read and restored, in one patch.
    expect(revisionReads(w, from).filter((x) => !x.startsWith('log')).slice(0, 2)).toEqual([`${two} 200`, `${one} 200`]);
    expect(summary(w)[0]).toBe('StatefulSet/db rollback/applied/rolled-back');
    expect(a.healer.reports[0]!.message).toMatch(new RegExp(`to revision 1 \\(ControllerRevision ${one}\\); recreated 1 stuck pod\\(s\\)$`));
    const patches = w.patches('statefulsets/db');
    expect(patches.map((p) => p.status)).toEqual([200]);
    expect(JSON.stringify(patches[0]!.body)).not.toContain('db:2');
    await w.advance(10 * 60);
    expect(setImage(w)).toBe('db:1');
    expect(w.pods({ app: 'db' }).map((p) => `${p.spec!.containers[0]!.image} ${ready(p)}`)).toEqual(['db:1 true', 'db:1 true', 'db:1 true']);
  });
});

describe('a restart-only crash loop decided by a leader that loses its Lease before it acts', () => {
  const holder = (w: HealerWorld) => w.get<V1Lease>('coordination.k8s.io/v1', 'Lease', LEASE.name).spec!.holderIdentity;

  test('a bad ConfigMap, then `kubectl rollout restart`: leader a decides `restart-only`, then stalls past its Lease; b takes over and decides the same; a, back, says nothing and writes nothing — one refusal, no rollback', async () => {
    w = await healerWorld();
    const d = configReadingWeb(w);
    w.kube.put(d);
    const a = await w.start({ name: 'a', elect: true });
    const b = await w.start({ name: 'b', elect: true });
    await w.advance(11 * 60);
    expect(a.healer.isLeader).toBe(true);
    expect(b.healer.isLeader).toBe(false);
    const good = replicaSetsOf(w, 'web')[0]!;
    expect(good.metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    const template = w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template;
    const oldPods = w.pods({ app: 'web' }).map((p) => p.metadata!.uid!).sort();

    // a's decision is made (the refusal is the outcome); it is held on the crash-looping
    // container's logs, read to go with its report, and pauses there (a GC, a partition).
    const stall = a.stallNext('readNamespacedPodLog');
    let held = false;
    void stall.reached.then(() => (held = true));
    w.kube.put(configMap('web-config', { 'app.yaml': 'mode: turbo\n' }, NS));
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (x) => void (x.spec!.template.metadata!.annotations = { ...x.spec!.template.metadata!.annotations, 'kubectl.kubernetes.io/restartedAt': '2024-05-14T09:12:00Z' }));
    const from = w.kube.requests.length;
    expect(await w.advance(5 * 60, { until: () => held })).toBe(true);
    expect(a.calls.filter((c) => c === 'listNamespacedReplicaSet').length).toBeGreaterThan(0);
    expect(w.reports()).toEqual([]);
    a.electing = false;
    await w.advance(3 * 60);
    expect(holder(w)).toBe('b');
    expect(a.healer.isLeader).toBe(false);
    // b, leading, found the failure on its resync and came to the same decision.
    expect(b.healer.reports.map((r) => `${r.action}/${r.result}/${r.reason}`)).toEqual(['rollback/refused/restart-only']);
    expect(b.healer.reports[0]!.message).toBe(
      'no rollback: revision 2 differs from revision 1 only in restart markers (kubectl rollout restart, Stakater Reloader): the crash loop comes from what the restarted pods read again — a ConfigMap, a Secret, a dependency — and a rollback would restart them into the same; fix that',
    );

    // a wakes up with its decision in hand: it no longer leads, so it neither acts nor says it.
    stall.release();
    a.electing = true;
    await w.advance(10 * 60);
    expect(a.healer.isLeader).toBe(false);
    expect(a.healer.reports).toEqual([]);
    // Its decision, and any queued behind it for the same workload, given up.
    expect(a.lines.filter((l) => l.msg === 'this replica no longer leads: rollback of Deployment/web left to the leader').length).toBeGreaterThanOrEqual(1);
    expect(a.lines.filter((l) => l.msg.startsWith('heal '))).toEqual([]);
    expect(summary(w)).toEqual(['Deployment/web rollback/refused/restart-only']);
    expect(w.events().map((e) => `${e.involvedObject.name} ${e.type} ${e.reason} by ${e.reportingInstance}`)).toEqual(['web Warning HealRefused by b']);
    expect(w.notes().map((n) => `${n.severity} ${n.fields?.reason}`)).toEqual(['warning restart-only']);
    expect(b.notes).toHaveLength(1);
    // One write in all but bookkeeping for the next leader (the restart's ReplicaSet's template as
    // first seen): the crash loop recorded on that ReplicaSet, by a while it led and decided, found
    // there by b and not written again. No rollback, half or whole, by either.
    const restart = replicaSetsOf(w, 'web').find((rs) => rs.metadata!.uid !== good.metadata!.uid)!;
    expect(apiWrites(w, from, { lease: false })).toEqual([`PATCH replicasets/${restart.metadata!.name} 200`]);
    // The bookkeeping, once, on the restart's ReplicaSet alone (not on web:1's, marked; not again by a, back).
    expect(templateSeenRecords(w, from)).toEqual([`${restart.metadata!.name} 200`]);
    expect(w.kube.requests.find((q) => q.method === 'PATCH' && q.path.endsWith(`/replicasets/${restart.metadata!.name}`) && !isTemplateSeenRecord(q) && w.kube.requests.indexOf(q) >= from)!.body).toEqual({
      metadata: { annotations: { 'amadeus.io/crash-looped-at': expect.any(String) }, resourceVersion: expect.any(String) },
    });
    const writes = (r: typeof a) => r.calls.filter((c) => /^(patch|create|replace|delete)/.test(c) && !c.endsWith('Lease'));
    expect(writes(a)).toEqual(Array(3).fill('patchNamespacedReplicaSet')); // web:1's template first seen and known-good mark, the record: no Event
    expect(writes(b).sort()).toEqual(['createNamespacedEvent', 'patchNamespacedReplicaSet']); // the refusal; at its mark round, the restart's template first seen (a, held, never recorded it)
    expect(w.patches('deployments/web')).toEqual([]);
    expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template.spec).toEqual(template.spec);
    expect(replicaSetsOf(w, 'web')).toHaveLength(2);
    expect(w.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', good.metadata!.name!).metadata!.annotations).toEqual(good.metadata!.annotations);
    expect(w.pods({ app: 'web' }).filter(ready).map((p) => p.metadata!.uid!).sort()).toEqual(oldPods);

    // The ConfigMap fixed: the restart rolls on; nothing more said or written by either.
    w.kube.put(configMap('web-config', { 'app.yaml': 'mode: fast\n' }, NS));
    await w.advance(20 * 60);
    const pods = w.pods({ app: 'web' });
    expect(pods.every(ready)).toBe(true);
    expect(pods.some((p) => oldPods.includes(p.metadata!.uid!))).toBe(false);
    expect(w.patches('deployments/web')).toEqual([]);
    expect(summary(w)).toEqual(['Deployment/web rollback/refused/restart-only']);
    expect(w.events()).toHaveLength(1);
    expect(w.reports().filter((r) => r.result === 'failed')).toEqual([]);
  });
});
