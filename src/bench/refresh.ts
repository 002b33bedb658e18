/**
 * Refresh cost against a real Prometheus (the local binary, loopback only): 1,000 ScaledObjects,
 * each with its own series, read through a counting proxy (it runs in the load generator's process,
 * so its work can delay the measured calls a little: the latencies are an upper bound). Measures the first full refresh (cold
 * caches), then, under KEDA's call pattern, the queries per refresh, the refresh time and the
 * GetMetrics p99 while refreshes run.
 */
import { createScalerClient } from '../scaler/client.js';
import type { ScaledObjectRef } from '../scaler/contract.js';
import { floorMinute, MINUTE_MS } from '../series/minute.js';
import { openMetricsGauge, startPrometheus, startRecorder } from '../test-support/prometheus.js';
import { cpuSeconds, registerAll, rssMiB, runRate, sleep, startFloorServer, startServer } from './serving.js';

export interface RefreshBenchOptions {
  objects: number;
  /** Seconds of KEDA's call pattern while refreshes run (more than 60 spans a minute boundary). */
  seconds: number;
  rate: number;
  log: (line: string) => void;
  /** Seconds of the call pattern before each measured window, not measured (JIT warm-up); 0 skips it. */
  warmupSeconds: number;
  /** Seconds of the same call pattern against a constant-answer server (the floor); 0 skips it. */
  floorSeconds: number;
  /** Extra `amadeus serve` flags (e.g. another default forecaster, to compare). */
  serveArgs?: string[];
  /**
   * Minutes of history backfilled per object (default 180). A scaler that has run for a week
   * holds far longer windows than three hours: its memory is measured with 10,080 or more.
   */
  historyMinutes?: number;
}

