/**
 * Mini-batch training with a seeded shuffle, per-batch progress, and the best epoch's weights kept
 * (by validation loss), so a run is reproducible and never ends worse than its best epoch.
 */
import * as tf from '@tensorflow/tfjs';
import { rng, type Dataset } from './dataset.js';
import { FEATURE_COUNT } from './features.js';
import { makeLoss } from './model.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Cosine decay of the learning rate from `learningRate` towards 0 over the epochs. Default false. */
  cosineDecay?: boolean;
  seed: number;
  quantiles: number[];
  /** Called after every batch. */
  onProgress?: (p: { epoch: number; epochs: number; batch: number; batches: number; loss: number }) => void;
  /** Called after every epoch, with the validation loss when there is validation data. */
  onEpoch?: (e: { epoch: number; loss: number; valLoss: number | null }) => void;
}

export interface TrainResult {
  epochs: { loss: number; valLoss: number | null }[];
  bestEpoch: number;
  bestValLoss: number | null;
}

function batchTensors(d: Dataset, idx: ArrayLike<number>, from: number, to: number): { xs: tf.Tensor3D; ys: tf.Tensor2D } {
  const n = to - from;
  const xw = d.history * FEATURE_COUNT;
  const x = new Float32Array(n * xw);
  const y = new Float32Array(n * d.yWidth);
  for (let k = 0; k < n; k++) {
    const i = idx[from + k]!;
    x.set(d.x.subarray(i * xw, (i + 1) * xw), k * xw);
    y.set(d.y.subarray(i * d.yWidth, (i + 1) * d.yWidth), k * d.yWidth);
  }
  return { xs: tf.tensor3d(x, [n, d.history, FEATURE_COUNT]), ys: tf.tensor2d(y, [n, d.yWidth]) };
}

/** The loss of `model` on a whole dataset, in batches (no training). */
export function evaluateLoss(model: tf.LayersModel, d: Dataset, quantiles: number[], batchSize = 1024): number {
  if (d.count === 0) return NaN;
  const loss = makeLoss(d.horizon, quantiles);
  const order = Array.from({ length: d.count }, (_, i) => i);
  let total = 0;
  for (let from = 0; from < d.count; from += batchSize) {
    const to = Math.min(d.count, from + batchSize);
    total += tf.tidy(() => {
      const { xs, ys } = batchTensors(d, order, from, to);
      return loss(ys, model.predict(xs) as tf.Tensor).dataSync()[0]! * (to - from);
    });
  }
  return total / d.count;
}

export async function train(model: tf.LayersModel, data: Dataset, validation: Dataset | null, o: TrainOptions): Promise<TrainResult> {
  const optimizer = tf.train.adam(o.learningRate);
  model.compile({ optimizer, loss: makeLoss(data.horizon, o.quantiles) });
  const random = rng(o.seed);
  const order = Array.from({ length: data.count }, (_, i) => i);
  const batches = Math.ceil(data.count / o.batchSize);
  const epochs: TrainResult['epochs'] = [];
  let best: { epoch: number; val: number; weights: tf.Tensor[] } | null = null;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    // Large steps early, fine ones late: the last epochs settle instead of bouncing around a minimum.
    if (o.cosineDecay) (optimizer as unknown as { learningRate: number }).learningRate = o.learningRate * 0.5 * (1 + Math.cos((Math.PI * (epoch - 1)) / o.epochs));
    // Fisher-Yates with the seeded generator: the same seed gives the same batches.
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    let sum = 0;
    for (let b = 0; b < batches; b++) {
      const from = b * o.batchSize;
      const to = Math.min(data.count, from + o.batchSize);
      const { xs, ys } = batchTensors(data, order, from, to);
      const loss = (await model.trainOnBatch(xs, ys)) as number;
      tf.dispose([xs, ys]);
      sum += loss * (to - from);
      o.onProgress?.({ epoch, epochs: o.epochs, batch: b + 1, batches, loss });
      // Yield so a progress display (or a worker's message port) can run between batches.
      if (b % 8 === 7) await new Promise((r) => setImmediate(r));
    }
    const loss = sum / Math.max(1, data.count);
    const valLoss = validation && validation.count > 0 ? evaluateLoss(model, validation, o.quantiles) : null;
    epochs.push({ loss, valLoss });
    o.onEpoch?.({ epoch, loss, valLoss });
    const score = valLoss ?? loss;
    if (!best || score < best.val) {
      if (best) tf.dispose(best.weights);
      best = { epoch, val: score, weights: model.getWeights().map((w) => w.clone()) };
    }
  }
  if (best) {
    model.setWeights(best.weights);
    tf.dispose(best.weights);
  }
  return { epochs, bestEpoch: best?.epoch ?? 0, bestValLoss: validation ? (best?.val ?? null) : null };
}
