/**
 * A healer's patch that the API server applied but whose answer never came back (a connection reset,
 * a gateway's 504 after the write was committed): the healer cannot tell from the error, so it reads
 * the workload back. Its mark there says the patch landed — it is not sent again, and what happened
 * is reported as applied, once, never as "nothing was changed". On the simulated cluster with its
 * controllers and kubelet.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { deployment } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, NS, reportSummary, type HealerWorld } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const limit = (w: HealerWorld) => w.get<V1Deployment>('apps/v1', 'Deployment', 'cache').spec!.template.spec!.containers[0]!.resources!.limits!.memory;

test.each([
  ['the connection reset', 'reset'],
  ['a 504 after the write was committed', 'timeout'],
] as const)('an OOM bump answered by %s: applied once, reported once as applied, its mark found on reading back', async (_label, how) => {
  w = await healerWorld({ marks: false });
  w.cluster.behave('cache:1', 'oom-at:300Mi');
  w.kube.put(deployment('cache', { namespace: NS, image: 'cache:1', memory: '256Mi', annotations: HEAL }));
  w.kube.loseAnswerNext({ method: 'PATCH', path: `/apis/apps/v1/namespaces/${NS}/deployments/cache` }, how);
  const a = await w.start({ name: 'a' });
  expect(await w.advance(30 * 60, { until: () => a.healer.reports.length > 0 })).toBe(true);
  await a.healer.idle();

  // One PATCH, applied by the server; none after it: the re-read found the kill answered.
  expect(w.patches('deployments/cache').map((p) => p.status)).toEqual([200]);
  expect(limit(w)).toBe('356Mi');
  expect(reportSummary(w)).toEqual(['Deployment/cache oom-bump/applied/raised']);
  expect(w.reports()[0]!.message).toMatch(/^the memory limit raise was applied: its answer was lost \(.+\), and reading the workload back found its mark$/);
  expect(w.events().map((e) => `${e.type} ${e.reason}`)).toEqual(['Normal MemoryLimitRaised']);

  // The raised limit rolls out and holds: nothing more to do, nothing said twice.
  await w.advance(20 * 60);
  expect(limit(w)).toBe('356Mi');
  expect(w.pods({ app: 'cache' }).every((p) => p.spec!.containers[0]!.resources!.limits!.memory === '356Mi')).toBe(true);
  expect(reportSummary(w)).toEqual(['Deployment/cache oom-bump/applied/raised']);
});

test('a lost answer, then the healer restarts before the raised limit has rolled out: the new instance answers that kill no more', async () => {
  w = await healerWorld({ marks: false });
  w.cluster.behave('cache:1', 'oom-at:300Mi');
  w.kube.put(deployment('cache', { namespace: NS, image: 'cache:1', memory: '256Mi', annotations: HEAL }));
  w.kube.loseAnswerNext({ method: 'PATCH', path: `/apis/apps/v1/namespaces/${NS}/deployments/cache` }, 'reset');
  const a = await w.start({ name: 'a' });
  expect(await w.advance(30 * 60, { until: () => a.healer.reports.length > 0 })).toBe(true);
  await a.healer.idle();
  await w.stop(a);
  // The pods still OOM-killed at 256Mi are listed again by the new instance: their kill is answered (the mark holds its key).
  const b = await w.start({ name: 'b' });
  await w.advance(20 * 60);
  await b.healer.idle();
  expect(w.patches('deployments/cache').map((p) => p.status)).toEqual([200]);
  expect(limit(w)).toBe('356Mi');
  expect(b.healer.reports.filter((r) => r.result === 'applied')).toEqual([]);
  expect(reportSummary(w)).toEqual(['Deployment/cache oom-bump/applied/raised']);
});

test('a lost answer at the moment leadership passes: the new leader reads the raised Deployment and patches nothing; the old one, reading back, reports it applied, once', async () => {
  w = await healerWorld({ marks: false });
  w.cluster.behave('cache:1', 'leak:1Mi'); // 256Mi in 256 s
  const a = await w.start({ name: 'a', elect: true });
  const b = await w.start({ name: 'b', elect: true });
  const patch = a.stallNext('patchNamespacedDeployment');
  let patching = false;
  void patch.reached.then(() => (patching = true));
  w.kube.put(deployment('cache', { namespace: NS, image: 'cache:1', replicas: 2, memory: '256Mi', annotations: HEAL }));
  await w.quiet();
  // Paused: the raise does not roll out, so the pods OOM-killed at 256Mi stay for the new leader to see.
  w.edit<V1Deployment>('apps/v1', 'Deployment', 'cache', (d) => void (d.spec!.paused = true));
  expect(await w.advance(30 * 60, { until: () => patching })).toBe(true);
  expect(a.healer.isLeader).toBe(true);

  // A's PATCH is applied and its answer lost; A's read-back is held while A stops renewing its Lease.
  const readBack = a.stallNext('readNamespacedDeployment');
  let reading = false;
  void readBack.reached.then(() => (reading = true));
  w.kube.loseAnswerNext({ method: 'PATCH', path: `/apis/apps/v1/namespaces/${NS}/deployments/cache` }, 'timeout');
  patch.release();
  expect(await w.advance(5 * 60, { until: () => reading })).toBe(true);
  expect(limit(w)).toBe('356Mi');
  a.electing = false;
  await w.advance(3 * 60);
  expect(b.healer.isLeader).toBe(true);
  // B, now leading, sees both pods OOM-killed again and again at 256Mi: the Deployment it reads already
  // gives more (and carries the mark), so there is nothing to raise.
  const reads = () => w.kube.requests.filter((q) => q.method === 'GET' && q.path === `/apis/apps/v1/namespaces/${NS}/deployments/cache`).length;
  const readsBefore = reads();
  await w.advance(10 * 60);
  await b.healer.idle();
  expect(reads()).toBeGreaterThan(readsBefore); // B looked
  expect(w.pods({ app: 'cache' }).every((p) => p.spec!.containers[0]!.resources!.limits!.memory === '256Mi' && p.status!.containerStatuses![0]!.restartCount! >= 2)).toBe(true);
  expect(b.healer.reports).toEqual([]);

  // A wakes up: its read-back finds its mark.
  readBack.release();
  a.electing = true;
  await w.advance(10 * 60);
  await a.healer.idle();
  await b.healer.idle();
  expect(w.patches('deployments/cache').map((p) => p.status)).toEqual([200]);
  expect(limit(w)).toBe('356Mi');
  expect(reportSummary(w)).toEqual(['Deployment/cache oom-bump/applied/raised']);
  expect(a.healer.reports.map((r) => r.message)).toEqual([expect.stringMatching(/its answer was lost .*reading the workload back found its mark$/)]);
  expect(w.events().map((e) => `${e.type} ${e.reason}`)).toEqual(['Normal MemoryLimitRaised']);
  expect(w.lines().filter((l) => l.level === 'error')).toEqual([]);
});
