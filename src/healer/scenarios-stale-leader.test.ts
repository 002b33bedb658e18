/**
 * A multi-step scenario of a replica that becomes leader with a stale pod cache: two replicas of
 * Amadeus on one Lease, A talking to the API server directly, B through a proxy that cuts its pod
 * watch. B saw web:2 crash-loop, then its watch was cut; A rolled back to web:1 and web:1's pods
 * replaced web:2's, unseen by B. A goes away and B leads, its watch still cut: its resync looks at
 * the crash loop it still holds. On the simulated cluster (real controllers, the kubelet stand-in,
 * the real Healer over HTTP), it asserts that B writes nothing from its stale cache — no second
 * rollback, no patch at all, no mark — and that web:1 keeps serving; and that once the proxy
 * heals, B watches again and rolls a later crash loop (web:3) back to web:1, once.
 */
import type { V1Deployment, V1Lease } from '@kubernetes/client-node';
import { deployment } from '../test-support/cluster/objects.js';
import { apiWrites, cachedPods, cachedView, HEAL, healerWorld, type HealerWorld, LEASE, NS, notWaitedFor, replicaSetRunning, reportSummary, revisionSeen, podReady as ready, replicasBesideCutProxy } from '../test-support/healer-world.js';
import { detectFailures } from './detect.js';
import { readMark } from './guards.js';
import { waitFor } from '../test-support/fakes.js';
import { HEAL_RULES } from './rules.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

/** A short rollback cooldown (the default is four hours): web:3's crash loop is not refused for it, nor is the stale one hidden behind it. */
const RULES = { ...HEAL_RULES, rollbackCooldownSeconds: 10 * 60 };

