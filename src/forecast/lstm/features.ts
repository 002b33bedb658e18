/**
 * Window → model input, pure. One window is the last `history` minutes before an origin: per minute
 * the request rate, CPU and memory, a 0/1 flag for each saying whether it was observed (a gap is 0
 * with flag 0, never a zero load), the minute's local time of day and day of week as sine/cosine
 * pairs, and the request rate one day earlier *shifted ahead by the horizon*: so the window's last
 * `horizon` steps carry what happened yesterday in the minutes being forecast — the daily pattern,
 * from history alone (one day before the window, never the future).
 *
 * Requests (today's and yesterday's) are divided by the window's level, the larger of the window's
 * mean and its last RECENT_MINUTES minutes' mean: one model serves workloads of any size, and after
 * a jump up the inputs and the targets stay near 1 instead of reading 5 or 50. CPU and memory are
 * divided by their own window means.
 *
 * Three per-window constants, repeated on every step, restore what dividing by the level hides:
 * - log roughness, the mean absolute minute-to-minute change over the level: how much of the window
 *   is noise, so the model knows how far to smooth (a few dozen bursty requests a minute vs a
 *   steady million) without seeing the workload's absolute size;
 * - log steady roughness, the same over the smallest 80% of the changes: the noise without the
 *   jumps and ramps, which the plain mean counts as noise;
 * - log day level, the last 24 hours' mean over the level: whether this hour is above or below the
 *   workload's usual load.
 * All are unit-free, so a workload in requests/s and one in requests/min get the same inputs.
 */
import { MINUTE_MS } from '../../series/minute.js';
import { forEachMinuteStep } from '../../series/observed.js';
import { DAY_MINUTES } from '../../series/calendar.js';

export const FEATURES = ['requests', 'requestsObserved', 'cpu', 'cpuObserved', 'memory', 'memoryObserved', 'todSin', 'todCos', 'dowSin', 'dowCos', 'dayAgoAhead', 'dayAgoAheadObserved', 'logRoughness', 'logSteadyRoughness', 'logDayLevel'] as const;

export const FEATURE_COUNT = FEATURES.length;

export type Series = ArrayLike<number | null | undefined>;

export interface WindowInput {
  requests: Series;
  cpu?: Series;
  memory?: Series;
  /** Epoch ms of element 0 of the series. */
  start: number;
  utcOffsetMinutes: number;
}

/** Mean of the observed values in [from, to); null when none is observed. */
export function observedLevel(series: Series, from: number, to: number): number | null {
  let sum = 0;
  let n = 0;
  for (let i = Math.max(0, from); i < to; i++) {
    const v = series[i];
    if (v !== null && v !== undefined && Number.isFinite(v)) {
      sum += v;
      n++;
    }
  }
  return n === 0 ? null : sum / n;
}

export function observedFraction(series: Series, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const v = series[i];
    if (v !== null && v !== undefined && Number.isFinite(v)) n++;
  }
  return n / Math.max(1, to - from);
}

/** Minutes whose mean is the divisor when it exceeds the window's mean. */
export const RECENT_MINUTES = 5;
/** Roughness enters as its logarithm within these bounds: smooth traffic of ~10⁶ a minute … one burst. */
const MIN_ROUGHNESS = 1e-3;
const MAX_ROUGHNESS = 3;
/** The steady roughness averages the smallest this share of the steps: a jump or a ramp does not count. */
const STEADY_SHARE = 0.8;
/** The day level enters as its logarithm within 1/this … this. */
const MAX_DAY_RATIO = 1000;

const DAY = 1440;
const WEEK = 7 * DAY;
const TAU = 2 * Math.PI;

/** A window's steady roughness over its level, unclamped, and how many minute-to-minute changes it was read from. */
export interface WindowNoise {
  steady: number;
  steps: number;
}

/**
 * Writes one window's features into `out` at `offset` (history × FEATURE_COUNT floats) and returns
 * the window's request level (the divisor), or null when the window has no observed request.
 * `end` is the index just after the window's last minute; `ahead` is the forecast horizon (the
 * day-ago feature's shift, < DAY_MINUTES). `dropped` optionally marks minutes to treat as
 * unobserved (training-time augmentation); `noise`, when given, receives the window's steady
 * roughness as read for the features (serving's smooth blend uses it: smooth-blend.ts).
 */
