/**
 * `amadeus generate`: writes the built-in synthetic workload as a trace CSV (per-minute counts),
 * so `eval`, `train` and `serve --replay-trace` can use it like any recorded trace.
 */
import { createWriteStream } from 'node:fs';
import { GENERATE_OPTIONS } from './options/generate.js';
import { helpText, parseOptions, UsageError } from '../config/options.js';
import { createGenerator } from '../sources/generator.js';
import { describeScenario } from '../sources/scenario-family.js';
import { formatUtcOffset } from '../sources/trace.js';
import { MINUTE_MS } from '../series/minute.js';

/** ISO-8601 with the given offset, e.g. 2025-01-06T09:00:00-04:00 (the trace CSV's form). */
export function isoWithOffset(t: number, offsetMinutes: number): string {
  const local = new Date(t + offsetMinutes * MINUTE_MS).toISOString().slice(0, 19);
  return offsetMinutes === 0 ? `${local}Z` : `${local}${formatUtcOffset(offsetMinutes)}`;
}

export async function runGenerate(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText('generate', 'Write the synthetic workload (the replay generator) as a trace CSV.', GENERATE_OPTIONS));
    return 0;
  }
  const o = parseOptions(GENERATE_OPTIONS, argv, env);
  const start = Date.parse(o.start);
  if (!Number.isFinite(start) || start % MINUTE_MS !== 0) throw new UsageError('--start must be a whole minute');
  const g = createGenerator({ scenario: o.scenario, seed: o.seed, peakRate: o.peak, utcOffsetMinutes: o.utcOffsetMinutes });
  const minutes = Math.round(o.days * 1440);
  const out = createWriteStream(o.out);
  const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  await write('timestamp,requests,observed\n');
  for (let i = 0; i < minutes; i++) {
    const t = start + i * MINUTE_MS;
    // The generator gives requests per second; a trace holds the minute's count.
    await write(`${isoWithOffset(t, o.utcOffsetMinutes)},${Math.round(g.requests(t) * 60)},1\n`);
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  const what = g.params ? `random seed ${o.seed} (${describeScenario(g.params)})` : o.scenario;
  process.stderr.write(`wrote ${minutes} minutes of ${what} to ${o.out}\n`);
  return 0;
}
