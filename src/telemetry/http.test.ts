import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { waitFor } from '../test-support/fakes.js';
import { startMetricsServer, parseAddress, HTTP_LIMITS, type MetricsServer } from './http.js';
import { createLogger } from './logger.js';
import { ScalerMetrics } from './metrics.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let server: MetricsServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

test('serves /metrics, /healthz and /readyz over real HTTP', async () => {
  const metrics = new ScalerMetrics({ defaultMetrics: false });
  metrics.recordRefresh({ namespace: 'shop', name: 'frontend', at: 0, observed: 12.5, horizon: 1, forecast: { model: 'lstm', values: [14] } });
  let ready = true;
  server = await startMetricsServer({ address: '127.0.0.1:0', metrics, ready: () => ready });
  expect(server.port).toBeGreaterThan(0);

  const m = await call(server.port, '/metrics');
  expect(m.status).toBe(200);
  expect(m.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  expect(m.body).toContain('amadeus_observed_load{namespace="shop",scaledobject="frontend"} 12.5');
  expect((await call(server.port, '/metrics?x=1')).status).toBe(200);

  expect(await call(server.port, '/healthz')).toMatchObject({ status: 200, body: 'ok' });
  expect((await call(server.port, '/readyz')).status).toBe(200);
  ready = false;
  expect((await call(server.port, '/readyz')).status).toBe(503);
  expect((await call(server.port, '/healthz')).status).toBe(200); // liveness does not follow readiness
});

test('404 for unknown paths, 405 for other methods, HEAD like GET without a body', async () => {
  server = await startMetricsServer({ address: '127.0.0.1:0', metrics: new ScalerMetrics({ defaultMetrics: false }), ready: () => true });
  expect((await call(server.port, '/')).status).toBe(404);
  expect((await call(server.port, '/metricsx')).status).toBe(404);
  const post = await call(server.port, '/metrics', 'POST');
  expect(post.status).toBe(405);
  expect(post.headers.allow).toBe('GET, HEAD');
  expect((await call(server.port, '/healthz', 'DELETE')).status).toBe(405);
  expect(await call(server.port, '/healthz', 'HEAD')).toMatchObject({ status: 200, body: '' });
});

test('a failing collect answers 500 and logs; a throwing ready() is not ready', async () => {
  const lines: string[] = [];
  const log = createLogger({ sink: (l) => lines.push(l) });
  const metrics = new ScalerMetrics({ defaultMetrics: false });
  metrics.setSnapshotSource(() => {
    throw new Error('registry gone');
  });
  const ready = () => {
    throw new Error('no');
  };
  server = await startMetricsServer({ address: '127.0.0.1:0', metrics, ready, log });
  expect((await call(server.port, '/metrics')).status).toBe(500);
  expect((await call(server.port, '/readyz')).status).toBe(503);
  expect(lines.map((l) => JSON.parse(l) as { level: string; msg: string; error?: string })).toContainEqual(
    expect.objectContaining({ level: 'error', msg: 'metrics collection failed', error: 'registry gone' }),
  );
  expect((await call(server.port, '/healthz')).status).toBe(200); // still serving
});

test('close() resolves with an idle keep-alive connection open', async () => {
  server = await startMetricsServer({ address: '127.0.0.1:0', metrics: new ScalerMetrics({ defaultMetrics: false }), ready: () => true });
  const agent = new Agent({ keepAlive: true });
  await new Promise<void>((resolve, reject) => {
    request({ host: '127.0.0.1', port: server!.port, path: '/healthz', agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    })
      .on('error', reject)
      .end();
  });
  await server.close();
  server = null;
  agent.destroy();
});

test('parseAddress', () => {
  expect(parseAddress('0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
  expect(parseAddress('[::1]:0')).toEqual({ host: '::1', port: 0 });
  for (const bad of ['9464', ':9464', 'host:', 'host:70000', 'host:x']) expect(() => parseAddress(bad)).toThrow('host:port');
});

test('a port in use rejects the start', async () => {
  server = await startMetricsServer({ address: '127.0.0.1:0', metrics: new ScalerMetrics({ defaultMetrics: false }), ready: () => true });
  await expect(
    startMetricsServer({ address: `127.0.0.1:${server.port}`, metrics: new ScalerMetrics({ defaultMetrics: false }), ready: () => true }),
  ).rejects.toThrow(/EADDRINUSE/);
});

describe('every connection is bounded in time and in number', () => {
  const sockets: Socket[] = [];
  const open = (port: number) =>
    new Promise<Socket>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(s)).on('error', reject);
      sockets.push(s);
    });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
  });
  /** Polls the server's own count of open connections (no timing assumed but a generous cap). */
  const untilConnections = async (n: number, what: string) => {
    const deadline = Date.now() + 10_000;
    while ((await server!.connections()) !== n) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  /** A /metrics body far larger than the loopback socket buffers: its write never completes unread. */
  const huge = { registry: { metrics: () => Promise.resolve('x'.repeat(64 * 1024 * 1024)), contentType: 'text/plain' } } as unknown as ScalerMetrics;

  test('the defaults', () => {
    expect(HTTP_LIMITS).toEqual({ idleTimeoutMs: 30_000, headersTimeoutMs: 10_000, requestTimeoutMs: 10_000, checkIntervalMs: 1_000, maxConnections: 128, metricsReuseMs: 2_000 });
  });

  test('a client that connects and never sends is disconnected', async () => {
    server = await startMetricsServer({ address: '127.0.0.1:0', metrics: new ScalerMetrics({ defaultMetrics: false }), ready: () => true, limits: { idleTimeoutMs: 200 } });
    const s = await open(server.port);
    s.on('error', () => {});
    s.resume();
    let closed = false;
    s.on('close', () => (closed = true));
    await waitFor(() => closed, 10_000, 'the silent client disconnected');
    expect(await server.connections()).toBe(0);
  });

  test('a client that sends headers slowly, byte by byte, is answered 408 and disconnected (headersTimeout)', async () => {
    server = await startMetricsServer({
      address: '127.0.0.1:0',
      metrics: new ScalerMetrics({ defaultMetrics: false }),
      ready: () => true,
      limits: { headersTimeoutMs: 300, requestTimeoutMs: 300, checkIntervalMs: 100 },
    });
    const s = await open(server.port);
    let answer = '';
    let closed = false;
    s.on('data', (d: Buffer) => (answer += d.toString()));
    s.on('error', () => {});
    s.on('close', () => (closed = true));
    // Activity every 50 ms keeps the idle timeout (30 s) from firing: only the headers deadline ends it.
    const request = 'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'y'.repeat(10_000);
    let i = 0;
    const drip = setInterval(() => !s.destroyed && s.write(request[i++ % request.length]!), 50);
    try {
      await waitFor(() => closed, 10_000, 'the slow client disconnected');
    } finally {
      clearInterval(drip);
    }
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });

  test('a client that asks for /metrics and never reads the answer is disconnected, and its buffered body freed', async () => {
    server = await startMetricsServer({ address: '127.0.0.1:0', metrics: huge, ready: () => true, limits: { idleTimeoutMs: 300 } });
    const s = await open(server.port);
    s.on('error', () => {});
    s.pause(); // never reads
    s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
    await untilConnections(0, 'the server to drop the non-reading client');
  });

  test('connections past maxConnections are refused; one closing makes room', async () => {
    const lines: string[] = [];
    const log = createLogger({ sink: (l) => lines.push(l) });
    server = await startMetricsServer({ address: '127.0.0.1:0', metrics: new ScalerMetrics({ defaultMetrics: false }), ready: () => true, log, limits: { maxConnections: 2 } });
    const a = await open(server.port);
    await open(server.port);
    await untilConnections(2, 'two connections');
    // The third is accepted by the kernel and closed at once by the server: the request fails.
    await expect(call(server.port, '/healthz')).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(await server.connections()).toBe(2);
    await expect(call(server.port, '/healthz')).rejects.toThrow(/socket hang up|ECONNRESET/);
    // Said once (at most once a minute), not once per refused connection.
    const said = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'metrics server at its connection limit: connections refused');
    expect(said).toEqual([expect.objectContaining({ level: 'warn', maxConnections: 2, refused: 1 })]);
    a.destroy();
    await untilConnections(1, 'one connection');
    expect((await call(server.port, '/healthz')).status).toBe(200);
  });
});

