/**
 * Issue 20, defect 1: a ScaledObject with two triggers pointing at Amadeus sends the same name with
 * different metadata; each trigger must be answered its own value, under the metric name KEDA asks
 * about. A real Prometheus (the Debian binary on loopback) holds both series; the scaler is called
 * over gRPC exactly as KEDA polls two triggers.
 */
import * as grpc from '@grpc/grpc-js';
import { floorMinute, MINUTE_MS } from '../series/minute.js';
import type { ScaledObjectRef } from './contract.js';
import { openMetricsGauge, startPrometheus, type TestPrometheus } from '../test-support/prometheus.js';
import { startScalerHarness, triggerRef, type ScalerHarness } from '../test-support/scaler-harness.js';

// An hour of history for each series, ending three minutes ago: request rate 50, queue depth 500.
const last = floorMinute(Date.now()) - 3 * MINUTE_MS;
const flat = (v: number) => Array.from({ length: 60 }, (_, i) => ({ t: last - (59 - i) * MINUTE_MS, v }));

let prom: TestPrometheus;
let h: ScalerHarness | undefined;

beforeAll(async () => {
  prom = await startPrometheus({
    openMetrics: [openMetricsGauge('app_rps', { app: 'web' }, flat(50)), openMetricsGauge('app_queue', { app: 'web' }, flat(500))].join(''),
    lookbackDelta: '30s',
  });
}, 60_000);

afterAll(async () => {
  await prom?.close();
});

afterEach(async () => {
  await h?.stop();
  h = undefined;
});

// Reactive, no margins: each trigger's answer is its own newest minute.
const rps = (extra: Record<string, string> = {}) => triggerRef('web', { serverAddress: prom.url, query: 'app_rps{app="web"}', mode: 'reactive', ...extra });
const queue = (extra: Record<string, string> = {}) => triggerRef('web', { serverAddress: prom.url, query: 'app_queue{app="web"}', mode: 'reactive', targetValue: '100', ...extra });

/** Calls GetMetrics for each trigger until every one answers (their first refreshes have completed). */
async function untilAnswered(refs: ScaledObjectRef[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const r of refs) {
    while ((await code(h!.client.getMetrics(r, ''))) !== 'OK') {
      if (Date.now() > deadline) throw new Error(`no answer for ${r.scalerMetadata.query} within ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    return grpc.status[(err as grpc.ServiceError).code]!;
  }
}

test('two triggers of one ScaledObject are each answered their own value, poll after poll, without re-reading', async () => {
  // The real clock: a refresh a minute, as in production.
  h = await startScalerHarness({ speed: 1 });
  const triggers = [
    { ref: rps(), truth: 50 },
    { ref: queue(), truth: 500 },
  ];
  const started = Date.now();
  for (const t of triggers) await h.client.getMetricSpec(t.ref);
  await untilAnswered(triggers.map((t) => t.ref));
  const wrong: string[] = [];
  // KEDA's pattern for a ScaledObject with two Amadeus triggers: each trigger's calls in turn.
  for (let poll = 0; poll < 25; poll++) {
    for (const t of triggers) {
      const spec = await h.client.getMetricSpec(t.ref);
      const value = (await h.client.getMetrics(t.ref, spec.metricSpecs[0]!.metricName)).metricValues[0]!.metricValueFloat;
      if (value !== t.truth) wrong.push(`poll ${poll}: ${t.ref.scalerMetadata.query} answered ${value}, not ${t.truth}`);
      expect((await h.client.isActive(t.ref)).result).toBe(true);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(wrong).toEqual([]);
  expect(h.registry.size).toBe(2);
  // One cold read each, then at most one a minute: no reconfiguration re-reads.
  const minutes = Math.ceil((Date.now() - started) / MINUTE_MS) + 1;
  for (const t of triggers) expect(h.reads.get(t.ref.scalerMetadata.query!)).toBeLessThanOrEqual(minutes);
  expect(h.lines.filter((l) => l.msg === 'registered ScaledObject')).toHaveLength(2);
});

test('distinct metric names per trigger route GetMetrics; a single trigger keeps the default name; a trigger no longer polled expires', async () => {
  h = await startScalerHarness({ speed: 1, idleTimeoutMs: 1500 });
  const a = rps({ metricName: 'web-rps' });
  const b = queue({ metricName: 'web-queue' });
  expect((await h.client.getMetricSpec(a)).metricSpecs.map((s) => s.metricName)).toEqual(['web-rps']);
  expect((await h.client.getMetricSpec(b)).metricSpecs.map((s) => s.metricName)).toEqual(['web-queue']);
  await untilAnswered([a, b]);
  // KEDA strips its "s<index>-" prefix before calling; with or without it, each name answers its own trigger.
  expect((await h.client.getMetrics(a, 'web-rps')).metricValues[0]).toMatchObject({ metricName: 'web-rps', metricValueFloat: 50 });
  expect((await h.client.getMetrics(b, 's1-web-queue')).metricValues[0]).toMatchObject({ metricName: 's1-web-queue', metricValueFloat: 500 });
  expect((await h.client.getMetrics(b, '')).metricValues[0]).toMatchObject({ metricName: 'web-queue', metricValueFloat: 500 });
  // A name this trigger does not serve is never answered with its value.
  expect(await code(h.client.getMetrics(a, 'web-queue'))).toBe('NOT_FOUND');
  // Each trigger's own series in Amadeus's metrics.
  const planned = h.registry.servedStates().map((s) => [s.metric, s.planned]);
  expect(planned).toEqual(expect.arrayContaining([['web-rps', 50], ['web-queue', 500]]));

  // Only trigger b is still polled: a expires (memory stays bounded), b stays.
  const until = Date.now() + 4000;
  while (Date.now() < until && h.registry.size > 1) {
    await h.client.getMetrics(b, 'web-queue');
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(h.registry.size).toBe(1);
  expect(h.registry.get('shop', 'web')!.config.metricName).toBe('web-queue');

  // A ScaledObject with one trigger is answered exactly as before: the default name.
  const single = triggerRef('single', { serverAddress: prom.url, query: 'app_rps{app="web"}', mode: 'reactive' });
  expect((await h.client.getMetricSpec(single)).metricSpecs[0]!.metricName).toBe('amadeus-predicted-load');
  await untilAnswered([single]);
  expect((await h.client.getMetrics(single, 'amadeus-predicted-load')).metricValues[0]!.metricValueFloat).toBe(50);
  expect((await h.client.getMetrics(single, 's0-amadeus-predicted-load')).metricValues[0]!.metricValueFloat).toBe(50);
}, 30_000);
