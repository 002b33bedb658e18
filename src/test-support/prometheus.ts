/**
 * A real Prometheus (the Debian package's binary) on loopback for integration tests, with history
 * backfilled through promtool; and a recording HTTP(S) server that stands in for Prometheus (or
 * proxies to it) so tests can see the requests a client sends.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';
export const PROMTOOL_BIN = '/usr/bin/promtool';

export interface PrometheusOptions {
  /**
   * History to backfill before the first start, in OpenMetrics text (see openMetricsGauge); `# EOF`
   * is appended when missing. Timestamps must lie in the past: the head then starts after them.
   * Chunks (an iterable of texts, without `# EOF`) are written one at a time, for a history too
   * large to hold as one string.
   */
  openMetrics?: string | Iterable<string>;
  /** host:port of loopback exporters, one scrape job each (honor_labels: true). */
  scrapeTargets?: string[];
  /** Global scrape and rule evaluation interval. Default 15. */
  scrapeIntervalSeconds?: number;
  /**
   * PromQL's lookback delta, e.g. "30s". Prometheus's default (5m) carries a series' last sample
   * into the next 5 minutes, so a backfilled gap reads as its last value for 4 more minutes; tests
   * of per-minute backfills that want gaps to read as gaps pass something under a minute.
   */
  lookbackDelta?: string;
  /**
   * Remote-read endpoints (loopback URLs), read for recent data too: one that fails makes every
   * query's answer partial (data from the local TSDB, with a `warnings` entry naming the failure).
   */
  remoteRead?: string[];
}

export interface TestPrometheus {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The temp dir holding prometheus.yml and data/. */
  dir: string;
  /** Stops the server (SIGTERM, then SIGKILL after 10 s); the data stays for start(). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data dir (for outage tests); resolves when ready. */
  start(): Promise<void>;
  /** stop() and remove the temp dir. */
  close(): Promise<void>;
  /** The running server's process id (null while stopped), e.g. to read its CPU time. */
  pid(): number | null;
}

export function prometheusAvailable(): boolean {
  return existsSync(PROMETHEUS_BIN) && existsSync(PROMTOOL_BIN);
}

const run = promisify(execFile);

