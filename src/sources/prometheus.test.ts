/**
 * The Prometheus source against the real Prometheus binary: four hours of per-minute history with a
 * 20-minute gap are backfilled with promtool, then read back minute by minute through an injected
 * clock, so every expectation is exact and nothing depends on timing.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseFields } from '../config/fields.js';
import { openMetricsGauge, startPrometheus, startRecorder, type Recorder, type TestPrometheus } from '../test-support/prometheus.js';
import { createPrometheusSource, PROMETHEUS_METADATA, PrometheusError, type PrometheusConfig } from './prometheus.js';
import { floorMinute, MINUTE_MS } from '../series/minute.js';
import { createLogger } from '../telemetry/logger.js';

const HOURS = 4;
const N = HOURS * 60;
// The backfill ends a few minutes in the past: the head's samples must come after its blocks.
const LAST = floorMinute(Date.now()) - 10 * MINUTE_MS;
const FIRST_START = LAST - N * MINUTE_MS;
/** Minute k (1..N) ends at `FIRST_START + k·MINUTE_MS`, where its point is stored. */
const endOf = (k: number) => FIRST_START + k * MINUTE_MS;
const GAP = { from: 150, to: 170 }; // minutes k in [from, to) have no sample

const web = (k: number) => (k >= GAP.from && k < GAP.to ? null : Math.round((40 + 25 * Math.sin(k / 30) + (k % 7) * 0.37) * 1000) / 1000);
const cpu = (k: number) => (k >= GAP.from && k < GAP.to ? null : k / 100);
const memory = (k: number) => (k >= GAP.from && k < GAP.to ? null : 2e8 + k * 4096);
const api = (k: number) => k * 2;
// One workload's rate without sum(): its pod restarted at minute RELABEL, so one series ends and the
// next (new pod label) begins; and a pair of pods whose series overlap for minutes 121..130.
const RELABEL = 121;
const shop = (k: number) => k + 0.5;
const before = (f: (k: number) => number | null, last: number) => (k: number) => (k <= last ? f(k) : null);
const from = (f: (k: number) => number | null, first: number) => (k: number) => (k >= first ? f(k) : null);

const points = (f: (k: number) => number | null) => Array.from({ length: N }, (_, i) => ({ t: endOf(i + 1), v: f(i + 1) }));

/** Expected window of `minutes` minutes ending at the end of minute `k`. */
/** The window the source should hand out: gaps as holes, so toStrictEqual checks them (history.ts, `Samples`). */
const expected = (f: (k: number) => number | null, k: number, minutes: number) => {
  const out = new Array<number | undefined>(minutes);
  for (let i = 0; i < minutes; i++) {
    const v = f(k - minutes + 1 + i);
    if (v !== null) out[i] = v;
  }
  return out;
};

let prom: TestPrometheus;
let proxy: Recorder;
let now = 0;
const clock = () => now;
/** Sets the clock inside the minute after minute k, so minute k is the newest complete one. */
const after = (k: number) => (now = endOf(k) + 17_000);

function config(over: Partial<PrometheusConfig>): PrometheusConfig {
  return { ...parseFields(PROMETHEUS_METADATA, { query: 'app_requests_per_second{app="web"}' }), serverAddress: prom.url, ...over };
}

beforeAll(async () => {
  prom = await startPrometheus({
    openMetrics: [
      openMetricsGauge('app_requests_per_second', { app: 'web' }, points(web)),
      openMetricsGauge('app_requests_per_second', { app: 'api' }, points(api)),
      openMetricsGauge('app_cpu_cores', { app: 'web' }, points(cpu)),
      openMetricsGauge('app_memory_bytes', { app: 'web' }, points(memory)),
      openMetricsGauge('app_pod_rps', { app: 'shop', pod: 'shop-a' }, points(before(shop, RELABEL - 1))),
      openMetricsGauge('app_pod_rps', { app: 'shop', pod: 'shop-b' }, points(from(shop, RELABEL))),
      openMetricsGauge('app_pod_rps', { app: 'pair', pod: 'p1' }, points(before(shop, 130))),
      openMetricsGauge('app_pod_rps', { app: 'pair', pod: 'p2' }, points(from(shop, 121))),
      // Two pods taking turns, ten minutes each: never a minute with both, yet two sources at once.
      openMetricsGauge('app_pod_rps', { app: 'turns', pod: 't1' }, points((k) => (Math.floor(k / 10) % 2 === 0 ? shop(k) : null))),
      openMetricsGauge('app_pod_rps', { app: 'turns', pod: 't2' }, points((k) => (Math.floor(k / 10) % 2 === 1 ? 2 * shop(k) : null))),
    ], // chunks, as the refresh bench writes a week of 1,000 series (other tests pass one string)
    // Under a minute, so a gap reads as a gap rather than as the last value for 5 more minutes.
    lookbackDelta: '30s',
  });
  proxy = await startRecorder({ target: prom.url });
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await prom?.close();
});

