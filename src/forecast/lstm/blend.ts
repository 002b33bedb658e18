/**
 * Shrinking a fine-tuned LSTM's point forecast toward a simple baseline, by a weight each workload's
 * fine-tuning round chooses on its own hold-out. Pure.
 *
 * Why: on many workloads the pre-trained LSTM is within a few percent of the best simple baseline
 * but above it (docs/experiments/forecaster-2026-12.md): refitting its output maps on two days of
 * the workload does not close that gap, while an average of the two often beats both (the errors of
 * a learned model and of a level estimate are far from perfectly correlated). So the round also
 * scores (1 − w)·LSTM + w·baseline for a small grid of baselines and weights — on the workload's
 * record of out-of-sample errors (blend-record.ts), or on its own span until that record is long
 * enough — and keeps the best; w = 0 (the LSTM alone) wins ties, and w stays below 1 so the model
 * is never replaced outright — the gate does that when a baseline is better throughout.
 *
 * The flat baselines (persistence, the last 10 or 30 minutes' mean) know the level; `days3` knows
 * the day's shape: each minute ahead as it was on each of the last three weekdays (the mean of the
 * five minutes around it, so one minute's noise is not taken for the schedule), each day scaled by
 * how today's last ten minutes compare with the same ten minutes that day, and the median of the three
 * taken — one day's unannounced surge is outvoted by the two days without it, where yesterday alone
 * would forecast it again, and a weekday's sale is not forecast on a Saturday. `holt-winters` is the
 * shipped one over the two days before the window (the same five days hold them): the daily cycle
 * with a level, for smooth days whose shape the flat baselines lag. Where a workload's
 * events recur at fixed times (a daily sale, a batch) the LSTM's errors and its are far apart and
 * their mix beats both; where they do not, the record's out-of-sample errors keep it out
 * (docs/experiments/forecaster-2026-12.md).
 */
import { isObserved, observedMean } from '../../series/observed.js';
import { DAY_MINUTES, isWeekend, localDay } from '../../series/calendar.js';
import { MINUTE_MS } from '../../series/minute.js';
import { holdValue, type HeldMove } from './move-hold.js';
import { HOLT_WINTERS_DEFAULTS, holtWintersForecast } from '../holt-winters.js';

type Series = ArrayLike<number | null | undefined>;

export const BLEND_BASELINES = ['persistence', 'mean10', 'mean30', 'days3', 'holt-winters'] as const;
export type BlendBaseline = (typeof BLEND_BASELINES)[number];
/** Weights tried; 0 (the LSTM alone) first, so it wins ties. */
export const BLEND_WEIGHTS = [0, 0.25, 0.5, 0.75] as const;

export interface Blend {
  baseline: BlendBaseline;
  /** In [0, 1): the baseline's share of the point forecast. */
  weight: number;
}

/** A baseline's forecast: one value for the whole horizon, or one per minute of it; null: none. */
export type BaseValue = number | readonly number[] | null;

/** The baseline's value for minute `h` of the horizon (0: the minute after the history). */
export const baseStep = (b: number | readonly number[], h: number): number => (typeof b === 'number' ? b : b[Math.min(h, b.length - 1)]!);

/** Days `days3` takes the median of: the latest this many of the workload's own kind of day. */
export const BASELINE_DAYS = 3;
/**
 * How far back `days3` looks for them. A weekday finds three weekdays within five days; a weekend
 * day finds one or two weekend days, too few, and has no `days3` forecast (its blend answers as the
 * LSTM alone): weekends differ from weekdays (sales, batches, office hours) and come twice a week.
 */
export const BASELINE_LOOKBACK_DAYS = 5;
/**
 * Minutes whose means, today and on an earlier day, scale that day's minutes to today's level: short,
 * so an unannounced surge today lifts the forecast with it and its end lowers it again (over 30
 * minutes the scale lagged both, and seed 8's surges cost more than its daily sale gained).
 */
export const DAY_LEVEL_MINUTES = 10;
/**
 * An earlier day's scaled minute is at most the larger of its own value and this many times today's
 * level. Where that day was idle before this time and today is not (a batch that starts from
 * nothing), the ratio of the levels is unbounded and would forecast its later minutes thousands of
 * times over; a bound on the ratio instead would cap real level shifts (WorldCup98's match days, up
 * to 26×). So the scale may lift a day however far, but the shape it lifts may not rise more than
 * tenfold above today within the horizon unless the day itself was that high.
 */
