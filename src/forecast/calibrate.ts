/**
 * Calibrated peak quantiles per workload (online split-conformal prediction). Whatever model
 * forecasts, the planner provisions for the *maximum* load over the ScaledObject's horizon; how far
 * that maximum overshoots the forecast depends on the workload's own burstiness, which no
 * pre-trained model knows. So each workload keeps the ratios actual max ÷ forecast max of its recent
 * forecasts, scored as their minutes come due, and a forecast's quantile q of the horizon maximum is
 * its forecast max × the ratios' q-quantile. Under exchangeability that covers the next maximum with
 * probability ≈ q, for the requested horizon — not the model's trained one.
 *
 * Until enough ratios exist, the model's own `maxQuantiles` (the LSTM's) pass through unchanged.
 */
import { MINUTE_MS, type History } from '../sources/types.js';
import { forecastOrigin } from './gate.js';
import { isObserved } from './series.js';
import type { Forecast, ForecastRequest, Forecaster } from './types.js';

export const CALIBRATION_DEFAULTS = {
  /** Ratios kept: the last day of per-minute forecasts, so the calibration follows the workload. */
  window: 1440,
  /** Ratios needed before calibrated quantiles replace the model's own. */
  minScored: 60,
  /** Levels offered, as metadata `quantile` names them. */
  levels: ['0.5', '0.8', '0.9', '0.95'],
} as const;

/** A bounded window of ratios with exact quantiles (linear interpolation between ranks). */
export class RatioWindow {
  private readonly values: Float64Array;
  private next = 0;
  private size = 0;
  private sorted: Float64Array | null = null;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`window must be a positive integer, got ${capacity}`);
    this.values = new Float64Array(capacity);
  }

  push(ratio: number): void {
    this.values[this.next] = ratio;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
    this.sorted = null;
  }

  get count(): number {
    return this.size;
  }

  quantile(q: number): number {
    if (this.size === 0) throw new RangeError('quantile of an empty window');
    // Sorted lazily: many forecasts read between two pushes only when refreshes outpace minutes.
    this.sorted ??= this.values.slice(0, this.size).sort();
    const pos = q * (this.size - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, this.size - 1);
    return this.sorted[lo]! + (this.sorted[hi]! - this.sorted[lo]!) * (pos - lo);
  }
}

interface Pending {
  /** Epoch ms of the forecast's first minute. */
  origin: number;
  horizon: number;
  forecastMax: number;
}

/** The maximum of the first `horizon` values, or null when none is positive and finite. */
function peak(values: readonly number[], horizon: number): number | null {
  let max = 0;
  for (let i = 0; i < Math.min(horizon, values.length); i++) if (Number.isFinite(values[i]) && values[i]! > max) max = values[i]!;
  return max > 0 ? max : null;
}

export interface CalibrationOptions {
  window?: number;
  minScored?: number;
  levels?: readonly string[];
}

export type CalibratedForecaster = Forecaster & { ratios: RatioWindow };

export function createCalibratedForecaster(inner: Forecaster, options: CalibrationOptions = {}): CalibratedForecaster {
  const ratios = new RatioWindow(options.window ?? CALIBRATION_DEFAULTS.window);
  const minScored = options.minScored ?? CALIBRATION_DEFAULTS.minScored;
  const levels = options.levels ?? CALIBRATION_DEFAULTS.levels;
  if (!Number.isInteger(minScored) || minScored < 1 || minScored > ratios.capacity) {
    throw new RangeError(`minScored must be an integer in [1, window=${ratios.capacity}], got ${minScored}`);
  }
  for (const l of levels) if (!(Number(l) > 0 && Number(l) < 1)) throw new RangeError(`quantile level must be in (0, 1), got "${l}"`);
  // One forecast per origin minute (refreshes come faster than minutes); few are ever pending.
  const pending = new Map<number, Pending>();

  /** Scores every pending forecast whose whole horizon is inside `history`. */
  const score = (history: History) => {
    const end = forecastOrigin(history);
    for (const [origin, p] of pending) {
      const last = origin + (p.horizon - 1) * MINUTE_MS;
      if (origin > end || origin < history.start) {
        // Time went backwards (a replay restarted), or the minutes are no longer in view.
        pending.delete(origin);
        continue;
      }
      if (last >= end) continue; // not fully due yet
      pending.delete(origin);
      let actual = -Infinity;
      let complete = true;
      for (let t = origin; t <= last; t += MINUTE_MS) {
        const v = history.requests[(t - history.start) / MINUTE_MS];
        if (!isObserved(v)) {
          complete = false; // a gap hides the maximum: no honest ratio
          break;
        }
        if (v > actual) actual = v;
      }
      if (complete) ratios.push(actual / p.forecastMax);
    }
  };

  return {
    name: inner.name,
    ratios,
    historyMinutes: (requested) => inner.historyMinutes(requested),
    async forecast(request: ForecastRequest): Promise<Forecast> {
      // Before awaiting, so overlapping calls score in the order of their histories.
      score(request.history);
      const origin = forecastOrigin(request.history);
      const forecast = await inner.forecast(request);
      const max = peak(forecast.values, request.horizon);
      if (max === null) return forecast;
      pending.set(origin, { origin, horizon: request.horizon, forecastMax: max });
      if (ratios.count < minScored) return forecast;
      const maxQuantiles: Record<string, number> = {};
      for (const l of levels) maxQuantiles[l] = max * ratios.quantile(Number(l));
      return { ...forecast, maxQuantiles };
    },
    close: () => inner.close?.(),
    settled: async () => inner.settled?.(),
  };
}
