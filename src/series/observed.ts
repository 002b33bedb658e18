/**
 * Helpers over per-minute series with gaps. `null` or a hole (undefined) marks an unobserved minute
 * (history.ts, `Samples`): it is masked (skipped or imputed), never read as zero, because a zero would
 * drag every average toward an idle service that never existed.
 */

export type Series = readonly (number | null | undefined)[];

/** A minute that was really observed. NaN/±Inf are treated like gaps: they carry no information. */
export function isObserved(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export interface Observation {
  value: number;
  /** Index in the series (the last element is the most recent minute). */
  index: number;
}

/** The most recent observed value among `values[0, end)` and where it is, or null when nothing was observed. */
export function lastObserved(values: ArrayLike<number | null | undefined>, end = values.length): Observation | null {
  for (let i = Math.min(end, values.length) - 1; i >= 0; i--) {
    const v = values[i];
    if (isObserved(v)) return { value: v, index: i };
  }
  return null;
}

/**
 * Trailing minutes without a sample after which a series' newest sample no longer says what the load
 * is. Prometheus answers from samples up to 5 minutes old (its default lookback) and a refresh may
 * find the newest minute or two not yet scraped, so a longer run means the series stopped: scrapes
 * failing (often because the pods are overloaded) or the metric gone. Serving that old value as
 * today's load would plan on it, so the scaler treats it as a source failure and the simulator,
 * which runs what serve runs, does the same.
 */
export const STALE_AFTER_MINUTES = 5;

/** Minutes after the newest sample of `values[0, end)` (null and holes are not samples; NaN is a bad one). */
export function minutesSinceSample(values: ArrayLike<number | null | undefined>, end = values.length): number {
  const to = Math.min(end, values.length);
  let i = to - 1;
  while (i >= 0 && (values[i] === null || values[i] === undefined)) i--;
  return to - 1 - i;
}

/** Mean of the observed values among `values[from, to)`, or null when none was observed. */
export function observedMean(values: ArrayLike<number | null | undefined>, from: number, to: number): number | null {
  let sum = 0;
  let count = 0;
  for (let i = Math.max(0, from); i < Math.min(values.length, to); i++) {
    const v = values[i];
    if (isObserved(v)) {
      sum += v;
      count++;
    }
  }
  return count === 0 ? null : sum / count;
}

/** Number of observed values among `values[from, to)`. */
export function observedCount(values: ArrayLike<number | null | undefined>, from: number, to: number): number {
  let count = 0;
  for (let i = Math.max(0, from); i < Math.min(values.length, to); i++) {
    if (isObserved(values[i])) count++;
  }
  return count;
}

/**
 * Calls `visit(previous, current)` for every two consecutive minutes of `values[from, to)` that were
 * both observed, in order. A gap breaks the chain: the change across it is not one minute's.
 */
export function forEachMinuteStep(values: ArrayLike<number | null | undefined>, from: number, to: number, visit: (previous: number, current: number) => void): void {
  let prev: number | null = null;
  for (let i = Math.max(0, from); i < Math.min(values.length, to); i++) {
    const v = values[i];
    if (!isObserved(v)) {
      prev = null;
      continue;
    }
    if (prev !== null) visit(prev, v);
    prev = v;
  }
}
