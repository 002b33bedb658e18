import { createGenerator, familyShape } from './generator.js';
import { checkScenarioParams, describeScenario, drawScenario, FAMILY, REFERENCE_SCENARIO, type ScenarioParams } from './scenario-family.js';
import { MINUTE_MS } from '../series/minute.js';

// The trend origin (Monday 2025-01-06), then Wednesday and Saturday of that week, UTC midnight.
const MONDAY = FAMILY.trendOriginMs;
const WEDNESDAY = MONDAY + 2 * 1440 * MINUTE_MS;
const SATURDAY = MONDAY + 5 * 1440 * MINUTE_MS;
const at = (day: number, hour: number, minute = 0): number => day + (hour * 60 + minute) * MINUTE_MS;
const minutesOf = (day: number, count = 1440): number[] => Array.from({ length: count }, (_, i) => day + i * MINUTE_MS);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const local = (t: number): number => t / MINUTE_MS;
const inRange = (x: number, [lo, hi]: readonly [number, number]): boolean => x >= lo && x <= hi;

/** A flat, quiet member: no cycle, no weekly pattern, no trend, sales or surges — only noise. */
const flat = (level: number, noise: Partial<ScenarioParams['noise']> = {}): ScenarioParams => ({
  level,
  daily: { troughRatio: 1, peakHour: 15 },
  weekly: { kind: 'weekend', ratio: 1 },
  trendPerDay: 0,
  sales: [],
  surges: { ...REFERENCE_SCENARIO.surges, perDay: 0 },
  noise: { shape: Infinity, burstsPerDay: 0, minBurstFactor: 1, maxBurstFactor: 1, ...noise },
});

/** Per-minute counts and their means over `days` from Monday. */
function countsOf(params: ScenarioParams, days: number, seed = 1): { counts: number[]; means: number[] } {
  const g = createGenerator({ scenario: 'random', seed, params });
  const ts = minutesOf(MONDAY, days * 1440);
  return { counts: ts.map((t) => g.requests(t) * 60), means: ts.map((t) => g.meanRate(t) * 60) };
}

/** Lengths of the runs of values above 1, with the index (within the run) where each first reaches its maximum. */
function runsAboveOne(factors: number[]): { length: number; peak: number; first: number; peakAt: number }[] {
  const runs: { length: number; peak: number; first: number; peakAt: number }[] = [];
  let start = -1;
  for (let i = 0; i <= factors.length; i++) {
    const above = i < factors.length && factors[i] > 1;
    if (above && start < 0) start = i;
    if (!above && start >= 0) {
      const run = factors.slice(start, i);
      const peak = Math.max(...run);
      runs.push({ length: run.length, peak, first: run[0], peakAt: run.indexOf(peak) });
      start = -1;
    }
  }
  return runs;
}

