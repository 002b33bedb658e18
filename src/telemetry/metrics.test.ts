import { ScalerMetrics, type RefreshRecord, type ServedState } from './metrics.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2024, 0, 1, 12, 0);

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format, so every assertion also checks what a scraper reads. */
async function scrape(m: ScalerMetrics): Promise<Sample[]> {
  const text = await m.registry.metrics();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (match[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

function pick(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function refresh(minute: number, values: number[] | null, extra: Partial<RefreshRecord> = {}): RefreshRecord {
  return {
    namespace: 'shop',
    name: 'frontend',
    at: T0 + minute * MINUTE,
    observed: 10 + minute,
    horizon: values?.length ?? 10,
    forecast: values ? { model: 'lstm', values } : null,
    ...extra,
  };
}

/** A forecast whose +h value encodes the minute it was made: 100·minute + h. */
const made = (minute: number, h = 10) => Array.from({ length: h }, (_, i) => 100 * minute + i + 1);

const so = { namespace: 'shop', scaledobject: 'frontend' };

test('due = the +H value of the forecast made H minutes earlier, exactly', async () => {
  const m = new ScalerMetrics({ defaultMetrics: false });
  m.recordRefresh(refresh(0, made(0)));
  expect(pick(await scrape(m), 'amadeus_forecast_load_due')).toEqual([]); // nothing made 10 min ago
  m.recordRefresh({ ...refresh(10, made(10)), at: T0 + 10 * MINUTE + 45_000 }); // within minute 10
  const due = pick(await scrape(m), 'amadeus_forecast_load_due', so);
  expect(due).toHaveLength(1);
  expect(due[0].value).toBe(made(0)[9]);
  expect(pick(await scrape(m), 'amadeus_observed_load', so)[0].value).toBe(20);
});

test('due: the latest forecast of a minute wins, and a missing minute drops the series', async () => {
  const m = new ScalerMetrics({ defaultMetrics: false });
  m.recordRefresh(refresh(0, made(0)));
  m.recordRefresh({ ...refresh(0, made(7)), at: T0 + 30_000 }); // a second refresh in minute 0
  m.recordRefresh(refresh(3, made(3)));
  m.recordRefresh(refresh(10, made(10)));
  expect(pick(await scrape(m), 'amadeus_forecast_load_due', so)[0].value).toBe(710);
  m.recordRefresh(refresh(12, made(12))); // nothing was made at minute 2
  expect(pick(await scrape(m), 'amadeus_forecast_load_due', so)).toEqual([]);
  m.recordRefresh(refresh(13, made(13)));
  expect(pick(await scrape(m), 'amadeus_forecast_load_due', so)[0].value).toBe(310);
});

test('forecast_load has one series per horizon minute, replaced at each refresh', async () => {
  const m = new ScalerMetrics({ defaultMetrics: false });
  m.recordRefresh(refresh(0, made(0, 5)));
  let series = pick(await scrape(m), 'amadeus_forecast_load', so);
  expect(series.map((s) => [s.labels.horizon, s.value])).toEqual([
    ['1', 1],
    ['2', 2],
    ['3', 3],
    ['4', 4],
    ['5', 5],
  ]);
  m.recordRefresh(refresh(1, made(1, 3)));
  series = pick(await scrape(m), 'amadeus_forecast_load', so);
  expect(series.map((s) => [s.labels.horizon, s.value])).toEqual([
    ['1', 101],
    ['2', 102],
    ['3', 103],
  ]);
  m.recordRefresh(refresh(2, null, { horizon: 3 })); // the forecaster failed: no forecast to show
  expect(pick(await scrape(m), 'amadeus_forecast_load', so)).toEqual([]);
});

test('forecast error gauges follow the gate: mae and mape per model, stale models removed', async () => {
  const m = new ScalerMetrics({ defaultMetrics: false });
  const gate = { reason: 'lstm-best', mae: { lstm: 1.5, 'holt-winters': 2 }, relativeError: { lstm: 0.05 } };
  m.recordRefresh({ ...refresh(0, made(0)), forecast: { model: 'lstm', values: made(0), gate } });
  const errors = pick(await scrape(m), 'amadeus_forecast_error', so).map((s) => [s.labels.model, s.labels.stat, s.value]);
  expect(errors).toEqual(
    expect.arrayContaining([
      ['lstm', 'mae', 1.5],
      ['holt-winters', 'mae', 2],
      ['lstm', 'mape', 0.05],
    ]),
  );
  expect(errors).toHaveLength(3);
  m.recordRefresh({ ...refresh(1, made(1)), forecast: { model: 'lstm', values: made(1), gate: { reason: 'warming-up', mae: { lstm: 3 } } } });
  expect(pick(await scrape(m), 'amadeus_forecast_error', so).map((s) => [s.labels.model, s.labels.stat, s.value])).toEqual([['lstm', 'mae', 3]]);
});

test('snapshot-driven gauges change between scrapes without a refresh; reason and model keep one series', async () => {
  const m = new ScalerMetrics({ defaultMetrics: false });
  const states: ServedState[] = [
    { namespace: 'shop', name: 'frontend', observed: 40, planned: 55, reason: 'forecast', model: 'lstm' },
    { namespace: 'shop', name: 'cart', observed: 5, planned: null, reason: null, model: null },
  ];
  m.setSnapshotSource(() => states);
  let s = await scrape(m);
  expect(pick(s, 'amadeus_planned_value', so).map((x) => x.value)).toEqual([55]);
  expect(pick(s, 'amadeus_plan_reason', so).map((x) => [x.labels.reason, x.value])).toEqual([['forecast', 1]]);
  expect(pick(s, 'amadeus_model_in_use', so).map((x) => [x.labels.model, x.value])).toEqual([['lstm', 1]]);
  expect(pick(s, 'amadeus_planned_value', { scaledobject: 'cart' })).toEqual([]);
  expect(pick(s, 'amadeus_observed_load', { scaledobject: 'cart' })[0].value).toBe(5);
  expect(pick(s, 'amadeus_scaled_objects')[0].value).toBe(2);

  // The source fails past the plan TTL: only the served state changes.
  states[0] = { ...states[0], planned: 44, reason: 'stale-plan', model: null };
  states.pop();
  s = await scrape(m);
  expect(pick(s, 'amadeus_planned_value', so).map((x) => x.value)).toEqual([44]);
  expect(pick(s, 'amadeus_plan_reason', so).map((x) => x.labels.reason)).toEqual(['stale-plan']);
  expect(pick(s, 'amadeus_model_in_use', so)).toEqual([]);
  expect(pick(s, 'amadeus_observed_load', { scaledobject: 'cart' })).toEqual([]);
  expect(pick(s, 'amadeus_scaled_objects')[0].value).toBe(1);
});

test('scrape-driven series are per trigger (metric label); degraded triggers are counted by stage and cause', async () => {
  const m = new ScalerMetrics({ defaultMetrics: false });
  const states: ServedState[] = [
    { namespace: 'shop', name: 'frontend', metric: 'rps', observed: 50, planned: 55, reason: 'last-plan', model: null, stage: 'last-plan', cause: 'deadline' },
    { namespace: 'shop', name: 'frontend', metric: 'queue', observed: 500, planned: 550, reason: 'stale-plan', model: null, stage: 'stale-plan', cause: 'deadline' },
    { namespace: 'shop', name: 'cart', metric: 'amadeus-predicted-load', observed: 3, planned: null, reason: 'unavailable', model: null, stage: 'unavailable', cause: 'bounds' },
    { namespace: 'shop', name: 'web', metric: 'amadeus-predicted-load', observed: 3, planned: 3, reason: 'reactive', model: null, stage: 'serving', cause: null },
  ];
  m.setSnapshotSource(() => states);
  const s = await scrape(m);
  expect(pick(s, 'amadeus_planned_value', so).map((x) => [x.labels.metric, x.value])).toEqual([
    ['rps', 55],
    ['queue', 550],
  ]);
  expect(pick(s, 'amadeus_plan_reason', { scaledobject: 'cart' }).map((x) => x.labels.reason)).toEqual(['unavailable']);
  expect(pick(s, 'amadeus_degraded_triggers').map((x) => [x.labels.stage, x.labels.cause, x.value])).toEqual([
    ['last-plan', 'deadline', 1],
    ['stale-plan', 'deadline', 1],
    ['unavailable', 'bounds', 1],
  ]);
});

test('forget removes every series of one object and only those', async () => {
  const m = new ScalerMetrics({ defaultMetrics: false });
  const gate = { reason: 'lstm-best', mae: { lstm: 1 }, relativeError: { lstm: 0.1 } };
  for (const name of ['frontend', 'cart']) {
    for (const minute of [0, 10]) m.recordRefresh({ ...refresh(minute, made(minute)), name, forecast: { model: 'lstm', values: made(minute), gate } });
  }
  const ofObject = (s: Sample[], name: string) => s.filter((x) => x.labels.scaledobject === name);
  const before = await scrape(m);
  expect(new Set(ofObject(before, 'cart').map((x) => x.name))).toEqual(
    new Set(['amadeus_observed_load', 'amadeus_forecast_load', 'amadeus_forecast_load_due', 'amadeus_forecast_error']),
  );
  m.forget('shop', 'frontend');
  const after = await scrape(m);
  expect(ofObject(after, 'frontend')).toEqual([]);
  expect(ofObject(after, 'cart')).toEqual(ofObject(before, 'cart'));
  expect(m.rememberedForecasts('shop', 'frontend')).toBe(0);
  expect(pick(after, 'amadeus_scaled_objects')[0].value).toBe(1);
});

test('memory stays bounded over many refreshes, also when the clock goes back', () => {
  const m = new ScalerMetrics({ defaultMetrics: false });
  for (let minute = 0; minute < 5000; minute++) {
    m.recordRefresh(refresh(minute, made(minute)));
    m.recordRefresh({ ...refresh(minute, made(minute)), at: T0 + minute * MINUTE + 30_000 });
  }
  expect(m.rememberedForecasts('shop', 'frontend')).toBe(11); // minutes now − 10 … now
  m.recordRefresh(refresh(100, made(100))); // a replay looping back
  expect(m.rememberedForecasts('shop', 'frontend')).toBe(1);
  m.recordRefresh(refresh(101, made(101, 3))); // a new horizon: values for the old one are not "+H"
  expect(m.rememberedForecasts('shop', 'frontend')).toBe(1);
});

test('RPC, refresh and heal counters and histograms', async () => {
  const m = new ScalerMetrics({ defaultMetrics: false });
  m.observeRpc('GetMetrics', 'OK', 0.0003);
  m.observeRpc('GetMetrics', 'OK', 0.002);
  m.observeRpc('GetMetrics', 'INVALID_ARGUMENT', 0.0001);
  m.observeRefreshDuration(0.2);
  m.heal('patch-memory', 'ok');
  m.heal('patch-memory', 'ok');
  m.heal('rollback', 'refused');
  const s = await scrape(m);
  expect(pick(s, 'amadeus_grpc_requests_total', { method: 'GetMetrics', code: 'OK' })[0].value).toBe(2);
  expect(pick(s, 'amadeus_grpc_requests_total', { code: 'INVALID_ARGUMENT' })[0].value).toBe(1);
  expect(pick(s, 'amadeus_grpc_request_duration_seconds_bucket', { method: 'GetMetrics', le: '0.0005' })[0].value).toBe(2);
  expect(pick(s, 'amadeus_grpc_request_duration_seconds_count', { method: 'GetMetrics' })[0].value).toBe(3);
  expect(pick(s, 'amadeus_refresh_duration_seconds_count')[0].value).toBe(1);
  expect(pick(s, 'amadeus_heal_actions_total', { action: 'patch-memory', result: 'ok' })[0].value).toBe(2);
  expect(pick(s, 'amadeus_heal_actions_total', { action: 'rollback', result: 'refused' })[0].value).toBe(1);
});

test('text output: HELP and TYPE lines, own registry, default process metrics on request', async () => {
  const m = new ScalerMetrics();
  m.recordRefresh(refresh(0, made(0, 2)));
  const text = await m.registry.metrics();
  expect(text).toContain('# TYPE amadeus_forecast_load gauge');
  expect(text).toContain('# TYPE amadeus_grpc_requests_total counter');
  expect(text).toContain('# TYPE amadeus_refresh_duration_seconds histogram');
  expect(text).toContain('amadeus_forecast_load{namespace="shop",scaledobject="frontend",horizon="2"} 2');
  expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
  // A second instance has its own registry: no duplicate-registration error, no shared series.
  const other = new ScalerMetrics({ defaultMetrics: false });
  expect(await other.registry.metrics()).not.toContain('process_cpu');
  expect(pick(await scrape(other), 'amadeus_forecast_load')).toEqual([]);
});

test('a failing snapshot source fails the scrape', async () => {
  const m = new ScalerMetrics({ defaultMetrics: false });
  m.setSnapshotSource(() => {
    throw new Error('boom');
  });
  await expect(m.registry.metrics()).rejects.toThrow('boom');
});
