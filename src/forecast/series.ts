/**
 * What every forecaster shares on top of the gap-aware series helpers (series/observed.ts): a
 * history without an observation is an error, forecast values are clamped request rates, and a
 * horizon is a whole number of minutes.
 */
import { lastObserved, type Observation, type Series } from '../series/observed.js';
import { InsufficientHistoryError } from './types.js';

/** What the pure forecast functions return; the Forecaster classes add the model name. */
export interface SeriesForecast {
  values: number[];
  note?: string;
}

/** `lastObserved`, but a history without any observation is an error every forecaster shares. */
export function requireLastObserved(values: Series): Observation {
  const last = lastObserved(values);
  if (last === null) throw new InsufficientHistoryError('history holds no observed request value');
  return last;
}

/** Forecast values are request rates: finite and >= 0, whatever the arithmetic produced. */
export function clampRate(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/** `horizon` copies of one (clamped) value. */
export function repeatValue(value: number, horizon: number): number[] {
  return new Array<number>(horizon).fill(clampRate(value));
}

/** A horizon is a whole number of minutes, 0 allowed (an empty forecast). */
export function assertHorizon(horizon: number): void {
  if (!Number.isInteger(horizon) || horizon < 0) {
    throw new RangeError(`horizon must be a non-negative integer number of minutes, got ${horizon}`);
  }
}
