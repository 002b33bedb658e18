/**
 * The fake API server through the real @kubernetes/client-node: typed APIs, patches, optimistic
 * concurrency, injected failures, pod logs, raw watches, and informers across dropped watches
 * and compaction.
 */
import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type Informer,
  type KubeConfig,
  type V1Deployment,
  type V1Pod,
} from '@kubernetes/client-node';
import { waitFor } from './fakes.js';
import { startFakeKube, type FakeKube } from './fake-kube.js';

const NS = 'default';

function deployment(name: string, labels: Record<string, string> = { app: name }): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS, labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            { name: 'app', image: 'app:1', resources: { limits: { cpu: '500m', memory: '128Mi' } } },
            { name: 'sidecar', image: 'proxy:1', resources: { limits: { memory: '64Mi' } } },
          ],
        },
      },
    },
  };
}

function pod(name: string, labels: Record<string, string> = {}, namespace = NS): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: { containers: [{ name: 'app', image: 'app:1' }] },
  };
}

/** The ApiException a promise rejects with, its Status body parsed. */
async function apiError(p: Promise<unknown>): Promise<{ code: number; status: { reason: string; message: string; code: number } }> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    return { code: err.code, status: JSON.parse(err.body as string) };
  }
  throw new Error('expected the request to fail');
}

const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

let fake: FakeKube;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;

beforeEach(async () => {
  fake = await startFakeKube();
  kc = fake.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
});

afterEach(async () => {
  await fake.close();
});

