/**
 * One Deployment under one scaling policy, tick by tick (design §5). Pure, deterministic and
 * synchronous: the policies see the load only through `SyncContext` and their own inputs, and the
 * HPA mechanics (sync, tolerance, stabilization, replica bounds) are the same for all of them.
 */
import { percentile } from '../series/percentile.js';
import { baselineLatency, checkParams, idleLatency, type SimParams } from './params.js';
import type { SimLoad } from './load.js';

/** What a policy may look at when the HPA asks it for its metric. */
export interface SyncContext {
  /** Seconds since the span's start. */
  time: number;
  /** The span minute `time` falls in. */
  minute: number;
  /** Request rate now (req/s). */
  load: number;
  ready: number;
  replicas: number;
}

export interface Policy {
  name: string;
  /**
   * `cpu`: the metric is the ready pods' utilisation (0..1, saturating), scaled as the HPA scales a
   * resource metric. `external`: the metric is a total load (req/s) with a per-pod target of
   * targetUtilization × μ, as KEDA's external metrics are.
   */
  kind: 'cpu' | 'external';
  /** How often the HPA's view of the metric is refreshed, seconds (KEDA's polling interval); default: every sync. */
  pollSeconds?: number;
  /** Null: no metric (none known yet), so the HPA keeps the replicas it has, as Kubernetes does. */
  metric(ctx: SyncContext): number | null;
}

export interface PolicyRun {
  name: string;
  tickSeconds: number;
  /** Latency per tick, seconds. */
  latency: Float64Array;
  /** Pods per tick (ready + starting). */
  replicas: Uint16Array;
  /** Ready pods per tick. */
  ready: Uint16Array;
  /** The metric the HPA last saw, per tick (req/s for external policies, utilisation for cpu). */
  metric: Float64Array;
  /** Syncs that changed the replica count. */
  scaleEvents: number;
  /** Pod-seconds, ready and starting. */
  podSeconds: number;
}

/** Pods of one Deployment, as the times they become (or became) ready, in creation order. */
export class Pods {
  private readyAt: number[] = [];

  constructor(initial: number) {
    for (let i = 0; i < initial; i++) this.readyAt.push(-Infinity);
  }

  get count(): number {
    return this.readyAt.length;
  }

  readyCount(time: number): number {
    let n = 0;
    for (const t of this.readyAt) if (t <= time) n++;
    return n;
  }

  /** Adds or removes pods; on scale-in, pods still starting go first (the newest first), then ready ones. */
  scaleTo(replicas: number, time: number, startupSeconds: number): void {
    while (this.readyAt.length < replicas) this.readyAt.push(time + startupSeconds);
    if (this.readyAt.length <= replicas) return;
    // Ascending readiness: the last ones are those starting latest.
    this.readyAt.sort((a, b) => a - b);
    this.readyAt.length = replicas;
  }
}

/**
 * The HPA's replica recommendation from one metric reading (Kubernetes' formula, tolerance
 * included), before stabilization and bounds.
 */
export function recommend(kind: Policy['kind'], metric: number, replicas: number, ready: number, p: SimParams): number {
  if (kind === 'cpu') {
    const ratio = metric / p.targetUtilization;
    if (Math.abs(ratio - 1) <= p.tolerance) return replicas;
    return Math.ceil(ready * ratio);
  }
  const target = p.targetUtilization * p.mu;
  const ratio = metric / (target * replicas);
  if (Math.abs(ratio - 1) <= p.tolerance) return replicas;
  return Math.ceil(metric / target);
}

/**
 * autoscaling/v2's default behaviour: scale up to the recommendation at once; scale down only to
 * the highest recommendation of the stabilization window, so a dip does not shed pods a returning
 * load needs.
 */
export class Stabilizer {
  private readonly history: { time: number; replicas: number }[] = [];

  constructor(private readonly windowSeconds: number) {}

  next(recommendation: number, current: number, time: number): number {
    this.history.push({ time, replicas: recommendation });
    while (this.history.length > 0 && this.history[0]!.time <= time - this.windowSeconds) this.history.shift();
    let highest = recommendation;
    for (const h of this.history) if (h.replicas > highest) highest = h.replicas;
    if (recommendation > current) return recommendation;
    if (highest < current) return highest;
    return current;
  }
}

const clamp = (n: number, p: SimParams) => Math.min(p.maxReplicas, Math.max(p.minReplicas, n));

