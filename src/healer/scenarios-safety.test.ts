/**
 * Multi-step scenarios of what the healer must never do (the safety audit), on the simulated
 * cluster with its controllers: overwrite an operator's newer fix the controller has not rolled
 * out yet, act past its hourly budget in a storm, trust a known-good mark `kubectl rollout undo`
 * copied onto another revision, or write anything in dry-run.
 */
import type { V1ControllerRevision, V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import { deployment, statefulSet } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, isTemplateSeenRecord, kubectlUndo, NS, replicaSetRunning, replicaSetsOf, reportSummary } from '../test-support/healer-world.js';
import { HEAL_RULES } from './rules.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const summary = reportSummary;
const replicaSets = replicaSetsOf;
const rsRunning = replicaSetRunning;
const image = (w: HealerWorld, kind: 'Deployment' | 'StatefulSet', name: string) =>
  w.get<V1Deployment | V1StatefulSet>('apps/v1', kind, name).spec!.template.spec!.containers[0]!.image;
const writes = (w: HealerWorld) => w.kube.requests.filter((q) => q.method === 'PATCH' || q.method === 'DELETE' || q.method === 'PUT').map((q) => `${q.method} ${q.path.split('/').slice(-2).join('/')}`);

describe("an operator's fix the controller has not rolled out yet", () => {
  test('Deployment: web:2 crash-loops, the operator applies web:3, the controller lags → the healer refuses and web:3 rolls out', async () => {
    w = await healerWorld();
    w.cluster.behave('web:2', { run: 'crash', log: 'panic: nil map\n' });
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
    const a = await w.start({ name: 'a' });
    await w.advance(11 * 60);
    expect(rsRunning(w, 'web', 'web:1')!.metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    // The leader goes away; web:2 is rolled out and crash-loops with no one to heal it.
    await w.stop(a);
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(3 * 60);
    expect(rsRunning(w, 'web', 'web:2')).toBeDefined();
    // The operator applies the fix; the Deployment controller has not picked it up yet.
    w.cluster.pause('deployment');
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:3'));
    const b = await w.start({ name: 'b' });
    await w.advance(2 * 60);

    expect(image(w, 'Deployment', 'web')).toBe('web:3');
    expect(w.patches('deployments/web')).toEqual([]);
    expect(summary(w)).toEqual(['Deployment/web rollback/refused/rollout-not-observed']);
    expect(b.healer.reports[0]!.message).toMatch(/not observed/);

    // The controller catches up: web:3 rolls out, web:2 goes; nothing more from the healer.
    w.cluster.resume('deployment');
    await w.advance(10 * 60);
    expect(image(w, 'Deployment', 'web')).toBe('web:3');
    expect(rsRunning(w, 'web', 'web:3')!.status!.readyReplicas).toBe(3);
    expect(w.pods({ app: 'web' }).map((p) => p.spec!.containers[0]!.image)).toEqual(['web:3', 'web:3', 'web:3']);
    expect(w.patches('deployments/web')).toEqual([]);
    expect(a.healer.reports.filter((r) => r.result === 'applied')).toEqual([]);
    expect(b.healer.reports.filter((r) => r.result === 'applied')).toEqual([]);
  });

  test('Deployment: `kubectl rollout undo` to known-good web:1 while the controller lags → not rolled further back to web:0', async () => {
    w = await healerWorld();
    w.cluster.behave('web:2', { run: 'crash', log: 'panic: nil map\n' });
    w.kube.put(deployment('web', { namespace: NS, image: 'web:0', replicas: 2, annotations: HEAL }));
    const a = await w.start({ name: 'a' });
    await w.advance(11 * 60);
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:1'));
    await w.advance(12 * 60);
    expect(rsRunning(w, 'web', 'web:0')!.metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    const one = rsRunning(w, 'web', 'web:1')!;
    expect(one.metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    await w.stop(a);
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(3 * 60);
    w.cluster.pause('deployment');
    // kubectl rollout undo: web:1's template back on the Deployment.
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => {
      const t = structuredClone(one.spec!.template!);
      delete t.metadata!.labels!['pod-template-hash'];
      d.spec!.template = t;
    });
    await w.start({ name: 'b' });
    await w.advance(2 * 60);

    expect(image(w, 'Deployment', 'web')).toBe('web:1');
    expect(w.patches('deployments/web')).toEqual([]);
    expect(summary(w).every((s) => s.startsWith('Deployment/web rollback/refused/'))).toBe(true);
    w.cluster.resume('deployment');
    await w.advance(10 * 60);
    expect(image(w, 'Deployment', 'web')).toBe('web:1');
    expect(w.pods({ app: 'web' }).map((p) => p.spec!.containers[0]!.image)).toEqual(['web:1', 'web:1']);
    expect(w.patches('deployments/web')).toEqual([]);
  });

  test('StatefulSet: db:2 stuck crash-looping, the operator applies db:3, the controller lags → no rollback to db:1, no pod deleted', async () => {
    w = await healerWorld();
    w.cluster.behave('db:2', { run: 'crash', log: 'fatal: unknown flag --wal-mode\n' });
    w.kube.put(statefulSet('db', { namespace: NS, image: 'db:1', replicas: 3, annotations: HEAL }));
    const a = await w.start({ name: 'a' });
    await w.advance(11 * 60);
    const set = () => w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db');
    const good = set().status!.updateRevision!;
    expect(w.get<V1ControllerRevision>('apps/v1', 'ControllerRevision', good).metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    await w.stop(a);
    w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => void (s.spec!.template.spec!.containers[0]!.image = 'db:2'));
    await w.advance(3 * 60);
    const bad = set().status!.updateRevision!;
    expect(bad).not.toBe(good);
    w.cluster.pause('statefulset');
    w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => void (s.spec!.template.spec!.containers[0]!.image = 'db:3'));
    await w.start({ name: 'b' });
    await w.advance(2 * 60);

    expect(image(w, 'StatefulSet', 'db')).toBe('db:3');
    expect(w.patches('statefulsets/db')).toEqual([]);
    expect(w.kube.requests.filter((q) => q.method === 'DELETE')).toEqual([]);
    expect(summary(w)).toEqual(['StatefulSet/db rollback/refused/rollout-not-observed']);
    w.cluster.resume('statefulset');
    await w.advance(5 * 60);
    expect(image(w, 'StatefulSet', 'db')).toBe('db:3');
    expect(w.patches('statefulsets/db')).toEqual([]);
    expect(w.reports().filter((r) => r.result === 'applied')).toEqual([]);
  });
});

describe('the hourly budget in a storm', () => {
  test('4 Deployments OOM-killed at once with a budget of 1 action an hour → exactly one raised, the rest refused for the budget', async () => {
    w = await healerWorld({ marks: false });
    w.cluster.behave('cache:1', 'oom-at:300Mi');
    const names = ['c1', 'c2', 'c3', 'c4'];
    const a = await w.start({ rules: { ...HEAL_RULES, maxActionsPerHour: 1 } });
    for (const n of names) w.kube.put(deployment(n, { namespace: NS, image: 'cache:1', memory: '256Mi', labels: { app: n }, annotations: HEAL }));
    await w.advance(5 * 60);

    const patched = names.filter((n) => w.patches(`deployments/${n}`).length > 0);
    expect(patched).toHaveLength(1);
    expect(names.filter((n) => w.get<V1Deployment>('apps/v1', 'Deployment', n).spec!.template.spec!.containers[0]!.resources!.limits!.memory !== '256Mi')).toEqual(patched);
    const applied = a.healer.reports.filter((r) => r.result === 'applied');
    expect(applied.map((r) => r.workload.name)).toEqual(patched);
    const refused = a.healer.reports.filter((r) => r.result !== 'applied');
    expect(refused.every((r) => r.result === 'refused' && r.reason === 'rate-limit')).toBe(true);
    expect([...new Set(refused.map((r) => r.workload.name))].sort()).toEqual(names.filter((n) => !patched.includes(n)));
  });
});

describe('a known-good mark copied by `kubectl rollout undo`', () => {
  test('undo to known-good web:1 copies its mark onto the Deployment, so web:3 is born marked → the mark does not count there: web:3 is rolled back to web:1; the copies leave the Deployment, web:4 keeps its own mark', async () => {
    w = await healerWorld();
    w.cluster.behave('web:3', { run: 'crash', log: 'panic: nil map\n' });
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 2, annotations: HEAL }));
    const a = await w.start();
    await w.advance(11 * 60);
    const one = rsRunning(w, 'web', 'web:1')!;
    expect(one.metadata!.annotations).toMatchObject({ 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-for': one.metadata!.uid });
    // web:2 runs a few minutes (not long enough for a mark); the operator undoes it anyway.
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(3 * 60);
    kubectlUndo(w, 'web', rsRunning(w, 'web', 'web:1')!);
    expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'web').metadata!.annotations).toMatchObject({ 'amadeus.io/known-good': 'true', 'amadeus.io/template-seen': one.metadata!.annotations!['amadeus.io/template-seen'] });
    // Right after, web:3: its ReplicaSet is created with the Deployment's annotations, the copied mark included.
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:3'));
    await w.advance(5 * 60);

    const three = rsRunning(w, 'web', 'web:3')!;
    expect(three.metadata!.annotations).toMatchObject({ 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-at': one.metadata!.annotations!['amadeus.io/known-good-at'] });
    expect(summary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    expect(a.healer.reports[0]!.message).toMatch(/^rolled back from revision 3 to revision 1 /);
    expect(image(w, 'Deployment', 'web')).toBe('web:1');
    expect(rsRunning(w, 'web', 'web:3')!.spec!.replicas).toBe(0);
    // The copies are gone from the Deployment, so the controller stops spreading them: a healthy
    // web:4 earns its own mark, which stays (one write).
    expect(Object.keys(w.get<V1Deployment>('apps/v1', 'Deployment', 'web').metadata!.annotations!).filter((k) => k.startsWith('amadeus.io/known-good') || k === 'amadeus.io/template-seen')).toEqual([]);
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:4'));
    await w.advance(30 * 60);
    const four = rsRunning(w, 'web', 'web:4')!;
    expect(four.metadata!.annotations).toMatchObject({ 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-for': four.metadata!.uid });
    // Its own record of the template first seen (not web:1's, copied), then its mark.
    expect(w.patches(`replicasets/${four.metadata!.name}`).map(isTemplateSeenRecord)).toEqual([true, false]);
    expect(JSON.parse(four.metadata!.annotations!['amadeus.io/template-seen']!)).toMatchObject({ for: four.metadata!.uid });
    expect(summary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
  });
});

describe('the healer\'s own marks replaced by `kubectl rollout undo`', () => {
  test('rolled back web:2 → web:1; the operator undoes it (web:2\'s older annotations replace the Deployment\'s): web:2 crash-loops again inside the cooldown → refused, not rolled back a second time', async () => {
    // Two nodes for two replicas: the rollout's surge pod lands beside a Ready pod of the old revision (the node runs web), as the rollback's node rule wants.
    w = await healerWorld({ nodes: ['node-1', 'node-2'] });
    w.cluster.behave('web:2', { run: 'crash', log: 'panic: nil map\n' });
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 2, annotations: HEAL }));
    const a = await w.start();
    await w.advance(11 * 60);
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(5 * 60);
    expect(summary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    expect(image(w, 'Deployment', 'web')).toBe('web:1');
    const marked = w.get<V1Deployment>('apps/v1', 'Deployment', 'web').metadata!.annotations!;
    expect(Object.keys(marked)).toEqual(expect.arrayContaining(['amadeus.io/last-rollback', 'amadeus.io/rolled-back-from']));

    // The operator wants web:2 back (to look at it, or sure it was a fluke): kubectl rollout undo.
    // web:2's ReplicaSet was made before the rollback: its annotations carry none of those marks.
    const two = replicaSets(w, 'web').find((rs) => rs.spec!.template!.spec!.containers[0]!.image === 'web:2')!;
    expect(two.metadata!.annotations!['amadeus.io/last-rollback']).toBeUndefined();
    kubectlUndo(w, 'web', two);
    expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'web').metadata!.annotations!['amadeus.io/last-rollback']).toBeUndefined();
    await w.advance(10 * 60);

    // The rollback an hour ago is still remembered (by the ReplicaSet that was current when it was
    // written): the cooldown holds, the operator's choice stands, and it is said.
    expect(image(w, 'Deployment', 'web')).toBe('web:2');
    // The Deployment patched twice: the rollback, and later only the removal of web:2's crash-loop
    // record, which kubectl copied onto it with web:2's annotations (it belongs on revisions only).
    const patches = w.patches('deployments/web');
    expect(patches.map((p) => p.status)).toEqual([200, 200]);
    expect(patches[1]!.body).toEqual({ metadata: { annotations: { 'amadeus.io/crash-looped-at': null }, resourceVersion: expect.any(String) } });
    expect(summary(w)).toEqual(['Deployment/web rollback/applied/rolled-back', 'Deployment/web rollback/refused/cooldown']);
    expect(a.healer.reports[1]!.message).toMatch(/cooldown/);
  });
});

