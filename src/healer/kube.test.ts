/**
 * Deadlines on the Kubernetes API (client-node 1.x sets none): every request through makeClients
 * settles by its deadline against a loopback server that never answers or trickles; pod watches
 * ask the server to end them, have a connect deadline and a client-side guard; lists come in pages.
 * Size caps (client-node buffers any answer whole): an answer or a watch event past the cap fails
 * its call with AnswerTooLarge, through the real client against the fake API server and loopback
 * servers that never stop sending.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { MAX_TLS_FILE_BYTES } from '../files/small-file.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, type KubernetesObject, type V1Pod, type V1PodList } from '@kubernetes/client-node';
import { DeadlineError } from '../deadline/deadline.js';
import { boundedLookup } from '../dns/lookup.js';
import { silentLogger } from '../telemetry/logger.js';
import { generateCerts } from '../test-support/certs.js';
import { startFakeKube, type FakeKube } from '../test-support/fake-kube.js';
import { emitEvent } from './events.js';
import { AnswerTooLarge, apiMessage, BoundedWatch, customList, withoutManagedFields, KUBE_LIST_PAGE, KUBE_MAX_ANSWER_BYTES, KUBE_WATCH, listAllPages, listPaged, loadKubeConfig, makeBoundedInformer, makeClients, watchTimeoutSeconds } from './kube.js';
import { readWorkload } from './owners.js';

/** A loopback server answering each request with `handle` (which may never answer); closing ends every connection. */
async function loopback(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; requests: IncomingMessage[]; close(): Promise<void> }> {
  const requests: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req);
    handle(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

const kubeConfigFor = (server: string): KubeConfig => {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
    currentContext: 'c',
  });
  return kc;
};

const elapsed = async <T>(work: Promise<T>): Promise<{ ms: number; result: T | unknown }> => {
  const t0 = Date.now();
  const result = await work.catch((e: unknown) => e);
  return { ms: Date.now() - t0, result };
};

const deployment = { kind: 'Deployment' as const, object: { metadata: { namespace: 'shop', name: 'web' } } };

