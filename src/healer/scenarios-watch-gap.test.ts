/**
 * Multi-step scenarios of the known-good clock when the pod watch fails or goes silent mid-window
 * (ADR 0001: time while Amadeus was not watching never counts), on the simulated cluster with a
 * real Healer over HTTP. The ReplicaSet's status shows every pod Ready throughout, so only the
 * watch's own record can hold the mark back.
 */
import type { V1ReplicaSet } from '@kubernetes/client-node';
import { deployment } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS, replicaSetRunning } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const mark = (): string | undefined => (replicaSetRunning(w, 'web', 'web:1') as V1ReplicaSet).metadata!.annotations?.['amadeus.io/known-good'];
const POD_PATH = `/api/v1/namespaces/${NS}/pods`;

/** web:1 (3 replicas, healthy) put, one healer started, `minutes` of the window passed unmarked. */
async function healthyFor(minutes: number): Promise<void> {
  w = await healerWorld();
  w.cluster.behave('web:1', 'healthy');
  w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
  await w.start();
  await w.advance(minutes * 60);
  expect(mark()).toBeUndefined();
}

/** The watch breaks and its first reconnection fails: the informer reports an error and is restarted. */
async function watchFails(): Promise<void> {
  w.kube.failNext({ method: 'GET', path: POD_PATH }, 500);
  const before = w.lines().filter(failed).length;
  w.kube.dropWatches();
  // The informer reconnects on real timers: wait (real time) for the failure to be reported, then for the restart.
  for (const deadline = Date.now() + 5000; w.lines().filter(failed).length === before; ) {
    if (Date.now() > deadline) throw new Error('the pod watch failure was not reported');
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 100)); // the restart (restartDelayMs 20)
  await w.quiet();
}
const failed = (l: { msg: string }) => l.msg === 'pod watch failed; restarting';

describe('the known-good clock and the pod watch', () => {
  test('watched without a break → marked once the window has passed', async () => {
    await healthyFor(5);
    await w.advance(6 * 60);
    expect(mark()).toBe('true');
  });

  test('the watch fails at minute 5 → not marked at minute 11; marked only a full window after it is back', async () => {
    await healthyFor(5);
    await watchFails();
    await w.advance(6 * 60);
    expect(mark()).toBeUndefined(); // the 10 minutes before minute 11 were not all watched
    await w.advance(5 * 60);
    expect(mark()).toBe('true'); // ten watched minutes since the watch came back at minute 5
  });

  test('the watch goes silent (half-open) at minute 5 → no mark however long; after it is noticed and restarted, a full window again', async () => {
    await healthyFor(5);
    w.kube.stallWatches();
    await w.advance(15 * 60);
    expect(mark()).toBeUndefined(); // nothing came since minute 5: not a moment of it counts
    // The stream guard gives up on the silent stream (here: broken, reconnection refused once).
    await watchFails();
    await w.advance(5 * 60);
    expect(mark()).toBeUndefined();
    await w.advance(6 * 60);
    expect(mark()).toBe('true');
  });
});
