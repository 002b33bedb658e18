/**
 * A multi-step scenario of the pod watch cut by what sits between the healer and the API server (a
 * proxy, an API server in trouble): for a stretch, every pod watch is ended, cleanly and empty, as
 * soon as it is opened, while lists and writes pass. On the simulated cluster (real controllers,
 * the kubelet stand-in, the real Healer over HTTP, all of it through a proxy on loopback), it
 * asserts that the healer restarts its watch with back-off rather than at once (a watch ending
 * immediately with nothing in it is an error: kube.ts's very short watch), that no revision clock
 * runs through the cut (ADR 0001: time not watched never counts) so no mark is earned on it, that
 * nothing is written meanwhile, and that once the proxy heals the healer watches again and rolls a
 * crash loop back to the revision it did watch healthy.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { deployment } from '../test-support/cluster/objects.js';
import { apiWrites, HEAL, healerWorld, type HealerWorld, NS, replicaSetRunning, reportSummary, revisionSeen, podReady as ready } from '../test-support/healer-world.js';
import { startWatchCuttingProxy, type WatchCuttingProxy } from '../test-support/watch-cutting-proxy.js';
import { waitFor } from '../test-support/fakes.js';
import { makeClients } from './kube.js';

let w: HealerWorld;
let proxy: WatchCuttingProxy;
afterEach(async () => {
  await w?.close();
});

/** The healer's first restart delay after a watch failure (doubling from there). */
const FIRST_RETRY_MS = 20;
/** The least real time the cut lasts: back-off has room to show (a spinning watch would make hundreds of requests in it). */
const CUT_AT_LEAST_MS = 2000;

const image = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template.spec!.containers[0]!.image;
const markOf = (img: string) => replicaSetRunning(w, 'web', img)!.metadata!.annotations?.['amadeus.io/known-good'];
const setImage = (img: string) => w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = img));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the pod watch cut at once, again and again, by a proxy in trouble', () => {
  test('web:2, Ready just before the cut, earns no mark through it; the healer re-watches with back-off, writes nothing meanwhile, and after the cut rolls web:3’s crash loop back to web:1 — not to web:2, whose healthy time was not watched', async () => {
    w = await healerWorld();
    w.cluster.behave('web:1', 'healthy');
    w.cluster.behave('web:2', 'healthy');
    w.cluster.behave('web:3', { run: 'crash', log: 'starting web:3\npanic: runtime error: index out of range [3] with length 3\n' });
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
    proxy = await startWatchCuttingProxy(w.kube);
    w.closing(() => proxy.close());
    const a = await w.start({ clients: makeClients(proxy.kubeConfig()), restartDelayMs: FIRST_RETRY_MS });
    await w.advance(11 * 60);
    const good = replicaSetRunning(w, 'web', 'web:1')!;
    expect(good.metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    // Everything the healer did went through the proxy, its pod watch included.
    expect(proxy.openWatches()).toBe(1);

    // web:2 rolls out and is Ready in every pod, seen so: its clock runs.
    setImage('web:2');
    await w.advance(2 * 60);
    const web2 = replicaSetRunning(w, 'web', 'web:2')!.metadata!.name!;
    expect(w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${ready(p)}`)).toEqual(Array(3).fill('web:2 true'));
    const readySince = revisionSeen(w, a, web2).healthySince;
    expect(readySince).not.toBeNull();
    expect(markOf('web:2')).toBeUndefined();

    // The cut: the open watch is ended, and every new one as soon as it is opened, for nine
    // simulated minutes — web:2's window would end in it — and at least CUT_AT_LEAST_MS of real time.
    const watchesBefore = proxy.watches.length;
    const writesBefore = w.kube.requests.length;
    const cutAt = Date.now();
    proxy.cut();
    await w.advance(9 * 60);
    await sleep(Math.max(0, CUT_AT_LEAST_MS - (Date.now() - cutAt)));
    const cutMs = Date.now() - cutAt;
    const tried = proxy.watches.slice(watchesBefore);
    proxy.heal();

    // 1. It tried again, and again, but with back-off: at most the attempts a doubling delay from
    //    FIRST_RETRY_MS leaves room for in the cut's real time (and one at once, after the open
    //    watch's ordinary end) — not a request per round trip.
    expect(tried.length).toBeGreaterThanOrEqual(2);
    expect(tried.every((x) => x.cut)).toBe(true);
    expect(tried.length).toBeLessThanOrEqual(2 + Math.floor(Math.log2(1 + cutMs / FIRST_RETRY_MS)));
    const failures = a.lines.filter((l) => l.msg === 'pod watch failed; restarting');
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures[0]).toMatchObject({ level: 'warn', namespace: NS, error: expect.stringMatching(/ended after \d+ ms with no event \(very short watch\)$/) });

    // 2. The cut was not watched: web:2's clock stopped (or, should a restart be tried at this very
    //    instant, started again from now), no mark on it (eleven minutes since its pods were
    //    Ready), and nothing was written — no mark, no patch, no record.
    expect([null, w.cluster.clock.now()]).toContain(revisionSeen(w, a, web2).healthySince);
    expect(markOf('web:2')).toBeUndefined();
    expect(apiWrites(w, writesBefore, { templateSeen: true })).toEqual([]); // nor a template-seen record
    expect(w.kube.requests.slice(writesBefore).filter((q) => q.method === 'GET' && q.path.endsWith('/pods') && q.query.watch === 'true')).toEqual([]); // the proxy ended them: none reached the server

    // 3. Healed: the next restart (on its back-off) opens a watch that passes; the clock starts again from then.
    await waitFor(() => proxy.openWatches() === 1 && revisionSeen(w, a, web2).healthySince !== null, 10_000, 'the pod watch is back through the proxy and web:2’s clock runs');
    await w.quiet();
    const backAt = w.cluster.clock.now();
    expect(revisionSeen(w, a, web2).healthySince).toBe(backAt); // from the watch's return, not from before the cut
    await w.advance(3 * 60);
    expect(markOf('web:2')).toBeUndefined(); // three watched minutes, of the ten

    // web:3 crash-loops from its start: rolled back, once, to the newest revision marked on watched
    // time — web:1; web:2 (fourteen minutes Ready, three of them watched) is no target.
    setImage('web:3');
    expect(await w.advance(10 * 60, { until: () => a.healer.reports.some((r) => r.result === 'applied') })).toBe(true);
    expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    expect(a.healer.reports[0]!.message).toBe(`rolled back from revision 3 to revision 1 (ReplicaSet ${good.metadata!.name})`);
    expect(markOf('web:2')).toBeUndefined();

    // Half an hour on: web:1 serves, one patch in all, the watch held throughout.
    await w.advance(30 * 60);
    expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    expect(w.patches('deployments/web').map((p) => p.status)).toEqual([200]);
    expect(image()).toBe('web:1');
    expect(w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${ready(p)}`)).toEqual(Array(3).fill('web:1 true'));
    expect(proxy.watches.slice(watchesBefore + tried.length).every((x) => !x.cut)).toBe(true);
    expect(proxy.openWatches()).toBe(1);
  });
});