describe('every API request has an overall deadline', () => {
  let server: Awaited<ReturnType<typeof loopback>> | undefined;
  afterEach(() => server?.close());

  test('a server that accepts and never answers: a workload read fails at the deadline, naming the request', async () => {
    server = await loopback(() => undefined);
    const clients = makeClients(kubeConfigFor(server.url), { requestDeadlineMs: 200 });
    const { ms, result } = await elapsed(readWorkload(clients, deployment as never));
    expect(result).toBeInstanceOf(DeadlineError);
    expect((result as Error).message).toBe('Kubernetes API GET /apis/apps/v1/namespaces/shop/deployments/web: deadline exceeded after 0.2s');
    expect(ms).toBeGreaterThanOrEqual(190);
    expect(ms).toBeLessThan(2000);
    expect(server.requests).toHaveLength(1);
  });

  test('deletes, lists and Event writes are bounded alike; an Event that cannot be written is logged, not thrown', async () => {
    server = await loopback(() => undefined);
    const clients = makeClients(kubeConfigFor(server.url), { requestDeadlineMs: 150 });
    const calls = [
      clients.core.deleteNamespacedPod({ namespace: 'shop', name: 'web-1' }),
      clients.core.listPodForAllNamespaces({}),
      clients.custom.listNamespacedCustomObject({ group: 'autoscaling.k8s.io', version: 'v1', namespace: 'shop', plural: 'verticalpodautoscalers' }),
      clients.coordination.readNamespacedLease({ namespace: 'amadeus', name: 'healer' }),
    ];
    const outcomes = await elapsed(Promise.all(calls.map((c) => c.then(() => 'answered', (e: unknown) => e))));
    expect(outcomes.ms).toBeLessThan(2000);
    for (const e of outcomes.result as unknown[]) expect(e).toBeInstanceOf(DeadlineError);
    const warned: unknown[] = [];
    const log = { ...silentLogger, warn: (...args: unknown[]) => void warned.push(args) };
    const event = { workload: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' }, reason: 'RolledBack', action: 'rollback', message: 'm', warning: false };
    const emitted = await elapsed(emitEvent(clients.core, event, 'amadeus-0', log as never));
    expect(emitted.result).toBe(false);
    expect(emitted.ms).toBeLessThan(2000);
    expect(warned).toHaveLength(1);
  });

  test('a server that sends the headers, then trickles the body a byte at a time: still the deadline', async () => {
    const timers: NodeJS.Timeout[] = [];
    server = await loopback((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"kind":"Deployment",');
      timers.push(setInterval(() => res.write(' '), 20));
    });
    const clients = makeClients(kubeConfigFor(server.url), { requestDeadlineMs: 300 });
    const { ms, result } = await elapsed(clients.apps.readNamespacedDeployment({ namespace: 'shop', name: 'web' }));
    timers.forEach(clearInterval);
    expect(result).toBeInstanceOf(DeadlineError);
    expect(ms).toBeLessThan(2000);
  });

  test('an answer in time is unaffected', async () => {
    const kube = await startFakeKube();
    try {
      kube.put({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { namespace: 'shop', name: 'web' }, spec: { selector: {}, template: {} } });
      const clients = makeClients(kube.kubeConfig(), { requestDeadlineMs: 5000 });
      const read = await readWorkload(clients, deployment as never);
      expect(read.object.metadata?.name).toBe('web');
    } finally {
      await kube.close();
    }
  });
});

describe('pod watches', () => {
  let kube: FakeKube;
  beforeEach(async () => {
    kube = await startFakeKube();
  });
  afterEach(() => kube.close());

  const pod = (name: string): V1Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'shop', name, labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i' }] } });
  const pages = (kc: FakeKube, limit: number) => {
    const core = makeClients(kc.kubeConfig()).core;
    return () => listAllPages<V1PodList>((cont) => core.listNamespacedPod({ namespace: 'shop', limit, _continue: cont }));
  };

  test('a list is read a page at a time and comes back whole, with the snapshot resourceVersion', async () => {
    for (let i = 0; i < 5; i++) kube.put(pod(`web-${i}`));
    const list = await pages(kube, 2)();
    expect(list.items.map((p) => p.metadata?.name)).toEqual(['web-0', 'web-1', 'web-2', 'web-3', 'web-4']);
    expect(list.metadata?._continue).toBeUndefined();
    expect(list.metadata?.resourceVersion).toBe(kube.resourceVersion);
    const listed = kube.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/namespaces/shop/pods');
    expect(listed.map((r) => r.query.limit)).toEqual(['2', '2', '2']);
    expect(KUBE_LIST_PAGE).toBe(500);
  });

  test('each watch asks the server to end it after a jittered timeoutSeconds, and the informer resumes without an error', async () => {
    expect(watchTimeoutSeconds(() => 0)).toBe(KUBE_WATCH.minTimeoutSeconds);
    expect(watchTimeoutSeconds(() => 0.999)).toBeLessThan(KUBE_WATCH.maxTimeoutSeconds);
    kube.put(pod('web-0'));
    // 2 s: a stream the server ends within VERY_SHORT_WATCH_MS with no event would be an error.
    const informer = makeBoundedInformer<V1Pod>(kube.kubeConfig(), '/api/v1/namespaces/shop/pods', pages(kube, KUBE_LIST_PAGE), undefined, { timeoutSeconds: () => 2 });
    const errors: unknown[] = [];
    const added: string[] = [];
    informer.on('error', (e) => void errors.push(e));
    informer.on('add', (p) => void added.push(p.metadata!.name!));
    await informer.start();
    const watches = () => kube.requests.filter((r) => r.query.watch === 'true');
    await until(() => watches().length >= 2, 8000); // the server ended the first after 2 s
    kube.put(pod('web-1'));
    await until(() => added.includes('web-1'), 2000);
    expect(errors).toEqual([]); // (stopping reports an AbortError, as client-node's own informer does)
    await informer.stop();
    expect(watches()[0].query.timeoutSeconds).toBe('2');
    expect(added).toEqual(['web-0', 'web-1']);
  });

  test('a default watch asks for a timeoutSeconds in the jitter range', async () => {
    const informer = makeBoundedInformer<V1Pod>(kube.kubeConfig(), '/api/v1/namespaces/shop/pods', pages(kube, KUBE_LIST_PAGE));
    await informer.start();
    await until(() => kube.activeWatches() === 1, 2000);
    await informer.stop();
    const seconds = Number(kube.requests.find((r) => r.query.watch === 'true')!.query.timeoutSeconds);
    expect(seconds).toBeGreaterThanOrEqual(KUBE_WATCH.minTimeoutSeconds);
    expect(seconds).toBeLessThan(KUBE_WATCH.maxTimeoutSeconds);
  });
});

describe('what the informer caches', () => {
  let kube: FakeKube;
  beforeEach(async () => {
    kube = await startFakeKube();
  });
  afterEach(() => kube.close());

  test('pods listed and watched are cached without managedFields (server-side apply\'s bookkeeping, never read)', async () => {
    const managed = [{ manager: 'kubelet', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': {} } }];
    const pod = (name: string): V1Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'shop', name, managedFields: managed }, spec: { containers: [{ name: 'c', image: 'i' }] } });
    kube.put(pod('listed'));
    const core = makeClients(kube.kubeConfig()).core;
    const informer = makeBoundedInformer<V1Pod>(kube.kubeConfig(), '/api/v1/namespaces/shop/pods', () => listAllPages<V1PodList>((cont) => core.listNamespacedPod({ namespace: 'shop', limit: KUBE_LIST_PAGE, _continue: cont })));
    const added: V1Pod[] = [];
    informer.on('add', (p) => void added.push(p));
    await informer.start();
    kube.put(pod('watched'));
    await until(() => added.length === 2, 3000);
    await informer.stop();
    expect(added.map((p) => p.metadata?.name)).toEqual(['listed', 'watched']);
    for (const p of [...added, ...informer.list()]) expect(p.metadata).not.toHaveProperty('managedFields');
    expect(informer.list().map((p) => p.metadata?.name).sort()).toEqual(['listed', 'watched']);
    expect(withoutManagedFields(null)).toBeNull();
  });
});

