/**
 * An OOM kill is acted on while it is recent: a container's `lastState` keeps its last termination
 * for as long as it runs, so a kill days old — run through since — is still there when Amadeus
 * starts (installed, restarted, a new leader, a workload opted in, dry run switched off). Raising
 * the limit for it would roll every pod for nothing. The kill decided on must be as recent as one
 * raised beside it (within the OOM cooldown, at least 15 minutes); a container OOM-looping now has
 * a latest kill minutes old, and is raised.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { deployment } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS, reportSummary } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const limit = (w: HealerWorld) => w.get<V1Deployment>('apps/v1', 'Deployment', 'api').spec!.template.spec!.containers[0]!.resources!.limits!.memory;
const lastStates = (w: HealerWorld) =>
  w.pods({ app: 'api' }).map((p) => `${p.status!.containerStatuses![0]!.restartCount} ${p.status!.containerStatuses![0]!.lastState!.terminated?.reason} ${p.status!.containerStatuses![0]!.ready}`);

/** Each pod's first run is OOM-killed (a one-off spike at start); every run after it is healthy. */
function oomOnce(w: HealerWorld): void {
  const started = new Set<string>();
  w.cluster.behaviour((c) => {
    const key = `${c.pod.metadata?.uid}/${c.container.name}`;
    if (started.has(key)) return 'healthy';
    started.add(key);
    return 'oom-at:300Mi';
  });
}

test('every pod OOM-killed once, then healthy for 3 days before Amadeus starts (lastState still OOMKilled): nothing raised, no pod replaced, the stale kill logged', async () => {
  w = await healerWorld({ marks: false });
  oomOnce(w);
  w.kube.put(deployment('api', { namespace: NS, image: 'api:1', replicas: 3, memory: '256Mi', annotations: HEAL }));
  await w.advance(3 * 24 * 3600);
  expect(lastStates(w)).toEqual(['1 OOMKilled true', '1 OOMKilled true', '1 OOMKilled true']);
  const before = w.pods({ app: 'api' }).map((p) => p.metadata!.uid);

  const a = await w.start();
  await w.advance(10 * 60);
  expect(reportSummary(w)).toEqual([]);
  expect(limit(w)).toBe('256Mi');
  expect(w.pods({ app: 'api' }).map((p) => p.metadata!.uid)).toEqual(before);
  expect(w.kube.requests.filter((q) => q.method === 'PATCH' && q.path.endsWith('/deployments/api'))).toEqual([]);
  const stale = a.lines.filter((l) => l.msg.startsWith('OOM kill too old to act on'));
  expect(stale).toHaveLength(3);
});

test('dry run: each pod OOM-killed once, "would raise" said then; dry run switched off 3 days later (a restart without it), the pods healthy since: no raise', async () => {
  w = await healerWorld({ marks: false });
  oomOnce(w);
  const dry = await w.start({ dryRun: true });
  w.kube.put(deployment('api', { namespace: NS, image: 'api:1', replicas: 3, memory: '256Mi', annotations: HEAL }));
  await w.advance(10 * 60);
  expect(reportSummary(w)).toEqual(['Deployment/api oom-bump/dry-run/dry-run']);
  await w.stop(dry);
  await w.advance(3 * 24 * 3600);
  expect(lastStates(w)).toEqual(['1 OOMKilled true', '1 OOMKilled true', '1 OOMKilled true']);
  await w.start();
  await w.advance(10 * 60);
  expect(reportSummary(w)).toEqual(['Deployment/api oom-bump/dry-run/dry-run']);
  expect(limit(w)).toBe('256Mi');
});

test('control: a container OOM-looping when Amadeus starts (its latest kill minutes old) is raised at the first look', async () => {
  w = await healerWorld({ marks: false });
  w.cluster.behave('api:1', 'oom-at:300Mi');
  w.kube.put(deployment('api', { namespace: NS, image: 'api:1', replicas: 3, memory: '256Mi', annotations: HEAL }));
  await w.advance(3 * 3600); // killed at every start for 3 hours: CrashLoopBackOff, each back-off at most 5 minutes
  const a = await w.start();
  await w.advance(60);
  expect(reportSummary(w)[0]).toBe('Deployment/api oom-bump/applied/raised');
  expect(a.healer.reports[0]!.message).toBe('raised the memory limit of app: 256Mi → 356Mi (request → 356Mi)');
});