export const DAY_RISE_LIMIT = 10;
/** An earlier day's minute is read as the mean of the minutes this far either side of it: one minute's noise is not the schedule. */
export const DAY_SMOOTH_MINUTES = 2;
/** History every baseline's forecast needs behind a window's end (`days3`'s, the longest). */
export const BLEND_CONTEXT_MINUTES = BASELINE_LOOKBACK_DAYS * DAY_MINUTES + DAY_LEVEL_MINUTES;
/** Baselines read from earlier days: they need BLEND_CONTEXT_MINUTES of history and the series' clock, the flat ones an hour. */
export const FROM_EARLIER_DAYS: ReadonlySet<BlendBaseline> = new Set<BlendBaseline>(['days3', 'holt-winters']);
/** Minutes of history the Holt-Winters baseline runs over: its two initial seasons, as the gate's. */
export const HW_BASE_MINUTES = 2 * HOLT_WINTERS_DEFAULTS.period;

/** Where a series sits in the workload's local time: epoch ms of its element 0 and the UTC offset. */
export interface SeriesClock {
  start: number;
  utcOffsetMinutes: number;
}

/**
 * The baseline's forecast for the `horizon` minutes after the history `values[0, end)`: flat for
 * persistence and the means (null without an observed minute); per minute for `days3` (null without
 * `clock`, on a weekend, or unless each of its days has an observed minute near every minute it
 * reads and a level above 0).
 */
export function baselineAt(values: Series, end: number, baseline: BlendBaseline, horizon = 1, clock?: SeriesClock): BaseValue {
  if (baseline === 'days3') return clock ? medianOfDays(values, end, horizon, clock) : null;
  if (baseline === 'holt-winters') return holtWintersAt(values, end, horizon);
  if (baseline === 'mean10') return observedMean(values, end - 10, end);
  if (baseline === 'mean30') return observedMean(values, end - 30, end);
  for (let i = end - 1; i >= Math.max(0, end - 60); i--) {
    const v = values[i];
    if (isObserved(v)) return v;
  }
  return null;
}

/** The median, minute by minute, of the latest BASELINE_DAYS weekdays' scaled minutes (dayScaled); none on a weekend. */
function medianOfDays(values: Series, end: number, horizon: number, clock: SeriesClock): number[] | null {
  // The origin's local day decides the kind; a horizon across midnight keeps it.
  const origin = Math.floor(clock.start / MINUTE_MS) + clock.utcOffsetMinutes + end - 1;
  if (isWeekend(localDay(origin).weekday)) return null;
  const days: number[][] = [];
  for (let d = 1; d <= BASELINE_LOOKBACK_DAYS && days.length < BASELINE_DAYS; d++) {
    if (isWeekend(localDay(origin - d * DAY_MINUTES).weekday)) continue;
    const day = dayScaled(values, end, horizon, d);
    if (!day) return null;
    days.push(day);
  }
  return days.length === BASELINE_DAYS ? Array.from({ length: horizon }, (_, h) => median(days.map((day) => day[h]!))) : null;
}

