/**
 * Multi-step scenarios of a namespace passing --heal-max-pods in the middle of a rollout. On the
 * simulated cluster (real Deployment and ReplicaSet controllers, the kubelet stand-in, the real
 * Healer over HTTP), a neighbour the healer does not heal (Deployment `batch`) and a rollout's surge
 * pod take the namespace past the bound: its informer is dropped with its cache and every re-list
 * is refused while the pods do not fit. It asserts that the healer is blind for that stretch and
 * says so (the log names the bound and what to narrow; the watch gauge is down), that no revision
 * clock runs on the time it did not watch (ADR 0001) so no known-good mark is earned on it, that
 * nothing is written meanwhile (not even for a crash loop in plain sight of the cluster), that the
 * neighbour is never touched, and that once there is room again the healer lists afresh and acts
 * on what it finds — once.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { deployment } from '../test-support/cluster/objects.js';
import { waitFor } from '../test-support/fakes.js';
import { apiWrites, autoscale, HEAL, healerWorld, type HealerWorld, NS, replicaSetRunning, reportSummary, revisionSeen, podReady as ready, type Replica, templateSeenRecords } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const MAX_PODS = 4;
/** The first delay before a refused namespace is listed again (doubling to ten times it), small enough for real time. */
const RETRY_MS = 50;

const image = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template.spec!.containers[0]!.image;
const markOf = (img: string) => replicaSetRunning(w, 'web', img)!.metadata!.annotations?.['amadeus.io/known-good'];
const setImage = (img: string) => w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = img));
const images = (app: string) => w.pods({ app }).map((p) => `${p.spec!.containers[0]!.image} ${ready(p)}`);
const refusals = (a: Replica) => a.lines.filter((l) => l.msg === 'pod watch failed; restarting' && String(l.error).startsWith(`more than --heal-max-pods ${MAX_PODS} pods to watch (namespace ${NS}: at least `));
/** Every write but those of a person (`autoscale`, `edit`) and the controllers' (in-process): what the healer wrote, Events aside, template-seen records included. */
const writesOtherThan = (from: number, ...people: string[]) => apiWrites(w, from, { templateSeen: true }).filter((x) => !people.includes(x));
/** The watch gauge's changes (each refused re-list sets it down again). */
const changes = (gauge: { up: boolean }[]) => gauge.map((g) => g.up).filter((up, i, all) => i === 0 || up !== all[i - 1]);

/**
 * web (3 replicas of web:1, healed) beside batch (1 replica, not healed): four pods, the bound.
 * The replica records its watch gauge on the simulated clock. web:1 is marked known-good.
 */
async function start(): Promise<{ a: Replica; gauge: { at: number; up: boolean }[] }> {
  w = await healerWorld();
  w.cluster.behave('web:1', 'healthy');
  w.cluster.behave('batch:1', 'healthy');
  w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
  w.kube.put(deployment('batch', { namespace: NS, image: 'batch:1', replicas: 1 }));
  const gauge: { at: number; up: boolean }[] = [];
  const a = await w.start({
    maxPods: MAX_PODS,
    overBoundRetryMs: RETRY_MS,
    metrics: { heal: () => {}, healerWatch: (scope, up) => void (scope === NS && gauge.push({ at: w.cluster.clock.now(), up })) },
  });
  await w.advance(11 * 60);
  expect(markOf('web:1')).toBe('true');
  expect(w.pods()).toHaveLength(MAX_PODS);
  expect(gauge).toEqual([{ at: expect.any(Number), up: true }]);
  return { a, gauge };
}

/** The rollout to `img` starts: its surge pod is the fifth, and the namespace's watch is dropped at it. */
async function rollOutPastTheBound(a: Replica, img: string): Promise<void> {
  setImage(img);
  await w.quiet();
  expect(w.pods()).toHaveLength(MAX_PODS + 1);
  expect(refusals(a).length).toBeGreaterThanOrEqual(1);
  expect(refusals(a)[0]!.error).toMatch(/^more than --heal-max-pods 4 pods to watch \(namespace shop: at least 5\); the healer sees nothing in namespace shop until there is room: narrow --heal-namespaces or --heal-pod-selector, or raise --heal-max-pods$/);
}

/** Room again (batch is done): the next re-list fits. Waited for in real time, with the simulated clock still, so the re-list's time is known. */
async function makeRoom(a: Replica, gauge: { at: number; up: boolean }[]): Promise<number> {
  await autoscale(w, 'batch', 0);
  await w.quiet();
  await waitFor(() => gauge.at(-1)?.up === true, 10_000, 'the namespace is listed again and watched');
  await w.quiet();
  const backAt = w.cluster.clock.now();
  expect(gauge.at(-1)).toEqual({ at: backAt, up: true });
  expect(a.lines.some((l) => l.level === 'error')).toBe(false);
  return backAt;
}

