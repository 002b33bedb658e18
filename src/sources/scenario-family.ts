/**
 * The randomized scenario family (`createGenerator({ scenario: 'random', seed })`): each seed draws a
 * whole e-commerce/web-like workload — level, daily and weekly shape, trend, recurring sales,
 * unannounced surges and noise — so a planner can be tuned on some seeds and judged on others.
 *
 * This module holds the family's parameter space: the ranges, the draw and a one-line description.
 * The shapes those parameters drive are computed in generator.ts, beside the fixed scenarios.
 */
import { uniform } from './hash.js';

/** Where a seed's parameters are drawn from, in one place. `[min, max]` pairs are inclusive. */
export const FAMILY = {
  /** Weekday peak rate at the trend origin, req/s, log-uniform: per-minute counts from ~30 to ~30,000. */
  level: [0.5, 500],
  daily: {
    /** Trough ÷ peak of the daily cycle. */
    troughRatio: [0.1, 0.6],
    /** Local hour of the main peak, drawn to the quarter hour. */
    peakHour: [10, 21],
    /** Chance of a second bump (lunch or evening) on top of the main cycle. */
    bumpChance: 0.5,
    lunchHour: [11.5, 13.5],
    eveningHour: [19, 22.5],
    /** Height of the bump relative to the main cycle's swing (before the day is rescaled to [trough, 1]). */
    bumpAmplitude: [0.2, 0.6],
    /** Standard deviation of the bump's bell, minutes. */
    bumpWidthMinutes: [30, 120],
  },
  weekly: {
    /** Chance of a dip on one drawn weekday instead of a weekend effect. */
    dipChance: 0.3,
    /** Weekend level ÷ weekday level: above 1 for workloads busier at weekends. */
    weekendRatio: [0.4, 1.1],
    /** The dip day's level ÷ the other days'. */
    dipRatio: [0.5, 0.85],
  },
  /** Compound growth per day, from the trend origin. */
  trendPerDay: [-0.01, 0.03],
  /** The trend is measured from this local midnight (a Monday; the default start of `generate` and `simulate`). */
  trendOriginMs: Date.UTC(2025, 0, 6),
  /** The trend factor stays within [1 / this, this], so a year-long trace stays plausible. */
  trendLimit: 8,
  sales: {
    /** 0 to this many recurring sales per seed, equally likely. */
    maxCount: 2,
    /** Chance a sale runs every day rather than on weekdays (Monday–Friday) only. */
    everyDayChance: 0.5,
    /** Local start hour, drawn to the quarter hour. */
    startHour: [8, 21],
    /** From the start to the beginning of the decay, ramp included. */
    minutes: [10, 90],
    rampMinutes: [1, 10],
    /** Stragglers after the sale ends. */
    decayMinutes: [5, 30],
    /** Multiplier on the level while the sale holds. */
    factor: [1.5, 4],
  },
  surges: {
    /** Expected surges a day (each hour starts one with chance perDay / 24). */
    perDay: [0, 4],
    /** A seed draws its own sub-range of lengths and sizes from these; each surge then draws within it. */
    minutes: [5, 60],
    factor: [1.5, 4],
    /** Build-up and decay are per seed (how this workload's crowds arrive and leave). */
    buildUpMinutes: [1, 10],
    decayMinutes: [1, 20],
  },
  noise: {
    /** Chance of pure Poisson noise; otherwise gamma-Poisson (negative binomial) with a drawn shape. */
    poissonChance: 0.3,
    /** Gamma shape k, log-uniform: the count's variance is mean + mean² / k (k = 10: ±32% a minute). */
    shape: [10, 1000],
    /** Chance of occasional one-minute bursts. */
    burstChance: 0.5,
    burstsPerDay: [1, 10],
    /** Each burst multiplies its minute's mean by a size drawn from this range. */
    burstFactor: [1.5, 3],
  },
} as const;

export interface DailyShape {
  /** Trough ÷ peak of the day, in (0, 1]. */
  troughRatio: number;
  /** Local hour of the main peak (fractional hours allowed). */
  peakHour: number;
  /** An optional second bump (lunch or evening); the day is rescaled so its maximum is still 1. */
  bump?: { hour: number; amplitude: number; widthMinutes: number };
}

export type WeeklyShape =
  /** Saturday and Sunday run at `ratio` × weekdays. */
  | { kind: 'weekend'; ratio: number }
  /** One weekday (Sunday = 0) runs at `ratio` × the others. */
  | { kind: 'dip'; weekday: number; ratio: number };

