/**
 * The `amadeus` policy's input: for every minute of the simulated span, the value the scaler would
 * answer KEDA — the real forecaster (`src/forecast`) and planner (`src/plan`) fed with the minutes up
 * to and including that minute, in time order, so live state (the accuracy gate, fine-tuning)
 * evolves as it would in production.
 *
 * Where "now" is: the minute in progress's rate is what every policy of design §5 reads as the
 * current request rate (keda-reactive scales on it), as a Prometheus `rate(…[1m])` would report it;
 * Amadeus reads it too, and nothing after it. The future is never handed over: each request carries
 * a copy of the minutes up to now alone.
 */
import { lastObserved, minutesSinceSample, STALE_AFTER_MINUTES } from '../series/observed.js';
import type { Forecast } from '../series/forecast.js';
import type { Forecaster } from '../forecast/types.js';
import { noiseScale } from '../plan/noise.js';
import { makePlan, type PlanReason } from '../plan/plan.js';
import { planSignals, SIGNAL_NAMES, type PlanSignals, type SignalName } from '../plan/signals.js';
import { historyThrough, type TraceWindow } from '../sources/trace.js';
import { MINUTE_MS } from '../series/minute.js';
import type { SimLoad } from './load.js';


export interface AmadeusConfig extends PlannerSettings {
  /** The forecaster a ScaledObject's `forecaster` key names (built by the catalog, one per workload). */
  forecaster: Forecaster;
  /** ScaledObject metadata: horizonMinutes, historyMinutes; the planner's keys are PlannerSettings'. */
  horizonMinutes: number;
  historyMinutes: number;
  /**
   * Minutes whose forecasts are requested together (then awaited) so a batched model runs them in
   * one pass. Each still sees only its own past, and the gate and the calibration score and decide
   * in call order, so the plans are those of one minute at a time, as the scaler refreshes.
   */
  batchMinutes?: number;
  /** Sets the clock the forecaster's timers read (fine-tuning intervals) to a simulated instant. */
  setClock?: (epochMs: number) => void;
  onProgress?: (done: number, total: number) => void;
}

/**
 * `no-data`: no observed minute in the history. The previous plan is kept, as the registry keeps its
 * last good plan; before any plan there is no metric (NaN) and the HPA keeps the replicas it has.
 */
export type SimPlanReason = PlanReason | 'no-data';

export interface AmadeusPlans {
  /** Planned value per span minute, req/s; NaN where there is none yet. */
  planned: Float64Array;
  /** The forecast's maximum over the horizon (or its quantile) per span minute, req/s; NaN without one. */
  forecastMax: Float64Array;
  /** How often each plan reason was used. */
  reasons: Partial<Record<SimPlanReason, number>>;
  /** How often each model's forecast was the one planned with (the gate's choice). */
  models: Record<string, number>;
  /** How often each gate reason was given. */
  gateReasons: Record<string, number>;
}

export const DEFAULT_BATCH_MINUTES = 10;

const bump = <K extends string>(counts: Partial<Record<K, number>>, key: K) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/** What the forecaster said for each span minute, before any planner setting is applied. */
export interface SpanForecasts {
  /** The latest observed load (trace units) per span minute; null where the history has none, or only a stale one. */
  observed: (number | null)[];
  forecasts: (Forecast | null)[];
  /** The load's noise scale α over the last `historyMinutes` (plan/noise.ts), as the scaler fits it. */
  noise: (number | null)[];
  /** Every signal of plan/signals.ts per span minute (a planner setting chooses which it uses). */
  signals: (PlanSignals | null)[];
  models: Record<string, number>;
  gateReasons: Record<string, number>;
}

/**
 * The forecaster's pass over the span, minute by minute in time order. Separate from the planner's,
 * so planner settings can be compared on the same forecasts (the forecaster's state, the gate and
 * fine-tuning, does not depend on them).
 */
