/**
 * Multi-step scenarios of the healer's memory bumps (issue 19), on the simulated cluster: the
 * kubelet stand-in OOM-kills containers against their limit (`oom-at`, `leak`), the controllers
 * roll the raised limit out, and the real Healer answers each new OOM kill once — across restarts
 * of the healer, pauses and rollouts — within what the namespace's LimitRanges and ResourceQuotas
 * admit (the fake API server refuses pods past a quota, as kube-apiserver does).
 */
import type { V1Container, V1DaemonSet, V1Deployment, V1DeploymentStrategy, V1Pod, V1ReplicaSet, V1StatefulSet } from '@kubernetes/client-node';
import { daemonSet, deployment, statefulSet } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS, replicaSetsOf, type Replica, reportSummary, podReady as ready } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const summary = reportSummary;
const applied = (r: Replica) => r.healer.reports.filter((x) => x.result === 'applied').length;
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
        const limit = pod.spec!.containers.find((x) => x.name === s.name)!.resources?.limits?.memory as string;
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

describe('a container the template does not have', () => {
  test("a mesh's proxy, injected into every pod, is OOM-killed: reported as added at admission (where to raise it), not as a container removed from the template; nothing patched", async () => {
    w = await healerWorld({ marks: false });
    w.cluster.behave('istio/proxyv2:1.22.0', 'oom-at:100Mi');
    w.kube.mutateOnCreate('v1', 'Pod', (p) => void (p as V1Pod).spec!.containers.push({ name: 'istio-proxy', image: 'istio/proxyv2:1.22.0', resources: { limits: { memory: '64Mi' } } }));
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 2, memory: '256Mi', annotations: HEAL }));
    const a = await w.start();
    expect(await w.advance(3600, { until: () => a.healer.reports.length > 0 })).toBe(true);
    expect(summary(w)).toEqual(['Deployment/web oom-bump/refused/container-not-in-template']);
    expect(a.healer.reports[0]!.message).toBe(
      "the OOM-killed container istio-proxy is not in the pod template; it was added when the pod was created (a service mesh's proxy, an injected agent): raise its memory where it is injected",
    );
    expect(w.patches('deployments/web')).toEqual([]);
  });

  test('a container renamed by the release rolling out, OOM-killed in a pod of the release before: reported as no longer in the template', async () => {
    w = await healerWorld({ marks: false });
    w.cluster.behave('web:1', 'leak:8Mi');
    w.cluster.behave('web:2', 'healthy:600');
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 2, memory: '256Mi', annotations: HEAL }));
    await w.quiet();
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => {
      const c = d.spec!.template.spec!.containers[0]!;
      c.name = 'server';
      c.image = 'web:2';
    });
    const a = await w.start();
    expect(await w.advance(3600, { until: () => a.healer.reports.length > 0 })).toBe(true);
    expect(summary(w)).toEqual(['Deployment/web oom-bump/refused/container-gone']);
    expect(a.healer.reports[0]!.message).toBe('container app is no longer in the template');
    expect(w.patches('deployments/web')).toEqual([]);
  });
});

describe('an OOM kill inside the cooldown of a raise', () => {
  test('refused for the cooldown; the container then runs healthy for hours: a restarted healer does not raise for that kill, and a kill after the cooldown is raised', async () => {
    w = await healerWorld({ marks: false });
    // app at 256Mi leaks 1Mi a second; the raised pod's first run takes 8Mi a second (killed at 356Mi in 45 s), its later runs are healthy.
    const starts = new Map<string, number>();
    w.cluster.behaviour(({ pod, container }) => {
      const n = starts.get(pod.metadata!.uid!) ?? 0;
      starts.set(pod.metadata!.uid!, n + 1);
      return container.resources?.limits?.memory === '256Mi' ? 'leak' : n === 0 ? 'leak:8Mi' : 'healthy';
    });
    const kills = oomKills(w);
    w.kube.put(deployment('api', { namespace: NS, image: 'api:1', memory: '256Mi', annotations: HEAL }));
    const a = await w.start({ name: 'a' });
    expect(await w.advance(3600, { until: () => a.healer.reports.some((r) => r.reason === 'cooldown') })).toBe(true);
    expect(summary(w)).toEqual(['Deployment/api oom-bump/applied/raised', 'Deployment/api oom-bump/refused/cooldown']);
    expect(kills.map((k) => k.limit)).toEqual(['256Mi', '356Mi']);

    // The raised pod runs healthy past the cooldown, for hours; its last termination is still the kill refused.
    await w.advance(3 * 3600);
    const [pod] = w.pods();
    expect(pod!.status!.containerStatuses![0]!.lastState!.terminated).toMatchObject({ reason: 'OOMKilled' });
    expect(ready(pod!)).toBe(true);

    // Amadeus restarts (an upgrade): the new instance looks at every pod again.
    await w.stop(a);
    const b = await w.start({ name: 'b' });
    await w.advance(10 * 60);
    expect(b.healer.reports).toEqual([]);
    expect(w.patches('deployments/api')).toHaveLength(1);
    const template = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'api').spec!.template.spec!.containers[0];
    expect(memory(template())).toBe('356Mi/356Mi');

    // A kill after the cooldown is a new fact: raised.
    w.cluster.behaviour(() => 'leak:8Mi');
    w.kube.remove('v1', 'Pod', NS, pod!.metadata!.name!);
    expect(await w.advance(3600, { until: () => b.healer.reports.length > 0 })).toBe(true);
    expect(summary(w).slice(2)).toEqual(['Deployment/api oom-bump/applied/raised']);
    expect(memory(template())).toBe('456Mi/456Mi');
  });
});

