/**
 * The crashed container's previous logs are read by pod name. A StatefulSet's pod deleted and made
 * again under its name (a namesake) between the decision and the read would lend its own logs to
 * the decision: here, a namesake's dependency outage would refuse the rollback of a release that
 * crash-loops on its own. Logs count unless the pod of that name is then shown with another uid: a
 * look-up that fails keeps them (they may be what refuses a rollback).
 */
import type { V1Deployment, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { deployment, statefulSet } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS, reportSummary } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

test('db-2 (db:2, crash-looping) replaced by a namesake while the leader reads its logs; the namesake\'s previous logs blame the database: not taken for db-2\'s — rolled back, not refused as a dependency outage', async () => {
  w = await healerWorld();
  w.cluster.behave('db:2', { run: 'crash', log: 'starting db:2\npanic: nil map\n' });
  w.kube.put(statefulSet('db', { namespace: NS, image: 'db:1', replicas: 3, annotations: HEAL }));
  const a = await w.start();
  await w.advance(11 * 60);

  // The decision is held on its read of db-2's logs.
  const stall = a.stallNext('readNamespacedPodLog');
  let held = false;
  void stall.reached.then(() => (held = true));
  w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => void (s.spec!.template.spec!.containers[0]!.image = 'db:2'));
  expect(await w.advance(10 * 60, { until: () => held })).toBe(true);
  const failing = w.get<V1Pod>('v1', 'Pod', 'db-2');
  const container = failing.spec!.containers[0]!.name;

  // Meanwhile db-2 is deleted and made again under its name; the namesake's previous container
  // failed on the database (its own story, not db:2's crash loop).
  const outage = 'FATAL: dial tcp 10.0.3.7:5432: connect: connection refused\n';
  w.cluster.behaviour(({ pod }) => (pod.metadata!.name === 'db-2' && pod.metadata!.uid !== failing.metadata!.uid ? { run: 'crash', log: outage } : undefined));
  const namesake = structuredClone(failing);
  delete namesake.metadata!.uid;
  delete namesake.metadata!.resourceVersion;
  delete namesake.metadata!.creationTimestamp;
  w.kube.remove('v1', 'Pod', NS, 'db-2');
  const made = w.kube.put(namesake);
  expect(made.metadata!.uid).not.toBe(failing.metadata!.uid);
  w.kube.setLogs(NS, 'db-2', container, outage, { previous: true });
  stall.release();
  await w.advance(60);

  expect(reportSummary(w)[0]).toBe('StatefulSet/db rollback/applied/rolled-back');
  expect(reportSummary(w).filter((r) => r.includes('dependency-outage'))).toEqual([]);
  expect(a.lines.filter((l) => l.msg.startsWith('the pod was replaced by a namesake since'))).toHaveLength(1);
});

test('db:2 crash-loops on the database; the look-up of db-2 after its log read fails (a 500): the logs count all the same — refused as a dependency outage, not rolled back on doubt', async () => {
  const outage = 'FATAL: dial tcp 10.0.3.7:5432: connect: connection refused\n';
  w = await healerWorld();
  w.cluster.behave('db:2', { run: 'crash', log: outage });
  w.kube.put(statefulSet('db', { namespace: NS, image: 'db:1', replicas: 3, annotations: HEAL }));
  const a = await w.start();
  await w.advance(11 * 60);
  // Every read of a db pod's logs is followed by a failed look-up of the pod by name.
  w.kube.beforeNext({ method: 'GET', path: /\/pods\/db-\d\/log$/ }, () => w.kube.failNext({ method: 'GET', path: `/api/v1/namespaces/${NS}/pods` }, 500), 1000);
  w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => void (s.spec!.template.spec!.containers[0]!.image = 'db:2'));
  await w.advance(10 * 60);

  const lookups = w.kube.requests.filter((q) => q.method === 'GET' && q.query.fieldSelector?.startsWith('metadata.name=db-'));
  expect(lookups.length).toBeGreaterThan(0);
  expect(lookups.every((q) => q.status === 500)).toBe(true);
  expect(reportSummary(w)).toContain('StatefulSet/db rollback/refused/dependency-outage');
  expect(reportSummary(w).filter((r) => r.includes('applied'))).toEqual([]);
  expect(a.lines.some((l) => l.msg.startsWith('could not look the pod up after reading its logs'))).toBe(true);
});

test('a Deployment\'s pods have generated names, never reused: their logs are not followed by a look-up (web:2 on the database, refused as a dependency outage)', async () => {
  // Two nodes for two replicas: the rollout's surge pod lands beside a Ready pod of the old revision (the node runs web), as the rollback's node rule wants.
  w = await healerWorld({ nodes: ['node-1', 'node-2'] });
  w.cluster.behave('web:2', { run: 'crash', log: 'FATAL: dial tcp 10.0.3.7:5432: connect: connection refused\n' });
  w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 2, annotations: HEAL }));
  await w.start();
  await w.advance(11 * 60);
  w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
  await w.advance(10 * 60);
  expect(reportSummary(w)).toContain('Deployment/web rollback/refused/dependency-outage');
  expect(w.kube.requests.filter((q) => q.path.endsWith('/log')).length).toBeGreaterThan(0);
  expect(w.kube.requests.filter((q) => q.query.fieldSelector?.startsWith('metadata.name='))).toEqual([]);
});