export async function forecastSpan(trace: TraceWindow, load: SimLoad, config: Omit<AmadeusConfig, keyof PlannerSettings>): Promise<SpanForecasts> {
  const batch = config.batchMinutes ?? DEFAULT_BATCH_MINUTES;
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batchMinutes must be an integer >= 1, got ${batch}`);
  const { forecaster } = config;
  const need = Math.max(config.historyMinutes, forecaster.historyMinutes(config.historyMinutes));
  const n = load.rate.length;
  const out: SpanForecasts = { observed: [], forecasts: [], noise: [], signals: [], models: {}, gateReasons: {} };
  const allSignals = new Set(SIGNAL_NAMES);
  config.onProgress?.(0, n);
  for (let c = 0; c < n; c += batch) {
    const minutes = Array.from({ length: Math.min(batch, n - c) }, (_, k) => c + k);
    config.setClock?.(load.start + c * MINUTE_MS);
    const histories = minutes.map((i) => historyThrough(trace, load.offset + i, need));
    // A minute whose newest sample is stale is a failed read in serve: no forecast is asked for, and
    // the last plan holds (planSpan).
    const fresh = histories.map((history) => minutesSinceSample(history.requests) < STALE_AFTER_MINUTES);
    const forecasts = await Promise.all(
      histories.map((history, k) =>
        !fresh[k]
          ? null
          : forecaster.forecast({ history, horizon: config.horizonMinutes, requested: config.historyMinutes }).then(
              (f): Forecast | null => f,
              () => null,
            ),
      ),
    );
    // Background work these forecasts started ends before the next minutes are forecast.
    await forecaster.settled?.();
    histories.forEach((history, k) => {
      const observed = fresh[k] ? (lastObserved(history.requests)?.value ?? null) : null;
      const forecast = observed === null ? null : forecasts[k]!;
      out.observed.push(observed);
      out.forecasts.push(forecast);
      const alpha = noiseScale(history.requests, config.historyMinutes);
      out.noise.push(alpha);
      // Signals read the trace in place, up to and including this minute (days of it, every minute: no copy).
      out.signals.push(observed === null ? null : planSignals(trace.requests, config.horizonMinutes, alpha, allSignals, load.offset + minutes[k]! + 1));
      if (forecast) bump(out.models, forecast.model);
      if (forecast?.gate) bump(out.gateReasons, forecast.gate.reason);
    });
    config.onProgress?.(Math.min(n, c + batch), n);
  }
  return out;
}

/** A planner setting: the ScaledObject metadata that shapes the plan, not the forecast. */
export interface PlannerSettings {
  headroom: number;
  quantile?: string;
  noiseMargin?: number;
  surgeNoiseMargin?: number;
  /** Signals of plan/signals.ts the plan uses; unset: none. */
  signals?: ReadonlySet<SignalName>;
}

const maskSignals = (s: PlanSignals | null, on: ReadonlySet<SignalName> | undefined): PlanSignals | undefined =>
  s === null || on === undefined || on.size === 0
    ? undefined
    : { ramp: on.has('ramp') ? s.ramp : null, recurring: on.has('recurring') ? s.recurring : null, surging: on.has('surge') && s.surging, surgeLevel: on.has('surge') ? s.surgeLevel : null, onset: on.has('onset') ? (s.onset ?? null) : null, level: on.has('level') ? (s.level ?? null) : null };

/** The planner over a span's forecasts with one setting: the value KEDA would read each minute, req/s. */
export function planSpan(f: SpanForecasts, load: SimLoad, setting: PlannerSettings): Pick<AmadeusPlans, 'planned' | 'forecastMax' | 'reasons'> {
  const n = f.observed.length;
  const planned = new Float64Array(n);
  const forecastMax = new Float64Array(n).fill(NaN);
  const reasons: AmadeusPlans['reasons'] = {};
  let previous: number | null = null;
  for (let i = 0; i < n; i++) {
    const observed = f.observed[i]!;
    if (observed === null) {
      planned[i] = previous ?? NaN;
      bump(reasons, 'no-data');
      continue;
    }
    const plan = makePlan({ mode: 'predictive', headroom: setting.headroom, activationValue: 0, observed, forecast: f.forecasts[i]!, quantile: setting.quantile, noiseMargin: setting.noiseMargin, surgeNoiseMargin: setting.surgeNoiseMargin, noise: f.noise[i]!, signals: maskSignals(f.signals[i]!, setting.signals) });
    planned[i] = plan.value * load.scale;
    previous = planned[i]!;
    if (plan.forecastMax !== null) forecastMax[i] = plan.forecastMax * load.scale;
    bump(reasons, plan.reason);
  }
  return { planned, forecastMax, reasons };
}

export async function planAmadeus(trace: TraceWindow, load: SimLoad, config: AmadeusConfig): Promise<AmadeusPlans> {
  const f = await forecastSpan(trace, load, config);
  return { ...planSpan(f, load, config), models: f.models, gateReasons: f.gateReasons };
}
