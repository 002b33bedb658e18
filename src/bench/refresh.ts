/**
 * Refresh cost against a real Prometheus (the local binary, loopback only): 1,000 ScaledObjects,
 * each with its own series, read through a counting proxy (it runs in the load generator's process,
 * so its work can delay the measured calls a little: the latencies are an upper bound). Measures the first full refresh (cold
 * caches), then, under KEDA's call pattern, the queries per refresh, the refresh time and the
 * GetMetrics p99 while refreshes run.
 */
import { createScalerClient } from '../scaler/client.js';
import type { ScaledObjectRef } from '../scaler/contract.js';
import { floorMinute, MINUTE_MS } from '../sources/types.js';
import { openMetricsGauge, startPrometheus, startRecorder } from '../test-support/prometheus.js';
import { registerAll, rssMiB, runRate, sleep, startServer } from './serving.js';

export interface RefreshBenchOptions {
  objects: number;
  /** Seconds of KEDA's call pattern while refreshes run (more than 60 spans a minute boundary). */
  seconds: number;
  rate: number;
  log: (line: string) => void;
  /** Extra `amadeus serve` flags (e.g. another default forecaster, to compare). */
  serveArgs?: string[];
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

export async function runRefreshBench(o: RefreshBenchOptions) {
  // Three hours of history per object, ending two minutes ago.
  const last = floorMinute(Date.now()) - 2 * MINUTE_MS;
  const text = Array.from({ length: o.objects }, (_, i) =>
    openMetricsGauge('app_rps', { app: `app-${i}` }, Array.from({ length: 180 }, (_, j) => ({ t: last - (179 - j) * MINUTE_MS, v: 50 + (i % 50) + 10 * Math.sin(j / 20) }))),
  ).join('');
  o.log(`backfilling ${o.objects} series × 180 minutes into Prometheus…`);
  const prom = await startPrometheus({ openMetrics: text, lookbackDelta: '30s' });
  // BENCH_PROXY=1 counts queries through a proxy in this process (an upper bound on latency);
  // by default Prometheus's own request counter is read instead.
  const proxy = process.env.BENCH_PROXY === '1' ? await startRecorder({ target: prom.url }) : null;
  const base = proxy?.url ?? prom.url;
  const count = async () => (proxy ? proxy.requests.length : await promRangeQueries(prom.url));
  const server = await startServer(o.serveArgs ?? []);
  const client = createScalerClient(`127.0.0.1:${server.port}`);
  try {
    const refs: ScaledObjectRef[] = Array.from({ length: o.objects }, (_, i) => ({
      name: `app-${i}`,
      namespace: 'bench',
      scalerMetadata: { targetValue: '20', serverAddress: base, query: `app_rps{app="app-${i}"}` },
    }));
    o.log('first full refresh (cold caches)…');
    const t0 = performance.now();
    await registerAll(client, refs);
    const coldSeconds = (performance.now() - t0) / 1000;
    const coldQueries = await count();

    const q0 = coldQueries;
    const r0 = await scrapeSum(server.metricsPort, 'amadeus_refresh_duration_seconds_count');
    const s0 = await scrapeSum(server.metricsPort, 'amadeus_refresh_duration_seconds_sum');
    o.log(`steady state: ${o.rate} calls/s for ${o.seconds} s while refreshes run…`);
    const load = await runRate(client, refs, o.rate, o.seconds);
    await sleep(100);
    const refreshes = (await scrapeSum(server.metricsPort, 'amadeus_refresh_duration_seconds_count')) - r0;
    const refreshSeconds = (await scrapeSum(server.metricsPort, 'amadeus_refresh_duration_seconds_sum')) - s0;
    const queries = (await count()) - q0;
    return {
      objects: o.objects,
      firstFullRefresh: { seconds: Math.round(coldSeconds * 10) / 10, queries: coldQueries },
      steady: {
        seconds: o.seconds,
        refreshes,
        queries,
        queriesPerRefresh: Math.round((queries / Math.max(1, refreshes)) * 1000) / 1000,
        // Wall time of one refresh, I/O waits included (refreshes overlap, up to --refresh-concurrency).
        meanRefreshMs: Math.round((refreshSeconds / Math.max(1, refreshes)) * 1e4) / 10,
      },
      getMetricsDuringRefreshes: { p50Ms: load.p50Ms.GetMetrics, p99Ms: load.p99Ms.GetMetrics, errors: load.errors, achievedCallsPerSecond: load.achievedCallsPerSecond },
      serverRssMiB: rssMiB(server.pid),
    };
  } finally {
    client.close();
    await server.stop();
    await proxy?.close();
    await prom.close();
  }
}
