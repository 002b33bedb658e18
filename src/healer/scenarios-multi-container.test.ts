/**
 * Two containers of one workload OOM-killed, on the simulated cluster: the app and its sidecar in
 * the same pods. The raise answering one kill raises every container whose kill is current then
 * (killed at the template's limit), in one patch, each by its own step under its own caps; the
 * cooldown then covers each container raised. A container whose raise a guard refuses (its cap)
 * does not hold the others back, and is named. A container the last raise did not raise, killed
 * later inside that raise's cooldown, is raised: the cooldown is each container's own.
 */
import { execFileSync } from 'node:child_process';
import { PatchStrategy, setHeaderOptions, type V1Container, type V1Deployment, type V1PodTemplateSpec, type V1StatefulSet } from '@kubernetes/client-node';
import { deployment, statefulSet } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS, podReady as ready, type Replica, reportSummary } from '../test-support/healer-world.js';
import { makeClients } from './kube.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const memory = (c: V1Container | undefined) => `${c?.resources?.limits?.memory}/${c?.resources?.requests?.memory}`;
const containers = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'api').spec!.template.spec!.containers;
/** The Deployment `api`: its app (api:1) and a proxy sidecar (proxy:1), each with its memory limit (request = limit). */
function withProxy(app: string, proxy: string, annotations: Record<string, string> = HEAL, replicas = 2): V1Deployment {
  const d = deployment('api', { namespace: NS, image: 'api:1', replicas, memory: app, annotations });
  d.spec!.template.spec!.containers.push({ name: 'proxy', image: 'proxy:1', resources: { limits: { memory: proxy }, requests: { memory: proxy } } });
  return d;
}

/** `api` (app 256Mi, proxy 64Mi) whose app and proxy are killed at those limits, one step below what they need; until replica `a` applies a raise. */
async function killedTogether(): Promise<{ a: Replica; before: V1PodTemplateSpec }> {
  w = await healerWorld({ marks: false });
  w.cluster.behave('api:1', 'oom-at:300Mi');
  w.cluster.behave('proxy:1', 'oom-at:100Mi');
  const a = await w.start({ name: 'a' });
  const before = structuredClone(w.kube.put(withProxy('256Mi', '64Mi')).spec!.template);
  expect(await w.advance(3600, { until: () => a.healer.reports.some((r) => r.result === 'applied') })).toBe(true);
  return { a, before };
}

test('the app and its sidecar OOM-killed together: one patch raises both, each by its own step; the report names both; nothing more within the cooldown or after', async () => {
  const { a } = await killedTogether();
  await w.advance(3 * 3600);

  // One patch, both containers: the app by 20% or 100Mi (100Mi), the proxy by its own (100Mi).
  expect(w.patches('deployments/api').map((p) => p.status)).toEqual([200]);
  expect(containers().map(memory)).toEqual(['356Mi/356Mi', '164Mi/164Mi']);
  const applied = a.healer.reports.filter((r) => r.result === 'applied');
  expect(applied).toHaveLength(1);
  expect(applied[0]!.message).toMatch(/^raised the memory limit of (app: 256Mi → 356Mi \(request → 356Mi\)|proxy: 64Mi → 164Mi \(request → 164Mi\)), and of (app|proxy): /);
  expect(applied[0]!.message).toContain('app: 256Mi → 356Mi (request → 356Mi)');
  expect(applied[0]!.message).toContain('proxy: 64Mi → 164Mi (request → 164Mi)');
  expect(applied[0]!.undo).toMatch(new RegExp(`^kubectl -n ${NS} patch deployment/api --type=json -p '\\[.*\\]'$`));
  // The other container's kill is answered by that patch: no cooldown refusal for it, then or later.
  expect(reportSummary(w)).toEqual(['Deployment/api oom-bump/applied/raised']);
  expect(w.events().map((e) => e.reason)).toEqual(['MemoryLimitRaised']);
  const mark = JSON.parse(w.get<V1Deployment>('apps/v1', 'Deployment', 'api').metadata!.annotations!['amadeus.io/last-oom-bump']!) as { containers: Record<string, string> };
  expect(Object.keys(mark.containers).sort()).toEqual(['app', 'proxy']);
  const pods = w.pods({ app: 'api' });
  expect(pods).toHaveLength(2);
  expect(pods.every(ready)).toBe(true);
});

