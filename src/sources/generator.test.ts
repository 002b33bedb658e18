import { createGenerator, dailyLevel, flashSaleFactor, isScenario, SCENARIOS, surgeFactor } from './generator.js';
import { hash32, uniform } from './hash.js';
import { MINUTE_MS } from '../series/minute.js';

// Wednesday 2024-05-15 and Saturday 2024-05-18, UTC midnight.
const WEDNESDAY = Date.UTC(2024, 4, 15);
const SATURDAY = Date.UTC(2024, 4, 18);
const at = (day: number, hour: number, minute = 0): number => day + (hour * 60 + minute) * MINUTE_MS;
const minutesOf = (day: number, count = 24 * 60): number[] => Array.from({ length: count }, (_, i) => day + i * MINUTE_MS);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('hash', () => {
  it('is a pure function of its inputs and spreads over [0, 1)', () => {
    expect(hash32(7, 1, 123)).toBe(hash32(7, 1, 123));
    expect(hash32(7, 1, 123)).not.toBe(hash32(8, 1, 123));
    expect(hash32(7, 1, 0)).not.toBe(hash32(7, 1, 2 ** 32)); // the high word counts
    const us = Array.from({ length: 10_000 }, (_, i) => uniform(3, 1, i));
    expect(Math.min(...us)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...us)).toBeLessThan(1);
    expect(mean(us)).toBeCloseTo(0.5, 1);
  });
});

