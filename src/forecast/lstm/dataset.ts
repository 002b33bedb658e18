/**
 * Training windows from a per-minute series, pure. Unobserved minutes are never learned as zeros:
 * a window needs most of its inputs observed (the rest enter as flagged gaps) and every target
 * minute observed, otherwise it is skipped.
 */
import { FEATURE_COUNT, observedFraction, writeWindow, type WindowInput } from './features.js';

export interface Dataset {
  /** [count, history, FEATURE_COUNT] */
  x: Float32Array;
  /**
   * [count, horizon + padding], as ratios to each window's level: the point targets, then the sample
   * weight, then the actual maximum over the horizon (raw, for the quantile losses), then zeros.
   */
  y: Float32Array;
  /** Each window's level (its divisor), to turn ratios back into load. */
  levels: Float32Array;
  /** Each window's end index (the origin is end − 1). */
  ends: Int32Array;
  count: number;
  history: number;
  horizon: number;
  yWidth: number;
}

export interface WindowOptions {
  history: number;
  horizon: number;
  /** Extra columns in y, at least 2: the sample weight, the horizon's actual maximum, then zeros. */
  yPadding: number;
  /**
   * Point targets as the mean of this many minutes centred on each target minute (odd; 1 = the raw
   * minute). The value at +h of a per-minute count is its rate plus noise; training towards the
   * rate gives the point outputs a less noisy signal. The quantile targets stay raw.
   */
  targetSmoothing?: number;
  /** Minimum share of observed input minutes. Default 0.75. */
  minObserved?: number;
  /** Training-time augmentation: probability that an observed input minute is hidden as a gap. */
  dropRate?: number;
  seed?: number;
}

/** A small, seedable PRNG (mulberry32): reproducible shuffles and augmentation. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Window ends in [from, to) usable for training: enough observed inputs, all targets observed. */
export function usableEnds(input: WindowInput, from: number, to: number, o: WindowOptions, stride = 1): number[] {
  const minObs = o.minObserved ?? 0.75;
  const ends: number[] = [];
  const req = input.requests;
  for (let e = Math.max(from, o.history); e + o.horizon <= Math.min(to, req.length); e += stride) {
    if (observedFraction(req, e, e + o.horizon) < 1) continue;
    if (observedFraction(req, e - o.history, e) < minObs) continue;
    ends.push(e);
  }
  return ends;
}

/** Mean of the observed minutes in [at − half, at + half], never before `from` (the origin's past is not a target). */
function smoothedTarget(series: WindowInput['requests'], from: number, at: number, half: number): number {
  let sum = 0;
  let n = 0;
  for (let i = Math.max(from, at - half); i <= at + half && i < series.length; i++) {
    const v = series[i];
    if (v !== null && v !== undefined && Number.isFinite(v)) {
      sum += v;
      n++;
    }
  }
  return n > 0 ? sum / n : (series[at] as number);
}

/**
 * Sample weights are each window's level over the mean level, so that losses count in proportion to
 * absolute load; `weight`, when given, maps each window (its end and level) to the value that takes
 * the level's place in that ratio (augmented copies: see augment.ts's augmentedWeight).
 */
export function buildDataset(input: WindowInput, ends: readonly number[], o: WindowOptions, weight?: (end: number, level: number) => number): Dataset {
  if (o.yPadding < 2) throw new Error('yPadding must be at least 2 (the sample weight and the horizon maximum)');
  const half = Math.floor((o.targetSmoothing ?? 1) / 2);
  const yWidth = o.horizon + o.yPadding;
  const stride = o.history * FEATURE_COUNT;
  const x = new Float32Array(ends.length * stride);
  const y = new Float32Array(ends.length * yWidth);
  const levels = new Float32Array(ends.length);
  const weightLevels = new Float64Array(ends.length);
  const out = new Int32Array(ends.length);
  const random = rng(o.seed ?? 1);
  const drop = o.dropRate ? () => random() < o.dropRate! : undefined;
  let n = 0;
  for (const e of ends) {
    const level = writeWindow(input, e, o.history, o.horizon, x, n * stride, drop);
    if (level === null || level <= 0) continue; // an all-zero window teaches nothing about ratios
    let max = 0;
    for (let h = 0; h < o.horizon; h++) {
      const raw = input.requests[e + h] as number;
      max = Math.max(max, raw);
      y[n * yWidth + h] = (half === 0 ? raw : smoothedTarget(input.requests, e, e + h, half)) / level;
    }
    y[n * yWidth + o.horizon + 1] = max / level;
    levels[n] = level;
    weightLevels[n] = weight ? weight(e, level) : level;
    out[n] = e;
    n++;
  }
  // Weight = level ÷ mean level: losses count in proportion to absolute load (see makeLoss).
  let mean = 0;
  for (let i = 0; i < n; i++) mean += weightLevels[i]! / n;
  for (let i = 0; i < n; i++) y[i * yWidth + o.horizon] = mean > 0 ? weightLevels[i]! / mean : 1;
  return { x: x.subarray(0, n * stride), y: y.subarray(0, n * yWidth), levels: levels.subarray(0, n), ends: out.subarray(0, n), count: n, history: o.history, horizon: o.horizon, yWidth };
}

/** Several datasets of one window shape as one (their rows in order; each keeps its own weights). */
export function concatDatasets(parts: readonly Dataset[]): Dataset {
  const first = parts[0];
  if (!first) throw new Error('concatDatasets needs at least one dataset');
  for (const p of parts) {
    if (p.history !== first.history || p.horizon !== first.horizon || p.yWidth !== first.yWidth) throw new Error('concatDatasets: datasets of different shapes');
  }
  if (parts.length === 1) return first;
  const count = parts.reduce((s, p) => s + p.count, 0);
  const cat = <T extends Float32Array | Int32Array>(make: (n: number) => T, pick: (d: Dataset) => T): T => {
    const out = make(parts.reduce((s, p) => s + pick(p).length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(pick(p), o);
      o += pick(p).length;
    }
    return out;
  };
  return {
    x: cat((n) => new Float32Array(n), (d) => d.x),
    y: cat((n) => new Float32Array(n), (d) => d.y),
    levels: cat((n) => new Float32Array(n), (d) => d.levels),
    ends: cat((n) => new Int32Array(n), (d) => d.ends),
    count,
    history: first.history,
    horizon: first.horizon,
    yWidth: first.yWidth,
  };
}
