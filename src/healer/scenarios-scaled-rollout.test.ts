/**
 * The crash-loop rule of the known-good mark (`provedSinceCrashLoop`, known-good.ts) under an
 * autoscaler, on the simulated cluster: a ReplicaSet carrying its own crash-loop record is marked
 * again only when it wants the Deployment's full size and a pod of it came up after the record and
 * has run the window. An HPA (KEDA's included) changing `spec.replicas` while a
 * rollout runs makes the Deployment controller scale every active ReplicaSet proportionally, so the
 * crash-looped raise's remainder grows or shrinks with the Deployment:
 * - scaled up: the remainder gets a pod (which restarts this process's healthy clock for it) yet stays
 *   below the Deployment's size; Ready for three windows it is not marked — by the process that
 *   watched the crash loop, nor by a fresh one — and the crash-looping release is refused
 *   (`raise-crash-looped`), never rolled back to the raise;
 * - scaled down to the remainder's size: the remainder is then the Deployment's full size, but its
 *   pod is one that ran beside the crash loop (started before it). Neither the process that watched
 *   the crash loop nor a fresh one marks it (`provedSinceCrashLoop`: a pod must have come up since);
 *   once the pod is replaced and the new one has run Ready for the window, it is, and the
 *   crash-looping release is rolled back to it;
 * - throughout, another Deployment in the namespace is never patched and no pod is deleted.
 */
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { HEAL_ANNOTATIONS, HEAL_RULES } from './rules.js';
import { apiWrites, autoscale, cordonAndEvict, healerWorld, type HealerWorld, isTemplateSeenRecord, releaseBesideNeighbour, type Replica, replicaSetsOf, reportSummary, revisionSeen, strayTemplateSeenRecords, API_STORY, podReady as ready } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const { crashLoopedAt: RECORD, knownGood: KNOWN_GOOD } = HEAL_ANNOTATIONS;
const { raised: RAISED, tooFew: TOO_FEW, refused: REFUSED, rolledBack: ROLLED_BACK } = API_STORY;
const WINDOW = HEAL_RULES.knownGoodSeconds;
const summary = () => reportSummary(w);
const rs = (name: string) => w.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', name);
const api = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'api');
const container = () => api().spec!.template.spec!.containers[0]!;
/** What a replica's own revision clock holds for a ReplicaSet (the mark needs it to have run for the window). */
const seen = (r: Replica, name: string) => revisionSeen(w, r, name);
/** Every write sent from request `from` on, but for Events (template-seen records included): `METHOD resource status`. */
const writes = (from = 0) => apiWrites(w, from, { templateSeen: true });

/** What an HPA does to Deployment api (healer-world's `autoscale`). */
const scale = (replicas: number) => autoscale(w, 'api', replicas);

/**
 * `raiseSeenCrashLooping` with a neighbour, Deployment `web` (2 replicas, healthy, opted in: marked
 * known-good in its first window), then the release api:2 (crash-looping on every pod) and three
 * minutes: refused, its rollout stuck with one pod of the raise left — the raise's crash-looping pod
 * went first.
 */
async function raiseThenRelease(nodes?: string[]) {
  w = await healerWorld(nodes ? { nodes } : {});
  const { started: a, raise, release, web, webPods } = await releaseBesideNeighbour(w, () => w.start());
  expect(rs(web).metadata!.annotations![KNOWN_GOOD]).toBe('true');
  expect(summary()).toEqual([RAISED, TOO_FEW, REFUSED]);
  expect(rs(raise).spec!.replicas).toBe(1);
  expect(rs(raise).status).toMatchObject({ replicas: 1, readyReplicas: 1 });
  expect(rs(raise).metadata!.annotations![RECORD]).toEqual(expect.any(String));

  /** `web` as it was: its Deployment never patched, its ReplicaSet written once (its mark), its pods the same, Ready, never restarted. */
  const webUntouched = () => {
    expect(w.patches('deployments/web')).toEqual([]);
    expect(w.patches(`replicasets/${web}`).filter((q) => !isTemplateSeenRecord(q)).map((q) => q.body)).toEqual([{ metadata: { annotations: expect.objectContaining({ [KNOWN_GOOD]: 'true' }), resourceVersion: expect.any(String) } }]);
    expect(strayTemplateSeenRecords(w, 0, 'web', 'api')).toEqual([]); // the template-seen records left out: once a ReplicaSet
    expect(replicaSetsOf(w, 'web').map((x) => x.metadata!.name)).toEqual([web]);
    const pods = w.pods({ app: 'web' });
    expect(pods.map((p) => p.metadata!.uid)).toEqual(webPods);
    expect(pods.every((p) => ready(p) && p.status!.containerStatuses![0]!.restartCount === 0)).toBe(true);
    expect(w.kube.requests.filter((q) => q.method === 'DELETE')).toEqual([]);
  };
  return { a, raise, release, webUntouched };
}