describe('credentials applied with a deadline', () => {
  // A kubeconfig whose user runs a credential plugin that never answers (kubelogin waiting for a
  // browser login): each run records its pid, so the test can count and end them.
  let dir: string;
  let pids: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'amadeus-exec-auth-'));
    pids = join(dir, 'pids');
  });
  afterEach(() => {
    for (const pid of existsSync(pids) ? readFileSync(pids, 'utf8').split('\n').filter(Boolean) : []) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const hungPlugin = (server: string): KubeConfig => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server, skipTLSVerify: true }],
      users: [{ name: 'sso', exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'sh', args: ['-c', `echo $$ >> ${pids}; exec sleep 60`], env: [] } }],
      contexts: [{ name: 'c', cluster: 'c', user: 'sso' }],
      currentContext: 'c',
    });
    return kc;
  };

  test('a plugin that never answers fails the request at the deadline, and is not started again while it hangs', async () => {
    const server = await loopback((_req, res) => res.end('{}'));
    try {
      const kc = hungPlugin(server.url);
      const { core } = makeClients(kc, { requestDeadlineMs: 400 });
      const first = await elapsed(core.readNamespace({ name: 'shop' }));
      expect(first.result).toBeInstanceOf(DeadlineError);
      expect(String(first.result)).toMatch(/Kubernetes credentials of kubeconfig user sso/);
      const second = await elapsed(core.readNamespace({ name: 'shop' }));
      expect(String(second.result)).toMatch(/credentials have not been applied for \d+ s \(a credential plugin not answering\?\); not tried again/);
      expect(second.ms).toBeLessThan(first.ms);
      // A watch is refused the same way, through done (its informer's owner restarts it).
      const ended = new Promise<unknown>((resolve) => void new BoundedWatch(kc, { connectMs: 400 }).watch('/api/v1/pods', {}, () => {}, resolve));
      expect(String(await ended)).toMatch(/not tried again/);
      expect(server.requests).toHaveLength(0);
      expect(readFileSync(pids, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});

test('a kubeconfig whose user refreshes its token with a legacy auth-provider (execSync: the whole process stops) is refused, naming the plugin to use', () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-kubeconfig-'));
  try {
    const file = join(dir, 'config');
    const config = (provider: string) =>
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]',
        `users: [{name: u, user: {auth-provider: {name: ${provider}, config: {cmd-path: /usr/bin/gcloud}}}}]`,
        'contexts: [{name: c, context: {cluster: c, user: u}}]',
        'current-context: c',
      ].join('\n');
    writeFileSync(file, config('gcp'));
    expect(() => loadKubeConfig({ kind: 'file', path: file })).toThrow(`kubeconfig ${file}: user u uses the legacy "gcp" auth-provider, which blocks the process while it refreshes its token; use its exec credential plugin (gke-gcloud-auth-plugin) instead, or run without the cluster (--heal off --replicas off)`);
    writeFileSync(file, config('azure'));
    expect(() => loadKubeConfig({ kind: 'file', path: file })).toThrow(/legacy "azure" auth-provider.*\(kubelogin\)/);
    writeFileSync(file, config('oidc'));
    expect(loadKubeConfig({ kind: 'file', path: file })?.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
    // Loaded from the bytes that were checked, files named in it relative to its directory as kubectl takes them.
    mkdirSync(join(dir, 'certs'));
    writeFileSync(join(dir, 'certs', 'ca.crt'), 'a CA\n');
    writeFileSync(file, config('oidc').replace('server: "https://127.0.0.1:6443"', 'server: "https://127.0.0.1:6443", certificate-authority: certs/ca.crt'));
    expect(loadKubeConfig({ kind: 'file', path: file })?.getCurrentCluster()?.caFile).toBe(join(dir, 'certs', 'ca.crt'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the files a kubeconfig names, which client-node reads synchronously at every request, are checked at start-up: a FIFO, a device, a missing or oversized file fails with its name and reason', () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-kubeconfig-'));
  try {
    const file = join(dir, 'config');
    writeFileSync(join(dir, 'ca.crt'), 'a CA\n');
    writeFileSync(join(dir, 'token'), 'a token\n');
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    writeFileSync(join(dir, 'big'), Buffer.alloc(MAX_TLS_FILE_BYTES + 1));
    const config = (ca: string, user: string) =>
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443", certificate-authority: ${ca}}}]`,
        `users: [{name: u, user: {${user}}}]`,
        'contexts: [{name: c, context: {cluster: c, user: u}}]',
        'current-context: c',
      ].join('\n');
    const load = (ca: string, user: string) => {
      writeFileSync(file, config(ca, user));
      return () => loadKubeConfig({ kind: 'file', path: file });
    };
    expect(load('ca.crt', 'token: t')()?.getCurrentCluster()?.caFile).toBe(join(dir, 'ca.crt'));
    // Would block the first request for good: refused at once.
    expect(load('fifo', 'token: t')).toThrow(`kubeconfig ${file}: certificate-authority ${join(dir, 'fifo')}: cannot read: not a regular file`);
    expect(load('ca.crt', 'client-certificate: /dev/zero, client-key: ca.crt')).toThrow('client-certificate /dev/zero: cannot read: not a regular file');
    expect(load('ca.crt', 'client-certificate: ca.crt, client-key: missing.key')).toThrow(`client-key ${join(dir, 'missing.key')}: cannot read: ENOENT`);
    expect(load('big', 'token: t')).toThrow(`larger than ${MAX_TLS_FILE_BYTES} bytes`);
    // A user's token-file client-node reads while parsing: checked before it does, whichever user names it.
    expect(load('ca.crt', `token-file: ${join(dir, 'fifo')}`)).toThrow(`kubeconfig ${file}: user u: token-file ${join(dir, 'fifo')}: cannot read: not a regular file`);
    expect(load('ca.crt', `token-file: ${join(dir, 'big')}`)).toThrow(`larger than ${MAX_TLS_FILE_BYTES} bytes`);
    expect(load('ca.crt', `token-file: ${join(dir, 'token')}`)()?.getCurrentUser()?.name).toBe('u');
    writeFileSync(file, config('ca.crt', 'token: t').replace('users: [', `users: [{name: other, user: {token-file: ${join(dir, 'fifo')}}}, `));
    expect(() => loadKubeConfig({ kind: 'file', path: file })).toThrow('user other: token-file');
    // As client-node: a token-file beside a token is never read, so not checked; one that is no path is refused.
    expect(load('ca.crt', `token: t, token-file: ${join(dir, 'fifo')}`)()?.getCurrentUser()?.name).toBe('u');
    expect(load('ca.crt', 'token-file: 1')).toThrow(`kubeconfig ${file}: user u: token-file must be a path, got 1`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a server named by host name is looked up through the bounded lookup, once for many requests and the watch: client-node's new connection per request does not mean a lookup each", async () => {
  const kube = await startFakeKube();
  try {
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    // A name only the test's resolver knows: a request reaching the server proves the lookup was ours.
    const config = JSON.parse(kube.kubeConfig().exportConfig()) as { clusters: { cluster: { server: string } }[] };
    for (const c of config.clusters) c.cluster.server = c.cluster.server.replace('127.0.0.1', 'api.cluster.test');
    const kc = new KubeConfig();
    kc.loadFromString(JSON.stringify(config));
    const asked: string[] = [];
    const lookup = boundedLookup({ resolve: (hostname, _o, cb) => (asked.push(hostname), setImmediate(() => cb(null, [{ address: '127.0.0.1', family: 4 }]))) });
    const { core } = makeClients(kc, { lookup });
    for (let i = 0; i < 3; i++) expect((await core.readNamespace({ name: 'shop' })).metadata?.name).toBe('shop');
    const ended = new Promise<unknown>((resolve) => void new BoundedWatch(kc, { lookup, timeoutSeconds: () => 2 }).watch('/api/v1/namespaces/shop/pods', {}, () => undefined, resolve));
    await until(() => kube.activeWatches() === 1, 5000);
    expect(asked).toEqual(['api.cluster.test']);
    kube.dropWatches({ graceful: true });
    await ended;
  } finally {
    await kube.close();
  }
});

test('a watch that stops being wanted while it connects is ended when its headers come, with no error (the informer had no request to abort yet)', async () => {
  let closed = false;
  const server = await loopback((req, res) => {
    req.on('close', () => (closed = true));
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('');
    }, 150);
  });
  try {
    let wanted = true;
    const ended = new Promise<unknown>((resolve) => void new BoundedWatch(kubeConfigFor(server.url), { wanted: () => wanted }).watch('/api/v1/pods', {}, () => undefined, resolve));
    await new Promise((r) => setTimeout(r, 30));
    wanted = false;
    expect(await ended).toBeNull();
    await until(() => closed, 2000);
  } finally {
    await server.close();
  }
});

test('a watch no longer wanted when it is asked for is not opened: done at once, with no error', async () => {
  const server = await loopback(() => undefined);
  try {
    const ended = await new Promise<unknown>((resolve) => void new BoundedWatch(kubeConfigFor(server.url), { wanted: () => false }).watch('/api/v1/pods', {}, () => undefined, resolve));
    expect(ended).toBeNull();
    expect(server.requests).toHaveLength(0);
  } finally {
    await server.close();
  }
});

describe('a watch on a silent server', () => {
  let server: Awaited<ReturnType<typeof loopback>> | undefined;
  afterEach(() => server?.close());

  test('connecting has a deadline: no headers, an error', async () => {
    server = await loopback(() => undefined);
    const watch = new BoundedWatch(kubeConfigFor(server.url), { connectMs: 200 });
    const t0 = Date.now();
    const err = await new Promise<unknown>((done) => void watch.watch('/api/v1/pods', {}, () => undefined, done));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(err).toBeInstanceOf(DeadlineError);
    expect((err as Error).message).toBe('Kubernetes API watch /api/v1/pods (connecting): deadline exceeded after 0.2s');
  });

  test('a stream the server does not end by its timeoutSeconds is aborted as a DeadlineError', async () => {
    server = await loopback((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('\n'); // headers and a byte, then silence: a half-open connection
    });
    const watch = new BoundedWatch(kubeConfigFor(server.url), { timeoutSeconds: () => 1, graceMs: 100 });
    const t0 = Date.now();
    const err = await new Promise<unknown>((done) => void watch.watch('/api/v1/pods', {}, () => undefined, done));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(err).toBeInstanceOf(DeadlineError);
    expect((err as Error).message).toBe('Kubernetes API watch /api/v1/pods: deadline exceeded after 1.1s');
    expect(server.requests[0].url).toContain('timeoutSeconds=1');
  });

  test('a stream ended at once with no event (a proxy closing it) is an error, so its informer backs off; one with an event is a clean end', async () => {
    let withEvent = false;
    server = await loopback((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(withEvent ? `${JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '7' } } })}\n` : '');
    });
    const ended = () => new Promise<unknown>((done) => void new BoundedWatch(kubeConfigFor(server!.url)).watch('/api/v1/pods', {}, () => undefined, done));
    expect(String(await ended())).toMatch(/^Error: Kubernetes API watch \/api\/v1\/pods: ended after \d+ ms with no event \(very short watch\)$/);
    withEvent = true;
    expect(await ended()).toBeNull();
  });
});

describe('every answer has a size cap', () => {
  const CAP = 64 * 1024;
  const pad = (bytes: number) => 'x'.repeat(bytes);
  const pod = (name: string, padBytes = 0): V1Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: 'shop', name, labels: { app: 'web' }, ...(padBytes ? { annotations: { 'example.com/pad': pad(padBytes) } } : {}) },
    spec: { containers: [{ name: 'c', image: 'i' }] },
  });
  let kube: FakeKube | undefined;
  let server: Awaited<ReturnType<typeof loopback>> | undefined;
  afterEach(async () => {
    await kube?.close();
    await server?.close();
    kube = server = undefined;
  });

  test('the default has room for a page of KUBE_LIST_PAGE objects of 64 KiB', () => {
    expect(KUBE_MAX_ANSWER_BYTES).toBeGreaterThanOrEqual(KUBE_LIST_PAGE * 64 * 1024);
  });

  test('a list answer larger than the cap fails the call, naming the request and the cap; one page of it is read', async () => {
    kube = await startFakeKube();
    for (let i = 0; i < 40; i++) kube.put(pod(`web-${String(i).padStart(2, '0')}`, 2048)); // ~90 KiB in all
    const { core } = makeClients(kube.kubeConfig(), { maxAnswerBytes: CAP });
    const err = await core.listNamespacedPod({ namespace: 'shop' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AnswerTooLarge);
    expect((err as Error).message).toBe(`Kubernetes API GET /api/v1/namespaces/shop/pods: answer larger than ${CAP} bytes, refused (--kube-max-answer-bytes)`);
    // The same pods in pages of 20 (~45 KiB each) come back whole.
    const paged = await listAllPages((cont) => core.listNamespacedPod({ namespace: 'shop', limit: 20, _continue: cont }));
    expect(paged.items).toHaveLength(40);
  });

  test('a single object larger than the cap fails its read; a smaller one is read', async () => {
    kube = await startFakeKube();
    kube.put(pod('big', CAP));
    kube.put(pod('small', 1024));
    const { core } = makeClients(kube.kubeConfig(), { maxAnswerBytes: CAP });
    await expect(core.readNamespacedPod({ namespace: 'shop', name: 'big' })).rejects.toThrow(new AnswerTooLarge(CAP, 'Kubernetes API GET /api/v1/namespaces/shop/pods/big'));
    expect((await core.readNamespacedPod({ namespace: 'shop', name: 'small' })).metadata?.name).toBe('small');
  });

  test('a write whose answer is too large fails as one that may have been applied', async () => {
    kube = await startFakeKube();
    const { core } = makeClients(kube.kubeConfig(), { maxAnswerBytes: CAP });
    const err = await core.createNamespacedPod({ namespace: 'shop', body: pod('big', CAP) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AnswerTooLarge);
    const { writeMayHaveLanded } = await import('./kube.js');
    expect(writeMayHaveLanded(err)).toBe(true);
    expect(kube.get('v1', 'Pod', 'shop', 'big')).toBeDefined(); // it was: the caller reads back to tell
  });

  test('a server that never stops sending (no Content-Length) is cut off at the cap, not read to the deadline', async () => {
    let sent = 0;
    let closed = false;
    server = await loopback((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"kind":"PodList","items":[');
      const chunk = Buffer.from(pad(16 * 1024));
      const more = () => {
        while (!closed && res.write(chunk)) sent += chunk.length;
        if (!closed) res.once('drain', more);
      };
      res.on('close', () => (closed = true));
      more();
    });
    const { core } = makeClients(kubeConfigFor(server.url), { requestDeadlineMs: 20_000, maxAnswerBytes: CAP });
    const err = await core.listPodForAllNamespaces({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AnswerTooLarge);
    await until(() => closed, 5000); // the connection was closed: nothing more is read
    expect(sent).toBeLessThan(256 * CAP); // at most what the socket buffers held, not a stream read to its end
  });

  test('a Content-Length above the cap is refused before the body is read', async () => {
    server = await loopback((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(10 * CAP) });
      res.write('{'); // and nothing more: waiting for the rest would take the deadline
    });
    const { core } = makeClients(kubeConfigFor(server.url), { requestDeadlineMs: 20_000, maxAnswerBytes: CAP });
    await expect(core.readNamespacedPod({ namespace: 'shop', name: 'web' })).rejects.toBeInstanceOf(AnswerTooLarge);
  });

  test('a watch event line larger than the cap ends the watch with AnswerTooLarge; the events before it are delivered', async () => {
    kube = await startFakeKube();
    kube.put(pod('web-0', 1024));
    kube.put(pod('web-1', CAP)); // its ADDED event is one line of more than CAP bytes
    const watch = new BoundedWatch(kube.kubeConfig(), { maxEventBytes: CAP, timeoutSeconds: () => 2 });
    const seen: string[] = [];
    const err = await new Promise<unknown>((done) => void watch.watch('/api/v1/namespaces/shop/pods', {}, (_type, obj) => void seen.push((obj as V1Pod).metadata!.name!), done));
    expect(seen).toEqual(['web-0']);
    expect(err).toBeInstanceOf(AnswerTooLarge);
    expect((err as Error).message).toBe(`Kubernetes API watch /api/v1/namespaces/shop/pods: event larger than ${CAP} bytes, refused (--kube-max-answer-bytes)`);
  });

  test('a watch stream that sends one endless line is cut off at the cap, not buffered until the guard', async () => {
    let closed = false;
    server = await loopback((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n{"type":"ADDED","object":{"metadata":{"name":"');
      const chunk = Buffer.from(pad(16 * 1024));
      const more = () => {
        while (!closed && res.write(chunk));
        if (!closed) res.once('drain', more);
      };
      res.on('close', () => (closed = true));
      more();
    });
    const watch = new BoundedWatch(kubeConfigFor(server.url), { maxEventBytes: CAP, timeoutSeconds: () => 20, graceMs: 0 });
    const seen: string[] = [];
    const err = await new Promise<unknown>((done) => void watch.watch('/api/v1/pods', {}, (_type, obj) => void seen.push((obj as V1Pod).metadata!.name!), done));
    expect(err).toBeInstanceOf(AnswerTooLarge);
    expect(seen).toEqual(['a']);
    await until(() => closed, 5000);
  });

  test('the healer-side informer stops on an oversized event and reports it through error (its owner restarts it)', async () => {
    kube = await startFakeKube();
    kube.put(pod('web-0', 1024));
    const core = makeClients(kube.kubeConfig(), { maxAnswerBytes: CAP }).core;
    const informer = makeBoundedInformer<V1Pod>(kube.kubeConfig(), '/api/v1/namespaces/shop/pods', () => listPaged((p) => core.listNamespacedPod({ namespace: 'shop', ...p })), undefined, { maxEventBytes: CAP });
    const errors: unknown[] = [];
    informer.on('error', (e) => void errors.push(e));
    await informer.start();
    await until(() => kube!.activeWatches() === 1, 2000);
    kube.put(pod('web-1', CAP)); // its ADDED event is too large
    await until(() => errors.length > 0, 5000);
    expect(errors[0]).toBeInstanceOf(AnswerTooLarge);
    expect(informer.list().map((p) => p.metadata?.name)).toEqual(['web-0']);
    await informer.stop();
  });
});

describe('lists that grow with the cluster come in pages', () => {
  let kube: FakeKube;
  afterEach(() => kube.close());

  test('listPaged reads KUBE_LIST_PAGE at a time, every page, into one list', async () => {
    kube = await startFakeKube();
    for (let i = 0; i < 2 * KUBE_LIST_PAGE + 3; i++) kube.put({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { namespace: 'shop', name: `web-${String(i).padStart(4, '0')}`, labels: { app: 'web' } }, spec: { selector: { matchLabels: { app: 'web' } } } } as KubernetesObject);
    const { apps } = makeClients(kube.kubeConfig());
    const list = await listPaged((p) => apps.listNamespacedReplicaSet({ namespace: 'shop', labelSelector: 'app=web', ...p }));
    expect(list.items).toHaveLength(2 * KUBE_LIST_PAGE + 3);
    expect(new Set(list.items.map((r) => r.metadata?.name)).size).toBe(2 * KUBE_LIST_PAGE + 3);
    const pages = kube.requests.filter((r) => r.path === '/apis/apps/v1/namespaces/shop/replicasets');
    expect(pages.map((r) => [r.query.limit, r.query.continue === undefined])).toEqual([
      [String(KUBE_LIST_PAGE), true],
      [String(KUBE_LIST_PAGE), false],
      [String(KUBE_LIST_PAGE), false],
    ]);
  });

  test('a custom objects list (raw JSON: metadata.continue) is paged too; an answer with no items is no list', async () => {
    kube = await startFakeKube({ resources: [{ group: 'autoscaling.k8s.io', version: 'v1', kind: 'VerticalPodAutoscaler', plural: 'verticalpodautoscalers', namespaced: true }] });
    for (let i = 0; i < KUBE_LIST_PAGE + 1; i++) kube.put({ apiVersion: 'autoscaling.k8s.io/v1', kind: 'VerticalPodAutoscaler', metadata: { namespace: 'shop', name: `vpa-${String(i).padStart(4, '0')}` } } as KubernetesObject);
    const { custom } = makeClients(kube.kubeConfig());
    const VPA = { group: 'autoscaling.k8s.io', version: 'v1', plural: 'verticalpodautoscalers', namespace: 'shop' };
    const list = await listPaged((p) => custom.listNamespacedCustomObject({ ...VPA, ...p }).then(customList<KubernetesObject>));
    expect(list.items).toHaveLength(KUBE_LIST_PAGE + 1);
    expect(kube.requests.filter((r) => r.path.endsWith('/verticalpodautoscalers'))).toHaveLength(2);
    expect(() => customList({ kind: 'Status' })).toThrow('no items array');
  });

  test('a server handing out continue tokens forever: the list fails after KUBE_LIST_MAX_PAGES pages', async () => {
    kube = await startFakeKube();
    const { KUBE_LIST_MAX_PAGES } = await import('./kube.js');
    let pages = 0;
    const endless = (cont: string | undefined) => {
      pages++;
      // (a list that does not stop is failed here, a few pages past the bound, rather than hanging the test)
      if (pages > KUBE_LIST_MAX_PAGES + 5) return Promise.reject(new Error('the list did not stop'));
      return Promise.resolve({ items: [cont ?? 'first'], metadata: { _continue: `t${pages}` } });
    };
    await expect(listAllPages(endless)).rejects.toThrow(`more than ${KUBE_LIST_MAX_PAGES} pages`);
    expect(pages).toBe(KUBE_LIST_MAX_PAGES);
  });

  test('no page is asked for past the list\'s overall deadline', async () => {
    kube = await startFakeKube();
    let pages = 0;
    const slow = async (cont: string | undefined) => {
      pages++;
      await new Promise((r) => setTimeout(r, 30));
      return { items: [cont ?? 'first'], metadata: { _continue: `t${pages}` } };
    };
    await expect(listAllPages(slow, 100)).rejects.toThrow(DeadlineError);
    expect(pages).toBeLessThan(10);
  });
});

describe('over TLS, with the kubeconfig\'s CA and client certificate (the agent client-node builds)', () => {
  test('a read, a watch event, and an answer past the cap', async () => {
    const certs = generateCerts();
    const seen: { path: string; authorized: boolean }[] = [];
    const server = createTlsServer({ key: certs.read(certs.serverKey), cert: certs.read(certs.serverCert), ca: certs.read(certs.caCert), requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const url = new URL(req.url ?? '/', 'https://x');
      seen.push({ path: url.pathname, authorized: (req.socket as unknown as { authorized: boolean }).authorized });
      res.writeHead(200, { 'content-type': 'application/json' });
      if (url.searchParams.get('watch') === 'true') return void res.end(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'web-0' } } }) + '\n');
      if (url.pathname.endsWith('/big')) return void res.end(JSON.stringify({ metadata: { name: 'big', annotations: { pad: 'x'.repeat(128 * 1024) } } }));
      res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'shop' } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'c', server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, caFile: certs.caCert }],
        users: [{ name: 'u', certFile: certs.clientCert, keyFile: certs.clientKey }],
        contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
        currentContext: 'c',
      });
      const { core } = makeClients(kc, { maxAnswerBytes: 64 * 1024 });
      expect((await core.readNamespacedPod({ namespace: 'shop', name: 'web-0' })).metadata?.name).toBe('web-0');
      await expect(core.readNamespacedPod({ namespace: 'shop', name: 'big' })).rejects.toBeInstanceOf(AnswerTooLarge);
      const names: string[] = [];
      const err = await new Promise<unknown>((done) => void new BoundedWatch(kc).watch('/api/v1/pods', {}, (_t, obj) => void names.push((obj as V1Pod).metadata!.name!), done));
      expect(err).toBeNull();
      expect(names).toEqual(['web-0']);
      expect(seen.map((s) => s.authorized)).toEqual([true, true, true]);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('an API error\'s message is cut: the server\'s text may be of any length', async () => {
  const { ApiException } = await import('@kubernetes/client-node');
  const long = 'x'.repeat(8 * 1024 * 1024);
  for (const body of [{ kind: 'Status', message: long }, JSON.stringify({ kind: 'Status', message: long }), long]) {
    const text = apiMessage(new ApiException(500, 'failed', body, {}));
    expect(text.startsWith('HTTP 500: xxx')).toBe(true);
    expect(text.length).toBeLessThanOrEqual(1_010);
  }
  expect(apiMessage(new Error(long)).length).toBeLessThanOrEqual(1_000);
});
