/**
 * Runs the trace suite: per member, the simulation of every policy (Amadeus with one set of
 * settings for all members, as `amadeus simulate` runs it), the oracle with 5% headroom, naive's
 * cost–latency curve, the eval backtest, and the bar judged on them. A member that fails is
 * reported with its error; the others still run.
 */
import { backtest, DEFAULT_HORIZON } from '../eval/backtest.js';
import { loadModels } from '../eval/models.js';
import { findOrigins, firstEvaluatedMinute } from '../eval/origins.js';
import type { ModelScore } from '../eval/types.js';
import type { Trace } from '../sources/trace.js';
import type { Logger } from '../telemetry/logger.js';
import { formatDuration, type Progress } from '../telemetry/progress.js';
import type { AmadeusConfig } from './amadeus.js';
import { figures, runPolicy, type Policy, type PolicyFigures } from './engine.js';
import { createSimForecaster, type SimForecasterOptions } from './forecaster.js';
import type { SimLoad } from './load.js';
import type { SimParams } from './params.js';
import { meanOracleCurve, POISSON_LAW, type MeanOraclePoint } from './mean-oracle.js';
import { naive, oracle, type PolicyName } from './policies.js';
import { PLANNER_DEFAULTS } from '../plan/defaults.js';
import { createGenerator } from '../sources/generator.js';
import { MINUTE_MS } from '../series/minute.js';
import { simulate, type PolicyResult } from './simulate.js';
import { memberTrace, type MissingTrace, type Suite, type SuiteMember } from './suite.js';
import { BAR, judgeBar, NAIVE_FACTORS, type Bar, type NaivePoint } from './suite-bar.js';

/** Amadeus as every member runs it: one forecaster configuration, one planner setting. */
export interface SuiteAmadeus {
  forecaster: Omit<SimForecasterOptions, 'clock' | 'log'>;
  settings: Omit<AmadeusConfig, 'forecaster' | 'setClock' | 'onProgress'>;
  /** The settings as the report states them. */
  describe: Record<string, string | number | boolean | null>;
}

export interface SuiteRunOptions {
  params: SimParams;
  /** Share of each trace before the simulated (and evaluated) span. */
  split: number;
  policies: readonly PolicyName[];
  amadeus: SuiteAmadeus;
  /** Eval models (`amadeus eval` names); none: no backtest. */
  evalModels: readonly string[];
  naiveFactors?: readonly number[];
  /** The forecasters' logger. */
  log: Logger;
  /** One line per step, for stderr. */
  note?: (line: string) => void;
  /** A progress bar for the long steps (the Amadeus pass, the backtest). */
  progress?: (label: string) => Progress;
}

/** The backtest's scores; or why there are none (the simulation's figures stand either way). */
export type MemberEval = { horizon: number; origins: number; models: ModelScore[] } | { skipped: string } | { failed: string };

export interface MemberResult {
  member: SuiteMember;
  start: string;
  minutes: number;
  spikeMinutes: number;
  policies: PolicyResult[];
  /** The oracle with BAR.oracleHeadroom, which decides whether the p95 goal applies. */
  oracle5: PolicyFigures;
  naiveCurve: NaivePoint[];
  /** Generated traces only: the mean-knowing oracle's curve over its quantiles (mean-oracle.ts); null for files. */
  meanOracle: MeanOraclePoint[] | null;
  eval: MemberEval | null;
  bar: Bar;
  seconds: { simulate: number; eval: number };
}

export interface MemberFailure {
  member: SuiteMember;
  error: string;
}

export interface SuiteReport {
  suite: string;
  params: SimParams;
  split: number;
  /** Null when the amadeus policy did not run. */
  amadeus: SuiteAmadeus['describe'] | null;
  policies: readonly PolicyName[];
  evalModels: readonly string[];
  members: (MemberResult | MemberFailure)[];
  missing: MissingTrace[];
  seconds: number;
}

export const isFailure = (r: MemberResult | MemberFailure): r is MemberFailure => 'error' in r;

const HEARTBEAT_MS = 30_000;
const seconds = (since: number) => Math.round((performance.now() - since) / 100) / 10;

/** A policy's figures on a span whose load is built, under `params`. */
const figuresOn = (load: SimLoad, params: SimParams, policy: Policy) => figures(load, runPolicy(load, policy, params), params);

/** Naive's cost–latency curve on a span: its figures at each factor. */
export function naiveCurve(load: SimLoad, params: SimParams, factors: readonly number[] = NAIVE_FACTORS): NaivePoint[] {
  return factors.map((factor) => {
    const f = figuresOn(load, params, naive(load, params, factor));
    return { factor, p95LatencyIncreasePct: f.p95LatencyIncreasePct, sloViolationMinutes: f.sloViolationMinutes, podHours: f.podHours };
  });
}