describe('drawScenario', () => {
  it('is a pure function of the seed, and seeds give different workloads', () => {
    expect(drawScenario(7)).toEqual(drawScenario(7));
    const lines = Array.from({ length: 50 }, (_, i) => describeScenario(i + 1));
    expect(new Set(lines).size).toBe(50);
    expect(describeScenario(7)).toBe(describeScenario(drawScenario(7)));
    expect(() => drawScenario(1.5)).toThrow(/seed/);
  });

  it('keeps every drawn parameter within its documented range', () => {
    const { daily: D, weekly: W, sales: S, surges: G, noise: N } = FAMILY;
    for (let seed = 0; seed < 1000; seed++) {
      const p = drawScenario(seed);
      expect(() => checkScenarioParams(p)).not.toThrow();
      const ok = [
        inRange(p.level, FAMILY.level),
        inRange(p.daily.troughRatio, D.troughRatio),
        inRange(p.daily.peakHour, D.peakHour),
        !p.daily.bump || (
          (inRange(p.daily.bump.hour, D.lunchHour) || inRange(p.daily.bump.hour, D.eveningHour)) &&
          inRange(p.daily.bump.amplitude, D.bumpAmplitude) && inRange(p.daily.bump.widthMinutes, D.bumpWidthMinutes)),
        p.weekly.kind === 'weekend' ? inRange(p.weekly.ratio, W.weekendRatio) : inRange(p.weekly.ratio, W.dipRatio) && inRange(p.weekly.weekday, [0, 6]),
        inRange(p.trendPerDay, FAMILY.trendPerDay),
        p.sales.length <= S.maxCount,
        ...p.sales.map((s) =>
          inRange(s.startMinute / 60, S.startHour) && inRange(s.minutes, S.minutes) && inRange(s.rampMinutes, S.rampMinutes) &&
          s.rampMinutes <= s.minutes && inRange(s.decayMinutes, S.decayMinutes) && inRange(s.factor, S.factor)),
        inRange(p.surges.perDay, G.perDay),
        inRange(p.surges.minMinutes, G.minutes) && inRange(p.surges.maxMinutes, G.minutes) && p.surges.minMinutes <= p.surges.maxMinutes,
        inRange(p.surges.minFactor, G.factor) && inRange(p.surges.maxFactor, G.factor) && p.surges.minFactor <= p.surges.maxFactor,
        inRange(p.surges.buildUpMinutes, G.buildUpMinutes) && inRange(p.surges.decayMinutes, G.decayMinutes),
        p.noise.shape === Infinity || inRange(p.noise.shape, N.shape),
        p.noise.burstsPerDay === 0 || (inRange(p.noise.burstsPerDay, N.burstsPerDay) && inRange(p.noise.maxBurstFactor, N.burstFactor)),
      ];
      if (!ok.every(Boolean)) throw new Error(`seed ${seed} out of range (check ${ok.indexOf(false)}): ${JSON.stringify(p)}`);
    }
  });

  it('covers every feature across seeds 1–50', () => {
    const ps = Array.from({ length: 50 }, (_, i) => drawScenario(i + 1));
    const some = (pred: (p: ScenarioParams) => boolean): number => ps.filter(pred).length;
    const sales = ps.flatMap((p) => p.sales);
    expect(some((p) => p.sales.length === 0)).toBeGreaterThan(0);
    expect(some((p) => p.sales.length === 2)).toBeGreaterThan(0);
    expect(sales.some((s) => s.days === 'daily') && sales.some((s) => s.days === 'weekdays')).toBe(true);
    expect(sales.some((s) => s.rampMinutes === 1) && sales.some((s) => s.rampMinutes === 10)).toBe(true);
    expect([some((p) => p.surges.buildUpMinutes === 1), some((p) => p.surges.buildUpMinutes === 10)]).not.toContain(0);
    expect([some((p) => p.surges.perDay < 1), some((p) => p.surges.perDay > 3)]).not.toContain(0);
    expect([some((p) => p.noise.shape === Infinity), some((p) => p.noise.shape < 30)]).not.toContain(0);
    expect([some((p) => p.noise.burstsPerDay > 0), some((p) => p.noise.burstsPerDay === 0)]).not.toContain(0);
    expect([some((p) => p.daily.bump !== undefined), some((p) => p.daily.bump === undefined)]).not.toContain(0);
    expect(some((p) => p.weekly.kind === 'dip')).toBeGreaterThan(0);
    expect(some((p) => p.weekly.kind === 'weekend' && p.weekly.ratio > 1)).toBeGreaterThan(0);
    expect([some((p) => p.trendPerDay < 0), some((p) => p.trendPerDay > 0.02)]).not.toContain(0);
    expect([some((p) => p.level < 2), some((p) => p.level > 200)]).not.toContain(0);
  });
});

