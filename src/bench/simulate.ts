/**
 * Simulator speed: each policy over the whole 62-day NASA trace, with `amadeus simulate`'s defaults
 * (the amadeus policy runs the real forecaster — the LSTM behind the gate — and planner minute by
 * minute). The autoscaling outcomes themselves are the trace suite's (bench/suite.ts): one trace
 * proves little, and the figures that count are those of held-out traces.
 */
import { amadeusOf, simulateDefaults } from '../cli/options/simulate.js';
import { createSimForecaster } from '../simulate/forecaster.js';
import { SIM_DEFAULTS } from '../simulate/params.js';
import { POLICY_NAMES } from '../simulate/policies.js';
import { simulate } from '../simulate/simulate.js';
import { loadTrace } from '../sources/trace.js';
import { silentLogger } from '../telemetry/logger.js';

export interface SimulateBenchOptions {
  trace: string;
  modelDir: string;
  log: (line: string) => void;
}

export async function runSimulateBench(o: SimulateBenchOptions) {
  const trace = loadTrace(o.trace);
  const amadeus = amadeusOf({ ...simulateDefaults(), model: o.modelDir }, SIM_DEFAULTS);
  o.log(`speed: each policy over the whole ${Math.round(trace.requests.length / 1440)}-day NASA trace (amadeus: fine-tuning ${amadeus.forecaster.fineTune ? 'on' : 'off'})…`);
  const secondsPerPolicy: Record<string, number> = {};
  for (const policy of POLICY_NAMES) {
    let now = trace.start;
    const model = policy === 'amadeus' ? await createSimForecaster({ ...amadeus.forecaster, log: silentLogger, clock: () => now }) : null;
    const started = performance.now();
    try {
      await simulate({
        name: 'nasa',
        trace,
        split: 0,
        params: SIM_DEFAULTS,
        policies: [policy],
        amadeus: model ? { forecaster: model.forecaster, ...amadeus.settings, setClock: (t) => (now = t), describe: amadeus.describe } : undefined,
      });
    } finally {
      await model?.close();
    }
    secondsPerPolicy[policy] = Math.round((performance.now() - started) / 10) / 100;
    o.log(`  ${policy}: ${secondsPerPolicy[policy]} s`);
  }
  return { minutes: trace.requests.length, settings: amadeus.describe, secondsPerPolicy };
}
