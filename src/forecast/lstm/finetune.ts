/**
 * One fine-tuning round for one workload, pure computation (it runs in a worker thread): a short
 * training of a copy of the current weights on the workload's recent windows, accepted only when
 * it beats the current weights on the most recent held-out slice, which the training never saw.
 */
import { buildDataset, usableEnds, type WindowOptions } from './dataset.js';
import type { WindowInput } from './features.js';
import { getWeights, setWeights } from './io.js';
import { createModel, type ModelShape } from './model.js';
import { evaluateLoss, train } from './train.js';

export interface FineTuneJob {
  shape: ModelShape;
  /** The weights in use now. */
  weights: Float32Array[];
  series: WindowInput;
  /** Most recent windows held out for the accept/reject decision. Default 120. */
  holdoutWindows?: number;
  /** At most this many windows (the most recent before the hold-out) are trained on. Default 4,000. */
  maxTrainWindows?: number;
  epochs?: number;
  learningRate?: number;
  batchSize?: number;
  seed?: number;
  /** See WindowOptions.targetSmoothing; the pre-trained model's setting. */
  targetSmoothing?: number;
  /** Required relative improvement of the hold-out loss to accept. Default 0.01 (1%). */
  minImprovement?: number;
}

export interface FineTuneResult {
  accepted: boolean;
  /** The candidate's weights, when accepted. */
  weights?: Float32Array[];
  baseLoss: number;
  candidateLoss: number;
  trainWindows: number;
  holdoutWindows: number;
  reason: string;
}

/** Fewest training windows worth a round: below it the hold-out comparison is noise. */
export const MIN_TRAIN_WINDOWS = 240;

export async function fineTuneRound(job: FineTuneJob): Promise<FineTuneResult> {
  const { shape } = job;
  const wo: WindowOptions = { history: shape.historyMinutes, horizon: shape.horizonMinutes, yPadding: shape.quantiles.length, seed: job.seed ?? 7, targetSmoothing: job.targetSmoothing };
  const ends = usableEnds(job.series, 0, job.series.requests.length, wo);
  const holdoutN = Math.min(job.holdoutWindows ?? 120, Math.floor(ends.length / 3));
  // Hold-out windows must not share target minutes with training windows: drop `horizon` in between.
  const holdoutEnds = ends.slice(ends.length - holdoutN);
  const firstHoldout = holdoutEnds[0] ?? Infinity;
  const trainEnds = ends.filter((e) => e + shape.horizonMinutes <= firstHoldout).slice(-(job.maxTrainWindows ?? 4000));
  const empty = { accepted: false, baseLoss: NaN, candidateLoss: NaN, trainWindows: trainEnds.length, holdoutWindows: holdoutEnds.length };
  if (trainEnds.length < MIN_TRAIN_WINDOWS || holdoutEnds.length < 30) return { ...empty, reason: `not enough history yet (${trainEnds.length} training windows, ${holdoutEnds.length} hold-out)` };

  const trainSet = buildDataset(job.series, trainEnds, { ...wo, dropRate: 0.03 });
  const holdout = buildDataset(job.series, holdoutEnds, wo);
  const model = createModel(shape, null);
  try {
    setWeights(model, job.weights);
    const baseLoss = evaluateLoss(model, holdout, shape.quantiles);
    await train(model, trainSet, null, {
      epochs: job.epochs ?? 4,
      batchSize: job.batchSize ?? 128,
      learningRate: job.learningRate ?? 1e-3,
      seed: job.seed ?? 7,
      quantiles: shape.quantiles,
    });
    const candidateLoss = evaluateLoss(model, holdout, shape.quantiles);
    const accepted = candidateLoss < baseLoss * (1 - (job.minImprovement ?? 0.01));
    return {
      accepted,
      ...(accepted ? { weights: getWeights(model) } : {}),
      baseLoss,
      candidateLoss,
      trainWindows: trainSet.count,
      holdoutWindows: holdout.count,
      reason: accepted ? 'candidate beats current weights on the hold-out' : 'candidate does not beat current weights on the hold-out',
    };
  } finally {
    model.dispose();
  }
}
