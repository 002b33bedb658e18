/**
 * Deadlines on the Kubernetes API (client-node 1.x sets none): every request through makeClients
 * settles by its deadline against a loopback server that never answers or trickles; pod watches
 * ask the server to end them, have a connect deadline and a client-side guard; lists come in pages.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, type V1Pod, type V1PodList } from '@kubernetes/client-node';
import { DeadlineError } from '../deadline/deadline.js';
import { silentLogger } from '../telemetry/logger.js';
import { startFakeKube, type FakeKube } from '../test-support/fake-kube.js';
import { emitEvent } from './events.js';
import { BoundedWatch, KUBE_LIST_PAGE, KUBE_WATCH, listAllPages, makeBoundedInformer, makeClients, watchTimeoutSeconds } from './kube.js';
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
    const informer = makeBoundedInformer<V1Pod>(kube.kubeConfig(), '/api/v1/namespaces/shop/pods', pages(kube, KUBE_LIST_PAGE), undefined, { timeoutSeconds: () => 1 });
    const errors: unknown[] = [];
    const added: string[] = [];
    informer.on('error', (e) => void errors.push(e));
    informer.on('add', (p) => void added.push(p.metadata!.name!));
    await informer.start();
    const watches = () => kube.requests.filter((r) => r.query.watch === 'true');
    await until(() => watches().length >= 2, 5000); // the server ended the first after 1 s
    kube.put(pod('web-1'));
    await until(() => added.includes('web-1'), 2000);
    expect(errors).toEqual([]); // (stopping reports an AbortError, as client-node's own informer does)
    await informer.stop();
    expect(watches()[0].query.timeoutSeconds).toBe('1');
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

describe('a watch on a silent server', () => {
  let server: Awaited<ReturnType<typeof loopback>> | undefined;
  afterEach(() => server?.close());

  test('connecting has a deadline: no headers, an error', async () => {
    server = await loopback(() => undefined);
    const watch = new BoundedWatch(kubeConfigFor(server.url), { connectMs: 200 });
    const t0 = Date.now();
    const err = await new Promise<unknown>((done) => void watch.watch('/api/v1/pods', {}, () => undefined, done));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toContain('timeout');
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
});

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
