/**
 * One fine-tuning round for one workload, pure computation (it runs in a worker thread): the
 * output layers of a copy of the current weights are refitted on the workload's recent windows,
 * and the copy is accepted only when it beats the current weights on the most recent held-out
 * slice, which the refit never saw.
 *
 * The LSTM layer stays as it is and only the linear maps to the outputs (from the LSTM's state and,
 * when the model has it, from the skip path's last minutes) are refitted. The state of every window
 * is computed once, in one batched forward pass; the refit is then a few hundred mini-batch Adam
 * steps of a linear map, in plain arithmetic (a tfjs op costs more in overhead than this map's
 * arithmetic). What a workload needs from its own history is mostly how to weigh what the
 * pre-trained LSTM already reads — how much to smooth, how far to trust yesterday, how wide its
 * quantiles are — and this costs a fraction of training every weight (docs/experiments/
 * forecaster-2026-12.md has the figures).
 */
import * as tf from '@tensorflow/tfjs';
import { buildDataset, rng, usableEnds, type Dataset, type WindowOptions } from './dataset.js';
import { FEATURE_COUNT, type WindowInput } from './features.js';
import { getWeights, setWeights } from './io.js';
import { createModel, type ModelShape } from './model.js';
import { BLEND_BASELINES, BLEND_CONTEXT_MINUTES, baselineAt, blendBelowBar, blendErrorSums, type BaseValue, type Blend, type BlendBaseline, type SeriesClock } from './blend.js';
import { MINUTE_MS } from '../../series/minute.js';
import { addToRecord, emptyRecord, recordChoice, type BlendRecord } from './blend-record.js';
import { moveAt, type HeldMove } from './move-hold.js';

export interface FineTuneJob {
  shape: ModelShape;
  /** The weights in use now. */
  weights: Float32Array[];
  /**
   * The pre-trained weights. Every round refits from these, not from the weights in use, and keeps
   * whichever of the refit, the pre-trained and the current weights does best on the hold-out:
   * rounds that each built on the last drifted (on NASA, 60 rounds took relative MAE from 0.748 to
   * 0.808 though each passed its own hold-out). Default: `weights`.
   */
  pretrained?: Float32Array[];
  series: WindowInput;
  /**
   * Windows are fitted, held out and scored for the blend only in the last `fitMinutes` of `series`
   * (default: all of it); the minutes before are context the baselines read from earlier days
   * (roundReadMinutes).
   */
  fitMinutes?: number;
  /** Most recent windows held out for the accept/reject decision. Default 120. */
  holdoutWindows?: number;
  /** At most this many windows (the most recent before the hold-out) are trained on. Default 4,000. */
  maxTrainWindows?: number;
  /** Minutes between two training windows. Default TRAIN_STRIDE. */
  trainStride?: number;
  /** Optimiser steps. Default STEPS. */
  steps?: number;
  /** Adam's learning rate. Default LEARNING_RATE. */
  learningRate?: number;
  /** Windows per step. Default BATCH. */
  batchSize?: number;
  seed?: number;
  /** See WindowOptions.targetSmoothing; the pre-trained model's setting. */
  targetSmoothing?: number;
  /** Required relative improvement of the hold-out loss to accept. Default 0.01 (1%). */
  minImprovement?: number;
  /** The blend in use with `weights` (blend.ts); absent: none (the LSTM alone). */
  blend?: Blend;
  /**
   * Also choose a blend for the weights the round keeps (`--fine-tune-blend`, on by default in
   * serve, simulate and eval). Off: no blend, and one in use is dropped with the next accepted weights.
   */
  chooseBlend?: boolean;
  /**
   * The workload's record of each blend's out-of-sample errors (blend-record.ts), as the last round
   * returned it; absent: none yet. Used only with `chooseBlend`.
   */
  record?: BlendRecord;
}

export interface FineTuneResult {
  /** New weights, or a new blend with the weights in use: publish them. */
  accepted: boolean;
  /** Present when accepted. */
  weights?: Float32Array[];
  /** The blend to use with the weights (chosen on the hold-out); present when the round scored one. */
  blend?: Blend;
  /** The record with this round's newly scoreable windows added; present when the round scored a blend. */
  record?: BlendRecord;
  /** Where the blend came from: the record of out-of-sample errors, or the round's own span (the record still too short). */
  blendFrom?: 'record' | 'span';
  baseLoss: number;
  candidateLoss: number;
  /** The same, point forecasts only (no quantile loss). */
  basePointLoss: number;
  candidatePointLoss: number;
  trainWindows: number;
  holdoutWindows: number;
  reason: string;
}

