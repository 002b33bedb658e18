/**
 * Training-time augmentation of a per-minute request series, pure and seeded: one real trace (NASA)
 * turned into workloads it never showed, so that the pre-trained model is not tied to its noise
 * level or its steady levels.
 *
 * - **Busier and quieter servers.** A server k times busier with the same kind of users has the
 *   same shape and 1/√k the relative noise: each minute becomes x' = m + (x − m)/√k around the
 *   series' local rate m (a centred triangular mean). A quieter one (k < 1) keeps each request with
 *   probability k. k is drawn log-uniformly per block of hours, so one model sees NASA's few dozen
 *   noisy requests a minute, a handful, and smooth traffic of thousands.
 * - **Level shifts.** The level is multiplied by a factor that jumps at random times (a few a day)
 *   by up to `maxShift`× either way, each jump ramped over a few minutes, and stays there: a
 *   service whose traffic moves by orders of magnitude within days (events, launches, failovers).
 * - **Surges.** The level is multiplied by a bump that builds over minutes, holds for minutes to
 *   hours and ends (a sale, a campaign, a news link): on busy, smooth traffic such a rise is real and
 *   goes on while it builds, where NASA's own bursts (a few dozen noisy requests) revert at once —
 *   without them the model pulls every rise back toward the window's level.
 * - **Trends.** The level is multiplied by a smooth factor (the exp of a sum of slow sinusoids): a
 *   slope that persists for hours, which a model trained on NASA alone pulls back toward the hour's
 *   level.
 *
 * Surges and trends are off in the shipped recipe: neither gave a better model when tried
 * (docs/experiments/forecaster-2026-12.md).
 *
 * The local rate m uses minutes on both sides of each one: that makes a smoother *series*, which the
 * model then only ever sees the past of (its windows are cut from the augmented series as from any
 * other), not a peek at the future. Unobserved minutes stay unobserved.
 */
import type { Series } from './features.js';

export interface AugmentOptions {
  /**
   * Busier-server factor k, log-uniform in [minBusier, maxBusier]. Below 1, a quieter server: each
   * minute's count is thinned (every request kept with probability k), which keeps it a count.
   */
  minBusier: number;
  maxBusier: number;
  /** Minutes per block with one k. */
  blockMinutes: number;
  /** Half-width in minutes of the triangular local mean, drawn per block in [min, max]. */
  smoothMinutes: [number, number];
  /** Expected level shifts per day (0: none). */
  shiftsPerDay: number;
  /** Largest factor of one shift (log-uniform in [1/maxShift, maxShift]). */
  maxShift: number;
  /** A shift ramps (log-linearly) over this many minutes, drawn in [min, max]. */
  rampMinutes: [number, number];
  /** Expected surges per day (0: none); one at a time. */
  surgesPerDay: number;
  /** A surge's peak factor, log-uniform in [min, max]. */
  surgeFactor: [number, number];
  /** Minutes a surge builds (log-linearly), holds at its peak, and falls back, each drawn in [min, max]. */
  surgeRiseMinutes: [number, number];
  surgeHoldMinutes: [number, number];
  surgeFallMinutes: [number, number];
  /** Largest log-amplitude of each of the trend's sinusoids, drawn uniform in [0, this] (0: no trend). */
  trendAmplitude: number;
  /** Periods of the trend's sinusoids in minutes, drawn log-uniform in [min, max]. */
  trendPeriodMinutes: [number, number];
}

/** Sinusoids summed into one copy's trend. */
const TREND_WAVES = 3;

export const DEFAULT_AUGMENT: AugmentOptions = {
  minBusier: 1 / 16,
  maxBusier: 10_000,
  blockMinutes: 360,
  smoothMinutes: [10, 45],
  shiftsPerDay: 8,
  maxShift: 100,
  rampMinutes: [1, 30],
  surgesPerDay: 0,
  surgeFactor: [1.25, 5],
  surgeRiseMinutes: [1, 15],
  surgeHoldMinutes: [5, 180],
  surgeFallMinutes: [1, 30],
  trendAmplitude: 0,
  trendPeriodMinutes: [180, 1440],
};