/** A recurring sale: ramps up from `startMinute`, holds, then decays. */
export interface Sale {
  days: 'weekdays' | 'daily';
  /** Local minute of day it starts. */
  startMinute: number;
  /** From the start to the beginning of the decay, ramp included (≥ rampMinutes). */
  minutes: number;
  rampMinutes: number;
  decayMinutes: number;
  /** Multiplier on the level while it holds. */
  factor: number;
}

/** Unannounced surges: whether, when, how long and how big each is comes from hashes of its hour. */
export interface Surges {
  perDay: number;
  minMinutes: number;
  maxMinutes: number;
  minFactor: number;
  maxFactor: number;
  /** A surge's length is at least its build-up. */
  buildUpMinutes: number;
  decayMinutes: number;
}

export interface Noise {
  /** Gamma shape of the per-minute rate; `Infinity` is pure Poisson. */
  shape: number;
  /** Expected one-minute bursts a day (0: none). */
  burstsPerDay: number;
  minBurstFactor: number;
  maxBurstFactor: number;
}

export interface ScenarioParams {
  /** Weekday peak rate at the trend origin, req/s (before sales, surges and noise). */
  level: number;
  daily: DailyShape;
  weekly: WeeklyShape;
  /** Compound growth per day (0.01 = +1% a day). */
  trendPerDay: number;
  sales: Sale[];
  surges: Surges;
  noise: Noise;
}

/**
 * The reference case: daily cycle, lower weekends, a 20-minute 2.5× sale at 12:00 on weekdays
 * ramping in 3 minutes, 1–2 unannounced surges a day of 1.6–3× that build over 5 minutes,
 * gamma-over-dispersed noise.
 */
export const REFERENCE_SCENARIO: ScenarioParams = {
  level: 100,
  daily: { troughRatio: 0.25, peakHour: 15 },
  weekly: { kind: 'weekend', ratio: 0.6 },
  trendPerDay: 0,
  sales: [{ days: 'weekdays', startMinute: 12 * 60, minutes: 20, rampMinutes: 3, decayMinutes: 10, factor: 2.5 }],
  surges: { perDay: 1.5, minMinutes: 10, maxMinutes: 40, minFactor: 1.6, maxFactor: 3, buildUpMinutes: 5, decayMinutes: 5 },
  noise: { shape: 30, burstsPerDay: 0, minBurstFactor: 1, maxBurstFactor: 1 },
};

// The stream of seed-level draws; each parameter has its own fixed index, so adding one later does not
// reshuffle the others. Distinct from generator.ts's per-minute streams.
const PARAM_STREAM = 100;
const P = {
  level: 0, trough: 1, peakHour: 2, bump: 3, bumpKind: 4, bumpHour: 5, bumpAmplitude: 6, bumpWidth: 7,
  weeklyKind: 8, weeklyRatio: 9, dipWeekday: 10, trend: 11, saleCount: 12,
  /** Sale i uses indices sale + 10 i + field. */
  sale: 20,
  surgeRate: 50, surgeMinutesA: 51, surgeMinutesB: 52, surgeFactorA: 53, surgeFactorB: 54, surgeBuildUp: 55, surgeDecay: 56,
  poisson: 60, shape: 61, bursts: 62, burstsPerDay: 63, burstFactor: 64,
} as const;

const round = (x: number, step: number): number => Math.round(x / step) * step;
// Rounding to a step can leave float dust (0.30000000000000004); two decimals are all any draw keeps.
const tidy = (x: number): number => Number(x.toFixed(4));

