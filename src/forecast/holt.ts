/**
 * Damped Holt linear smoothing (level + damped trend, no season), the fallback of `holt-winters`
 * when there is too little history for a daily season.
 */
import { clampRate } from './series.js';
import { isObserved, type Series } from '../series/observed.js';

export interface HoltParams {
  /** Level smoothing, 0 < alpha <= 1. */
  alpha: number;
  /** Trend smoothing, 0 <= beta <= 1. */
  beta: number;
  /** Per-minute trend damping, 0 < phi <= 1 (1 = undamped). */
  phi: number;
}

/** phi + phi^2 + ... + phi^h: how much of today's trend a forecast h minutes ahead carries. */
export function dampedTrendSum(phi: number, h: number): number {
  return phi === 1 ? h : (phi * (1 - phi ** h)) / (1 - phi);
}

/**
 * Damped Holt forecast for minutes 1..horizon after the series. Starts at the first observed value
 * with a flat trend; a missing minute is replaced by the one-step-ahead prediction (which leaves the
 * level on its damped path and lets the trend decay), never by 0. Returns null when nothing was observed.
 */
export function dampedHoltForecast(values: Series, horizon: number, { alpha, beta, phi }: HoltParams): number[] | null {
  let start = 0;
  while (start < values.length && !isObserved(values[start])) start++;
  if (start === values.length) return null;

  let level = values[start] as number;
  let trend = 0;
  for (let t = start + 1; t < values.length; t++) {
    const predicted = level + phi * trend;
    const v = values[t];
    const y = isObserved(v) ? v : predicted;
    const next = alpha * y + (1 - alpha) * predicted;
    trend = beta * (next - level) + (1 - beta) * phi * trend;
    level = next;
  }

  const out = new Array<number>(horizon);
  for (let h = 1; h <= horizon; h++) out[h - 1] = clampRate(level + dampedTrendSum(phi, h) * trend);
  return out;
}
