/**
 * `npm run bench`: runs the benchmarks and prints their figures as JSON (and progress on stderr).
 * Options (environment): BENCH_SUITES ("serving,refresh,faults,forecast,capacity,simulate,suite"); refresh: BENCH_REFRESH_SECONDS (90),
 * BENCH_SERVE_ARGS (extra `amadeus serve` flags), BENCH_SERVER_CPUS (pin the server to these CPUs, e.g. "1",
 * with the benchmark itself under `taskset -c 0`), BENCH_NODE_ARGS (Node flags for the server, e.g. --cpu-prof),
 * BENCH_SERVER_LOG (a file for the server's output), BENCH_FLOOR_SECONDS (30; the same calls to a constant-answer
 * server, the measurement floor; 0 skips it), BENCH_WARMUP_SECONDS (15; unmeasured calls before each measured window), BENCH_REFRESH_HISTORY_MINUTES
 * (180 minutes of history backfilled per object; 10080 for a week); serving: BENCH_OBJECTS (1000),
 * BENCH_RATES ("200,2000" calls/s), BENCH_SECONDS (20); forecast: BENCH_TRACE (the NASA CSV beside
 * the repo), BENCH_MODEL (models/nasa-lstm), BENCH_PRETRAIN ("1": also time a full pre-training); suite:
 * BENCH_SUITE ("default", "held-out", "tune", or a directory of trace CSVs), BENCH_TRACES_DIR (data/traces),
 * and BENCH_TRACE, BENCH_MODEL as above; capacity (fine-tuning rounds per replica, under a minute): BENCH_CAPACITY_ROUNDS
 * (16 measured rounds), BENCH_CAPACITY_WARMUP (2 unmeasured rounds first), BENCH_CAPACITY_WORKLOADS (8 distinct workloads,
 * half NASA windows, half generator members), BENCH_CAPACITY_TARGET (1000 workloads to size the replicas for), and
 * BENCH_TRACE, BENCH_MODEL as above; faults (about 3.5 minutes): BENCH_FAULT_SECONDS (180;
 * seconds of faults after every object has its first plan), BENCH_FAULT_RATE (200 calls/s), BENCH_OBJECTS and BENCH_SERVE_ARGS as above.
 */
import { runFaultSoakBench } from './fault-soak.js';
import { runCapacityBench } from './capacity.js';
import { runForecastBench } from './forecast.js';
import { runRefreshBench } from './refresh.js';
import { runSimulateBench } from './simulate.js';
import { runServingBench } from './serving.js';
import { runSuiteBench } from './suite.js';

const env = process.env;
const objects = Number(env.BENCH_OBJECTS ?? 1000);
const rates = (env.BENCH_RATES ?? '200,2000').split(',').map(Number);
const seconds = Number(env.BENCH_SECONDS ?? 20);
if (!(objects > 0) || rates.some((r) => !(r > 0)) || !(seconds > 0)) {
  console.error('BENCH_OBJECTS, BENCH_RATES and BENCH_SECONDS must be positive numbers');
  process.exit(2);
}
const suites = (env.BENCH_SUITES ?? 'serving,refresh,faults,forecast,capacity,simulate,suite').split(',');
const nasaTrace = env.BENCH_TRACE ?? '../shared/datasets/nasa-http-1995/nasa_http_1995_1min.csv';
const modelDir = env.BENCH_MODEL ?? 'models/nasa-lstm';
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const out: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };
if (suites.includes('serving')) out.serving = await runServingBench({ objects, rates, seconds, log });
if (suites.includes('refresh')) out.refresh = await runRefreshBench({ objects, seconds: Number(env.BENCH_REFRESH_SECONDS ?? 90), floorSeconds: Number(env.BENCH_FLOOR_SECONDS ?? 30), warmupSeconds: Number(env.BENCH_WARMUP_SECONDS ?? 15), rate: rates[0] ?? 200, log, serveArgs: env.BENCH_SERVE_ARGS?.split(' ').filter(Boolean), historyMinutes: Number(env.BENCH_REFRESH_HISTORY_MINUTES ?? 180) });
if (suites.includes('faults')) {
  out.faults = await runFaultSoakBench({ objects, seconds: Number(env.BENCH_FAULT_SECONDS ?? 180), rate: Number(env.BENCH_FAULT_RATE ?? 200), log, serveArgs: env.BENCH_SERVE_ARGS?.split(' ').filter(Boolean) });
}
if (suites.includes('forecast')) {
  out.forecast = await runForecastBench({
    trace: nasaTrace,
    modelDir,
    pretrain: (env.BENCH_PRETRAIN ?? '1') === '1',
    log,
  });
}
if (suites.includes('capacity')) {
  const count = (name: string, fallback: number, min: number) => {
    const v = Number(env[name] ?? fallback);
    if (!Number.isInteger(v) || v < min) {
      console.error(`${name} must be an integer of at least ${min}`);
      process.exit(2);
    }
    return v;
  };
  out.capacity = await runCapacityBench({
    trace: nasaTrace,
    modelDir,
    rounds: count('BENCH_CAPACITY_ROUNDS', 16, 1),
    warmupRounds: count('BENCH_CAPACITY_WARMUP', 2, 0),
    workloads: count('BENCH_CAPACITY_WORKLOADS', 8, 1),
    target: count('BENCH_CAPACITY_TARGET', 1000, 1),
    log,
  });
}
if (suites.includes('simulate')) {
  out.simulate = await runSimulateBench({ trace: nasaTrace, modelDir, log });
}
if (suites.includes('suite')) {
  out.suite = await runSuiteBench({ suite: env.BENCH_SUITE ?? 'default', tracesDir: env.BENCH_TRACES_DIR ?? 'data/traces', nasaTrace, modelDir, log });
}
console.log(JSON.stringify(out, null, 2));
