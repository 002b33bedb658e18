/**
 * Scenarios of workloads another controller owns (a controller ownerReference on the workload
 * itself): Flagger's `-primary` Deployment, whose template Flagger copies from the canary at each
 * promotion, and an operator's StatefulSet. Their controller rewrites the template: a patch by the
 * healer would be reverted or fought over. Each is reported (Event, log, metric, notice) and never
 * written — not even a known-good mark on its revisions.
 */
import type { V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import { deployment, statefulSet } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS, reportSummary } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

/** Every write but Events (and the Lease's, none here): `METHOD resource`. */
const writes = (w: HealerWorld) =>
  w.kube.requests.filter((q) => q.method !== 'GET' && !q.path.endsWith('/events')).map((q) => `${q.method} ${q.path.split('/').slice(-2).join('/')}`);

describe('a workload another controller owns', () => {
  test("Flagger's primary Deployment: a promotion that crash-loops, then one OOM-killed → both reported as `owned`, naming the Canary; nothing written", async () => {
    w = await healerWorld();
    w.cluster.behave('podinfo:2', { run: 'crash', log: 'starting podinfo:2\npanic: nil map\n' });
    w.cluster.behave('podinfo:3', 'oom-at:300Mi');
    const canary = { apiVersion: 'flagger.app/v1beta1', kind: 'Canary', name: 'podinfo', uid: 'canary-uid', controller: true, blockOwnerDeletion: true };
    const primary = deployment('podinfo-primary', { namespace: NS, image: 'podinfo:1', replicas: 2, memory: '256Mi', labels: { app: 'podinfo-primary' }, annotations: HEAL });
    primary.metadata!.ownerReferences = [canary];
    w.kube.put(primary);
    const metrics: string[] = [];
    const a = await w.start({ metrics: { heal: (action, result) => void metrics.push(`${action}/${result}`) } });
    await w.advance(11 * 60);
    // No known-good mark: a rollback of it would never follow.
    expect(writes(w)).toEqual([]);

    // Flagger promotes podinfo:2 (copies the canary's template onto the primary): it crash-loops.
    const promote = (image: string) => w.edit<V1Deployment>('apps/v1', 'Deployment', 'podinfo-primary', (d) => void (d.spec!.template.spec!.containers[0]!.image = image));
    promote('podinfo:2');
    await w.advance(5 * 60);
    expect(reportSummary(w)).toEqual(['Deployment/podinfo-primary rollback/refused/owned']);
    const message =
      "controlled by Canary/podinfo (flagger.app/v1beta1), which writes this Deployment's template and would undo or fight a patch: fix it there; Amadeus does not patch it";
    expect(a.healer.reports[0]!.message).toBe(message);
    expect(a.healer.reports[0]!.logs?.category).toBe('panic');

    // The next promotion is OOM-killed at 256Mi.
    promote('podinfo:3');
    await w.advance(5 * 60);
    expect(w.pods({ app: 'podinfo-primary' }).some((p) => p.status!.containerStatuses![0]!.lastState?.terminated?.reason === 'OOMKilled')).toBe(true);
    expect(reportSummary(w)).toEqual(['Deployment/podinfo-primary rollback/refused/owned', 'Deployment/podinfo-primary oom-bump/refused/owned']);
    expect(a.healer.reports[1]!.message).toBe(message);

    // Said the way every refusal is: a warning Event on the Deployment, a log line, a metric, a notice.
    expect(w.events().map((e) => `${e.involvedObject.kind}/${e.involvedObject.name} ${e.type} ${e.reason}`)).toEqual([
      'Deployment/podinfo-primary Warning HealRefused',
      'Deployment/podinfo-primary Warning HealRefused',
    ]);
    expect(w.events()[0]!.message).toContain('controlled by Canary/podinfo');
    expect(w.notes().map((n) => `${n.severity} ${n.action}/${n.result} ${n.fields?.reason}`)).toEqual(['warning rollback/refused owned', 'warning oom-bump/refused owned']);
    expect(metrics).toEqual(['rollback/refused', 'oom-bump/refused']);
    expect(w.lines().filter((l) => l.level === 'warn' && l.reason === 'owned').map((l) => l.action)).toEqual(['rollback', 'oom-bump']);

    // Another hour: nothing patched, no revision annotated, no pod deleted; the template is Flagger's.
    await w.advance(60 * 60);
    expect(writes(w)).toEqual([]);
    expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'podinfo-primary').spec!.template.spec!.containers[0]).toMatchObject({ image: 'podinfo:3', resources: { limits: { memory: '256Mi' } } });
    expect(new Set(reportSummary(w))).toEqual(new Set(['Deployment/podinfo-primary rollback/refused/owned', 'Deployment/podinfo-primary oom-bump/refused/owned']));
  });

  test("an operator's StatefulSet OOM-killed → reported as `owned`; its template untouched, no stuck pod deleted", async () => {
    w = await healerWorld();
    w.cluster.behave('redis:7', 'oom-at:300Mi');
    const set = statefulSet('cache', { namespace: NS, image: 'redis:7', replicas: 3, memory: '256Mi', annotations: HEAL });
    set.metadata!.ownerReferences = [{ apiVersion: 'databases.example.com/v1', kind: 'RedisCluster', name: 'cache', uid: 'redis-uid', controller: true }];
    w.kube.put(set);
    const a = await w.start();
    await w.advance(10 * 60);

    expect(reportSummary(w)).toEqual(['StatefulSet/cache oom-bump/refused/owned']);
    expect(a.healer.reports[0]!.message).toMatch(/^controlled by RedisCluster\/cache \(databases\.example\.com\/v1\), which writes this StatefulSet's template/);
    expect(writes(w)).toEqual([]);
    expect(w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'cache').spec!.template.spec!.containers[0]!.resources!.limits!.memory).toBe('256Mi');
  });
});