/** The kubectl invocations a command line makes, each its arguments as bash parses them (kubectl a shell function printing them). */
function kubectlCalls(command: string): string[][] {
  const out = execFileSync('bash', ['-c', `kubectl() { printf '%s\\0' "$@"; printf '\\n'; }\n${command}`], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\0').slice(0, -1));
}

test("the undo of a raise of app and sidecar is one command, one JSON patch: applied as given, it puts both containers' limits and requests back in one write", async () => {
  const { a, before } = await killedTogether();
  await w.stop(a);
  expect(containers().map(memory)).toEqual(['356Mi/356Mi', '164Mi/164Mi']);

  // One kubectl call, its patch one quoted word (two `kubectl set resources`, two rollouts, before).
  const calls = kubectlCalls(a.healer.reports.find((r) => r.result === 'applied')!.undo!);
  expect(calls).toHaveLength(1);
  const [args] = calls;
  expect(args!.slice(0, -1)).toEqual(['-n', NS, 'patch', 'deployment/api', '--type=json', '-p']);
  const body = JSON.parse(args!.at(-1)!) as object[];
  // Applied as kubectl sends it (application/json-patch+json), through the client.
  const { apps } = makeClients(w.kube.kubeConfig());
  await apps.patchNamespacedDeployment({ namespace: NS, name: 'api', body }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
  expect(w.patches('deployments/api').map((p) => p.status)).toEqual([200, 200]);
  expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'api').spec!.template).toEqual(before);
});

test('the sidecar at its cap, the app not: the app is raised, the sidecar named as not raised and why — whichever kill is looked at first', async () => {
  w = await healerWorld({ marks: false });
  w.cluster.behave('api:1', 'oom-at:300Mi');
  w.cluster.behave('proxy:1', 'oom-at:500Mi');
  const a = await w.start({ name: 'a' });
  w.kube.put(withProxy('256Mi', '400Mi', { ...HEAL, 'amadeus.io/max-memory': '400Mi' }, 1));
  expect(await w.advance(3600, { until: () => a.healer.reports.some((r) => r.result === 'applied') })).toBe(true);
  await w.advance(600);

  expect(w.patches('deployments/api').map((p) => p.status)).toEqual([200]);
  expect(containers().map(memory)).toEqual(['356Mi/356Mi', '400Mi/400Mi']);
  const applied = a.healer.reports.filter((r) => r.result === 'applied');
  expect(applied.map((r) => r.message)).toEqual(['raised the memory limit of app: 256Mi → 356Mi (request → 356Mi); not raised: memory limit of proxy is at the cap (400Mi, workload)']);
  // The sidecar's own kills are refused as they were: at its cap.
  const refused = a.healer.reports.filter((r) => r.result === 'refused');
  expect(refused.length).toBeGreaterThanOrEqual(1);
  for (const r of refused) expect(r).toMatchObject({ reason: 'max-reached', message: 'memory limit of proxy is at the cap (400Mi, workload)' });
});

test('the sidecar killed after the app was raised, inside that raise’s cooldown: raised then: a container the last raise did not raise, killed at the template\'s limit, is a new fact', async () => {
  w = await healerWorld({ marks: false });
  w.cluster.behave('api:1', 'oom-at:300Mi');
  // 32 KiB a second: 64Mi in about 34 minutes, 164Mi in about 87.
  w.cluster.behave('proxy:1', 'leak:32Ki');
  const a = await w.start({ name: 'a' });
  w.kube.put(withProxy('256Mi', '64Mi', HEAL, 1));
  expect(await w.advance(3600, { until: () => a.healer.reports.some((r) => r.result === 'applied') })).toBe(true);
  const first = a.healer.reports.find((r) => r.result === 'applied')!;
  expect(first.message).toBe('raised the memory limit of app: 256Mi → 356Mi (request → 356Mi)');
  expect(containers().map(memory)).toEqual(['356Mi/356Mi', '64Mi/64Mi']);

  // The proxy leaks to its limit in the app's raised pods, well inside the app's hour of cooldown.
  expect(await w.advance(50 * 60, { until: () => a.healer.reports.filter((r) => r.result !== 'refused' || r.reason === 'cooldown').length >= 2 })).toBe(true);
  const second = a.healer.reports.filter((r) => r !== first);
  expect(second.map((r) => `${r.result} ${r.message}`)).toEqual(['applied raised the memory limit of proxy: 64Mi → 164Mi (request → 164Mi)']);
  expect(containers().map(memory)).toEqual(['356Mi/356Mi', '164Mi/164Mi']);
  expect(w.patches('deployments/api').map((p) => p.status)).toEqual([200, 200]);
});

