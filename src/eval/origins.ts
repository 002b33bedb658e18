/**
 * Which minutes of a trace are forecast origins (design §5): every minute of the evaluated span
 * whose context before it and horizon after it were all observed, so that each origin is scored
 * on real data and every model sees the same origins.
 */

/** Observed minutes an origin needs up to and including itself; also the history asked of models. */
export const CONTEXT_MINUTES = 60;

export interface OriginOptions {
  /** Minutes forecast, >= 1: the origin t needs t+1..t+horizon observed. */
  horizon: number;
  /** Share of the trace before the evaluated span, 0 <= split < 1 (0.75 → the last 25%). */
  split: number;
  /** Observed minutes needed at t-context+1..t. */
  context?: number;
}

/** Index of the first minute that may be an origin: minutes before it are for fitting only. */
export function firstEvaluatedMinute(length: number, split: number): number {
  return Math.floor(length * split);
}

/** Origin minute indices, ascending. */
export function findOrigins(requests: readonly (number | null)[], options: OriginOptions): number[] {
  const { horizon, split, context = CONTEXT_MINUTES } = options;
  if (!Number.isInteger(horizon) || horizon < 1) throw new RangeError(`horizon must be an integer >= 1, got ${horizon}`);
  if (!(split >= 0 && split < 1)) throw new RangeError(`split must be >= 0 and < 1, got ${split}`);
  if (!Number.isInteger(context) || context < 1) throw new RangeError(`context must be an integer >= 1, got ${context}`);

  // observedBefore[i] = observed minutes among 0..i-1, so any window's count is one subtraction.
  const n = requests.length;
  const observedBefore = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const v = requests[i];
    observedBefore[i + 1] = observedBefore[i] + (typeof v === 'number' && Number.isFinite(v) ? 1 : 0);
  }
  const origins: number[] = [];
  const from = Math.max(firstEvaluatedMinute(n, split), context - 1);
  for (let t = from; t + horizon < n; t++) {
    if (observedBefore[t + horizon + 1] - observedBefore[t - context + 1] === context + horizon) origins.push(t);
  }
  return origins;
}
