/**
 * Calibrated peak quantiles per workload (online normalized conformal prediction). Whatever model
 * forecasts, the planner provisions for the *maximum* load over the ScaledObject's horizon; how far
 * that maximum overshoots the forecast depends on the workload's own burstiness, which no
 * pre-trained model knows, and on how bursty it is right now. So each forecast records its peak and
 * the local dispersion of the history it was made from (mean absolute minute-to-minute change over
 * the last half hour); once its minutes are due, the score (actual peak − forecast peak) ÷ that
 * dispersion joins a rolling window; and a forecast's quantile q of the horizon maximum is its peak +
 * the scores' q-quantile × its own dispersion. Under exchangeability that covers the next maximum
 * with probability ≈ q, for the requested horizon — not the model's trained one — and the margin
 * widens and narrows with the load's noise (quiet nights need less than busy days in absolute
 * terms, and a smooth series gets none).
 *
 * Measured on NASA (BENCHMARKS.md): at equal latency, this costs fewer pod-hours than scaling the
 * peak by a ratio quantile, whose width is set by the noisiest hours.
 *
 * Until enough scores exist, the model's own `maxQuantiles` (the LSTM's) pass through unchanged.
 */
import { MINUTE_MS } from '../series/minute.js';
import type { History } from '../series/history.js';
import { forecastOrigin } from './gate.js';
import { forEachMinuteStep, isObserved, type Series } from '../series/observed.js';
import { percentile } from '../series/percentile.js';
import type { Forecast } from '../series/forecast.js';
import type { ForecastRequest, Forecaster, StatefulForecaster } from './types.js';

export const CALIBRATION_DEFAULTS = {
  /** Scores kept: the last day of per-minute forecasts, so the calibration follows the workload. */
  window: 1440,
  /** Scores needed before calibrated quantiles replace the model's own. */
  minScored: 60,
  /** Minutes of history whose minute-to-minute changes measure the local dispersion. */
  dispersionMinutes: 30,
  /** Levels offered, as metadata `quantile` names them. */
  levels: ['0.5', '0.8', '0.9', '0.95'],
} as const;

/**
 * The largest score kept, either sign: a horizon's peak a million times the load's minute-to-minute
 * change off the forecast. The scale has no bound of its own (a near-flat history has a tiny
 * dispersion), so scores are clamped to it: a window beyond it is no state of this code, and an
 * adopted one is refused (±1e300 from a peer would zero every quantile, or send it to maxValue).
 */
export const SCORE_LIMIT = 1e6;

/** The longest horizon a forecast is scored over (minutes): a trigger's metadata horizonMinutes at most. */
export const MAX_SCORED_HORIZON_MINUTES = 120;

/** A bounded window of scores with exact quantiles (linear interpolation between ranks). */
export class ScoreWindow {
  private readonly values: Float64Array;
  private next = 0;
  private size = 0;
  private sorted: Float64Array | null = null;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`window must be a positive integer, got ${capacity}`);
    this.values = new Float64Array(capacity);
  }

  /** Adds `score`, clamped to ±SCORE_LIMIT; a NaN is refused (RangeError). */
  push(score: number): void {
    if (Number.isNaN(score)) throw new RangeError('a score must be a number, got NaN');
    this.values[this.next] = Math.max(-SCORE_LIMIT, Math.min(SCORE_LIMIT, score));
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
    this.sorted = null;
  }

  get count(): number {
    return this.size;
  }

  /** The window exactly, in slot order, for a replica to continue from. */
  toState(): { next: number; size: number; values: number[] } {
    return { next: this.next, size: this.size, values: Array.from(this.values.subarray(0, this.size)) };
  }

  loadState(s: { next: number; size: number; values: number[] }): void {
    const ok = Number.isInteger(s.size) && s.size >= 0 && s.size <= this.capacity && Number.isInteger(s.next) && s.next >= 0 && s.next < this.capacity
      && Array.isArray(s.values) && s.values.length === s.size && s.values.every((v) => typeof v === 'number' && Math.abs(v) <= SCORE_LIMIT);
    if (!ok) throw new Error('score window state does not fit this window');
    this.values.fill(0);
    this.values.set(s.values);
    this.next = s.next;
    this.size = s.size;
    this.sorted = null;
  }

  quantile(q: number): number {
    if (this.size === 0) throw new RangeError('quantile of an empty window');
    // Sorted lazily: several forecasts read between two pushes when refreshes outpace minutes.
    this.sorted ??= this.values.slice(0, this.size).sort();
    return percentile(this.sorted, q);
  }
}

interface Pending {
  /** Epoch ms of the forecast's first minute. */
  origin: number;
  horizon: number;
  forecastMax: number;
  dispersion: number;
}

/**
 * Mean absolute change between consecutive observed minutes over the last `minutes` of `values`:
 * the load's local noise, in its own units. NaN when no two consecutive minutes are observed.
 */
export function dispersion(values: Series, minutes: number): number {
  let sum = 0;
  let n = 0;
  forEachMinuteStep(values, values.length - minutes, values.length, (a, b) => {
    sum += Math.abs(b - a);
    n++;
  });
  return n > 0 ? sum / n : NaN;
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
  dispersionMinutes?: number;
}

