/**
 * Multi-step scenarios of the healer's memory bumps (issue 19), on the simulated cluster: the
 * kubelet stand-in OOM-kills containers against their limit (`oom-at`, `leak`), the controllers
 * roll the raised limit out, and the real Healer answers each new OOM kill once — across restarts
 * of the healer, pauses and rollouts.
 */
import type { V1Container, V1DaemonSet, V1Deployment, V1Pod, V1ReplicaSet, V1StatefulSet } from '@kubernetes/client-node';
import { daemonSet, deployment, statefulSet } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS, type Replica, reportSummary } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const summary = reportSummary;
const applied = (r: Replica) => r.healer.reports.filter((x) => x.result === 'applied').length;
const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
const memory = (c: V1Container | undefined) => `${c?.resources?.limits?.memory}/${c?.resources?.requests?.memory}`;
const uids = (pods: V1Pod[]) => pods.map((p) => p.metadata!.uid!).sort();

/** Every OOM kill the kubelet reports in the namespace, as the healer keys it, with the limit it happened at; in order. */
function oomKills(w: HealerWorld): { key: string; limit: string }[] {
  const seen: { key: string; limit: string }[] = [];
  w.kube.onChange((c) => {
    if (c.kind !== 'Pod' || c.type === 'DELETED') return;
    const pod = c.object as V1Pod;
    for (const s of pod.status?.containerStatuses ?? []) {
      for (const t of [s.state?.terminated, s.lastState?.terminated]) {
        if (t?.reason !== 'OOMKilled') continue;
        const key = `${pod.metadata!.uid}/${s.name}/oom-killed/${t.containerID!.replace('containerd://', '')}`;
        const limit = pod.spec!.containers.find((x) => x.name === s.name)!.resources!.limits!.memory!;
        if (!seen.some((o) => o.key === key)) seen.push({ key, limit });
      }
    }
  });
  return seen;
}

describe('a slow memory leak', () => {
  test('OOM after OOM under a raised limit: one bump per new OOM kill (20% or 100Mi) up to the cap, then reports; a healer restart in the middle answers nothing twice', async () => {
    w = await healerWorld({ marks: false });
    // 64 KiB a second: hours between kills, longer than the hour of cooldown.
    w.cluster.behave('cache:1', 'leak:64Ki');
    const kills = oomKills(w);
    w.kube.put(deployment('cache', { namespace: NS, image: 'cache:1', memory: '256Mi', annotations: { ...HEAL, 'amadeus.io/max-memory': '800Mi' } }));
    const template = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'cache').spec!.template.spec!.containers[0];
    const a = await w.start({ name: 'a' });
    expect(await w.advance(24 * 3600, { until: () => applied(a) === 2 })).toBe(true);

    // The healer restarts right after its second bump, before the controllers replaced the pod
    // whose kill it answered: the new instance sees that kill, and answers it no more.
    expect(memory(template())).toBe('456Mi/456Mi');
    const [answered] = w.pods();
    expect(answered!.spec!.containers[0]!.resources!.limits!.memory).toBe('356Mi');
    expect(answered!.status!.containerStatuses![0]!.lastState!.terminated!.reason).toBe('OOMKilled');
    await w.stop(a);
    const b = await w.start({ name: 'b' });
    expect(b.healer.reports).toEqual([]);
    expect(await w.advance(24 * 3600, { until: () => b.healer.reports.some((r) => r.reason === 'max-reached') })).toBe(true);
    // Past the cap, the next kills are reported too, never bumped.
    await w.advance(8 * 3600);

    expect(a.healer.reports.map((r) => r.message)).toEqual([
      'raised the memory limit of app: 256Mi → 356Mi (request → 356Mi)',
      'raised the memory limit of app: 356Mi → 456Mi (request → 456Mi)',
    ]);
    const bumps = b.healer.reports.filter((r) => r.result === 'applied');
    expect(bumps.map((r) => r.message)).toEqual([
      'raised the memory limit of app: 456Mi → 556Mi (request → 556Mi)',
      'raised the memory limit of app: 556Mi → 668Mi (request → 668Mi)',
      'raised the memory limit of app: 668Mi → 800Mi (request → 800Mi) (clamped to the cap)',
    ]);
    const refusals = b.healer.reports.filter((r) => r.result !== 'applied');
    expect(refusals.length).toBeGreaterThanOrEqual(2);
    for (const r of refusals) expect(r).toMatchObject({ result: 'refused', reason: 'max-reached', message: 'memory limit of app is at the cap (800Mi, workload)' });
    expect(memory(template())).toBe('800Mi/800Mi');

    // One bump per distinct OOM kill below the cap — the same kills, in order — and one report per kill at it.
    const allBumps = [...a.healer.reports, ...bumps].filter((r) => r.result === 'applied');
    expect(kills.filter((k) => k.limit !== '800Mi').map((k) => k.key)).toEqual(allBumps.map((r) => r.failure.key));
    expect(kills.filter((k) => k.limit !== '800Mi').map((k) => k.limit)).toEqual(['256Mi', '356Mi', '456Mi', '556Mi', '668Mi']);
    expect(kills.filter((k) => k.limit === '800Mi').map((k) => k.key)).toEqual(refusals.map((r) => r.failure.key));
    expect(w.patches('deployments/cache').map((p) => p.status)).toEqual([200, 200, 200, 200, 200]);
    const mark = JSON.parse(w.get<V1Deployment>('apps/v1', 'Deployment', 'cache').metadata!.annotations!['amadeus.io/last-oom-bump']!) as { keys: string[] };
    expect(mark.keys).toEqual(allBumps.map((r) => r.failure.key));
    expect(w.events().map((e) => e.reason).sort()).toEqual([...refusals.map(() => 'HealRefused'), ...allBumps.map(() => 'MemoryLimitRaised')]);
  });
});

