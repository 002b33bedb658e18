/**
 * End to end against a real Prometheus (the Debian binary on 127.0.0.1): history backfilled with
 * promtool, `amadeus serve` computing plans from it and answering over gRPC, Prometheus scraping
 * Amadeus's /metrics, every dashboard query returning data, and an outage with its fallbacks.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { startServe, type RunningServer } from '../cli/serve.js';
import { parseOptions } from '../config/options.js';
import { SERVE_OPTIONS } from '../cli/options/serve.js';
import { createScalerClient, type ScalerClient } from '../scaler/client.js';
import type { ScaledObjectRef } from '../scaler/contract.js';
import { MINUTE_MS, floorMinute } from '../series/minute.js';
import { dashboardQueries, type GrafanaDashboard } from '../telemetry/dashboard-queries.js';
import { silentLogger } from '../telemetry/logger.js';
import { waitFor } from '../test-support/fakes.js';
import { openMetricsGauge, startPrometheus, type TestPrometheus } from '../test-support/prometheus.js';

const dashboard = JSON.parse(readFileSync(new URL('../../keda/grafana/amadeus-dashboard.json', import.meta.url), 'utf8')) as GrafanaDashboard;

// Four hours of per-minute history ending 3 minutes ago, with a 20-minute gap; the value at minute k
// (k minutes before the last one) is written at that minute's end, as the source reads it. From
// Prometheus's start the same series goes on live, flat at its last value (scraped from the stand-in
// below with the backfill's labels): a series whose newest sample is 5 minutes old has stopped, and
// the scaler treats it as a failing source.
const last = floorMinute(Date.now()) - 3 * MINUTE_MS;
const webAt = (k: number) => Math.round((100 + 30 * Math.sin(k / 25)) * 100) / 100;
const history = (f: (k: number) => number) =>
  Array.from({ length: 240 }, (_, i) => 239 - i).map((k) => ({ t: last - k * MINUTE_MS, v: k >= 100 && k < 120 ? null : f(k) }));

let prom: TestPrometheus;
let amadeus: RunningServer;
let client: ScalerClient;
let ksm: Server;

const WEB_LABELS = { app: 'web', job: 'web', instance: 'web-0' };

/** A stand-in for kube-state-metrics (the replica count the dashboard plots beside the plan) and the web app's live gauge. */
function startKubeStateMetrics(): Promise<Server> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(
      '# TYPE kube_deployment_status_replicas gauge\nkube_deployment_status_replicas{namespace="shop",deployment="web"} 3\n' +
        `# TYPE app_requests_per_second gauge\napp_requests_per_second{app="web",job="web",instance="web-0"} ${webAt(0)}\n`,
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function instant(expr: string): Promise<unknown[]> {
  const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; data?: { result: unknown[] }; error?: string };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  return body.data!.result;
}

const ref = (name: string, metadata: Record<string, string>): ScaledObjectRef => ({ name, namespace: 'shop', scalerMetadata: { targetValue: '20', ...metadata } });

// Its own weights and state directory: a snapshot left by an earlier run would be adopted.
const weightsDir = mkdtempSync(join(tmpdir(), 'amadeus-e2e-weights-'));

beforeAll(async () => {
  ksm = await startKubeStateMetrics();
  const opts = parseOptions(SERVE_OPTIONS, ['--address', '127.0.0.1:0', '--metrics-address', '127.0.0.1:0', '--plan-ttl', '65', '--replay', '--replay-speed', '150', '--fine-tune', 'false', '--no-inference-worker', '--weights-dir', weightsDir], {});
  amadeus = await startServe(opts, silentLogger);
  client = createScalerClient(`127.0.0.1:${amadeus.server.port}`);
  prom = await startPrometheus({
    openMetrics: [
      openMetricsGauge('app_requests_per_second', WEB_LABELS, history(webAt)),
      openMetricsGauge('app_requests_per_second', { app: 'dup', instance: 'a' }, history(() => 1)),
      openMetricsGauge('app_requests_per_second', { app: 'dup', instance: 'b' }, history(() => 2)),
    ].join(''),
    scrapeTargets: [`127.0.0.1:${amadeus.metricsPort}`, `127.0.0.1:${(ksm.address() as AddressInfo).port}`],
    scrapeIntervalSeconds: 1,
    lookbackDelta: '30s',
  });
}, 60_000);