describe('a release that lowers the memory limit', () => {
  test('a pod of the release before, at its higher limit, OOM-killed while the release rolls out: the release\'s limit is not raised past what it replaced; its own kills are raised from it', async () => {
    w = await healerWorld({ marks: false });
    // api:1 at 1Gi leaks 4Mi a second (killed about every four minutes); api:2 takes ten minutes to get Ready, then leaks too.
    w.cluster.behave('api:1', 'leak:4Mi');
    w.cluster.behave('api:2', 'healthy:600');
    w.kube.put(deployment('api', { namespace: NS, image: 'api:1', replicas: 3, memory: '1Gi', annotations: HEAL }));
    await w.quiet();
    // Right-sizing: api:2 at 512Mi.
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'api', (d) => {
      const c = d.spec!.template.spec!.containers[0]!;
      c.image = 'api:2';
      c.resources = { limits: { memory: '512Mi' }, requests: { memory: '512Mi' } };
    });
    const kills = oomKills(w);
    const a = await w.start();
    await w.advance(9 * 60);
    expect(kills.filter((k) => k.limit === '1Gi').length).toBeGreaterThan(0); // api:1 pods killed at 1Gi while api:2 rolls out
    expect(summary(w)).toEqual([]);
    expect(w.patches('deployments/api')).toEqual([]);
    const template = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'api').spec!.template.spec!.containers[0];
    expect(memory(template())).toBe('512Mi/512Mi');
    expect(a.lines.filter((l) => l.msg.includes('a revision whose limit the template has changed since')).length).toBeGreaterThan(0);

    // api:2's own pods are OOM-killed at 512Mi: raised from there.
    w.cluster.behave('api:2', 'leak:16Mi');
    expect(await w.advance(3600, { until: () => a.healer.reports.length > 0 })).toBe(true);
    expect(a.healer.reports.map((r) => r.message)).toEqual(['raised the memory limit of app: 512Mi → 615Mi (request → 615Mi)']);
  });
});

describe('a StatefulSet release that lowers the memory limit', () => {
  test('an old-revision pod OOM-killed at its higher limit: not raised, and said (limit-lowered-since, once per quarter hour), not only logged: the set replaces no pod that is not Ready', async () => {
    w = await healerWorld({ marks: false });
    // db:1 at 1Gi leaks to its limit (killed about every four minutes); OnDelete: nothing replaces its pods.
    w.cluster.behave('db:1', 'leak:4Mi');
    const set = statefulSet('db', { namespace: NS, image: 'db:1', replicas: 2, memory: '1Gi', annotations: HEAL });
    set.spec!.updateStrategy = { type: 'OnDelete' };
    w.kube.put(set);
    await w.advance(60);
    // Right-sizing to 512Mi, before Amadeus starts.
    w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => {
      const c = s.spec!.template.spec!.containers[0]!;
      c.image = 'db:2';
      c.resources = { limits: { memory: '512Mi' }, requests: { memory: '512Mi' } };
    });
    const a = await w.start();
    expect(await w.advance(3600, { until: () => a.healer.reports.length > 0 })).toBe(true);
    expect(summary(w)).toEqual(['StatefulSet/db oom-bump/refused/limit-lowered-since']);
    expect(a.healer.reports[0]!.message).toMatch(/^pod db-[01] \(revision db-[a-z0-9]+\) was OOM-killed at 1024Mi, which the template has lowered since to 512Mi: not raised for it\. A StatefulSet replaces no pod that is not Ready/);
    expect(w.patches('statefulsets/db')).toEqual([]);
    expect(w.kube.requests.filter((q) => q.method === 'DELETE')).toEqual([]);
    expect(memory(w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db').spec!.template.spec!.containers[0])).toBe('512Mi/512Mi');
    // The kills go on every four minutes; the report does not.
    await w.advance(30 * 60);
    expect(a.healer.reports.length).toBeLessThanOrEqual(3);
    expect(new Set(a.healer.reports.map((r) => r.reason))).toEqual(new Set(['limit-lowered-since']));
    expect(w.patches('statefulsets/db')).toEqual([]);
  });
});

describe('a release that removes a sidecar', () => {
  test("an old-revision pod's app OOM-killed while the release rolls out: the dropped sidecar is not counted as injected against the Pod max, so the raise goes through", async () => {
    w = await healerWorld({ marks: false });
    // api:1's app needs 300Mi (killed at its 256Mi); api:2 drops the 512Mi log shipper and takes ten minutes to get Ready.
    w.cluster.behave('api:1', 'oom-at:300Mi');
    w.cluster.behave('api:2', 'oom-at:300Mi');
    w.kube.put({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'pods', namespace: NS }, spec: { limits: [{ type: 'Pod', max: { memory: '768Mi' } }] } });
    const d = deployment('api', { namespace: NS, image: 'api:1', replicas: 2, memory: '256Mi', annotations: HEAL });
    d.spec!.template.spec!.containers.push({ name: 'log-shipper', image: 'shipper:1', resources: { limits: { memory: '512Mi' } } });
    w.kube.put(d);
    await w.advance(60);
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'api', (x) => {
      x.spec!.template.spec!.containers = x.spec!.template.spec!.containers.filter((c) => c.name !== 'log-shipper');
      x.spec!.template.spec!.containers[0]!.image = 'api:2';
    });
    const a = await w.start();
    expect(await w.advance(3600, { until: () => a.healer.reports.length > 0 })).toBe(true);
    // 256Mi + the shipper's 512Mi counted beside it would leave no room under 768Mi: "max reached".
    expect(a.healer.reports.map((r) => `${r.result} ${r.message}`)).toEqual(['applied raised the memory limit of app: 256Mi → 356Mi (request → 356Mi)']);
  });
});

