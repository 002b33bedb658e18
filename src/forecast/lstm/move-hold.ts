/**
 * Holding a move the window has clearly made. Pure.
 *
 * Why: NASA taught the pre-trained LSTM that a sudden rise is a burst that reverts, so it pulls a
 * surge in progress back toward the window's level (a load of 40,871/min and rising forecast at
 * 35,511 for +10 min), which made it worse than persistence on busy, surge-prone traffic
 * (docs/experiments/forecaster-2026-12.md). Retraining on surges taught it to chase noise instead.
 * What tells a surge from a burst is its size against the window's own noise: a move of the last
 * few minutes far beyond that noise is taken as real, and the forecast may not undo it — on a rise
 * it stays at least at the latest minute, on a fall at most there. Everywhere else the LSTM's
 * forecast is untouched.
 */
import { forEachMinuteStep, lastObserved, observedCount, observedMean } from '../../series/observed.js';

type Series = ArrayLike<number | null | undefined>;

/** The move is the mean of the last RECENT minutes against the mean of the BEFORE minutes before them. */
export const RECENT = 3;
export const BEFORE = 10;
/**
 * How many standard deviations of that difference a move must exceed. Chosen on NASA and the
 * family's tuning seeds (6 moved NASA's accuracy by 0.0035, 10 by 0.0001); the reasoning above
 * sets only its order: far beyond noise.
 */
export const MOVE_Z = 10;
/** …and by at least this share of the level before it. */
export const MOVE_MIN_RELATIVE = 0.05;
/** Median |step| of Gaussian noise of unit deviation, per minute: √2 × 0.6745. */
const MEDIAN_STEP_PER_SIGMA = 0.954;
/** Mean |step| of the same noise: √2 × √(2/π). */
const MEAN_STEP_PER_SIGMA = 1.128;
/** Fewer observed steps than this in the window: too few to know its noise; no move is judged. */
const MIN_STEPS = 10;

export type Move = 'rise' | 'fall';

/**
 * The move the last minutes of `values[end − window, end)` made, or null when there is none beyond
 * the window's noise. The noise of one minute is read from the median minute-to-minute change
 * (robust to the move itself); where most minutes do not change at all (a quiet series of mostly
 * zeros) from the mean change instead. Both scale with the series: its unit (requests a minute, a
 * rate a second) changes nothing, so no counting-noise floor can be assumed.
 */
export function detectMove(values: Series, end: number, window: number): Move | null {
  if (observedCount(values, end - RECENT, end) < 2 || observedCount(values, end - RECENT - BEFORE, end - RECENT) < BEFORE / 2) return null;
  const recent = observedMean(values, end - RECENT, end)!;
  const before = observedMean(values, end - RECENT - BEFORE, end - RECENT)!;
  const steps: number[] = [];
  forEachMinuteStep(values, end - window, end, (a, b) => steps.push(Math.abs(b - a)));
  if (steps.length < MIN_STEPS) return null;
  steps.sort((a, b) => a - b);
  const median = steps[Math.floor(steps.length / 2)]!;
  const sigma = median > 0 ? median / MEDIAN_STEP_PER_SIGMA : steps.reduce((a, b) => a + b, 0) / steps.length / MEAN_STEP_PER_SIGMA;
  const change = recent - before;
  if (Math.abs(change) <= MOVE_Z * sigma * Math.sqrt(1 / RECENT + 1 / BEFORE)) return null;
  if (Math.abs(change) <= MOVE_MIN_RELATIVE * before) return null;
  return change > 0 ? 'rise' : 'fall';
}

/** A clear move at `end` and the latest observed minute before it, which a forecast from there may not undo. */
export interface HeldMove {
  move: Move;
  last: number;
}

/** The move to hold for a forecast made at `end` from `values[end − window, end)`, or null. */
export function moveAt(values: Series, end: number, window: number): HeldMove | null {
  const move = detectMove(values, end, window);
  // A move needs two observed minutes among the last three, so the latest one is among them.
  const last = move === null ? null : (lastObserved(values, end)?.value ?? null);
  return move === null || last === null ? null : { move, last };
}

/** One forecast value with the move held: on a rise not below the latest minute, on a fall not above. */
export function holdValue(v: number, held: HeldMove | null): number {
  if (held === null) return v;
  return held.move === 'rise' ? Math.max(v, held.last) : Math.min(v, held.last);
}

/**
 * The forecast with a clear move held: on a rise no value below the latest observed minute, on a
 * fall none above it. The quantiles of the horizon maximum rise with the maximum; they are never
 * lowered (a fall read from three minutes must not remove capacity a quantile asked for).
 */
export function holdMove(values: readonly number[], maxQuantiles: Readonly<Record<string, number>>, history: Series, window: number): { values: number[]; maxQuantiles: Record<string, number>; move: Move | null } {
  const held = moveAt(history, history.length, window);
  if (held === null) return { values: [...values], maxQuantiles: { ...maxQuantiles }, move: null };
  const out = values.map((v) => holdValue(v, held));
  const lift = Math.max(0, Math.max(0, ...out) - Math.max(0, ...values));
  const q: Record<string, number> = {};
  for (const [k, v] of Object.entries(maxQuantiles)) q[k] = v + lift;
  return { values: out, maxQuantiles: q, move: held.move };
}