describe('typed API round trips', () => {
  it('creates, reads, replaces, lists and deletes a Deployment', async () => {
    const created = await apps.createNamespacedDeployment({ namespace: NS, body: deployment('web') });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.resourceVersion).toBe(fake.resourceVersion);
    expect(created.metadata?.generation).toBe(1);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(fake.requests.at(-1)).toMatchObject({ method: 'POST', path: '/apis/apps/v1/namespaces/default/deployments', status: 201 });
    expect((await apiError(apps.createNamespacedDeployment({ namespace: NS, body: deployment('web') }))).status).toMatchObject({
      reason: 'AlreadyExists',
      code: 409,
    });

    const read = await apps.readNamespacedDeployment({ name: 'web', namespace: NS });
    read.spec!.replicas = 5;
    const replaced = await apps.replaceNamespacedDeployment({ name: 'web', namespace: NS, body: read });
    expect(replaced.spec?.replicas).toBe(5);
    expect(replaced.metadata?.generation).toBe(2); // spec changed
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(Number(read.metadata?.resourceVersion));
    expect(replaced.metadata?.uid).toBe(created.metadata?.uid);

    const list = await apps.listNamespacedDeployment({ namespace: NS });
    expect(list.items.map((d) => d.metadata?.name)).toEqual(['web']);
    expect(list.metadata?.resourceVersion).toBe(fake.resourceVersion);
    expect((await apps.listDeploymentForAllNamespaces()).items).toHaveLength(1);

    const status = await apps.deleteNamespacedDeployment({ name: 'web', namespace: NS });
    expect(status.status).toBe('Success');
    expect(fake.get('apps/v1', 'Deployment', NS, 'web')).toBeUndefined();
    expect((await apiError(apps.readNamespacedDeployment({ name: 'web', namespace: NS }))).code).toBe(404);
  });

  it('answers a missing object with 404 and a NotFound Status', async () => {
    const err = await apiError(core.readNamespacedPod({ name: 'nope', namespace: NS }));
    expect(err.code).toBe(404);
    expect(err.status).toMatchObject({ reason: 'NotFound', message: 'pods "nope" not found', code: 404 });
    const apps404 = await apiError(apps.readNamespacedReplicaSet({ name: 'nope', namespace: NS }));
    expect(apps404.status.message).toBe('replicasets.apps "nope" not found');
  });

  it('keeps the status a controller wrote when a client writes the main resource', async () => {
    const stored = fake.put({ ...deployment('web'), status: { replicas: 2, readyReplicas: 2, observedGeneration: 1 } });
    const body = { ...stored, status: { readyReplicas: 0 } } as V1Deployment;
    const replaced = await apps.replaceNamespacedDeployment({ name: 'web', namespace: NS, body });
    expect(replaced.status).toEqual({ replicas: 2, readyReplicas: 2, observedGeneration: 1 });
    // Nothing but the ignored status changed: the server makes it a no-op, no new resourceVersion.
    expect(replaced.metadata?.resourceVersion).toBe(stored.metadata?.resourceVersion);
  });

  it('lists with label and field selectors, in one namespace and across all', async () => {
    fake.put(pod('web-1', { app: 'web', tier: 'front' }));
    fake.put(pod('web-2', { app: 'web' }));
    fake.put(pod('db-1', { app: 'db', tier: 'back' }));
    fake.put(pod('web-3', { app: 'web' }, 'other'));
    const names = async (labelSelector?: string, fieldSelector?: string) =>
      (await core.listNamespacedPod({ namespace: NS, labelSelector, fieldSelector })).items.map((p) => p.metadata?.name);

    expect(await names()).toEqual(['db-1', 'web-1', 'web-2']);
    expect(await names('app=web')).toEqual(['web-1', 'web-2']);
    expect(await names('app==web,tier=front')).toEqual(['web-1']);
    expect(await names('app!=web')).toEqual(['db-1']);
    expect(await names('tier')).toEqual(['db-1', 'web-1']);
    expect(await names('!tier')).toEqual(['web-2']);
    expect(await names('app in (web,db),tier notin (front)')).toEqual(['db-1', 'web-2']);
    expect(await names(undefined, 'metadata.name=web-2')).toEqual(['web-2']);
    expect(await names('app=web', 'metadata.name!=web-1')).toEqual(['web-2']);
    const all = await core.listPodForAllNamespaces({ labelSelector: 'app=web' });
    expect(all.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`)).toEqual(['default/web-1', 'default/web-2', 'other/web-3']);
    expect(all.metadata?.resourceVersion).toBe(fake.resourceVersion);
    expect(fake.requests.at(-1)).toMatchObject({ path: '/api/v1/pods', query: { labelSelector: 'app=web' } });
    expect((await apiError(core.listNamespacedPod({ namespace: NS, labelSelector: 'app=(' }))).code).toBe(400);
  });

  it('serves cluster-scoped namespaces', async () => {
    const created = await core.createNamespace({ body: { metadata: { name: 'team-a', labels: { team: 'a' } } } });
    expect(created.status?.phase).toBe('Active');
    expect(created.metadata?.namespace).toBeUndefined();
    expect((await core.readNamespace({ name: 'team-a' })).metadata?.uid).toBe(created.metadata?.uid);
    expect((await core.listNamespace({ labelSelector: 'team=a' })).items.map((n) => n.metadata?.name)).toEqual(['team-a']);
    expect(fake.requests.at(-1)?.path).toBe('/api/v1/namespaces');
  });

  it('pages a list with limit and continue', async () => {
    for (const n of ['a', 'b', 'c']) fake.put(pod(n));
    const first = await core.listNamespacedPod({ namespace: NS, limit: 2 });
    expect(first.items.map((p) => p.metadata?.name)).toEqual(['a', 'b']);
    expect(first.metadata?.remainingItemCount).toBe(1);
    const rest = await core.listNamespacedPod({ namespace: NS, limit: 2, _continue: first.metadata?._continue });
    expect(rest.items.map((p) => p.metadata?.name)).toEqual(['c']);
    expect(rest.metadata?._continue).toBeUndefined();
  });

  it('serves discovery for the generic KubernetesObjectApi', async () => {
    fake.put(deployment('web'));
    const client = KubernetesObjectApi.makeApiClient(kc);
    const read = await client.read<V1Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: NS } });
    expect(read.spec?.replicas).toBe(2);
    expect(fake.requests.map((r) => r.path)).toEqual(['/apis/apps/v1', '/apis/apps/v1/namespaces/default/deployments/web']);
  });

  it('rejects a request without the bearer token with 401', async () => {
    const res = await fetch(`${fake.url}/api/v1/pods`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
  });
});

describe('watch bookmarks and stalls', () => {
  /** A raw pod watch; resolves its lines as they come. */
  async function rawWatch(query: string): Promise<{ lines: string[]; stop: () => void }> {
    const controller = new AbortController();
    const res = await fetch(`${fake.url}/api/v1/namespaces/${NS}/pods?watch=true&${query}`, { headers: { Authorization: 'Bearer fake-token' }, signal: controller.signal });
    const lines: string[] = [];
    void (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) lines.push(...decoder.decode(chunk).split('\n').filter(Boolean));
      } catch {
        // aborted
      }
    })();
    return { lines, stop: () => controller.abort() };
  }

  it('sends a BOOKMARK only to watches that asked; a stalled watch stays open and sends nothing more', async () => {
    const asked = await rawWatch('allowWatchBookmarks=true&resourceVersion=1');
    const plain = await rawWatch('resourceVersion=1');
    await waitFor(() => fake.activeWatches() === 2, 5000, 'two watches');
    fake.bookmarkWatches();
    await waitFor(() => asked.lines.length === 1, 5000, 'the bookmark');
    expect(JSON.parse(asked.lines[0]!)).toEqual({ type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: fake.resourceVersion } } });
    fake.stallWatches();
    fake.put(pod('a'));
    fake.bookmarkWatches();
    await new Promise((r) => setTimeout(r, 50));
    expect([asked.lines.length, plain.lines.length, fake.activeWatches()]).toEqual([1, 0, 2]);
    asked.stop();
    plain.stop();
  });
});

describe('patches', () => {
  it('strategic merge patch changes one container and keeps the others; merge patch replaces the list', async () => {
    fake.put(deployment('web'));
    const limits = (d: V1Deployment) => d.spec?.template.spec?.containers.map((c) => [c.name, c.image, c.resources?.limits]);
    const body = { spec: { template: { spec: { containers: [{ name: 'app', resources: { limits: { memory: '256Mi' } } }] } } } };

    const patched = await apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body }, smp);
    expect(fake.requests.at(-1)?.contentType).toBe('application/strategic-merge-patch+json');
    expect(limits(patched)).toEqual([
      ['app', 'app:1', { cpu: '500m', memory: '256Mi' }],
      ['sidecar', 'proxy:1', { memory: '64Mi' }],
    ]);
    expect(patched.metadata?.generation).toBe(2);

    // The same body as an RFC 7386 merge patch replaces the whole containers list.
    const merged = await apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body }, mergePatch);
    expect(limits(merged)).toEqual([['app', undefined, { memory: '256Mi' }]]);
  });

  it('strategic merge patch deletes a keyed element with $patch: delete', async () => {
    fake.put(deployment('web'));
    const body = { spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } } } };
    const patched = await apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body }, smp);
    expect(patched.spec?.template.spec?.containers.map((c) => c.name)).toEqual(['app']);
  });

  it('JSON patch (client-node’s default patch type) is atomic: a failing test op → 422, nothing changed', async () => {
    const before = fake.put(deployment('web'));
    const err = await apiError(
      apps.patchNamespacedDeployment({
        name: 'web',
        namespace: NS,
        body: [
          { op: 'replace', path: '/spec/replicas', value: 10 },
          { op: 'test', path: '/spec/replicas', value: 2 },
        ],
      }),
    );
    expect(fake.requests.at(-1)?.contentType).toBe('application/json-patch+json');
    expect(err.code).toBe(422);
    expect(err.status.reason).toBe('Invalid');
    // As kube-apiserver's patch handler words it: the json-patch library's text is not sent back,
    // so a client cannot tell a failed `test` from the message (issue 19, defect 5).
    expect(err.status.message).toBe('the server rejected our request due to an error in our request');
    expect(fake.get('apps/v1', 'Deployment', NS, 'web')).toEqual(before);

    const ok = await apps.patchNamespacedDeployment({
      name: 'web',
      namespace: NS,
      body: [
        { op: 'test', path: '/spec/replicas', value: 2 },
        { op: 'replace', path: '/spec/replicas', value: 3 },
      ],
    });
    expect(ok.spec?.replicas).toBe(3);
  });

  it('a patch carrying a stale metadata.resourceVersion gets 409 Conflict', async () => {
    const v1 = fake.put(deployment('web'));
    fake.put({ ...v1, spec: { ...v1.spec!, replicas: 4 } }); // a controller wrote in between
    const body = { metadata: { resourceVersion: v1.metadata?.resourceVersion }, spec: { replicas: 7 } };
    const err = await apiError(apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body }, mergePatch));
    expect(err.code).toBe(409);
    expect(err.status).toMatchObject({ reason: 'Conflict' });
    expect(err.status.message).toContain('the object has been modified');
    expect(fake.get<V1Deployment>('apps/v1', 'Deployment', NS, 'web')?.spec?.replicas).toBe(4);
    // With the current resourceVersion it goes through.
    body.metadata.resourceVersion = fake.get<V1Deployment>('apps/v1', 'Deployment', NS, 'web')?.metadata?.resourceVersion;
    expect((await apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body }, mergePatch)).spec?.replicas).toBe(7);
  });
});

describe('generation', () => {
  const annotations = async (name: string) => (await apps.readNamespacedDeployment({ name, namespace: NS })).metadata?.annotations;
  const generation = (kind: string, name: string) => fake.get<V1Deployment>('apps/v1', kind, NS, name)?.metadata?.generation;

  it('a Deployment’s annotation change bumps it through every write of the main resource, as kube-apiserver’s deployment strategy does; not a /status write', async () => {
    fake.put(deployment('web'));
    const read = await apps.readNamespacedDeployment({ name: 'web', namespace: NS });
    read.metadata!.annotations = { 'example.com/a': '1' };
    expect((await apps.replaceNamespacedDeployment({ name: 'web', namespace: NS, body: read })).metadata?.generation).toBe(2);
    const body = { metadata: { annotations: { 'example.com/a': '2' } } };
    expect((await apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body }, mergePatch)).metadata?.generation).toBe(3);
    expect((await apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body: { metadata: { annotations: { 'example.com/b': 'x' } } } }, smp)).metadata?.generation).toBe(4);
    // The same annotations again change nothing.
    expect((await apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body }, mergePatch)).metadata?.generation).toBe(4);
    const jsonPatch = [
      { op: 'test', path: '/metadata/generation', value: 4 },
      { op: 'remove', path: '/metadata/annotations/example.com~1b' },
    ];
    expect((await apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body: jsonPatch })).metadata?.generation).toBe(5);
    // A patch planned on generation 4 no longer applies.
    expect((await apiError(apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body: jsonPatch }))).code).toBe(422);
    // Emptied annotations equal none (Semantic.DeepEqual).
    fake.put({ ...fake.get<V1Deployment>('apps/v1', 'Deployment', NS, 'web')!, metadata: { ...fake.get<V1Deployment>('apps/v1', 'Deployment', NS, 'web')!.metadata, annotations: {} } });
    expect(generation('Deployment', 'web')).toBe(6);
    const cleared = fake.get<V1Deployment>('apps/v1', 'Deployment', NS, 'web')!;
    delete cleared.metadata!.annotations;
    fake.put(cleared);
    expect(generation('Deployment', 'web')).toBe(6);

    // The status subresource takes annotations (the controller's revision annotation) without a bump.
    const current = await apps.readNamespacedDeployment({ name: 'web', namespace: NS });
    current.metadata!.annotations = { 'deployment.kubernetes.io/revision': '1' };
    current.status = { observedGeneration: 6 };
    const written = await apps.replaceNamespacedDeploymentStatus({ name: 'web', namespace: NS, body: current });
    expect([written.metadata?.generation, written.status?.observedGeneration]).toEqual([6, 6]);
    expect(await annotations('web')).toEqual({ 'deployment.kubernetes.io/revision': '1' });
  });

  it('a StatefulSet’s, ReplicaSet’s or DaemonSet’s annotation change does not bump it; spec changes do', async () => {
    for (const kind of ['StatefulSet', 'ReplicaSet', 'DaemonSet']) {
      const { spec } = deployment('x');
      const stored = fake.put({ apiVersion: 'apps/v1', kind, metadata: { name: 'x', namespace: NS }, spec: { selector: spec!.selector, template: spec!.template } });
      fake.put({ ...stored, metadata: { ...stored.metadata, annotations: { 'example.com/a': '1' } } });
      expect(generation(kind, 'x')).toBe(1);
      const obj = fake.get<V1Deployment>('apps/v1', kind, NS, 'x')!;
      obj.spec!.minReadySeconds = 5;
      fake.put(obj);
      expect(generation(kind, 'x')).toBe(2);
    }
  });
});

describe('injected failures', () => {
  it('failNext(500) fails the next matching request once, then serves normally', async () => {
    fake.put(deployment('web'));
    fake.failNext({ method: 'GET', path: '/apis/apps/v1/namespaces/default/deployments/web' }, 500);
    const err = await apiError(apps.readNamespacedDeployment({ name: 'web', namespace: NS }));
    expect(err.code).toBe(500);
    expect(err.status).toMatchObject({ reason: 'InternalError', code: 500 });
    expect((await apps.readNamespacedDeployment({ name: 'web', namespace: NS })).metadata?.name).toBe('web');
  });

  it('failNext matches by method and path pattern, for a number of times', async () => {
    fake.put(pod('p'));
    fake.failNext({ method: 'patch', path: /\/pods\// }, 409, 2);
    const patch = () => core.patchNamespacedPod({ name: 'p', namespace: NS, body: { metadata: { labels: { a: 'b' } } } }, smp);
    expect((await apiError(core.readNamespacedPod({ name: 'nope', namespace: NS }))).code).toBe(404); // GET: not matched
    expect((await apiError(patch())).code).toBe(409);
    expect((await apiError(patch())).code).toBe(409);
    expect((await patch()).metadata?.labels).toEqual({ a: 'b' });
  });

  it('beforeNext runs a write between a client\'s read and its patch: the patch sees it', async () => {
    const v1 = fake.put(deployment('web'));
    fake.beforeNext({ method: 'PATCH', path: /\/deployments\/web$/ }, () => fake.put({ ...v1, spec: { ...v1.spec!, replicas: 5 } }));
    const body = [{ op: 'test', path: '/metadata/resourceVersion', value: v1.metadata!.resourceVersion }, { op: 'replace', path: '/spec/replicas', value: 9 }];
    expect((await apiError(apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body }))).code).toBe(422);
    expect(fake.get<V1Deployment>('apps/v1', 'Deployment', NS, 'web')!.spec!.replicas).toBe(5);
    // Once only.
    body[0]!.value = fake.get<V1Deployment>('apps/v1', 'Deployment', NS, 'web')!.metadata!.resourceVersion;
    expect((await apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body })).spec?.replicas).toBe(9);
  });

  it('beforeNext runs before a failNext answer too: another client\'s write lands, then the conflict; the retry applies over it', async () => {
    const v1 = fake.put(deployment('web'));
    const path = /\/deployments\/web$/;
    fake.beforeNext({ method: 'PATCH', path }, () => void fake.put({ ...v1, metadata: { ...v1.metadata, annotations: { owner: 'team-a' } } }));
    fake.failNext({ method: 'PATCH', path }, 409);
    const patch = () => apps.patchNamespacedDeployment({ name: 'web', namespace: NS, body: { metadata: { annotations: { mark: 'x' } } } }, mergePatch);
    expect((await apiError(patch())).code).toBe(409);
    expect(fake.get<V1Deployment>('apps/v1', 'Deployment', NS, 'web')!.metadata!.annotations).toEqual({ owner: 'team-a' }); // the write, not the refused patch
    expect((await patch()).metadata?.annotations).toEqual({ owner: 'team-a', mark: 'x' });
    expect(fake.requests.filter((q) => q.method === 'PATCH').map((q) => q.status)).toEqual([409, 200]);
  });
});

describe('leases', () => {
  it('updates with the current resourceVersion and rejects a conflicting one', async () => {
    const coord = kc.makeApiClient(CoordinationV1Api);
    const created = await coord.createNamespacedLease({
      namespace: NS,
      body: { metadata: { name: 'healer' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } },
    });
    expect(created.metadata?.namespace).toBe(NS);
    const renewed = await coord.replaceNamespacedLease({
      name: 'healer',
      namespace: NS,
      body: { ...created, spec: { ...created.spec, holderIdentity: 'a', renewTime: new Date() } },
    });
    expect(renewed.metadata?.resourceVersion).not.toBe(created.metadata?.resourceVersion);
    // A second candidate still holding the first version loses the race.
    const stale = { ...created, spec: { ...created.spec, holderIdentity: 'b' } };
    const err = await apiError(coord.replaceNamespacedLease({ name: 'healer', namespace: NS, body: stale }));
    expect(err.code).toBe(409);
    expect(err.status.message).toBe(
      'Operation cannot be fulfilled on leases.coordination.k8s.io "healer": the object has been modified; please apply your changes to the latest version and try again',
    );
    expect((await coord.readNamespacedLease({ name: 'healer', namespace: NS })).spec?.holderIdentity).toBe('a');
  });
});

describe('ResourceQuota admission (pods, memory)', () => {
  const memPod = (name: string, limit: string, request?: string): V1Pod => ({
    ...pod(name),
    spec: { containers: [{ name: 'app', image: 'app:1', resources: { limits: { memory: limit }, ...(request ? { requests: { memory: request } } : {}) } }] },
  });
  const quota = (status: { hard?: Record<string, string>; used?: Record<string, string> }, spec: Record<string, unknown> = {}) =>
    fake.put({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'mem', namespace: NS }, spec: { hard: { 'limits.memory': '1Gi', pods: '4' }, ...spec }, status });
  const used = () => fake.get<{ status: { used: Record<string, string> } }>('v1', 'ResourceQuota', NS, 'mem')!.status.used;

  it('admits a pod that fits and charges it to status.used; refuses one that does not with 403 and the API server\'s message', async () => {
    quota({ hard: { 'limits.memory': '1Gi', 'requests.memory': '1Gi', pods: '4' }, used: { 'limits.memory': '768Mi', 'requests.memory': '512Mi', pods: '3' } });
    expect((await core.listNamespacedResourceQuota({ namespace: NS })).items.map((q) => q.metadata?.name)).toEqual(['mem']);
    // No request set: its request is its limit.
    await core.createNamespacedPod({ namespace: NS, body: memPod('a', '128Mi') });
    expect(used()).toEqual({ 'limits.memory': '896Mi', 'requests.memory': '640Mi', pods: '4' });

    const refused = await apiError(core.createNamespacedPod({ namespace: NS, body: memPod('b', '256Mi', '64Mi') }));
    expect(refused.code).toBe(403);
    expect(refused.status).toMatchObject({
      reason: 'Forbidden',
      code: 403,
      message: 'pods "b" is forbidden: exceeded quota: mem, requested: limits.memory=256Mi,pods=1, used: limits.memory=896Mi,pods=4, limited: limits.memory=1Gi,pods=4',
      details: { name: 'b', kind: 'pods' },
    });
    expect(fake.get('v1', 'Pod', NS, 'b')).toBeUndefined();
    expect(used()).toEqual({ 'limits.memory': '896Mi', 'requests.memory': '640Mi', pods: '4' });
  });

  it('a generated name is in the message; a quota the controller has not computed yet refuses what it bounds', async () => {
    quota({ hard: { 'limits.memory': '1Gi', pods: '4' }, used: { pods: '0' } });
    const body = memPod('', '128Mi');
    body.metadata = { generateName: 'web-', namespace: NS };
    const refused = await apiError(core.createNamespacedPod({ namespace: NS, body }));
    expect(refused.status.message).toMatch(/^pods "web-[bcdfghjklmnpqrstvwxz2456789]{5}" is forbidden: status unknown for quota: mem, resources: limits.memory,pods$/);
  });

  it('not enforced: a quota without status.hard (not synced yet), a scoped quota, resources it does not track; put() is not admitted', async () => {
    quota({});
    await core.createNamespacedPod({ namespace: NS, body: memPod('a', '2Gi') });
    quota({ hard: { 'limits.memory': '1Gi' }, used: { 'limits.memory': '1Gi' } }, { scopes: ['NotTerminating'] });
    await core.createNamespacedPod({ namespace: NS, body: memPod('b', '2Gi') });
    quota({ hard: { 'limits.cpu': '1' }, used: {} });
    await core.createNamespacedPod({ namespace: NS, body: memPod('c', '2Gi') });
    quota({ hard: { 'limits.memory': '1Gi' }, used: { 'limits.memory': '1Gi' } });
    fake.put(memPod('d', '2Gi'));
    expect(fake.list('v1', 'Pod', NS)).toHaveLength(4);
  });
});

describe('validation of pod-level resources (validatePodResourceConsistency)', () => {
  const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  /** Deployment web (app: 400Mi limit and request) with pod-level `resources`, put as the tests' own writes are. */
  const withPodLevel = (resources: Record<string, Record<string, string>>) => {
    const d = deployment('web');
    d.spec!.template.spec!.containers = [{ name: 'app', image: 'app:1', resources: { limits: { memory: '400Mi' }, requests: { memory: '400Mi' } } }];
    d.spec!.template.spec!.resources = resources;
    return fake.put(d);
  };
  const raise = (memory: string) => [
    { op: 'replace', path: '/spec/template/spec/containers/0/resources/limits/memory', value: memory },
    { op: 'replace', path: '/spec/template/spec/containers/0/resources/requests/memory', value: memory },
  ];

  it('a raise of a container past the pod-level limit is 422 Invalid, worded as kube-apiserver words it; nothing written', async () => {
    withPodLevel({ limits: { memory: '512Mi' } });
    const before = fake.get<V1Deployment>('apps/v1', 'Deployment', NS, 'web')!;
    const refused = await apiError(apps.patchNamespacedDeployment({ namespace: NS, name: 'web', body: raise('600Mi') }, jsonPatch));
    expect(refused.code).toBe(422);
    expect(refused.status).toMatchObject({
      reason: 'Invalid',
      code: 422,
      // The pod-level request, unset, is taken as the limit (the pods are defaulted so): 600Mi exceeds both.
      message:
        'Deployment.apps "web" is invalid: [spec.template.spec.resources.requests[memory]: Invalid value: "512Mi": must be greater than or equal to aggregate container requests of 600Mi, spec.template.spec.resources.containers[0][memory].limits: Invalid value: "600Mi": must be less than or equal to pod limits of 512Mi]',
      details: {
        name: 'web',
        group: 'apps',
        kind: 'deployments',
        causes: [
          { reason: 'FieldValueInvalid', message: 'Invalid value: "512Mi": must be greater than or equal to aggregate container requests of 600Mi', field: 'spec.template.spec.resources.requests[memory]' },
          { reason: 'FieldValueInvalid', message: 'Invalid value: "600Mi": must be less than or equal to pod limits of 512Mi', field: 'spec.template.spec.resources.containers[0][memory].limits' },
        ],
      },
    });
    expect(fake.get<V1Deployment>('apps/v1', 'Deployment', NS, 'web')!.metadata!.resourceVersion).toBe(before.metadata!.resourceVersion);
    // Up to the pod-level limit is valid.
    const patched = await apps.patchNamespacedDeployment({ namespace: NS, name: 'web', body: raise('512Mi') }, jsonPatch);
    expect(patched.spec!.template.spec!.containers[0]!.resources!.limits!.memory).toBe('512Mi');
  });

  it('the containers\' requests summed against the pod-level request; a pod created past it refused; status writes and put() not validated', async () => {
    withPodLevel({ limits: { memory: '1Gi' }, requests: { memory: '448Mi' } });
    const refused = await apiError(apps.patchNamespacedDeployment({ namespace: NS, name: 'web', body: raise('500Mi') }, jsonPatch));
    expect(refused.status.message).toBe(
      'Deployment.apps "web" is invalid: spec.template.spec.resources.requests[memory]: Invalid value: "448Mi": must be greater than or equal to aggregate container requests of 500Mi',
    );
    const body = pod('p');
    body.spec!.resources = { limits: { memory: '256Mi' } };
    body.spec!.containers = [
      { name: 'app', image: 'app:1', resources: { limits: { memory: '128Mi' } } },
      { name: 'proxy', image: 'proxy:1', resources: { limits: { memory: '192Mi' } } },
    ];
    expect((await apiError(core.createNamespacedPod({ namespace: NS, body }))).status.message).toBe(
      'Pod "p" is invalid: spec.resources.requests[memory]: Invalid value: "256Mi": must be greater than or equal to aggregate container requests of 320Mi',
    );
    body.spec!.containers[1]!.resources = { limits: { memory: '128Mi' } };
    await core.createNamespacedPod({ namespace: NS, body });
    const d = fake.get<V1Deployment>('apps/v1', 'Deployment', NS, 'web')!;
    d.spec!.template.spec!.containers[0]!.resources!.limits!.memory = '2Gi';
    fake.put(d);
    expect(fake.api.update({ ...fake.get<V1Deployment>('apps/v1', 'Deployment', NS, 'web')!, status: { replicas: 1 } }, { status: true }).status).toEqual({ replicas: 1 });
  });
});

describe('mutating admission', () => {
  it('changes each pod created (HTTP and in-process) before the quota admits it; not put(); removable', async () => {
    const remove = fake.mutateOnCreate('v1', 'Pod', (p) => void (p as V1Pod).spec!.containers.push({ name: 'istio-proxy', image: 'proxyv2:1', resources: { limits: { memory: '1Gi' } } }));
    const created = await core.createNamespacedPod({ namespace: NS, body: pod('a') });
    expect(created.spec!.containers.map((c) => c.name)).toEqual(['app', 'istio-proxy']);
    fake.api.create(pod('b'));
    fake.put(pod('c'));
    const names = (name: string) => fake.get<V1Pod>('v1', 'Pod', NS, name)!.spec!.containers.map((c) => c.name);
    expect([names('b'), names('c')]).toEqual([['app', 'istio-proxy'], ['app']]);
    // The quota sees the injected proxy's memory.
    fake.put({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'mem', namespace: NS }, spec: { hard: { 'limits.memory': '512Mi' } }, status: { hard: { 'limits.memory': '512Mi' }, used: { 'limits.memory': '0' } } });
    expect((await apiError(core.createNamespacedPod({ namespace: NS, body: pod('d') }))).code).toBe(403);
    remove();
    fake.remove('v1', 'ResourceQuota', NS, 'mem');
    expect((await core.createNamespacedPod({ namespace: NS, body: pod('e') })).spec!.containers.map((c) => c.name)).toEqual(['app']);
  });
});

describe('pod logs', () => {
  it('serves current and previous logs per container, honouring tailLines', async () => {
    fake.put({ ...pod('web-1'), spec: { containers: [{ name: 'app' }, { name: 'sidecar' }] } });
    fake.setLogs(NS, 'web-1', 'app', 'started\nserving\n');
    fake.setLogs(NS, 'web-1', 'app', 'booting\nOOM: killed\npanic: out of memory\n', { previous: true });

    expect(await core.readNamespacedPodLog({ name: 'web-1', namespace: NS, container: 'app' })).toBe('started\nserving\n');
    const tail = await core.readNamespacedPodLog({ name: 'web-1', namespace: NS, container: 'app', previous: true, tailLines: 2 });
    expect(tail).toBe('OOM: killed\npanic: out of memory\n');
    expect(fake.requests.at(-1)).toMatchObject({
      path: '/api/v1/namespaces/default/pods/web-1/log',
      query: { container: 'app', previous: 'true', tailLines: '2' },
    });
    expect(await core.readNamespacedPodLog({ name: 'web-1', namespace: NS, container: 'sidecar' })).toBe('');

    const noPrevious = await apiError(core.readNamespacedPodLog({ name: 'web-1', namespace: NS, container: 'sidecar', previous: true }));
    expect(noPrevious.code).toBe(400);
    expect(noPrevious.status.message).toBe('previous terminated container "sidecar" in pod "web-1" not found');
    const noContainer = await apiError(core.readNamespacedPodLog({ name: 'web-1', namespace: NS }));
    expect(noContainer.status.message).toBe('a container name must be specified for pod web-1, choose one of: [app sidecar]');
    expect((await apiError(core.readNamespacedPodLog({ name: 'gone', namespace: NS, container: 'app' }))).code).toBe(404);
  });
});

describe('watch', () => {
  it('streams ADDED/MODIFIED/DELETED in order after a list’s resourceVersion, replaying missed changes', async () => {
    const listed = await core.listNamespacedPod({ namespace: NS });
    fake.put(pod('early')); // happens between the list and the watch: must be replayed
    const events: string[] = [];
    let ended: unknown = 'open';
    const controller = await new Watch(kc).watch(
      `/api/v1/namespaces/${NS}/pods`,
      { resourceVersion: listed.metadata?.resourceVersion },
      (type, obj: V1Pod) => events.push(`${type} ${obj.metadata?.name} ${obj.metadata?.resourceVersion}`),
      (err) => (ended = err),
    );
    await core.createNamespacedPod({ namespace: NS, body: pod('p') });
    await core.patchNamespacedPod({ name: 'p', namespace: NS, body: { metadata: { labels: { x: 'y' } } } }, smp);
    await core.deleteNamespacedPod({ name: 'p', namespace: NS });
    fake.put(pod('other', {}, 'elsewhere')); // another namespace: not this watch's
    await waitFor(() => events.length >= 4, 5000, 'watch events');
    expect(events).toEqual(['ADDED early 2', 'ADDED p 3', 'MODIFIED p 4', 'DELETED p 5']);
    expect(fake.requests.find((r) => r.query.watch)).toMatchObject({
      path: '/api/v1/namespaces/default/pods',
      query: { watch: 'true', resourceVersion: listed.metadata?.resourceVersion },
    });
    controller.abort();
    await waitFor(() => fake.activeWatches() === 0, 5000, 'watch closed');
    expect(ended).toMatchObject({ name: 'AbortError' }); // client-node reports its own abort to done
  });

  it('turns updates that cross a label selector into ADDED/DELETED, and ends on timeoutSeconds', async () => {
    const events: string[] = [];
    let ended: unknown = 'open';
    await new Watch(kc).watch(
      `/api/v1/namespaces/${NS}/pods`,
      { labelSelector: 'app=web', timeoutSeconds: 1 },
      (type, obj: V1Pod) => events.push(`${type} ${obj.metadata?.name}`),
      (err) => (ended = err),
    );
    await waitFor(() => fake.activeWatches() === 1, 5000, 'watch open');
    fake.put(pod('p', { app: 'db' }));
    fake.put(pod('p', { app: 'web' }));
    fake.put(pod('p', { app: 'web', v: '2' }));
    fake.put(pod('p', { app: 'db' }));
    await waitFor(() => ended !== 'open', 5000, 'watch timeout');
    expect(ended).toBeNull();
    expect(events).toEqual(['ADDED p', 'MODIFIED p', 'DELETED p']);
  });

  it('answers a watch from a compacted resourceVersion with an ERROR event carrying 410 Expired', async () => {
    fake.put(pod('a'));
    fake.put(pod('b'));
    fake.compact();
    const events: [string, unknown][] = [];
    let ended: unknown = 'open';
    await new Watch(kc).watch(`/api/v1/namespaces/${NS}/pods`, { resourceVersion: '1' }, (type, obj) => events.push([type, obj]), (err) => (ended = err));
    await waitFor(() => ended !== 'open', 5000, 'watch end');
    expect(events).toEqual([
      ['ERROR', { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version: 1 (3)', reason: 'Expired', code: 410 }],
    ]);
    expect(ended).toBeNull(); // the stream ended cleanly after the event
  });
});

describe('informers', () => {
  let informer: Informer<V1Pod> | undefined;
  let stopped = false;

  afterEach(async () => {
    stopped = true;
    await informer?.stop();
    informer = undefined;
  });

  /**
   * An informer on the default namespace's pods that records its callbacks. client-node's
   * informer gives up on any watch error but a 410 (it calls the error handlers and stops), so,
   * as a production informer must, it restarts itself from its error handler after a delay.
   */
  function podInformer() {
    stopped = false;
    const seen = { adds: [] as string[], updates: [] as string[], deletes: [] as string[], errors: [] as unknown[], connects: 0 };
    const inf = makeInformer<V1Pod>(kc, `/api/v1/namespaces/${NS}/pods`, () => core.listNamespacedPod({ namespace: NS }));
    inf.on('add', (p) => seen.adds.push(p.metadata!.name!));
    inf.on('update', (p) => seen.updates.push(`${p.metadata!.name} ${p.metadata!.labels?.v ?? ''}`.trim()));
    inf.on('delete', (p) => seen.deletes.push(p.metadata!.name!));
    inf.on('connect', () => seen.connects++);
    inf.on('error', (err) => {
      seen.errors.push(err);
      setTimeout(() => {
        if (!stopped) void inf.start();
      }, 20);
    });
    informer = inf;
    return { inf, seen };
  }

  const watchRequests = () => fake.requests.filter((r) => r.query.watch === 'true');
  const listRequests = () => fake.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/pods') && !r.query.watch);

  it('sees adds and updates, and resumes after dropped watches without duplicate adds', async () => {
    fake.put(pod('a'));
    const { inf, seen } = podInformer();
    await inf.start();
    await waitFor(() => fake.activeWatches() === 1, 5000, 'informer watch');
    expect(seen.adds).toEqual(['a']);
    fake.put(pod('b'));
    fake.put(pod('a', { v: '2' }));
    await waitFor(() => seen.adds.length === 2 && seen.updates.length === 1, 5000, 'live events');
    const rvBeforeDrop = fake.resourceVersion;

    // Abrupt drop: node-fetch reports "Premature close", the informer's error handler restarts it.
    fake.dropWatches();
    fake.put(pod('c')); // while disconnected: replayed from history on reconnect
    fake.put(pod('b', { v: '3' }));
    await waitFor(() => seen.adds.length === 3 && seen.updates.length === 2, 5000, 'events after the drop');
    expect(seen.errors).toHaveLength(1);
    expect((seen.errors[0] as { code?: string }).code).toBe('ERR_STREAM_PREMATURE_CLOSE');
    expect(watchRequests().at(-1)?.query.resourceVersion).toBe(rvBeforeDrop); // resumed, not re-listed
    expect(listRequests()).toHaveLength(1);

    // Graceful end (as a watch timeout): the informer reconnects by itself, no error.
    await waitFor(() => fake.activeWatches() === 1, 5000, 'informer rewatch');
    fake.dropWatches({ graceful: true });
    fake.remove('v1', 'Pod', NS, 'a');
    await waitFor(() => seen.deletes.length === 1, 5000, 'delete after graceful end');
    expect(seen.errors).toHaveLength(1);

    expect(seen.adds).toEqual(['a', 'b', 'c']);
    expect(seen.updates).toEqual(['a 2', 'b 3']);
    expect(seen.deletes).toEqual(['a']);
    expect(inf.list().map((p) => p.metadata?.name).sort()).toEqual(['b', 'c']);
    expect(listRequests()).toHaveLength(1);
  });

  it('re-lists and recovers when its watch resumes from a compacted resourceVersion (410)', async () => {
    fake.put(pod('a'));
    fake.put(pod('b'));
    const { inf, seen } = podInformer();
    await inf.start();
    await waitFor(() => fake.activeWatches() === 1, 5000, 'informer watch');
    const oldRv = fake.resourceVersion;

    // The connection drops, and before the informer is back the cluster moves on and compacts.
    fake.dropWatches();
    fake.remove('v1', 'Pod', NS, 'a');
    fake.put(pod('c'));
    fake.compact();

    await waitFor(() => seen.adds.includes('c') && seen.deletes.includes('a'), 5000, 'recovery by re-list');
    await waitFor(() => fake.activeWatches() === 1, 5000, 'informer rewatch');
    const watches = watchRequests().map((r) => r.query.resourceVersion);
    expect(watches).toEqual([oldRv, oldRv, fake.resourceVersion]); // first watch, the 410, the re-listed one
    expect(listRequests()).toHaveLength(2);
    expect(seen.errors).toHaveLength(1); // the drop only: the 410 is handled inside the informer
    expect(seen.adds).toEqual(['a', 'b', 'c']);

    fake.put(pod('d'));
    await waitFor(() => seen.adds.includes('d'), 5000, 'live events after recovery');
    expect(inf.list().map((p) => p.metadata?.name).sort()).toEqual(['b', 'c', 'd']);
  });
});