export interface Augmented {
  requests: (number | null)[];
  /** The level-shift factor of each minute (1 without shifts): the series is the busier copy × this. */
  factor: Float64Array;
  /** Each minute's busier-server factor k. */
  busier: Float64Array;
}

/**
 * A training window's weight in an augmented copy, before the dataset's normalisation: its level
 * divided by the shift factor at its end, times √k. Divided by the factor, a copy's errors count in
 * proportion to its load as if it had never shifted (undivided, the days at 100× would outweigh the
 * rest); at the window's end, because the loss is in ratios to the window's level and that level
 * still holds the minutes before a shift down, which the weight brings back to the load the
 * forecast is for. (Weighting by the source's level instead — run D1 of
 * docs/experiments/forecaster-2026-12.md — forecast worse after jumps.) Times √k: a k-times busier
 * copy's errors are 1/√k as large, so this measures each window's error against its own noise, as
 * the backtest's relative MAE does per trace; unweighted, the smooth windows' small errors would
 * count for almost nothing and the model would forecast smooth traffic as loosely as noisy traffic.
 */
export function augmentedWeight(a: Augmented): (end: number, level: number) => number {
  return (end, level) => (level / a.factor[end - 1]!) * Math.sqrt(a.busier[end - 1]!);
}

/** Centred triangular mean of the observed minutes (two boxcar passes of `half` each side), NaN where none. */
export function localRate(series: Series, half: number): Float64Array {
  const box = (v: ArrayLike<number>, observed: (i: number) => boolean): Float64Array => {
    const n = v.length;
    const sum = new Float64Array(n + 1);
    const cnt = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      const ok = observed(i);
      sum[i + 1] = sum[i]! + (ok ? v[i]! : 0);
      cnt[i + 1] = cnt[i]! + (ok ? 1 : 0);
    }
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const a = Math.max(0, i - half);
      const b = Math.min(n, i + half + 1);
      const c = cnt[b]! - cnt[a]!;
      out[i] = c > 0 ? (sum[b]! - sum[a]!) / c : NaN;
    }
    return out;
  };
  const raw = Float64Array.from({ length: series.length }, (_, i) => {
    const v = series[i];
    return v === null || v === undefined || !Number.isFinite(v) ? NaN : v;
  });
  const once = box(raw, (i) => !Number.isNaN(raw[i]!));
  return box(once, (i) => !Number.isNaN(once[i]!));
}

/** Binomial(round(count), p): each of a minute's requests kept with probability p. */
export function thin(count: number, p: number, random: () => number): number {
  const n = Math.max(0, Math.round(count));
  const variance = n * p * (1 - p);
  if (variance > 25) {
    // Normal approximation for large counts (Box–Muller), rounded and kept within [0, n].
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return Math.min(n, Math.max(0, Math.round(n * p + Math.sqrt(variance) * z)));
  }
  let kept = 0;
  for (let j = 0; j < n; j++) if (random() < p) kept++;
  return kept;
}

