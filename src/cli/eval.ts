/**
 * `amadeus eval`: scores forecasting models on a trace with the rolling-origin backtest of
 * design §5 and prints the figures (a table, or one JSON object with --json). Progress goes to
 * stderr so that stdout holds the result alone.
 */
import { EVAL_OPTIONS } from './options/eval.js';
import { helpText, parseOptions, UsageError, warnUnreadEnv } from '../config/options.js';
import { backtest } from '../eval/backtest.js';
import { loadModels } from '../eval/models.js';
import { findOrigins, firstEvaluatedMinute } from '../eval/origins.js';
import { createProgress } from '../telemetry/progress.js';
import { formatTable, jsonReport } from '../eval/report.js';
import { readTrace } from './trace-file.js';

export const EVAL_HELP = helpText(
  'eval',
  'Backtest forecasting models on a trace: a forecast from every minute of its last 25% (by default) with 60 observed minutes before it, ' +
    'scored at +horizon against what happened (MAE, RMSE, MAE of the 5-minute mean, MAE relative to persistence, under-forecast rate).',
  EVAL_OPTIONS,
);

export async function runEval(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(EVAL_HELP);
    return 0;
  }
  const opts = parseOptions(EVAL_OPTIONS, argv, env);
  warnUnreadEnv('eval', EVAL_OPTIONS, env);
  const trace = readTrace(opts.trace);
  const { horizon, split } = opts;
  // Checked before loading models, which may take long (the LSTM), to fail fast on a short trace.
  if (findOrigins(trace.requests, { horizon, split }).length === 0) {
    throw new UsageError(
      `--trace: no usable origin in "${opts.trace}": every origin needs 60 observed minutes up to it and ${horizon} after it, ` +
        `within the last ${Math.round((1 - split) * 1000) / 10}% of the trace (${trace.requests.length} min)`,
    );
  }
  const models = await loadModels(opts.models, { trace, horizon, evalStart: firstEvaluatedMinute(trace.requests.length, split), modelDir: opts.model, fineTuneBlend: opts.fineTuneBlend, log: (l) => process.stderr.write(l + '\n') });

  const progress = createProgress(process.stderr, 'eval');
  const result = await backtest(trace, models, { horizon, split, onProgress: (done, total) => progress.update(done, total) }).finally(() =>
    progress.finish(),
  );

  const out = opts.json
    ? JSON.stringify(jsonReport(opts.trace, result))
    : formatTable({ file: opts.trace, minutes: trace.requests.length, start: trace.start, utcOffsetMinutes: trace.utcOffsetMinutes }, result);
  process.stdout.write(`${out}\n`);
  return 0;
}