afterAll(async () => {
  client?.close();
  await amadeus?.stop();
  await prom?.close();
  await new Promise((r) => ksm?.close(r));
  rmSync(weightsDir, { recursive: true, force: true });
});

// Reactive with no margin: the answer is the newest observed minute itself.
const web = () => ref('web', { serverAddress: prom.url, query: 'app_requests_per_second{app="web"}', mode: 'reactive', headroom: '0', noiseMargin: '0', surgeNoiseMargin: '0' });

test('plans from Prometheus history end to end: GetMetrics answers the last observed minute over gRPC', async () => {
  await client.getMetricSpec(web());
  await waitFor(() => amadeus.registry.get('shop', 'web')?.plan != null, 10_000, 'a plan from Prometheus');
  const value = (await client.getMetrics(web(), 'amadeus-predicted-load')).metricValues[0]!;
  // Reactive: exactly the newest observed minute (the minutes between the backfill and the live
  // samples are gaps, not zeros).
  expect(value.metricValueFloat).toBe(webAt(0));
  expect(value.metricValue).toBe(Math.ceil(webAt(0)));
  expect((await client.isActive(web())).result).toBe(true);

  // The predictive default (the LSTM gated by live accuracy) plans from the same history.
  const auto = ref('web-auto', { serverAddress: prom.url, query: 'app_requests_per_second{app="web"}' });
  await client.getMetricSpec(auto);
  await waitFor(() => amadeus.registry.get('shop', 'web-auto')?.plan != null, 10_000, 'a predictive plan');
  const planned = (await client.getMetrics(auto, '')).metricValues[0]!.metricValueFloat;
  expect(planned).toBeGreaterThanOrEqual(webAt(0)); // a forecast may only add capacity
  expect(amadeus.registry.get('shop', 'web-auto')!.plan!.model).toBe('lstm');
});

test('a query returning two series is INVALID_ARGUMENT naming the key, and nothing is made up', async () => {
  const dup = ref('dup', { serverAddress: prom.url, query: 'app_requests_per_second{app="dup"}' });
  await client.getMetricSpec(dup);
  await waitFor(() => amadeus.registry.get('shop', 'dup')?.lastError != null, 10_000, 'the error');
  expect(amadeus.registry.get('shop', 'dup')!.lastError).toMatch(/returned 2 series; it must return exactly one/);
  const wrong = { code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/^ScaledObject shop\/dup: metadata "query": .*returned 2 series; it must return exactly one: aggregate it/) };
  await expect(client.getMetrics(dup, '')).rejects.toMatchObject(wrong);
  await expect(client.isActive(dup)).rejects.toMatchObject(wrong);
});

test('PromQL that Prometheus cannot parse is INVALID_ARGUMENT naming the key and quoting Prometheus', async () => {
  // A typo in cpuQuery, beside a good query: the key at fault is the one named.
  const typo = ref('typo', { serverAddress: prom.url, query: 'app_requests_per_second{app="web"}', cpuQuery: 'sum(rate(container_cpu_usage_seconds_total[1m]' });
  await client.getMetricSpec(typo);
  await waitFor(() => amadeus.registry.get('shop', 'typo')?.lastError != null, 10_000, 'the error');
  const entry = amadeus.registry.get('shop', 'typo')!;
  expect(entry.cause).toBe('query');
  expect(entry.plan).toBeNull();
  await expect(client.getMetrics(typo, '')).rejects.toMatchObject({
    code: grpc.status.INVALID_ARGUMENT,
    details: expect.stringMatching(/^ScaledObject shop\/typo: metadata "cpuQuery": .*rejects the query: bad_data: .*parse error: unclosed left parenthesis/),
  });
});

test('StreamIsActive on a query Prometheus cannot parse ends with INVALID_ARGUMENT naming the key, opened before the first read or after', async () => {
  const early = ref('typo-stream', { serverAddress: prom.url, query: 'sum(rate(app_requests_per_second{app="web"}[1m]' });
  const wrong = { code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/^ScaledObject shop\/typo-stream: metadata "query": .*parse error/) };
  const ended = (r: ScaledObjectRef) =>
    new Promise<grpc.ServiceError>((resolve, reject) => {
      const stream = client.streamIsActive(r);
      stream.on('data', (m: unknown) => reject(new Error(`a state was sent: ${JSON.stringify(m)}`)));
      stream.on('error', resolve);
    });
  // Opened first: the stream registers the trigger, waits for its first state, and ends when the read fails.
  await expect(ended(early)).resolves.toMatchObject(wrong);
  // Opened once the fault is known: refused at once, as IsActive is.
  await expect(ended(early)).resolves.toMatchObject(wrong);
  await expect(client.isActive(early)).rejects.toMatchObject(wrong);
});