describe('an OOM kill at a fixed usage', () => {
  test('oom-at below 1.2× the limit: exactly one bump, then healthy; no second bump, also from a restarted healer', async () => {
    w = await healerWorld({ marks: false });
    w.cluster.behave('api:1', 'oom-at:300Mi');
    const a = await w.start({ name: 'a' });
    w.kube.put(deployment('api', { namespace: NS, image: 'api:1', replicas: 3, memory: '256Mi', annotations: HEAL }));
    const template = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'api').spec!.template.spec!.containers[0];
    expect(await w.advance(3600, { until: () => applied(a) === 1 })).toBe(true);
    // Three pods were OOM-killed at once: one bump answers all three.
    const before = w.pods();
    expect(before).toHaveLength(3);
    expect(before.every((p) => p.status!.containerStatuses![0]!.lastState!.terminated?.reason === 'OOMKilled')).toBe(true);
    expect(a.healer.reports.map((r) => `${r.result} ${r.message}`)).toEqual(['applied raised the memory limit of app: 256Mi → 356Mi (request → 356Mi)']);

    // A new instance, while the three OOM-killed pods are still there.
    await w.stop(a);
    const b = await w.start({ name: 'b' });
    await w.advance(2 * 3600);

    expect(b.healer.reports).toEqual([]);
    expect(summary(w)).toEqual(['Deployment/api oom-bump/applied/raised']);
    expect(w.patches('deployments/api')).toHaveLength(1);
    expect(memory(template())).toBe('356Mi/356Mi');
    const after = w.pods();
    expect(after).toHaveLength(3);
    expect(uids(after).some((u) => uids(before).includes(u))).toBe(false);
    expect(after.every(ready)).toBe(true);
    expect(after.map((p) => `${memory(p.spec!.containers[0])} ${p.status!.containerStatuses![0]!.restartCount}`)).toEqual(['356Mi/356Mi 0', '356Mi/356Mi 0', '356Mi/356Mi 0']);
    expect(w.kube.requests.filter((q) => q.method === 'DELETE')).toEqual([]);
    expect(w.events().map((e) => e.reason)).toEqual(['MemoryLimitRaised']);
  });

  test('a paused Deployment: the template is raised once; its pods, killed again at the old limit, get no second bump until it is resumed', async () => {
    w = await healerWorld({ marks: false });
    w.cluster.behave('batch:1', 'leak:128Ki'); // 256Mi in 2048 s
    const kills = oomKills(w);
    w.kube.put(deployment('batch', { namespace: NS, image: 'batch:1', replicas: 2, memory: '256Mi', annotations: HEAL }));
    await w.quiet();
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'batch', (d) => void (d.spec!.paused = true));
    const pods = uids(w.pods());
    const a = await w.start();
    await w.advance(5 * 3600);

    expect(kills.length).toBeGreaterThanOrEqual(8); // both pods, every 2048 s or so
    expect(summary(w)).toEqual(['Deployment/batch oom-bump/applied/raised']);
    expect(w.patches('deployments/batch')).toHaveLength(1);
    const d = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'batch');
    expect(memory(d().spec!.template.spec!.containers[0])).toBe('356Mi/356Mi');
    // Paused: no rollout, the same two pods at the old limit.
    expect(uids(w.pods())).toEqual(pods);
    expect(w.kube.list<V1ReplicaSet>('apps/v1', 'ReplicaSet', NS)).toHaveLength(1);
    expect(a.lines.filter((l) => l.msg.includes('already raised, its replacement has more')).length).toBeGreaterThanOrEqual(1);

    w.edit<V1Deployment>('apps/v1', 'Deployment', 'batch', (x) => void (x.spec!.paused = false));
    await w.advance(10 * 60);
    expect(w.pods().map((p) => memory(p.spec!.containers[0]))).toEqual(['356Mi/356Mi', '356Mi/356Mi']);
    expect(w.pods().every(ready)).toBe(true);
    expect(summary(w)).toEqual(['Deployment/batch oom-bump/applied/raised']);
  });

  test('a DaemonSet: one bump, rolled out to every node', async () => {
    w = await healerWorld({ marks: false });
    w.cluster.behave('agent:1', 'oom-at:300Mi');
    w.kube.put(daemonSet('agent', { namespace: NS, image: 'agent:1', memory: '256Mi', annotations: HEAL }));
    await w.start();
    await w.advance(3600);
    expect(summary(w)).toEqual(['DaemonSet/agent oom-bump/applied/raised']);
    expect(w.patches('daemonsets/agent')).toHaveLength(1);
    expect(memory(w.get<V1DaemonSet>('apps/v1', 'DaemonSet', 'agent').spec!.template.spec!.containers[0])).toBe('356Mi/356Mi');
    expect(w.pods().map((p) => `${p.spec!.nodeName} ${memory(p.spec!.containers[0])} ${ready(p)}`).sort()).toEqual(['node-1 356Mi/356Mi true', 'node-2 356Mi/356Mi true', 'node-3 356Mi/356Mi true']);
    expect(w.kube.requests.filter((q) => q.method === 'DELETE')).toEqual([]); // the DaemonSet controller replaces its pods
  });

  test('a StatefulSet (OrderedReady): one bump; the pod OOM-killed at the old limit, which would block the rollout, recreated; its pods run with it', async () => {
    w = await healerWorld({ marks: false });
    w.cluster.behave('db:1', 'oom-at:300Mi');
    w.kube.put(statefulSet('db', { namespace: NS, image: 'db:1', replicas: 2, memory: '256Mi', annotations: HEAL }));
    const a = await w.start();
    await w.advance(3600);
    expect(summary(w)).toEqual(['StatefulSet/db oom-bump/applied/raised']);
    // db-0 never got Ready, so db-1 was never made, and the update waits on db-0 (kubernetes/kubernetes#67250).
    expect(a.healer.reports[0]!.message).toBe('raised the memory limit of app: 256Mi → 356Mi (request → 356Mi); recreated 1 stuck pod(s)');
    expect(w.kube.requests.filter((q) => q.method === 'DELETE').map((q) => q.path)).toEqual([`/api/v1/namespaces/${NS}/pods/db-0`]);
    expect(w.patches('statefulsets/db')).toHaveLength(1);
    expect(memory(w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db').spec!.template.spec!.containers[0])).toBe('356Mi/356Mi');
    expect(w.pods().map((p) => `${p.metadata!.name} ${memory(p.spec!.containers[0])} ${ready(p)}`)).toEqual(['db-0 356Mi/356Mi true', 'db-1 356Mi/356Mi true']);
  });
});