export async function startPrometheus(options: PrometheusOptions = {}): Promise<TestPrometheus> {
  if (!prometheusAvailable()) {
    throw new Error(
      `${PROMETHEUS_BIN} or ${PROMTOOL_BIN} is missing: install the Debian package "prometheus" (apt-get install prometheus), ` +
        'or skip the Prometheus tests with --testPathIgnorePatterns prometheus',
    );
  }
  const targets = options.scrapeTargets ?? [];
  for (const t of targets) {
    if (!/^(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}$/.test(t)) throw new Error(`scrape target ${t} is not a loopback host:port`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-prometheus-'));
  const data = join(dir, 'data');
  const config = join(dir, 'prometheus.yml');
  for (const u of options.remoteRead ?? []) {
    if (!/^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}\//.test(u)) throw new Error(`remote read ${u} is not a loopback URL`);
  }
  writeFileSync(config, prometheusYaml(targets, options.scrapeIntervalSeconds ?? 15, options.remoteRead ?? []));
  if (options.openMetrics !== undefined) {
    const file = join(dir, 'backfill.om');
    if (typeof options.openMetrics === 'string') {
      const text = options.openMetrics.trimEnd();
      writeFileSync(file, text.endsWith('# EOF') ? `${text}\n` : `${text}\n# EOF\n`);
    } else {
      writeFileSync(file, '');
      for (const chunk of options.openMetrics) appendFileSync(file, chunk);
      appendFileSync(file, '# EOF\n');
    }
    try {
      await run(PROMTOOL_BIN, ['tsdb', 'create-blocks-from', 'openmetrics', file, data]);
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? '';
      throw new Error(`promtool backfill failed: ${stderr || (err as Error).message}`, { cause: err });
    }
  }

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [
    `--config.file=${config}`,
    `--storage.tsdb.path=${data}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=30d',
    ...(options.lookbackDelta ? [`--query.lookback-delta=${options.lookbackDelta}`] : []),
  ];
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  // A crashed or killed test run must not leave Prometheus running.
  const killOnExit = () => child?.kill('SIGKILL');

  const start = async () => {
    if (child) return;
    let log = '';
    const proc = spawn(PROMETHEUS_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
    let dead = false;
    exited = new Promise((resolve) => proc.once('exit', () => ((dead = true), resolve())));
    process.once('exit', killOnExit);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (dead) {
        child = null;
        throw new Error(`prometheus exited during start-up:\n${log}`);
      }
      if (await ready(url)) return;
      if (Date.now() > deadline) throw new Error(`prometheus not ready within 30 s at ${url}:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const stop = async () => {
    const proc = child;
    if (!proc) return;
    process.removeListener('exit', killOnExit);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    proc.kill('SIGTERM');
    await exited;
    clearTimeout(timer);
    child = null;
  };

  await start();
  return {
    url,
    dir,
    start,
    stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    pid: () => child?.pid ?? null,
  };
}

function prometheusYaml(targets: string[], interval: number, remoteRead: string[]): string {
  const jobs = targets.map((t, i) => [
    `  - job_name: target-${i}`,
    '    honor_labels: true',
    '    static_configs:',
    `      - targets: ['${t}']`,
  ]);
  return [
    'global:',
    `  scrape_interval: ${interval}s`,
    `  evaluation_interval: ${interval}s`,
    jobs.length ? 'scrape_configs:' : 'scrape_configs: []',
    ...jobs.flat(),
    ...(remoteRead.length ? ['remote_read:', ...remoteRead.flatMap((u) => [`  - url: ${u}`, '    read_recent: true', '    remote_timeout: 2s'])] : []),
    '',
  ].join('\n');
}

async function ready(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/-/ready`);
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** A port that was free a moment ago (bind port 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * One gauge series in OpenMetrics text, without `# EOF` (so several can be concatenated; the
 * same name may repeat with other labels). `t` is epoch ms; a null `v` writes no sample, a gap.
 */
export function openMetricsGauge(name: string, labels: Record<string, string>, points: { t: number; v: number | null }[]): string {
  const labelText = Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
  const series = labelText ? `${name}{${labelText}}` : name;
  const lines = [`# TYPE ${name} gauge`];
  for (const { t, v } of points) {
    if (v === null) continue;
    const value = Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
    lines.push(`${series} ${value} ${t / 1000}`);
  }
  return lines.join('\n') + '\n';
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Whether the client presented a certificate (HTTPS servers that request one). */
  clientCert: boolean;
}

export type RecorderAnswer = { status: number; body: string; contentType?: string } | 'hang';

export interface RecorderOptions {
  /** Forward every request to this base URL (a recording proxy). Otherwise answer with `respond`. */
  target?: string;
  /** Default: 200 with an empty Prometheus matrix. */
  respond?: (req: RecordedRequest) => RecorderAnswer;
  /** Serve HTTPS with this certificate; `requestCert` asks clients for theirs (verified against `ca`). */
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer; requestCert?: boolean };
}

export interface Recorder {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** A Prometheus API success body for a range query: one entry per series. */
export function matrixBody(series: { metric?: Record<string, string>; values: [number, string][] }[] = []): string {
  return JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: series.map((s) => ({ metric: s.metric ?? {}, values: s.values })) } });
}

export async function startRecorder(options: RecorderOptions = {}): Promise<Recorder> {
  const requests: RecordedRequest[] = [];
  const respond: (req: RecordedRequest) => RecorderAnswer = options.respond ?? (() => ({ status: 200, body: matrixBody() }));
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://recorder');
    const socket = req.socket as TLSSocket;
    const clientCert = typeof socket.getPeerCertificate === 'function' && Object.keys(socket.getPeerCertificate()).length > 0;
    const recorded: RecordedRequest = { method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, headers: req.headers, clientCert };
    requests.push(recorded);
    if (options.target !== undefined) return forward(options.target, req, res);
    const answer = respond(recorded);
    if (answer === 'hang') return;
    res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'application/json' });
    res.end(answer.body);
  };
  const tls = options.tls;
  const server = tls
    ? https.createServer({ cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: tls.requestCert ?? false, rejectUnauthorized: tls.requestCert ?? false }, handler)
    : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections(); // hung requests included
        server.close(() => resolve());
      }),
  };
}

function forward(target: string, req: IncomingMessage, res: ServerResponse): void {
  const upstream = http.request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  upstream.on('error', (err) => {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`recorder: upstream failed: ${err.message}`);
  });
  req.pipe(upstream);
}