/** Range queries Prometheus has answered so far, from its own metrics. */
async function promRangeQueries(promUrl: string): Promise<number> {
  const text = await (await fetch(`${promUrl}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^prometheus_http_requests_total\{code="\d+",handler="\/api\/v1\/query_range"\} (\S+)$/gm)) total += Number(m[1]);
  return total;
}

async function scrapeSum(metricsPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/**
 * The same call pattern against a server that answers a constant: the round trip itself on this
 * machine (client, loopback, gRPC, scheduling), which no work inside the scaler can remove.
 */
async function measureFloor(o: RefreshBenchOptions, refs: ScaledObjectRef[], when: string): Promise<{ p50Ms: number; p99Ms: number }> {
  o.log(`floor: the same calls to a constant-answer gRPC server for ${o.floorSeconds} s, ${when}…`);
  const fs = await startFloorServer();
  const fc = createScalerClient(`127.0.0.1:${fs.port}`);
  try {
    if (o.warmupSeconds > 0) await runRate(fc, refs, o.rate, o.warmupSeconds);
    const f = await runRate(fc, refs, o.rate, o.floorSeconds);
    return { p50Ms: f.p50Ms.GetMetrics, p99Ms: f.p99Ms.GetMetrics };
  } finally {
    fc.close();
    await fs.stop();
  }
}

/** Each object's series, one chunk of OpenMetrics text at a time (a week of 1,000 series is ~0.5 GB of text). */
function* backfill(objects: number, minutes: number, last: number): Generator<string> {
  for (let i = 0; i < objects; i++) {
    yield openMetricsGauge('app_rps', { app: `app-${i}` }, Array.from({ length: minutes }, (_, j) => ({ t: last - (minutes - 1 - j) * MINUTE_MS, v: 50 + (i % 50) + 10 * Math.sin(j / 20) })));
  }
}

export async function runRefreshBench(o: RefreshBenchOptions) {
  // `historyMinutes` of history per object (default three hours) up to now, and 30 minutes on past it,
  // so every steady refresh reads a new sample as in production. Ending before the run (as it did),
  // the series went stale 5 minutes later, inside the steady window when the suites before it took
  // long: those refreshes failed (not in the refresh count) but queried, showing "2 queries a refresh".
  const minutes = o.historyMinutes ?? 180;
  if (!Number.isSafeInteger(minutes) || minutes < 1) throw new RangeError(`historyMinutes (BENCH_REFRESH_HISTORY_MINUTES) must be a whole number of minutes >= 1, got ${o.historyMinutes}`);
  const AHEAD = 30;
  const last = floorMinute(Date.now()) + AHEAD * MINUTE_MS;
  o.log(`backfilling ${o.objects} series × ${minutes} minutes into Prometheus…`);
  const prom = await startPrometheus({ openMetrics: backfill(o.objects, minutes + AHEAD, last), lookbackDelta: '30s' });
  // BENCH_PROXY=1 counts queries through a proxy in this process (an upper bound on latency);
  // by default Prometheus's own request counter is read instead.
  const proxy = process.env.BENCH_PROXY === '1' ? await startRecorder({ target: prom.url }) : null;
  const base = proxy?.url ?? prom.url;
  const count = async () => (proxy ? proxy.requests.length : await promRangeQueries(prom.url));
  const refsFor = (url: string): ScaledObjectRef[] =>
    Array.from({ length: o.objects }, (_, i) => ({
      name: `app-${i}`,
      namespace: 'bench',
      scalerMetadata: { targetValue: '20', serverAddress: url, query: `app_rps{app="app-${i}"}` },
    }));
  const floorQuiet = o.floorSeconds > 0 ? await measureFloor(o, refsFor(base), 'before the scaler starts') : null;
  const server = await startServer(o.serveArgs ?? []);
  const client = createScalerClient(`127.0.0.1:${server.port}`);
  try {
    const refs = refsFor(base);
    o.log('first full refresh (cold caches)…');
    const t0 = performance.now();
    await registerAll(client, refs);
    const coldSeconds = (performance.now() - t0) / 1000;
    const coldQueries = await count();

    // Warm-up, not measured: a scaler in production has run for hours, its gRPC and refresh paths
    // long since optimised by V8; the first seconds of a fresh process measure the JIT instead.
    if (o.warmupSeconds > 0) {
      o.log(`warm-up: ${o.rate} calls/s for ${o.warmupSeconds} s (not measured)…`);
      await runRate(client, refs, o.rate, o.warmupSeconds);
    }
    const promPid = prom.pid();
    const cpu0 = { server: cpuSeconds(server.pid), prometheus: promPid ? cpuSeconds(promPid) : NaN, self: process.cpuUsage() };
    const q0 = await count();
    const r0 = await scrapeSum(server.metricsPort, 'amadeus_refresh_duration_seconds_count');
    const s0 = await scrapeSum(server.metricsPort, 'amadeus_refresh_duration_seconds_sum');
    o.log(`steady state: ${o.rate} calls/s for ${o.seconds} s while refreshes run…`);
    const load = await runRate(client, refs, o.rate, o.seconds);
    // Share of one core each process used over the measured window: the machine load the calls met.
    const pct = (seconds: number) => Math.round((seconds / o.seconds) * 1000) / 10;
    const self = process.cpuUsage(cpu0.self);
    const cpuPct = {
      server: pct(cpuSeconds(server.pid) - cpu0.server),
      prometheus: promPid ? pct(cpuSeconds(promPid) - cpu0.prometheus) : NaN,
      loadGenerator: pct((self.user + self.system) / 1e6),
    };
    await sleep(100);
    const refreshes = (await scrapeSum(server.metricsPort, 'amadeus_refresh_duration_seconds_count')) - r0;
    const refreshSeconds = (await scrapeSum(server.metricsPort, 'amadeus_refresh_duration_seconds_sum')) - s0;
    const queries = (await count()) - q0;
    // The floor: the same call pattern against a server that answers a constant, while the scaler
    // goes on refreshing beside it (same machine load). What the scaler adds is the difference.
    const floorBeside = o.floorSeconds > 0 ? await measureFloor(o, refs, 'while the scaler refreshes') : null;
    return {
      objects: o.objects,
      historyMinutes: minutes,
      firstFullRefresh: { seconds: Math.round(coldSeconds * 10) / 10, queries: coldQueries },
      steady: {
        seconds: o.seconds,
        refreshes,
        queries,
        queriesPerRefresh: Math.round((queries / Math.max(1, refreshes)) * 1000) / 1000,
        // Wall time of one refresh, I/O waits included (refreshes overlap, up to --refresh-concurrency).
        meanRefreshMs: Math.round((refreshSeconds / Math.max(1, refreshes)) * 1e4) / 10,
        cpuPctOfOneCore: cpuPct,
      },
      getMetricsDuringRefreshes: { p50Ms: load.p50Ms.GetMetrics, p99Ms: load.p99Ms.GetMetrics, errors: load.errors, achievedCallsPerSecond: load.achievedCallsPerSecond },
      // The round trip itself: with the scaler not yet started, then beside it while it refreshes.
      floorGetMetrics: { quiet: floorQuiet, besideRefreshingScaler: floorBeside },
      serverRssMiB: rssMiB(server.pid),
    };
  } finally {
    client.close();
    await server.stop();
    await proxy?.close();
    await prom.close();
  }
}
