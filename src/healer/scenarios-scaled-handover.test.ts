/**
 * The crash-loop rule of the known-good mark (`provedSinceCrashLoop`, known-good.ts) across a change
 * of leader, on the simulated cluster. Two replicas of Amadeus elect a leader; the leader records
 * the memory raise crash-looping, then refuses the crash-looping release (`raise-crash-looped`);
 * an HPA scales the Deployment 3 → 1 mid-rollout, so the raise's remainder — one pod, one that ran
 * beside the crash loop — is the Deployment's full size. Then the leader goes and the other replica
 * leads. The new leader reads pod statuses from its own informer, its revision clock its own:
 * - a follower that watched the crash loop: its clock stopped with it, like the leader's; started
 *   again by a write to the surviving pod (a person's annotation), it still marks nothing — the pod
 *   started before the crash loop;
 * - a follower started after the crash loop (the next replica of a rolling upgrade of Amadeus): its
 *   clock has run from its first list, the remainder Ready at the Deployment's size for five windows
 *   and more — still no mark: the pod started before the crash loop.
 * Either way, for an hour the release is only refused, and the new leader writes nothing but its
 * Lease and Events; once the surviving pod is replaced (its node cordoned, the pod evicted) and the
 * new one has run the window, the new leader marks the raise and rolls the release back to it, once. Deployment
 * `web` in the namespace is never written after its own mark, and no pod is deleted.
 */