/** Fewest training windows (at stride 1) worth a round: below it the hold-out comparison is noise. */
export const MIN_TRAIN_WINDOWS = 240;
/** Minutes between two training windows: neighbours share 59 of their 60 minutes. */
export const TRAIN_STRIDE = 2;
export const STEPS = 150;
export const LEARNING_RATE = 0.005;
export const BATCH = 512;
/** Minutes between two windows the blend is scored on. */
export const BLEND_STRIDE = 3;

/**
 * Minutes of history a round is given: the `fitMinutes` it learns from and, when it chooses a blend,
 * enough before them that every window its record scores (those since the last round, `interval`
 * minutes ago) has the baselines' days behind it. Serve, simulate and eval read this much.
 */
export function roundReadMinutes(fitMinutes: number, intervalMinutes: number, horizonMinutes: number, chooseBlend: boolean): number {
  return chooseBlend ? Math.max(fitMinutes, BLEND_CONTEXT_MINUTES + intervalMinutes + horizonMinutes) : fitMinutes;
}

export async function fineTuneRound(job: FineTuneJob): Promise<FineTuneResult> {
  const { shape } = job;
  const wo: WindowOptions = { history: shape.historyMinutes, horizon: shape.horizonMinutes, yPadding: shape.quantiles.length, seed: job.seed ?? 7, targetSmoothing: job.targetSmoothing };
  // Fitting sees only the span (its windows exactly as if the read were no longer); the blend's
  // baselines read the whole series.
  const before = Math.max(0, job.series.requests.length - (job.fitMinutes ?? Infinity));
  const series = before > 0 ? fromMinute(job.series, before) : job.series;
  const context: BaseContext = { requests: job.series.requests, offset: before, clock: { start: job.series.start, utcOffsetMinutes: job.series.utcOffsetMinutes } };
  const ends = usableEnds(series, 0, series.requests.length, wo);
  const stride = job.trainStride ?? TRAIN_STRIDE;
  const holdoutN = Math.min(job.holdoutWindows ?? 120, Math.floor(ends.length / 3));
  // Hold-out windows must not share target minutes with training windows: drop `horizon` in between.
  const holdoutEnds = ends.slice(ends.length - holdoutN);
  const firstHoldout = holdoutEnds[0] ?? Infinity;
  const trainEnds = ends.filter((e) => e + shape.horizonMinutes <= firstHoldout && (firstHoldout - e) % stride === 0).slice(-(job.maxTrainWindows ?? 4000));
  // A round that cannot run keeps the record as it was (a gap in the data must not erase it).
  const empty = { accepted: false, baseLoss: NaN, candidateLoss: NaN, basePointLoss: NaN, candidatePointLoss: NaN, trainWindows: trainEnds.length, holdoutWindows: holdoutEnds.length, ...(job.record ? { record: job.record } : {}) };
  // MIN_TRAIN_WINDOWS minutes' worth of windows, whatever the stride.
  if (trainEnds.length < MIN_TRAIN_WINDOWS / stride || holdoutEnds.length < 30) return { ...empty, reason: `not enough history yet (${trainEnds.length} training windows, ${holdoutEnds.length} hold-out)` };

  const trainSet = buildDataset(series, trainEnds, wo);
  const holdout = buildDataset(series, holdoutEnds, wo);
  const model = createModel(shape, null);
  try {
    const minImprovement = 1 - (job.minImprovement ?? 0.01);
    const lossesOf = (m: LinearMap, x: Float32Array) => ({ loss: headLoss(m, x, holdout, shape.quantiles), point: headLoss(m, x, holdout, []) });
    // The weights in use, scored with their own LSTM (weights saved before a change of the
    // pre-trained model may differ there).
    setWeights(model, job.weights);
    const layers = outputLayers(model);
    const current = currentMap(layers);
    const base = lossesOf(current, headInputs(model, holdout));
    // The weights in use were fitted no later than the last round: the windows that became
    // scoreable since then are out of sample for them.
    const record = job.chooseBlend ? updateRecord(job.record, series, context, ends, current, (d) => headInputs(model, d), wo, shape.horizonMinutes) : undefined;
    if (job.pretrained) setWeights(model, job.pretrained);
    const start = job.pretrained ? currentMap(layers) : current;
    const trainX = headInputs(model, trainSet);
    const holdX = headInputs(model, holdout);
    const pre = job.pretrained ? lossesOf(start, holdX) : base;
    const fitted = await fitMap(start, trainX, trainSet, shape.quantiles, job);
    const candidate = lossesOf(fitted, holdX);
    // Better on the whole loss, and no worse on the point forecast alone: a candidate must not buy
    // tighter quantiles with worse point forecasts.
    const beats = (a: { loss: number; point: number }, b: { loss: number; point: number }) => a.loss < b.loss * minImprovement && a.point <= b.point;
    const fitOk = beats(candidate, pre);
    const best = fitOk ? { map: fitted, ...candidate } : { map: start, ...pre };
    const newWeights = best.map !== current && beats(best, base);
    if (newWeights) setMap(layers, best.map);
    let blend = NO_BLEND;
    const fromRecord = job.chooseBlend ? recordChoice(record, minImprovement) : null;
    if (fromRecord) blend = fromRecord;
    else if (job.chooseBlend) {
      // Until the record is long enough: the blend of the weights that will be in use, scored on
      // every window of the round's span (a few minutes apart) in the load's unit — in sample, so
      // it blends too little where the LSTM overfits, but two hours of hold-out are too few.
      if (!newWeights) setWeights(model, job.weights);
      const blendSet = buildDataset(series, ends.filter((e) => e % BLEND_STRIDE === 0), wo);
      const e = blendErrors(currentMap(layers), headInputs(model, blendSet), blendSet, context, shape.horizonMinutes);
      blend = blendBelowBar(e.sums, e.count, minImprovement);
    }
    // Without the opt-in a blend in use stays until new weights come (which drop it).
    const blendChanged = job.chooseBlend === true && !sameBlend(blend, job.blend);
    const accepted = newWeights || blendChanged;
    const reason = !accepted
      ? 'candidate does not beat current weights on the hold-out'
      : !newWeights
        ? `blend ${describeBlend(blend)} beats ${describeBlend(job.blend)} on the hold-out`
        : fitOk
          ? 'candidate beats current weights on the hold-out'
          : 'pre-trained weights beat current weights on the hold-out';
    return {
      accepted,
      ...(job.chooseBlend ? { blend, record, blendFrom: fromRecord ? ('record' as const) : ('span' as const) } : {}),
      ...(accepted ? { weights: getWeights(model) } : {}),
      baseLoss: base.loss,
      candidateLoss: accepted ? best.loss : candidate.loss,
      basePointLoss: base.point,
      candidatePointLoss: accepted ? best.point : candidate.point,
      trainWindows: trainSet.count,
      holdoutWindows: holdout.count,
      reason,
    };
  } finally {
    model.dispose();
  }
}

