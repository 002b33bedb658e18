/**
 * Simulation benchmark (design §5): how fast the simulator runs a 62-day trace per policy, and the
 * autoscaling outcome with the default settings on NASA's last 25% and on the flash-sale scenario,
 * checked against the product's goals: Amadeus p95 latency increase during spikes < 10%,
 * SLO-violation minutes ≤ 25% of hpa-cpu's, pod-hours ≤ 1.15× hpa-cpu's.
 */
import { createSimForecaster } from '../simulate/forecaster.js';
import { SIM_DEFAULTS } from '../simulate/params.js';
import { POLICY_NAMES, type PolicyName } from '../simulate/policies.js';
import { simulate, type SimulationResult } from '../simulate/simulate.js';
import { createGenerator } from '../sources/generator.js';
import { loadTrace } from '../sources/trace.js';
import { MINUTE_MS } from '../sources/types.js';
import { silentLogger } from '../telemetry/logger.js';
import type { PlannerTrace } from '../simulate/amadeus.js';

export interface SimulateBenchOptions {
  trace: string;
  modelDir: string;
  log: (line: string) => void;
}

/** The `amadeus simulate` defaults (config/simulate.ts). */
const AMADEUS = { horizonMinutes: 3, historyMinutes: 60, headroom: 0.1, quantile: '0.9' };

async function run(name: string, trace: PlannerTrace, split: number, policies: readonly PolicyName[], modelDir: string): Promise<{ result: SimulationResult; seconds: number }> {
  let now = trace.start;
  const model = policies.includes('amadeus')
    ? await createSimForecaster({ forecaster: 'auto', model: modelDir, backend: 'auto', fineTune: false, fineTuneIntervalMinutes: 360, fineTuneHistoryMinutes: 2880, log: silentLogger, clock: () => now })
    : null;
  const started = performance.now();
  try {
    const result = await simulate({
      name,
      trace,
      split,
      params: SIM_DEFAULTS,
      policies,
      amadeus: model ? { forecaster: model.forecaster, ...AMADEUS, setClock: (t) => (now = t), describe: { forecaster: 'auto', ...AMADEUS } } : undefined,
    });
    return { result, seconds: (performance.now() - started) / 1000 };
  } finally {
    await model?.close();
  }
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
    gapToOracle: {
      p95Points: Math.round((amadeus.p95LatencyIncreasePct - oracle.p95LatencyIncreasePct) * 10) / 10,
      podHoursRatio: ratio(amadeus.podHours, oracle.podHours),
    },
  };
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
  const onNasa = outcome((await run('nasa', nasa, 0.75, POLICY_NAMES, o.modelDir)).result);
  o.log('outcome: flash-sale scenario, 28 days, last 25%…');
  const g = createGenerator({ scenario: 'flash-sale', seed: 1 });
  const start = Date.UTC(2025, 0, 6);
  const flash: PlannerTrace = { start, utcOffsetMinutes: 0, requests: Array.from({ length: 28 * 1440 }, (_, i) => g.requests(start + i * MINUTE_MS)) };
  const onFlash = outcome((await run('flash-sale', flash, 0.75, POLICY_NAMES, o.modelDir)).result);
  return { settings: { ...SIM_DEFAULTS, amadeus: { forecaster: 'auto', ...AMADEUS } }, secondsPerPolicy62Days: speed, nasa: onNasa, flashSale: onFlash };
}