async function evaluate(member: SuiteMember, trace: Trace, o: SuiteRunOptions): Promise<MemberEval | null> {
  if (o.evalModels.length === 0) return null;
  const horizon = DEFAULT_HORIZON;
  if (findOrigins(trace.requests, { horizon, split: o.split }).length === 0) return { skipped: `no origin with 60 observed minutes before it and ${horizon} after it` };
  o.note?.(`  eval ${member.name}: loading ${o.evalModels.join(', ')}${o.evalModels.includes('lstm-finetuned') ? ' (lstm-finetuned fine-tunes on the trace before the span first)' : ''}…`);
  // Fine-tuning (minutes on a long trace) reports nothing until it ends: say that it is still going.
  const loading = performance.now();
  const beat = setInterval(() => o.note?.(`  eval ${member.name}: still loading the models, ${formatDuration(performance.now() - loading)} so far`), HEARTBEAT_MS);
  const models = await loadModels(o.evalModels, { trace, horizon, evalStart: firstEvaluatedMinute(trace.requests.length, o.split), modelDir: o.amadeus.forecaster.model, fineTuneBlend: o.amadeus.forecaster.fineTuneBlend === true, log: (l) => o.note?.(`  ${l}`) }).finally(() =>
    clearInterval(beat),
  );
  const bar = o.progress?.(`eval ${member.name}`);
  try {
    const r = await backtest(trace, models, { horizon, split: o.split, onProgress: (d, t) => bar?.update(d, t) });
    return { horizon, origins: r.origins, models: r.models };
  } finally {
    bar?.finish();
  }
}

/**
 * For a generated member, the mean-knowing oracle's curve: the generator's noise-free rate over the
 * span, at the load's scale, and its noise law; with the run's planner headroom.
 */
export function meanOracleOf(member: SuiteMember, load: SimLoad, params: SimParams, headroom: number = PLANNER_DEFAULTS.headroom): MeanOraclePoint[] | null {
  const s = member.source;
  if (s.kind !== 'generator') return null;
  const g = createGenerator({ scenario: s.scenario, seed: s.seed, utcOffsetMinutes: load.utcOffsetMinutes });
  const mean = Float64Array.from(load.rate, (_, i) => g.meanRate(load.start + i * MINUTE_MS) * load.scale);
  return meanOracleCurve(load, mean, g.params?.noise ?? POISSON_LAW, params, headroom, (policy) => figuresOn(load, params, policy));
}

export async function runMember(member: SuiteMember, o: SuiteRunOptions): Promise<MemberResult> {
  const trace = memberTrace(member);
  const { params } = o;
  const simStarted = performance.now();
  let now = trace.start;
  const model = o.policies.includes('amadeus') ? await createSimForecaster({ ...o.amadeus.forecaster, log: o.log, clock: () => now }) : null;
  const bar = model ? o.progress?.(`simulate ${member.name}`) : undefined;
  let result;
  try {
    result = await simulate({
      name: member.name,
      trace,
      split: o.split,
      params,
      policies: o.policies,
      amadeus: model ? { forecaster: model.forecaster, ...o.amadeus.settings, setClock: (t) => (now = t), describe: o.amadeus.describe } : undefined,
      onProgress: (d, t) => bar?.update(d, t),
    });
  } finally {
    bar?.finish();
    await model?.close();
  }
  const withHeadroom = { ...params, oracleHeadroom: BAR.oracleHeadroom };
  const oracle5 = { ...figuresOn(result.load, withHeadroom, oracle(result.load, withHeadroom)), name: `oracle+${BAR.oracleHeadroom * 100}%` };
  const curve = naiveCurve(result.load, params, o.naiveFactors);
  const meanOracle = meanOracleOf(member, result.load, params, o.amadeus.settings.headroom);
  const simulateSeconds = seconds(simStarted);

  const evalStarted = performance.now();
  const scores = await evaluate(member, trace, o).catch((err: unknown): MemberEval => {
    const failed = err instanceof Error ? err.message : String(err);
    o.note?.(`  eval ${member.name} failed: ${failed}`);
    return { failed };
  });
  const by = (name: string) => result.policies.find((p) => p.name === name);
  return {
    member,
    start: new Date(result.start).toISOString(),
    minutes: result.minutes,
    spikeMinutes: result.spikeMinutes,
    policies: result.policies,
    oracle5,
    naiveCurve: curve,
    meanOracle,
    eval: scores,
    bar: judgeBar({ spikeMinutes: result.spikeMinutes, amadeus: by('amadeus'), hpaCpu: by('hpa-cpu'), oracle5, naiveCurve: curve, eval: scores && 'models' in scores ? scores.models : null }),
    seconds: { simulate: simulateSeconds, eval: seconds(evalStarted) },
  };
}

export async function runSuite(suite: Suite, o: SuiteRunOptions): Promise<SuiteReport> {
  const started = performance.now();
  const members: SuiteReport['members'] = [];
  for (const [i, member] of suite.members.entries()) {
    o.note?.(`suite ${suite.name}: ${i + 1}/${suite.members.length} ${member.name} (${member.role})`);
    try {
      const r = await runMember(member, o);
      members.push(r);
      o.note?.(`  ${member.name}: simulated in ${r.seconds.simulate} s, evaluated in ${r.seconds.eval} s; bar: ${r.bar.verdict}`);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      members.push({ member, error });
      o.note?.(`  ${member.name}: failed: ${error}`);
    }
  }
  for (const m of suite.missing) o.note?.(`suite ${suite.name}: missing ${m.name} (${m.path})${m.rebuild ? `: rebuild it with ${m.rebuild}` : ''}`);
  return {
    suite: suite.name,
    params: o.params,
    split: o.split,
    amadeus: o.policies.includes('amadeus') ? o.amadeus.describe : null,
    policies: o.policies,
    evalModels: o.evalModels,
    members,
    missing: suite.missing,
    seconds: seconds(started),
  };
}