describe('the crash-looped raise scaled up with the Deployment during the release’s rollout', () => {
  test('HPA 3 → 6 mid-rollout: the raise’s remainder (2 of 6) Ready for three windows, this process’s clock running, is not marked; the release is refused throughout, never rolled back to the raise; no write but the autoscaler’s; web untouched', async () => {
    const { a, raise, release, webUntouched } = await raiseThenRelease();
    const from = w.kube.requests.length;
    await scale(6);
    await w.advance(60);
    // Proportional scaling: the raise gets a share of the three new replicas, not the Deployment's size.
    expect(rs(raise).spec!.replicas).toBe(2);
    expect(api().spec!.replicas).toBe(6);
    await w.advance(3 * WINDOW);
    expect(rs(raise).metadata!.annotations![KNOWN_GOOD]).toBeUndefined();
    // Every crash loop of api:2 since is refused: neither the raise nor api:1 under it rolled out.
    expect(new Set(summary().slice(2))).toEqual(new Set([REFUSED]));
    // Yet it ran healthy, 2 of 6, for three windows: the scale-up's pod restarted this process's
    // clock for the raise, which has run for more than the window with every pod Ready — the size
    // rule alone keeps the mark off.
    expect(rs(raise).status).toMatchObject({ replicas: 2, readyReplicas: 2, availableReplicas: 2 });
    expect(w.pods({ 'pod-template-hash': rs(raise).metadata!.labels!['pod-template-hash']! }).map((p) => `${ready(p)} ${p.status!.containerStatuses![0]!.restartCount}`)).toEqual(['true 0', 'true 0']);
    const clock = seen(a, raise);
    expect(clock).toMatchObject({ pods: 2, ready: 2, crashLooping: 0 });
    expect(w.cluster.clock.now() - clock.healthySince!).toBeGreaterThan(2 * WINDOW * 1000);
    expect(summary().length).toBeGreaterThan(3);
    expect(container().image).toBe('api:2');
    expect(container().resources!.limits!.memory).toBe('356Mi');
    // The autoscaler's PATCH and nothing else: no mark, no rollback, no delete.
    expect(writes(from)).toEqual(['PATCH deployments/api 200']);
    expect(w.patches('deployments/api').at(-1)!.body).toEqual({ spec: { replicas: 6 } });
    expect(rs(release).metadata!.annotations![KNOWN_GOOD]).toBeUndefined();
    webUntouched();
  });

  test('and Amadeus restarted after the scale-up (no memory of the crash loop): the fresh process sees the remainder Ready from its start, for an hour, still 2 of 6 — not marked, the release still refused, nothing written', async () => {
    const { a, raise, webUntouched } = await raiseThenRelease();
    await scale(6);
    await w.advance(60);
    await w.stop(a);
    const from = w.kube.requests.length;
    const b = await w.start({ name: 'b' });
    await w.advance(60 * 60);
    expect(rs(raise).metadata!.annotations![KNOWN_GOOD]).toBeUndefined();
    expect(new Set(b.healer.reports.map((r) => `${r.action}/${r.result}/${r.reason}`))).toEqual(new Set(['rollback/refused/raise-crash-looped']));
    expect(rs(raise).spec!.replicas).toBe(2);
    expect(w.cluster.clock.now() - seen(b, raise).healthySince!).toBeGreaterThan(5 * WINDOW * 1000);
    expect(writes(from)).toEqual([]);
    expect(container().image).toBe('api:2');
    webUntouched();
  });
});

