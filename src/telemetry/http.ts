/**
 * The telemetry HTTP server: `/metrics` for Prometheus, `/healthz` and `/readyz` for the kubelet.
 * node:http only: three fixed routes need no framework, and nothing here may take the scaler down.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';
import type { ScalerMetrics } from './metrics.js';

export interface MetricsServerOptions {
  /** host:port (IPv6 in brackets); port 0 picks a free one. */
  address: string;
  metrics: ScalerMetrics;
  /** /readyz answers 200 while this is true, 503 otherwise. */
  ready: () => boolean;
  log?: Logger;
}

export interface MetricsServer {
  port: number;
  /** Stops listening and drops open (keep-alive) connections, so shutdown never waits on a scraper. */
  close(): Promise<void>;
}

export function parseAddress(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new Error(`metrics address must be host:port, got "${address}"`);
  return { host: match[1] ?? match[2], port };
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const { host, port } = parseAddress(opts.address);
  const server = createServer((req, res) => {
    handle(req, res, opts).catch((err: unknown) => {
      // handle() answers every error itself; this only guards against a bug there.
      opts.log?.error('metrics request failed', { error: err });
      if (!res.headersSent) send(res, 500, 'internal error');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After listening, a server error (rare: e.g. EMFILE on accept) is logged, never thrown.
  server.on('error', (err) => opts.log?.error('metrics server error', { error: err }));
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const ROUTES = new Set(['/metrics', '/healthz', '/readyz']);

async function handle(req: IncomingMessage, res: ServerResponse, opts: MetricsServerOptions): Promise<void> {
  // A client that goes away mid-answer must not surface as an unhandled 'error' event.
  req.on('error', () => {});
  res.on('error', () => {});
  const path = (req.url ?? '/').split('?')[0];
  if (!ROUTES.has(path)) return send(res, 404, 'not found');
  // HEAD as well: HTTP requires it wherever GET works (Node then sends no body).
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });

  if (path === '/healthz') return send(res, 200, 'ok');
  if (path === '/readyz') {
    let ready = false;
    try {
      ready = opts.ready();
    } catch (err) {
      opts.log?.warn('readiness check failed', { error: err });
    }
    return ready ? send(res, 200, 'ready') : send(res, 503, 'not ready');
  }
  let body: string;
  try {
    body = await opts.metrics.registry.metrics();
  } catch (err) {
    opts.log?.error('metrics collection failed', { error: err });
    return send(res, 500, 'metrics collection failed');
  }
  send(res, 200, body, { 'Content-Type': opts.metrics.registry.contentType });
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}