describe('a release that gives the container its first memory limit', () => {
  test('a pod of the release before (no limit) OOM-killed by the node while the release rolls out: the new limit is not raised for it; the release rolls out as written', async () => {
    // Nodes of 1Gi: api:1, without a limit, leaks 8Mi a second until the node kills it (about two minutes).
    w = await healerWorld({ marks: false, nodeMemory: '1Gi' });
    w.cluster.behave('api:1', 'leak:8Mi');
    w.cluster.behave('api:2', 'healthy:90');
    w.kube.put(deployment('api', { namespace: NS, image: 'api:1', replicas: 3, annotations: HEAL }));
    const a = await w.start();
    expect(await w.advance(3600, { until: () => a.healer.reports.length > 0 })).toBe(true);
    expect(summary(w)).toEqual(['Deployment/api oom-bump/refused/no-limit']);

    // api:2 sets a limit of 512Mi; its pods take a minute and a half to get Ready, so the rollout takes minutes, the old pods still leaking.
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'api', (d) => {
      const c = d.spec!.template.spec!.containers[0]!;
      c.image = 'api:2';
      c.resources = { limits: { memory: '512Mi' } };
    });
    const kills = oomKills(w);
    await w.advance(15 * 60);
    const stillOld = kills.filter((k) => k.limit === undefined);
    expect(stillOld.length).toBeGreaterThan(0); // api:1 pods were OOM-killed while api:2 rolled out

    // Those kills were at no limit: they say nothing about api:2's 512Mi.
    expect(summary(w)).toEqual(['Deployment/api oom-bump/refused/no-limit']);
    expect(w.patches('deployments/api')).toEqual([]);
    expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'api').spec!.template.spec!.containers[0]!.resources).toEqual({ limits: { memory: '512Mi' } });
    expect(w.pods().map((p) => `${p.spec!.containers[0]!.image} ${p.spec!.containers[0]!.resources?.limits?.memory} ${ready(p)}`)).toEqual(Array(3).fill('api:2 512Mi true'));
  });
});

