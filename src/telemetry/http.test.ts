import { Agent, request } from 'node:http';
import { startMetricsServer, parseAddress, type MetricsServer } from './http.js';
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
