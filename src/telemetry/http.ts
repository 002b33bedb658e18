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
  /** The bounds on connections (HTTP_LIMITS by default); the tests shorten them. */
  limits?: Partial<HttpLimits>;
}

/**
 * Every connection is bounded in time and in number. Node's defaults bound neither where it
 * matters here: no idle timeout (server.timeout 0), so a client that sends a request and never
 * reads the answer held its socket — and the /metrics body buffered in it — forever; and no
 * connection limit.
 */
export interface HttpLimits {
  /**
   * A socket with nothing read or written for this long is destroyed (server.timeout: the only
   * bound that covers a response the client stops reading; Node's requestTimeout covers receiving
   * the request only). A kept-alive socket between requests closes sooner (keepAliveTimeout, 5 s).
   */
  idleTimeoutMs: number;
  /** The request's headers must have arrived within this (else 408 and close). */
  headersTimeoutMs: number;
  /** The whole request must have arrived within this (>= headersTimeoutMs, as Node requires). */
  requestTimeoutMs: number;
  /**
   * How often Node checks the two above (connectionsCheckingInterval, default 30 s: the check lags
   * by up to that much). It walks only the connections with a request in progress.
   */
  checkIntervalMs: number;
  /** Connections past this many are closed as soon as they are accepted. */
  maxConnections: number;
  /**
   * A /metrics body built less than this long ago is answered again, and requests while one is
   * being built wait for it: the body is built synchronously (prom-client), on the thread that
   * answers KEDA, in hundreds of ms with thousands of objects, and 20 scrapers at once stalled
   * GetMetrics past its deadline. Scrapers (15–60 s apart) see values at most this old.
   */
  metricsReuseMs: number;
}

// A scrape is a few hundred KB at most, the kubelet's probes a few bytes: generous for both.
export const HTTP_LIMITS: HttpLimits = {
  idleTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  checkIntervalMs: 1_000,
  maxConnections: 128,
  metricsReuseMs: 2_000,
};

export interface MetricsServer {
  port: number;
  /** Connections open now (what maxConnections counts). */
  connections(): Promise<number>;
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
  const limits = { ...HTTP_LIMITS, ...opts.limits };
  const scrape = sharedBuild(() => opts.metrics.registry.metrics(), limits.metricsReuseMs);
  const server = createServer({
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
  }, (req, res) => {
    handle(req, res, opts, scrape).catch((err: unknown) => {
      // handle() answers every error itself; this only guards against a bug there.
      opts.log?.error('metrics request failed', { error: err });
      if (!res.headersSent) send(res, 500, 'internal error');
      else res.destroy();
    });
  });
  // No 'timeout' listener anywhere: Node then destroys the idle socket itself.
  server.timeout = limits.idleTimeoutMs;
  server.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After listening, a server error (rare: e.g. EMFILE on accept) is logged, never thrown.
  server.on('error', (err) => opts.log?.error('metrics server error', { error: err }));
  // Connections refused at the limit: said at most once a minute, with how many since.
  let dropped = 0;
  let lastSaid = -Infinity;
  server.on('drop', () => {
    dropped++;
    if (Date.now() - lastSaid < 60_000) return;
    lastSaid = Date.now();
    opts.log?.warn('metrics server at its connection limit: connections refused', { maxConnections: limits.maxConnections, refused: dropped });
    dropped = 0;
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    connections: () => new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n)))),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const ROUTES = new Set(['/metrics', '/healthz', '/readyz']);

/**
 * `build`, shared: a call while one runs gets its result, and one within `reuseMs` of the last
 * success gets that (a failure is not kept).
 */
export function sharedBuild<T>(build: () => Promise<T>, reuseMs: number, clock: () => number = Date.now): () => Promise<T> {
  let running: Promise<T> | null = null;
  let last: { at: number; value: T } | null = null;
  return () => {
    if (running) return running;
    if (last && clock() - last.at < reuseMs) return Promise.resolve(last.value);
    const p = build().then(
      (value) => {
        last = { at: clock(), value };
        return value;
      },
    );
    running = p;
    const clear = () => {
      if (running === p) running = null;
    };
    p.then(clear, clear);
    return p;
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: MetricsServerOptions, scrape: () => Promise<string>): Promise<void> {
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
    body = await scrape();
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