describe('the /metrics body is built once for requests at once and reused briefly (it is built on the thread that answers KEDA)', () => {
  test('twenty scrapers at once: one build; within metricsReuseMs the same body; after it, a new one', async () => {
    const metrics = new ScalerMetrics({ defaultMetrics: false });
    let builds = 0;
    const real = metrics.registry.metrics.bind(metrics.registry);
    metrics.registry.metrics = async () => {
      builds++;
      return real();
    };
    metrics.recordRefresh({ namespace: 'shop', name: 'a', at: 0, observed: 1, horizon: 1, forecast: { model: 'lstm', values: [2] } });
    server = await startMetricsServer({ address: '127.0.0.1:0', metrics, ready: () => true, limits: { metricsReuseMs: 500 } });
    const port = server.port;
    const replies = await Promise.all(Array.from({ length: 20 }, () => call(port, '/metrics')));
    expect(replies.every((r) => r.status === 200 && r.body.includes('amadeus_observed_load{namespace="shop",scaledobject="a"} 1'))).toBe(true);
    expect(builds).toBe(1);
    metrics.recordRefresh({ namespace: 'shop', name: 'a', at: 0, observed: 7, horizon: 1, forecast: { model: 'lstm', values: [2] } });
    expect((await call(port, '/metrics')).body).toContain('scaledobject="a"} 1\n');
    await new Promise((r) => setTimeout(r, 600));
    expect((await call(port, '/metrics')).body).toContain('amadeus_observed_load{namespace="shop",scaledobject="a"} 7');
    expect(builds).toBe(2);
  });

  test('a failed build is not kept: the next request builds again', async () => {
    const { sharedBuild } = await import('./http.js');
    let n = 0;
    const build = sharedBuild(async () => {
      n++;
      if (n === 1) throw new Error('boom');
      return `body ${n}`;
    }, 10_000);
    await expect(build()).rejects.toThrow('boom');
    await expect(build()).resolves.toBe('body 2');
    await expect(build()).resolves.toBe('body 2');
    expect(n).toBe(2);
  });
});