describe("the namespace's LimitRange", () => {
  test('a raise stops at what the LimitRange admits (clamped there, named), and the next OOM kill is reported, not patched past it', async () => {
    w = await healerWorld({ marks: false });
    // Needs 300Mi; the namespace admits 280Mi a container: a raise to 356Mi would leave the rollout unable to create pods.
    w.cluster.behave('cache:1', 'oom-at:300Mi');
    w.kube.put({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'mem', namespace: NS }, spec: { limits: [{ type: 'Container', max: { memory: '280Mi' } }] } });
    w.kube.put(deployment('cache', { namespace: NS, image: 'cache:1', memory: '256Mi', annotations: HEAL }));
    const a = await w.start({ name: 'a' });
    expect(await w.advance(6 * 3600, { until: () => a.healer.reports.some((r) => r.reason === 'max-reached') })).toBe(true);
    // Kills within the hour after the raise are refused for the cooldown; the first after it, for the cap.
    const said = summary(w);
    expect([said[0], said.at(-1)]).toEqual(['Deployment/cache oom-bump/applied/clamped', 'Deployment/cache oom-bump/refused/max-reached']);
    expect(new Set(said.slice(1, -1))).toEqual(new Set(said.length > 2 ? ['Deployment/cache oom-bump/refused/cooldown'] : []));
    expect(w.patches('deployments/cache')).toHaveLength(1);
    const [raised, refused] = [w.reports()[0], w.reports().at(-1)];
    expect(raised!.message).toBe('raised the memory limit of app: 256Mi → 280Mi (request → 280Mi) (clamped to the cap: LimitRange mem: max memory per container 280Mi)');
    expect(refused!.message).toBe('memory limit of app is at the cap (280Mi, LimitRange mem: max memory per container 280Mi)');
    expect(memory(w.get<V1Deployment>('apps/v1', 'Deployment', 'cache').spec!.template.spec!.containers[0])).toBe('280Mi/280Mi');
  });
});