describe('Prometheus source on a real Prometheus', () => {
  it('reads the whole backfill back minute by minute, the gap as holes', async () => {
    after(N);
    const source = createPrometheusSource(config({}), { clock });
    const h = await source.read(N);
    expect(h.start).toBe(FIRST_START);
    expect(h.requests).toStrictEqual(expected(web, N, N));
    for (let i = GAP.from - 1; i < GAP.to - 1; i++) expect(i in h.requests).toBe(false); // holes, not nulls
    expect(typeof h.requests[GAP.from - 2]).toBe('number');
    expect(h).not.toHaveProperty('cpu');
    expect(h).not.toHaveProperty('memory');
    source.close();
  });

  it('reads cpu and memory when their queries are configured', async () => {
    after(180);
    const source = createPrometheusSource(config({ cpuQuery: 'app_cpu_cores{app="web"}', memoryQuery: 'sum(app_memory_bytes)' }), { clock });
    const h = await source.read(60);
    expect(h.start).toBe(endOf(120));
    expect(h.requests).toStrictEqual(expected(web, 180, 60));
    expect(h.cpu).toStrictEqual(expected(cpu, 180, 60));
    expect(h.memory).toStrictEqual(expected(memory, 180, 60));
    source.close();
  });

  it('fetches only new minutes plus the overlap, and keeps the cache to the longest window', async () => {
    const source = createPrometheusSource(config({ serverAddress: proxy.url }), { clock });
    const seen = () => proxy.requests.splice(0).map((r) => [Number(r.query.get('start')) * 1000, Number(r.query.get('end')) * 1000]);
    seen();

    after(100);
    expect((await source.read(60)).requests).toStrictEqual(expected(web, 100, 60));
    expect(seen()).toEqual([[endOf(41), endOf(100)]]);

    after(105); // 5 new minutes: fetched with the 2 before them
    const h = await source.read(60);
    expect(h).toStrictEqual({ start: endOf(45), requests: expected(web, 105, 60) });
    expect(seen()).toEqual([[endOf(99), endOf(105)]]);

    now += 20_000; // same minute: served from the cache
    expect((await source.read(60)).requests).toStrictEqual(expected(web, 105, 60));
    expect((await source.read(30)).requests).toStrictEqual(expected(web, 105, 30));
    expect(seen()).toEqual([]);

    for (let k = 110; k <= 230; k += 10) {
      after(k);
      expect((await source.read(60)).requests).toStrictEqual(expected(web, k, 60));
      expect(source.cachedMinutes).toBe(60);
    }
    expect(seen()).toHaveLength(13);

    // A longer window than cached is fetched whole, and from then on kept.
    expect((await source.read(120)).requests).toStrictEqual(expected(web, 230, 120));
    expect(seen()).toEqual([[endOf(111), endOf(230)]]);
    after(235);
    expect((await source.read(60)).requests).toStrictEqual(expected(web, 235, 60));
    expect(source.cachedMinutes).toBe(120);
    expect(seen()).toEqual([[endOf(229), endOf(235)]]);
    source.close();
  });

  it('reads the window ending at the minute asked for (the query ends there), never a newer cached minute, never past the minute in progress', async () => {
    const source = createPrometheusSource(config({ serverAddress: proxy.url }), { clock });
    const seen = () => proxy.requests.splice(0).map((r) => [Number(r.query.get('start')) * 1000, Number(r.query.get('end')) * 1000]);
    seen();

    after(100); // minute 100 just ended; a refresh before the offset reads up to minute 99, as its peers did
    expect(await source.read(60, undefined, endOf(99) + 5_000)).toStrictEqual({ start: endOf(39), requests: expected(web, 99, 60) });
    expect(seen()).toEqual([[endOf(40), endOf(99)]]);

    // At the offset: the minute just ended, fetched with the overlap.
    expect((await source.read(60)).requests).toStrictEqual(expected(web, 100, 60));
    expect(seen()).toEqual([[endOf(98), endOf(100)]]);

    // An earlier end after a later one: the cache's newer minute is not handed out.
    expect(await source.read(30, undefined, endOf(99))).toStrictEqual({ start: endOf(69), requests: expected(web, 99, 30) });
    expect(seen()).toEqual([]);
    expect((await source.read(60, undefined, endOf(99))).requests).toStrictEqual(expected(web, 99, 60));
    seen();
    // A minute not complete yet is never read: an end past the minute in progress is that minute.
    expect((await source.read(60, undefined, endOf(103))).requests).toStrictEqual(expected(web, 100, 60));
    expect(seen().every(([, end]) => end! <= endOf(100))).toBe(true);
    source.close();
  });

  it('asks to aggregate a query matching two series', async () => {
    after(N);
    const source = createPrometheusSource(config({ query: 'app_requests_per_second' }), { clock });
    await expect(source.read(60)).rejects.toThrow(/query returned 2 series; it must return exactly one: aggregate it, e\.g\. sum\(app_requests_per_second\)/);
    // Aggregated, the two are one series.
    const summed = createPrometheusSource(config({ query: 'sum(app_requests_per_second)' }), { clock });
    const round = (v: number | null | undefined) => (v === null || v === undefined ? null : Math.round(v * 1000) / 1000);
    const expectedSum = expected((k) => (web(k) ?? 0) + api(k), N, 60);
    expect((await summed.read(60)).requests.map(round)).toEqual(expectedSum.map(round));
    source.close();
    summed.close();
  });

  it('reads a relabelled series (one ends, the next begins: a pod restarted) as one: a cold read across the change, as a restarted replica makes, and a warm one', async () => {
    after(N);
    const cold = createPrometheusSource(config({ query: 'app_pod_rps{app="shop"}' }), { clock });
    expect((await cold.read(N)).requests).toStrictEqual(expected(shop, N, N));
    cold.close();
    after(110);
    const warm = createPrometheusSource(config({ query: 'app_pod_rps{app="shop"}' }), { clock });
    expect((await warm.read(60)).requests).toStrictEqual(expected(shop, 110, 60));
    after(125); // the new minutes, the overlap with them, cross the change
    expect((await warm.read(60)).requests).toStrictEqual(expected(shop, 125, 60));
    warm.close();
  });

  it('asks to aggregate, naming the key, a query whose series overlap in time (two pods at once), and reads a window where only one is', async () => {
    after(140);
    const source = createPrometheusSource(config({ cpuQuery: 'app_pod_rps{app="pair"}' }), { clock });
    const err = await source.read(60).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'series', metadataField: 'cpuQuery' });
    expect((err as Error).message).toMatch(/cpuQuery returned 2 series; it must return exactly one: aggregate it, e\.g\. sum\(app_pod_rps\{app="pair"\}\)/);
    source.close();
    after(N);
    const late = createPrometheusSource(config({ cpuQuery: 'app_pod_rps{app="pair"}' }), { clock });
    expect((await late.read(60)).cpu).toStrictEqual(expected(shop, N, 60));
    late.close();
  });

  it('asks to aggregate a query whose series take turns (two pods alternating), rather than read them as one', async () => {
    after(N);
    const source = createPrometheusSource(config({ query: 'app_pod_rps{app="turns"}' }), { clock });
    await expect(source.read(60)).rejects.toMatchObject({ reason: 'series', metadataField: 'query' });
    source.close();
  });

  it('rejects a query with no data; a cpu query with no data leaves the CPU as gaps, said once (an extra model input: the request rate is planned on)', async () => {
    after(N);
    const source = createPrometheusSource(config({ query: 'app_requests_per_second{app="nope"}' }), { clock });
    const err = await source.read(60).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrometheusError);
    expect((err as PrometheusError).reason).toBe('no-data');
    expect((err as PrometheusError).message).toMatch(/query returned no data/);
    const said: string[] = [];
    const log = createLogger({ level: 'info', sink: (l) => said.push((JSON.parse(l) as { msg: string }).msg) });
    const cpuless = createPrometheusSource(config({ cpuQuery: 'app_cpu_cores{app="nope"}' }), { clock, log });
    for (let i = 0; i < 2; i++) {
      const h = await cpuless.read(60);
      expect(h.requests.filter((v) => typeof v === 'number')).toHaveLength(60);
      expect(Array.from(h.cpu!).filter((v) => typeof v === 'number')).toHaveLength(0);
    }
    expect(said.filter((m) => m === 'an extra model input has no data in the window: left as gaps')).toHaveLength(1);
    // A window wholly inside the gap has no data either.
    after(GAP.to - 1);
    const gap = createPrometheusSource(config({}), { clock });
    await expect(gap.read(GAP.to - GAP.from)).rejects.toThrow(/query returned no data/);
    for (const s of [source, cpuless, gap]) s.close();
  });

  it('reports PromQL errors from Prometheus as the metadata key\'s fault', async () => {
    after(N);
    const source = createPrometheusSource(config({ query: 'sum(' }), { clock });
    await expect(source.read(10)).rejects.toThrow(new RegExp(`^metadata "query": ${prom.url}: rejects the query: bad_data: .*parse error`));
    await expect(source.read(10)).rejects.toMatchObject({ reason: 'query', metadataField: 'query' });
    source.close();
  });

  it('rejects while Prometheus is down and reads again once it is back', async () => {
    after(N);
    const source = createPrometheusSource(config({}), { clock });
    await prom.stop();
    try {
      const err = await source.read(30).catch((e: unknown) => e);
      expect((err as PrometheusError).reason).toBe('unreachable');
      expect((err as PrometheusError).message).toMatch(new RegExp(`^${prom.url}: cannot reach Prometheus: .*ECONNREFUSED`));
    } finally {
      await prom.start();
    }
    expect((await source.read(30)).requests).toStrictEqual(expected(web, N, 30));
    source.close();
  });
});

