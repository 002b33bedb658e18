/**
 * The crashed container's previous logs are read by pod name. A StatefulSet's pod deleted and made
 * again under its name (a namesake) between the decision and the read would lend its own logs to
 * the decision: here, a namesake's dependency outage would refuse the rollback of a release that
 * crash-loops on its own. Only logs read while the pod of that name is still the failing one count.
 */
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { statefulSet } from '../test-support/cluster/objects.js';
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