test('bad serverAddress or a missing query is INVALID_ARGUMENT naming the key', async () => {
  await expect(client.getMetricSpec(ref('bad', { serverAddress: 'not a url', query: 'up' }))).rejects.toMatchObject({
    code: grpc.status.INVALID_ARGUMENT,
    details: expect.stringMatching(/metadata "serverAddress" must be/),
  });
  await expect(client.getMetricSpec(ref('noquery', { serverAddress: prom.url }))).rejects.toMatchObject({
    code: grpc.status.INVALID_ARGUMENT,
    details: expect.stringMatching(/metadata "query" is required/),
  });
});

test('every dashboard query returns data from the real Prometheus', async () => {
  // An object on the accelerated replay source: ten virtual minutes pass in four seconds, so the
  // forecast made `horizon` minutes ago comes due and the actual-vs-predicted overlay has data.
  await client.getMetricSpec(ref('web-replay', {}));
  amadeus.metrics.heal('raise-memory-limit', 'applied'); // the healer's counter, as it will record actions
  amadeus.metrics.healerWatch('shop', true); // and its pod watch, as it will report it
  const queries = dashboardQueries(dashboard);
  expect(queries.length).toBeGreaterThanOrEqual(10);
  const empty = async () => {
    const out: string[] = [];
    for (const q of queries) if ((await instant(q.expr)).length === 0) out.push(`${q.panel}: ${q.expr}`);
    return out;
  };
  const deadline = Date.now() + 30_000;
  let missing = await empty();
  while (missing.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    missing = await empty();
  }
  expect(missing).toEqual([]);
}, 45_000);

test('Prometheus stopped mid-run: the last good plan, fresh then stale, never less, with reasons; recovery when it returns', async () => {
  const state = () => amadeus.registry.get('shop', 'web')!;
  await waitFor(() => state().plan !== null && !state().sourceFailing, 10_000, 'a healthy plan');
  const before = (await client.getMetrics(web(), '')).metricValues[0]!.metricValueFloat;
  await prom.stop();
  // The source asks Prometheus only when a new minute has completed, so the outage shows at the
  // next minute's refresh (within 70 s).
  await waitFor(() => state().sourceFailing, 80_000, 'the outage noticed');
  // On a loaded machine the failing refresh can come late, after the plan's TTL has run out: then
  // the notice is already `stale-plan`. Which one is right follows from the plan's age, read on
  // both sides of the answer (the registry's clock is the wall clock).
  const ageBefore = Date.now() - state().lastGoodAt!;
  const noticed = amadeus.registry.served(state()).reason;
  const ageAfter = Date.now() - state().lastGoodAt!;
  if (ageAfter <= 65_000) expect(noticed).toBe('last-plan');
  else if (ageBefore > 65_000) expect(noticed).toBe('stale-plan');
  else expect(['last-plan', 'stale-plan']).toContain(noticed);
  expect((await client.getMetrics(web(), '')).metricValues[0]!.metricValueFloat).toBe(before);
  // The plan ages from when it was made, at most a minute before the failing refresh (hence a TTL
  // of 65 s): it runs out within 65 s.
  await waitFor(() => amadeus.registry.served(state()).reason === 'stale-plan', 70_000, 'the plan TTL to pass');
  // Never less than the last good plan, never inactive (UNAVAILABLE only after maxOutageSeconds).
  expect((await client.getMetrics(web(), '')).metricValues[0]!.metricValueFloat).toBe(before);
  expect((await client.isActive(web())).result).toBe(true);
  expect(state().lastError).toMatch(/cannot reach Prometheus/);
  await prom.start();
  // Refreshes come once a minute (at 10 s past it): recovery shows at the next one.
  await waitFor(() => !state().sourceFailing, 80_000, 'recovery');
  expect(amadeus.registry.served(state()).reason).toBe('reactive');
}, 240_000);
