/**
 * Multi-step scenarios of a release that rolled out while Amadeus was not watching (stopped, being
 * upgraded, between leaders), on the simulated cluster: real controllers, the kubelet stand-in, and
 * real Healer instances over HTTP — one before the gap, a new one after it. Each asserts what the
 * new healer did when the release's pods crash-loop shortly after it started, and what it must not
 * have done.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { deployment } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS, replicaSetRunning, reportSummary } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const image = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template.spec!.containers[0]!.image;
/** Not a dependency outage by the log classifier's patterns (the app's own words for it). */
const LOST_PRIMARY = 'starting web:2\nfatal: lost the primary: ledger is read-only, refusing to serve stale balances\n';

describe('a release rolled out while Amadeus was not watching', () => {
  test('web:2 ran healthy for three hours unwatched, then crash-loops minutes after Amadeus starts again (logs not a known dependency outage)', async () => {
    w = await healerWorld();
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
    const first = await w.start({ name: 'amadeus-before' });
    await w.advance(11 * 60);
    const good = replicaSetRunning(w, 'web', 'web:1')!;
    expect(good.metadata!.annotations!['amadeus.io/known-good']).toBe('true');

    // Amadeus stops (an upgrade, a node drain); web:2 rolls out and serves for three hours.
    await w.stop(first);
    const outageAt = w.cluster.clock.now() + (3 * 60 + 5) * 60_000;
    let outageEnd = Infinity;
    // web:2's pods serve until the primary goes away, then exit at every start until it is back.
    w.cluster.behaviour(({ container }) => {
      if (container.image !== 'web:2') return undefined;
      const now = w.cluster.clock.now();
      if (now >= outageEnd) return 'healthy';
      const left = Math.round((outageAt - now) / 1000);
      return left > 0 ? `healthy-then-crash:${left}` : { run: 'crash', log: LOST_PRIMARY };
    });
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(3 * 60 * 60);
    const released = replicaSetRunning(w, 'web', 'web:2')!;
    expect(w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${p.status!.containerStatuses![0]!.ready} ${p.status!.containerStatuses![0]!.restartCount}`)).toEqual(
      Array(3).fill('web:2 true 0'),
    );
    expect(released.metadata!.annotations!['amadeus.io/known-good']).toBeUndefined();

    // A new Amadeus starts; five minutes later the primary is lost and web:2's pods crash-loop.
    const second = await w.start({ name: 'amadeus-after' });
    await w.advance(15 * 60);

    expect(w.pods({ app: 'web' }).every((p) => p.status!.containerStatuses![0]!.state!.waiting?.reason === 'CrashLoopBackOff' || p.status!.containerStatuses![0]!.state!.running)).toBe(true);
    // Refused, saying what the API server showed and how to roll back by hand; nothing patched.
    expect(reportSummary(w)).toEqual(['Deployment/web rollback/refused/ran-healthy-unwatched']);
    const [r] = second.healer.reports;
    expect(r!.logs?.category).toBe('unknown');
    expect(r!.message).toMatch(
      new RegExp(
        `^no rollback: revision 2 ran healthy before this crash loop, while Amadeus was not watching it \\(so it carries no known-good mark\\): ` +
          `its rollout completed at 2024-05-14T09:11:\\d\\d\\.000Z \\(the Deployment's Progressing condition: NewReplicaSetAvailable for ReplicaSet ${released.metadata!.name}\\), ` +
          `and each of its 3 pods older than 12 min ran every container at least \\d+ min without a restart `,
      ),
    );
    expect(r!.message).toContain(`To roll back anyway: kubectl -n ${NS} rollout undo deployment/web --to-revision=1`);
    expect(w.events().map((e) => `${e.involvedObject.name} ${e.type} ${e.reason}`)).toEqual(['web Warning HealRefused']);
    expect(w.patches('deployments/web')).toEqual([]);
    expect(image()).toBe('web:2');

    // Two hours of the outage: restarts pile up (the pods' own numbers no longer tell a crash loop
    // from a long run by then), the refusal stands; then the primary is back and web:2 serves again.
    outageEnd = outageAt + 2 * 60 * 60_000;
    await w.advance(2 * 60 * 60);
    expect(Math.min(...w.pods({ app: 'web' }).map((p) => p.status!.containerStatuses![0]!.restartCount!))).toBeGreaterThan(20);
    expect(new Set(reportSummary(w))).toEqual(new Set(['Deployment/web rollback/refused/ran-healthy-unwatched']));
    expect(w.patches('deployments/web')).toEqual([]);
    await w.advance(20 * 60);
    expect(w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${p.status!.containerStatuses![0]!.ready}`)).toEqual(Array(3).fill('web:2 true'));
    // Observed healthy by this process now: marked known-good (its own observation, as ever).
    expect(replicaSetRunning(w, 'web', 'web:2')!.metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    expect(new Set(reportSummary(w))).toEqual(new Set(['Deployment/web rollback/refused/ran-healthy-unwatched']));
    expect(w.patches('deployments/web')).toEqual([]);
    expect(image()).toBe('web:2');
  });

  test('web:2 rolls out minutes after Amadeus starts again and crash-loops from its start → rolled back to web:1 as ever', async () => {
    w = await healerWorld();
    w.cluster.behave('web:2', { run: 'crash', log: LOST_PRIMARY });
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
    const first = await w.start({ name: 'amadeus-before' });
    await w.advance(11 * 60);
    const good = replicaSetRunning(w, 'web', 'web:1')!;
    expect(good.metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    await w.stop(first);
    await w.advance(3 * 60 * 60); // web:1 serves on, unwatched

    const second = await w.start({ name: 'amadeus-after' });
    await w.advance(5 * 60);
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(10 * 60);

    expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    expect(second.healer.reports[0]!.message).toBe(`rolled back from revision 2 to revision 1 (ReplicaSet ${good.metadata!.name})`);
    expect(image()).toBe('web:1');
  });

  test('web:2 rolled out while Amadeus was stopped and has crash-looped since its start, for three hours → rolled back at the first look', async () => {
    w = await healerWorld();
    w.cluster.behave('web:2', { run: 'crash', log: LOST_PRIMARY });
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
    const first = await w.start({ name: 'amadeus-before' });
    await w.advance(11 * 60);
    const good = replicaSetRunning(w, 'web', 'web:1')!;
    expect(good.metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    await w.stop(first);
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(3 * 60 * 60);
    // The rollout is stuck on its first web:2 pod (maxUnavailable 0), old enough to count: no long run in it.
    const stuck = w.pods({ app: 'web' }).filter((p) => p.spec!.containers[0]!.image === 'web:2');
    expect(stuck).toHaveLength(1);
    expect(stuck[0]!.status!.containerStatuses![0]!.restartCount).toBeGreaterThan(30);

    const second = await w.start({ name: 'amadeus-after' });
    await w.advance(60);

    expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    expect(second.healer.reports[0]!.message).toBe(`rolled back from revision 2 to revision 1 (ReplicaSet ${good.metadata!.name})`);
    expect(image()).toBe('web:1');
  });
});
