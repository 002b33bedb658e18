/** `amadeus simulate` options: the trace-driven autoscaling comparison of design §5. */
import { MODEL_NAMES } from '../../forecast/catalog.js';
import { backendOption } from './backend.js';
import { QUANTILES } from '../../scaler/metadata.js';
import { DEFAULT_BATCH_MINUTES } from '../../simulate/amadeus.js';
import { SIM_DEFAULTS, type SimParams } from '../../simulate/params.js';
import { DEFAULT_SHAPE } from '../../forecast/lstm/model.js';
import { DEFAULT_FINE_TUNE_INTERVAL_MINUTES } from '../../forecast/lstm/workload.js';
import { planningHorizonMinutes } from '../../plan/horizon.js';
import { POLICY_NAMES } from '../../simulate/policies.js';
import { DEFAULT_GOALS, plannerQuantile } from '../../simulate/tune.js';
import { SCENARIOS } from '../../sources/generator.js';
import { MODEL_NAMES as EVAL_MODEL_NAMES } from '../../eval/models.js';
import { DEFAULT_NASA_TRACE, DEFAULT_TRACES_DIR, SUITE_NAMES } from '../../simulate/suite.js';
import type { SuiteAmadeus } from '../../simulate/suite-run.js';
import { split } from './eval.js';
import { boolean, httpUrl, integer, nameList, nameSet, number, oneOf, optional, SEED_MAX, text, type FieldSpec } from '../../config/fields.js';
import { PLANNER_DEFAULTS } from '../../plan/defaults.js';
import { SIGNAL_NAMES } from '../../plan/signals.js';
import { fileOption, option as o, parseOptions, type OptionSchema, type ParsedOptions } from '../../config/options.js';

const d = SIM_DEFAULTS;
/** The LSTM's trained horizon: beyond it a forecast only holds its last value. */
export const MAX_SIM_HORIZON = DEFAULT_SHAPE.horizonMinutes;

/** Longest --fine-tune-interval, seconds (30 days): a simulation reads no Prometheus, so serve's read bound does not apply. */
export const MAX_SIM_FINE_TUNE_INTERVAL_SECONDS = 30 * 86400;

/** At most this many held-out seeds in one suite: each is a full simulation and backtest. */
export const MAX_REPORT_SEEDS = 100;

/** FIRST-LAST (or one seed): the seeds in order, FIRST <= LAST, at most MAX_REPORT_SEEDS of them. */
export function seedRange(): Omit<FieldSpec<number[]>, 'default' | 'required'> {
  const expected = `seeds as FIRST-LAST (e.g. 201-210), 0 to ${SEED_MAX}, at most ${MAX_REPORT_SEEDS}`;
  return {
    expected,
    parse(raw) {
      const m = /^\s*(\d{1,10})\s*(?:-\s*(\d{1,10})\s*)?$/.exec(raw);
      if (!m) throw new Error(expected);
      const first = Number(m[1]);
      const last = m[2] === undefined ? first : Number(m[2]);
      if (last > SEED_MAX || first > last || last - first + 1 > MAX_REPORT_SEEDS) throw new Error(expected);
      return Array.from({ length: last - first + 1 }, (_, i) => first + i);
    },
  };
}

/** `--horizon` when not given: when pods ordered now are ready (plan/horizon.ts), at most MAX_SIM_HORIZON. */
export function defaultSimHorizon(p: Pick<SimParams, 'startupSeconds' | 'syncSeconds' | 'pollSeconds'>): number {
  return Math.min(MAX_SIM_HORIZON, planningHorizonMinutes(p.startupSeconds, p.syncSeconds, p.pollSeconds));
}

