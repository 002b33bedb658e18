/**
 * Multi-step scenarios of the healer's rollbacks (issue 19), on the simulated cluster: real
 * controllers, a kubelet stand-in, and the real Healer talking HTTP to the fake API server, over
 * simulated minutes and hours. Each asserts the end state of the cluster's objects and what the
 * healer said — and what must not have happened.
 */
import type { V1ControllerRevision, V1Deployment, V1Pod, V1PodTemplateSpec, V1StatefulSet } from '@kubernetes/client-node';
import { configMap, deployment, statefulSet } from '../test-support/cluster/objects.js';
import { configReadingWeb, HEAL, healerWorld, type HealerWorld, isTemplateSeenRecord, NS, replicaSetRunning, replicaSetsOf, reportSummary, strayTemplateSeenRecords, podReady as ready } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const summary = reportSummary;
const replicaSets = replicaSetsOf;
const rsRunning = (w: HealerWorld, owner: string, image: string) => replicaSetRunning(w, owner, image)!;
const uids = (pods: { metadata?: { uid?: string } }[]) => pods.map((p) => p.metadata!.uid!).sort();

describe('a bad rollout and its rollback', () => {
  test('Deployment: web:2 crash-loops after web:1 was known-good → rolled back to web:1 once, no oscillation, the look-alike Deployment untouched', async () => {
    w = await healerWorld();
    w.cluster.behave('web:2', { run: 'crash', log: 'starting web:2\npanic: runtime error: invalid memory address or nil pointer dereference\n' });
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
    // Shares app=web; its selector (app=web, track=canary) overlaps web's (app=web).
    w.kube.put(deployment('web-canary', { namespace: NS, image: 'web:1-canary', replicas: 2, labels: { app: 'web', track: 'canary' }, annotations: HEAL }));
    const a = await w.start();
    await w.advance(11 * 60);
    const good = rsRunning(w, 'web', 'web:1');
    expect(good.metadata!.annotations).toMatchObject({ 'amadeus.io/known-good': 'true', 'deployment.kubernetes.io/revision': '1' });
    const webPods = uids(w.pods({ app: 'web' }).filter((p) => !p.metadata!.labels!.track));
    const canaryPods = uids(w.pods({ track: 'canary' }));
    const canary = w.get<V1Deployment>('apps/v1', 'Deployment', 'web-canary');
    expect(webPods).toHaveLength(3);
    expect(canaryPods).toHaveLength(2);

    // The bad rollout.
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(5 * 60);

    expect(summary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    const [r] = a.healer.reports;
    const bad = rsRunning(w, 'web', 'web:2');
    expect(r!.message).toBe(`rolled back from revision 2 to revision 1 (ReplicaSet ${good.metadata!.name})`);
    expect(r!.logs?.category).toBe('panic');
    const d = w.get<V1Deployment>('apps/v1', 'Deployment', 'web');
    expect(d.spec!.template.spec!.containers[0]!.image).toBe('web:1');
    expect(d.spec!.template.metadata!.labels).toEqual({ app: 'web' }); // no pod-template-hash carried over
    // The controller renumbered web:1's ReplicaSet (kubectl rollout undo's way) and scaled web:2's to zero.
    expect(rsRunning(w, 'web', 'web:1').metadata!.annotations).toMatchObject({ 'deployment.kubernetes.io/revision': '3', 'deployment.kubernetes.io/revision-history': '1', 'amadeus.io/known-good': 'true' });
    expect(bad.spec!.replicas).toBe(0);
    expect(bad.metadata!.annotations!['amadeus.io/known-good']).toBeUndefined();
    expect(d.metadata!.annotations!['deployment.kubernetes.io/revision']).toBe('3');
    expect(JSON.parse(d.metadata!.annotations!['amadeus.io/rolled-back-from']!)).toHaveLength(1);
    // web:1's pods were never replaced: the bad revision got one pod (maxUnavailable 0), now gone.
    const after = w.pods({ app: 'web' }).filter((p) => !p.metadata!.labels!.track);
    expect(uids(after)).toEqual(webPods);
    expect(after.every(ready)).toBe(true);
    expect(w.events().map((e) => `${e.involvedObject.name} ${e.type} ${e.reason}`)).toEqual(['web Normal RolledBack']);
    expect(w.notes()).toHaveLength(1);
    expect(w.notes()[0]).toMatchObject({ severity: 'info', result: 'applied', fields: { undo: `kubectl -n ${NS} rollout undo deployment/web` } });

    // Another hour: no second rollback (of the renumbered revision 3, or back to web:2), nothing else said.
    await w.advance(60 * 60);
    expect(summary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    expect(w.patches('deployments/web').map((p) => p.status)).toEqual([200]);
    expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template.spec!.containers[0]!.image).toBe('web:1');
    expect(replicaSets(w, 'web')).toHaveLength(2);
    expect(uids(w.pods({ app: 'web' }).filter((p) => !p.metadata!.labels!.track))).toEqual(webPods);
    // The look-alike: not one pod deleted, its template and revisions untouched.
    expect(w.patches('deployments/web-canary')).toEqual([]);
    expect(uids(w.pods({ track: 'canary' }))).toEqual(canaryPods);
    expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'web-canary').spec).toEqual(canary.spec);
    expect(replicaSets(w, 'web-canary')).toHaveLength(1);
    expect(w.kube.requests.filter((q) => q.method === 'DELETE')).toEqual([]);
  });
});

