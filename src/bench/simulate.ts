/**
 * Simulation benchmark (design §5): how fast the simulator runs a 62-day trace per policy, and the
 * autoscaling outcome with the default settings on NASA's last 25% and on the flash-sale scenario,
 * checked against the product's goals: Amadeus p95 latency increase during spikes < 10%,
 * SLO-violation minutes ≤ 25% of hpa-cpu's, pod-hours ≤ 1.15× hpa-cpu's.
 */
import { figures, runPolicy, type Policy } from '../simulate/engine.js';
import { createSimForecaster } from '../simulate/forecaster.js';
import type { SimLoad } from '../simulate/load.js';
import { SIM_DEFAULTS } from '../simulate/params.js';
import { POLICY_NAMES, type PolicyName } from '../simulate/policies.js';
import { simulate, type SimulationResult } from '../simulate/simulate.js';
import { createGenerator } from '../sources/generator.js';
import { loadTrace, type TraceWindow } from '../sources/trace.js';
import { MINUTE_MS } from '../sources/types.js';
import { silentLogger } from '../telemetry/logger.js';
import { QUANTILES } from '../scaler/metadata.js';
import { defaultGrid, DEFAULT_GOALS } from '../simulate/tune.js';

export interface SimulateBenchOptions {
  trace: string;
  modelDir: string;
  log: (line: string) => void;
}

/** The `amadeus simulate` defaults (config/simulate.ts). */
const AMADEUS = { horizonMinutes: 3, historyMinutes: 60, headroom: 0.1, quantile: '0.9' };
type AmadeusSettings = typeof AMADEUS;
const TUNE_DAYS = 4;

async function run(
  name: string,
  trace: TraceWindow,
  split: number,
  policies: readonly PolicyName[],
  modelDir: string,
  settings: AmadeusSettings = AMADEUS,
  tuneDays = 0,
): Promise<{ result: SimulationResult; seconds: number }> {
  let now = trace.start;
  const forecaster = () =>
    createSimForecaster({ forecaster: 'auto', model: modelDir, backend: 'auto', fineTune: false, fineTuneIntervalMinutes: 360, fineTuneHistoryMinutes: 2880, log: silentLogger, clock: () => now });
  const model = policies.includes('amadeus') ? await forecaster() : null;
  const tuneModel = model && tuneDays > 0 ? await forecaster() : null;
  const started = performance.now();
  try {
    const result = await simulate({
      name,
      trace,
      split,
      params: SIM_DEFAULTS,
      policies,
      amadeus: model
        ? {
            forecaster: model.forecaster,
            ...settings,
            setClock: (t) => (now = t),
            describe: { forecaster: 'auto', ...settings },
            tune: tuneModel ? { minutes: tuneDays * 1440, forecaster: tuneModel.forecaster, grid: defaultGrid(QUANTILES), goals: DEFAULT_GOALS } : undefined,
          }
        : undefined,
    });
    return { result, seconds: (performance.now() - started) / 1000 };
  } finally {
    await model?.close();
    await tuneModel?.close();
  }
}

/**
 * What the HPA's scale-down stabilization adds to Amadeus's cost: the mean of its plan in pods at
 * the target utilisation, against the mean of that plan's maximum over the window (what the HPA
 * holds on to) and the pods the run actually kept.
 */
function stabilizationCost(r: SimulationResult) {
  const planned = r.plans?.planned;
  if (!planned) return null;
  const p = r.params;
  const perPod = p.mu * p.targetUtilization;
  const window = Math.round(p.stabilizationSeconds / 60);
  let plan = 0;
  let held = 0;
  let n = 0;
  for (let i = 0; i < planned.length; i++) {
    if (Number.isNaN(planned[i]!)) continue;
    let max = 0;
    for (let k = Math.max(0, i - window); k <= i; k++) if (planned[k]! > max) max = planned[k]!;
    plan += planned[i]!;
    held += max;
    n++;
  }
  const run = r.runs.find((x) => x.name === 'amadeus')!;
  const round = (x: number) => Math.round(x * 100) / 100;
  return { meanPlanPods: round(plan / n / perPod), meanWindowMaxPods: round(held / n / perPod), meanPods: round(run.podSeconds / (r.minutes * 60)) };
}

function outcome(r: SimulationResult) {
  const by = (n: string) => r.policies.find((p) => p.name === n)!;
  const hpa = by('hpa-cpu');
  const amadeus = by('amadeus');
  const oracle = by('oracle');
  const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
  return {
    minutes: r.minutes,
    spikeMinutes: r.spikeMinutes,
    policies: r.policies,
    goals: {
      p95Below10Pct: amadeus.p95LatencyIncreasePct < 10,
      sloRatioToHpa: ratio(amadeus.sloViolationMinutes, hpa.sloViolationMinutes),
      sloAtMostQuarter: amadeus.sloViolationMinutes <= 0.25 * hpa.sloViolationMinutes,
      podHoursRatioToHpa: ratio(amadeus.podHours, hpa.podHours),
      podHoursAtMost115: amadeus.podHours <= 1.15 * hpa.podHours,
    },
    amadeusStabilization: stabilizationCost(r),
    gapToOracle: {
      p95Points: Math.round((amadeus.p95LatencyIncreasePct - oracle.p95LatencyIncreasePct) * 10) / 10,
      podHoursRatio: ratio(amadeus.podHours, oracle.podHours),
    },
  };
}