describe("a StatefulSet whose pod template holds a field client-node's model does not know", () => {
  test('one bump; the stuck pod recreated all the same (its revision read alike with the set), the field kept on the pods', async () => {
    w = await healerWorld({ marks: false });
    w.cluster.behave('db:1', 'oom-at:300Mi');
    const sts = statefulSet('db', { namespace: NS, image: 'db:1', replicas: 2, memory: '256Mi', annotations: HEAL });
    const unknown = { workloadRef: { name: 'training', podGroup: 'workers' } };
    Object.assign(sts.spec!.template.spec!, unknown);
    w.kube.put(sts);
    const a = await w.start();
    await w.advance(3600);
    expect(summary(w)).toEqual(['StatefulSet/db oom-bump/applied/raised']);
    expect(a.healer.reports[0]!.message).toBe('raised the memory limit of app: 256Mi → 356Mi (request → 356Mi); recreated 1 stuck pod(s)');
    expect(w.kube.requests.filter((q) => q.method === 'DELETE').map((q) => q.path)).toEqual([`/api/v1/namespaces/${NS}/pods/db-0`]);
    expect(w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db').spec!.template.spec).toMatchObject(unknown);
    expect(w.pods().map((p) => `${p.metadata!.name} ${memory(p.spec!.containers[0])} ${ready(p)} ${JSON.stringify((p.spec as unknown as Record<string, unknown>).workloadRef)}`)).toEqual(
      ['db-0', 'db-1'].map((n) => `${n} 356Mi/356Mi true ${JSON.stringify(unknown.workloadRef)}`),
    );
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

describe("the namespace's ResourceQuota", () => {
  const QUOTA_DENIED = { method: 'GET', path: `/api/v1/namespaces/${NS}/resourcequotas` };
  const cache = () => w.pods({ app: 'cache' });
  const template = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'cache');
  const condition = (type: string) => template().status?.conditions?.find((c) => c.type === type);
  const newest = () => replicaSetsOf(w, 'cache').find((rs) => memory(rs.spec?.template?.spec?.containers[0]) !== '256Mi/256Mi');

  /**
   * Four pods of 256Mi (request = limit) in a namespace whose quota bounds limits.memory; the first
   * container to start leaks to its limit once (an OOM kill about four minutes in), every other run
   * is healthy. Returns the fewest Ready pods seen at any write from the moment all four are Ready.
   */
  async function oomUnderQuota(hard: string, strategy?: V1DeploymentStrategy, o: { denyQuotas?: boolean } = {}): Promise<{ a: Replica; fewestReady: () => number }> {
    w = await healerWorld({ marks: false });
    let leaked = false;
    w.cluster.behaviour(() => (leaked ? undefined : ((leaked = true), 'leak')));
    w.kube.put({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'mem', namespace: NS }, spec: { hard: { 'limits.memory': hard, pods: '10' } } });
    w.kube.put(deployment('cache', { namespace: NS, image: 'cache:1', replicas: 4, memory: '256Mi', annotations: HEAL, strategy }));
    await w.quiet();
    expect(cache().filter(ready)).toHaveLength(4);
    let fewest = Infinity;
    w.kube.onChange((c) => {
      if (c.kind === 'Pod') fewest = Math.min(fewest, cache().filter(ready).length);
    });
    if (o.denyQuotas) w.kube.failNext(QUOTA_DENIED, 403, 1000);
    const a = await w.start({ name: 'a' });
    expect(await w.advance(3600, { until: () => a.healer.reports.length > 0 })).toBe(true);
    return { a, fewestReady: () => fewest };
  }

  const noDowntime: V1DeploymentStrategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };

  test('room for part of the raise (maxSurge 1, maxUnavailable 0): raised only as far as the rollout fits, named; it completes and no pod is ever lost', async () => {
    // 1500Mi, 4 × 256Mi used: the rollout's 5 pods (4 + 1 surge) at the new limit fit 300Mi each, not the rule's 356Mi.
    const { a, fewestReady } = await oomUnderQuota('1500Mi', noDowntime);
    const quotaRule = "ResourceQuota mem: limits.memory 1500Mi, 1024Mi used: the rollout's 5 pods (4 + 1 surge) fit 300Mi each";
    expect(summary(w)).toEqual(['Deployment/cache oom-bump/applied/clamped']);
    expect(a.healer.reports[0]!.message).toBe(`raised the memory limit of app: 256Mi → 300Mi (request → 300Mi) (clamped to the cap: ${quotaRule})`);
    expect(a.notes[0]!.title).toContain(quotaRule);
    expect(w.events().map((e) => [e.reason, e.message?.includes(quotaRule)])).toEqual([['MemoryLimitRaised', true]]);

    await w.advance(30 * 60);
    expect(cache().map((p) => `${memory(p.spec!.containers[0])} ${ready(p)}`)).toEqual(Array(4).fill('300Mi/300Mi true'));
    expect(condition('Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    expect(fewestReady()).toBe(4);
    expect(w.cluster.refusals).toBe(0);
    expect(w.patches('deployments/cache')).toHaveLength(1);
  });

  test('the same without the check (may not list resourcequotas): the full raise, whose rollout the quota stops half way — stuck for good', async () => {
    const { a, fewestReady } = await oomUnderQuota('1500Mi', noDowntime, { denyQuotas: true });
    expect(a.lines.filter((l) => l.msg.startsWith('may not list ResourceQuotas'))).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'may not list ResourceQuotas: memory raises are not checked against them (grant "list" on resourcequotas)', namespace: NS }),
    ]);
    expect(a.healer.reports.map((r) => r.message)).toEqual(['raised the memory limit of app: 256Mi → 356Mi (request → 356Mi)']);

    await w.advance(60 * 60);
    // 2 × 256Mi + 2 × 356Mi = 1224Mi: a third 356Mi pod would make 1580Mi. maxUnavailable 0 keeps the old two; the raise never lands.
    expect(cache().map((p) => memory(p.spec!.containers[0])).sort()).toEqual(['256Mi/256Mi', '256Mi/256Mi', '356Mi/356Mi', '356Mi/356Mi']);
    expect(fewestReady()).toBe(4);
    expect(condition('Progressing')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    expect(newest()!.status!.conditions).toEqual([expect.objectContaining({ type: 'ReplicaFailure', reason: 'FailedCreate', message: expect.stringContaining('is forbidden: exceeded quota: mem, requested: limits.memory=356Mi') })]);
  });

  test('no room for a raise worth a rollout (the default 25%/25%): refused, naming the quota; nothing is patched, no pod is lost', async () => {
    // 1200Mi, 4 × 256Mi used: 5 pods fit 240Mi each, below the current limit.
    const { a, fewestReady } = await oomUnderQuota('1200Mi');
    const quotaRule = "ResourceQuota mem: limits.memory 1200Mi, 1024Mi used: the rollout's 5 pods (4 + 1 surge) fit 240Mi each";
    expect(summary(w)).toEqual(['Deployment/cache oom-bump/refused/max-reached']);
    expect(a.healer.reports[0]!.message).toBe(`memory limit of app is at the cap (240Mi, ${quotaRule})`);
    expect(a.notes[0]).toMatchObject({ severity: 'warning', result: 'refused' });
    expect(a.notes[0]!.title).toContain(quotaRule);
    await w.advance(30 * 60);
    expect(w.patches('deployments/cache')).toEqual([]);
    expect(memory(template().spec!.template.spec!.containers[0])).toBe('256Mi/256Mi');
    expect(fewestReady()).toBe(4);
  });

  test('room for a sliver only: a raise of less than a quarter of the step is refused as not worth a rollout', async () => {
    // 1400Mi: 5 pods fit 280Mi each, 24Mi of the rule's 100Mi step.
    const { a } = await oomUnderQuota('1400Mi', noDowntime);
    expect(summary(w)).toEqual(['Deployment/cache oom-bump/refused/max-reached']);
    expect(a.healer.reports[0]!.message).toBe(
      "memory limit of app is near the cap (280Mi, ResourceQuota mem: limits.memory 1400Mi, 1024Mi used: the rollout's 5 pods (4 + 1 surge) fit 280Mi each): a raise from 256Mi would be less than 25% of the rule's step, not worth a rollout",
    );
    expect(w.patches('deployments/cache')).toEqual([]);
  });

  test('the same without the check: the full raise leaves the rollout stuck with a pod fewer than before, for good', async () => {
    const { a, fewestReady } = await oomUnderQuota('1200Mi', undefined, { denyQuotas: true });
    expect(summary(w)).toEqual(['Deployment/cache oom-bump/applied/raised']);
    await w.advance(60 * 60);
    // maxUnavailable took an old pod away for each new one the quota refused: 2 × 256Mi + 356Mi = 868Mi, and a second 356Mi pod does not fit.
    expect(cache().map((p) => memory(p.spec!.containers[0])).sort()).toEqual(['256Mi/256Mi', '256Mi/256Mi', '356Mi/356Mi']);
    expect(cache().filter(ready)).toHaveLength(3);
    expect(fewestReady()).toBe(3);
    expect(template().status).toMatchObject({ availableReplicas: 3, unavailableReplicas: 1 });
    expect(condition('Progressing')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    expect(newest()!.status!.conditions).toEqual([expect.objectContaining({ type: 'ReplicaFailure', reason: 'FailedCreate' })]);
    expect(a.healer.reports).toHaveLength(1);
  });
});

describe("a native sidecar's share of the namespace's ResourceQuota", () => {
  test('the app container of pods with a sidecar (a restartable init container) is OOM-killed: the raise leaves room for the sidecars of the rollout’s pods, and the rollout completes', async () => {
    w = await healerWorld({ marks: false });
    let leaked = false;
    w.cluster.behaviour(() => (leaked ? undefined : ((leaked = true), 'leak')));
    // 4 pods of 256Mi (app) + 128Mi (proxy, a sidecar): 1536Mi; 760Mi left of the quota.
    w.kube.put({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'mem', namespace: NS }, spec: { hard: { 'limits.memory': '2296Mi', pods: '10' } } });
    const d = deployment('cache', { namespace: NS, image: 'cache:1', replicas: 4, memory: '256Mi', annotations: HEAL, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } });
    d.spec!.template.spec!.initContainers = [{ name: 'proxy', image: 'proxy:1', restartPolicy: 'Always', resources: { limits: { memory: '128Mi' }, requests: { memory: '128Mi' } } }];
    w.kube.put(d);
    await w.quiet();
    const cache = () => w.pods({ app: 'cache' });
    expect(cache().filter(ready)).toHaveLength(4);
    expect(w.get<{ status?: { used?: Record<string, string> } }>('v1', 'ResourceQuota', 'mem').status!.used!['limits.memory']).toBe('1536Mi');
    const a = await w.start({ name: 'a' });
    expect(await w.advance(3600, { until: () => a.healer.reports.length > 0 })).toBe(true);

    // The rollout's 5 pods (4 + 1 surge) must fit their sidecars too: (760Mi + 4 × 384Mi) / 5 − 128Mi = 331Mi for app.
    expect(summary(w)).toEqual(['Deployment/cache oom-bump/applied/clamped']);
    expect(a.healer.reports[0]!.message).toMatch(/^raised the memory limit of app: 256Mi → 331Mi \(request → 331Mi\) \(clamped to the cap: ResourceQuota mem: limits\.memory 2296Mi, 1536Mi used: the rollout's 5 pods \(4 \+ 1 surge\) fit 459Mi each, 128Mi of it the other containers'\)$/);

    await w.advance(30 * 60);
    const template = w.get<V1Deployment>('apps/v1', 'Deployment', 'cache');
    expect(template.spec!.template.spec!.initContainers!.map(memory)).toEqual(['128Mi/128Mi']);
    expect(cache().map((p) => `${memory(p.spec!.containers[0])} ${ready(p)}`)).toEqual(Array(4).fill('331Mi/331Mi true'));
    expect(template.status?.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    expect(w.cluster.refusals).toBe(0);
    expect(w.patches('deployments/cache')).toHaveLength(1);
  });
});

describe('what admission adds to each pod: a mesh\'s proxy it injects, a LimitRange default limit it fills in', () => {
  /**
   * Four pods of 256Mi (app) in a namespace whose quota bounds limits.memory; the first run of app
   * leaks to its limit once (an OOM kill about four minutes in). `admission` plays the mutating
   * admission every pod goes through before the quota's (a mesh's webhook, the LimitRanger plugin).
   */
  async function underQuota(hard: string, admission: (pod: V1Pod) => void, template?: (d: V1Deployment) => void): Promise<Replica> {
    w = await healerWorld({ marks: false });
    let leaked = false;
    w.cluster.behaviour(({ container }) => (container.name !== 'app' || leaked ? undefined : ((leaked = true), 'leak')));
    w.kube.mutateOnCreate('v1', 'Pod', (p) => admission(p as V1Pod));
    w.kube.put({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'mem', namespace: NS }, spec: { hard: { 'limits.memory': hard, pods: '10' } } });
    const d = deployment('cache', { namespace: NS, image: 'cache:1', replicas: 4, memory: '256Mi', annotations: HEAL, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } });
    template?.(d);
    w.kube.put(d);
    await w.quiet();
    expect(w.pods({ app: 'cache' }).filter(ready)).toHaveLength(4);
    expect(w.get<{ status?: { used?: Record<string, string> } }>('v1', 'ResourceQuota', 'mem').status!.used!['limits.memory']).toBe('1536Mi');
    const a = await w.start({ name: 'a' });
    expect(await w.advance(3600, { until: () => a.healer.reports.length > 0 })).toBe(true);
    return a;
  }

  /** The raise rolls out whole, within the quota: every pod at `app`'s new limit, Ready, no pod creation refused. */
  async function rolledOut(limit: string): Promise<void> {
    await w.advance(30 * 60);
    const d = w.get<V1Deployment>('apps/v1', 'Deployment', 'cache');
    expect(w.pods({ app: 'cache' }).map((p) => `${memory(p.spec!.containers.find((c) => c.name === 'app'))} ${ready(p)}`)).toEqual(Array(4).fill(`${limit}/${limit} true`));
    expect(d.status?.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    expect(w.cluster.refusals).toBe(0);
    expect(w.patches('deployments/cache')).toHaveLength(1);
  }

  test('a proxy injected into every pod (128Mi, not in the template) counts in the quota as a sidecar does: the raise leaves room for it, and the rollout completes', async () => {
    // 4 pods of 256Mi (app) + 128Mi (istio-proxy, injected): 1536Mi; 760Mi left of the quota.
    const a = await underQuota('2296Mi', (p) => void p.spec!.containers.push({ name: 'istio-proxy', image: 'istio/proxyv2:1.22.0', resources: { limits: { memory: '128Mi' }, requests: { memory: '128Mi' } } }));
    // As for a sidecar in the template: (760Mi + 4 × 384Mi) / 5 − 128Mi = 331Mi for app; the rule's 356Mi would not fit the last new pod.
    expect(summary(w)).toEqual(['Deployment/cache oom-bump/applied/clamped']);
    expect(a.healer.reports[0]!.message).toMatch(/^raised the memory limit of app: 256Mi → 331Mi \(request → 331Mi\) \(clamped to the cap: ResourceQuota mem: limits\.memory 2296Mi, 1536Mi used: the rollout's 5 pods \(4 \+ 1 surge\) fit 459Mi each, 128Mi of it the other containers'\)$/);
    await rolledOut('331Mi');
    expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'cache').spec!.template.spec!.containers.map((c) => c.name)).toEqual(['app']);
  });

  test('a container without a limit in the template, given the LimitRange\'s default (128Mi) at admission, counts in the quota with it', async () => {
    // The LimitRanger plugin: a container without a memory limit gets the namespace's default (and its request the default request).
    const limitRange = { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'defaults', namespace: NS }, spec: { limits: [{ type: 'Container', default: { memory: '128Mi' }, defaultRequest: { memory: '128Mi' } }] } };
    const defaults = (p: V1Pod) => {
      for (const c of p.spec!.containers) {
        if (c.resources?.limits?.memory !== undefined) continue;
        c.resources = { ...c.resources, limits: { ...c.resources?.limits, memory: '128Mi' }, requests: { ...c.resources?.requests, memory: c.resources?.requests?.memory ?? '128Mi' } };
      }
    };
    const a = await underQuota('2296Mi', defaults, (d) => {
      w.kube.put(limitRange);
      d.spec!.template.spec!.containers.push({ name: 'log-shipper', image: 'shipper:1' });
    });
    expect(summary(w)).toEqual(['Deployment/cache oom-bump/applied/clamped']);
    expect(a.healer.reports[0]!.message).toMatch(/^raised the memory limit of app: 256Mi → 331Mi \(request → 331Mi\) \(clamped to the cap: ResourceQuota mem: limits\.memory 2296Mi, 1536Mi used: the rollout's 5 pods \(4 \+ 1 surge\) fit 459Mi each, 128Mi of it the other containers'\)$/);
    await rolledOut('331Mi');
    expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'cache').spec!.template.spec!.containers[1]!.resources).toBeUndefined();
  });
});