/** The whole series a round was given, for the blend's baselines, and where its fitted span begins in it. */
interface BaseContext {
  requests: WindowInput['requests'];
  offset: number;
  clock: SeriesClock;
}

/** The series from minute `from` on (its start moved with it). */
function fromMinute(s: WindowInput, from: number): WindowInput {
  const cut = (x: WindowInput['requests']) => Array.prototype.slice.call(x, from) as (number | null)[];
  return { ...s, requests: cut(s.requests), cpu: s.cpu && cut(s.cpu), memory: s.memory && cut(s.memory), start: s.start + from * MINUTE_MS };
}

const NO_BLEND: Blend = { baseline: BLEND_BASELINES[0], weight: 0 };
const sameBlend = (a: Blend, b: Blend | undefined) => (b ?? NO_BLEND).weight === a.weight && (a.weight === 0 || (b ?? NO_BLEND).baseline === a.baseline);
const describeBlend = (b: Blend | undefined) => (!b || b.weight === 0 ? 'none' : `${b.baseline} ${b.weight}`);

/**
 * Every blend candidate's summed absolute error (blend.ts) on the dataset's windows, in the load's
 * unit, as serving forecasts: the map's point forecasts, blended, then a clear move held.
 */
function blendErrors(m: LinearMap, x: Float32Array, d: Dataset, context: BaseContext, horizon: number): { sums: number[]; count: number } {
  const series = context.requests;
  const H = Math.min(horizon, d.horizon);
  const predicted = new Float64Array(d.count * H);
  const actual = new Float64Array(d.count * H);
  const base = Object.fromEntries(BLEND_BASELINES.map((b) => [b, [] as BaseValue[]])) as Record<BlendBaseline, BaseValue[]>;
  const held: (HeldMove | null)[] = [];
  const out = new Float64Array(m.outputs);
  for (let r = 0; r < d.count; r++) {
    apply(m, x, r, out);
    const end = context.offset + d.ends[r]!;
    for (let h = 0; h < H; h++) {
      predicted[r * H + h] = Math.max(0, out[h]! * d.levels[r]!);
      // Scored windows have every target minute observed (dataset.ts).
      actual[r * H + h] = (series[end + h] as number | null) ?? 0;
    }
    for (const b of BLEND_BASELINES) base[b].push(baselineAt(series, end, b, H, context.clock));
    held.push(moveAt(series, end, d.history));
  }
  return { sums: blendErrorSums(predicted, actual, H, base, held), count: actual.length };
}