describe("createGenerator({ scenario: 'random' })", () => {
  it('gives the same values for the same seed in any order of access, and different ones for other seeds', () => {
    const ts = minutesOf(WEDNESDAY, 2 * 1440);
    for (const seed of [1, 2, 101]) {
      const a = createGenerator({ scenario: 'random', seed });
      const b = createGenerator({ scenario: 'random', seed });
      const forward = ts.map((t) => a.requests(t));
      const backward = [...ts].reverse().map((t) => b.requests(t)).reverse();
      expect(backward).toEqual(forward);
      // A stride coprime with the length visits every minute once, out of order.
      const shuffled = ts.map((_, i) => (i * 7919) % ts.length);
      const c = createGenerator({ scenario: 'random', seed });
      const scattered: number[] = [];
      for (const i of shuffled) scattered[i] = c.requests(ts[i]);
      expect(scattered).toEqual(forward);
      expect(a.params).toEqual(drawScenario(seed));
      expect(a.peakRate).toBe(drawScenario(seed).level);
    }
    const [g1, g2] = [1, 2].map((seed) => createGenerator({ scenario: 'random', seed }));
    const one = ts.map((t) => g1.requests(t));
    const two = ts.map((t) => g2.requests(t));
    expect(one.filter((v, i) => v === two[i]).length).toBeLessThan(ts.length / 20);
  });

  it('is never negative and derives cpu and memory like the other scenarios', () => {
    for (const seed of [1, 4, 104]) {
      const g = createGenerator({ scenario: 'random', seed });
      let lowest = Infinity;
      for (const t of minutesOf(MONDAY, 7 * 1440)) {
        const r = g.requests(t);
        lowest = Math.min(lowest, r, g.cpu(t, r), g.memory(t, r));
      }
      expect(lowest).toBeGreaterThanOrEqual(0);
    }
    const fixed = createGenerator({ scenario: 'daily', seed: 3 });
    const random = createGenerator({ scenario: 'random', seed: 3 });
    expect(random.cpu(WEDNESDAY, 50)).toBe(fixed.cpu(WEDNESDAY, 50));
    expect(random.memory(WEDNESDAY, 50)).toBe(fixed.memory(WEDNESDAY, 50));
  });

  it('takes explicit params, an overriding peakRate, and rejects params it cannot use', () => {
    const params = structuredClone(REFERENCE_SCENARIO);
    const g = createGenerator({ scenario: 'random', seed: 5, params });
    const t = at(WEDNESDAY, 15);
    const before = g.meanRate(t);
    params.level = 1; // the generator keeps its own copy
    expect(g.meanRate(t)).toBe(before);
    const scaled = createGenerator({ scenario: 'random', seed: 5, params: REFERENCE_SCENARIO, peakRate: 10 });
    expect(scaled.peakRate).toBe(10);
    expect(scaled.meanRate(t)).toBeCloseTo(before / 10, 9);
    expect(() => createGenerator({ scenario: 'flash-sale', params: REFERENCE_SCENARIO })).toThrow(/random/);
    const bad = (edit: (p: ScenarioParams) => void): (() => unknown) => () => {
      const p = structuredClone(REFERENCE_SCENARIO);
      edit(p);
      return createGenerator({ scenario: 'random', params: p });
    };
    expect(bad((p) => (p.daily.troughRatio = 0))).toThrow(/troughRatio/);
    expect(bad((p) => (p.sales[0].rampMinutes = 0))).toThrow(/rampMinutes/);
    expect(bad((p) => (p.sales[0].minutes = 2))).toThrow(/minutes/);
    expect(bad((p) => (p.surges.maxFactor = 1.2))).toThrow(/maxFactor/);
    expect(bad((p) => (p.noise.shape = 0))).toThrow(/shape/);
    expect(bad((p) => (p.weekly = { kind: 'dip', weekday: 7, ratio: 0.5 }))).toThrow(/weekday/);
  });
});