describe('a rollback restores the template as the API server holds it', () => {
  test("a pod-template field client-node's model does not know survives the rollback: the known-good ReplicaSet is reused, no new one made for a stripped template", async () => {
    // Two nodes for two replicas: the rollout's surge pod lands beside a Ready pod of the old revision (the node runs web), as the rollback's node rule wants.
    w = await healerWorld({ nodes: ['node-1', 'node-2'] });
    w.cluster.behave('web:2', { run: 'crash', log: 'panic: nil map\n' });
    const d = deployment('web', { namespace: NS, image: 'web:1', replicas: 2, annotations: HEAL });
    // A pod field client-node 1.4's model does not know (a newer Kubernetes', or an alpha one).
    const unknown = { workloadRef: { name: 'training', podGroup: 'workers' } };
    Object.assign(d.spec!.template.spec!, unknown);
    w.kube.put(d);
    const a = await w.start();
    await w.advance(11 * 60);
    const good = rsRunning(w, 'web', 'web:1');
    expect(good.metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    expect(good.spec!.template!.spec).toMatchObject(unknown);

    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (x) => void (x.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(5 * 60);

    expect(summary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    expect(a.healer.reports[0]!.message).toBe(`rolled back from revision 2 to revision 1 (ReplicaSet ${good.metadata!.name})`);
    const [patch] = w.patches('deployments/web');
    const sent = (patch!.body as { path: string; value: V1PodTemplateSpec }[]).find((op) => op.path === '/spec/template')!.value;
    expect(sent.spec).toMatchObject({ ...unknown, containers: [{ name: 'app', image: 'web:1' }] });
    expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template.spec).toMatchObject({ ...unknown, containers: [{ name: 'app', image: 'web:1' }] });
    // The controller found web:1's ReplicaSet for it (renumbered 3) and scaled it back: no third ReplicaSet.
    expect(replicaSets(w, 'web')).toHaveLength(2);
    expect(rsRunning(w, 'web', 'web:1').metadata).toMatchObject({ uid: good.metadata!.uid, annotations: { 'deployment.kubernetes.io/revision': '3' } });
    expect(w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${ready(p)} ${JSON.stringify((p.spec as unknown as Record<string, unknown>).workloadRef)}`)).toEqual(
      Array(2).fill(`web:1 true ${JSON.stringify(unknown.workloadRef)}`),
    );
    await w.advance(60 * 60);
    expect(summary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    expect(w.patches('deployments/web')).toHaveLength(1);
  });
});

describe('a StatefulSet whose template holds a field client-node does not know', () => {
  test("StatefulSet: a pod-template field client-node's model does not know → still rolled back to the known-good ControllerRevision, the field kept", async () => {
    w = await healerWorld();
    w.cluster.behave('db:2', { run: 'crash', log: 'starting db:2\nfatal: unknown flag --wal-mode\n' });
    const sts = statefulSet('db', { namespace: NS, image: 'db:1', replicas: 3, annotations: HEAL });
    const unknown = { workloadRef: { name: 'training', podGroup: 'workers' } };
    Object.assign(sts.spec!.template.spec!, unknown);
    w.kube.put(sts);
    const a = await w.start();
    await w.advance(11 * 60);
    const set = () => w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db');
    const goodName = set().status!.updateRevision!;
    expect(w.get<V1ControllerRevision>('apps/v1', 'ControllerRevision', goodName).metadata!.annotations).toMatchObject({ 'amadeus.io/known-good': 'true' });

    w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => void (s.spec!.template.spec!.containers[0]!.image = 'db:2'));
    await w.advance(5 * 60);

    expect(summary(w)).toEqual(['StatefulSet/db rollback/applied/rolled-back']);
    expect(a.healer.reports[0]!.message).toMatch(new RegExp(`to revision 1 \\(ControllerRevision ${goodName}\\); recreated 1 stuck pod\\(s\\)$`));
    expect(set().spec!.template.spec).toMatchObject({ ...unknown, containers: [{ image: 'db:1' }] });
    expect(set().status).toMatchObject({ updateRevision: goodName, currentRevision: goodName, readyReplicas: 3 });
    await w.advance(60 * 60);
    expect(summary(w)).toEqual(['StatefulSet/db rollback/applied/rolled-back']);
    expect(w.patches('statefulsets/db').map((p) => p.status)).toEqual([200]);
  });
});

describe('a bad rollout of a StatefulSet and its rollback', () => {
  const matchLabels = { matchLabels: { app: 'db' } };
  const matchExpressions = { matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] };
  // RollingUpdate: the controller replaces db-2 first, which then crash-loops and blocks the rest.
  // OnDelete: the controller replaces nothing; the operator deletes db-2 to roll it, and only that
  // pod runs db:2. Either way the rollback restores the template and the healer recreates only the
  // failing pod it owns; db-0 and db-1 are never touched.
  const cases = {
    'RollingUpdate (selector: matchLabels)': { selector: matchLabels, onDelete: false },
    'RollingUpdate (selector: matchExpressions only)': { selector: matchExpressions, onDelete: false },
    'OnDelete (selector: matchLabels)': { selector: matchLabels, onDelete: true },
  };
  test.each(Object.keys(cases) as (keyof typeof cases)[])(
    '%s: db:2 stuck crash-looping → back to the known-good ControllerRevision, the stuck pod replaced; a never-Ready Deployment matching the selector untouched',
    async (name) => {
      const { selector, onDelete } = cases[name];
      w = await healerWorld();
      w.cluster.behave('db:2', { run: 'crash', log: 'starting db:2\nfatal: unknown flag --wal-mode\n' });
      w.cluster.behave('db-tools:1', 'not-ready');
      const sts = statefulSet('db', { namespace: NS, image: 'db:1', replicas: 3, annotations: HEAL, ...(onDelete ? { updateStrategy: { type: 'OnDelete' } } : {}) });
      sts.spec!.selector = selector;
      w.kube.put(sts);
      // Its pods match the set's selector and are never Ready: only ownership tells them apart.
      w.kube.put(deployment('db-tools', { namespace: NS, image: 'db-tools:1', replicas: 2, labels: { app: 'db', role: 'tools' }, annotations: HEAL }));
      const a = await w.start();
      await w.advance(11 * 60);
      const set = () => w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db');
      const goodName = set().status!.updateRevision!;
      expect(w.get<V1ControllerRevision>('apps/v1', 'ControllerRevision', goodName).metadata!.annotations).toMatchObject({ 'amadeus.io/known-good': 'true' });
      const tools = uids(w.pods({ role: 'tools' }));
      expect(tools).toHaveLength(2);
      const uidOf = (pod: string) => w.pods({ app: 'db' }).find((p) => p.metadata!.name === pod)?.metadata!.uid;
      const kept = [uidOf('db-0'), uidOf('db-1')];

      w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => void (s.spec!.template.spec!.containers[0]!.image = 'db:2'));
      if (onDelete) {
        await w.advance(60);
        // OnDelete: nothing is replaced until someone deletes a pod (the healer's marks only).
        expect(w.pods({ app: 'db' }).filter((p) => p.metadata!.labels!.role !== 'tools').map((p) => `${p.spec!.containers[0]!.image} ${p.metadata!.labels!['controller-revision-hash']}`)).toEqual(['db:1', 'db:1', 'db:1'].map((i) => `${i} ${goodName}`));
        expect(set().status!.currentRevision).toBe(goodName);
        expect(set().status!.updateRevision).not.toBe(goodName);
        expect(set().status!.updatedReplicas ?? 0).toBe(0);
        expect(a.healer.reports).toEqual([]);
        w.kube.remove('v1', 'Pod', NS, 'db-2'); // the operator rolls the highest ordinal first
      }
      await w.advance(5 * 60);

      expect(summary(w)).toEqual(['StatefulSet/db rollback/applied/rolled-back']);
      const [r] = a.healer.reports;
      expect(r!.message).toMatch(new RegExp(`^rolled back from db-[a-z0-9]+ to revision 1 \\(ControllerRevision ${goodName}\\); recreated 1 stuck pod\\(s\\)$`));
      const badName = r!.message.split(' ')[3]!;
      expect(badName).not.toBe(goodName);
      // The good revision is the update revision again (renumbered 3), every pod runs it and is Ready.
      expect(set().spec!.template.spec!.containers[0]!.image).toBe('db:1');
      expect(set().status).toMatchObject({ updateRevision: goodName, currentRevision: goodName, readyReplicas: 3, updatedReplicas: 3 });
      expect(w.get<V1ControllerRevision>('apps/v1', 'ControllerRevision', goodName).revision).toBe(3);
      const pods = w.pods({ app: 'db' }).filter((p) => p.metadata!.labels!.role !== 'tools');
      expect(pods.map((p) => `${p.metadata!.name} ${p.metadata!.labels!['controller-revision-hash']} ${ready(p)}`)).toEqual(['db-0', 'db-1', 'db-2'].map((n) => `${n} ${goodName} true`));
      // Exactly one pod deleted by the healer: db-2, stuck at the bad revision.
      const deletes = w.kube.requests.filter((q) => q.method === 'DELETE');
      expect(deletes.map((q) => q.path)).toEqual([`/api/v1/namespaces/${NS}/pods/db-2`]);
      expect([uidOf('db-0'), uidOf('db-1')]).toEqual(kept);
      expect(w.events().map((e) => `${e.involvedObject.name} ${e.type} ${e.reason}`)).toEqual(['db Normal RolledBack']);

      await w.advance(60 * 60);
      expect(summary(w)).toEqual(['StatefulSet/db rollback/applied/rolled-back']);
      expect(w.patches('statefulsets/db').map((p) => p.status)).toEqual([200]);
      expect(set().status).toMatchObject({ updateRevision: goodName, currentRevision: goodName, readyReplicas: 3 });
      expect(w.kube.requests.filter((q) => q.method === 'DELETE')).toHaveLength(1);
      // The look-alike Deployment: every pod kept, never patched.
      expect(uids(w.pods({ role: 'tools' }))).toEqual(tools);
      expect(w.patches('deployments/db-tools')).toEqual([]);
    },
  );
});

describe('a StatefulSet rolled back under a RollingUpdate partition', () => {
  test('db:2 canaried on db-2 (partition 2) crash-loops while db-0, below the partition at another revision, is not Ready → rolled back; only db-2 is deleted, db-0 left to its controller', async () => {
    w = await healerWorld();
    w.cluster.behave('db:2', { run: 'crash', log: 'starting db:2\nfatal: unknown flag --wal-mode\n' });
    // db-0's next start at db:1b never gets Ready (a slow disk on its node), until fixed.
    let slow = false;
    w.cluster.behaviour(({ pod, container }) => (slow && pod.metadata!.name === 'db-0' && container.image === 'db:1b' ? 'not-ready' : undefined));
    w.kube.put(statefulSet('db', { namespace: NS, image: 'db:1', replicas: 3, annotations: HEAL }));
    const a = await w.start();
    await w.advance(11 * 60);
    const set = () => w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db');
    const one = set().status!.updateRevision!;
    expect(w.get<V1ControllerRevision>('apps/v1', 'ControllerRevision', one).metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    // db:1b rolls out to every pod (the current revision), not long enough to be marked.
    w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => void (s.spec!.template.spec!.containers[0]!.image = 'db:1b'));
    await w.advance(2 * 60);
    const oneB = set().status!.currentRevision!;
    expect(oneB).not.toBe(one);
    expect(set().status).toMatchObject({ updateRevision: oneB, updatedReplicas: 3, readyReplicas: 3 });

    // db:2, canaried on db-2 only.
    w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => {
      s.spec!.template.spec!.containers[0]!.image = 'db:2';
      s.spec!.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 2 } };
    });
    const revisionOf = (name: string) => w.pods({ app: 'db' }).find((p) => p.metadata!.name === name)?.metadata!.labels!['controller-revision-hash'];
    expect(await w.advance(60, { until: () => revisionOf('db-2') === set().status!.updateRevision && revisionOf('db-2') !== oneB })).toBe(true);
    const two = set().status!.updateRevision!;
    // db-0 restarts (its node drained), comes back at the current revision below the partition, not Ready.
    slow = true;
    w.kube.remove('v1', 'Pod', NS, 'db-0');
    await w.advance(5 * 60);

    const db0 = w.pods({ app: 'db' }).find((p) => p.metadata!.name === 'db-0')!;
    expect(`${db0.metadata!.labels!['controller-revision-hash']} ${ready(db0)}`).toBe(`${oneB} false`);
    expect(summary(w)).toEqual(['StatefulSet/db rollback/applied/rolled-back']);
    expect(a.healer.reports[0]!.message).toBe(`rolled back from ${two} to revision 1 (ControllerRevision ${one}); recreated 1 stuck pod(s)`);
    expect(set().spec!.template.spec!.containers[0]!.image).toBe('db:1');
    // Only db-2, at the revision rolled back from, was deleted; db-0 is the one the test deleted, left as it came back.
    const healerDeletes = () => w.kube.requests.filter((q) => q.method === 'DELETE').map((q) => q.path.split('/').pop());
    expect(healerDeletes()).toEqual(['db-2']);
    expect(w.pods({ app: 'db' }).find((p) => p.metadata!.name === 'db-0')!.metadata!.uid).toBe(db0.metadata!.uid);

    // Its node fixed, db-0 is restarted by a person: Ready at the current revision; the set recreates db-2 from the restored template.
    slow = false;
    w.kube.remove('v1', 'Pod', NS, 'db-0');
    await w.advance(10 * 60);
    const pods = w.pods({ app: 'db' });
    expect(pods.map((p) => `${p.metadata!.name} ${p.spec!.containers[0]!.image} ${ready(p)}`)).toEqual(['db-0 db:1b true', 'db-1 db:1b true', 'db-2 db:1 true']);
    expect(healerDeletes()).toEqual(['db-2']);
    expect(summary(w)).toEqual(['StatefulSet/db rollback/applied/rolled-back']);
  });
});

describe('crash loops that are not the release', () => {
  test('a ConfigMap change crash-loops a long known-good revision → no rollback, a report and an Event saying why; fixed config, marked again', async () => {
    w = await healerWorld();
    const d = configReadingWeb(w);
    w.kube.put(d);
    const a = await w.start();
    await w.advance(60 * 60); // an hour of a known-good release
    const rs = () => replicaSets(w, 'web')[0]!;
    const markedAt = rs().metadata!.annotations!['amadeus.io/known-good-at']!;
    expect(rs().metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    const template = w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template;

    // Someone edits the ConfigMap and deletes the pods to pick it up: the same revision now crash-loops.
    w.kube.put(configMap('web-config', { 'app.yaml': 'mode: turbo\n' }, NS));
    for (const p of w.pods({ app: 'web' })) w.kube.remove('v1', 'Pod', NS, p.metadata!.name!);
    await w.advance(10 * 60);

    expect(w.pods({ app: 'web' }).map((p) => p.status!.containerStatuses![0]!.state!.waiting?.reason)).toEqual(['CrashLoopBackOff', 'CrashLoopBackOff', 'CrashLoopBackOff']);
    // One report for the three pods' failures (a refusal is said once per quarter hour).
    expect(summary(w)).toEqual(['Deployment/web rollback/refused/revision-known-good']);
    const [r] = a.healer.reports;
    expect(r!.message).toBe(
      `no rollback: revision 1 was marked known-good at ${markedAt}: it ran healthy, so the crash loop points elsewhere (a dependency, the cluster, data) and rolling it back would undo a working release`,
    );
    expect(r!.logs).toMatchObject({ category: 'config' });
    const [e] = w.events();
    expect(w.events()).toHaveLength(1);
    expect(e).toMatchObject({ type: 'Warning', reason: 'HealRefused', involvedObject: { kind: 'Deployment', name: 'web' } });
    expect(e!.message).toContain('was marked known-good');
    expect(e!.message).toContain('logs: config');
    expect(w.notes().map((n) => n.severity)).toEqual(['warning']);
    // Nothing patched: the template, the revisions, the pods' owner are what they were.
    expect(w.patches('deployments/web')).toEqual([]);
    expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template).toEqual(template);
    expect(replicaSets(w, 'web')).toHaveLength(1);
    // The revision is no rollback target any more until it runs healthy again.
    const crashedAt = rs().metadata!.annotations!['amadeus.io/crash-looped-at']!;
    expect(Date.parse(crashedAt)).toBeGreaterThan(Date.parse(markedAt));

    // The ConfigMap is fixed: the next restarts pick it up; the revision earns its mark again.
    w.kube.put(configMap('web-config', { 'app.yaml': 'mode: fast\n' }, NS));
    await w.advance(30 * 60);
    expect(w.pods({ app: 'web' }).every(ready)).toBe(true);
    expect(Date.parse(rs().metadata!.annotations!['amadeus.io/known-good-at']!)).toBeGreaterThan(Date.parse(crashedAt));
    expect(summary(w)).toEqual(['Deployment/web rollback/refused/revision-known-good']);
    expect(w.patches('deployments/web')).toEqual([]);
  });

  // A release that only restarts the pods: `kubectl rollout restart`, or Stakater Reloader once the
  // ConfigMap changed (its annotations strategy, or its env-vars strategy). The pods it makes read
  // the bad ConfigMap; the template rolled back to would be restarted into the same.
  const restarts = {
    'kubectl rollout restart (restarted before, too)': (d: V1Deployment) => void (d.spec!.template.metadata!.annotations!['kubectl.kubernetes.io/restartedAt'] = '2024-05-14T09:12:00Z'),
    "Stakater Reloader's annotation": (d: V1Deployment) =>
      void (d.spec!.template.metadata!.annotations = {
        ...d.spec!.template.metadata!.annotations,
        'reloader.stakater.com/last-reloaded-from': JSON.stringify({ type: 'CONFIGMAP', name: 'web-config', namespace: NS, hash: 'a3f1', containerRefs: ['app'], observedAt: 1715677920 }),
      }),
    "Stakater Reloader's variable": (d: V1Deployment) => void d.spec!.template.spec!.containers[0]!.env!.push({ name: 'STAKATER_WEB_CONFIG_CONFIGMAP', value: 'a3f1c2' }),
  };
  test.each(Object.keys(restarts) as (keyof typeof restarts)[])('a bad ConfigMap, then a restart (%s) crash-loops → no rollback to the known-good revision (`restart-only`); the fixed ConfigMap lets the restart finish', async (how) => {
    w = await healerWorld();
    // Restarted once already, at creation: a marker on both sides is ignored as well.
    const d = configReadingWeb(w, { env: { MODE: 'serve' }, podAnnotations: { 'kubectl.kubernetes.io/restartedAt': '2024-05-14T08:00:00Z' } });
    w.kube.put(d);
    const a = await w.start();
    await w.advance(11 * 60);
    const good = replicaSets(w, 'web')[0]!;
    expect(good.metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    const oldPods = uids(w.pods({ app: 'web' }));

    w.kube.put(configMap('web-config', { 'app.yaml': 'mode: turbo\n' }, NS));
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', restarts[how]);
    await w.advance(5 * 60);

    // The restart's first pod crash-loops (1 of 1: enough for a rollback), the old ones run on.
    expect(replicaSets(w, 'web')).toHaveLength(2);
    expect(summary(w)).toEqual(['Deployment/web rollback/refused/restart-only']);
    const [r] = a.healer.reports;
    expect(r!.message).toBe(
      'no rollback: revision 2 differs from revision 1 only in restart markers (kubectl rollout restart, Stakater Reloader): the crash loop comes from what the restarted pods read again — a ConfigMap, a Secret, a dependency — and a rollback would restart them into the same; fix that',
    );
    expect(r!.logs?.category).toBe('config');
    expect(w.events().map((e) => `${e.involvedObject.name} ${e.type} ${e.reason}`)).toEqual(['web Warning HealRefused']);
    expect(w.notes().map((n) => `${n.severity} ${n.fields?.reason}`)).toEqual(['warning restart-only']);
    expect(w.patches('deployments/web')).toEqual([]);
    expect(uids(w.pods({ app: 'web' }).filter(ready))).toEqual(oldPods);

    // The ConfigMap fixed: the crash-looping pod's next start reads it, and the restart rolls on.
    w.kube.put(configMap('web-config', { 'app.yaml': 'mode: fast\n' }, NS));
    await w.advance(20 * 60);
    const pods = w.pods({ app: 'web' });
    expect(pods).toHaveLength(3);
    expect(pods.every(ready)).toBe(true);
    expect(pods.some((p) => oldPods.includes(p.metadata!.uid!))).toBe(false);
    expect(w.patches('deployments/web')).toEqual([]);
    expect(summary(w)).toEqual(['Deployment/web rollback/refused/restart-only']);
  });

  test('a service mesh injects a proxy that crash-loops into the pods of a new release → no rollback (`container-not-in-template`); the mesh fixed, the release rolls out', async () => {
    w = await healerWorld();
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
    const a = await w.start();
    await w.advance(11 * 60);
    expect(rsRunning(w, 'web', 'web:1').metadata!.annotations!['amadeus.io/known-good']).toBe('true');

    // The namespace joins the mesh: its webhook adds istio-proxy to every pod created from now on,
    // and that proxy version cannot start.
    w.cluster.behave('istio/proxyv2:1.22.0', { run: 'crash', log: 'envoy: critical: error initializing configuration: bootstrap: unknown field "tracing_v2"\n' });
    w.kube.mutateOnCreate('v1', 'Pod', (p) => void (p as V1Pod).spec!.containers.push({ name: 'istio-proxy', image: 'istio/proxyv2:1.22.0' }));
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(5 * 60);

    const injected = w.pods({ app: 'web' }).filter((p) => p.spec!.containers.length === 2);
    expect(injected).toHaveLength(1);
    expect(injected[0]!.status!.containerStatuses!.map((c) => `${c.name} ${c.state?.waiting?.reason ?? 'running'}`)).toEqual(['app running', 'istio-proxy CrashLoopBackOff']);
    expect(summary(w)).toEqual(['Deployment/web rollback/refused/container-not-in-template']);
    const [r] = a.healer.reports;
    expect(r!.failure.container).toBe('istio-proxy');
    expect(r!.message).toBe(
      "no rollback: the crash-looping container istio-proxy is not in the pod template of revision 2; it was added when the pod was created (a service mesh's proxy, an injected agent), and a rollback would not change it: fix it where it is injected",
    );
    expect(w.events().map((e) => `${e.involvedObject.name} ${e.type} ${e.reason}`)).toEqual(['web Warning HealRefused']);
    expect(w.patches('deployments/web')).toEqual([]);

    // The mesh ships a proxy that starts: the release's pods come up, web:2 rolls out, nothing patched.
    w.cluster.behave('istio/proxyv2:1.22.0', 'healthy');
    await w.advance(20 * 60);
    const pods = w.pods({ app: 'web' });
    expect(pods.map((p) => `${p.spec!.containers.map((c) => c.image).join(',')} ${ready(p)}`)).toEqual(Array(3).fill('web:2,istio/proxyv2:1.22.0 true'));
    expect(w.patches('deployments/web')).toEqual([]);
    expect(summary(w)).toEqual(['Deployment/web rollback/refused/container-not-in-template']);
  });

  test('a minority crash loop: 1 of the new revision’s 4 pods crash-loops → reported, not rolled back', async () => {
    w = await healerWorld();
    // The fourth pod of web:2 crash-loops (a bad node, a poisoned shard), the other three run.
    const web2: string[] = [];
    w.cluster.behaviour(({ pod, container }) => {
      if (container.image !== 'web:2') return undefined;
      if (!web2.includes(pod.metadata!.uid!)) web2.push(pod.metadata!.uid!);
      return web2.indexOf(pod.metadata!.uid!) === 3 ? { run: 'crash', log: 'fatal: shard 3 checksum mismatch\n' } : undefined;
    });
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 4, annotations: HEAL }));
    const a = await w.start();
    await w.advance(11 * 60);
    expect(rsRunning(w, 'web', 'web:1').metadata!.annotations!['amadeus.io/known-good']).toBe('true');

    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(60 * 60);

    const pods = w.pods({ app: 'web' });
    expect(pods.map((p) => p.spec!.containers[0]!.image)).toEqual(['web:2', 'web:2', 'web:2', 'web:2']);
    expect(pods.filter(ready)).toHaveLength(3);
    const reports = a.healer.reports;
    expect(reports.length).toBeGreaterThanOrEqual(1);
    expect(reports.length).toBeLessThanOrEqual(5); // once per quarter hour at most
    for (const r of reports) {
      expect(r).toMatchObject({ action: 'rollback', result: 'refused', reason: 'too-few-failing' });
      expect(r.message).toBe('1 of 4 pods of revision 2 crash-loop; a rollback needs more than 50% of them (all when fewer than 3)');
    }
    expect(w.events().every((e) => e.reason === 'HealRefused')).toBe(true);
    expect(w.patches('deployments/web')).toEqual([]);
    expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template.spec!.containers[0]!.image).toBe('web:2');
    expect(w.kube.requests.filter((q) => q.method === 'DELETE')).toEqual([]);
  });

  test('a minority crash loop of the newest known-good revision (a pod on a bad node), then a release that crash-loops → refused (known-good-crash-looped), not rolled back two releases', async () => {
    w = await healerWorld();
    // After web:2 is marked, its pods started from then on crash-loop for one in four (a bad node).
    let badNode = false;
    const started: string[] = [];
    w.cluster.behaviour(({ pod, container }) => {
      if (container.image === 'web:3') return { run: 'crash', log: 'panic: nil map\n' };
      if (container.image !== 'web:2' || !badNode) return undefined;
      if (!started.includes(pod.metadata!.uid!)) started.push(pod.metadata!.uid!);
      return { run: 'crash', log: 'fatal: mount /data: input/output error\n' };
    });
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 4, annotations: HEAL }));
    const a = await w.start();
    await w.advance(11 * 60);
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(15 * 60);
    const two = rsRunning(w, 'web', 'web:2');
    expect(two.metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    // The node goes bad: one web:2 pod is replaced there and crash-loops.
    badNode = true;
    const victim = w.pods({ app: 'web' })[0]!;
    w.kube.remove('v1', 'Pod', NS, victim.metadata!.name!);
    await w.advance(10 * 60);
    expect(started).toHaveLength(1);
    expect(summary(w)).toEqual(['Deployment/web rollback/refused/revision-known-good']);
    expect(rsRunning(w, 'web', 'web:2').metadata!.annotations!['amadeus.io/crash-looped-at']).toBeDefined();

    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:3'));
    await w.advance(20 * 60);
    const last = a.healer.reports.at(-1)!;
    expect(last).toMatchObject({ action: 'rollback', result: 'refused', reason: 'known-good-crash-looped' });
    expect(last.message).toMatch(/^no rollback: known-good revision 2, the newest, was seen crash-looping at \S+ since its mark and is no target; rolling back past it to revision 1 would undo two releases: choose by hand$/);
    expect(a.healer.reports.filter((r) => r.result === 'applied')).toEqual([]);
    expect(w.patches('deployments/web')).toEqual([]);
    expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template.spec!.containers[0]!.image).toBe('web:3');
    expect(w.kube.requests.filter((q) => q.method === 'DELETE')).toEqual([]);
  });

  test('Argo CD-managed workloads: a crash-looping rollout and an OOM kill are reported, never patched', async () => {
    w = await healerWorld();
    w.cluster.behave('web:2', 'crash');
    w.cluster.behave('cache:1', 'oom-at:300Mi');
    const argo = (name: string) => ({
      labels: { app: name, 'app.kubernetes.io/instance': 'shop' },
      annotations: { ...HEAL, 'argocd.argoproj.io/tracking-id': `shop:apps/Deployment:${NS}/${name}` },
    });
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 2, ...argo('web') }));
    const a = await w.start();
    await w.advance(11 * 60);
    expect(rsRunning(w, 'web', 'web:1').metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    w.kube.put(deployment('cache', { namespace: NS, image: 'cache:1', memory: '256Mi', ...argo('cache') }));
    await w.advance(30 * 60);

    expect([...new Set(summary(w))].sort()).toEqual(['Deployment/cache oom-bump/refused/gitops', 'Deployment/web rollback/refused/gitops']);
    expect(a.healer.reports.find((r) => r.workload.name === 'web')!.message).toBe(
      'managed by Argo CD (annotation argocd.argoproj.io/tracking-id=shop:apps/Deployment:shop/web): fix it in Git rather than fight the controller',
    );
    // Only the healer's bookkeeping on the ReplicaSet (its known-good mark, and the records of the templates first seen) was written.
    expect(w.kube.requests.filter((q) => (q.method === 'PATCH' || q.method === 'DELETE') && !isTemplateSeenRecord(q)).map((q) => q.path.split('/').slice(-2, -1)[0])).toEqual(['replicasets']);
    expect(strayTemplateSeenRecords(w, 0, 'web', 'cache')).toEqual([]); // those left out: once a ReplicaSet
    expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template.spec!.containers[0]!.image).toBe('web:2');
    expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'cache').spec!.template.spec!.containers[0]!.resources!.limits!.memory).toBe('256Mi');
  });
});