/**
 * The record with the windows that became scoreable since it was last updated (their ends a few
 * minutes apart on the clock, so rounds never score a window twice), scored with the weights in use.
 * No record yet: one starts at the span's end, since the weights in use may have been fitted on it.
 */
function updateRecord(record: BlendRecord | undefined, series: WindowInput, context: BaseContext, ends: readonly number[], m: LinearMap, inputs: (d: Dataset) => Float32Array, wo: WindowOptions, horizon: number): BlendRecord {
  const startMinute = Math.round(series.start / MINUTE_MS);
  // The first window end whose targets are not all in the span yet.
  const spanNext = startMinute + series.requests.length - horizon + 1;
  if (!record) return emptyRecord(spanNext);
  const fresh = ends.filter((e) => startMinute + e >= record.next && (startMinute + e) % BLEND_STRIDE === 0);
  if (fresh.length === 0) return addToRecord(record, Math.max(record.next, spanNext), [], 0);
  const d = buildDataset(series, fresh, wo);
  const e = blendErrors(m, inputs(d), d, context, horizon);
  return addToRecord(record, Math.max(record.next, spanNext), e.sums, e.count);
}

/** The outputs as one linear map of what the output layers read: [inputs × outputs] kernel, row-major, and a bias. */
export interface LinearMap {
  inputs: number;
  outputs: number;
  kernel: Float64Array;
  bias: Float64Array;
}

/** The layers that map to the outputs: `head` (on the LSTM's state), then `skip` when present. */
function outputLayers(model: tf.LayersModel): tf.layers.Layer[] {
  const head = model.getLayer('head');
  const skip = model.layers.find((l) => l.name === 'skip');
  return skip ? [head, skip] : [head];
}

function currentMap(layers: tf.layers.Layer[]): LinearMap {
  const [headKernel, headBias] = layers[0]!.getWeights();
  const skipKernel = layers[1]?.getWeights()[0];
  const outputs = headKernel!.shape[1]!;
  const rows = headKernel!.shape[0]! + (skipKernel?.shape[0] ?? 0);
  const kernel = new Float64Array(rows * outputs);
  kernel.set(headKernel!.dataSync());
  if (skipKernel) kernel.set(skipKernel.dataSync(), headKernel!.size);
  return { inputs: rows, outputs, kernel, bias: Float64Array.from(headBias!.dataSync()) };
}

function setMap(layers: tf.layers.Layer[], m: LinearMap): void {
  const units = layers[0]!.getWeights()[0]!.shape[0]!;
  tf.tidy(() => {
    layers[0]!.setWeights([tf.tensor2d(Float32Array.from(m.kernel.subarray(0, units * m.outputs)), [units, m.outputs]), tf.tensor1d(Float32Array.from(m.bias))]);
    if (layers[1]) layers[1].setWeights([tf.tensor2d(Float32Array.from(m.kernel.subarray(units * m.outputs)), [m.inputs - units, m.outputs])]);
  });
}

/**
 * What the output layers read, for every window of a dataset, [count × inputs] row-major: the
 * LSTM's state, then the last minutes' inputs when the model has the linear skip path.
 */
function headInputs(model: tf.LayersModel, d: Dataset): Float32Array {
  const layers = outputLayers(model);
  const probe = tf.model({ inputs: model.inputs, outputs: layers.map((l) => l.input as tf.SymbolicTensor) });
  return tf.tidy(() => {
    const out = probe.predict(tf.tensor3d(d.x, [d.count, d.history, FEATURE_COUNT]));
    return (Array.isArray(out) ? tf.concat(out, 1) : out).dataSync() as Float32Array;
  });
}

/** One window's outputs under a map: out[o] = bias[o] + Σ x[i] kernel[i, o]. */
function apply(m: LinearMap, x: Float32Array, row: number, out: Float64Array): void {
  out.set(m.bias);
  const at = row * m.inputs;
  for (let i = 0; i < m.inputs; i++) {
    const xi = x[at + i]!;
    if (xi === 0) continue;
    const k = i * m.outputs;
    for (let o = 0; o < m.outputs; o++) out[o] += xi * m.kernel[k + o]!;
  }
}

