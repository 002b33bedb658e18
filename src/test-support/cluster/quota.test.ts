/** The ResourceQuota controller: status.hard from the spec, status.used from the namespace's pods, as they come and go. */
import type { V1Container, V1Pod, V1ResourceQuota } from '@kubernetes/client-node';
import { startCluster, type Cluster } from './index.js';
import { configMap, deployment } from './objects.js';

let cluster: Cluster;

beforeEach(async () => {
  cluster = await startCluster();
});

afterEach(async () => {
  await cluster.close();
});

const status = (namespace = 'default') => cluster.kube.get<V1ResourceQuota>('v1', 'ResourceQuota', namespace, 'q')!.status;
const quota = (hard: Record<string, string>, namespace = 'default', extra: V1ResourceQuota['spec'] = {}) =>
  cluster.kube.put<V1ResourceQuota>({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q', namespace }, spec: { hard, ...extra } });

test("usage of the namespace's non-terminal pods, kept up to date; untracked resources left as they are", async () => {
  quota({ 'limits.memory': '4Gi', 'requests.memory': '4Gi', memory: '4Gi', pods: '10', 'count/pods': '10', 'limits.cpu': '4' });
  await cluster.settle();
  expect(status()).toEqual({
    hard: { 'limits.memory': '4Gi', 'requests.memory': '4Gi', memory: '4Gi', pods: '10', 'count/pods': '10', 'limits.cpu': '4' },
    used: { 'limits.memory': '0', 'requests.memory': '0', memory: '0', pods: '0', 'count/pods': '0' },
  });
  // Two pods of 256Mi (request = limit) and a sidecar with a limit only (its request is its limit); one pod elsewhere.
  const web = deployment('web', { replicas: 2, memory: '256Mi' });
  web.spec!.template.spec!.containers.push({ name: 'proxy', image: 'proxy:1', resources: { limits: { memory: '64Mi' }, requests: { memory: '32Mi' } } });
  cluster.kube.put(web);
  cluster.kube.put(deployment('other', { namespace: 'elsewhere', memory: '1Gi' }));
  await cluster.settle();
  expect(status()!.used).toEqual({ 'limits.memory': '640Mi', 'requests.memory': '576Mi', memory: '576Mi', pods: '2', 'count/pods': '2' });

  cluster.kube.put({ ...cluster.kube.get<typeof web>('apps/v1', 'Deployment', 'default', 'web')!, spec: { ...web.spec!, replicas: 1 } });
  await cluster.settle();
  expect(status()!.used).toMatchObject({ 'limits.memory': '320Mi', pods: '1' });
});

test('a pod that finished (Failed or Succeeded) counts no more; a scoped quota is left alone', async () => {
  quota({ 'limits.memory': '1Gi', pods: '4' });
  quota({ 'limits.memory': '1Gi' }, 'scoped', { scopes: ['NotTerminating'] });
  cluster.behave('job:1', { run: 'crash', exitCode: 1 });
  for (const namespace of ['default', 'scoped']) {
    cluster.kube.put<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'once', namespace },
      spec: { restartPolicy: 'Never', containers: [{ name: 'job', image: 'job:1', resources: { limits: { memory: '128Mi' } } }] },
    });
  }
  cluster.kube.put(configMap('unrelated', { a: '1' }));
  await cluster.settle();
  expect(cluster.kube.get<V1Pod>('v1', 'Pod', 'default', 'once')!.status!.phase).toBe('Failed');
  expect(status()!.used).toEqual({ 'limits.memory': '0', pods: '0' });
  expect(status('scoped')).toBeUndefined();
});

test('init containers count as the API server sums a pod: sidecars (restartPolicy Always) with the containers, a regular one only when it alone (with the sidecars before it) is larger', async () => {
  quota({ 'limits.memory': '4Gi', pods: '10' });
  const pod = (name: string, initContainers: V1Container[]) =>
    cluster.kube.put<V1Pod>({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: { containers: [{ name: 'app', image: 'app:1', resources: { limits: { memory: '256Mi' } } }], initContainers },
    });
  const mem = (mi: number) => ({ limits: { memory: `${mi}Mi` } });
  // 256 + 128 (sidecar) = 384; the 300Mi init container runs with no sidecar before it.
  pod('sidecar', [{ name: 'migrate', image: 'm:1', resources: mem(300) }, { name: 'proxy', image: 'p:1', restartPolicy: 'Always', resources: mem(128) }]);
  await cluster.settle();
  expect(status()!.used).toMatchObject({ 'limits.memory': '384Mi' });
  // The 300Mi init container after the 128Mi sidecar: 428Mi while it runs, more than 384Mi.
  pod('late', [{ name: 'proxy', image: 'p:1', restartPolicy: 'Always', resources: mem(128) }, { name: 'migrate', image: 'm:1', resources: mem(300) }]);
  await cluster.settle();
  expect(status()!.used).toMatchObject({ 'limits.memory': '812Mi' });
});
