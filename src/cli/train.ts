/** `amadeus train`: pre-trains the LSTM on a trace and saves it (tfjs layers format + meta.json). */
import { basename } from 'node:path';
import { helpText, parseOptions, warnUnreadEnv } from '../config/options.js';
import { TRAIN_OPTIONS } from './options/train.js';
import { selectBackend } from '../forecast/lstm/backend.js';
import { saveModel } from '../forecast/lstm/io.js';
import { pretrainBest } from '../forecast/lstm/pretrain.js';
import type { Trace } from '../sources/trace.js';
import { readTrace } from './trace-file.js';
import { checkOutputDir, fsReason } from './output-path.js';
import type * as tf from '@tensorflow/tfjs';
import { backtest } from '../eval/backtest.js';
import { batchFromForecaster } from '../eval/adapter.js';
import { lstmAsBatch } from '../eval/lstm-models.js';
import { LstmForecaster } from '../forecast/lstm/forecaster.js';
import type { LstmMeta } from '../forecast/lstm/meta.js';
import { createForecaster } from '../forecast/registry.js';
import { createLogger } from '../telemetry/logger.js';
import { createProgress } from '../telemetry/progress.js';

/**
 * The model's own figures on the part of the trace it never trained on (DESIGN §5 rolling origin),
 * beside the two baselines that matter most, recorded in meta.json.
 */
async function heldOutBacktest(trace: Trace, model: tf.LayersModel, meta: LstmMeta, split: number): Promise<Record<string, unknown>> {
  const progress = createProgress(process.stderr, 'backtest on the held-out span');
  const result = await backtest(trace, [lstmAsBatch('lstm', new LstmForecaster('lstm', model, meta)), batchFromForecaster(createForecaster('mean30')), batchFromForecaster(createForecaster('holt-winters'))], {
    horizon: meta.shape.horizonMinutes,
    split,
    onProgress: (d, t) => progress.update(d, t),
  });
  progress.finish();
  return {
    definition: 'rolling origin every minute over the trace after the split; value at +horizon (DESIGN §5)',
    split,
    origins: result.origins,
    from: new Date(result.firstOrigin).toISOString(),
    to: new Date(result.lastOrigin).toISOString(),
    persistenceMae: result.persistenceMae,
    models: result.models,
  };
}

export async function runTrain(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText('train', 'Pre-train the LSTM forecaster on a per-minute trace and save it.', TRAIN_OPTIONS));
    return 0;
  }
  const opts = parseOptions(TRAIN_OPTIONS, argv, env);
  warnUnreadEnv('train', TRAIN_OPTIONS, env);
  // Bad input is said at once, as a usage error: not after the backend's start, nor the out
  // directory after the whole training.
  const trace = readTrace(opts.trace);
  checkOutputDir(opts.out, '--out');
  const log = createLogger({ sink: (l) => process.stderr.write(l + '\n') });
  await selectBackend(opts.backend, log, '--backend');
  let progress = createProgress(process.stderr, `train ${basename(opts.trace)}`);
  let lastVal = '';
  const { model, meta } = await pretrainBest(trace, {
    ...opts,
    augment: { shiftsPerDay: opts.augmentShiftsPerDay, surgesPerDay: opts.augmentSurgesPerDay, smoothMinutes: opts.augmentSmoothMinutes, trendAmplitude: opts.augmentTrendAmplitude },
    onProgress: (p) => progress.update((p.epoch - 1) * p.batches + p.batch, p.epochs * p.batches, `epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)}${lastVal}`),
    onEpoch: (e) => {
      lastVal = e.valLoss === null ? '' : ` (last val ${e.valLoss.toFixed(4)})`;
      log.info('epoch', { epoch: e.epoch, loss: e.loss, valLoss: e.valLoss });
    },
  }, opts.restarts, (r, seed) => {
    if (r === 0) return;
    progress.finish();
    lastVal = '';
    progress = createProgress(process.stderr, `train ${basename(opts.trace)} (seed ${seed}, ${r + 1}/${opts.restarts})`);
  });
  progress.finish();
  if (opts.split < 1) meta.backtest = await heldOutBacktest(trace, model, meta, opts.split);
  try {
    await saveModel(model, opts.out, meta);
  } catch (err) {
    throw new Error(`--out: cannot save the model in "${opts.out}": ${fsReason(err)}`, { cause: err });
  }
  log.info('model saved', { out: opts.out, windows: meta.training.windows, seed: meta.training.seed, bestEpoch: meta.training.bestEpoch, seconds: meta.training.seconds, ...(meta.training.restarts ? { restarts: meta.training.restarts } : {}) });
  return 0;
}