describe('Prometheus source on a real Prometheus whose remote read fails', () => {
  it('marks the read partial, with Prometheus\'s warning, and still hands out the local minutes', async () => {
    const store = http.createServer((_req, res) => {
      res.writeHead(503);
      res.end('store down');
    });
    await new Promise<void>((resolve) => store.listen(0, '127.0.0.1', resolve));
    const storeUrl = `http://127.0.0.1:${(store.address() as AddressInfo).port}/read`;
    const partialProm = await startPrometheus({ openMetrics: openMetricsGauge('app_requests_per_second', { app: 'web' }, points(web).slice(0, 30)), lookbackDelta: '30s', remoteRead: [storeUrl] });
    try {
      const source = createPrometheusSource({ ...config({}), serverAddress: partialProm.url }, { clock: () => endOf(30) + 17_000 });
      const h = await source.read(10);
      expect(h.partial).toMatch(/^answer may be incomplete: query: remote_read: .*503/);
      expect(h.requests).toStrictEqual(expected(web, 30, 10));
      source.close();
      const accepting = createPrometheusSource({ ...config({}), serverAddress: partialProm.url, partialResponse: 'accept' }, { clock: () => endOf(30) + 17_000 });
      expect((await accepting.read(10)).partial).toBeUndefined();
      accepting.close();
    } finally {
      await partialProm.close();
      await new Promise((resolve) => store.close(resolve));
    }
  }, 60_000);
});

