/**
 * The planner: forecast + observation → the value KEDA scales on. Pure.
 *
 * A forecast may only add capacity: planned = (base + noise margin) × (1 + headroom), where base =
 * max(forecast over the horizon, observed, the signals of signals.ts) and the noise margin
 * (metadata `noiseMargin`, see noise.ts) follows the load's own minute-to-minute noise at that level.
 * Scale-in stays with the HPA's own stabilization window, so a forecast that is too low can never
 * remove pods that current load needs.
 */
import type { Forecast } from '../series/forecast.js';
import { noiseMargin } from './noise.js';
import type { PlanSignals } from './signals.js';

export type Mode = 'predictive' | 'shadow' | 'reactive';

export const PLAN_REASONS = [
  /** Predictive: the forecast's maximum over the horizon is above the observed load. */
  'forecast',
  /** Predictive: observed load is at or above the forecast, so it wins. */
  'observed',
  /** Predictive: the load rises beyond noise; its projection over the horizon is above the forecast. */
  'ramp',
  /** Predictive: a jump that happened at this time on recent days is provisioned for before it starts. */
  'recurring',
  /** Predictive: a surge is under way and its level (the mean of its last minutes) is above the rest. */
  'surge',
  /** Predictive: a surge's onset was found and its level, grown, is above the rest. */
  'onset',
  /** Predictive: the load's level now (a line through the last half hour, plus some of its scatter) is above the rest. */
  'level',
  /** Predictive, but the forecaster failed: the observed load is used. */
  'forecast-unavailable',
  /** Shadow mode: the forecast is computed and exported, the reactive value is answered. */
  'shadow',
  /** Reactive mode: no forecast at all. */
  'reactive',
] as const;
export type PlanReason = (typeof PLAN_REASONS)[number];

export interface PlanInput {
  mode: Mode;
  headroom: number;
  activationValue: number;
  /** The latest observed load. */
  observed: number;
  /** Null in reactive mode or when the forecaster failed. */
  forecast: Forecast | null;
  /**
   * Provision for this quantile of the horizon's maximum (e.g. "0.9") when the forecast has it;
   * otherwise (or when unset) the point forecast's maximum.
   */
  quantile?: string;
  /** k of the noise margin k·α·√base; 0 or unset: none. */
  noiseMargin?: number;
  /** α, the load's noise scale (`noiseScale` of the history); null or unset: no noise margin. */
  noise?: number | null;
  /** What the history says beyond the forecast (signals.ts); predictive mode only. */
  signals?: PlanSignals;
  /** k of the noise margin while a surge is under way (signals.surging); unset: `noiseMargin`. */
  surgeNoiseMargin?: number;
  /**
   * The largest value ever answered (metadata `maxValue`): a forecast or margin beyond it is cut
   * to it, so the value stays finite and within what KEDA's int64 fields carry. Unset, or above
   * MAX_PLAN_VALUE: MAX_PLAN_VALUE.
   */
  maxValue?: number;
}

/** The ceiling when none is given: the largest value whose milli-units (KEDA's Quantity) fit an int64. */
export const MAX_PLAN_VALUE = 9e15;

export interface Plan {
  /** The metric value for KEDA: total planned load, >= 0 and finite. */
  value: number;
  /** IsActive: observed load, or (predictive only) any forecast minute, above the activation value. */
  active: boolean;
  observed: number;
  /** Maximum of the forecast over the horizon (or its requested quantile), when there is a forecast. */
  forecastMax: number | null;
  /** The quantile level forecastMax stands for, or null for the point forecast. */
  quantile: string | null;
  reason: PlanReason;
  /** The model whose forecast was computed (also in shadow mode), or null. */
  model: string | null;
  /** The noise margin added to the base, in the load's unit (before headroom); 0 when none. */
  noiseMargin: number;
  /** Whether a surge was under way, or its onset found (the surge margin applied). */
  surging: boolean;
  /** Whether the value was cut to the ceiling (`maxValue`). */
  capped: boolean;
}

export function forecastMax(forecast: Forecast | null): number | null {
  if (!forecast || forecast.values.length === 0) return null;
  let max = -Infinity;
  for (const v of forecast.values) if (Number.isFinite(v) && v > max) max = v;
  return max === -Infinity ? null : Math.max(0, max);
}

/** The requested quantile of the horizon maximum when the forecast carries it. */
function quantileMax(forecast: Forecast | null, quantile: string | undefined): number | null {
  const v = quantile === undefined ? undefined : forecast?.maxQuantiles?.[quantile];
  return v !== undefined && Number.isFinite(v) ? Math.max(0, v) : null;
}

export function makePlan(input: PlanInput): Plan {
  const observed = Number.isFinite(input.observed) ? Math.max(0, input.observed) : 0;
  const qmax = quantileMax(input.forecast, input.quantile);
  const fmax = qmax ?? forecastMax(input.forecast);
  const model = input.forecast?.model ?? null;
  let base = observed;
  let reason: PlanReason;
  let active = observed > input.activationValue;
  if (input.mode === 'reactive') reason = 'reactive';
  else if (input.mode === 'shadow') reason = 'shadow';
  else if (fmax === null) reason = 'forecast-unavailable';
  else {
    // Activation looks ahead too, so 0 → 1 happens before the load arrives.
    active = active || fmax > input.activationValue;
    if (fmax > observed) {
      base = fmax;
      reason = 'forecast';
    } else reason = 'observed';
  }
  const signals = input.mode === 'predictive' ? input.signals : undefined;
  if (signals) {
    // Each only ever raises the base: a signal that is wrong costs pods, never capacity.
    for (const [value, why] of [
      [signals.ramp, 'ramp'],
      [signals.recurring, 'recurring'],
      [signals.surging ? signals.surgeLevel : null, 'surge'],
      [signals.onset ?? null, 'onset'],
      [signals.level ?? null, 'level'],
    ] as const) {
      if (value !== null && Number.isFinite(value) && value > base) {
        base = value;
        reason = why;
        active = active || value > input.activationValue;
      }
    }
  }
  const surging = signals?.surging === true || (signals?.onset ?? null) !== null;
  const k = surging ? (input.surgeNoiseMargin ?? input.noiseMargin ?? 0) : (input.noiseMargin ?? 0);
  const m = noiseMargin(base, k, input.noise ?? null);
  const margin = Number.isFinite(m) && m > 0 ? m : 0;
  const ceiling = input.maxValue !== undefined && input.maxValue >= 0 && input.maxValue < MAX_PLAN_VALUE ? input.maxValue : MAX_PLAN_VALUE;
  // Every term is finite and >= 0, but their product may still overflow: the ceiling also catches that.
  const raw = (base + margin) * (1 + Math.max(0, input.headroom));
  const capped = !(raw <= ceiling);
  const value = capped ? ceiling : raw;
  return { value, active, observed, forecastMax: fmax, quantile: qmax === null ? null : input.quantile!, reason, model, noiseMargin: margin, surging, capped };
}