export const SIMULATE_OPTIONS = {
  // The load: exactly one of a trace file, the generator, or a Prometheus query.
  trace: o(fileOption(), 'The load: a trace CSV (timestamp,requests[,observed]), one row per minute.'),
  scenario: o(optional(oneOf(SCENARIOS, { required: true })), 'The load: the built-in generator (daily; flash-sale: daily cycle + weekday 12:00 sale + random surges; or random: a whole workload drawn from --seed).'),
  prometheusUrl: o(optional(httpUrl({ required: true })), 'The load: "what if" on a real workload — its history from this Prometheus (needs --query).'),
  query: o(optional(text({ required: true, expected: 'a PromQL expression' })), 'PromQL for the workload\'s request rate (one series), with --prometheus-url.'),
  days: o(number({ min: 0.001, max: 366, default: 28 }), 'Days of load from --scenario or --prometheus-url.'),
  end: o(optional(text({ pattern: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/, expected: 'an ISO-8601 time with offset', required: true })), 'With --prometheus-url: the end of the history (default: now).'),
  utcOffsetMinutes: o(integer({ min: -840, max: 840, default: 0 }), 'With --scenario or --prometheus-url: the workload\'s local time offset (daily cycles follow local time).'),
  seed: o(integer({ min: 0, max: SEED_MAX, default: 1 }), 'With --scenario: the generator seed.'),
  timeout: o(number({ min: 0.1, max: 600, default: 30 }), 'With --prometheus-url: seconds one range query may take.'),
  split: o(split(), 'Share of the load before the simulated span, for the forecaster\'s history only (0.75: the last 25% is simulated).'),
  policies: o(nameList('policy', POLICY_NAMES), 'Policies to compare.'),
  json: o(boolean({ default: false }), 'Print one JSON object instead of a table.'),
  report: o(fileOption(), 'Write a self-contained HTML report with charts to this file.'),
  svg: o(fileOption(), 'Write the main chart (the largest spike, zoomed) as an SVG to this file.'),
  // The cluster model (design §5).
  peakPods: o(number({ min: 0.1, max: 1000, default: d.peakPods }), 'Pods the span\'s peak needs at the target utilisation (the load is rescaled to it).'),
  mu: o(number({ min: 0.001, max: 1e9, default: d.mu }), 'Requests per second one pod serves.'),
  startupSeconds: o(integer({ min: 0, max: 3600, default: d.startupSeconds }), 'Seconds until a new pod is ready.'),
  tickSeconds: o(integer({ min: 1, max: 60, default: d.tickSeconds }), 'Simulation step, seconds (divides a minute).'),
  syncSeconds: o(integer({ min: 1, max: 600, default: d.syncSeconds }), 'HPA sync period, seconds.'),
  pollSeconds: o(integer({ min: 1, max: 600, default: d.pollSeconds }), 'KEDA polling interval (keda-reactive, amadeus), seconds.'),
  tolerance: o(number({ min: 0, max: 1, default: d.tolerance }), 'HPA tolerance.'),
  stabilizationSeconds: o(integer({ min: 0, max: 3600, default: d.stabilizationSeconds }), 'HPA scale-down stabilization window, seconds.'),
  minReplicas: o(integer({ min: 1, max: 10000, default: d.minReplicas }), 'HPA minimum replicas.'),
  maxReplicas: o(integer({ min: 1, max: 10000, default: d.maxReplicas }), 'HPA maximum replicas.'),
  targetUtilization: o(number({ min: 0.01, max: 0.99, default: d.targetUtilization }), 'Target utilisation of every policy.'),
  sloFactor: o(number({ gt: 1, max: 100, default: d.sloFactor }), 'A minute violates the SLO when its worst latency exceeds this × the baseline.'),
  spikeRatio: o(number({ gt: 1, max: 100, default: d.spikeRatio }), 'A spike minute: 5-minute mean load above this × the trailing 60-minute mean.'),
  oracleHeadroom: o(number({ min: 0, max: 10, default: d.oracleHeadroom }), 'Extra capacity the oracle provisions (0.05 = 5%).'),
  // Amadeus, as a ScaledObject would configure it.
  forecaster: o(oneOf(MODEL_NAMES, { default: 'auto' }), 'Amadeus: the forecaster (metadata forecaster).'),
  horizon: o(optional(integer({ min: 1, max: MAX_SIM_HORIZON, required: true })), `Amadeus: minutes ahead whose maximum is planned for (metadata horizonMinutes). Default: when pods ordered now are ready, ⌈(start-up + sync + poll) ÷ 60⌉ (3 with the defaults; at most ${MAX_SIM_HORIZON}), as metadata podStartupSeconds sets it.`),
  history: o(integer({ min: 10, max: 1440, default: 60 }), 'Amadeus: minutes of history (metadata historyMinutes).'),
  headroom: o(number({ min: 0, max: 10, default: PLANNER_DEFAULTS.headroom }), 'Amadeus: extra capacity over the plan (metadata headroom).'),
  quantile: o(oneOf(['none', ...QUANTILES], { default: 'none' }), 'Amadeus: plan for this quantile of the horizon\'s maximum (metadata quantile); none: the point forecast.'),
  noiseMargin: o(number({ min: 0, max: 10, default: PLANNER_DEFAULTS.noiseMargin }), 'Amadeus: k of the noise margin k·α·√load added to the plan before the headroom (metadata noiseMargin); 0: none.'),
  surgeNoiseMargin: o(number({ min: 0, max: 10, default: PLANNER_DEFAULTS.surgeNoiseMargin }), 'Amadeus: k of the noise margin while a surge is under way (metadata surgeNoiseMargin).'),
  signals: o(nameSet('signal', SIGNAL_NAMES, PLANNER_DEFAULTS.signals), 'Amadeus: what the history says beyond the forecast (metadata signals): ramp, recurring, surge, onset, level, or none.'),
  model: o(text({ default: 'models/nasa-lstm', expected: 'a directory' }), 'Amadeus: the pre-trained LSTM.'),
  tfBackend: backendOption(),
  fineTune: o(boolean({ default: true }), 'Amadeus: fine-tune the LSTM on the simulated workload\'s past as the simulation runs, as serve does (--no-fine-tune: the shipped model only).'),
  fineTuneInterval: o(number({ min: 600, max: MAX_SIM_FINE_TUNE_INTERVAL_SECONDS, default: DEFAULT_FINE_TUNE_INTERVAL_MINUTES * 60 }), 'Amadeus: seconds of the simulated workload\'s history between two fine-tuning rounds, as serve\'s --fine-tune-interval (the same unit and variable, so a ConfigMap\'s value simulates what serve runs).'),
  fineTuneHistory: o(integer({ min: 360, max: 20160, default: 2880 }), 'Amadeus: minutes of history a fine-tuning round learns from.'),
  fineTuneBlend: o(boolean({ default: true }), 'Amadeus: each fine-tuning round also shrinks the LSTM\'s point forecast toward persistence, mean10, mean30, days3 (the median of the last three weekdays\' same minutes) or holt-winters (over the two days before) by a weight it chooses on the workload\'s own history, as serve does; with --suite, eval\'s lstm-finetuned does the same (--no-fine-tune-blend: neither).'),
  tune: o(boolean({ default: false }), 'Amadeus: choose its quantile, headroom and noise margin on the days before the simulated span (the cheapest setting meeting the goals there), simulate the span with it, and print the ScaledObject metadata under which serve plans the same.'),
  tuneDays: o(number({ min: 0.01, max: 366, default: 4 }), 'With --tune: days before the simulated span to tune on.'),
  goalP95: o(number({ gt: -100, max: 1e6, default: DEFAULT_GOALS.p95IncreasePct }), 'With --tune: a setting must keep the p95 latency increase during spikes below this, percent.'),
  goalSloShare: o(number({ min: 0, max: 100, default: DEFAULT_GOALS.sloShareOfHpa }), 'With --tune: a setting may have at most this share of hpa-cpu\'s SLO-violation minutes.'),
  batchMinutes: o(integer({ min: 1, max: 1440, default: DEFAULT_BATCH_MINUTES }), 'Amadeus: minutes forecast together (speed; each still sees only its past).'),
  // The trace suite: many traces, one table.
  suite: o(optional(text({ required: true, expected: `a suite (${SUITE_NAMES.join(', ')}) or a directory of trace CSVs` })), 'Instead of one load, a suite: every trace of it simulated with the same settings and evaluated (amadeus eval), with the planner\'s bar per trace. default: NASA (design), the real traces of --traces-dir and the randomized scenario family\'s report seeds (held-out), its tuning seeds (tune); held-out: only the held-out ones; tune: NASA and the tuning seeds; a directory: its *.csv files (held-out).'),
  tracesDir: o(text({ default: DEFAULT_TRACES_DIR, expected: 'a directory' }), 'With --suite: where the real traces are (scripts/traces/* build them).'),
  nasaTrace: o(text({ default: DEFAULT_NASA_TRACE, expected: 'a file path' }), 'With --suite default or tune: the NASA trace (the design member).'),
  reportSeeds: o(optional(seedRange()), 'With --suite default or held-out: the random family\'s held-out seeds, as FIRST-LAST (default 101-110). A fresh range judges a change on traces no earlier run has seen.'),
  evalModels: o(nameList('model', EVAL_MODEL_NAMES), 'With --suite: the models the eval backtest scores per trace.'),
} satisfies OptionSchema;

