/** FakeKube's in-process verbs and change hook, which the simulated controllers write through. */
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { ApiError, startFakeKube, type FakeKube, type FakeKubeChange } from '../fake-kube.js';
import { ClusterApi } from './api.js';
import type { Pod } from './pods.js';

let kube: FakeKube;
afterEach(async () => {
  await kube.close();
});

const pod = (): V1Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'a:1' }] } });

test('the verbs answer as the HTTP API does (409 on a stale resourceVersion, status subresource) without being recorded or failNext’d', async () => {
  kube = await startFakeKube({ now: () => Date.UTC(2030, 0, 1) });
  const changes: FakeKubeChange[] = [];
  const off = kube.onChange((c) => changes.push(c));
  kube.failNext({}, 500, 10);
  const created = kube.api.create(pod());
  expect(created.metadata!.creationTimestamp).toBe('2030-01-01T00:00:00Z'); // the server's clock option
  expect((created as V1Pod).status).toEqual({ phase: 'Pending' });

  // The status subresource changes status only; the main resource keeps it.
  const withStatus = kube.api.update({ ...created, spec: { containers: [] }, status: { phase: 'Running' } } as V1Pod, { status: true });
  expect(withStatus.status).toEqual({ phase: 'Running' });
  expect(withStatus.spec!.containers).toHaveLength(1);

  let err: unknown;
  try {
    kube.api.update(created); // the version before the status write
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ApiError);
  expect((err as ApiError).code).toBe(409);

  const patched = kube.api.patch<V1Pod>('v1', 'Pod', 'default', 'p', 'application/merge-patch+json', { metadata: { labels: { a: 'b' } } });
  expect(patched.metadata!.labels).toEqual({ a: 'b' });
  kube.api.delete('v1', 'Pod', 'default', 'p', { uid: created.metadata!.uid });
  off();
  expect(changes.map((c) => `${c.type} ${c.kind} ${c.apiVersion}`)).toEqual(['ADDED Pod v1', 'MODIFIED Pod v1', 'MODIFIED Pod v1', 'DELETED Pod v1']);
  expect(kube.requests).toEqual([]);
  // The injected failures are still waiting for a client.
  const core = kube.kubeConfig().makeApiClient(CoreV1Api);
  await expect(core.listNamespacedPod({ namespace: 'default' })).rejects.toMatchObject({ code: 500 });
});

test('ClusterApi counts writes, not no-ops, and turns lost races into a retry', async () => {
  kube = await startFakeKube();
  const api = new ClusterApi(kube);
  const created = api.create(pod() as Pod)!;
  expect(api.writes).toBe(1);
  api.update(created); // unchanged: the server writes nothing
  expect(api.writes).toBe(1);
  kube.put({ ...pod(), metadata: { ...pod().metadata, labels: { other: 'writer' } } });
  expect(api.update({ ...created, metadata: { ...created.metadata, labels: { mine: 'x' } } })).toBeUndefined();
  expect(api).toMatchObject({ writes: 2, conflicts: 1 });
  expect(api.delete(created)).toBe(true);
  expect(api.delete(created)).toBe(false); // gone: 404
  expect(api.conflicts).toBe(2);
});
