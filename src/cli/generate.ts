/**
 * `amadeus generate`: writes the built-in synthetic workload as a trace CSV (per-minute counts),
 * so `eval`, `train` and `serve --replay-trace` can use it like any recorded trace.
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GENERATE_OPTIONS } from './options/generate.js';
import { helpText, parseOptions, UsageError, warnUnreadEnv } from '../config/options.js';
import { createGenerator } from '../sources/generator.js';
import { describeScenario } from '../sources/scenario-family.js';
import { formatUtcOffset } from '../sources/trace.js';
import { MINUTE_MS } from '../series/minute.js';
import { checkOutputFile, fsReason } from './output-path.js';
import { timeOption } from './time-option.js';

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
  warnUnreadEnv('generate', GENERATE_OPTIONS, env);
  const start = timeOption('start', o.start);
  if (start % MINUTE_MS !== 0) throw new UsageError('--start must be a whole minute');
  checkOutputFile(o.out, '--out');
  const g = createGenerator({ scenario: o.scenario, seed: o.seed, peakRate: o.peak, utcOffsetMinutes: o.utcOffsetMinutes });
  const minutes = Math.round(o.days * 1440);
  function* rows() {
    yield 'timestamp,requests,observed\n';
    for (let i = 0; i < minutes; i++) {
      const t = start + i * MINUTE_MS;
      // The generator gives requests per second; a trace holds the minute's count.
      yield `${isoWithOffset(t, o.utcOffsetMinutes)},${Math.round(g.requests(t) * 60)},1\n`;
    }
  }
  // pipeline turns a write error (a full disk) into a rejection, not an unhandled 'error' event.
  try {
    await pipeline(Readable.from(rows()), createWriteStream(o.out));
  } catch (err) {
    throw new Error(`--out: cannot write "${o.out}": ${fsReason(err)}`, { cause: err });
  }
  const what = g.params ? `random seed ${o.seed} (${describeScenario(g.params)})` : o.scenario;
  process.stderr.write(`wrote ${minutes} minutes of ${what} to ${o.out}\n`);
  return 0;
}
