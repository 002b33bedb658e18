/**
 * A whole comparison: one load, every requested policy through the same engine, the figures of
 * design §5 for each. The forecaster is passed in (the CLI builds it from the catalog), so this
 * module does no I/O.
 */
import type { TraceWindow } from '../sources/trace.js';
import { planAmadeus, type AmadeusConfig, type AmadeusPlans } from './amadeus.js';
import { figures, runPolicy, type Policy, type PolicyFigures, type PolicyRun } from './engine.js';
import { buildLoad, countSpikeMinutes, type SimLoad } from './load.js';
import type { SimParams } from './params.js';
import { amadeus, hpaCpu, kedaReactive, naive, oracle, type PolicyName } from './policies.js';
import { tunePlanner, withSetting, type PlannerSetting, type TuneGoals, type Tuning } from './tune.js';

/** `--tune`: choose Amadeus's quantile, headroom and noise margin on the days before the span (see tune.ts). */
export interface TuneRequest {
  /** Trace minutes before the simulated span to tune on. */
  minutes: number;
  /** A forecaster of its own, so the span's forecaster starts as it would without tuning. */
  forecaster: AmadeusConfig['forecaster'];
  grid: readonly PlannerSetting[];
  goals: TuneGoals;
  onProgress?: (done: number, total: number) => void;
}

export interface SimulationInput {
  /** Where the trace came from (a file path or a Prometheus query), for the report. */
  name: string;
  trace: TraceWindow;
  /** Share of the trace before the simulated span: history for the forecaster only. */
  split: number;
  params: SimParams;
  policies: readonly PolicyName[];
  /** Required when `policies` has `amadeus`. */
  amadeus?: AmadeusConfig & { describe: Record<string, string | number | boolean | null>; tune?: TuneRequest };
  /** Progress of the amadeus planning pass (the only slow part). */
  onProgress?: (done: number, total: number) => void;
}

export interface PolicyResult extends PolicyFigures {
  /** amadeus only: how often each plan reason, model and gate reason was used. */
  planReasons?: AmadeusPlans['reasons'];
  models?: AmadeusPlans['models'];
  gateReasons?: AmadeusPlans['gateReasons'];
}

export interface SimulationResult {
  trace: string;
  /** Epoch ms of the simulated span's first minute, and its UTC offset (minutes). */
  start: number;
  utcOffsetMinutes: number;
  minutes: number;
  spikeMinutes: number;
  params: SimParams;
  /** The Amadeus settings simulated (forecaster, horizon, headroom, quantile…), when it ran. */
  amadeus: Record<string, string | number | boolean | null> | null;
  /** With --tune: the settings compared on the days before the span, and the one simulated. */
  tuning: Tuning | null;
  policies: PolicyResult[];
  load: SimLoad;
  runs: PolicyRun[];
  plans: AmadeusPlans | null;
}

/** First simulated minute for a split: the same rule as `amadeus eval`'s. */
export function spanStart(length: number, split: number): number {
  return Math.floor(length * split);
}

export async function simulate(input: SimulationInput): Promise<SimulationResult> {
  const { trace, params } = input;
  const load = buildLoad(trace, spanStart(trace.requests.length, input.split), trace.requests.length, params);
  let plans: AmadeusPlans | null = null;
  let tuning: Tuning | null = null;
  let describe = input.amadeus?.describe ?? null;
  if (input.policies.includes('amadeus')) {
    if (!input.amadeus) throw new Error('the amadeus policy needs a forecaster configuration');
    let config: AmadeusConfig = { ...input.amadeus, onProgress: input.onProgress };
    const tune = input.amadeus.tune;
    if (tune) {
      const from = load.offset - tune.minutes;
      if (from < 0) throw new RangeError(`tuning needs ${tune.minutes} minutes before the simulated span; the trace has ${load.offset}`);
      tuning = await tunePlanner({ trace, from, to: load.offset, params, amadeus: { ...config, forecaster: tune.forecaster, onProgress: tune.onProgress }, grid: tune.grid, goals: tune.goals });
      const { quantile, headroom, noiseMargin } = tuning.chosen;
      const chosen = withSetting(config, tuning.chosen);
      config = { ...config, ...chosen };
      describe = { ...describe, quantile, headroom, noiseMargin, surgeNoiseMargin: chosen.surgeNoiseMargin ?? null, tuned: true };
    }
    plans = await planAmadeus(trace, load, config);
  }
  const policyOf = (name: PolicyName): Policy => {
    switch (name) {
      case 'hpa-cpu':
        return hpaCpu(params);
      case 'keda-reactive':
        return kedaReactive(params);
      case 'naive':
        return naive(load, params);
      case 'oracle':
        return oracle(load, params);
      case 'amadeus':
        return amadeus(plans!.planned, params);
    }
  };
  const runs = input.policies.map((name) => runPolicy(load, policyOf(name), params));
  const results: PolicyResult[] = runs.map((run) => {
    const f: PolicyResult = figures(load, run, params);
    if (run.name === 'amadeus' && plans) Object.assign(f, { planReasons: plans.reasons, models: plans.models, gateReasons: plans.gateReasons });
    return f;
  });
  return {
    trace: input.name,
    start: load.start,
    utcOffsetMinutes: load.utcOffsetMinutes,
    minutes: load.rate.length,
    spikeMinutes: countSpikeMinutes(load),
    params,
    amadeus: describe,
    tuning,
    policies: results,
    load,
    runs,
    plans,
  };
}

/** The `--json` object: the figures, without the per-tick series. */
export function jsonSummary(r: SimulationResult): object {
  return {
    trace: r.trace,
    start: new Date(r.start).toISOString(),
    minutes: r.minutes,
    spikeMinutes: r.spikeMinutes,
    params: r.params,
    amadeus: r.amadeus,
    ...(r.tuning ? { tuning: r.tuning } : {}),
    policies: r.policies,
  };
}