/** One augmented copy of `series`, drawn from `random` (uniform in [0, 1)). */
export function augmentSeries(series: Series, o: AugmentOptions, random: () => number): Augmented {
  const n = series.length;
  const out: (number | null)[] = new Array<number | null>(n);
  const factor = new Float64Array(n).fill(1);
  const busier = new Float64Array(n).fill(1);
  const between = ([lo, hi]: [number, number]) => lo + random() * (hi - lo);

  // Busier copies, block by block; each block's local rate is computed with its own smoothing.
  const rates = new Map<number, Float64Array>();
  for (let from = 0; from < n; from += o.blockMinutes) {
    const lo = Math.log(o.minBusier);
    const k = Math.exp(lo + random() * (Math.log(o.maxBusier) - lo));
    const half = Math.round(between(o.smoothMinutes));
    let m = rates.get(half);
    if (!m && k > 1) rates.set(half, (m = localRate(series, half)));
    const shrink = 1 / Math.sqrt(k);
    for (let i = from; i < Math.min(n, from + o.blockMinutes); i++) {
      busier[i] = k;
      const v = series[i];
      if (v === null || v === undefined || !Number.isFinite(v)) {
        out[i] = null;
        continue;
      }
      if (k <= 1) {
        out[i] = k === 1 ? v : thin(v, k, random);
        continue;
      }
      const mi = m![i]!;
      out[i] = Number.isNaN(mi) ? v : Math.max(0, mi + (v - mi) * shrink);
    }
  }

  // Level shifts: a log-factor that jumps at Poisson times, ramped, kept within maxShift² of 1.
  if (o.shiftsPerDay > 0 && o.maxShift > 1) {
    const p = o.shiftsPerDay / 1440;
    const span = Math.log(o.maxShift);
    let log = 0;
    let target = 0;
    let step = 0;
    let left = 0;
    for (let i = 0; i < n; i++) {
      if (left === 0 && random() < p) {
        target = Math.max(-2 * span, Math.min(2 * span, log + (2 * random() - 1) * span));
        left = Math.max(1, Math.round(between(o.rampMinutes)));
        step = (target - log) / left;
      }
      if (left > 0) {
        log += step;
        left--;
        if (left === 0) log = target;
      }
      factor[i] = Math.exp(log);
    }
  }
  if (o.surgesPerDay > 0) {
    const bump = surgeFactors(n, o, random);
    for (let i = 0; i < n; i++) factor[i] = factor[i]! * bump[i]!;
  }
  // Drawn last and only when asked, so copies without a trend are the same draws as before it existed.
  if (o.trendAmplitude > 0) {
    const trend = trendFactors(n, o, random);
    for (let i = 0; i < n; i++) factor[i] = factor[i]! * trend[i]!;
  }
  for (let i = 0; i < n; i++) {
    const v = out[i];
    if (v !== null && v !== undefined) out[i] = v * factor[i]!;
  }
  return { requests: out, factor, busier };
}

/** Each minute's trend factor: exp of a sum of sinusoids with drawn amplitudes, periods and phases. */
export function trendFactors(n: number, o: AugmentOptions, random: () => number): Float64Array {
  const [lo, hi] = o.trendPeriodMinutes;
  const waves = Array.from({ length: TREND_WAVES }, () => ({
    amplitude: random() * o.trendAmplitude,
    omega: (2 * Math.PI) / Math.exp(Math.log(lo) + random() * (Math.log(hi) - Math.log(lo))),
    phase: 2 * Math.PI * random(),
  }));
  return Float64Array.from({ length: n }, (_, i) => Math.exp(waves.reduce((sum, w) => sum + w.amplitude * Math.sin(w.omega * i + w.phase), 0)));
}

/**
 * Each minute's surge factor (1 outside surges): surges start at Poisson times, one at a time, and
 * rise log-linearly to their peak, hold, and fall back to 1.
 */
export function surgeFactors(n: number, o: AugmentOptions, random: () => number): Float64Array {
  const out = new Float64Array(n).fill(1);
  const between = ([lo, hi]: [number, number]) => Math.max(1, Math.round(lo + random() * (hi - lo)));
  const p = o.surgesPerDay / 1440;
  for (let i = 0; i < n; i++) {
    if (random() >= p) continue;
    const [lo, hi] = o.surgeFactor;
    const peak = Math.log(lo) + random() * (Math.log(hi) - Math.log(lo));
    const rise = between(o.surgeRiseMinutes);
    const hold = between(o.surgeHoldMinutes);
    const fall = between(o.surgeFallMinutes);
    const shape = (t: number) => (t < rise ? ((t + 1) / rise) * peak : t < rise + hold ? peak : ((rise + hold + fall - t - 1) / fall) * peak);
    const length = rise + hold + fall;
    for (let t = 0; t < length && i + t < n; t++) out[i + t] = Math.exp(shape(t));
    i += length - 1;
  }
  return out;
}