describe('the family shapes', () => {
  it('spans exactly [trough, 1] over a weekday, bump or not, with the main peak at its hour', () => {
    for (const bump of [undefined, { hour: 20, amplitude: 0.5, widthMinutes: 60 }]) {
      const shape = familyShape({ ...flat(1), daily: { troughRatio: 0.3, peakHour: 14.25, bump } });
      const day = minutesOf(WEDNESDAY).map((t) => shape.level(local(t)));
      expect(Math.max(...day)).toBeCloseTo(1, 12);
      expect(Math.min(...day)).toBeCloseTo(0.3, 12);
      if (!bump) expect(day.indexOf(1)).toBe(14 * 60 + 15);
      else expect(shape.level(local(at(WEDNESDAY, 20)))).toBeGreaterThan(shape.level(local(at(WEDNESDAY, 17))));
    }
  });

  it('applies the weekly pattern and a compounding trend from its origin', () => {
    const dip = familyShape({ ...flat(1), weekly: { kind: 'dip', weekday: 2, ratio: 0.5 } });
    const tuesday = local(at(MONDAY + 1440 * MINUTE_MS, 10));
    expect(dip.level(tuesday)).toBeCloseTo(0.5, 12);
    expect(dip.level(local(at(SATURDAY, 10)))).toBeCloseTo(1, 12);
    const busyWeekend = familyShape({ ...flat(1), weekly: { kind: 'weekend', ratio: 1.1 } });
    expect(busyWeekend.level(local(at(SATURDAY, 10)))).toBeCloseTo(1.1, 12);
    const growing = familyShape({ ...flat(1), trendPerDay: 0.03 });
    expect(growing.level(local(MONDAY))).toBeCloseTo(1, 12);
    expect(growing.level(local(MONDAY + 10 * 1440 * MINUTE_MS))).toBeCloseTo(1.03 ** 10, 9);
    expect(growing.level(local(MONDAY + 1000 * 1440 * MINUTE_MS))).toBe(FAMILY.trendLimit);
  });

  it('raises the mean by each drawn sale\'s size after its ramp, inside its window only', () => {
    let checked = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const p = drawScenario(seed);
      for (const sale of p.sales) {
        // The same member with only this sale, against none: surges and the cycle cancel in the ratio.
        const withSale = createGenerator({ scenario: 'random', seed, params: { ...p, sales: [sale] } });
        const without = createGenerator({ scenario: 'random', seed, params: { ...p, sales: [] } });
        const ratio = (day: number, minute: number): number => {
          const t = day + (sale.startMinute + minute) * MINUTE_MS;
          return withSale.meanRate(t) / without.meanRate(t);
        };
        expect(ratio(WEDNESDAY, -1)).toBeCloseTo(1, 12);
        expect(ratio(WEDNESDAY, 0)).toBeCloseTo(1 + (sale.factor - 1) / sale.rampMinutes, 9);
        for (let m = 0; m < sale.rampMinutes - 1; m++) expect(ratio(WEDNESDAY, m)).toBeLessThan(ratio(WEDNESDAY, m + 1));
        for (let m = sale.rampMinutes - 1; m < sale.minutes; m++) expect(ratio(WEDNESDAY, m)).toBeCloseTo(sale.factor, 9);
        expect(ratio(WEDNESDAY, sale.minutes)).toBeLessThan(sale.factor);
        expect(ratio(WEDNESDAY, sale.minutes + sale.decayMinutes)).toBeCloseTo(1, 12);
        expect(ratio(SATURDAY, sale.minutes - 1)).toBeCloseTo(sale.days === 'daily' ? sale.factor : 1, 9);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('runs a sale that starts late on past midnight', () => {
    const late = { days: 'weekdays' as const, startMinute: 23 * 60 + 50, minutes: 30, rampMinutes: 2, decayMinutes: 5, factor: 2 };
    const shape = familyShape({ ...flat(1), sales: [late] });
    expect(shape.saleFactor(local(at(WEDNESDAY, 0, 10)))).toBe(2); // Tuesday's sale, 20 minutes in
    expect(shape.saleFactor(local(at(SATURDAY, 0, 10)))).toBe(2); // Friday's
    expect(shape.saleFactor(local(at(SATURDAY + 1440 * MINUTE_MS, 0, 10)))).toBe(1); // none on Saturday
  });

  it('has gamma-Poisson noise: variance ≈ mean + mean² / k, above Poisson\'s at the same mean', () => {
    for (const [level, shape] of [[10, 10], [10, 100], [0.2, 10]]) {
      const { counts, means } = countsOf(flat(level, { shape }), 5);
      const m = means[0];
      const variance = mean(counts.map((c) => (c - m) ** 2));
      expect(mean(counts) / m).toBeGreaterThan(0.97);
      expect(mean(counts) / m).toBeLessThan(1.03);
      expect(variance / (m + (m * m) / shape)).toBeGreaterThan(0.85);
      expect(variance / (m + (m * m) / shape)).toBeLessThan(1.15);
      const poisson = countsOf(flat(level), 5);
      const poissonVariance = mean(poisson.counts.map((c) => (c - m) ** 2));
      expect(poissonVariance / m).toBeGreaterThan(0.85);
      expect(poissonVariance / m).toBeLessThan(1.15);
      expect(variance).toBeGreaterThan(poissonVariance * 1.5);
    }
  });

  it('adds occasional one-minute bursts of the drawn size, outside the mean', () => {
    const params = flat(10, { burstsPerDay: 10, minBurstFactor: 1.5, maxBurstFactor: 3 });
    const shape = familyShape(params);
    const days = 30;
    const bursts = minutesOf(MONDAY, days * 1440).map((t) => shape.noiseFactor(1, local(t))).filter((f) => f > 1);
    expect(bursts.length / days).toBeGreaterThan(8);
    expect(bursts.length / days).toBeLessThan(12);
    expect(Math.min(...bursts)).toBeGreaterThanOrEqual(1.5);
    expect(Math.max(...bursts)).toBeLessThanOrEqual(3);
    expect(createGenerator({ scenario: 'random', params }).meanRate(at(WEDNESDAY, 3))).toBe(10);
  });
});

describe('the issue\'s reference case', () => {
  // Daily cycle, lower weekends, a 20-minute 2.5× weekday sale at 12:00 ramping in 3 minutes,
  // 1–2 surges a day of 1.6–3× building over 5 minutes, gamma-over-dispersed noise.
  const seed = 18;
  const shape = familyShape(REFERENCE_SCENARIO);

  it('has the daily cycle and the weekend dip', () => {
    expect(shape.level(local(at(WEDNESDAY, 15)))).toBeCloseTo(1, 12);
    expect(shape.level(local(at(WEDNESDAY, 3)))).toBeCloseTo(0.25, 12);
    expect(shape.level(local(at(SATURDAY, 15)))).toBeCloseTo(0.6, 12);
  });

  it('holds the 12:00 weekday sale at 2.5× after a 3-minute ramp, for 20 minutes', () => {
    const sale = (day: number, minute: number): number => shape.saleFactor(local(at(day, 12, minute)));
    expect(sale(WEDNESDAY, -1)).toBe(1);
    expect(sale(WEDNESDAY, 0)).toBeCloseTo(1.5, 12);
    expect(sale(WEDNESDAY, 1)).toBeCloseTo(2, 12);
    for (let m = 2; m < 20; m++) expect(sale(WEDNESDAY, m)).toBeCloseTo(2.5, 12);
    expect(sale(WEDNESDAY, 20)).toBeLessThan(2.5);
    expect(sale(WEDNESDAY, 30)).toBe(1);
    expect(sale(SATURDAY, 10)).toBe(1);
    // Through the generator: the sale multiplies the mean, whatever surge overlaps it.
    const g = createGenerator({ scenario: 'random', seed, params: REFERENCE_SCENARIO });
    const t = at(WEDNESDAY, 12, 10);
    expect(g.meanRate(t)).toBeCloseTo(100 * shape.level(local(t)) * 2.5 * shape.surgeFactor(seed, local(t)), 9);
  });

  it('has 1–2 surges a day of 1.6–3× that build over 5 minutes', () => {
    const days = 60;
    const factors = minutesOf(MONDAY, days * 1440).map((t) => shape.surgeFactor(seed, local(t)));
    const runs = runsAboveOne(factors);
    expect(runs.length / days).toBeGreaterThanOrEqual(1);
    expect(runs.length / days).toBeLessThanOrEqual(2);
    expect(Math.max(...factors)).toBeLessThanOrEqual(3);
    expect(Math.max(...factors)).toBeGreaterThan(2.7);
    for (const run of runs) {
      expect(run.peak).toBeGreaterThanOrEqual(1.6);
      // The first minute carries a fifth of the surge; its full size comes in the fifth minute at the earliest.
      expect(run.first).toBeLessThanOrEqual(1 + (3 - 1) / 5 + 1e-12);
      expect(run.peakAt).toBeGreaterThanOrEqual(4);
      expect(run.length).toBeGreaterThanOrEqual(10 + 5); // shortest surge plus its decay
    }
  });

  it('is over-dispersed: per-minute variance far above Poisson\'s', () => {
    const { counts, means } = countsOf(REFERENCE_SCENARIO, 7, seed);
    const excess = mean(counts.map((c, i) => (c - means[i]) ** 2 / means[i]));
    // Var/mean = 1 + mean/k: at ~2,000–6,000 a minute and k = 30, far above Poisson's 1.
    expect(excess).toBeGreaterThan(40);
  });
});
