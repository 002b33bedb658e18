/**
 * The node rule of the rollback (review 11, A): a crash loop whose pods all run on one node that has
 * not run the workload Ready is explained by the node as well as by the revision. A rollback then
 * would undo a release that may be healthy everywhere else, and put its hash in `rolled-back-from`
 * for good: the healer refuses (`one-node`) and decides again as the pods land elsewhere.
 */
import type { V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import { deployment, statefulSet } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS, podReady, replicaSetRunning, reportSummary } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const image = (w: HealerWorld) => w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template.spec!.containers[0]!.image;
const placed = (w: HealerWorld, app: string) =>
  w
    .pods({ app })
    .filter((p) => !p.metadata!.deletionTimestamp)
    .map((p) => `${p.spec!.containers[0]!.image} ${p.spec!.nodeName ?? '-'} ${podReady(p) ? 'ready' : 'not-ready'}`)
    .sort();
/** node-4 is broken (a bad disk, a broken runtime): every container on it dies at start. */
const brokenNode4 = (w: HealerWorld) =>
  w.cluster.behaviour((c) => (c.pod.spec?.nodeName === 'node-4' ? { run: 'crash', log: 'starting\nfatal error: unexpected signal during runtime execution [signal SIGBUS: bus error]\n' } : undefined));

