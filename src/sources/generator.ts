import { normal, uniform } from './hash.js';
import { MINUTE_MS } from './types.js';

/**
 * A deterministic synthetic workload, random-access: the value of any minute depends only on
 * (options, minute), never on which minutes were computed before, so replays at any speed, from any
 * start, and from many workloads at once all agree.
 */

export const SCENARIOS = ['daily', 'flash-sale'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export function isScenario(s: string): s is Scenario {
  return (SCENARIOS as readonly string[]).includes(s);
}

export interface GeneratorOptions {
  /** `daily` (default) or `flash-sale`. */
  scenario?: Scenario;
  /** Integer (its low 32 bits are used); different seeds give different noise and surges. Default 1. */
  seed?: number;
  /** Weekday peak of the daily cycle, requests per second (before noise, sale and surges). Default 100. */
  peakRate?: number;
  /** Offset of local time from UTC, minutes: the cycle, weekends and the noon sale follow local time. Default 0. */
  utcOffsetMinutes?: number;
}

export interface Generator {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly peakRate: number;
  readonly utcOffsetMinutes: number;
  /** Expected request rate (req/s) in the minute containing `t` (epoch ms), without per-minute noise. */
  meanRate(t: number): number;
  /** Observed request rate (req/s) in the minute containing `t`: the mean with Poisson-like noise. */
  requests(t: number): number;
  /** CPU (cores) in that minute for a given request rate: idle + per-request cost, with a little noise. */
  cpu(t: number, requestsPerSecond: number): number;
  /** Memory (bytes) in that minute for a given request rate: base + working set per request in flight. */
  memory(t: number, requestsPerSecond: number): number;
}

/** Shape constants, in one place. */
export const DAILY = {
  /** Trough ÷ peak of the daily cycle. */
  troughRatio: 0.25,
  /** Local hour of the peak (afternoon); the trough is 12 h earlier. */
  peakHour: 15,
  /** Weekend level ÷ weekday level. */
  weekendRatio: 0.6,
} as const;

export const FLASH_SALE = {
  /** Local minute of day the sale starts (12:00), weekdays only. */
  startMinute: 12 * 60,
  rampMinutes: 5,
  holdMinutes: 30,
  decayMinutes: 15,
  /** Multiplier on the daily level while the sale holds. */
  peakFactor: 3,
} as const;

export const SURGE = {
  /** Chance that a surge starts in a given hour (≈ 3 a day). */
  probabilityPerHour: 0.125,
  minMinutes: 10,
  maxMinutes: 40,
  minFactor: 1.5,
  maxFactor: 2.5,
  /** Surges rise and fall over a few minutes rather than stepping. */
  edgeMinutes: 3,
} as const;

export const RESOURCES = {
  /** Cores used with no traffic. */
  idleCores: 0.05,
  /** CPU seconds per request, so cores = idle + rate × this. */
  coreSecondsPerRequest: 0.005,
  cpuNoise: 0.03,
  /** Resident memory with no traffic. */
  baseBytes: 256 * 1024 * 1024,
  /** Working set per request/s of load (buffers and sessions held by requests in flight). */
  bytesPerRequestPerSecond: 2 * 1024 * 1024,
  memoryNoise: 0.01,
} as const;

// Independent hash streams, so e.g. the noise of a minute does not correlate with whether a surge starts.
const STREAM = { count: 1, surgeStart: 2, surgeOffset: 3, surgeLength: 4, surgeSize: 5, cpu: 6, memory: 7 } as const;

// Bound once: under jest's vm contexts every lookup of the global `Math` is slow, and these run per minute.
const { abs, cos, exp, floor, max, min, PI, round, sqrt } = Math;

const DAY_MINUTES = 24 * 60;
// 1970-01-01 was a Thursday (Sunday = 0).
const EPOCH_WEEKDAY = 4;
// Below this mean count per minute the normal approximation of Poisson is poor; sample exactly instead.
const EXACT_POISSON_BELOW = 30;

export function createGenerator(options: GeneratorOptions = {}): Generator {
  const scenario = options.scenario ?? 'daily';
  const seed = options.seed ?? 1;
  const peakRate = options.peakRate ?? 100;
  const utcOffsetMinutes = options.utcOffsetMinutes ?? 0;
  if (!isScenario(scenario)) throw new RangeError(`generator: unknown scenario "${String(scenario)}" (expected ${SCENARIOS.join(', ')})`);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`generator: seed must be an integer, got ${seed}`);
  if (!(Number.isFinite(peakRate) && peakRate >= 0)) throw new RangeError(`generator: peakRate must be >= 0, got ${peakRate}`);
  if (!Number.isInteger(utcOffsetMinutes) || abs(utcOffsetMinutes) > 18 * 60) {
    throw new RangeError(`generator: utcOffsetMinutes must be a whole number of minutes within ±18 h, got ${utcOffsetMinutes}`);
  }
  const s = seed | 0;

  const meanRate = (t: number): number => {
    const local = floor(t / MINUTE_MS) + utcOffsetMinutes;
    let rate = peakRate * dailyLevel(local);
    if (scenario === 'flash-sale') rate *= flashSaleFactor(local) * surgeFactor(s, local);
    return rate;
  };

  return {
    scenario,
    seed,
    peakRate,
    utcOffsetMinutes,
    meanRate,
    requests(t) {
      const minute = floor(t / MINUTE_MS);
      return poissonCount(meanRate(t) * 60, s, minute) / 60;
    },
    cpu(t, rate) {
      const noise = 1 + RESOURCES.cpuNoise * normal(s, STREAM.cpu, floor(t / MINUTE_MS));
      return max(0, (RESOURCES.idleCores + rate * RESOURCES.coreSecondsPerRequest) * noise);
    },
    memory(t, rate) {
      const noise = 1 + RESOURCES.memoryNoise * normal(s, STREAM.memory, floor(t / MINUTE_MS));
      return max(0, round((RESOURCES.baseBytes + rate * RESOURCES.bytesPerRequestPerSecond) * noise));
    },
  };
}

