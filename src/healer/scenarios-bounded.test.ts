/**
 * The healer on answers too large to read (the size cap of kube.ts, --kube-max-answer-bytes), on
 * the simulated cluster with its controllers: a list it needs to decide from fails whole, and the
 * healer reports that it could not act — it never decides from part of a list, never patches, and
 * nothing is scaled down or removed. Every list it makes comes in pages.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { deployment } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS, replicaSetRunning, reportSummary, podReady as ready } from '../test-support/healer-world.js';
import { KUBE_LIST_PAGE } from './kube.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const CAP = 32 * 1024;
/** A Deployment annotation the controller copies onto every ReplicaSet: ~20 KiB each. */
const NOTES = { 'example.com/release-notes': 'n'.repeat(20 * 1024) };
const COLLECTION = /\/(pods|replicasets|deployments|statefulsets|daemonsets|controllerrevisions|limitranges|resourcequotas|verticalpodautoscalers|events)$/;

test('a bad rollout whose ReplicaSet list is larger than the cap: the rollback is reported as failed, nothing is patched, web:1 keeps serving; with room, it is rolled back', async () => {
  w = await healerWorld();
  w.cluster.behave('web:2', { run: 'crash', log: 'panic: nil map\n' });
  w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: { ...HEAL, ...NOTES } }));
  const a = await w.start({ name: 'a', bounds: { maxAnswerBytes: CAP } });
  await w.advance(11 * 60);
  // One ReplicaSet (~21 KiB) fits: web:1 is watched healthy and marked known-good.
  expect(replicaSetRunning(w, 'web', 'web:1')!.metadata!.annotations!['amadeus.io/known-good']).toBe('true');

  // web:2 rolls out and crash-loops; the Deployment's two ReplicaSets now list to ~42 KiB.
  w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
  await w.advance(5 * 60);

  // Each crash seen is reported (the notifier de-duplicates them), every one as failed.
  const failed = reportSummary(w);
  expect(failed.length).toBeGreaterThan(0);
  expect(new Set(failed)).toEqual(new Set(['Deployment/web rollback/failed/api-error']));
  expect(a.healer.reports[0]!.message).toBe(`rollback refused: Kubernetes API GET /apis/apps/v1/namespaces/${NS}/replicasets: answer larger than ${CAP} bytes, refused (--kube-max-answer-bytes); nothing was changed`);
  expect(new Set(w.events().map((e) => `${e.involvedObject.name} ${e.type}`))).toEqual(new Set(['web Warning']));
  expect(w.notes().length).toBeGreaterThan(0);
  expect(w.notes().every((n) => n.result === 'failed')).toBe(true);
  // Nothing written to the workload, nothing removed: web:1's three pods still serve beside the crash-looping one.
  expect(w.patches('deployments/web')).toEqual([]);
  expect(w.kube.requests.filter((q) => q.method === 'DELETE')).toEqual([]);
  expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template.spec!.containers[0]!.image).toBe('web:2');
  expect(w.pods({ app: 'web' }).filter((p) => p.spec!.containers[0]!.image === 'web:1' && ready(p))).toHaveLength(3);
  // The known-good marks' round fails on the same list, and says so.
  expect(a.lines.some((l) => l.msg === 'could not update known-good marks' && String(l.error).includes('answer larger than'))).toBe(true);

  // Every list the healer made was paged.
  const lists = w.kube.requests.filter((q) => q.method === 'GET' && q.query.watch !== 'true' && COLLECTION.test(q.path));
  expect(lists.length).toBeGreaterThan(0);
  expect(lists.filter((q) => q.query.limit !== String(KUBE_LIST_PAGE)).map((q) => q.path)).toEqual([]);

  // The operator raises the cap (a restart with a larger --kube-max-answer-bytes): the rollback is made, once.
  await w.stop(a);
  await w.start({ name: 'b', bounds: { maxAnswerBytes: 4 * CAP } });
  await w.advance(5 * 60);
  expect(reportSummary(w).slice(failed.length)).toEqual(['Deployment/web rollback/applied/rolled-back']);
  expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template.spec!.containers[0]!.image).toBe('web:1');
  expect(w.patches('deployments/web').map((p) => p.status)).toEqual([200]);
});

test('more Deployments than the known-good round may list: the round marks nothing there and says so (no rollback target is guessed); within the bound, marked', async () => {
  w = await healerWorld();
  w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 1, annotations: HEAL }));
  w.kube.put(deployment('api', { namespace: NS, image: 'api:1', replicas: 1, annotations: HEAL }));
  const a = await w.start({ name: 'a', maxWorkloadsListed: 1 });
  await w.advance(11 * 60);
  expect(replicaSetRunning(w, 'web', 'web:1')!.metadata!.annotations?.['amadeus.io/known-good']).toBeUndefined();
  expect(a.lines.some((l) => l.msg === 'could not update known-good marks' && String(l.error).startsWith(`more than 1 Deployments in ${NS}`))).toBe(true);
  await w.stop(a);
  await w.start({ name: 'b', maxWorkloadsListed: 2 });
  await w.advance(11 * 60);
  expect(replicaSetRunning(w, 'web', 'web:1')!.metadata!.annotations?.['amadeus.io/known-good']).toBe('true');
});
