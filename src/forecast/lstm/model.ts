/**
 * The LSTM: `history` minutes × FEATURE_COUNT in, `horizon` point values plus one value per
 * quantile of the horizon's maximum out, all as ratios to the window's own request level.
 *
 * With `skipMinutes`, the last minutes' inputs also reach the outputs through a linear map.
 *
 * The 60 one-minute steps are folded into 12 steps of 5 minutes (a reshape, so the LSTM's input
 * weights act as a learned 5-minute filter): a 12-step recurrence trains 5× faster than a 60-step
 * one, and tfjs's WebAssembly backend has no gradient kernels for convolutions to do it otherwise.
 */
import * as tf from '@tensorflow/tfjs';
import { FEATURE_COUNT } from './features.js';

export interface ModelShape {
  historyMinutes: number;
  horizonMinutes: number;
  /** Quantile levels of the horizon maximum, e.g. [0.5, 0.9, 0.95]. */
  quantiles: number[];
  units: number;
  /** Minutes folded into one recurrent step. */
  stepMinutes: number;
  /** Last minutes of the window fed linearly to the outputs beside the LSTM (0 or absent: none). */
  skipMinutes?: number;
}

export const DEFAULT_SHAPE: ModelShape = { historyMinutes: 60, horizonMinutes: 10, quantiles: [0.5, 0.8, 0.9, 0.95], units: 32, stepMinutes: 5 };

/**
 * A new model. `seed` makes its initial weights reproducible; `null` skips random initialisation
 * (zeros) for a model whose weights are set right after, e.g. from a saved or fine-tuned copy.
 */
export function createModel(shape: ModelShape, seed: number | null): tf.LayersModel {
  type Init = ReturnType<typeof tf.initializers.zeros>;
  const init = (make: () => Init): Init => (seed === null ? tf.initializers.zeros() : make());
  if (shape.historyMinutes % shape.stepMinutes !== 0) throw new Error('historyMinutes must be a multiple of stepMinutes');
  // The targets carry two extra columns (weight, horizon maximum) in the quantile outputs' places.
  if (shape.quantiles.length < 2) throw new Error('the model needs at least two quantile levels');
  const outputs = shape.horizonMinutes + shape.quantiles.length;
  const input = tf.input({ shape: [shape.historyMinutes, FEATURE_COUNT] });
  const steps = tf.layers.reshape({ targetShape: [shape.historyMinutes / shape.stepMinutes, shape.stepMinutes * FEATURE_COUNT] }).apply(input) as tf.SymbolicTensor;
  const state = tf.layers
    .lstm({
      units: shape.units,
      kernelInitializer: init(() => tf.initializers.glorotUniform({ seed: seed! })),
      recurrentInitializer: init(() => tf.initializers.orthogonal({ seed: seed! + 1, gain: 1 })),
    })
    .apply(steps) as tf.SymbolicTensor;
  let out = tf.layers
    .dense({
      units: outputs,
      kernelInitializer: init(() => tf.initializers.glorotUniform({ seed: seed! + 2 })),
      // Outputs are ratios to the window's level: starting at 1 ("same as the last hour") is the right prior.
      biasInitializer: tf.initializers.constant({ value: 1 }),
      name: 'head',
    })
    .apply(state) as tf.SymbolicTensor;
  const skip = shape.skipMinutes ?? 0;
  if (skip > 0) {
    // A linear path from the last minutes' inputs straight to the outputs (starting at zero): where
    // the traffic is smooth, the forecast is the last minutes' level plus a small correction, and a
    // straight line carries that level more precisely than the recurrent state can.
    // (tfjs has no Cropping1D: the window as a one-channel image, cropped to its last rows.)
    const image = tf.layers.reshape({ targetShape: [shape.historyMinutes, FEATURE_COUNT, 1] }).apply(input) as tf.SymbolicTensor;
    const last = tf.layers.cropping2D({ cropping: [[shape.historyMinutes - skip, 0], [0, 0]] }).apply(image) as tf.SymbolicTensor;
    const flat = tf.layers.flatten().apply(last) as tf.SymbolicTensor;
    const linear = tf.layers.dense({ units: outputs, useBias: false, kernelInitializer: tf.initializers.zeros(), name: 'skip' }).apply(flat) as tf.SymbolicTensor;
    out = tf.layers.add().apply([out, linear]) as tf.SymbolicTensor;
  }
  return tf.model({ inputs: input, outputs: out });
}

/**
 * Absolute error of the point outputs (the backtest's metric) plus the pinball loss of each
 * quantile output against the horizon's actual maximum. `yTrue` is [batch, horizon + quantiles]:
 * the point targets in the first `horizon` columns, then the sample's weight (its level relative to
 * the dataset's mean level), then the horizon's actual maximum, then padding. Errors are in ratios to each window's level; weighting by
 * the level turns them back into proportion to absolute load, which is what the backtest scores —
 * unweighted, a quiet night would count as much as a busy afternoon.
 */
export function makeLoss(horizon: number, quantiles: number[]) {
  return (yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar =>
    tf.tidy(() => {
      const batch = yTrue.shape[0]!;
      const target = yTrue.slice([0, 0], [batch, horizon]);
      const weight = yTrue.slice([0, horizon], [batch, 1]);
      const point = yPred.slice([0, 0], [batch, horizon]);
      // Half on the mean over the horizon, half on its last minute: the backtest scores +horizon, the
      // planner reads every minute. Measured on NASA: 0.7442 → 0.7427 relative MAE at +10.
      const absErr = tf.abs(tf.sub(target, point));
      let perSample = tf.mul(tf.add(tf.mean(absErr, 1, true), absErr.slice([0, horizon - 1], [batch, 1])), 0.5);
      if (quantiles.length > 0) {
        const actualMax = yTrue.slice([0, horizon + 1], [batch, 1]);
        const q = tf.tensor2d([quantiles]);
        const err = tf.sub(actualMax, yPred.slice([0, horizon], [batch, quantiles.length]));
        const pinball = tf.maximum(tf.mul(q, err), tf.mul(tf.sub(q, 1), err));
        // Averaged, not summed, over the quantiles: the point forecast must stay the main task of the
        // shared recurrent state, or four quantile losses outweigh it.
        perSample = tf.add(perSample, tf.mean(pinball, 1, true));
      }
      return tf.mean(tf.mul(perSample, weight)) as tf.Scalar;
    });
}
