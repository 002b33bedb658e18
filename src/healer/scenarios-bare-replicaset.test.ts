/**
 * A ReplicaSet with no Deployment above it (made directly, or orphaned by a
 * `kubectl delete deployment --cascade=orphan`), opted in: the healer has no template it may
 * change to any effect (a ReplicaSet does not roll a changed template out to its pods) and no
 * revisions to roll back to, so its pods' OOM kills and crash loops are reported on it — as a bare
 * pod's and a Job's are (ADR 0001 rule 11) — once per 15 minutes, and nothing is patched.
 */
import type { V1ReplicaSet } from '@kubernetes/client-node';
import { HEAL, healerWorld, type HealerWorld, NS, reportSummary } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

/** ReplicaSet `name` (2 replicas, container app running `image` at 256Mi), with `annotations`, no owner. */
function bareReplicaSet(name: string, image: string, annotations: Record<string, string>): V1ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: NS, labels: { app: name }, annotations },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image, resources: { limits: { memory: '256Mi' }, requests: { memory: '256Mi' } } }] },
      },
    },
  };
}

const writes = (w: HealerWorld) => w.kube.requests.filter((q) => q.method !== 'GET' && !q.path.endsWith('/events')).map((q) => `${q.method} ${q.path}`);

describe('a bare ReplicaSet (no Deployment above it), opted in', () => {
  test('its pods OOM-killed: reported on the ReplicaSet (Event, log, notification) as not healed, once per 15 minutes; nothing patched', async () => {
    w = await healerWorld({ marks: false });
    w.cluster.behave('worker:1', 'oom-at:300Mi');
    w.kube.put(bareReplicaSet('worker', 'worker:1', HEAL));
    const a = await w.start();
    expect(await w.advance(3600, { until: () => a.healer.reports.length > 0 })).toBe(true);
    expect(reportSummary(w)).toEqual(['ReplicaSet/worker oom-bump/refused/bare-replicaset']);
    const [r] = a.healer.reports;
    expect(r).toMatchObject({ result: 'refused', workload: { apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: NS, name: 'worker', uid: w.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', 'worker').metadata!.uid } });
    expect(r!.message).toBe(
      "a ReplicaSet without a Deployment does not roll a changed template out to its pods: raise the memory limit in its template and delete its pods for it to recreate them (or run it under a Deployment); Amadeus does not patch it",
    );
    expect(w.events().map((e) => [e.reason, e.involvedObject.kind, e.involvedObject.name, e.type])).toEqual([['HealRefused', 'ReplicaSet', 'worker', 'Warning']]);
    expect(a.notes).toEqual([expect.objectContaining({ severity: 'warning', result: 'refused', action: 'oom-bump', object: 'ReplicaSet/worker' })]);
    expect(a.lines.some((l) => l.level === 'warn' && l.reason === 'bare-replicaset' && l.failure === 'oom-killed')).toBe(true);

    // Both pods keep being killed for an hour: said again every 15 minutes at most, never acted on.
    await w.advance(3600);
    const said = reportSummary(w);
    expect(new Set(said)).toEqual(new Set(['ReplicaSet/worker oom-bump/refused/bare-replicaset']));
    expect(said.length).toBeGreaterThanOrEqual(4);
    expect(said.length).toBeLessThanOrEqual(5);
    expect(writes(w).filter((x) => !x.includes('/pods/'))).toEqual([]);
    expect(w.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', 'worker').spec!.template!.spec!.containers[0]!.resources!.limits!.memory).toBe('256Mi');
  });

  test('its pods crash-looping: reported on the ReplicaSet as having no revisions to roll back to; nothing changed', async () => {
    w = await healerWorld({ marks: false });
    w.cluster.behave('worker:2', { run: 'crash', log: 'starting worker:2\npanic: nil map\n' });
    w.kube.put(bareReplicaSet('worker', 'worker:2', HEAL));
    const a = await w.start();
    expect(await w.advance(3600, { until: () => a.healer.reports.length > 0 })).toBe(true);
    expect(reportSummary(w)).toEqual(['ReplicaSet/worker rollback/refused/bare-replicaset']);
    expect(a.healer.reports[0]!.message).toBe(
      'a ReplicaSet without a Deployment has no revisions to roll back to: fix the image or configuration in its template and delete its pods for it to recreate them (or run it under a Deployment)',
    );
    expect(w.events().map((e) => [e.reason, e.involvedObject.kind, e.involvedObject.name])).toEqual([['HealRefused', 'ReplicaSet', 'worker']]);
    expect(a.notes).toEqual([expect.objectContaining({ severity: 'warning', result: 'refused', action: 'rollback', object: 'ReplicaSet/worker' })]);
    expect(writes(w).filter((x) => !x.includes('/pods/'))).toEqual([]);
  });

  test('not opted in: nothing reported, nothing written', async () => {
    w = await healerWorld({ marks: false });
    w.cluster.behave('worker:1', 'oom-at:300Mi');
    w.kube.put(bareReplicaSet('worker', 'worker:1', {}));
    const a = await w.start();
    await w.advance(30 * 60);
    expect(w.pods().some((p) => p.status?.containerStatuses?.[0]?.lastState?.terminated?.reason === 'OOMKilled')).toBe(true);
    expect(a.healer.reports).toEqual([]);
    expect(a.notes).toEqual([]);
    expect(w.events()).toEqual([]);
  });
});