test("both raised under a LimitRange's Pod max: the second container's cap counts the first one's raise in the same patch, so the pods the patch makes are admitted", async () => {
  w = await healerWorld({ marks: false });
  w.cluster.behave('api:1', 'oom-at:300Mi');
  w.cluster.behave('proxy:1', 'oom-at:100Mi');
  // 256Mi + 64Mi now; each raise alone fits 500Mi (356Mi + 64Mi, 256Mi + 164Mi), both together would not.
  w.kube.put({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'pods', namespace: NS }, spec: { limits: [{ type: 'Pod', max: { memory: '500Mi' } }] } });
  const a = await w.start({ name: 'a' });
  w.kube.put(withProxy('256Mi', '64Mi'));
  expect(await w.advance(3600, { until: () => a.healer.reports.some((r) => r.result === 'applied') })).toBe(true);
  await w.advance(600);

  expect(w.patches('deployments/api').map((p) => p.status)).toEqual([200]);
  const [app, proxy] = containers().map((c) => Number.parseInt(String(c.resources!.limits!.memory), 10));
  expect(app! > 256 && proxy! > 64).toBe(true);
  expect(app! + proxy!).toBeLessThanOrEqual(500);
  const [raised] = a.healer.reports.filter((r) => r.result === 'applied');
  expect(raised).toMatchObject({ reason: 'clamped' });
  expect(raised!.message).toContain('(clamped to the cap: LimitRange pods: max memory per pod 500Mi');
  expect(w.pods({ app: 'api' }).every(ready)).toBe(true);
  // The decision that raised both read the namespace's LimitRanges and ResourceQuotas once (it did per container).
  const decision = a.calls.slice(0, a.calls.indexOf('patchNamespacedDeployment'));
  expect(decision.filter((m) => m === 'listNamespacedLimitRange')).toHaveLength(1);
  expect(decision.filter((m) => m === 'listNamespacedResourceQuota')).toHaveLength(1);
});

test('an OnDelete StatefulSet whose app and sidecar were raised together: a pod that was Ready then and is killed later at the old limit is recreated (its revision differs from the template in both containers\' memory)', async () => {
  w = await healerWorld({ marks: false });
  w.cluster.behaviour(({ pod, container }) => {
    const name = pod.metadata!.name;
    if (name === 'db-0') return container.name === 'app' ? 'oom-at:300Mi' : 'oom-at:100Mi';
    if (name === 'db-1' && container.name === 'app') return 'leak:4Mi';
    return 'healthy';
  });
  const s = statefulSet('db', { namespace: NS, image: 'db:1', replicas: 3, memory: '256Mi', annotations: HEAL, updateStrategy: { type: 'OnDelete' }, podManagementPolicy: 'Parallel' });
  s.spec!.template.spec!.containers.push({ name: 'proxy', image: 'proxy:1', resources: { limits: { memory: '64Mi' }, requests: { memory: '64Mi' } } });
  w.kube.put(s);
  const a = await w.start();
  await w.advance(20 * 60);
  expect(a.healer.reports.filter((r) => r.result === 'applied').map((r) => r.reason)).toEqual(['raised', 'recreated-stuck-pods']);
  expect(w.get<V1StatefulSet>('apps/v1', 'StatefulSet', 'db').spec!.template.spec!.containers.map(memory)).toEqual(['356Mi/356Mi', '164Mi/164Mi']);
  // db-0 recreated by the raise; db-1, killed at the old 256Mi after it, recreated too (left stuck before).
  const deletes = w.kube.requests.filter((q) => q.method === 'DELETE').map((q) => q.path.split('/').pop());
  expect(deletes).toEqual(expect.arrayContaining(['db-0', 'db-1']));
  const db1 = w.pods().find((p) => p.metadata!.name === 'db-1')!;
  expect(db1.spec!.containers.map(memory)).toEqual(['356Mi/356Mi', '164Mi/164Mi']);
});