/** Local day index and weekday (Sunday = 0) of a local minute index. */
function localDay(local: number): { minuteOfDay: number; weekday: number } {
  const day = floor(local / DAY_MINUTES);
  return { minuteOfDay: local - day * DAY_MINUTES, weekday: (((day + EPOCH_WEEKDAY) % 7) + 7) % 7 };
}

function isWeekend(weekday: number): boolean {
  return weekday === 0 || weekday === 6;
}

/** Daily cycle in (0, 1] of the weekday peak: a cosine from the trough to the afternoon peak, damped on weekends. */
export function dailyLevel(local: number): number {
  const { minuteOfDay, weekday } = localDay(local);
  const phase = (2 * PI * (minuteOfDay - DAILY.peakHour * 60)) / DAY_MINUTES;
  const level = DAILY.troughRatio + (1 - DAILY.troughRatio) * (1 + cos(phase)) / 2;
  return isWeekend(weekday) ? level * DAILY.weekendRatio : level;
}

/** Multiplier of the weekday noon flash sale: ramp to 3×, hold, decay back to 1×. */
export function flashSaleFactor(local: number): number {
  const { minuteOfDay, weekday } = localDay(local);
  if (isWeekend(weekday)) return 1;
  const { startMinute, rampMinutes, holdMinutes, decayMinutes, peakFactor } = FLASH_SALE;
  const t = minuteOfDay - startMinute;
  if (t < 0 || t >= rampMinutes + holdMinutes + decayMinutes) return 1;
  // The sale opens at 12:00 sharp, so minute 0 already carries the first step of the ramp.
  let envelope = 1;
  if (t < rampMinutes) envelope = (t + 1) / rampMinutes;
  else if (t >= rampMinutes + holdMinutes) envelope = 1 - (t - rampMinutes - holdMinutes + 1) / (decayMinutes + 1);
  return 1 + (peakFactor - 1) * envelope;
}

/**
 * Multiplier of random surges. A hash of the hour decides whether a surge starts in it, at which minute,
 * for how long and how big; a surge lasts at most 40 min from minute ≤ 59, so only this hour and the
 * previous one can reach a given minute. Overlapping surges take the larger factor.
 */
export function surgeFactor(seed: number, local: number): number {
  const hour = floor(local / 60);
  let factor = 1;
  for (let h = hour - 1; h <= hour; h++) {
    if (uniform(seed, STREAM.surgeStart, h) >= SURGE.probabilityPerHour) continue;
    const start = h * 60 + floor(uniform(seed, STREAM.surgeOffset, h) * 60);
    const span = SURGE.maxMinutes - SURGE.minMinutes + 1;
    const length = SURGE.minMinutes + floor(uniform(seed, STREAM.surgeLength, h) * span);
    const t = local - start;
    if (t < 0 || t >= length) continue;
    const size = SURGE.minFactor + (SURGE.maxFactor - SURGE.minFactor) * uniform(seed, STREAM.surgeSize, h);
    const envelope = min(1, (t + 1) / SURGE.edgeMinutes, (length - t) / SURGE.edgeMinutes);
    factor = max(factor, 1 + (size - 1) * envelope);
  }
  return factor;
}

/** A Poisson-distributed count with the given mean, drawn from the hash of (seed, minute). */
function poissonCount(mean: number, seed: number, minute: number): number {
  if (mean <= 0) return 0;
  if (mean >= EXACT_POISSON_BELOW) {
    return max(0, round(mean + sqrt(mean) * normal(seed, STREAM.count, minute)));
  }
  // Inversion: walk the CDF until it passes a hashed uniform (at most a few dozen steps at these means).
  const u = uniform(seed, STREAM.count, minute);
  let k = 0;
  let p = exp(-mean);
  let cdf = p;
  while (cdf <= u && k < 1000) {
    k++;
    p *= mean / k;
    cdf += p;
  }
  return k;
}