describe('the crash-looped raise, its Deployment scaled down to its remainder during the release’s rollout', () => {
  test('HPA 3 → 1 mid-rollout (the remainder, 1 of 1, is the full size, its pod one that ran beside the crash loop): not marked by the process that watched the crash loop, nor by a fresh one, for an hour; once that pod is replaced (a node drained), the new one Ready for the window, the raise is marked and the release rolled back to it; web untouched', async () => {
    // Two nodes: the release's one pod and the raise's, once moved off its node, share a node — the
    // node rule's evidence that the release's crash loop is its own, not its node's.
    const { a, raise, release, webUntouched } = await raiseThenRelease(['node-1', 'node-2']);
    const from = w.kube.requests.length;
    await scale(1);
    await w.advance(60);
    // Proportional scaling: api:1's two pods go, the raise and the release keep one each.
    expect(api().spec!.replicas).toBe(1);
    expect(rs(raise).spec!.replicas).toBe(1);
    expect(rs(raise).status).toMatchObject({ replicas: 1, readyReplicas: 1 });
    expect(rs(release).spec!.replicas).toBe(1);
    const survivor = w.pods({ 'pod-template-hash': rs(raise).metadata!.labels!['pod-template-hash']! })[0]!;
    const releasePod = w.pods({ 'pod-template-hash': rs(release).metadata!.labels!['pod-template-hash']! })[0]!;
    expect(releasePod.spec!.nodeName).not.toBe(survivor.spec!.nodeName);
    const record = Date.parse(rs(raise).metadata!.annotations![RECORD]!);
    expect(Date.parse(survivor.status!.containerStatuses![0]!.state!.running!.startedAt as unknown as string)).toBeLessThan(record);

    // The process that watched the crash loop: its clock for the raise stopped then, and nothing of
    // the raise has changed since (the scale-down left its one pod as it was): no mark.
    await w.advance(3 * WINDOW);
    expect(seen(a, raise)).toMatchObject({ pods: 1, ready: 1, healthySince: null });
    expect(rs(raise).metadata!.annotations![KNOWN_GOOD]).toBeUndefined();
    expect(new Set(summary().slice(2))).toEqual(new Set([REFUSED]));
    expect(writes(from)).toEqual(['PATCH deployments/api 200']);

    // A fresh process sees that pod Ready at the Deployment's full size from its start, its clock
    // running for an hour: still no mark — the pod started before the crash loop it ran beside —
    // and the release still refused, nothing written.
    await w.stop(a);
    const b = await w.start({ name: 'b' });
    await w.advance(60 * 60);
    expect(w.cluster.clock.now() - seen(b, raise).healthySince!).toBeGreaterThan(5 * WINDOW * 1000);
    expect(rs(raise).metadata!.annotations![KNOWN_GOOD]).toBeUndefined();
    expect(new Set(b.healer.reports.map((r) => `${r.action}/${r.result}/${r.reason}`))).toEqual(new Set(['rollback/refused/raise-crash-looped']));
    expect(writes(from)).toEqual(['PATCH deployments/api 200']);
    expect(container().image).toBe('api:2');

    // The node under it cordoned, the pod evicted: its replacement comes up after the crash loop, on
    // the release's node (the one left), and runs Ready at the Deployment's size. Not marked before it
    // has run the window; after, marked (bound to the raise, later than its record), and the
    // release's next crash loop is rolled back to it, memory kept.
    cordonAndEvict(w, survivor);
    await w.advance(WINDOW - 2 * 60);
    expect(rs(raise).status).toMatchObject({ replicas: 1, readyReplicas: 1 });
    expect(w.pods({ 'pod-template-hash': rs(raise).metadata!.labels!['pod-template-hash']! }).map((p) => p.spec!.nodeName)).toEqual([releasePod.spec!.nodeName]);
    expect(rs(raise).metadata!.annotations![KNOWN_GOOD]).toBeUndefined();
    await w.advance(5 * 60);
    const marks = rs(raise).metadata!.annotations!;
    expect(marks[KNOWN_GOOD]).toBe('true');
    expect(marks['amadeus.io/known-good-for']).toBe(rs(raise).metadata!.uid);
    expect(Date.parse(marks['amadeus.io/known-good-at']!)).toBeGreaterThan(record);
    await w.advance(5 * 60);
    expect(summary().filter((x) => x === ROLLED_BACK)).toHaveLength(1);
    expect(summary().at(-1)).toBe(ROLLED_BACK);
    expect(b.healer.reports.at(-1)!.message).toBe(`rolled back from revision 3 to revision 2 (ReplicaSet ${raise})`);
    expect(container().image).toBe('api:1');
    expect(container().resources!.limits!.memory).toBe('356Mi');
    expect(api().spec!.replicas).toBe(1);
    expect(writes(from)).toEqual(['PATCH deployments/api 200', `PATCH replicasets/${raise} 200`, 'PATCH deployments/api 200']);
    webUntouched();
  });
});
