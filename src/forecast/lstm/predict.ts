/** Histories → forecasts with one model, batched: one `predict` for many windows. */
import * as tf from '@tensorflow/tfjs';
import { applyBlend, baselineAt } from './blend.js';
import type { Forecast } from '../../series/forecast.js';
import type { ForecastRequest } from '../types.js';
import { InsufficientHistoryError } from '../types.js';
import { FEATURE_COUNT, observedFraction, writeWindow, type WindowNoise } from './features.js';
import type { ModelShape } from './model.js';
import { holdMove } from './move-hold.js';
import { resolveBlend, type BlendInUse } from './smooth-blend.js';

/** Below this share of observed minutes in the window the LSTM declines (the gate falls back). */
export const MIN_OBSERVED = 0.5;

export type BatchResult = Forecast | Error;

/** A batch's model input and what is needed to turn the model's output back into forecasts. */
export interface PreparedBatch {
  /** [rows, history, FEATURE_COUNT] */
  x: Float32Array;
  rows: number;
  levels: (number | Error)[];
  /** Each window's noise as the features read it (the smooth blend's input), undefined without a row. */
  noise: (WindowNoise | undefined)[];
  rowOf: number[];
}

export function prepareBatch(shape: ModelShape, requests: readonly ForecastRequest[]): PreparedBatch {
  const H = shape.historyMinutes;
  const width = H * FEATURE_COUNT;
  const x = new Float32Array(requests.length * width);
  const levels: (number | Error)[] = [];
  const noise: (WindowNoise | undefined)[] = [];
  let rows = 0;
  const rowOf: number[] = [];
  for (const req of requests) {
    const h = req.history;
    const end = h.requests.length;
    if (end < H || observedFraction(h.requests, end - H, end) < MIN_OBSERVED) {
      levels.push(new InsufficientHistoryError(`lstm needs ${H} minutes with at least ${MIN_OBSERVED * 100}% observed`));
      noise.push(undefined);
      rowOf.push(-1);
      continue;
    }
    const n: WindowNoise = { steady: 0, steps: 0 };
    const level = writeWindow({ requests: h.requests, cpu: h.cpu, memory: h.memory, start: h.start, utcOffsetMinutes: h.utcOffsetMinutes ?? 0 }, end, H, shape.horizonMinutes, x, rows * width, undefined, n);
    levels.push(level ?? new InsufficientHistoryError('no observed request in the window'));
    noise.push(level === null ? undefined : n);
    rowOf.push(level === null ? -1 : rows++);
  }
  return { x: x.subarray(0, rows * width), rows, levels, noise, rowOf };
}

/** The model's raw output for a prepared batch ([rows, horizon + quantiles]). */
export function runModel(model: tf.LayersModel, shape: ModelShape, x: Float32Array, rows: number): Float32Array {
  if (rows === 0) return new Float32Array(0);
  return tf.tidy(() => (model.predict(tf.tensor3d(x, [rows, shape.historyMinutes, FEATURE_COUNT])) as tf.Tensor).dataSync() as Float32Array);
}

export function finishBatch(shape: ModelShape, name: string, requests: readonly ForecastRequest[], b: PreparedBatch, out: Float32Array, calibration?: Record<string, number>, blendInUse?: BlendInUse): BatchResult[] {
  const cols = shape.horizonMinutes + shape.quantiles.length;
  return requests.map((req, i) => {
    const level = b.levels[i]!;
    if (level instanceof Error) return level;
    const row = b.rowOf[i]!;
    const r = out.subarray(row * cols, (row + 1) * cols);
    const trained = Array.from(r.subarray(0, shape.horizonMinutes), (v) => Math.max(0, v * level));
    const values = trained.slice(0, req.horizon);
    let note: string | undefined;
    // Beyond the trained horizon, hold the last forecast value rather than invent a shape.
    while (values.length < req.horizon) values.push(trained[trained.length - 1] ?? 0);
    if (req.horizon > shape.horizonMinutes) note = `forecast beyond the trained ${shape.horizonMinutes} minutes holds the last value`;
    const maxQuantiles: Record<string, number> = {};
    // Quantile outputs are trained independently; sort them so a higher level is never lower.
    const qs = Array.from(r.subarray(shape.horizonMinutes), (v, k) => Math.max(0, v * level * (calibration?.[String(shape.quantiles[k])] ?? 1))).sort((a, b) => a - b);
    shape.quantiles.forEach((q, k) => (maxQuantiles[String(q)] = qs[k]!));
    const h = req.history.requests;
    const blend = resolveBlend(blendInUse, level, b.noise[i], shape.historyMinutes);
    // Any blend first, then a clear move is held (move-hold.ts): a blend toward a level from before
    // the move must not pull the forecast back under it.
    const blended = blend && blend.weight > 0 ? applyBlend(values, maxQuantiles, blend, baselineAt(h, h.length, blend.baseline, values.length, { start: req.history.start, utcOffsetMinutes: req.history.utcOffsetMinutes ?? 0 })) : { values, maxQuantiles };
    const held = holdMove(blended.values, blended.maxQuantiles, h, shape.historyMinutes);
    return { model: name, values: held.values, maxQuantiles: held.maxQuantiles, ...(note ? { note } : {}) };
  });
}

/** prepare → run → finish, in this thread (the backtest, the benchmark, tests). */
export function predictBatch(model: tf.LayersModel, shape: ModelShape, name: string, requests: readonly ForecastRequest[], calibration?: Record<string, number>, blend?: BlendInUse): BatchResult[] {
  const b = prepareBatch(shape, requests);
  return finishBatch(shape, name, requests, b, runModel(model, shape, b.x, b.rows), calibration, blend);
}