export type CalibratedForecaster = Forecaster & StatefulForecaster & { scores: ScoreWindow };

export function createCalibratedForecaster(inner: Forecaster, options: CalibrationOptions = {}): CalibratedForecaster {
  const scores = new ScoreWindow(options.window ?? CALIBRATION_DEFAULTS.window);
  const dispersionMinutes = options.dispersionMinutes ?? CALIBRATION_DEFAULTS.dispersionMinutes;
  const minScored = options.minScored ?? CALIBRATION_DEFAULTS.minScored;
  const levels = options.levels ?? CALIBRATION_DEFAULTS.levels;
  if (!Number.isInteger(minScored) || minScored < 1 || minScored > scores.capacity) {
    throw new RangeError(`minScored must be an integer in [1, window=${scores.capacity}], got ${minScored}`);
  }
  if (!Number.isInteger(dispersionMinutes) || dispersionMinutes < 2) throw new RangeError(`dispersionMinutes must be an integer >= 2, got ${dispersionMinutes}`);
  for (const l of levels) if (!(Number(l) > 0 && Number(l) < 1)) throw new RangeError(`quantile level must be in (0, 1), got "${l}"`);
  // One forecast per origin minute (refreshes come faster than minutes); few are ever pending.
  const pending = new Map<number, Pending>();
  /** Settles when the latest call has kept its forecast: the next one scores after it (see gate.ts). */
  let turn: Promise<void> = Promise.resolve();

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
          complete = false; // a gap hides the maximum: no honest score
          break;
        }
        if (v > actual) actual = v;
      }
      // Finite, as the pending forecasts are (imports are checked); pushed within ±SCORE_LIMIT.
      if (complete) scores.push((actual - p.forecastMax) / p.dispersion);
    }
  };

  return {
    name: inner.name,
    scores,
    historyMinutes: (requested) => inner.historyMinutes(requested),
    async forecast(request: ForecastRequest): Promise<Forecast> {
      // The inner model starts at once (overlapping calls share its batched pass); scoring and
      // keeping run in call order, so overlapping calls get the answers of one-after-the-other ones.
      const running = inner.forecast(request);
      running.catch(() => {}); // awaited below, maybe after it fails: not an unhandled rejection
      const previous = turn;
      let done!: () => void;
      turn = new Promise((resolve) => (done = resolve));
      try {
        await previous;
        score(request.history);
        return calibrated(request, await running);
      } finally {
        done();
      }
    },
    close: () => inner.close?.(),
    settled: async () => inner.settled?.(),
    exportState(): unknown {
      const innerState = isStateful(inner) ? inner.exportState() : null;
      return { kind: 'calibration', scores: scores.toState(), pending: [...pending.values()], inner: innerState };
    },
    importState(state: unknown): void {
      const s = state as { kind?: unknown; scores?: { next: number; size: number; values: number[] }; pending?: Pending[]; inner?: unknown };
      if (s?.kind !== 'calibration' || !s.scores || !Array.isArray(s.pending)) throw new Error('the state is not a calibration state');
      // As calibrated() keeps them: a positive peak and dispersion (scores divide by it), a horizon
      // a trigger can ask for (scoring walks it minute by minute).
      const ok = s.pending.every(
        (p) =>
          Number.isFinite(p?.origin)
          && Number.isInteger(p.horizon) && p.horizon >= 1 && p.horizon <= MAX_SCORED_HORIZON_MINUTES
          && Number.isFinite(p.forecastMax) && p.forecastMax > 0
          && Number.isFinite(p.dispersion) && p.dispersion > 0,
      );
      if (!ok) throw new Error('calibration state: malformed pending forecast');
      const window = new ScoreWindow(scores.capacity);
      window.loadState(s.scores); // checked on a copy first
      // The inner state next: if it does not fit, nothing has changed here either.
      if (isStateful(inner)) inner.importState(s.inner);
      else if (s.inner !== null && s.inner !== undefined) throw new Error(`calibration state: ${inner.name} keeps no state, the state has one`);
      scores.loadState(s.scores);
      pending.clear();
      for (const p of s.pending) pending.set(p.origin, { origin: p.origin, horizon: p.horizon, forecastMax: p.forecastMax, dispersion: p.dispersion });
    },
  };

  /** Keeps the forecast's peak to score later and adds the calibrated quantiles once enough are scored. */
  function calibrated(request: ForecastRequest, forecast: Forecast): Forecast {
    const origin = forecastOrigin(request.history);
    const max = peak(forecast.values, request.horizon);
    const spread = dispersion(request.history.requests, dispersionMinutes);
    // A flat history has no noise to scale by: its forecast is not scored (the model's own quantiles stand).
    if (max === null || !(spread > 0)) return forecast;
    pending.set(origin, { origin, horizon: request.horizon, forecastMax: max, dispersion: spread });
    if (scores.count < minScored) return forecast;
    const maxQuantiles: Record<string, number> = {};
    for (const l of levels) maxQuantiles[l] = Math.max(0, max + scores.quantile(Number(l)) * spread);
    return { ...forecast, maxQuantiles };
  }
}

function isStateful(f: Forecaster): f is Forecaster & StatefulForecaster {
  const g = f as Partial<StatefulForecaster>;
  return typeof g.exportState === 'function' && typeof g.importState === 'function';
}
