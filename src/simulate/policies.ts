/**
 * The compared scaling policies of design §5. Each one is only the metric the HPA scales on; the
 * mechanics are the engine's, shared by all.
 */
import type { Policy } from './engine.js';
import type { SimLoad } from './load.js';
import type { SimParams } from './params.js';

export const POLICY_NAMES = ['hpa-cpu', 'keda-reactive', 'naive', 'amadeus', 'oracle'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/** CPU utilisation of the ready pods; it saturates at 1, so the HPA cannot see demand beyond capacity. */
export function hpaCpu(p: SimParams): Policy {
  return { name: 'hpa-cpu', kind: 'cpu', metric: ({ load, ready }) => (ready === 0 ? 1 : Math.min(load / (ready * p.mu), 1)) };
}

/** KEDA on the current request rate, read at each poll. */
export function kedaReactive(p: SimParams): Policy {
  return { name: 'keda-reactive', kind: 'external', pollSeconds: p.pollSeconds, metric: ({ load }) => load };
}

/** The yardstick for "a forecaster earns its keep": `max(current, mean of the last 30 min) × 1.3`. */
export const NAIVE = { meanMinutes: 30, factor: 1.3 } as const;

/**
 * A predictive-looking planner without a model: provisions 30% above the larger of the current rate
 * and the last half hour's mean. Amadeus must match its latency at lower cost. `factor` replaces the
 * 1.3, to trace the naive planner's own latency/cost curve.
 */
export function naive(load: SimLoad, p: SimParams, factor: number = NAIVE.factor): Policy {
  return {
    name: 'naive',
    kind: 'external',
    pollSeconds: p.pollSeconds,
    metric: ({ minute, load: now }) => {
      const from = Math.max(0, minute - NAIVE.meanMinutes);
      let sum = 0;
      for (let m = from; m < minute; m++) sum += load.rate[m]!;
      const mean = minute > from ? sum / (minute - from) : now;
      return Math.max(now, mean) * factor;
    },
  };
}

/**
 * The true maximum load over the next start-up delay + sync period (what a pod started now will
 * face once ready), plus `oracleHeadroom`. It reads the future: it is the bound, not a policy.
 */
export function oracle(load: SimLoad, p: SimParams): Policy {
  const window = p.startupSeconds + p.syncSeconds;
  return {
    name: 'oracle',
    kind: 'external',
    metric: ({ time }) => {
      const first = Math.floor(time / 60);
      // The last minute whose rate is in force at some instant of [time, time + window).
      const last = Math.min(load.rate.length - 1, Math.ceil((time + window) / 60) - 1);
      let max = 0;
      for (let m = first; m <= last; m++) max = Math.max(max, load.rate[m]!);
      return max * (1 + p.oracleHeadroom);
    },
  };
}

/**
 * Amadeus as KEDA sees it: at each poll, the planned value for the current minute — made by the real
 * forecaster and planner from the minutes before it only (see amadeus.ts), in req/s.
 */
export function amadeus(planned: Float64Array, p: SimParams): Policy {
  return {
    name: 'amadeus',
    kind: 'external',
    pollSeconds: p.pollSeconds,
    metric: ({ minute }) => (Number.isNaN(planned[minute]) ? null : planned[minute]!),
  };
}