describe('a StatefulSet whose pods a delete would not move to the raised template', () => {
  /**
   * db (3 pods of 256Mi, OrderedReady) with `updateStrategy`; db-0 runs healthy but leaks, and each
   * of its later starts is OOM-killed at once (so it is stuck not Ready, at the old limit).
   * `change` runs once the set is up, before the first kill (about 128 s in).
   */
  async function dbZeroOoms(updateStrategy: V1StatefulSet['spec'] extends infer S ? (S extends { updateStrategy?: infer U } ? U : never) : never, change?: () => void): Promise<Replica> {
    w = await healerWorld({ marks: false });
    const starts = new Map<string, number>();
    w.cluster.behaviour(({ pod }) => {
      if (pod.metadata!.name !== 'db-0') return undefined;
      const n = starts.get(pod.metadata!.uid!) ?? 0;
      starts.set(pod.metadata!.uid!, n + 1);
      return n === 0 ? 'leak:2Mi' : 'oom-at:300Mi';
    });
    w.kube.put(statefulSet('db', { namespace: NS, image: 'db:1', replicas: 3, memory: '256Mi', annotations: HEAL, updateStrategy }));
    await w.advance(30);
    expect(w.pods().map((p) => `${p.metadata!.name} ${ready(p)}`)).toEqual(['db-0 true', 'db-1 true', 'db-2 true']);
    change?.();
    return w.start();
  }
  const deletes = () => w.kube.requests.filter((q) => q.method === 'DELETE').map((q) => q.path);
  const set = () => w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db');

  test('RollingUpdate with a partition above db-0: the template is raised once; db-0 is never deleted, as the controller would recreate it at the current revision, at the old limit', async () => {
    const a = await dbZeroOoms({ type: 'RollingUpdate', rollingUpdate: { partition: 3 } });
    await w.advance(60 * 60);
    expect(summary(w)).toEqual(['StatefulSet/db oom-bump/applied/raised']);
    expect(a.healer.reports[0]!.message).toBe(
      'raised the memory limit of app: 256Mi → 356Mi (request → 356Mi); not recreated, still at the old limit: db-0 (below the partition: it would come back at the current revision)',
    );
    expect(memory(set().spec!.template.spec!.containers[0])).toBe('356Mi/356Mi');
    expect(deletes()).toEqual([]);
    expect(w.patches('statefulsets/db')).toHaveLength(1);
    // The partition holds every pod at the current revision, as the operator asked.
    expect(w.pods().map((p) => `${p.metadata!.name} ${p.metadata!.labels!['controller-revision-hash']} ${memory(p.spec!.containers[0])}`)).toEqual(
      ['db-0', 'db-1', 'db-2'].map((n) => `${n} ${set().status!.currentRevision} 256Mi/256Mi`),
    );
  });

  test('OnDelete with a change the operator has not rolled out (db:2): the template is raised; db-0 is not deleted, which would roll db:2 out to it', async () => {
    const a = await dbZeroOoms({ type: 'OnDelete' }, () => {
      w.edit<V1StatefulSet>('apps/v1', 'StatefulSet', 'db', (s) => void (s.spec!.template.spec!.containers[0]!.image = 'db:2'));
    });
    await w.advance(60 * 60);
    expect(summary(w)).toEqual(['StatefulSet/db oom-bump/applied/raised']);
    const db0 = w.pods().find((p) => p.metadata!.name === 'db-0')!.metadata!.labels!['controller-revision-hash'];
    expect(a.healer.reports[0]!.message).toBe(
      `raised the memory limit of app: 256Mi → 356Mi (request → 356Mi); not recreated, still at the old limit: db-0 (its revision ${db0} differs from the template in more than this memory: a delete would roll that change out too)` +
        "; the StatefulSet's update strategy is OnDelete: 2 pod(s) keep the old limit at a revision that differs from the template in more than this memory (db-1, db-2): a delete would roll that change out too",
    );
    expect(set().spec!.template.spec!.containers[0]).toMatchObject({ image: 'db:2', resources: { limits: { memory: '356Mi' } } });
    expect(deletes()).toEqual([]);
    expect(w.pods().map((p) => `${p.metadata!.name} ${p.spec!.containers[0]!.image}`)).toEqual(['db-0 db:1', 'db-1 db:1', 'db-2 db:1']);
  });
});