/** The shipped Holt-Winters over the two days before `end`; none with less history or no observed last minute. */
function holtWintersAt(values: Series, end: number, horizon: number): number[] | null {
  if (end < HW_BASE_MINUTES || !isObserved(values[end - 1])) return null;
  const window = Array.prototype.slice.call(values, end - HW_BASE_MINUTES, end) as (number | null)[];
  const f = holtWintersForecast(window, horizon).values;
  return f.every(Number.isFinite) ? f : null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Each minute of the horizon `days` days earlier, as the mean of the observed minutes within
 * DAY_SMOOTH_MINUTES of it, × (the last DAY_LEVEL_MINUTES' mean ÷ the same minutes' mean that day),
 * at most max(its own mean, DAY_RISE_LIMIT × today's). Reads only minutes before `end`.
 */
function dayScaled(values: Series, end: number, horizon: number, days: number): number[] | null {
  const n = DAY_LEVEL_MINUTES;
  const back = days * DAY_MINUTES;
  if (end - back - n < 0) return null;
  const today = observedMean(values, end - n, end);
  const then = observedMean(values, end - back - n, end - back);
  if (today === null || then === null || !(then > 0)) return null;
  const out: number[] = [];
  const k = DAY_SMOOTH_MINUTES;
  for (let h = 0; h < horizon; h++) {
    const at = end + h - back;
    // Never past the history's end, however long the horizon.
    const v = observedMean(values, at - k, Math.min(at + k + 1, end));
    if (v === null) return null;
    out.push(Math.min((v * today) / then, Math.max(v, DAY_RISE_LIMIT * today)));
  }
  return out;
}

export function isBlend(b: unknown): b is Blend {
  const x = b as Partial<Blend> | null;
  return !!x && (BLEND_BASELINES as readonly string[]).includes(x.baseline as string) && typeof x.weight === 'number' && x.weight >= 0 && x.weight < 1;
}

/**
 * The blended point forecast, and the quantiles of the horizon maximum moved by as much as its
 * maximum moved (they describe the spread around the point forecast, which the blend does not change).
 */
export function applyBlend(values: readonly number[], maxQuantiles: Record<string, number>, blend: Blend, base: BaseValue): { values: number[]; maxQuantiles: Record<string, number> } {
  if (blend.weight === 0 || base === null || (typeof base === 'number' ? !Number.isFinite(base) : base.length === 0 || !base.every(Number.isFinite))) return { values: [...values], maxQuantiles: { ...maxQuantiles } };
  const w = blend.weight;
  const out = values.map((v, h) => Math.max(0, (1 - w) * v + w * baseStep(base, h)));
  const shift = Math.max(0, ...out) - Math.max(0, ...values);
  const q: Record<string, number> = {};
  for (const [k, v] of Object.entries(maxQuantiles)) q[k] = Math.max(0, v + shift);
  return { values: out, maxQuantiles: q };
}

/** The grid in the order ties are settled: the LSTM alone first, then each weight × baseline. */
export const BLEND_CANDIDATES: readonly Blend[] = BLEND_WEIGHTS.flatMap<Blend>((weight) =>
  weight === 0 ? [{ baseline: BLEND_BASELINES[0], weight }] : BLEND_BASELINES.map((baseline) => ({ baseline, weight })),
);

/**
 * The summed absolute error of every candidate of BLEND_CANDIDATES (same order) over `n` windows:
 * `predicted` and `actual` are [n × horizon] in the load's unit, `base[b][i]` is baseline b's
 * forecast for window i (null: none, the window is scored as the LSTM alone), `held[i]` the move
 * window i holds after the blend, as serving does (move-hold.ts).
 */
export function blendErrorSums(predicted: Float64Array, actual: Float64Array, horizon: number, base: Record<BlendBaseline, BaseValue[]>, held: readonly (HeldMove | null)[] = []): number[] {
  const n = actual.length / horizon;
  return BLEND_CANDIDATES.map(({ baseline, weight }) => {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const b = base[baseline][i] ?? null;
      for (let h = 0; h < horizon; h++) {
        const p = predicted[i * horizon + h]!;
        const f = holdValue(b === null || weight === 0 ? p : Math.max(0, (1 - weight) * p + weight * baseStep(b, h)), held[i] ?? null);
        sum += Math.abs(f - actual[i * horizon + h]!);
      }
    }
    return sum;
  });
}

/** The candidate with the lowest of `sums` (BLEND_CANDIDATES' order; ties to the earlier), with its share of `count` and the LSTM's. */
export function bestOfSums(sums: readonly number[], count: number): Blend & { mae: number; lstmMae: number } {
  let best = 0;
  for (let k = 1; k < sums.length; k++) if (sums[k]! < sums[best]!) best = k;
  const mae = (s: number) => (count > 0 ? s / count : NaN);
  return { ...BLEND_CANDIDATES[best]!, mae: mae(sums[best]!), lstmMae: mae(sums[0]!) };
}

/** The lowest-error candidate of `sums` (over `count` minute-errors), used only when its error is below `bar` × the LSTM alone's; else none. */
export function blendBelowBar(sums: readonly number[], count: number, bar: number): Blend {
  const best = bestOfSums(sums, count);
  return best.weight > 0 && best.mae < bar * best.lstmMae ? { baseline: best.baseline, weight: best.weight } : { baseline: BLEND_BASELINES[0], weight: 0 };
}