export function writeWindow(input: WindowInput, end: number, history: number, ahead: number, out: Float32Array, offset: number, dropped?: (i: number) => boolean, noise?: WindowNoise): number | null {
  const from = end - history;
  const level = requestLevel(input.requests, end, history);
  if (level === null) return null;
  const cpuLevel = input.cpu ? observedLevel(input.cpu, from, end) : null;
  const memLevel = input.memory ? observedLevel(input.memory, from, end) : null;
  const scale = level > 0 ? 1 / level : 0;
  const rough = windowRoughness(input.requests, from, end, scale);
  const roughness = Math.log(clamp(rough.mean, MIN_ROUGHNESS, MAX_ROUGHNESS));
  const steady = Math.log(clamp(rough.steady, MIN_ROUGHNESS, MAX_ROUGHNESS));
  if (noise) {
    noise.steady = rough.steady;
    noise.steps = rough.steps;
  }
  const dayLevel = observedLevel(input.requests, end - DAY_MINUTES, end);
  const dayRatio = dayLevel === null ? 0 : Math.log(clamp(dayLevel * scale, 1 / MAX_DAY_RATIO, MAX_DAY_RATIO));
  let o = offset;
  for (let i = from; i < end; i++) {
    const drop = dropped?.(i) ?? false;
    writeValue(out, o, drop ? null : at(input.requests, i), scale);
    writeValue(out, o + 2, drop || !input.cpu ? null : at(input.cpu, i), cpuLevel ? 1 / cpuLevel : 0);
    writeValue(out, o + 4, drop || !input.memory ? null : at(input.memory, i), memLevel ? 1 / memLevel : 0);
    // Local minute of the week; 1970-01-01 was a Thursday, which only shifts the phase.
    const minute = Math.floor((input.start + i * MINUTE_MS) / MINUTE_MS) + input.utcOffsetMinutes;
    const tod = (((minute % DAY) + DAY) % DAY) / DAY;
    const dow = (((minute % WEEK) + WEEK) % WEEK) / WEEK;
    out[o + 6] = Math.sin(TAU * tod);
    out[o + 7] = Math.cos(TAU * tod);
    out[o + 8] = Math.sin(TAU * dow);
    out[o + 9] = Math.cos(TAU * dow);
    writeValue(out, o + 10, at(input.requests, i - DAY_MINUTES + ahead), scale);
    out[o + 12] = roughness;
    out[o + 13] = steady;
    out[o + 14] = dayRatio;
    o += FEATURE_COUNT;
  }
  return level;
}

/**
 * The window's request level, the divisor of its requests: the larger of the window's mean and its
 * last RECENT_MINUTES minutes' mean (after a jump up, the window's mean is far below where the load
 * now is, so the inputs and the outputs stay near 1 whatever the jump's size); null when no minute
 * of the window is observed.
 */
export function requestLevel(requests: Series, end: number, history: number): number | null {
  const windowLevel = observedLevel(requests, end - history, end);
  if (windowLevel === null) return null;
  return Math.max(windowLevel, observedLevel(requests, end - RECENT_MINUTES, end) ?? 0);
}

/**
 * Roughness of [from, to) times `scale` (1 / level), unclamped: the mean absolute change between
 * consecutive observed minutes, and the same over the smallest STEADY_SHARE of the changes (0 for
 * both without a pair of consecutive observed minutes; `steps` counts the pairs).
 */
export function windowRoughness(series: Series, from: number, to: number, scale: number): { mean: number; steady: number; steps: number } {
  const steps = absSteps(series, from, to);
  const all = mean(steps, steps.length) * scale;
  steps.sort();
  return { mean: all, steady: mean(steps, Math.ceil(steps.length * STEADY_SHARE)) * scale, steps: steps.length };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** Absolute changes between consecutive observed minutes in [from, to). */
function absSteps(series: Series, from: number, to: number): Float64Array {
  const out = new Float64Array(Math.max(0, to - from - 1));
  let n = 0;
  forEachMinuteStep(series, from, to, (a, b) => (out[n++] = Math.abs(b - a)));
  return out.subarray(0, n);
}

/** Mean of the first `count` values (0 when none). */
function mean(values: Float64Array, count: number): number {
  let sum = 0;
  for (let i = 0; i < count; i++) sum += values[i]!;
  return count > 0 ? sum / count : 0;
}

function at(series: Series, i: number): number | null {
  return i >= 0 && i < series.length ? (series[i] ?? null) : null;
}

function writeValue(out: Float32Array, o: number, v: number | null, scale: number): void {
  if (v === null || !Number.isFinite(v)) {
    out[o] = 0;
    out[o + 1] = 0;
  } else {
    out[o] = v * scale;
    out[o + 1] = 1;
  }
}