describe('dry run', () => {
  test('writes nothing over a bad rollout — no known-good mark, no crash-loop record, no patch — and still says what it would do', async () => {
    // Two nodes for two replicas: the rollout's surge pod lands beside a Ready pod of the old revision (the node runs web), as the rollback's node rule wants.
    w = await healerWorld({ nodes: ['node-1', 'node-2'] });
    w.cluster.behave('web:2', { run: 'crash', log: 'panic: nil map\n' });
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 2, annotations: HEAL }));
    const a = await w.start({ dryRun: true });
    await w.advance(11 * 60);
    expect(rsRunning(w, 'web', 'web:1')!.metadata!.annotations!['amadeus.io/known-good']).toBeUndefined();
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(5 * 60);
    // Then the known-good revision itself crash-loops: a live healer would record it on the revision.
    w.cluster.behave('web:1', { run: 'crash', log: 'panic: nil map\n' });
    for (const p of w.pods({ app: 'web' })) w.kube.remove('v1', 'Pod', NS, p.metadata!.name!);
    await w.advance(10 * 60);

    expect(summary(w)[0]).toBe('Deployment/web rollback/dry-run/dry-run');
    expect(a.healer.reports[0]!.message).toMatch(/^would roll back from revision 2 to revision 1 /);
    expect(writes(w)).toEqual([]);
    for (const rs of replicaSets(w, 'web')) expect(Object.keys(rs.metadata!.annotations!).filter((k) => k.startsWith('amadeus.io/') && k !== 'amadeus.io/heal')).toEqual([]);
    expect(w.lines().some((l) => l.msg === 'dry run: would annotate a revision' && JSON.stringify(l.annotations).includes('crash-looped-at'))).toBe(true);
  });
});
