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
    // web:2's pods serve until the primary goes away, then exit at every start.
    w.cluster.behaviour(({ container }) => {
      if (container.image !== 'web:2') return undefined;
      const left = Math.round((outageAt - w.cluster.clock.now()) / 1000);
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
    // TODAY (the defect): web:2, which ran healthy for hours, is rolled back to web:1.
    expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    expect(second.healer.reports[0]!.logs?.category).toBe('unknown');
    expect(image()).toBe('web:1');
  });
});