export type SimulateOptions = ParsedOptions<typeof SIMULATE_OPTIONS>;

/** Every option at its default, as `amadeus simulate` with no flag (and no environment) runs. */
export const simulateDefaults = (): SimulateOptions => parseOptions(SIMULATE_OPTIONS, [], {});

/** Amadeus as the options configure it: the forecaster, the planner's settings, and how reports state them. */
export function amadeusOf(o: SimulateOptions, params: Pick<SimParams, 'startupSeconds' | 'syncSeconds' | 'pollSeconds'>): SuiteAmadeus {
  const horizonMinutes = o.horizon ?? defaultSimHorizon(params);
  return {
    forecaster: { forecaster: o.forecaster, model: o.model, backend: o.tfBackend, fineTune: o.fineTune, fineTuneIntervalSeconds: o.fineTuneInterval, fineTuneHistoryMinutes: o.fineTuneHistory, fineTuneBlend: o.fineTuneBlend },
    settings: { horizonMinutes, historyMinutes: o.history, headroom: o.headroom, noiseMargin: o.noiseMargin, surgeNoiseMargin: o.surgeNoiseMargin, signals: new Set(o.signals), quantile: plannerQuantile(o.quantile), batchMinutes: o.batchMinutes },
    describe: { forecaster: o.forecaster, horizonMinutes, historyMinutes: o.history, headroom: o.headroom, quantile: o.quantile, noiseMargin: o.noiseMargin, surgeNoiseMargin: o.surgeNoiseMargin, signals: o.signals.join(',') || 'none', fineTune: o.fineTune, fineTuneBlend: o.fineTuneBlend },
  };
}