test("the sidecar's one OOM kill hours ago, never raised (healing was off then), is not raised beside the app's kill now: only a recent kill is taken into another's raise", async () => {
  w = await healerWorld({ marks: false });
  let proxyRuns = 0;
  w.cluster.behaviour(({ container }) => {
    // The proxy is killed once at start, then runs fine; the app leaks to its 256Mi in about 5 hours.
    if (container.name === 'proxy') return proxyRuns++ === 0 ? 'oom-at:100Mi' : 'healthy';
    return 'leak:14Ki';
  });
  const a = await w.start({ name: 'a' });
  w.kube.put(withProxy('256Mi', '64Mi', {}, 1));
  await w.advance(3600);
  expect(w.pods({ app: 'api' })[0]!.status!.containerStatuses!.find((c) => c.name === 'proxy')!.lastState?.terminated?.reason).toBe('OOMKilled');
  // Healing switched on an hour later: the proxy's kill is answered (or not) on its own, as before.
  const d = w.get<V1Deployment>('apps/v1', 'Deployment', 'api');
  w.kube.put({ ...d, metadata: { ...d.metadata, annotations: { ...d.metadata!.annotations, ...HEAL } } });
  expect(await w.advance(6 * 3600, { until: () => a.healer.reports.some((r) => r.result === 'applied' && r.message.includes('app:')) })).toBe(true);
  const raise = a.healer.reports.find((r) => r.result === 'applied' && r.message.includes('app:'))!;
  expect(raise.message).toBe('raised the memory limit of app: 256Mi → 356Mi (request → 356Mi)');
});

const VPA_TYPE = { group: 'autoscaling.k8s.io', version: 'v1', kind: 'VerticalPodAutoscaler', plural: 'verticalpodautoscalers', namespaced: true };
/** A VPA on `api` in Auto mode with these container policies. */
const vpaOnApi = (containerPolicies: object[]) => ({
  apiVersion: 'autoscaling.k8s.io/v1',
  kind: 'VerticalPodAutoscaler',
  metadata: { name: 'api-vpa', namespace: NS },
  spec: { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, updatePolicy: { updateMode: 'Auto' }, resourcePolicy: { containerPolicies } },
});

test("a VPA that sets the app's memory but leaves the sidecar (mode Off): both killed together, the sidecar raised, the app left to the VPA and named", async () => {
  w = await healerWorld({ marks: false, fake: { resources: [VPA_TYPE] } });
  w.cluster.behave('api:1', 'oom-at:300Mi');
  w.cluster.behave('proxy:1', 'oom-at:100Mi');
  w.kube.put(vpaOnApi([{ containerName: 'proxy', mode: 'Off' }, { containerName: '*', controlledResources: ['cpu', 'memory'] }]));
  const a = await w.start({ name: 'a' });
  w.kube.put(withProxy('256Mi', '64Mi'));
  expect(await w.advance(3600, { until: () => a.healer.reports.some((r) => r.result === 'applied') })).toBe(true);
  await w.advance(600);

  expect(w.patches('deployments/api').map((p) => p.status)).toEqual([200]);
  expect(containers().map(memory)).toEqual(['256Mi/256Mi', '164Mi/164Mi']);
  const applied = a.healer.reports.filter((r) => r.result === 'applied');
  expect(applied.map((r) => r.message)).toEqual(['raised the memory limit of proxy: 64Mi → 164Mi (request → 164Mi); not raised: app: a VerticalPodAutoscaler (api-vpa) sets its memory limit']);
  // The app's own kills, before and after: the VPA's, never a budget refusal or a raise.
  for (const r of a.healer.reports.filter((r) => r.result === 'refused')) expect(r).toMatchObject({ reason: 'vpa', message: 'app: a VerticalPodAutoscaler (api-vpa) sets its memory limit' });
});

test('a VPA that sets requests only (controlledValues RequestsOnly), or CPU only: the limits are the healer\'s, both raised in one patch', async () => {
  for (const policy of [{ containerName: '*', controlledValues: 'RequestsOnly' }, { containerName: '*', controlledResources: ['cpu'] }]) {
    w = await healerWorld({ marks: false, fake: { resources: [VPA_TYPE] } });
    w.cluster.behave('api:1', 'oom-at:300Mi');
    w.cluster.behave('proxy:1', 'oom-at:100Mi');
    w.kube.put(vpaOnApi([policy]));
    const a = await w.start({ name: 'a' });
    w.kube.put(withProxy('256Mi', '64Mi'));
    expect(await w.advance(3600, { until: () => a.healer.reports.some((r) => r.result === 'applied') })).toBe(true);
    expect(containers().map(memory)).toEqual(['356Mi/356Mi', '164Mi/164Mi']);
    expect(a.healer.reports.filter((r) => r.reason === 'vpa')).toEqual([]);
    await w.close();
  }
});