import type { V1Deployment, V1Lease, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import { HEAL_ANNOTATIONS, HEAL_RULES } from './rules.js';
import { apiWrites, autoscale, cordonAndEvict, healerWorld, type HealerWorld, isTemplateSeenRecord, LEASE, releaseBesideNeighbour, type Replica, replicaSetsOf, reportSummary, revisionSeen, strayTemplateSeenRecords, API_STORY, podReady as ready } from '../test-support/healer-world.js';

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
const holder = () => w.get<V1Lease>('coordination.k8s.io/v1', 'Lease', LEASE.name).spec!.holderIdentity;
const startedAt = (p: V1Pod) => Date.parse(p.status!.containerStatuses![0]!.state!.running!.startedAt as unknown as string);
/** A replica's reports, a line each: `action/result/reason`. */
const reportsOf = (r: Replica) => r.healer.reports.map((x) => `${x.action}/${x.result}/${x.reason}`);
/** What a replica's own revision clock holds for a ReplicaSet (from its own pod informer). */
const seen = (r: Replica, name: string) => revisionSeen(w, r, name);
/** The writes a replica sent from its `from`th API call on, but for its Lease's and its Events. */
const writesBy = (r: Replica, from = 0) => r.calls.slice(from).filter((m) => /^(patch|delete|replace|create)/.test(m) && !/(Lease|Event)$/.test(m));
/** Every write the API server received from request `from` on, but for Events and the Lease (template-seen records included): `METHOD resource status`. */
const writes = (from = 0) => apiWrites(w, from, { lease: false, templateSeen: true });

/** What an HPA does to Deployment api (healer-world's `autoscale`). */
const scale = (replicas: number) => autoscale(w, 'api', replicas);

/**
 * `raiseSeenCrashLooping` with replica `a` electing (and, with `follower`, replica `b` beside it
 * from the start) and a neighbour, Deployment `web` (2 replicas, healthy, opted in: marked in its
 * first window by the leader); then the release api:2, crash-looping, and three minutes: refused by
 * a, its rollout stuck with one pod of the raise left. Then the HPA scales api 3 → 1 and a minute
 * passes: the raise's remainder is the Deployment's full size, its one pod started before the record.
 */
async function scaledDownUnderLeader(follower: boolean) {
  // Two nodes: the release's one pod and the raise's, once moved off its node (`drainedThenMarked`),
  // share a node — the node rule's evidence that the release's crash loop is its own, not its node's.
  w = await healerWorld({ nodes: ['node-1', 'node-2'] });
  const { started, raise, release, web, webPods } = await releaseBesideNeighbour(w, async () => {
    const a = await w.start({ name: 'a', elect: true });
    return { a, b: follower ? await w.start({ name: 'b', elect: true }) : null };
  });
  const { a } = started;
  expect(a.healer.isLeader).toBe(true);
  expect(rs(web).metadata!.annotations![KNOWN_GOOD]).toBe('true');
  expect(summary()).toEqual([RAISED, TOO_FEW, REFUSED]);
  expect(reportsOf(a)).toEqual(['oom-bump/applied/raised', 'rollback/refused/too-few-failing', 'rollback/refused/raise-crash-looped']);
  const record = Date.parse(rs(raise).metadata!.annotations![RECORD]!);

  /** `web` as it was: its Deployment never patched, its ReplicaSet written once (a's mark), its pods the same, Ready, never restarted. */
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
  return { a, b: started.b, raise, release, record, webUntouched };
}

/** The HPA's 3 → 1 and a minute: the raise and the release keep one pod each, api:1's go; the raise's pod, returned, started before the record. */
async function hpaToOne(raise: string, release: string, record: number): Promise<V1Pod> {
  await scale(1);
  await w.advance(60);
  expect(api().spec!.replicas).toBe(1);
  expect(rs(raise).spec!.replicas).toBe(1);
  expect(rs(raise).status).toMatchObject({ replicas: 1, readyReplicas: 1 });
  expect(rs(release).spec!.replicas).toBe(1);
  const survivor = w.pods({ 'pod-template-hash': rs(raise).metadata!.labels!['pod-template-hash']! });
  expect(survivor).toHaveLength(1);
  expect(startedAt(survivor[0]!)).toBeLessThan(record);
  const released = w.pods({ 'pod-template-hash': rs(release).metadata!.labels!['pod-template-hash']! });
  expect(released.map((p) => p.spec!.nodeName)).not.toEqual([survivor[0]!.spec!.nodeName]);
  return survivor[0]!;
}

/**
 * The surviving pod's node cordoned and the pod evicted: its replacement comes up after the crash
 * loop, on the release's node (the one left), and runs Ready at the Deployment's size. `leader` does not mark the raise before the pod has run the window;
 * after, it does (bound to the raise, later than its record), and rolls the release's next crash
 * loop back to it, once, memory kept.
 */
async function drainedThenMarked(leader: Replica, survivor: V1Pod, raise: string, record: number): Promise<void> {
  const calls = leader.calls.length;
  const releasedOn = w.pods({ app: 'api' }).filter((p) => p.metadata!.uid !== survivor.metadata!.uid).map((p) => p.spec!.nodeName);
  cordonAndEvict(w, survivor);
  await w.advance(WINDOW - 2 * 60);
  const replacement = w.pods({ 'pod-template-hash': rs(raise).metadata!.labels!['pod-template-hash']! });
  expect(replacement.map((p) => p.metadata!.uid)).not.toContain(survivor.metadata!.uid);
  expect(replacement.map((p) => p.spec!.nodeName)).toEqual(releasedOn);
  expect(replacement.map((p) => ready(p) && startedAt(p) > record)).toEqual([true]);
  expect(rs(raise).status).toMatchObject({ replicas: 1, readyReplicas: 1 });
  expect(rs(raise).metadata!.annotations![KNOWN_GOOD]).toBeUndefined();
  expect(writesBy(leader, calls)).toEqual([]);
  await w.advance(5 * 60);
  const marks = rs(raise).metadata!.annotations!;
  expect(marks[KNOWN_GOOD]).toBe('true');
  expect(marks['amadeus.io/known-good-for']).toBe(rs(raise).metadata!.uid);
  expect(Date.parse(marks['amadeus.io/known-good-at']!)).toBeGreaterThan(record);
  expect(summary().filter((x) => x === ROLLED_BACK)).toHaveLength(1);
  expect(reportsOf(leader).at(-1)).toBe('rollback/applied/rolled-back');
  expect(leader.healer.reports.at(-1)!.message).toBe(`rolled back from revision 3 to revision 2 (ReplicaSet ${raise})`);
  expect(container().image).toBe('api:1');
  expect(container().resources!.limits!.memory).toBe('356Mi');
  expect(api().spec!.replicas).toBe(1);
  // The mark, then the rollback to it: nothing else.
  expect(writesBy(leader, calls)).toEqual(['patchNamespacedReplicaSet', 'patchNamespacedDeployment']);
  // Rolled back once: the release's pods go, and nothing more is done for an hour.
  await w.advance(60 * 60);
  expect(summary().filter((x) => x === ROLLED_BACK)).toHaveLength(1);
  expect(writesBy(leader, calls)).toEqual(['patchNamespacedReplicaSet', 'patchNamespacedDeployment']);
  expect(w.pods({ app: 'api' }).map((p) => `${p.spec!.containers[0]!.image} ${p.spec!.containers[0]!.resources!.limits!.memory} ${ready(p)}`)).toEqual(['api:1 356Mi true']);
}

describe('the crash-looped raise scaled down to its remainder (HPA 3 → 1 mid-rollout), then a new leader', () => {
  test('the follower that watched the crash loop leads after the leader stops: its own clock for the remainder stopped by the crash loop, then started again by an annotation on the surviving pod — for an hour and a half no mark, the release only refused, no write but its Lease and Events; after a drain, the new pod Ready for the window, it marks the raise and rolls the release back to it, once; web untouched', async () => {
    const { a, b, raise, release, record, webUntouched } = await scaledDownUnderLeader(true);
    expect(b!.healer.isLeader).toBe(false);
    expect(writesBy(b!)).toEqual([]);
    const from = w.kube.requests.length;
    const survivor = await hpaToOne(raise, release, record);
    // b observed every pod as a did: the raise's clock stopped at the crash loop, in both.
    expect(seen(a, raise)).toMatchObject({ pods: 1, ready: 1, crashLooping: 0, healthySince: null });
    expect(seen(b!, raise)).toMatchObject({ pods: 1, ready: 1, crashLooping: 0, healthySince: null, lastStart: startedAt(survivor) });

    // a stops (an upgrade): b takes the Lease and looks at every pod again.
    const bFrom = b!.calls.length;
    await w.stop(a);
    await w.advance(60 * 60);
    expect(holder()).toBe('b');
    expect(b!.healer.isLeader).toBe(true);
    expect(new Set(reportsOf(b!))).toEqual(new Set(['rollback/refused/raise-crash-looped']));
    expect(b!.healer.reports[0]!.message).toContain(`seen crash-looping at ${new Date(record).toISOString()}:`);
    expect(rs(raise).metadata!.annotations![KNOWN_GOOD]).toBeUndefined();
    expect(seen(b!, raise).healthySince).toBeNull();

    // A person annotates the surviving pod: a pod event, every pod of the raise Ready — b's clock
    // for the raise starts, at the Deployment's full size. Still no mark for half an hour: the pod
    // started before the crash loop it ran beside.
    const annotatedAt = w.cluster.clock.now();
    w.edit<V1Pod>('v1', 'Pod', survivor.metadata!.name!, (p) => void (p.metadata!.annotations = { ...p.metadata!.annotations, 'example.com/triage': 'ran beside the crash loop' }));
    await w.advance(3 * WINDOW);
    expect(seen(b!, raise)).toMatchObject({ pods: 1, ready: 1, healthySince: annotatedAt, lastStart: startedAt(survivor) });
    expect(w.cluster.clock.now() - seen(b!, raise).healthySince!).toBeGreaterThan(2 * WINDOW * 1000);
    expect(rs(raise).metadata!.annotations![KNOWN_GOOD]).toBeUndefined();
    expect(new Set(reportsOf(b!))).toEqual(new Set(['rollback/refused/raise-crash-looped']));
    expect(writesBy(b!, bFrom)).toEqual([]);
    expect(writes(from)).toEqual(['PATCH deployments/api 200']); // the HPA's
    expect(container().image).toBe('api:2');
    expect(container().resources!.limits!.memory).toBe('356Mi');
    expect(rs(release).metadata!.annotations![KNOWN_GOOD]).toBeUndefined();

    await drainedThenMarked(b!, survivor, raise, record);
    expect(writes(from)).toEqual(['PATCH deployments/api 200', `PATCH replicasets/${raise} 200`, 'PATCH deployments/api 200']);
    expect(writesBy(a).filter((m) => m === 'patchNamespacedDeployment')).toEqual(['patchNamespacedDeployment']); // the raise, before the release
    webUntouched();
  });

  test('a follower started after the crash loop (a rolling upgrade of Amadeus) leads once the leader loses its Lease: its clock has run from its first list, the remainder Ready at the Deployment’s full size for an hour and more, yet no mark — the pod started before the crash loop — the release only refused, no write but its Lease and Events; after a drain it marks the raise and rolls back to it, once; the old leader, back, follows and writes nothing; web untouched', async () => {
    const { a, raise, release, record, webUntouched } = await scaledDownUnderLeader(false);
    // b joins after the refusal: its first list shows the raise's one pod Ready.
    const b = await w.start({ name: 'b', elect: true });
    const bStart = w.cluster.clock.now();
    expect(b.healer.isLeader).toBe(false);
    expect(holder()).toBe('a');
    const from = w.kube.requests.length;
    const survivor = await hpaToOne(raise, release, record);
    expect(seen(a, raise)).toMatchObject({ pods: 1, ready: 1, healthySince: null });
    expect(seen(b, raise)).toMatchObject({ pods: 1, ready: 1, crashLooping: 0, healthySince: bStart, lastStart: startedAt(survivor) });

    // a stops renewing its Lease (a pause, a partition): b takes it over once it has expired.
    const aFrom = a.calls.length;
    a.electing = false;
    await w.advance(60 * 60);
    expect(holder()).toBe('b');
    expect(a.healer.isLeader).toBe(false);
    expect(b.healer.isLeader).toBe(true);
    // b's own clock: the remainder, 1 of 1, Ready without interruption for more than five windows.
    expect(seen(b, raise)).toMatchObject({ pods: 1, ready: 1, healthySince: bStart });
    expect(w.cluster.clock.now() - bStart).toBeGreaterThan(5 * WINDOW * 1000);
    expect(rs(raise).metadata!.annotations![KNOWN_GOOD]).toBeUndefined();
    expect(new Set(reportsOf(b))).toEqual(new Set(['rollback/refused/raise-crash-looped']));
    expect(b.healer.reports[0]!.message).toContain(`seen crash-looping at ${new Date(record).toISOString()}:`);
    expect(writesBy(b)).toEqual([]);
    expect(writesBy(a, aFrom)).toEqual([]);
    expect(writes(from)).toEqual(['PATCH deployments/api 200']); // the HPA's
    expect(container().image).toBe('api:2');
    expect(container().resources!.limits!.memory).toBe('356Mi');
    expect(rs(release).metadata!.annotations![KNOWN_GOOD]).toBeUndefined();

    // a resumes: the Lease is b's, renewed; a follows.
    a.electing = true;
    await w.advance(60);
    expect(holder()).toBe('b');
    expect(a.healer.isLeader).toBe(false);

    await drainedThenMarked(b, survivor, raise, record);
    expect(writes(from)).toEqual(['PATCH deployments/api 200', `PATCH replicasets/${raise} 200`, 'PATCH deployments/api 200']);
    expect(writesBy(a, aFrom)).toEqual([]);
    expect(reportsOf(a).slice(3).filter((x) => x !== 'rollback/refused/raise-crash-looped')).toEqual([]);
    webUntouched();
  });
});
