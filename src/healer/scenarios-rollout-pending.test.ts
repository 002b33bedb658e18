/**
 * A change applied where the controller rolls nothing out by itself: a paused Deployment (until it
 * is resumed), an OnDelete DaemonSet or StatefulSet (until its pods are deleted). The report says `applied` — the
 * template is changed — and must also say that the pods keep the old limit, and the command that
 * finishes it, else a person reads "raised" while the pods go on being killed at the old limit.
 */
import type { V1DaemonSet, V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import { daemonSet, deployment, statefulSet } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

test('a paused Deployment: the raise is applied to the template, its pods keep the old limit, and the report says to resume it', async () => {
  w = await healerWorld({ marks: false });
  // 64 KiB a second: killed at 256Mi after about 68 minutes.
  w.cluster.behave('api:1', 'leak:64Ki');
  const a = await w.start({ name: 'a' });
  w.kube.put(deployment('api', { namespace: NS, image: 'api:1', replicas: 2, memory: '256Mi', annotations: HEAL }));
  await w.advance(60);
  w.edit<V1Deployment>('apps/v1', 'Deployment', 'api', (d) => void (d.spec!.paused = true));
  expect(await w.advance(3 * 3600, { until: () => a.healer.reports.some((r) => r.result === 'applied') })).toBe(true);
  await w.advance(600);

  const [raised] = a.healer.reports.filter((r) => r.result === 'applied');
  expect(raised!.message).toBe(
    `raised the memory limit of app: 256Mi → 356Mi (request → 356Mi); the Deployment is paused: its pods keep the old limit until it is resumed (kubectl -n ${NS} rollout resume deployment/api)`,
  );
  expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'api').spec!.template.spec!.containers[0]!.resources!.limits!.memory).toBe('356Mi');
  expect(w.pods({ app: 'api' }).map((p) => p.spec!.containers[0]!.resources!.limits!.memory)).toEqual(['256Mi', '256Mi']);
});

test('an OnDelete DaemonSet: the raise is applied to the template, its pods keep the old limit until deleted — the report names them and the command', async () => {
  w = await healerWorld({ marks: false });
  w.cluster.behave('agent:1', 'oom-at:300Mi');
  const a = await w.start({ name: 'a' });
  w.kube.put(daemonSet('agent', { namespace: NS, image: 'agent:1', memory: '256Mi', annotations: HEAL, updateStrategy: { type: 'OnDelete' } }));
  expect(await w.advance(3600, { until: () => a.healer.reports.some((r) => r.result === 'applied') })).toBe(true);
  await w.advance(600);

  const pods = w.pods({ app: 'agent' });
  expect(pods.length).toBeGreaterThan(0);
  expect(pods.map((p) => p.spec!.containers[0]!.resources!.limits!.memory)).toEqual(pods.map(() => '256Mi'));
  const names = pods.map((p) => p.metadata!.name!).sort();
  const [raised] = a.healer.reports.filter((r) => r.result === 'applied');
  expect(raised!.message).toBe(
    `raised the memory limit of app: 256Mi → 356Mi (request → 356Mi); the DaemonSet's update strategy is OnDelete: ${names.length} pod(s) keep the old limit until deleted (${names.join(', ')}): delete them one at a time for their replacements to get it (kubectl -n ${NS} delete pod ${names[0]})`,
  );
  expect(w.get<V1DaemonSet>('apps/v1', 'DaemonSet', 'agent').spec!.template.spec!.containers[0]!.resources!.limits!.memory).toBe('356Mi');
  // Deleting one, as the report says: its replacement runs at the raised limit.
  w.kube.remove('v1', 'Pod', NS, names[0]!);
  await w.advance(60);
  expect(w.pods({ app: 'agent' }).map((p) => p.spec!.containers[0]!.resources!.limits!.memory).sort()).toEqual([...names.slice(1).map(() => '256Mi'), '356Mi'].sort());
});

test('an OnDelete StatefulSet whose pods are Ready again between kills: the raise recreates none (only stuck pods are its to delete); they keep the old limit, named, with the command', async () => {
  w = await healerWorld({ marks: false });
  // Killed at 256Mi after about 68 minutes, Ready again at once after each restart.
  w.cluster.behave('db:1', 'leak:64Ki');
  const a = await w.start({ name: 'a' });
  w.kube.put(statefulSet('db', { namespace: NS, image: 'db:1', replicas: 2, memory: '256Mi', annotations: HEAL, updateStrategy: { type: 'OnDelete' } }));
  expect(await w.advance(3 * 3600, { until: () => a.healer.reports.some((r) => r.result === 'applied') })).toBe(true);

  expect(w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db').spec!.template.spec!.containers[0]!.resources!.limits!.memory).toBe('356Mi');
  const old = w
    .pods({ app: 'db' })
    .filter((p) => p.spec!.containers[0]!.resources!.limits!.memory === '256Mi')
    .map((p) => p.metadata!.name!)
    .sort();
  expect(old.length).toBeGreaterThan(0);
  const [raised] = a.healer.reports.filter((r) => r.result === 'applied');
  expect(raised!.message).toContain(
    `; the StatefulSet's update strategy is OnDelete: ${old.length} pod(s) keep the old limit until deleted (${old.join(', ')}): delete them one at a time for their replacements to get it (kubectl -n ${NS} delete pod ${old[0]})`,
  );
});