/** The parameters of seed `seed`'s workload (its low 32 bits are used): pure, the same on every call. */
export function drawScenario(seed: number): ScenarioParams {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`scenario family: seed must be an integer, got ${seed}`);
  const s = seed | 0;
  const u = (index: number): number => uniform(s, PARAM_STREAM, index);
  const between = (r: readonly [number, number], index: number, step = 0.01): number => tidy(round(r[0] + (r[1] - r[0]) * u(index), step));
  const whole = (r: readonly [number, number], index: number): number => r[0] + Math.floor(u(index) * (r[1] - r[0] + 1));
  const logBetween = (r: readonly [number, number], index: number): number => {
    const x = r[0] * (r[1] / r[0]) ** u(index);
    // Three significant digits: enough to tell workloads apart, short in reports.
    return Number(x.toPrecision(3));
  };
  const pair = (r: readonly [number, number], a: number, b: number, step: number): [number, number] => {
    const x = between(r, a, step);
    const y = between(r, b, step);
    return x <= y ? [x, y] : [y, x];
  };

  const { daily: D, weekly: W, sales: S, surges: G, noise: N } = FAMILY;
  const daily: DailyShape = { troughRatio: between(D.troughRatio, P.trough), peakHour: between(D.peakHour, P.peakHour, 0.25) };
  if (u(P.bump) < D.bumpChance) {
    daily.bump = {
      hour: between(u(P.bumpKind) < 0.5 ? D.lunchHour : D.eveningHour, P.bumpHour, 0.25),
      amplitude: between(D.bumpAmplitude, P.bumpAmplitude),
      widthMinutes: between(D.bumpWidthMinutes, P.bumpWidth, 1),
    };
  }
  const weekly: WeeklyShape = u(P.weeklyKind) < W.dipChance
    ? { kind: 'dip', weekday: whole([0, 6], P.dipWeekday), ratio: between(W.dipRatio, P.weeklyRatio) }
    : { kind: 'weekend', ratio: between(W.weekendRatio, P.weeklyRatio) };

  const sales: Sale[] = [];
  const count = whole([0, S.maxCount], P.saleCount);
  for (let i = 0; i < count; i++) {
    const at = (field: number): number => P.sale + 10 * i + field;
    const rampMinutes = whole(S.rampMinutes, at(3));
    sales.push({
      days: u(at(0)) < S.everyDayChance ? 'daily' : 'weekdays',
      startMinute: Math.round(between(S.startHour, at(1), 0.25) * 60),
      minutes: Math.max(rampMinutes, whole(S.minutes, at(2))),
      rampMinutes,
      decayMinutes: whole(S.decayMinutes, at(4)),
      factor: between(S.factor, at(5), 0.05),
    });
  }

  const [minMinutes, maxMinutes] = pair(G.minutes, P.surgeMinutesA, P.surgeMinutesB, 1);
  const [minFactor, maxFactor] = pair(G.factor, P.surgeFactorA, P.surgeFactorB, 0.05);
  const surges: Surges = {
    perDay: between(G.perDay, P.surgeRate, 0.1),
    minMinutes,
    maxMinutes,
    minFactor,
    maxFactor,
    buildUpMinutes: whole(G.buildUpMinutes, P.surgeBuildUp),
    decayMinutes: whole(G.decayMinutes, P.surgeDecay),
  };

  const bursty = u(P.bursts) < N.burstChance;
  const noise: Noise = {
    shape: u(P.poisson) < N.poissonChance ? Infinity : Math.round(logBetween(N.shape, P.shape)),
    burstsPerDay: bursty ? between(N.burstsPerDay, P.burstsPerDay, 0.1) : 0,
    minBurstFactor: N.burstFactor[0],
    maxBurstFactor: bursty ? between(N.burstFactor, P.burstFactor, 0.05) : N.burstFactor[0],
  };

  return { level: logBetween(FAMILY.level, P.level), daily, weekly, trendPerDay: between(FAMILY.trendPerDay, P.trend, 0.001), sales, surges, noise };
}