describe('createGenerator', () => {
  it('gives the same value for the same (seed, minute), in any order of access', () => {
    const a = createGenerator({ scenario: 'flash-sale', seed: 42 });
    const b = createGenerator({ scenario: 'flash-sale', seed: 42 });
    const ts = minutesOf(WEDNESDAY, 600);
    const forward = ts.map((t) => a.requests(t));
    const backward = [...ts].reverse().map((t) => b.requests(t)).reverse();
    expect(backward).toEqual(forward);
    // Anywhere inside the minute reads that minute.
    expect(a.requests(ts[5] + 59_999)).toBe(forward[5]);
  });

  it('gives different values for different seeds', () => {
    const ts = minutesOf(WEDNESDAY, 120);
    const one = ts.map((t) => createGenerator({ seed: 1 }).requests(t));
    const two = ts.map((t) => createGenerator({ seed: 2 }).requests(t));
    const same = one.filter((v, i) => v === two[i]).length;
    expect(same).toBeLessThan(10);
  });

  it('is never negative, also at tiny rates where noise is largest', () => {
    for (const peakRate of [0, 0.05, 1, 100]) {
      const g = createGenerator({ scenario: 'flash-sale', seed: 9, peakRate });
      let lowest = Infinity;
      for (const t of minutesOf(WEDNESDAY, 3 * 24 * 60)) {
        const r = g.requests(t);
        lowest = Math.min(lowest, r, g.cpu(t, r), g.memory(t, r));
      }
      expect(lowest).toBeGreaterThanOrEqual(0);
    }
  });

  it('has a daily cycle with trough ≈ 1/4 of the afternoon peak', () => {
    const g = createGenerator({ seed: 5 });
    expect(g.meanRate(at(WEDNESDAY, 15))).toBeCloseTo(100, 6);
    expect(g.meanRate(at(WEDNESDAY, 3))).toBeCloseTo(25, 6);
    const byHour = Array.from({ length: 24 }, (_, h) => g.meanRate(at(WEDNESDAY, h)));
    expect(byHour.indexOf(Math.max(...byHour))).toBe(15);
  });

  it('has Poisson-like noise: per-minute variance of the count ≈ its mean', () => {
    const g = createGenerator({ seed: 11 });
    // 14:30–15:30, where the cycle is flat enough to treat the mean as constant.
    const ts = minutesOf(at(WEDNESDAY, 14, 30), 60);
    const counts = ts.map((t) => g.requests(t) * 60);
    const m = mean(counts);
    const variance = mean(counts.map((c) => (c - m) ** 2));
    expect(m).toBeGreaterThan(5_800);
    expect(variance / m).toBeGreaterThan(0.5);
    expect(variance / m).toBeLessThan(2);
  });

  it('follows local time: the peak moves with utcOffsetMinutes', () => {
    const utc = createGenerator({ utcOffsetMinutes: 0 });
    const newYork = createGenerator({ utcOffsetMinutes: -240 });
    // 15:00 in UTC−4 is 19:00 UTC.
    expect(newYork.meanRate(at(WEDNESDAY, 19))).toBeCloseTo(utc.meanRate(at(WEDNESDAY, 15)), 9);
  });

  it('runs weekends lower than weekdays (≈ 0.6)', () => {
    const g = createGenerator({ seed: 3 });
    const weekday = mean(minutesOf(WEDNESDAY).map((t) => g.requests(t)));
    const weekend = mean(minutesOf(SATURDAY).map((t) => g.requests(t)));
    expect(weekend / weekday).toBeGreaterThan(0.55);
    expect(weekend / weekday).toBeLessThan(0.65);
  });

  it('holds a weekday noon flash sale at ≈ 3× the same minutes without it', () => {
    const seed = 21;
    const daily = createGenerator({ scenario: 'daily', seed });
    const sale = createGenerator({ scenario: 'flash-sale', seed });
    const local = (t: number): number => t / MINUTE_MS;
    for (let minute = 10; minute < 35; minute++) {
      const t = at(WEDNESDAY, 12, minute);
      // Separate the sale from any random surge that happens to overlap it.
      const ratio = sale.requests(t) / daily.requests(t) / surgeFactor(seed, local(t));
      expect(ratio).toBeGreaterThan(2.85);
      expect(ratio).toBeLessThan(3.15);
    }
    // Ramps up from 12:00 over 5 minutes, back to normal by 12:50; none at weekends.
    expect(flashSaleFactor(local(at(WEDNESDAY, 11, 59)))).toBe(1);
    expect(flashSaleFactor(local(at(WEDNESDAY, 12, 0)))).toBeCloseTo(1.4, 9);
    expect(flashSaleFactor(local(at(WEDNESDAY, 12, 4)))).toBe(3);
    expect(flashSaleFactor(local(at(WEDNESDAY, 12, 40)))).toBeLessThan(3);
    expect(flashSaleFactor(local(at(WEDNESDAY, 12, 50)))).toBe(1);
    expect(flashSaleFactor(local(at(SATURDAY, 12, 15)))).toBe(1);
  });

  it('adds random surges of 10–40 min at 1.5–2.5×, a few a day, only in flash-sale', () => {
    const seed = 4;
    const days = 30;
    const factors = minutesOf(WEDNESDAY, days * 24 * 60).map((t) => surgeFactor(seed, t / MINUTE_MS));
    expect(Math.min(...factors)).toBe(1);
    expect(Math.max(...factors)).toBeLessThanOrEqual(2.5);
    const runs: number[] = [];
    let run = 0;
    for (const f of [...factors, 1]) {
      if (f > 1) run++;
      else if (run > 0) {
        runs.push(run);
        run = 0;
      }
    }
    expect(runs.length / days).toBeGreaterThan(1.5);
    expect(runs.length / days).toBeLessThan(5);
    expect(Math.min(...runs)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...runs)).toBeLessThanOrEqual(80); // two back-to-back surges at most
    const g = createGenerator({ scenario: 'daily', seed });
    const surging = minutesOf(WEDNESDAY, 24 * 60).find((t) => surgeFactor(seed, t / MINUTE_MS) > 1.4);
    expect(surging).toBeDefined();
    expect(g.meanRate(surging as number)).toBeCloseTo(100 * dailyLevel(surging as number / MINUTE_MS), 9);
  });

  it('derives cpu and memory from the request rate', () => {
    const g = createGenerator({ seed: 1 });
    const t = at(WEDNESDAY, 15);
    expect(g.cpu(t, 200)).toBeGreaterThan(g.cpu(t, 100) * 1.5);
    expect(g.cpu(t, 100)).toBeCloseTo(0.55, 1);
    expect(g.memory(t, 100)).toBeGreaterThan(g.memory(t, 0));
    expect(Number.isInteger(g.memory(t, 100))).toBe(true);
  });

  it('rejects bad options', () => {
    expect(isScenario('daily')).toBe(true);
    expect(isScenario('weekly')).toBe(false);
    expect(() => createGenerator({ seed: 1.5 })).toThrow(/seed/);
    expect(() => createGenerator({ peakRate: -1 })).toThrow(/peakRate/);
    expect(() => createGenerator({ utcOffsetMinutes: 2000 })).toThrow(/utcOffsetMinutes/);
  });
});

describe('createGenerator with the random family beside it', () => {
  it('offers random among the scenarios', () => {
    expect(SCENARIOS).toEqual(['daily', 'flash-sale', 'random']);
    expect(isScenario('random')).toBe(true);
    expect(createGenerator({ scenario: 'random', seed: 1 }).scenario).toBe('random');
    expect(createGenerator({ scenario: 'daily' }).params).toBeUndefined();
  });

  it('leaves daily and flash-sale exactly as they were (values recorded before the family existed)', () => {
    const recorded = { daily: { sum: 5_399_515, at: [2206, 2224, 5370, 5393, 5533] }, 'flash-sale': { sum: 5_870_231, at: [2206, 2224, 7512, 11837, 5533] } };
    for (const scenario of ['daily', 'flash-sale'] as const) {
      const g = createGenerator({ scenario, seed: 42 });
      const counts = minutesOf(WEDNESDAY).map((t) => Math.round(g.requests(t) * 60));
      expect(counts.reduce((a, b) => a + b, 0)).toBe(recorded[scenario].sum);
      expect([0, 360, 720, 722, 1080].map((i) => counts[i])).toEqual(recorded[scenario].at);
    }
  });
});