const image = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template.spec!.containers[0]!.image;
const setImage = (img: string) => w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = img));
const holder = () => w.get<V1Lease>('coordination.k8s.io/v1', 'Lease', LEASE.name).spec!.holderIdentity;
const served = () => w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${ready(p)}`);

describe('a replica becomes leader while its pod watch is cut, its cache stale', () => {
  test('B saw web:2 crash-loop, then A rolled back to web:1 unseen by B; A goes and B leads from its stale cache: no second rollback, no write, no mark, web:1 untouched; healed, B rolls web:3 back to web:1, once', async () => {
    w = await healerWorld();
    w.cluster.behave('web:1', 'healthy');
    w.cluster.behave('web:2', { run: 'crash', log: 'starting web:2\nfatal: unknown flag --turbo\n' });
    w.cluster.behave('web:3', { run: 'crash', log: 'starting web:3\npanic: runtime error: index out of range [3] with length 3\n' });
    // Recreate: a release replaces every pod, so B's stale cache holds web:2's pods only, none of web:1's.
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL, strategy: { type: 'Recreate' } }));
    const { a, b, proxy } = await replicasBesideCutProxy(w, RULES);
    await w.advance(11 * 60);
    expect(holder()).toBe('a');
    expect(b.healer.isLeader).toBe(false);
    const good = replicaSetRunning(w, 'web', 'web:1')!;
    const goodName = good.metadata!.name!;
    expect(good.metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    const markedAt = good.metadata!.annotations!['amadeus.io/known-good-at'];
    expect(proxy.openWatches()).toBe(1); // B's pod watch, through the proxy

    // 1. web:2 is released; its pods crash-loop. At the step A rolls it back — both caches caught up
    //    with the crash loop A acted on, the controllers not yet reacting to the patch — B's watch is
    //    cut, and stays cut.
    setImage('web:2');
    expect(await w.advance(10 * 60, { until: () => a.healer.reports.some((r) => r.result === 'applied') })).toBe(true);
    proxy.cut();
    const release = notWaitedFor(b);
    const web2 = replicaSetRunning(w, 'web', 'web:2')!.metadata!.name!;
    expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    expect(a.healer.reports[0]!.message).toBe(`rolled back from revision 2 to revision 1 (ReplicaSet ${goodName})`);
    // B's cache saw the crash loop: every web:2 pod in CrashLoopBackOff, no web:1 pod left.
    expect(cachedView(b)).toEqual(Array(3).fill('web:2 crash-loop'));
    expect(revisionSeen(w, b, web2)).toMatchObject({ pods: 3, crashLooping: 3 });
    expect(revisionSeen(w, b, goodName)).toMatchObject({ pods: 0, healthySince: null });
    const staleKeys = cachedPods(b).flatMap((p) => detectFailures(p).map((f) => f.key));
    expect(staleKeys).toHaveLength(3);

    // 2. The Deployment controller replaces web:2's pods with web:1's, all Ready; ten minutes on
    //    (the rollback's cooldown over, so it hides nothing below). B sees none of it.
    await w.advance(10 * 60);
    expect(served()).toEqual(Array(3).fill('web:1 true'));
    expect(cachedView(b)).toEqual(Array(3).fill('web:2 crash-loop'));
    const lastRollback = readMark(w.get<V1Deployment>('apps/v1', 'Deployment', 'web').metadata, 'amadeus.io/last-rollback')!;
    expect(w.cluster.clock.now() - lastRollback.at).toBeGreaterThanOrEqual(RULES.rollbackCooldownSeconds * 1000);
    // One of B's stale failures is the one A acted on (its key in A's mark); two are not.
    expect(staleKeys.filter((k) => lastRollback.keys.includes(k))).toHaveLength(1);

    // 3. A goes away (a graceful stop releases its Lease); B takes it, its watch still cut, and
    //    resyncs from its stale cache. Then five minutes of its known-good rounds, as its timer runs them.
    const writesBefore = w.kube.requests.length;
    const linesBefore = b.lines.length;
    await w.stop(a);
    expect(await w.advance(60, { until: () => b.healer.isLeader })).toBe(true);
    expect(holder()).toBe('b');
    await b.healer.idle();
    for (let i = 0; i < 5; i++) {
      await w.advance(60);
      await b.healer.markKnownGood();
    }
    await b.healer.idle();
    expect(b.healer.isLeader).toBe(true);
    expect(cachedView(b)).toEqual(Array(3).fill('web:2 crash-loop')); // still stale
    expect(proxy.watches.slice(-1)[0]).toMatchObject({ cut: true });

    // B wrote nothing: no rollback, no patch of the Deployment or of any ReplicaSet (no mark, no
    // crash-loop record), no Event; it reported nothing. Each stale failure was decided on a fresh
    // read of the Deployment: the one A answered is in A's mark; the others are a crash loop of a
    // revision the Deployment was rolled back from and no longer runs (decideRollback's
    // answeredByRollback: without it, B warns of a crash loop that is over — refused,
    // not-newest-revision — on the next guard). Its template-seen records counted too: web:1's is
    // marked, web:2's at zero, so a leader has nothing of them to record.
    expect(apiWrites(w, writesBefore, { lease: false, templateSeen: true })).toEqual([]);
    expect(b.healer.reports).toEqual([]);
    expect(w.patches('deployments/web').map((p) => p.status)).toEqual([200]);
    const said = b.lines.slice(linesBefore);
    expect(said.filter((l) => l.msg === 'healer lease acquired: this replica heals')).toHaveLength(1);
    expect(said.filter((l) => l.msg === 'crash loop of a revision already rolled back from')).toEqual(Array(2).fill(expect.objectContaining({ workload: 'Deployment/web', revision: web2 })));
    // Nothing harmful to web:1: its pods stay, Ready, at web:1; its mark is A's, as it was.
    expect(image()).toBe('web:1');
    expect(served()).toEqual(Array(3).fill('web:1 true'));
    expect(replicaSetRunning(w, 'web', 'web:1')!.metadata!.annotations!['amadeus.io/known-good-at']).toBe(markedAt);
    // B's clock for web:1 did not run on the cut: it saw web:1's pods go, nothing since (stopped;
    // or, should a restart of the watch be tried at this very instant, started again from now).
    expect(revisionSeen(w, b, goodName).pods).toBe(0);
    expect([null, w.cluster.clock.now()]).toContain(revisionSeen(w, b, goodName).healthySince);

    // 4. The proxy heals: B's next restart (on its back-off) watches again, from where it stopped.
    proxy.heal();
    await waitFor(() => proxy.openWatches() === 1, 10_000, 'B’s pod watch is back through the proxy');
    release();
    await w.quiet();
    const backAt = w.cluster.clock.now();
    expect(cachedView(b)).toEqual(Array(3).fill('web:1 ready'));
    // Its web:1 clock runs from the watch's return, not from before the cut.
    expect(revisionSeen(w, b, goodName)).toMatchObject({ pods: 3, ready: 3, healthySince: backAt });
    expect(b.healer.reports).toEqual([]);
    expect(w.patches('deployments/web').map((p) => p.status)).toEqual([200]);
    await w.advance(5 * 60);

    // A later, real failure: web:3 crash-loops. B rolls it back once, to web:1 (A's mark).
    setImage('web:3');
    expect(await w.advance(10 * 60, { until: () => b.healer.reports.some((r) => r.result === 'applied') })).toBe(true);
    expect(b.healer.reports.map((r) => `${r.action}/${r.result}/${r.reason}`)).toEqual(['rollback/applied/rolled-back']);
    expect(b.healer.reports[0]!.message).toBe(`rolled back from revision 4 to revision 3 (ReplicaSet ${goodName})`);

    // Half an hour on: web:1 serves, two rollbacks in all (A's of web:2, B's of web:3), a patch each.
    await w.advance(30 * 60);
    expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back', 'Deployment/web rollback/applied/rolled-back']);
    expect(w.patches('deployments/web').map((p) => p.status)).toEqual([200, 200]);
    expect(w.events().filter((e) => e.type === 'Normal').map((e) => `${e.reason} by ${e.reportingInstance}`).sort()).toEqual(['RolledBack by a', 'RolledBack by b']); // listed by name
    expect(image()).toBe('web:1');
    expect(served()).toEqual(Array(3).fill('web:1 true'));
    expect(replicaSetRunning(w, 'web', 'web:1')!.metadata!.annotations!['amadeus.io/known-good-at']).toBe(markedAt);
    expect(w.reports().filter((r) => r.result === 'failed')).toEqual([]);
    expect(w.notes().filter((n) => n.severity === 'critical')).toEqual([]);
    expect(w.lines().filter((l) => l.level === 'error')).toEqual([]);
  });
});
