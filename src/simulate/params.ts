/**
 * The autoscaling model of design §5, as parameters with their defaults in one place. Every one is
 * also a flag of `amadeus simulate` (see cli/options/simulate.ts).
 */

export interface SimParams {
  /** Pods the simulated span's peak needs at the target utilisation: the trace is rescaled to it. */
  peakPods: number;
  /** Requests per second one ready pod serves (μ). */
  mu: number;
  /** Seconds from a pod's creation until it serves. */
  startupSeconds: number;
  /** Simulation step, seconds. */
  tickSeconds: number;
  /** HPA sync period, seconds (a multiple of the tick). */
  syncSeconds: number;
  /** HPA tolerance: no change while |ratio − 1| ≤ tolerance. */
  tolerance: number;
  /** HPA scale-down stabilization window, seconds: scale down to the highest recommendation in it. */
  stabilizationSeconds: number;
  minReplicas: number;
  maxReplicas: number;
  /** Target utilisation of every policy's formula, and the latency baseline's. */
  targetUtilization: number;
  /** KEDA's polling interval for external metrics (keda-reactive and amadeus), seconds. */
  pollSeconds: number;
  /** Utilisation at which the queueing term is capped (ρ never reaches 1 in the formula). */
  maxRho: number;
  /** A minute violates the SLO when its worst tick's latency exceeds this × the baseline. */
  sloFactor: number;
  /** A spike minute: its 5-minute mean load exceeds this × the trailing 60-minute mean. */
  spikeRatio: number;
  /** Extra capacity the oracle provisions above the true maximum (0.05 = 5%). */
  oracleHeadroom: number;
}

export const SIM_DEFAULTS: SimParams = {
  peakPods: 20,
  mu: 20,
  startupSeconds: 90,
  tickSeconds: 15,
  syncSeconds: 15,
  tolerance: 0.1,
  stabilizationSeconds: 300,
  minReplicas: 1,
  maxReplicas: 100,
  targetUtilization: 0.8,
  pollSeconds: 30,
  maxRho: 0.95,
  sloFactor: 1.1,
  spikeRatio: 1.3,
  oracleHeadroom: 0,
};

/** Minutes of the short mean and the trailing mean that define a spike minute. */
export const SPIKE_WINDOWS = { shortMinutes: 5, trailingMinutes: 60 } as const;

/** Throws a RangeError naming the first parameter that cannot describe a cluster. */
export function checkParams(p: SimParams): void {
  const positive: (keyof SimParams)[] = ['peakPods', 'mu', 'tickSeconds', 'syncSeconds', 'pollSeconds', 'sloFactor', 'spikeRatio'];
  for (const k of positive) if (!(p[k] > 0) || !Number.isFinite(p[k])) throw new RangeError(`${k} must be a finite number > 0, got ${p[k]}`);
  const nonNegative: (keyof SimParams)[] = ['startupSeconds', 'tolerance', 'stabilizationSeconds', 'oracleHeadroom'];
  for (const k of nonNegative) if (!(p[k] >= 0) || !Number.isFinite(p[k])) throw new RangeError(`${k} must be a finite number >= 0, got ${p[k]}`);
  if (!(p.targetUtilization > 0 && p.targetUtilization < 1)) throw new RangeError(`targetUtilization must be in (0, 1), got ${p.targetUtilization}`);
  if (!(p.maxRho > p.targetUtilization && p.maxRho < 1)) throw new RangeError(`maxRho must be in (targetUtilization, 1), got ${p.maxRho}`);
  if (!Number.isInteger(p.minReplicas) || p.minReplicas < 1) throw new RangeError(`minReplicas must be an integer >= 1, got ${p.minReplicas}`);
  if (!Number.isInteger(p.maxReplicas) || p.maxReplicas < p.minReplicas) throw new RangeError(`maxReplicas must be an integer >= minReplicas, got ${p.maxReplicas}`);
  if (60 % p.tickSeconds !== 0) throw new RangeError(`tickSeconds must divide a minute, got ${p.tickSeconds}`);
  for (const k of ['syncSeconds', 'pollSeconds', 'startupSeconds', 'stabilizationSeconds'] as const) {
    if (p[k] % p.tickSeconds !== 0) throw new RangeError(`${k} (${p[k]}) must be a multiple of tickSeconds (${p.tickSeconds})`);
  }
}

/** Latency of an idle pod (one request's service time), seconds. */
export const idleLatency = (p: SimParams): number => 1 / p.mu;
/** The steady-state latency at the target utilisation: what every increase is measured against. */
export const baselineLatency = (p: SimParams): number => idleLatency(p) / (1 - p.targetUtilization);