describe('a crash loop on one node only', () => {
  test('a healthy release whose only new pod (the surge) lands on a broken node, where web never ran → refused (one-node), not rolled back nor blacklisted; rescheduled off the node, it rolls out', async () => {
    w = await healerWorld({ nodes: ['node-1', 'node-2', 'node-3', 'node-4'] });
    brokenNode4(w);
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
    const a = await w.start();
    await w.advance(11 * 60);
    expect(placed(w, 'web')).toEqual(['web:1 node-1 ready', 'web:1 node-2 ready', 'web:1 node-3 ready']);
    expect(replicaSetRunning(w, 'web', 'web:1')!.metadata!.annotations!['amadeus.io/known-good']).toBe('true');

    // maxSurge 1 / maxUnavailable 0: one pod of web:2, on the empty node-4.
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(5 * 60);
    expect(placed(w, 'web')).toEqual(['web:1 node-1 ready', 'web:1 node-2 ready', 'web:1 node-3 ready', 'web:2 node-4 not-ready']);
    // Said once (a refusal repeated at each restart is logged at debug), nothing written to the Deployment.
    expect(reportSummary(w)).toEqual(['Deployment/web rollback/refused/one-node']);
    expect(a.healer.reports[0]!.message).toMatch(/^no rollback: revision 2 crash-loops, but its crash-looping pods all run on node node-4, where no pod of the workload runs Ready/);
    expect(a.healer.reports[0]!.message).toContain('kubectl -n shop rollout undo deployment/web --to-revision=1');
    expect(image(w)).toBe('web:2');
    const d = w.get<V1Deployment>('apps/v1', 'Deployment', 'web');
    expect(d.metadata!.annotations!['amadeus.io/rolled-back-from']).toBeUndefined();
    expect(d.metadata!.annotations!['amadeus.io/last-rollback']).toBeUndefined();
    expect(w.kube.requests.filter((q) => q.method === 'PATCH' && q.path.includes('/deployments/'))).toEqual([]);
    expect(w.events().map((e) => `${e.involvedObject.name} ${e.type} ${e.reason}`)).toEqual(['web Warning HealRefused']);

    // Later events decide again, still refused: more restarts of the same pod on the same node.
    await w.advance(10 * 60);
    expect(reportSummary(w).filter((x) => !x.endsWith('refused/one-node'))).toEqual([]);
    expect(image(w)).toBe('web:2');

    // The operator takes node-4 out: the pod is made again on a good node, and web:2 rolls out healthy.
    w.cluster.removeNode('node-4');
    await w.advance(5 * 60);
    expect(placed(w, 'web')).toEqual(['web:2 node-1 ready', 'web:2 node-2 ready', 'web:2 node-3 ready']);
    expect(reportSummary(w).filter((x) => !x.endsWith('refused/one-node'))).toEqual([]);
    expect(image(w)).toBe('web:2');
  });

  test('a broken release whose surge pod lands on a node running web:1 Ready → rolled back: the node can run web, the crash is the revision’s', async () => {
    w = await healerWorld({ nodes: ['node-1', 'node-2', 'node-3', 'node-4'] });
    w.cluster.behave('web:2', { run: 'crash', log: 'starting web:2\npanic: runtime error: invalid memory address or nil pointer dereference\n' });
    // 4 replicas on 4 nodes: the surge pod lands beside a Ready web:1 pod (node-1, the first of the ties).
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 4, annotations: HEAL }));
    await w.start();
    await w.advance(11 * 60);
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(5 * 60);
    expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    expect(image(w)).toBe('web:1');
  });

  test('a broken release crash-looping on two nodes, neither of which ran web → rolled back (two nodes are no one bad node)', async () => {
    w = await healerWorld({ nodes: ['node-1', 'node-2', 'node-3', 'node-4', 'node-5'] });
    w.cluster.behave('web:2', { run: 'crash', log: 'starting web:2\npanic: runtime error: invalid memory address or nil pointer dereference\n' });
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
    await w.start();
    await w.advance(11 * 60);
    expect(placed(w, 'web')).toEqual(['web:1 node-1 ready', 'web:1 node-2 ready', 'web:1 node-3 ready']);
    // maxSurge 2: two pods of web:2, on the empty node-4 and node-5.
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => {
      d.spec!.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: 0 } };
      d.spec!.template.spec!.containers[0]!.image = 'web:2';
    });
    await w.advance(5 * 60);
    expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    expect(image(w)).toBe('web:1');
  });

  test('StatefulSet, one pod per node: db-2 made again at db:2 on the node db-2 ran Ready on until the rollout deleted it → rolled back (the node ran db just before)', async () => {
    w = await healerWorld();
    w.cluster.behave('db:2', { run: 'crash', log: 'starting db:2\nfatal: unknown flag --wal-mode\n' });
    w.kube.put(statefulSet('db', { namespace: NS, image: 'db:1', replicas: 3, annotations: HEAL }));
    await w.start();
    await w.advance(11 * 60);
    expect(placed(w, 'db')).toEqual(['db:1 node-1 ready', 'db:1 node-2 ready', 'db:1 node-3 ready']);
    w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => void (s.spec!.template.spec!.containers[0]!.image = 'db:2'));
    await w.advance(5 * 60);
    expect(reportSummary(w)).toEqual(['StatefulSet/db rollback/applied/rolled-back']);
    expect(w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db').spec!.template.spec!.containers[0]!.image).toBe('db:1');
  });

  test('StatefulSet: db-2 made again at db:2 on a broken node where db never ran → refused (one-node), not rolled back', async () => {
    w = await healerWorld({ nodes: ['node-1', 'node-2', 'node-3', 'node-4'] });
    brokenNode4(w);
    w.kube.put(statefulSet('db', { namespace: NS, image: 'db:1', replicas: 3, annotations: HEAL }));
    await w.start();
    await w.advance(11 * 60);
    expect(placed(w, 'db')).toEqual(['db:1 node-1 ready', 'db:1 node-2 ready', 'db:1 node-3 ready']);
    // Node-3 is drained for maintenance just as db:2 rolls out: db-2 is made again on node-4.
    w.cluster.removeNode('node-3');
    w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => void (s.spec!.template.spec!.containers[0]!.image = 'db:2'));
    await w.advance(5 * 60);
    expect(placed(w, 'db')).toContain('db:2 node-4 not-ready');
    expect(reportSummary(w)).toEqual(['StatefulSet/db rollback/refused/one-node']);
    expect(w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db').spec!.template.spec!.containers[0]!.image).toBe('db:2');
  });
});
