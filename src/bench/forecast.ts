/**
 * Forecasting benchmark: accuracy of every model on the NASA hold-out (the `eval` backtest), the
 * calibration of the LSTM's quantiles, and the costs that decide whether the LSTM fits in the
 * scaler: pre-training time, batched inference for 1,000 windows, one fine-tuning round.
 */
import { parseOptions } from '../config/options.js';
import { SERVE_OPTIONS } from '../cli/options/serve.js';
import { backtest } from '../eval/backtest.js';
import { firstEvaluatedMinute } from '../eval/origins.js';
import { loadModels, MODEL_NAMES } from '../eval/models.js';
import { selectBackend } from '../forecast/lstm/backend.js';
import { fineTuneRound, roundReadMinutes } from '../forecast/lstm/finetune.js';
import { LstmForecaster } from '../forecast/lstm/forecaster.js';
import { getWeights, loadModel } from '../forecast/lstm/io.js';
import { checkMeta } from '../forecast/lstm/meta.js';
import { pretrain } from '../forecast/lstm/pretrain.js';
import { resolveModelDir } from '../forecast/lstm/runtime.js';
import { loadTrace } from '../sources/trace.js';
import { MINUTE_MS } from '../series/minute.js';

export interface ForecastBenchOptions {
  trace: string;
  modelDir: string;
  /** Also time a full pre-training with the shipped model's settings (minutes of work). */
  pretrain: boolean;
  log: (line: string) => void;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (v: number, d = 4) => Math.round(v * 10 ** d) / 10 ** d;

export async function runForecastBench(o: ForecastBenchOptions) {
  const backend = await selectBackend('auto');
  const trace = loadTrace(o.trace);
  const dir = resolveModelDir(o.modelDir);
  const { model, meta: rawMeta } = await loadModel<unknown>(dir);
  const meta = checkMeta(rawMeta, dir);

  o.log('accuracy: backtest of every model on the held-out 25%…');
  const evalStart = firstEvaluatedMinute(trace.requests.length, 0.75);
  // Fine-tuning as serve does it by default (the round's blend included).
  const { fineTuneBlend, fineTuneHistory, fineTuneInterval } = parseOptions(SERVE_OPTIONS, [], {});
  const models = await loadModels(MODEL_NAMES, { trace, horizon: 10, evalStart, modelDir: o.modelDir, fineTuneBlend, log: o.log });
  const t0 = performance.now();
  const accuracy = await backtest(trace, models, { horizon: 10, split: 0.75 });
  o.log(`  ${accuracy.origins} origins in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  o.log('inference: 1,000 windows in one batch…');
  const lstm = new LstmForecaster('lstm', model, meta);
  const need = lstm.historyMinutes(60);
  const requests = Array.from({ length: 1000 }, (_, k) => {
    const end = evalStart + k * 20;
    return { history: { start: trace.start + (end - need) * MINUTE_MS, requests: trace.requests.slice(end - need, end), utcOffsetMinutes: trace.utcOffsetMinutes }, horizon: 10 };
  });
  lstm.forecastBatch(requests.slice(0, 10)); // warm-up: kernel compilation
  const inferMs = Array.from({ length: 5 }, () => {
    const s = performance.now();
    lstm.forecastBatch(requests);
    return performance.now() - s;
  });

  // As serve gives a round: its span and, choosing a blend, the days before it days3 reads.
  const read = roundReadMinutes(fineTuneHistory, fineTuneInterval / 60, meta.shape.horizonMinutes, fineTuneBlend);
  o.log(`fine-tuning: one round on ${fineTuneHistory} minutes of one workload (given ${read})…`);
  const end = evalStart;
  const series = { requests: trace.requests.slice(end - read, end), start: trace.start + (end - read) * MINUTE_MS, utcOffsetMinutes: trace.utcOffsetMinutes };
  const f0 = performance.now();
  const round1 = await fineTuneRound({ shape: meta.shape, weights: getWeights(model), series, fitMinutes: fineTuneHistory, chooseBlend: fineTuneBlend });
  const fineTuneSeconds = (performance.now() - f0) / 1000;

  let pretrainSeconds: number | null = null;
  let pretrainWindows: number | null = null;
  let pretrainSameWeights: boolean | null = null;
  if (o.pretrain) {
    o.log(`pre-training with the shipped model's settings (${meta.training.epochs} epochs)…`);
    const p0 = performance.now();
    const t = meta.training;
    // Every setting the shipped model was trained with, its augmented copies included (without them
    // a third of the windows are trained on and the time is not the shipped model's).
    const r = await pretrain(trace, {
      split: t.split,
      validation: 0.1,
      epochs: t.epochs,
      batchSize: t.batchSize,
      learningRate: t.learningRate,
      stride: t.stride ?? 1,
      units: meta.shape.units,
      shape: meta.shape,
      dropRate: t.dropRate,
      seed: t.seed,
      augmentCopies: t.augmentCopies ?? 0,
      ...(t.augmentStride !== undefined && { augmentStride: t.augmentStride }),
      ...(t.augment && { augment: t.augment }),
      ...(t.targetSmoothing !== undefined && { targetSmoothing: t.targetSmoothing }),
    });
    pretrainWindows = r.meta.training.windows;
    // Training is seeded: on the shipped model's backend the weights come out the same, which
    // shows these were the shipped settings (another backend or a changed recipe says false).
    const shipped = getWeights(model);
    const trained = getWeights(r.model);
    pretrainSameWeights = shipped.length === trained.length && shipped.every((w, i) => w.length === trained[i]!.length && w.every((x, j) => x === trained[i]![j]));
    r.model.dispose();
    pretrainSeconds = (performance.now() - p0) / 1000;
  }

  return {
    backend,
    trace: o.trace,
    model: dir,
    accuracy: {
      origins: accuracy.origins,
      persistenceMae: round(accuracy.persistenceMae),
      models: accuracy.models.map((m) => ({ name: m.name, mae: round(m.mae), relMae: m.relMae === null ? null : round(m.relMae), mae5: round(m.mae5), underRate: round(m.underRate), ...(m.quantiles ? { quantiles: m.quantiles } : {}) })),
    },
    inference1000Ms: { median: round(median(inferMs), 1), runs: inferMs.map((v) => round(v, 1)) },
    fineTuneRound: { seconds: round(fineTuneSeconds, 2), givenMinutes: read, trainWindows: round1.trainWindows, holdoutWindows: round1.holdoutWindows, accepted: round1.accepted },
    pretrainSeconds: pretrainSeconds === null ? null : round(pretrainSeconds, 1),
    /** Training windows of that run, augmented copies included (the shipped model's meta.json has its own). */
    pretrainWindows,
    /** Whether that run's weights equal the shipped model's, value for value. */
    pretrainSameWeights,
  };
}