describe('pod-level resources (KEP-2837: spec.resources of the pod, beta and on by default since Kubernetes 1.34)', () => {
  /** Deployment web (2 replicas, app at `memory`, limit = request when given) whose pods have a pod-level memory limit of 512Mi. */
  const underPodLimit = (memory?: string) => {
    const d = deployment('web', { namespace: NS, image: 'web:1', replicas: 2, annotations: HEAL, ...(memory ? { memory } : {}) });
    d.spec!.template.spec!.resources = { limits: { memory: '512Mi' } };
    return d;
  };
  const POD_LIMIT = "pod-level resources: the pod's memory limit 512Mi, which no container's may exceed";

  test('a container at 400Mi OOM-killed again and again: raised by the rule (500Mi), then to the pod-level limit (512Mi, named), then "max reached" once, no patch; never a patch the API server refuses', async () => {
    w = await healerWorld({ marks: false });
    // The app needs 510Mi: killed at 400Mi and at 500Mi, healthy at 512Mi.
    w.cluster.behave('web:1', 'oom-at:510Mi');
    w.kube.put(underPodLimit('400Mi'));
    const a = await w.start({ name: 'a' });
    const template = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'web');
    expect(await w.advance(4 * 3600, { until: () => a.healer.reports.some((r) => r.result !== 'applied' && r.reason !== 'cooldown') || applied(a) === 2 })).toBe(true);
    expect(a.healer.reports.filter((r) => r.result === 'applied').map((r) => r.message)).toEqual([
      'raised the memory limit of app: 400Mi → 500Mi (request → 500Mi)',
      `raised the memory limit of app: 500Mi → 512Mi (request → 512Mi) (clamped to the cap: ${POD_LIMIT})`,
    ]);
    expect(new Set(summary(w).slice(1, -1))).toEqual(new Set(['Deployment/web oom-bump/refused/cooldown']));
    expect(summary(w).at(-1)).toBe('Deployment/web oom-bump/applied/clamped');
    expect(memory(template().spec!.template.spec!.containers[0])).toBe('512Mi/512Mi');

    // The rollout completes: every pod at 512Mi, Ready; the hour of cooldown passes.
    await w.advance(60 * 60);
    expect(w.pods().map((p) => `${memory(p.spec!.containers[0])} ${p.spec!.resources?.limits?.memory} ${ready(p)}`)).toEqual(Array(2).fill('512Mi/512Mi 512Mi true'));
    expect(template().status?.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });

    // The app grows past the pod's limit: the next kill is at the cap — reported once, nothing patched.
    const reported = a.healer.reports.length;
    w.cluster.behave('web:1', 'oom-at:600Mi');
    w.kube.remove('v1', 'Pod', NS, w.pods()[0]!.metadata!.name!);
    await w.advance(10 * 60);
    expect(summary(w).slice(reported)).toEqual(['Deployment/web oom-bump/refused/max-reached']);
    expect(a.healer.reports.at(-1)!.message).toBe(`memory limit of app is at the cap (512Mi, ${POD_LIMIT})`);
    expect(a.notes.at(-1)).toMatchObject({ severity: 'warning', result: 'refused' });
    expect(w.patches('deployments/web').map((p) => p.status)).toEqual([200, 200]);
    expect(a.healer.reports.filter((r) => r.result === 'failed')).toEqual([]);
  });

  test('a container without a memory limit of its own, OOM-killed at the pod-level limit: reported as the pod\'s limit binding, which is not raised; no container limit invented, nothing patched', async () => {
    w = await healerWorld({ marks: false });
    w.cluster.behave('web:1', 'leak:8Mi'); // the pod's 512Mi in about a minute
    const kills = oomKills(w);
    w.kube.put(underPodLimit());
    const a = await w.start({ name: 'a' });
    expect(await w.advance(3600, { until: () => a.healer.reports.length > 0 })).toBe(true);
    expect(kills.length).toBeGreaterThan(0);
    expect(summary(w)).toEqual(['Deployment/web oom-bump/refused/pod-level-limit']);
    expect(a.healer.reports[0]!.message).toBe(
      "container app has no memory limit of its own: it was killed at the pod's (spec.resources.limits.memory 512Mi), which Amadeus does not raise: raise it in the pod template, or give the container a limit of its own",
    );
    await w.advance(10 * 60);
    expect(summary(w)).toEqual(['Deployment/web oom-bump/refused/pod-level-limit']);
    expect(w.patches('deployments/web')).toEqual([]);
    const spec = w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template.spec!;
    expect([spec.containers[0]!.resources, spec.resources]).toEqual([undefined, { limits: { memory: '512Mi' } }]);
  });
});

