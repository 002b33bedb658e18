/**
 * `npm run bench`: runs the benchmarks and prints their figures as JSON (and progress on stderr).
 * Options (environment): BENCH_OBJECTS (1000), BENCH_RATES ("200,2000" calls/s), BENCH_SECONDS (20).
 */
import { runServingBench } from './serving.js';

const env = process.env;
const objects = Number(env.BENCH_OBJECTS ?? 1000);
const rates = (env.BENCH_RATES ?? '200,2000').split(',').map(Number);
const seconds = Number(env.BENCH_SECONDS ?? 20);
if (!(objects > 0) || rates.some((r) => !(r > 0)) || !(seconds > 0)) {
  console.error('BENCH_OBJECTS, BENCH_RATES and BENCH_SECONDS must be positive numbers');
  process.exit(2);
}
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const serving = await runServingBench({ objects, rates, seconds, log });
console.log(JSON.stringify({ date: new Date().toISOString(), node: process.version, serving }, null, 2));