/**
 * What no forecaster of the smooth level can beat: the load's centred mean over ±w minutes — the
 * *future* level, known exactly — times c. If even this needs more pod-hours than a goal allows,
 * the goal needs the minute-scale bursts themselves predicted.
 */
function levelBound(load: SimLoad, hpaPodHours: number, w: number, factors: readonly number[]) {
  const centred = Float64Array.from(load.rate, (_, i) => {
    let sum = 0;
    let n = 0;
    for (let j = Math.max(0, i - w); j <= Math.min(load.rate.length - 1, i + w); j++, n++) sum += load.rate[j]!;
    return sum / n;
  });
  return factors.map((c) => {
    const policy: Policy = { name: `level±${w}×${c}`, kind: 'external', pollSeconds: SIM_DEFAULTS.pollSeconds, metric: ({ minute }) => c * centred[minute]! };
    const f = figures(load, runPolicy(load, policy, SIM_DEFAULTS), SIM_DEFAULTS);
    return { ...f, podHoursRatioToHpa: Math.round((f.podHours / hpaPodHours) * 1000) / 1000 };
  });
}

/** Amadeus's latency/cost trade-off over its two provisioning knobs. */
async function frontier(name: string, trace: TraceWindow, modelDir: string, log: (l: string) => void) {
  const rows = [];
  for (const quantile of ['0.8', '0.9', '0.95']) {
    for (const headroom of [0, 0.1]) {
      const { result } = await run(name, trace, 0.75, ['amadeus'], modelDir, { ...AMADEUS, quantile, headroom });
      const a = result.policies[0]!;
      rows.push({ quantile, headroom, p95LatencyIncreasePct: a.p95LatencyIncreasePct, sloViolationMinutes: a.sloViolationMinutes, podHours: a.podHours });
      log(`  ${name} quantile ${quantile} headroom ${headroom}: p95 ${a.p95LatencyIncreasePct}%, ${a.podHours} pod-hours`);
    }
  }
  return rows;
}

export async function runSimulateBench(o: SimulateBenchOptions) {
  const nasa = loadTrace(o.trace);
  o.log(`speed: each policy over the whole ${Math.round(nasa.requests.length / 1440)}-day NASA trace…`);
  const speed: Record<string, number> = {};
  for (const p of POLICY_NAMES) {
    const { seconds } = await run('nasa', nasa, 0, [p], o.modelDir);
    speed[p] = Math.round(seconds * 100) / 100;
    o.log(`  ${p}: ${speed[p]} s`);
  }

  o.log('outcome: NASA, last 25%…');
  const nasaRun = (await run('nasa', nasa, 0.75, POLICY_NAMES, o.modelDir)).result;
  const onNasa = outcome(nasaRun);
  const hpaPodHours = nasaRun.policies.find((p) => p.name === 'hpa-cpu')!.podHours;
  o.log('bound: the exact future level (centred mean) × c, on NASA…');
  const bound = [...levelBound(nasaRun.load, hpaPodHours, 2, [1.4, 1.5, 1.6]), ...levelBound(nasaRun.load, hpaPodHours, 5, [1.5, 1.6, 1.7])];
  o.log('outcome: flash-sale scenario, 28 days, last 25%…');
  const g = createGenerator({ scenario: 'flash-sale', seed: 1 });
  const start = Date.UTC(2025, 0, 6);
  const flash: TraceWindow = { start, utcOffsetMinutes: 0, requests: Array.from({ length: 28 * 1440 }, (_, i) => g.requests(start + i * MINUTE_MS)) };
  const onFlash = outcome((await run('flash-sale', flash, 0.75, POLICY_NAMES, o.modelDir)).result);
  // `simulate --tune`: quantile and headroom chosen on the 4 days before each span (on NASA, inside
  // the validation tail the model was not trained on), then the span simulated with them.
  o.log('tuned: quantile × headroom chosen on the 4 days before the span…');
  const tunedOutcome = async (name: string, trace: TraceWindow) => {
    const { result } = await run(name, trace, 0.75, POLICY_NAMES, o.modelDir, AMADEUS, TUNE_DAYS);
    const { chosen, met, minutes } = result.tuning!;
    o.log(`  ${name}: chose quantile ${chosen.quantile} headroom ${chosen.headroom} (goals met on the tuning days: ${met})`);
    return { tuning: { days: minutes / 1440, chosen, metOnTuningDays: met }, ...outcome(result) };
  };
  const tuned = { nasa: await tunedOutcome('nasa', nasa), flashSale: await tunedOutcome('flash-sale', flash) };
  o.log('frontier: quantile × headroom…');
  const trade = { nasa: await frontier('nasa', nasa, o.modelDir, o.log), flashSale: await frontier('flash-sale', flash, o.modelDir, o.log) };
  return { settings: { ...SIM_DEFAULTS, amadeus: { forecaster: 'auto', ...AMADEUS } }, secondsPerPolicy62Days: speed, nasa: onNasa, flashSale: onFlash, nasaLevelBound: bound, tuned, frontier: trade };
}