/** Throws a RangeError naming the first parameter that cannot drive a generator (explicit params may leave the drawn ranges). */
export function checkScenarioParams(p: ScenarioParams): void {
  const fail = (what: string, value: unknown, expected: string): never => {
    throw new RangeError(`scenario family: ${what} must be ${expected}, got ${String(value)}`);
  };
  const finite = (what: string, x: number, lo: number, hi = Infinity): void => {
    if (!(Number.isFinite(x) && x >= lo && x <= hi)) fail(what, x, hi === Infinity ? `a number >= ${lo}` : `a number in [${lo}, ${hi}]`);
  };
  const whole = (what: string, x: number, lo: number, hi = Number.MAX_SAFE_INTEGER): void => {
    if (!(Number.isSafeInteger(x) && x >= lo && x <= hi)) fail(what, x, `an integer in [${lo}, ${hi}]`);
  };
  finite('level', p.level, 0);
  if (!(p.daily.troughRatio > 0 && p.daily.troughRatio <= 1)) fail('daily.troughRatio', p.daily.troughRatio, 'in (0, 1]');
  finite('daily.peakHour', p.daily.peakHour, 0, 24);
  if (p.daily.bump) {
    finite('daily.bump.hour', p.daily.bump.hour, 0, 24);
    finite('daily.bump.amplitude', p.daily.bump.amplitude, 0);
    if (!(p.daily.bump.widthMinutes > 0 && Number.isFinite(p.daily.bump.widthMinutes))) fail('daily.bump.widthMinutes', p.daily.bump.widthMinutes, '> 0');
  }
  finite('weekly.ratio', p.weekly.ratio, 0);
  if (p.weekly.kind === 'dip') whole('weekly.weekday', p.weekly.weekday, 0, 6);
  else if (p.weekly.kind !== 'weekend') fail('weekly.kind', (p.weekly as { kind: unknown }).kind, '"weekend" or "dip"');
  finite('trendPerDay', p.trendPerDay, -0.5, 1);
  p.sales.forEach((sale, i) => {
    if (sale.days !== 'weekdays' && sale.days !== 'daily') fail(`sales[${i}].days`, sale.days, '"weekdays" or "daily"');
    whole(`sales[${i}].startMinute`, sale.startMinute, 0, 1439);
    whole(`sales[${i}].rampMinutes`, sale.rampMinutes, 1, 1440);
    whole(`sales[${i}].minutes`, sale.minutes, sale.rampMinutes, 1440);
    whole(`sales[${i}].decayMinutes`, sale.decayMinutes, 0, 1440);
    finite(`sales[${i}].factor`, sale.factor, 1);
  });
  const g = p.surges;
  finite('surges.perDay', g.perDay, 0, 24);
  whole('surges.minMinutes', g.minMinutes, 1, 1440);
  whole('surges.maxMinutes', g.maxMinutes, g.minMinutes, 1440);
  finite('surges.minFactor', g.minFactor, 1);
  finite('surges.maxFactor', g.maxFactor, g.minFactor);
  whole('surges.buildUpMinutes', g.buildUpMinutes, 1, 1440);
  whole('surges.decayMinutes', g.decayMinutes, 0, 1440);
  if (!(p.noise.shape > 0)) fail('noise.shape', p.noise.shape, '> 0 (Infinity: Poisson)');
  finite('noise.burstsPerDay', p.noise.burstsPerDay, 0, 1440);
  finite('noise.minBurstFactor', p.noise.minBurstFactor, 1);
  finite('noise.maxBurstFactor', p.noise.maxBurstFactor, p.noise.minBurstFactor);
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const clock = (minuteOfDay: number): string => {
  const m = Math.round(minuteOfDay);
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
};
const fixed = (x: number, digits: number): string => x.toFixed(digits);
const signed = (x: number, digits: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;

/** One line for reports, e.g. "37.2 req/s · trough 0.31 at peak 14:15 · weekend ×0.72 · trend +1.2%/d · …". */
export function describeScenario(seedOrParams: number | ScenarioParams): string {
  const p = typeof seedOrParams === 'number' ? drawScenario(seedOrParams) : seedOrParams;
  const { daily, weekly, surges: g, noise } = p;
  const level = p.level >= 10 ? fixed(p.level, 0) : p.level >= 1 ? fixed(p.level, 1) : fixed(p.level, 2);
  const parts = [`${level} req/s`];
  let day = `day ${fixed(daily.troughRatio, 2)}–1 peak ${clock(daily.peakHour * 60)}`;
  if (daily.bump) day += ` +bump ${clock(daily.bump.hour * 60)} ×${fixed(daily.bump.amplitude, 2)}`;
  parts.push(day);
  parts.push(weekly.kind === 'weekend' ? `weekend ×${fixed(weekly.ratio, 2)}` : `${WEEKDAYS[weekly.weekday]} ×${fixed(weekly.ratio, 2)}`);
  parts.push(`trend ${signed(p.trendPerDay * 100, 1)}%/d`);
  parts.push(p.sales.length === 0
    ? 'no sales'
    : p.sales.map((s) => `sale ${clock(s.startMinute)} ${s.days === 'daily' ? 'daily' : 'wkdays'} ${s.minutes}m ramp ${s.rampMinutes}m ${fixed(s.factor, 2)}×`).join(', '));
  parts.push(g.perDay === 0
    ? 'no surges'
    : `surges ${fixed(g.perDay, 1)}/d ${g.minMinutes}–${g.maxMinutes}m build ${g.buildUpMinutes}m ${fixed(g.minFactor, 2)}–${fixed(g.maxFactor, 2)}×`);
  let n = noise.shape === Infinity ? 'Poisson' : `NB k=${noise.shape}`;
  if (noise.burstsPerDay > 0) n += ` +bursts ${fixed(noise.burstsPerDay, 1)}/d ≤${fixed(noise.maxBurstFactor, 2)}×`;
  parts.push(n);
  return parts.join(' · ');
}