/**
 * One window's loss (model.ts's makeLoss: half the mean absolute error over the horizon plus half
 * at its last minute, then the mean pinball loss of the quantiles of the horizon maximum, all
 * times the window's weight) and, when `grad` is given, its gradient with respect to the outputs.
 */
function windowLoss(pred: Float64Array, d: Dataset, row: number, quantiles: readonly number[], grad?: Float64Array): number {
  const H = d.horizon;
  const y = row * d.yWidth;
  const weight = d.y[y + H]!;
  let mean = 0;
  let lossAt = 0;
  for (let h = 0; h < H; h++) {
    const e = pred[h]! - d.y[y + h]!;
    mean += Math.abs(e) / H;
    if (grad) grad[h] = (0.5 * weight * Math.sign(e)) / H;
    if (h === H - 1) {
      lossAt = Math.abs(e);
      if (grad) grad[h]! += 0.5 * weight * Math.sign(e);
    }
  }
  let pinball = 0;
  const actualMax = d.y[y + H + 1]!;
  for (let j = 0; j < quantiles.length; j++) {
    const q = quantiles[j]!;
    const e = actualMax - pred[H + j]!;
    pinball += Math.max(q * e, (q - 1) * e) / quantiles.length;
    if (grad) grad[H + j] = (weight * (e > 0 ? -q : 1 - q)) / quantiles.length;
  }
  return (0.5 * (mean + lossAt) + pinball) * weight;
}

/** Mean loss of a map over a dataset's windows (`quantiles` empty: the point forecasts alone). */
export function headLoss(m: LinearMap, x: Float32Array, d: Dataset, quantiles: readonly number[]): number {
  if (d.count === 0) return NaN;
  const pred = new Float64Array(m.outputs);
  let total = 0;
  for (let r = 0; r < d.count; r++) {
    apply(m, x, r, pred);
    total += windowLoss(pred, d, r, quantiles);
  }
  return total / d.count;
}

/** Mini-batch Adam on the map from `start`; returns the refitted map. */
async function fitMap(start: LinearMap, x: Float32Array, d: Dataset, quantiles: readonly number[], job: FineTuneJob): Promise<LinearMap> {
  const m: LinearMap = { ...start, kernel: start.kernel.slice(), bias: start.bias.slice() };
  const { inputs, outputs } = m;
  const lr = job.learningRate ?? LEARNING_RATE;
  const batch = Math.min(d.count, job.batchSize ?? BATCH);
  const steps = job.steps ?? STEPS;
  const random = rng(job.seed ?? 7);
  // Adam (tfjs's defaults: β1 0.9, β2 0.999, ε 1e-7), the kernel and the bias as one vector.
  const size = inputs * outputs + outputs;
  const g = new Float64Array(size);
  const mom = new Float64Array(size);
  const vel = new Float64Array(size);
  const pred = new Float64Array(outputs);
  const dOut = new Float64Array(outputs);
  const b1 = 0.9;
  const b2 = 0.999;
  for (let step = 1; step <= steps; step++) {
    g.fill(0);
    for (let b = 0; b < batch; b++) {
      const r = Math.floor(random() * d.count);
      apply(m, x, r, pred);
      windowLoss(pred, d, r, quantiles, dOut);
      const at = r * inputs;
      for (let i = 0; i < inputs; i++) {
        const xi = x[at + i]!;
        if (xi === 0) continue;
        const k = i * outputs;
        for (let o = 0; o < outputs; o++) g[k + o] += xi * dOut[o]!;
      }
      const k = inputs * outputs;
      for (let o = 0; o < outputs; o++) g[k + o] += dOut[o]!;
    }
    const c1 = 1 - b1 ** step;
    const c2 = 1 - b2 ** step;
    for (let i = 0; i < size; i++) {
      const gi = g[i]! / batch;
      mom[i] = b1 * mom[i]! + (1 - b1) * gi;
      vel[i] = b2 * vel[i]! + (1 - b2) * gi * gi;
      const delta = (lr * (mom[i]! / c1)) / (Math.sqrt(vel[i]! / c2) + 1e-7);
      if (i < inputs * outputs) m.kernel[i] -= delta;
      else m.bias[i - inputs * outputs] -= delta;
    }
    // A round runs in a worker next to others' messages: yield now and then.
    if (step % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  return m;
}
