import { normal, uniform } from './hash.js';
import { checkScenarioParams, drawScenario, FAMILY, type ScenarioParams } from './scenario-family.js';
import { MINUTE_MS } from '../series/minute.js';
import { DAY_MINUTES, isWeekend, localDay } from '../series/calendar.js';

/**
 * A deterministic synthetic workload, random-access: the value of any minute depends only on
 * (options, minute), never on which minutes were computed before, so replays at any speed, from any
 * start, and from many workloads at once all agree.
 */

/** `random`: a member of the randomized family (scenario-family.ts), drawn from the seed or given as `params`. */
export const SCENARIOS = ['daily', 'flash-sale', 'random'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export function isScenario(s: string): s is Scenario {
  return (SCENARIOS as readonly string[]).includes(s);
}

export interface GeneratorOptions {
  /** `daily` (default), `flash-sale` or `random`. */
  scenario?: Scenario;
  /** Integer (its low 32 bits are used); different seeds give different noise and surges (and, for `random`, workloads). Default 1. */
  seed?: number;
  /** Weekday peak of the daily cycle, requests per second (before noise, sale and surges). Default 100; for `random`, the drawn level. */
  peakRate?: number;
  /** `random` only: this family member instead of the one drawn from the seed (the seed still drives noise and surges). */
  params?: ScenarioParams;
  /** Offset of local time from UTC, minutes: the cycle, weekends and the noon sale follow local time. Default 0. */
  utcOffsetMinutes?: number;
}

export interface Generator {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly peakRate: number;
  readonly utcOffsetMinutes: number;
  /** `random` only: the family member's parameters (with `level` = `peakRate`). */
  readonly params?: ScenarioParams;
  /** Expected request rate (req/s) in the minute containing `t` (epoch ms), without per-minute noise. */
  meanRate(t: number): number;
  /** Observed request rate (req/s) in the minute containing `t`: the mean with Poisson-like noise (for `random`, over-dispersed and with one-minute bursts as drawn). */
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
const STREAM = {
  count: 1, surgeStart: 2, surgeOffset: 3, surgeLength: 4, surgeSize: 5, cpu: 6, memory: 7,
  // The random family's own streams.
  familySurgeStart: 8, familySurgeOffset: 9, familySurgeLength: 10, familySurgeSize: 11, gamma: 12, burst: 13, burstSize: 14,
} as const;

// Bound once: under jest's vm contexts every lookup of the global `Math` is slow, and these run per minute.
const { abs, ceil, cos, exp, floor, log1p, max, min, PI, round, sqrt } = Math;

// Below this mean count per minute the normal approximation of Poisson is poor; sample exactly instead.
const EXACT_POISSON_BELOW = 30;

export function createGenerator(options: GeneratorOptions = {}): Generator {
  const scenario = options.scenario ?? 'daily';
  const seed = options.seed ?? 1;
  const utcOffsetMinutes = options.utcOffsetMinutes ?? 0;
  if (!isScenario(scenario)) throw new RangeError(`generator: unknown scenario "${String(scenario)}" (expected ${SCENARIOS.join(', ')})`);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`generator: seed must be an integer, got ${seed}`);
  if (options.peakRate !== undefined && !(Number.isFinite(options.peakRate) && options.peakRate >= 0)) {
    throw new RangeError(`generator: peakRate must be >= 0, got ${options.peakRate}`);
  }
  if (!Number.isInteger(utcOffsetMinutes) || abs(utcOffsetMinutes) > 18 * 60) {
    throw new RangeError(`generator: utcOffsetMinutes must be a whole number of minutes within ±18 h, got ${utcOffsetMinutes}`);
  }
  if (options.params !== undefined && scenario !== 'random') {
    throw new RangeError(`generator: params apply only to the random scenario, not "${scenario}"`);
  }
  const s = seed | 0;

  let params: ScenarioParams | undefined;
  let meanRate: (t: number) => number;
  let count: (t: number) => number;
  if (scenario === 'random') {
    // A copy: the generator must not change if the caller later edits its params.
    const p: ScenarioParams = structuredClone(options.params ?? drawScenario(seed));
    if (options.peakRate !== undefined) p.level = options.peakRate;
    checkScenarioParams(p);
    // Handed out as a copy too, so a reader editing it cannot change this generator's values.
    params = structuredClone(p);
    const shape = familyShape(p);
    meanRate = (t) => {
      const local = floor(t / MINUTE_MS) + utcOffsetMinutes;
      return p.level * shape.level(local) * shape.saleFactor(local) * shape.surgeFactor(s, local);
    };
    count = (t) => {
      const minute = floor(t / MINUTE_MS);
      return poissonCount(meanRate(t) * 60 * shape.noiseFactor(s, minute), s, minute);
    };
  } else {
    const peakRate = options.peakRate ?? 100;
    meanRate = (t) => {
      const local = floor(t / MINUTE_MS) + utcOffsetMinutes;
      let rate = peakRate * dailyLevel(local);
      if (scenario === 'flash-sale') rate *= flashSaleFactor(local) * surgeFactor(s, local);
      return rate;
    };
    count = (t) => poissonCount(meanRate(t) * 60, s, floor(t / MINUTE_MS));
  }

  return {
    scenario,
    seed,
    peakRate: params?.level ?? options.peakRate ?? 100,
    utcOffsetMinutes,
    ...(params && { params }),
    meanRate,
    requests: (t) => count(t) / 60,
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

/** The shapes of one member of the random family, each a pure function of (params, [seed,] minute). */
export interface FamilyShape {
  /** Daily cycle × weekly pattern × trend, as a share of the level (1 at a weekday peak at the trend origin). */
  level(local: number): number;
  /** Multiplier of the recurring sales (overlapping sales take the larger). */
  saleFactor(local: number): number;
  /** Multiplier of the unannounced surges (overlapping surges take the larger). */
  surgeFactor(seed: number, local: number): number;
  /** Multiplier on one minute's mean before the Poisson draw: gamma over-dispersion (mean 1) × a one-minute burst. */
  noiseFactor(seed: number, minute: number): number;
}

export function familyShape(p: ScenarioParams): FamilyShape {
  // The day's shape is computed once, minute by minute, then rescaled so it spans exactly [trough, 1].
  const day = new Float64Array(DAY_MINUTES);
  const peakMinute = p.daily.peakHour * 60;
  const bump = p.daily.bump;
  for (let m = 0; m < DAY_MINUTES; m++) {
    let raw = (1 + cos((2 * PI * (m - peakMinute)) / DAY_MINUTES)) / 2;
    if (bump) {
      const d = abs(m - bump.hour * 60) % DAY_MINUTES;
      const distance = min(d, DAY_MINUTES - d);
      raw += bump.amplitude * exp(-0.5 * (distance / bump.widthMinutes) ** 2);
    }
    day[m] = raw;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of day) {
    lo = min(lo, v);
    hi = max(hi, v);
  }
  const trough = p.daily.troughRatio;
  for (let m = 0; m < DAY_MINUTES; m++) day[m] = trough + ((1 - trough) * (day[m] - lo)) / (hi - lo);

  const weekly = p.weekly;
  const weekFactor = (weekday: number): number =>
    weekly.kind === 'weekend' ? (isWeekend(weekday) ? weekly.ratio : 1) : weekday === weekly.weekday ? weekly.ratio : 1;
  const growthPerMinute = log1p(p.trendPerDay) / DAY_MINUTES;
  const origin = FAMILY.trendOriginMs / MINUTE_MS;
  const limit = FAMILY.trendLimit;

  // A sale that starts late may run past midnight: look back as many days as its span reaches.
  const sales = p.sales.map((sale) => ({ ...sale, span: sale.minutes + sale.decayMinutes, daysBack: floor((sale.startMinute + sale.minutes + sale.decayMinutes - 1) / DAY_MINUTES) }));

  const g = p.surges;
  const surgeChance = g.perDay / 24;
  const longestSurge = max(g.maxMinutes, g.buildUpMinutes) + g.decayMinutes;
  // A surge starts at minute ≤ 59 of its hour, so only this many earlier hours can still reach a minute.
  const surgeHoursBack = ceil((59 + longestSurge) / 60);

  const n = p.noise;
  // Wilson–Hilferty: Gamma(k)/k ≈ (1 − c + z√c)³ with c = 1/(9k), mean 1 − c³. One normal per minute keeps
  // the draw random-access; it is accurate for the family's shapes (k ≥ 10).
  const c = n.shape === Infinity ? 0 : 1 / (9 * n.shape);
  const sqrtC = sqrt(c);
  const burstChance = n.burstsPerDay / DAY_MINUTES;

  return {
    level(local) {
      const { minuteOfDay, weekday } = localDay(local);
      const trend = min(limit, max(1 / limit, exp(growthPerMinute * (local - origin))));
      return day[minuteOfDay] * weekFactor(weekday) * trend;
    },
    saleFactor(local) {
      const today = floor(local / DAY_MINUTES);
      let factor = 1;
      for (const sale of sales) {
        for (let d = today - sale.daysBack; d <= today; d++) {
          const t = local - (d * DAY_MINUTES + sale.startMinute);
          if (t < 0 || t >= sale.span) continue;
          if (sale.days === 'weekdays' && isWeekend(localDay(d * DAY_MINUTES).weekday)) continue;
          factor = max(factor, 1 + (sale.factor - 1) * envelope(t, sale.rampMinutes, sale.minutes, sale.decayMinutes));
        }
      }
      return factor;
    },
    surgeFactor(seed, local) {
      if (surgeChance <= 0) return 1;
      const hour = floor(local / 60);
      let factor = 1;
      for (let h = hour - surgeHoursBack; h <= hour; h++) {
        if (uniform(seed, STREAM.familySurgeStart, h) >= surgeChance) continue;
        const t = local - (h * 60 + floor(uniform(seed, STREAM.familySurgeOffset, h) * 60));
        if (t < 0) continue;
        const drawn = g.minMinutes + floor(uniform(seed, STREAM.familySurgeLength, h) * (g.maxMinutes - g.minMinutes + 1));
        const length = max(g.buildUpMinutes, drawn);
        if (t >= length + g.decayMinutes) continue;
        const size = g.minFactor + (g.maxFactor - g.minFactor) * uniform(seed, STREAM.familySurgeSize, h);
        factor = max(factor, 1 + (size - 1) * envelope(t, g.buildUpMinutes, length, g.decayMinutes));
      }
      return factor;
    },
    noiseFactor(seed, minute) {
      let factor = 1;
      if (c > 0) {
        const b = 1 - c + sqrtC * normal(seed, STREAM.gamma, minute);
        factor = b > 0 ? b * b * b : 0;
      }
      if (burstChance > 0 && uniform(seed, STREAM.burst, minute) < burstChance) {
        factor *= n.minBurstFactor + (n.maxBurstFactor - n.minBurstFactor) * uniform(seed, STREAM.burstSize, minute);
      }
      return factor;
    },
  };
}

/**
 * Share (0, 1] of an event's size at minute `t` from its start: a linear ramp whose first minute already
 * carries a step, a hold until `minutes`, then a linear decay that reaches 1× after `decay` more minutes.
 */
function envelope(t: number, ramp: number, minutes: number, decay: number): number {
  if (t < ramp) return (t + 1) / ramp;
  if (t < minutes) return 1;
  return 1 - (t - minutes + 1) / (decay + 1);
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
