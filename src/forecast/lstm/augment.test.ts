import { augmentedWeight, augmentSeries, DEFAULT_AUGMENT, localRate, surgeFactors, thin, trendFactors, type AugmentOptions } from './augment.js';
import { rng } from './dataset.js';

const noisy = (n: number, seed = 3) => {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => Math.round(100 + 50 * Math.sin((2 * Math.PI * i) / 600) + (r() - 0.5) * 40));
};
const only = (o: Partial<AugmentOptions>): AugmentOptions => ({ ...DEFAULT_AUGMENT, minBusier: 1, maxBusier: 1, shiftsPerDay: 0, ...o });

describe('augmentation', () => {
  test('the local rate is a centred mean of the observed minutes, gaps skipped', () => {
    const m = localRate([1, 2, null, 4, 5], 1);
    // Boxcar of ±1 (1.5, 1.5, 3, 4.5, 4.5), then again on that.
    expect(Array.from(m)).toEqual([1.5, 2, 3, 4, 4.5]);
  });

  test('k = 1 and no shifts leaves the series as it is', () => {
    const s = noisy(500);
    const a = augmentSeries(s, only({}), rng(1));
    expect(a.requests).toEqual(s);
    expect(Array.from(a.factor).every((f) => f === 1)).toBe(true);
  });

  test('a k-times busier copy keeps the local rate and shrinks the deviations from it by √k; gaps stay gaps', () => {
    const s: (number | null)[] = noisy(720);
    s[100] = null;
    const half = 20;
    const a = augmentSeries(s, only({ minBusier: 100, maxBusier: 100, smoothMinutes: [half, half] }), rng(1));
    const m = localRate(s, half);
    expect(a.requests[100]).toBeNull();
    for (const i of [0, 50, 300, 719]) expect((a.requests[i]! - m[i]!) * 10).toBeCloseTo(s[i]! - m[i]!, 6);
    expect(Array.from(a.busier).every((k) => Math.abs(k - 100) < 1e-9)).toBe(true);
  });

  test('a quieter copy thins each minute\'s count (every request kept with probability k)', () => {
    const s = Array.from({ length: 2000 }, () => 40);
    const a = augmentSeries(s, only({ minBusier: 0.25, maxBusier: 0.25 }), rng(2));
    const values = a.requests as number[];
    expect(values.every((v) => Number.isInteger(v) && v >= 0 && v <= 40)).toBe(true);
    const mean = values.reduce((x, v) => x + v, 0) / values.length;
    expect(mean).toBeGreaterThan(9.5);
    expect(mean).toBeLessThan(10.5);
    // Large counts take the normal approximation, still a count within [0, n].
    const big = thin(1e6, 0.5, rng(3));
    expect(Number.isInteger(big) && Math.abs(big - 5e5) < 5000).toBe(true);
  });

  test('level shifts: the copy is the busier series × a factor that jumps, ramps and holds, within maxShift² either way', () => {
    const s = noisy(14 * 1440);
    const a = augmentSeries(s, only({ shiftsPerDay: 4, maxShift: 100, rampMinutes: [5, 5] }), rng(4));
    for (let i = 0; i < s.length; i += 97) expect(a.requests[i]).toBeCloseTo(s[i]! * a.factor[i]!, 6);
    const logs = Array.from(a.factor, Math.log);
    expect(Math.max(...logs.map(Math.abs))).toBeLessThanOrEqual(2 * Math.log(100) + 1e-9);
    // It moves (about 56 shifts in 14 days), and holds between shifts.
    const moving = logs.filter((v, i) => i > 0 && Math.abs(v - logs[i - 1]!) > 1e-12).length;
    expect(moving).toBeGreaterThan(100);
    expect(moving).toBeLessThan(s.length / 10);
  });

  test('surges: a bump that builds, holds at its peak within the factor range, and ends back at 1', () => {
    const o = only({ surgesPerDay: 3, surgeFactor: [2, 3], surgeRiseMinutes: [4, 4], surgeHoldMinutes: [30, 30], surgeFallMinutes: [6, 6] });
    const f = surgeFactors(14 * 1440, o, rng(5));
    expect(Math.min(...f)).toBe(1);
    expect(Math.max(...f)).toBeLessThanOrEqual(3 + 1e-9);
    // Each surge rises over 4 minutes (the 4th at its peak, ≥ 2), holds 30 more, and falls over 6 (the 6th at 1).
    const starts = Array.from(f.keys()).filter((i) => f[i]! > 1 && (i === 0 || f[i - 1] === 1));
    expect(starts.length).toBeGreaterThan(20);
    expect(starts.length).toBeLessThan(70);
    for (const i of starts.slice(0, -1)) {
      const peak = f[i + 3]!;
      expect(peak).toBeGreaterThanOrEqual(2);
      for (let t = 0; t < 3; t++) expect(f[i + t]!).toBeLessThan(f[i + t + 1]!);
      for (let t = 4; t < 34; t++) expect(f[i + t]).toBe(peak);
      for (let t = 34; t < 40; t++) expect(f[i + t]!).toBeLessThan(f[i + t - 1]!);
      expect(f[i + 39]).toBe(1);
    }
    // In the copy, on top of the busier series and any level shift.
    const s = noisy(3 * 1440);
    const a = augmentSeries(s, only({ surgesPerDay: 6, shiftsPerDay: 2 }), rng(6));
    for (let i = 0; i < s.length; i += 7) expect(a.requests[i]).toBeCloseTo(s[i]! * a.factor[i]!, 6);
    expect(Math.max(...a.factor)).toBeGreaterThan(1.25);
  });

  test('without surges, a copy is what it was before surges existed (the shipped model stays reproducible)', () => {
    const s = noisy(2 * 1440);
    const a = augmentSeries(s, { ...DEFAULT_AUGMENT, surgesPerDay: 0 }, rng(9));
    const b = augmentSeries(s, { ...DEFAULT_AUGMENT, surgesPerDay: 0, surgeFactor: [4, 5] }, rng(9));
    expect(a.requests).toEqual(b.requests);
  });

  test('trends: a smooth factor within e^(±3·amplitude) whose slope persists for hours, on top of the busier series', () => {
    const o = only({ trendAmplitude: 0.25, trendPeriodMinutes: [180, 1440] });
    const f = trendFactors(3 * 1440, o, rng(7));
    const logs = Array.from(f, Math.log);
    expect(Math.max(...logs.map(Math.abs))).toBeLessThanOrEqual(0.75 + 1e-9);
    expect(Math.max(...logs) - Math.min(...logs)).toBeGreaterThan(0.05);
    // Smooth: no minute moves by more than the steepest wave allows (3 × 0.25 × 2π/180 per minute) …
    for (let i = 1; i < logs.length; i++) expect(Math.abs(logs[i]! - logs[i - 1]!)).toBeLessThanOrEqual((0.75 * 2 * Math.PI) / 180 + 1e-9);
    // … and a ten-minute rise is followed by another rise far more often than by a fall.
    let same = 0;
    let turned = 0;
    for (let i = 10; i + 10 < logs.length; i += 10) {
      if (Math.sign(logs[i]! - logs[i - 10]!) === Math.sign(logs[i + 10]! - logs[i]!)) same++;
      else turned++;
    }
    expect(same).toBeGreaterThan(5 * turned);
    const s = noisy(3 * 1440);
    const a = augmentSeries(s, o, rng(8));
    for (let i = 0; i < s.length; i += 11) expect(a.requests[i]).toBeCloseTo(s[i]! * a.factor[i]!, 6);
  });

  test('without a trend, a copy is what it was before trends existed (the shipped model stays reproducible)', () => {
    const s = noisy(2 * 1440);
    const a = augmentSeries(s, { ...DEFAULT_AUGMENT, trendAmplitude: 0 }, rng(9));
    const b = augmentSeries(s, { ...DEFAULT_AUGMENT, trendAmplitude: 0, trendPeriodMinutes: [10, 20] }, rng(9));
    expect(a.requests).toEqual(b.requests);
    expect(Array.from(augmentSeries(s, { ...DEFAULT_AUGMENT, trendAmplitude: 0.25 }, rng(9)).requests.slice(0, 50))).not.toEqual(a.requests.slice(0, 50));
  });

  test('seeded: the same generator state gives the same copy', () => {
    const s = noisy(3000);
    expect(augmentSeries(s, DEFAULT_AUGMENT, rng(9)).requests).toEqual(augmentSeries(s, DEFAULT_AUGMENT, rng(9)).requests);
    expect(augmentSeries(s, DEFAULT_AUGMENT, rng(9)).requests).not.toEqual(augmentSeries(s, DEFAULT_AUGMENT, rng(10)).requests);
  });

  test('a window\'s weight is its level over the shift factor at its end, times √k', () => {
    const a = { requests: [], factor: Float64Array.from([1, 4, 0.01]), busier: Float64Array.from([1, 1, 25]) };
    const w = augmentedWeight(a);
    expect(w(1, 10)).toBe(10);
    expect(w(2, 40)).toBe(10);
    // Just shifted down 100×: the window's level still holds the minutes before.
    expect(w(3, 2)).toBeCloseTo(200 * 5, 9);
  });
});