describe('startPrometheus', () => {
  it('scrapes loopback exporters', async () => {
    const exporter = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end('# TYPE app_requests_per_second gauge\napp_requests_per_second{app="scraped"} 42\n');
    });
    await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
    const target = `127.0.0.1:${(exporter.address() as AddressInfo).port}`;
    const scraping = await startPrometheus({ scrapeTargets: [target], scrapeIntervalSeconds: 1 });
    try {
      const query = 'app_requests_per_second{app="scraped"}';
      const deadline = Date.now() + 20_000;
      for (;;) {
        const res = await fetch(`${scraping.url}/api/v1/query?query=${encodeURIComponent(query)}`);
        const body = (await res.json()) as { data: { result: unknown[] } };
        if (body.data.result.length === 1) break;
        if (Date.now() > deadline) throw new Error(`no scrape of ${target} within 20 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
      // honor_labels keeps the exporter's own labels; the source sees the scraped value once
      // "now" is past the sample (a clock a minute ahead puts it inside the newest minute).
      const source = createPrometheusSource(
        { ...parseFields(PROMETHEUS_METADATA, { query }), serverAddress: scraping.url },
        { clock: () => Date.now() + MINUTE_MS },
      );
      const h = await source.read(1);
      expect(h.requests).toEqual([42]);
      source.close();
    } finally {
      await scraping.close();
      await new Promise((resolve) => exporter.close(resolve));
    }
  });
});
