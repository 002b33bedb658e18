/**
 * Multi-step scenarios of a StatefulSet memory raise and the pods it deletes, on the simulated
 * cluster: real controllers, a kubelet stand-in, and the real Healer talking HTTP to the fake API
 * server (review 11, F).
 *
 * With `OrderedReady` pods a StatefulSet replaces no pod that is not Ready (kubernetes#67250), so
 * after a raise the healer deletes the pods that cannot come up at the old limit, for the
 * controller to recreate at the new one. Which pods those are is what these scenarios pin down:
 * - only pods whose own container status shows the raised container OOM-killed at the old limit —
 *   a peer not Ready for another reason (restarted once, waiting for a quorum) is not the raise's
 *   to delete: for a quorum system, deleting it with the killed one loses the quorum;
 * - one at a time under `OrderedReady`, lowest ordinal first, as the controller itself would:
 *   the others follow at their next OOM kill, once the pods below them are Ready again.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { statefulSet } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS, reportSummary } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const memory = (p: V1Pod) => p.spec!.containers[0]!.resources?.limits?.memory;
const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
const podsNow = (w: HealerWorld) => w.pods({ app: 'db' }).map((p) => `${p.metadata!.name} ${memory(p)} ready=${ready(p)}`);
const healerDeletes = (w: HealerWorld) => w.kube.requests.filter((q) => q.method === 'DELETE' && q.path.includes('/pods/')).map((q) => q.path.split('/').pop());

test('db-0 and db-1 restarted once and wait not Ready (a quorum), never OOM-killed; db-2 is OOM-killed → the limit is raised, and neither peer is deleted', async () => {
  w = await healerWorld({ marks: false });
  const runs = new Map<string, number>();
  w.cluster.behaviour((c) => {
    const name = c.pod.metadata!.name!;
    const n = (runs.get(c.pod.metadata!.uid!) ?? 0) + 1;
    runs.set(c.pod.metadata!.uid!, n);
    if (name === 'db-2') return n === 1 ? 'leak:512Ki' : 'healthy'; // OOM-killed at 256Mi after ~8.5 min
    if (n === 1) return 'healthy-then-crash:300'; // a peer blip at minute 5 ...
    return 'not-ready'; // ... then running, waiting for a quorum: never OOM-killed, limit untouched
  });
  w.kube.put(statefulSet('db', { namespace: NS, image: 'db:1', replicas: 3, memory: '256Mi', annotations: HEAL }));
  const a = await w.start();
  await w.advance(7 * 60);
  const peers = w.pods({ app: 'db' }).filter((p) => p.metadata!.name !== 'db-2');
  expect(peers.map((p) => `${p.metadata!.name} ${memory(p)} ready=${ready(p)} restarts=${p.status!.containerStatuses![0]!.restartCount} ${p.status!.containerStatuses![0]!.lastState?.terminated?.reason}`)).toEqual([
    'db-0 256Mi ready=false restarts=1 Error',
    'db-1 256Mi ready=false restarts=1 Error',
  ]);

  await w.advance(10 * 60);
  // The raise, for db-2's kill; nothing deleted: db-2 is Ready again (its restart runs), and its
  // peers were never OOM-killed — they wait on something else, not on memory.
  expect(reportSummary(w)).toEqual(['StatefulSet/db oom-bump/applied/raised']);
  expect(a.healer.reports[0]!.message).toBe('raised the memory limit of app: 256Mi → 356Mi (request → 356Mi)');
  expect(healerDeletes(w)).toEqual([]);
  // The same peers (uids), still there: their quorum was not taken from them.
  expect(w.pods({ app: 'db' }).filter((p) => p.metadata!.name !== 'db-2').map((p) => p.metadata!.uid)).toEqual(peers.map((p) => p.metadata!.uid));
});

test('every pod OOM-killed at 256Mi and crash-looping on it when Amadeus starts → raised; the stuck pods deleted one at a time, lowest ordinal first, each once the pods below it are Ready', async () => {
  w = await healerWorld({ marks: false });
  const runs = new Map<string, number>();
  w.cluster.behaviour((c) => {
    const n = (runs.get(c.pod.metadata!.name!) ?? 0) + 1;
    runs.set(c.pod.metadata!.name!, n);
    // A slow leak that ends each pod's first run at 256Mi, then a working set of 300Mi: OOM-killed
    // at every restart under 256Mi, healthy under the raised 356Mi (a recreated pod too).
    return n === 1 ? 'leak:512Ki' : 'oom-at:300Mi';
  });
  w.kube.put(statefulSet('db', { namespace: NS, image: 'db:1', replicas: 3, memory: '256Mi', annotations: HEAL }));
  await w.advance(12 * 60); // no Amadeus yet: every pod killed, and crash-looping on it
  const before = w.pods({ app: 'db' });
  expect(before.map((p) => `${p.metadata!.name} ${memory(p)} ready=${ready(p)} ${p.status!.containerStatuses![0]!.lastState?.terminated?.reason}`)).toEqual([
    'db-0 256Mi ready=false OOMKilled',
    'db-1 256Mi ready=false OOMKilled',
    'db-2 256Mi ready=false OOMKilled',
  ]);

  const a = await w.start();
  await w.advance(60);
  // The raise deletes db-0 alone (nothing below it); db-1 and db-2 are left, said why.
  expect(reportSummary(w)[0]).toBe('StatefulSet/db oom-bump/applied/raised');
  expect(a.healer.reports[0]!.message).toMatch(/^raised the memory limit of app: 256Mi → 356Mi \(request → 356Mi\); recreated 1 stuck pod\(s\); not recreated, still at the old limit: db-1 \(OrderedReady: .*\), db-2 \(OrderedReady: .*\)$/);
  expect(healerDeletes(w).slice(0, 1)).toEqual(['db-0']);

  // The others follow at their next kills, one at a time: never a delete while a pod below is not back.
  await w.advance(20 * 60);
  expect(podsNow(w)).toEqual(['db-0 356Mi ready=true', 'db-1 356Mi ready=true', 'db-2 356Mi ready=true']);
  expect(healerDeletes(w)).toEqual(['db-0', 'db-1', 'db-2']);
  expect(reportSummary(w)).toEqual(['StatefulSet/db oom-bump/applied/raised', 'StatefulSet/db oom-bump/applied/recreated-stuck-pods', 'StatefulSet/db oom-bump/applied/recreated-stuck-pods']);
  expect(a.healer.reports.slice(1).map((r) => r.message)).toEqual([
    "recreated 1 stuck pod(s) still at a memory limit below the template's 356Mi",
    "recreated 1 stuck pod(s) still at a memory limit below the template's 356Mi",
  ]);
  expect(w.patches('statefulsets/db')).toHaveLength(1);
});