describe('--heal-max-pods passed in the middle of a rollout, with a neighbour the healer does not heal', () => {
  test('web:2 rolls out and is Ready while the namespace is over the bound: no mark on that time; once listed again its clock starts from the re-list, it is marked ten watched minutes later, and web:3’s crash loop is rolled back to it, once', async () => {
    const { a, gauge } = await start();
    w.cluster.behave('web:2', 'healthy:60'); // a minute to Ready: the rollout takes simulated time
    w.cluster.behave('web:3', { run: 'crash', log: 'starting web:3\npanic: nil map\n' });
    const from = w.kube.requests.length;
    await rollOutPastTheBound(a, 'web:2');
    // batch grows meanwhile: with web's three pods after the rollout, still five — over the bound throughout.
    await autoscale(w, 'batch', 2);

    // Fifteen simulated minutes over the bound: the rollout completes and web:2 is Ready in every
    // pod, but the healer sees none of it. Re-lists are tried, on their own back-off, and refused.
    await w.advance(15 * 60);
    expect(images('web')).toEqual(Array(3).fill('web:2 true'));
    expect(images('batch')).toEqual(Array(2).fill('batch:1 true'));
    const web2 = replicaSetRunning(w, 'web', 'web:2')!.metadata!.name!;
    expect(revisionSeen(w, a, web2).healthySince).toBeNull();
    expect(markOf('web:2')).toBeUndefined();
    expect(changes(gauge)).toEqual([true, false]);
    const tries = refusals(a).map((l) => l.retryInMs as number);
    expect(tries.length).toBeGreaterThanOrEqual(2);
    expect(tries.every((ms) => ms >= RETRY_MS && ms <= 10 * RETRY_MS)).toBe(true);
    const batchScaled = `PATCH deployments/batch 200`;
    // Written: only web:2's template as first seen, once — read off the ReplicaSet list, which needs
    // no pod watch (bookkeeping for a later leader, no mark nor anything of the pods it cannot see).
    expect(writesOtherThan(from, batchScaled)).toEqual([`PATCH replicasets/${web2} 200`]);
    expect(templateSeenRecords(w, from)).toEqual([`${web2} 200`]);

    // batch is done: the namespace fits, is listed afresh, and web:2's clock runs from then — not
    // from when its pods became Ready, fifteen minutes before.
    const backAt = await makeRoom(a, gauge);
    expect(revisionSeen(w, a, web2).healthySince).toBe(backAt);
    await w.advance(9 * 60);
    expect(markOf('web:2')).toBeUndefined(); // nine watched minutes of the ten
    expect(await w.advance(3 * 60, { until: () => markOf('web:2') === 'true' })).toBe(true);
    expect(w.cluster.clock.now() - backAt).toBeGreaterThanOrEqual(10 * 60_000);

    // web:3 crash-loops: rolled back, once, to web:2 — the revision watched healthy.
    setImage('web:3');
    expect(await w.advance(10 * 60, { until: () => a.healer.reports.some((r) => r.result === 'applied') })).toBe(true);
    expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    expect(a.healer.reports[0]!.message).toBe(`rolled back from revision 3 to revision 2 (ReplicaSet ${web2})`);
    await w.advance(30 * 60);
    expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    expect(w.patches('deployments/web').map((p) => p.status)).toEqual([200]);
    expect(image()).toBe('web:2');
    expect(images('web')).toEqual(Array(3).fill('web:2 true'));
    // batch was never written by the healer, nor any pod deleted; the watch held after the re-list.
    expect(w.patches('deployments/batch')).toHaveLength(2);
    expect(a.calls.filter((c) => /^delete/.test(c))).toEqual([]);
    expect(changes(gauge)).toEqual([true, false, true]);
  });

  test('web:2, Ready and on its clock, when batch grows past the bound: the clock stops, no mark is earned in the nine minutes not watched, and after the re-list it runs from the re-list', async () => {
    const { a, gauge } = await start();
    w.cluster.behave('web:2', 'healthy');
    await autoscale(w, 'batch', 0); // room for the rollout's surge pod
    setImage('web:2');
    await w.advance(2 * 60);
    expect(images('web')).toEqual(Array(3).fill('web:2 true'));
    const web2 = replicaSetRunning(w, 'web', 'web:2')!.metadata!.name!;
    const readySince = revisionSeen(w, a, web2).healthySince;
    expect(readySince).not.toBeNull();
    expect(refusals(a)).toEqual([]);

    // batch comes back with two pods: five, dropped through the watch.
    const from = w.kube.requests.length;
    await autoscale(w, 'batch', 2);
    await w.quiet();
    expect(refusals(a).length).toBeGreaterThanOrEqual(1);
    expect(revisionSeen(w, a, web2).healthySince).toBeNull();
    await w.advance(9 * 60); // eleven minutes since web:2 was Ready, nine of them not watched
    expect(markOf('web:2')).toBeUndefined();
    expect(revisionSeen(w, a, web2).healthySince).toBeNull();
    expect(writesOtherThan(from, 'PATCH deployments/batch 200')).toEqual([]);

    const backAt = await makeRoom(a, gauge);
    expect(revisionSeen(w, a, web2).healthySince).toBe(backAt);
    await w.advance(9 * 60);
    expect(markOf('web:2')).toBeUndefined();
    expect(await w.advance(3 * 60, { until: () => markOf('web:2') === 'true' })).toBe(true);
    expect(w.cluster.clock.now() - backAt).toBeGreaterThanOrEqual(10 * 60_000);
    expect(changes(gauge)).toEqual([true, false, true]);
    expect(a.healer.reports).toEqual([]);
  });

  test('web:2 crash-loops in its surge pod while the namespace is over the bound: nothing is done for ten minutes the healer cannot see; once listed again it is rolled back to web:1, once, and batch is untouched', async () => {
    const { a, gauge } = await start();
    w.cluster.behave('web:2', { run: 'crash', log: 'starting web:2\npanic: runtime error: index out of range [3] with length 3\n' });
    const from = w.kube.requests.length;
    const batchPods = w.pods({ app: 'batch' }).map((p) => p.metadata!.uid!);
    await rollOutPastTheBound(a, 'web:2');

    // The rollout is stuck on its crash-looping surge pod (maxUnavailable 0): five pods, over the
    // bound for as long as it lasts. The healer, blind, writes nothing of the crash loop.
    await w.advance(10 * 60);
    const surge = w.pods({ app: 'web' }).filter((p) => p.spec!.containers[0]!.image === 'web:2');
    expect(surge).toHaveLength(1);
    expect(surge[0]!.status!.containerStatuses![0]!.restartCount).toBeGreaterThanOrEqual(3);
    expect(surge[0]!.status!.containerStatuses![0]!.state!.waiting?.reason).toBe('CrashLoopBackOff');
    expect(a.healer.reports).toEqual([]);
    // Nothing but web:2's template as first seen, once, off the ReplicaSet list (no pod watch needed).
    const web2 = replicaSetRunning(w, 'web', 'web:2')!.metadata!.name!;
    expect(writesOtherThan(from)).toEqual([`PATCH replicasets/${web2} 200`]);
    expect(templateSeenRecords(w, from)).toEqual([`${web2} 200`]);
    expect(changes(gauge)).toEqual([true, false]);
    expect(refusals(a).length).toBeGreaterThanOrEqual(2);

    // batch's one replica is scaled away: four pods, listed afresh, and the crash loop the list
    // shows is rolled back to web:1 (marked on watched time), once.
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'batch', (d) => void (d.spec!.replicas = 0));
    await w.quiet();
    await waitFor(() => gauge.at(-1)?.up === true, 10_000, 'the namespace is listed again and watched');
    const backAt = w.cluster.clock.now();
    expect(await w.advance(10 * 60, { until: () => a.healer.reports.some((r) => r.result === 'applied') })).toBe(true);
    expect(w.cluster.clock.now()).toBeGreaterThanOrEqual(backAt);
    expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    expect(a.healer.reports[0]!.message).toBe(`rolled back from revision 2 to revision 1 (ReplicaSet ${replicaSetRunning(w, 'web', 'web:1')!.metadata!.name})`);

    await w.advance(30 * 60);
    expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    expect(w.patches('deployments/web').map((p) => p.status)).toEqual([200]);
    expect(image()).toBe('web:1');
    expect(images('web')).toEqual(Array(3).fill('web:1 true'));
    // batch: no write but the person's, and the healer deleted no pod (batch's went by its own scale-down).
    expect(w.patches('deployments/batch')).toEqual([]);
    expect(a.calls.filter((c) => /^delete/.test(c))).toEqual([]);
    expect(batchPods).toHaveLength(1);
    expect(writesOtherThan(from).filter((x) => x.includes('batch'))).toEqual([]);
    expect(changes(gauge)).toEqual([true, false, true]);
  });
});
