/**
 * Multi-step scenarios of evidence that is stale by the time the healer acts on it: failures of
 * pods that run a revision the workload no longer wants. On the simulated cluster (real
 * controllers, the kubelet stand-in, the real Healer over HTTP), each asserts the end state of the
 * workload and its pods, and that nothing was done twice for one failure.
 */
import type { V1Container, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { deployment } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS, replicaSetRunning, replicaSetsOf, reportSummary, podReady as ready } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const memory = (c: V1Container | undefined) => `${c?.resources?.limits?.memory}/${c?.resources?.requests?.memory}`;

describe('an OOM kill in the revision a rollback moved away from', () => {
  test('web:2 crash-loops in 3 of 4 pods and its fourth, still serving, is OOM-killed while the rollback rolls out → the rollback only; web:1’s known-good template is not raised', async () => {
    w = await healerWorld();
    // web:1: Ready a minute after it starts. web:2: its first pod serves but leaks (OOM-killed at
    // its 256Mi limit about 29 s in), every other one crashes at start.
    const web2: string[] = [];
    w.cluster.behaviour(({ pod, container }) => {
      if (container.image === 'web:1') return 'healthy:60';
      if (container.image !== 'web:2') return undefined;
      if (!web2.includes(pod.metadata!.uid!)) web2.push(pod.metadata!.uid!);
      return web2.indexOf(pod.metadata!.uid!) === 0 ? 'leak:9Mi' : { run: 'crash', log: 'starting web:2\nfatal: unknown flag --turbo\n' };
    });
    // maxUnavailable 3 of 4: the rollout keeps one serving pod, so after the rollback the serving
    // web:2 pod stays until web:1's pods are available again (unhealthy old pods go first).
    const strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 3 } };
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 4, memory: '256Mi', annotations: HEAL, strategy }));
    const a = await w.start();
    await w.advance(12 * 60);
    const good = replicaSetRunning(w, 'web', 'web:1')!;
    expect(good.metadata!.annotations!['amadeus.io/known-good']).toBe('true');

    // OOM kills of web:2's pods the kubelet reports, from now on.
    const kills: string[] = [];
    w.kube.onChange((c) => {
      if (c.kind !== 'Pod' || c.type === 'DELETED') return;
      const pod = c.object as V1Pod;
      const s = pod.status?.containerStatuses?.find((x) => x.lastState?.terminated?.reason === 'OOMKilled' || x.state?.terminated?.reason === 'OOMKilled');
      if (s && pod.spec!.containers[0]!.image === 'web:2' && !kills.includes(pod.metadata!.uid!)) kills.push(pod.metadata!.uid!);
    });

    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    expect(await w.advance(10 * 60, { until: () => a.healer.reports.some((r) => r.result === 'applied') })).toBe(true);
    expect(reportSummary(w).filter((s) => !s.endsWith('/too-few-failing'))).toEqual(['Deployment/web rollback/applied/rolled-back']);
    // The serving web:2 pod is still there while web:1's pods start.
    await w.advance(60 * 60);

    // It was OOM-killed after the rollback: evidence about web:2, which the workload no longer runs.
    expect(kills).toHaveLength(1);
    expect(reportSummary(w).filter((s) => !s.endsWith('/too-few-failing'))).toEqual(['Deployment/web rollback/applied/rolled-back']);
    // One patch (the rollback); web:1's template as it was known-good, its ReplicaSet the one serving.
    expect(w.patches('deployments/web').map((p) => p.status)).toEqual([200]);
    const d = w.get<V1Deployment>('apps/v1', 'Deployment', 'web');
    expect(d.spec!.template.spec!.containers[0]!.image).toBe('web:1');
    expect(memory(d.spec!.template.spec!.containers[0])).toBe('256Mi/256Mi');
    expect(replicaSetsOf(w, 'web')).toHaveLength(2);
    const pods = w.pods({ app: 'web' });
    expect(pods.map((p) => `${p.spec!.containers[0]!.image} ${memory(p.spec!.containers[0])} ${ready(p)}`)).toEqual(Array(4).fill('web:1 256Mi/256Mi true'));
    expect(pods.every((p) => p.metadata!.ownerReferences![0]!.uid === good.metadata!.uid)).toBe(true);
    // Said why, for each of its kills (each a new one).
    const said = a.lines.filter((l) => l.msg.startsWith('OOM kill in a revision this workload was rolled back from'));
    expect(said.length).toBeGreaterThanOrEqual(1);
    for (const l of said) expect(l).toMatchObject({ level: 'info', workload: 'Deployment/web', container: 'app', revision: replicaSetRunning(w, 'web', 'web:2')!.metadata!.name });
  });
});