/** The cluster starts settled on the first minute's load: every policy starts equal. */
export function initialReplicas(load: SimLoad, p: SimParams): number {
  return clamp(Math.ceil(load.rate[0]! / (p.targetUtilization * p.mu)), p);
}

export function runPolicy(load: SimLoad, policy: Policy, p: SimParams): PolicyRun {
  checkParams(p);
  const ticksPerMinute = 60 / p.tickSeconds;
  const ticks = load.rate.length * ticksPerMinute;
  const latency = new Float64Array(ticks);
  const replicas = new Uint16Array(ticks);
  const readyOut = new Uint16Array(ticks);
  const metricOut = new Float64Array(ticks);
  const l0 = idleLatency(p);
  const pods = new Pods(initialReplicas(load, p));
  const stabilizer = new Stabilizer(p.stabilizationSeconds);
  const poll = policy.pollSeconds ?? p.syncSeconds;
  let metric: number | null = null;
  let polled = false;
  let backlog = 0;
  let scaleEvents = 0;
  let podSeconds = 0;

  for (let i = 0; i < ticks; i++) {
    const time = i * p.tickSeconds;
    const minute = Math.floor(i / ticksPerMinute);
    const rate = load.rate[minute]!;
    if (time % p.syncSeconds === 0) {
      const ready = pods.readyCount(time);
      const ctx: SyncContext = { time, minute, load: rate, ready, replicas: pods.count };
      // A cpu metric is read at every sync; an external one only when KEDA polls.
      if (policy.kind === 'cpu' || time % poll === 0 || !polled) {
        metric = policy.metric(ctx);
        polled = true;
      }
      if (metric !== null && !(Number.isFinite(metric) && metric >= 0)) throw new Error(`${policy.name}: metric ${metric} at ${time} s`);
      const current = pods.count;
      const wanted = metric === null ? current : clamp(stabilizer.next(clamp(recommend(policy.kind, metric, current, ready, p), p), current, time), p);
      if (wanted !== current) {
        pods.scaleTo(wanted, time, p.startupSeconds);
        scaleEvents++;
      }
    }
    const ready = pods.readyCount(time);
    const capacity = ready * p.mu;
    backlog = Math.max(0, backlog + (rate - capacity) * p.tickSeconds);
    if (capacity > 0) {
      const rho = Math.min(rate / capacity, p.maxRho);
      latency[i] = l0 / (1 - rho) + backlog / capacity;
    } else {
      // No pod serves: everything waits for the first one.
      latency[i] = l0 / (1 - p.maxRho) + backlog / p.mu;
    }
    replicas[i] = pods.count;
    readyOut[i] = ready;
    metricOut[i] = metric ?? NaN;
    podSeconds += pods.count * p.tickSeconds;
  }
  return { name: policy.name, tickSeconds: p.tickSeconds, latency, replicas, ready: readyOut, metric: metricOut, scaleEvents, podSeconds };
}

/** The figures of design §5 for one run. */
export interface PolicyFigures {
  name: string;
  p95LatencyIncreasePct: number;
  p99LatencyIncreasePct: number;
  sloViolationMinutes: number;
  podHours: number;
  scaleEvents: number;
}

export function figures(load: SimLoad, run: PolicyRun, p: SimParams): PolicyFigures {
  const baseline = baselineLatency(p);
  const perMinute = 60 / run.tickSeconds;
  const spikeTicks: number[] = [];
  let slo = 0;
  for (let m = 0; m < load.rate.length; m++) {
    if (load.observed[m] !== 1) continue;
    let worst = 0;
    for (let k = 0; k < perMinute; k++) {
      const l = run.latency[m * perMinute + k]!;
      if (l > worst) worst = l;
      if (load.spike[m] === 1) spikeTicks.push(l);
    }
    if (worst > p.sloFactor * baseline) slo++;
  }
  spikeTicks.sort((a, b) => a - b);
  const increase = (q: number) => (spikeTicks.length === 0 ? 0 : (percentile(spikeTicks, q) / baseline - 1) * 100);
  return {
    name: run.name,
    p95LatencyIncreasePct: round(increase(0.95), 2),
    p99LatencyIncreasePct: round(increase(0.99), 2),
    sloViolationMinutes: slo,
    podHours: round(run.podSeconds / 3600, 2),
    scaleEvents: run.scaleEvents,
  };
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
