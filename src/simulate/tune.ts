/**
 * Per-workload planner tuning: which quantile, headroom and noise margin to run a workload with, chosen on the
 * days *before* the simulated span and then judged on the span itself, so the figures reported for
 * the span stay out-of-sample. The forecaster runs once over the tuning days; each candidate setting
 * only re-plans its forecasts and runs the engine (milliseconds each), because the forecaster's
 * state — the gate, fine-tuning — does not depend on the planner's settings.
 */
import type { TraceWindow } from '../sources/trace.js';
import { forecastSpan, planSpan, type AmadeusConfig, type PlannerSettings, type SpanForecasts } from './amadeus.js';
import { figures, runPolicy, type PolicyFigures } from './engine.js';
import { buildLoad, countSpikeMinutes, type SimLoad } from './load.js';
import type { SimParams } from './params.js';
import { amadeus, hpaCpu } from './policies.js';

/** The product's success criteria (design §5), which a chosen setting must meet on the tuning days. */
export interface TuneGoals {
  /** p95 latency increase during spike minutes must stay below this, percent. */
  p95IncreasePct: number;
  /** SLO-violation minutes at most this share of hpa-cpu's. */
  sloShareOfHpa: number;
}

export const DEFAULT_GOALS: TuneGoals = { p95IncreasePct: 10, sloShareOfHpa: 0.25 };

/** `none` plans on the point forecast. */
export interface PlannerSetting {
  quantile: string;
  headroom: number;
  /** k of the noise margin (metadata `noiseMargin`); 0: none. */
  noiseMargin: number;
}

/** The planner's `quantile` for a setting's: `none` (the point forecast) is no quantile at all. */
export function plannerQuantile(quantile: string): string | undefined {
  return quantile === 'none' ? undefined : quantile;
}

export interface TuneCandidate extends PlannerSetting {
  p95LatencyIncreasePct: number;
  sloViolationMinutes: number;
  podHours: number;
  meetsGoals: boolean;
}

export interface Tuning {
  /** ISO time of the tuning span's first minute. */
  from: string;
  minutes: number;
  spikeMinutes: number;
  goals: TuneGoals;
  hpaCpu: { sloViolationMinutes: number; podHours: number };
  candidates: TuneCandidate[];
  chosen: TuneCandidate;
  /** Whether the chosen setting met the goals on the tuning days (if none did: the lowest p95). */
  met: boolean;
}

/** Noise margins the default grid tries (0: none). */
export const NOISE_MARGINS = [0, 0.25, 0.5, 0.75, 1] as const;

/** Headroom 0 to `maxHeadroom` in steps of 0.05 × each noise margin, for the point forecast and each quantile. */
export function defaultGrid(quantiles: readonly string[], maxHeadroom = 0.5): PlannerSetting[] {
  const grid: PlannerSetting[] = [];
  const steps = Math.round(maxHeadroom * 20);
  for (const quantile of ['none', ...quantiles]) {
    for (const noiseMargin of NOISE_MARGINS) for (let k = 0; k <= steps; k++) grid.push({ quantile, headroom: k / 20, noiseMargin });
  }
  return grid;
}

/**
 * A grid setting on top of the fixed ones (signals, and the surge margin as an increment over the
 * noise margin, so a tuned margin keeps the surge's extra room).
 */
export function withSetting(base: Pick<PlannerSettings, 'signals' | 'noiseMargin' | 'surgeNoiseMargin'>, s: PlannerSetting): PlannerSettings {
  const surgeExtra = Math.max(0, (base.surgeNoiseMargin ?? 0) - (base.noiseMargin ?? 0));
  return { headroom: s.headroom, quantile: plannerQuantile(s.quantile), noiseMargin: s.noiseMargin, surgeNoiseMargin: s.noiseMargin + surgeExtra, signals: base.signals };
}

/** One setting's outcome on a span whose forecasts are known: the planner, then the engine. */
export function scoreSetting(forecasts: SpanForecasts, load: SimLoad, params: SimParams, s: PlannerSetting, base: Pick<PlannerSettings, 'signals' | 'noiseMargin' | 'surgeNoiseMargin'> = {}): PolicyFigures {
  const { planned } = planSpan(forecasts, load, withSetting(base, s));
  return figures(load, runPolicy(load, amadeus(planned, params), params), params);
}

export function meetsGoals(c: Pick<TuneCandidate, 'p95LatencyIncreasePct' | 'sloViolationMinutes'>, hpaSloMinutes: number, goals: TuneGoals): boolean {
  return c.p95LatencyIncreasePct < goals.p95IncreasePct && c.sloViolationMinutes <= goals.sloShareOfHpa * hpaSloMinutes;
}

/**
 * The cheapest setting (fewest pod-hours) that meets the goals; when none does, the one with the
 * lowest p95 increase — latency is what the product promises, so cost only decides among settings
 * that keep it. Ties go to the earlier candidate, so the grid's order (lower headroom first) decides.
 */
export function chooseCandidate(candidates: readonly TuneCandidate[]): { chosen: TuneCandidate; met: boolean } {
  if (candidates.length === 0) throw new RangeError('no candidate setting to choose from');
  const meeting = candidates.filter((c) => c.meetsGoals);
  const pool = meeting.length > 0 ? meeting : candidates;
  const key = (c: TuneCandidate) => (meeting.length > 0 ? [c.podHours, c.p95LatencyIncreasePct] : [c.p95LatencyIncreasePct, c.podHours]);
  let chosen = pool[0]!;
  for (const c of pool.slice(1)) {
    const [a, b] = [key(c), key(chosen)];
    if (a[0]! < b[0]! || (a[0] === b[0] && a[1]! < b[1]!)) chosen = c;
  }
  return { chosen, met: meeting.length > 0 };
}

export interface TuneInput {
  trace: TraceWindow;
  /** Trace minutes [from, to) to tune on: the days just before the simulated span. */
  from: number;
  to: number;
  params: SimParams;
  /** The forecaster and fixed settings (horizon, history, signals…); a forecaster of its own, not the span's. */
  amadeus: AmadeusConfig;
  grid: readonly PlannerSetting[];
  goals: TuneGoals;
}

export async function tunePlanner(input: TuneInput): Promise<Tuning> {
  const { params } = input;
  const load = buildLoad(input.trace, input.from, input.to, params);
  const forecasts = await forecastSpan(input.trace, load, input.amadeus);
  const hpa = figures(load, runPolicy(load, hpaCpu(params), params), params);
  const candidates = input.grid.map((s): TuneCandidate => {
    const f = scoreSetting(forecasts, load, params, s, input.amadeus);
    const c = { ...s, p95LatencyIncreasePct: f.p95LatencyIncreasePct, sloViolationMinutes: f.sloViolationMinutes, podHours: f.podHours };
    return { ...c, meetsGoals: meetsGoals(c, hpa.sloViolationMinutes, input.goals) };
  });
  return {
    from: new Date(load.start).toISOString(),
    minutes: load.rate.length,
    spikeMinutes: countSpikeMinutes(load),
    goals: input.goals,
    hpaCpu: { sloViolationMinutes: hpa.sloViolationMinutes, podHours: hpa.podHours },
    candidates,
    ...chooseCandidate(candidates),
  };
}