describe('what a node can hold (not checked by default: --heal-node-fit off)', () => {
  const cache = () => w.pods({ app: 'cache' });
  const template = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'cache');
  const unschedulable = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable') === true;

  // Documents README's Limitations line: a check against the nodes that exist would refuse raises a
  // node autoscaler (Karpenter, cluster-autoscaler from zero, Fargate) would make room for, so it is
  // off unless asked for (scenarios-node-fit.test.ts); off, on a fixed set of nodes a raise past all
  // of them leaves the rollout a pod short.
  test('five nodes of 1Gi, four Guaranteed pods of 900Mi OOM-killed once: raised to 1080Mi, the new pods Unschedulable, the Deployment a pod short', async () => {
    w = await healerWorld({ marks: false, nodes: ['node-1', 'node-2', 'node-3', 'node-4', 'node-5'], nodeMemory: '1Gi' });
    let leaked = false;
    w.cluster.behaviour(() => (leaked ? undefined : ((leaked = true), 'leak')));
    w.kube.put(deployment('cache', { namespace: NS, image: 'cache:1', replicas: 4, memory: '900Mi', annotations: HEAL }));
    await w.quiet();
    expect(cache().filter(ready)).toHaveLength(4);
    const a = await w.start({ name: 'a' });
    expect(await w.advance(3600, { until: () => a.healer.reports.length > 0 })).toBe(true);
    expect(a.healer.reports.map((r) => r.message)).toEqual(['raised the memory limit of app: 900Mi → 1080Mi (request → 1080Mi)']);
    await w.advance(60 * 60);
    expect(cache().map((p) => `${memory(p.spec!.containers[0])} ${ready(p)} ${unschedulable(p)}`).sort()).toEqual([
      '1080Mi/1080Mi false true',
      '1080Mi/1080Mi false true',
      '900Mi/900Mi true false',
      '900Mi/900Mi true false',
      '900Mi/900Mi true false',
    ]);
    expect(template().status).toMatchObject({ availableReplicas: 3 });
  });
});
